"""Text, JSON and CSV views of a results Dataset (used by the CLI; no computation here)."""

from __future__ import annotations

import csv
import io
import json
import tomllib

import numpy as np
import xarray as xr

from .format import finite_or_none, interval, percent


def _country_label(ds: xr.Dataset, country: str) -> str:
    name = str(ds["country_name"].sel(country=country).item()) if "country_name" in ds else ""
    return f"{country} ({name})" if name and name != country else country


def _select(ds: xr.Dataset, year: int | None) -> xr.Dataset:
    return ds if year is None else ds.sel(year=[year])


def _lever_line(a) -> list[str]:
    """``levers: name = value, ...`` of a run whose scenario has [levers] (else nothing)."""
    try:
        levers = tomllib.loads(str(a.get("scenario_toml", ""))).get("levers", {})
    except tomllib.TOMLDecodeError:
        return []
    if not isinstance(levers, dict) or not levers:
        return []
    parts = []
    for name, t in levers.items():
        if isinstance(t, dict) and "default" in t:
            v = t.get("value", t["default"])
            parts.append(
                f"{name} = {v:g}" + ("" if v == t["default"] else f" (default {t['default']:g})")
            )
    return [f"levers: {', '.join(parts)}"] if parts else []


def headline(ds: xr.Dataset, *, country: str | None = None, year: int | None = None) -> str:
    """P(rank ≤ k) per metric and year with 95% intervals, and the run's identity."""
    a = ds.attrs
    country = country or a["focus"]
    k = int(a["top_k"])
    sel = _select(ds, year).sel(country=country)
    lines = [
        f"{a['scenario_name']} · model {a['model']} · {_country_label(ds, country)} · top {k}",
        f"{int(a['draws']):,} draws · seed {int(a['seed'])} · design {a['design']} · "
        f"{float(a['elapsed_s']):.1f} s ({int(a['draws']) / max(float(a['elapsed_s']), 1e-9):,.0f}"
        " draws/s)",
    ]
    if int(a.get("conditioned", 0)):
        ess = float(ds["effective_sample_size"])
        lines.append(
            f"conditioned on {int(a['observations'])} observations by "
            f"{a.get('conditioning', 'rejection')} · effective sample size "
            f"{ess:,.0f} ({ess / int(a['draws']):.1%} of draws)"
        )
    lines += _lever_line(a)
    metrics = [str(m) for m in ds["metric"].values]
    cells = {
        m: [
            interval(
                float(sel["p_top"].sel(metric=m, year=y)),
                float(sel["p_top_lower"].sel(metric=m, year=y)),
                float(sel["p_top_upper"].sel(metric=m, year=y)),
            )
            for y in sel["year"].values
        ]
        for m in metrics
    }
    width = {m: max(len(m), *(len(c) for c in cells[m])) for m in metrics}
    title = f"P({country} rank ≤ {k})"
    lines.append("")
    lines.append(f"{title:<18}" + "   ".join(f"{m:<{width[m]}}" for m in metrics))
    for i, y in enumerate(sel["year"].values):
        lines.append(f"  {int(y):<16}" + "   ".join(f"{cells[m][i]:<{width[m]}}" for m in metrics))
    lines.append("  (95% Wilson intervals, Monte Carlo error only)")
    if float(a.get("target_halfwidth", 0) or 0) > 0:
        lines.append(f"  stopped: {a['stop_reason']} after {int(a['draws']):,} draws")
    return "\n".join(lines)


def details(ds: xr.Dataset, *, country: str | None = None, year: int | None = None) -> str:
    """Rank distribution and score quantiles of one country, for ``inspect``."""
    country = country or ds.attrs["focus"]
    sel = _select(ds, year).sel(country=country)
    out = [headline(ds, country=country, year=year), ""]
    nrank = ds.sizes["rank"]
    show = min(nrank, 8)
    for m in ds["metric"].values:
        units = str(ds["metric_units"].sel(metric=m).item())
        out.append(f"{m}: rank distribution of {country} (P(rank = r))")
        head = "".join(f"{r:>7}" for r in range(1, show + 1))
        tail = f"{'>' + str(show):>7}" if nrank > show else ""
        out.append(f"  {'year':<6}{head}{tail}")
        for y in sel["year"].values:
            p = sel["rank_probability"].sel(metric=m, year=y).values
            row = "".join(f"{percent(float(v)):>7}" for v in p[:show])
            if nrank > show:
                row += f"{percent(float(p[show:].sum())):>7}"
            out.append(f"  {int(y):<6}{row}")
        qs = sel["value_quantile"].sel(metric=m)
        qhead = "".join(f"{'q' + format(q * 100, 'g'):>12}" for q in ds["quantile"].values)
        out.append(f"  {m} score quantiles [{units}]")
        out.append(f"  {'year':<6}{qhead}")
        for y in sel["year"].values:
            vals = qs.sel(year=y).values
            out.append(f"  {int(y):<6}" + "".join(f"{v:>12.4g}" for v in vals))
        out.append("")
    a = ds.attrs
    if "trace_draws" in ds:
        out.append(convergence_text(ds))
        out.append("")
    out.append(
        f"scenario {a['scenario_source']} (sha256 {a['scenario_sha256'][:12]}) · created "
        f"{a['created_utc']} · g3sim {a['simulator_version']} · numpy {a['numpy_version']} · "
        f"scipy {a['scipy_version']} · xarray {a['xarray_version']}"
    )
    return "\n".join(out)


