"""Text and JSON views of a lever sweep (:mod:`simulator.analysis.sweep`) and of a target search
(:mod:`simulator.analysis.targets`)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import xarray as xr

from .format import finite_or_none, interval, percent


def sweep_levers(ds: xr.Dataset) -> list[str]:
    """The swept levers of a sweep Dataset (its dimensions other than metric and year)."""
    return [str(n) for n in ds.attrs["levers"].split(", ") if n]


def lever_legend(ds: xr.Dataset, names: list[str]) -> list[str]:
    """One line per lever: its name, description, units and default."""
    out = []
    for name in names:
        c = ds[name]
        units = c.attrs.get("units", "")
        unit = f" [{units}]" if units and units != "1" else ""
        default = c.attrs.get("lever_default")
        tail = f"; default {default:g}" if default is not None else ""
        out.append(f"  {name}: {c.attrs.get('long_name', name)}{unit}{tail}")
    return out


def _value(v) -> str:
    return f"{float(v):g}"


def sweep_text(ds: xr.Dataset, *, year: int | None = None, metric: str | None = None) -> str:
    """A table: one row per lever combination, P(top k) and its difference from the default
    policy, for ``year`` (default: the last) and each metric (or ``metric``)."""
    a = ds.attrs
    names = sweep_levers(ds)
    year = int(ds["year"].values[-1]) if year is None else int(year)
    metrics = [str(m) for m in ds["metric"].values] if metric is None else [metric]
    head = [
        a["title"],
        f"{int(a['draws']):,} draws per combination · seed {int(a['seed'])} · common random "
        f"numbers · {_history(a)}",
        f"default policy: {a['default_policy']}"
        + (f" · other levers: {a['other_levers']}" if a.get("other_levers") else ""),
        "levers:",
        *lever_legend(ds, names),
        "",
    ]
    width = max(12, *(len(n) + 2 for n in names))
    cols = "".join(f"{n:<{width}}" for n in names)
    sub = "".join(f"{'P ' + m + ' ' + str(year):<24}{'vs default':<26}" for m in metrics)
    rows = [f"  {cols}{sub}"]
    for combo in itertools.product(*(ds[n].values for n in names)):
        sel = dict(zip(names, combo, strict=True))
        cells = "".join(f"{_value(v):<{width}}" for v in combo)
        for m in metrics:
            c = ds.sel(**sel, metric=m, year=year)
            p = interval(*(float(c[v]) for v in ("p_top", "p_top_lower", "p_top_upper")))
            d, lo, hi = (
                float(c[v]) for v in ("difference", "difference_lower", "difference_upper")
            )
            diff = (
                "default"
                if _is_default(ds, sel)
                else f"{d * 100:+.1f} pp [{lo * 100:+.1f}, {hi * 100:+.1f}]"
            )
            cells += f"{p:<24}{diff:<26}"
        rows.append(f"  {cells}".rstrip())
    foot = [
        "  (95% intervals, Monte Carlo error only; pp = percentage points; the difference from",
        "   the default policy is paired: same draws, so it is far more precise than the P's)",
    ]
    return "\n".join(head + rows + foot)


def _history(a) -> str:
    n = int(a.get("observations", 0))
    return f"conditioned on {n} observations" if n else "no history conditioning"


def _is_default(ds: xr.Dataset, sel: dict) -> bool:
    return all(
        math.isclose(float(v), float(ds[n].attrs.get("lever_default", math.nan)))
        for n, v in sel.items()
    )


def sweep_json(ds: xr.Dataset) -> str:
    """Every combination with P and its difference, for every metric and year, as JSON."""
    names = sweep_levers(ds)
    rows = []
    for combo in itertools.product(*(ds[n].values for n in names)):
        sel = dict(zip(names, combo, strict=True))
        for m in ds["metric"].values:
            for y in ds["year"].values:
                c = ds.sel(**sel, metric=m, year=y)
                rows.append(
                    {
                        "levers": {n: float(v) for n, v in sel.items()},
                        "metric": str(m),
                        "year": int(y),
                        **{
                            v: finite_or_none(c[v])
                            for v in (
                                "p_top",
                                "p_top_lower",
                                "p_top_upper",
                                "difference",
                                "difference_lower",
                                "difference_upper",
                            )
                        },
                    }
                )
    levers = {
        n: {
            "description": ds[n].attrs.get("long_name", n),
            "units": ds[n].attrs.get("units", ""),
            "default": float(ds[n].attrs.get("lever_default", math.nan)),
            "values": [float(v) for v in ds[n].values],
        }
        for n in names
    }
    attrs = {
        k: (v.item() if isinstance(v, np.generic) else v)
        for k, v in ds.attrs.items()
        if k != "scenario_toml"
    }
    return json.dumps({"attributes": attrs, "levers": levers, "rows": rows}, indent=2)


def target_text(t) -> str:
    """The answer of a target search (:class:`simulator.analysis.targets.TargetResult`)."""
    what = f"P({t.focus} rank ≤ {t.top_k} in {t.metric}, {t.year}) ≥ {percent(t.p_target)}"
    lever = f"{t.lever} ({t.lever_description})" if t.lever_description else t.lever
    head = [
        f"target: {what} · lever {lever}",
        f"{t.draws:,} draws per evaluation · seed {t.seed} · common random numbers · "
        f"{t.evaluations} evaluations",
    ]
    lo, hi = t.bounds
    if t.reachable:
        word = "smallest" if t.direction > 0 else "largest"
        body = [
            f"answer: the {word} {t.lever} that reaches it is {t.value:g} "
            f"[95% interval {t.lower:g} – {t.upper:g}]"
            + ("" if t.upper_found else f" (upper end capped at the range's {hi:g})"),
            f"  P there: {interval(t.p_at_value, t.p_at_value_lower, t.p_at_value_upper)}",
        ]
    else:
        body = [
            f"answer: not reachable within [{lo:g}, {hi:g}]: the best P found is "
            f"{interval(t.best_p, t.best_p_lower, t.best_p_upper)} at {t.lever} = {t.best_value:g}",
        ]
    w = max(16, len(t.lever) + 2)
    if t.note:
        body.append(f"  note: {t.note}")
    table = ["", f"  {t.lever:<{w}}P [95% interval]"]
    for v, p, pl, pu in t.evaluated:
        table.append(f"  {v:<{w}g}{interval(p, pl, pu)}")
    foot = [
        "  (the interval of the lever value spans the values whose P interval contains the",
        "   target: below it P is certainly short of the target, above it certainly past it)",
    ]
    return "\n".join(head + body + table + foot)


def target_json(t) -> str:
    doc = {k: (finite_or_none(v) if isinstance(v, float) else v) for k, v in t.to_dict().items()}
    return json.dumps(doc, indent=2)