def to_json(ds: xr.Dataset, *, country: str | None = None, year: int | None = None) -> str:
    a = ds.attrs
    country = country or a["focus"]
    sel = _select(ds, year).sel(country=country)
    years = [int(y) for y in sel["year"].values]
    metrics = [str(m) for m in ds["metric"].values]
    f = finite_or_none

    def per_cell(cell) -> dict:  # metric → year → cell(metric, year)
        return {m: {str(y): cell(m, y) for y in years} for m in metrics}

    def labelled(labels, values) -> dict:
        return {label: f(v) for label, v in zip(labels, values, strict=True)}

    doc = {
        "scenario": a["scenario_name"],
        "model": a["model"],
        "draws": int(a["draws"]),
        "seed": int(a["seed"]),
        "design": a["design"],
        "focus": a["focus"],
        "country": country,
        "top_k": int(a["top_k"]),
        "effective_sample_size": f(ds["effective_sample_size"]),
        "p_top": per_cell(
            lambda m, y: {
                "p": f(sel["p_top"].sel(metric=m, year=y)),
                "lower": f(sel["p_top_lower"].sel(metric=m, year=y)),
                "upper": f(sel["p_top_upper"].sel(metric=m, year=y)),
            }
        ),
        "rank_distribution": per_cell(
            lambda m, y: labelled(
                [str(int(r)) for r in ds["rank"].values],
                sel["rank_probability"].sel(metric=m, year=y).values,
            )
        ),
        "quantiles": per_cell(
            lambda m, y: labelled(
                [format(q, "g") for q in ds["quantile"].values],
                sel["value_quantile"].sel(metric=m, year=y).values,
            )
        ),
        "created_utc": a["created_utc"],
        "elapsed_s": f(a["elapsed_s"]),
        "simulator_version": a["simulator_version"],
        "scenario_sha256": a["scenario_sha256"],
    }
    return json.dumps(doc, indent=2, allow_nan=False)


def to_csv(ds: xr.Dataset, *, country: str | None = None, year: int | None = None) -> str:
    """Long table: one row per (metric, year, country) with p_top, its interval and ranks."""
    sel = _select(ds, year)
    countries = [country] if country else [str(c) for c in ds["country"].values]
    ranks = [int(r) for r in ds["rank"].values]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["metric", "year", "country", "p_top", "p_top_lower", "p_top_upper", "median"]
        + [f"p_rank_{r}" for r in ranks]
    )
    for m in ds["metric"].values:
        for y in sel["year"].values:
            for c in countries:
                cell = sel.sel(metric=m, year=y, country=c)
                w.writerow(
                    [str(m), int(y), c]
                    + [f"{float(cell[v]):.6g}" for v in ("p_top", "p_top_lower", "p_top_upper")]
                    + [f"{float(cell['value_quantile'].sel(quantile=0.5)):.6g}"]
                    + [f"{float(v):.6g}" for v in np.asarray(cell["rank_probability"].values)]
                )
    return buf.getvalue()


def convergence_text(ds: xr.Dataset, *, rows: int = 6) -> str:
    """The stopping reason and the last few points of the convergence trace."""
    a = ds.attrs
    metrics = [str(m) for m in ds["metric"].values]
    out = [
        f"convergence ({a.get('stop_reason', 'n/a')}; P(rank ≤ {a['top_k']}) in "
        f"{a.get('trace_year', '')}, ± 95% half-width)"
    ]
    n = ds.sizes["trace"]
    idx = sorted({*range(max(0, n - rows), n), 0})
    out.append(f"  {'draws':>12}" + "".join(f"{m:>24}" for m in metrics))
    for i in idx:
        cells = "".join(
            f"{percent(float(p)) + ' ± ' + percent(float(h)):>24}"
            for p, h in zip(
                ds["trace_p_top"][i].values, ds["trace_halfwidth"][i].values, strict=True
            )
        )
        out.append(f"  {int(ds['trace_draws'][i]):>12,}{cells}")
    return "\n".join(out)
