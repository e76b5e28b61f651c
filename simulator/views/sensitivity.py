"""Text and JSON views of the analyses (used by the CLI; no computation here)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import xarray as xr

from ..analysis.discovery_study import Discovery
from ..analysis.sensitivity import NOISE


def _num(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


def _pct(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    return f"{p:.1%}" if 0.001 <= p <= 0.999 or p in (0, 1) else f"{p:.3%}"


def _f3(v: float) -> str:
    return f"{0.0 if abs(v) < 5e-4 else v:.3f}"  # no "-0.000"


def _ci(v: float, lo: float, hi: float) -> str:
    if not math.isfinite(v):
        return "n/a"
    bounds = f" [{_f3(lo)}, {_f3(hi)}]" if math.isfinite(lo) and math.isfinite(hi) else ""
    return f"{_f3(v)}{bounds}"


def sensitivity_warnings(ds: xr.Dataset) -> list[str]:
    """Caveats recorded in a sensitivity Dataset, one line each (printed on stderr)."""
    a = ds.attrs
    out = []
    if a.get("correlation_ignored"):
        out.append(
            f"the scenario correlates {a['correlation_ignored']} ([correlation]), but Sobol "
            "indices assume independent factors: they were sampled independently, so the "
            "indices describe the uncorrelated model; `g3sim sensitivity RESULT.nc --method "
            "rank` measures sensitivity under the correlation"
        )
    if int(a.get("observations_ignored", 0)):
        out.append(
            f"the scenario has {int(a['observations_ignored'])} [[observations]]; Sobol indices "
            "use the prior factor distributions (no history matching); `--method rank` on a "
            "conditioned result gives posterior-weighted sensitivities"
        )
    if a.get("method") == "sobol":
        mean = float(ds["outcome_mean"].sel(outcome="in_top_k"))
        n = int(a["draws"])
        if mean * n < 10 or (1 - mean) * n < 10:
            out.append(
                f"P(rank ≤ {int(a['top_k'])}) is {_pct(mean)}: the in_top_k indices rest on "
                "fewer than 10 draws; increase -n"
            )
    return out


def order_factors(ds: xr.Dataset) -> list[str]:
    """Factors, most influential first: by the in_top_k total index (sobol) or |rank
    correlation| (rank), then by the score's; NaN counts as 0."""
    key_var = "total_order" if ds.attrs["method"] == "sobol" else "rank_correlation"
    v = np.nan_to_num(np.abs(ds[key_var].values), nan=0.0)  # (outcome, factor)
    names = [str(f) for f in ds["factor"].values]
    order = sorted(range(len(names)), key=lambda j: (-v[0, j], -v[1, j], j))
    return [names[j] for j in order]


def _header(ds: xr.Dataset, what: str) -> list[str]:
    a = ds.attrs
    return [
        f"{what} · {a['scenario_name']} · {a['focus']} · {a['metric']} {int(a['year'])} · "
        f"top {int(a['top_k'])}"
    ]


def sensitivity_text(ds: xr.Dataset) -> str:
    """The ranked table of a sensitivity Dataset (most influential first)."""
    a = ds.attrs
    sobol = a["method"] == "sobol"
    names = order_factors(ds)
    focus, k = a["focus"], int(a["top_k"])
    mean = ds["outcome_mean"].values
    lines = _header(ds, "Sobol sensitivity" if sobol else "Rank sensitivity")
    if sobol:
        d = int(a["model_evaluations"]) // int(a["draws"])
        lines.append(
            f"{int(a['draws']):,} base draws × {d} = {int(a['model_evaluations']):,} model runs · "
            f"seed {int(a['seed'])} · {float(a['confidence_level']):.0%} percentile-bootstrap "
            f"intervals ({int(a['bootstrap_resamples'])} resamples)"
        )
    else:
        weighted = (
            f"weighted (history matching), effective sample size "
            f"{float(a['effective_sample_size']):,.0f}"
            if int(a["weighted"])
            else "unweighted"
        )
        lines.append(
            f"{int(a['draws']):,} draws of {a['result_source']} · seed {int(a['seed'])} · "
            f"{weighted} · {float(a['confidence_level']):.0%} Fisher-z intervals"
        )
    sd = ""
    if "outcome_variance" in ds:
        sd = f", sd {math.sqrt(max(float(ds['outcome_variance'].values[1]), 0.0)):.4g}"
    lines.append(
        f"outcomes: in_top_k = 1 if {focus} rank ≤ {k} (P = {_pct(float(mean[0]))}) · "
        f"score = {focus}'s {a['metric']} (mean {float(mean[1]):.4g}{sd})"
    )
    lines.append("")
    width = max(len("factor"), len(NOISE), len("R² (rank regression)"), *(len(n) for n in names))
    if sobol:
        cols = ("first order", "total order")
        cell_w = 25
        lines.append(f"{'':<{width}}  {'in_top_k':<{2 * cell_w}}  score")
        lines.append(
            f"{'factor':<{width}}  " + "".join(f"{c:<{cell_w}}" for c in cols * 2).rstrip()
        )

        def row(label: str, sel: dict, prefix: str = "") -> str:
            cells = []
            for o in ("in_top_k", "score"):
                for kind in ("first_order", "total_order"):
                    v = [
                        float(ds[f"{prefix}{kind}{p}"].sel(outcome=o, **sel))
                        for p in ("", "_lower", "_upper")
                    ]
                    cells.append(f"{_ci(*v):<{cell_w}}")
            return f"{label:<{width}}  " + "".join(cells).rstrip()

        for name in names:
            lines.append(row(name, {"factor": name}))
        lines.append(row(NOISE, {}, "noise_"))
        sums = [
            float(ds["first_order"].sel(outcome=o).sum())
            + float(ds["noise_first_order"].sel(outcome=o))
            for o in ("in_top_k", "score")
        ]
        lines.append(
            f"{'Σ first order':<{width}}  {sums[0]:<{2 * cell_w}.3f}{sums[1]:.3f}".rstrip()
        )
        lines.append("")
        lines.append(
            "first order: share of the outcome's variance due to the factor alone; total: share "
            "that would vanish if the factor were fixed (interactions included)."
        )
        lines.append(
            f"{NOISE}: the model's own random shocks, treated as one more input (common random "
            "numbers); 1 − Σ first order is the share due to interactions. See docs/analysis.md."
        )
    else:
        cell_w = 25
        lines.append(f"{'':<{width}}  {'in_top_k':<{cell_w + 8}}  score")
        lines.append(
            f"{'factor':<{width}}  "
            + f"{'rank correlation':<{cell_w}}{'SRRC':<8}  {'rank correlation':<{cell_w}}SRRC"
        )
        for name in names:
            cells = []
            for o in ("in_top_k", "score"):
                v = [
                    float(ds[f"rank_correlation{p}"].sel(outcome=o, factor=name))
                    for p in ("", "_lower", "_upper")
                ]
                s = float(ds["srrc"].sel(outcome=o, factor=name))
                srrc = _f3(s) if math.isfinite(s) else "n/a"
                cells.append(f"{_ci(*v):<{cell_w}}{srrc:<8}")
            lines.append(f"{name:<{width}}  " + "  ".join(cells).rstrip())
        r2 = ds["srrc_r_squared"].values
        r2s = [f"{v:.3f}" if math.isfinite(v) else "n/a" for v in r2]
        lines.append(f"{'R² (rank regression)':<{width}}  {r2s[0]:<{cell_w + 8}}  {r2s[1]}")
        lines.append("")
        lines.append(
            "rank correlation: Spearman's rho of the factor with the outcome; SRRC: standardised "
            "rank regression coefficient (meaningful when R² is high). See docs/analysis.md."
        )
    return "\n".join(lines)


def sensitivity_json(ds: xr.Dataset) -> str:
    a = ds.attrs
    sobol = a["method"] == "sobol"
    factors = []
    for name in order_factors(ds):
        entry: dict[str, Any] = {"factor": name}
        for o in ("in_top_k", "score"):
            cell = {}
            kinds = ("first_order", "total_order") if sobol else ("rank_correlation",)
            for kind in kinds:
                cell[kind] = {
                    key: _num(ds[f"{kind}{p}"].sel(outcome=o, factor=name))
                    for key, p in (("value", ""), ("lower", "_lower"), ("upper", "_upper"))
                }
            if not sobol:
                cell["srrc"] = _num(ds["srrc"].sel(outcome=o, factor=name))
            entry[o] = cell
        factors.append(entry)
    doc: dict[str, Any] = {
        "analysis": "sensitivity",
        "method": a["method"],
        "scenario": a["scenario_name"],
        "focus": a["focus"],
        "top_k": int(a["top_k"]),
        "metric": a["metric"],
        "year": int(a["year"]),
        "seed": int(a["seed"]),
        "draws": int(a["draws"]),
        "confidence_level": float(a["confidence_level"]),
        "outcome_mean": {o: _num(ds["outcome_mean"].sel(outcome=o)) for o in ("in_top_k", "score")},
        "factors": factors,
        "warnings": sensitivity_warnings(ds),
    }
    if sobol:
        doc["model_evaluations"] = int(a["model_evaluations"])
        doc["bootstrap_resamples"] = int(a["bootstrap_resamples"])
        doc["outcome_variance"] = {
            o: _num(ds["outcome_variance"].sel(outcome=o)) for o in ("in_top_k", "score")
        }
        doc["noise"] = {
            o: {
                kind: {
                    key: _num(ds[f"noise_{kind}{p}"].sel(outcome=o))
                    for key, p in (("value", ""), ("lower", "_lower"), ("upper", "_upper"))
                }
                for kind in ("first_order", "total_order")
            }
            for o in ("in_top_k", "score")
        }
    else:
        doc["weighted"] = bool(int(a["weighted"]))
        doc["effective_sample_size"] = _num(a["effective_sample_size"])
        doc["result"] = a["result_source"]
        doc["srrc_r_squared"] = {
            o: _num(ds["srrc_r_squared"].sel(outcome=o)) for o in ("in_top_k", "score")
        }
    return json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Discovery


def discovery_data(d: Discovery) -> dict[str, Any]:
    """A Discovery as plain data (the JSON document)."""
    r = d.prim
    tr = r.trajectory
    i = r.chosen
    restrictions = []
    for j in r.restricted:
        lo, hi = float(tr.lower[i, j]), float(tr.upper[i, j])
        restrictions.append(
            {
                "factor": r.names[j],
                "lower": lo,
                "upper": hi,
                "restricts_lower": bool(lo > r.data_lower[j]),
                "restricts_upper": bool(hi < r.data_upper[j]),
                "data_lower": float(r.data_lower[j]),
                "data_upper": float(r.data_upper[j]),
                "quasi_p": _num(r.quasi_p[j]),
                "units": d.factor_units.get(r.names[j], ""),
            }
        )
    return {
        "analysis": "discovery",
        "method": "prim",
        "scenario": d.scenario_name,
        "result": d.source,
        "focus": d.focus,
        "top_k": d.top_k,
        "metric": d.metric,
        "year": d.year,
        "draws": r.n,
        "seed": d.seed,
        "weighted": d.weighted,
        "base_density": r.base_density,
        "peel_alpha": r.alpha,
        "min_mass": r.min_mass,
        "min_coverage": r.min_coverage,
        "threshold_density": r.threshold_density,
        "rule": r.rule,
        "note": r.note,
        "box": {
            "step": i,
            "coverage": float(tr.coverage[i]),
            "density": float(tr.density[i]),
            "mass": float(tr.mass[i]),
            "draws": int(tr.n[i]),
            "effective_sample_size": float(tr.ess[i]),
            "significant_restrictions": sum(
                r["quasi_p"] is not None and r["quasi_p"] <= 0.05 for r in restrictions
            ),
            "restrictions": restrictions,
        },
        "trajectory": [
            {
                "step": s,
                "coverage": float(tr.coverage[s]),
                "density": float(tr.density[s]),
                "mass": float(tr.mass[s]),
                "draws": int(tr.n[s]),
                "restricted": int(tr.restricted[s]),
                "peeled": tr.peeled[s],
            }
            for s in range(len(tr.coverage))
        ],
    }


def discovery_json(d: Discovery) -> str:
    return json.dumps(discovery_data(d), indent=2, allow_nan=False, ensure_ascii=False)


def _range(r: dict[str, Any]) -> str:
    lo, hi = f"{r['lower']:.4g}", f"{r['upper']:.4g}"
    if r["restricts_lower"] and r["restricts_upper"]:
        return f"{lo} – {hi}"
    return f"≥ {lo}" if r["restricts_lower"] else f"≤ {hi}"


def discovery_text(d: Discovery, *, rows: int = 12) -> str:
    doc = discovery_data(d)
    box = doc["box"]
    weighted = " · weighted (history matching)" if d.weighted else ""
    lines = [
        f"Scenario discovery (PRIM) · {d.scenario_name} · {d.focus} rank ≤ {d.top_k} in "
        f"{d.metric} {d.year} · {d.source}",
        f"{doc['draws']:,} draws · seed {d.seed} · base rate {_pct(doc['base_density'])} · "
        f"peel alpha {doc['peel_alpha']:g}{weighted}",
        "",
        f"chosen box (step {box['step']} of {len(doc['trajectory']) - 1}): {doc['rule']}",
        f"  coverage {_pct(box['coverage'])} · density {_pct(box['density'])} "
        f"(base {_pct(doc['base_density'])}) · mass {_pct(box['mass'])} · "
        f"{box['draws']:,} draws",
    ]
    if doc["note"]:
        lines.append(f"  note: {doc['note']}")
    if box["restrictions"]:
        rs = box["restrictions"]
        fw = max(len("factor"), *(len(r["factor"]) for r in rs))
        lines.append(
            f"  {'factor':<{fw}}  {'in the box':<22}{'full range':<24}{'quasi-p':>9}  units"
        )
        for r in rs:
            full = f"{r['data_lower']:.4g} – {r['data_upper']:.4g}"
            qp = "n/a" if r["quasi_p"] is None else f"{r['quasi_p']:.2g}"
            lines.append(
                f"  {r['factor']:<{fw}}  {_range(r):<22}{full:<24}{qp:>9}  {r['units']}".rstrip()
            )
        lines.append(
            "  (most significant first; a quasi-p-value above 0.05 marks a restriction that may "
            "be chance)"
        )
        if not doc["box"]["significant_restrictions"]:
            lines.append(
                "  no restriction is significant (every quasi-p > 0.05): the factors do not "
                "delimit where the outcome happens; compare `g3sim sensitivity`"
            )
    else:
        lines.append(
            "  no restriction: no factor range makes the outcome clearly more likely than the "
            "base rate"
        )
    tr = doc["trajectory"]
    step = max(1, math.ceil(len(tr) / rows))
    shown = sorted({*range(0, len(tr), step), len(tr) - 1, box["step"]})
    lines += [
        "",
        f"peeling trajectory ({len(tr) - 1} peels; every {step}th shown, * = chosen)"
        if step > 1
        else f"peeling trajectory ({len(tr) - 1} peels, * = chosen)",
        f"  {'step':>5}  {'coverage':>8}  {'density':>8}  {'mass':>7}  {'draws':>8}  "
        f"{'restricted':>10}  peeled",
    ]
    for s in shown:
        t = tr[s]
        mark = "*" if s == box["step"] else " "
        lines.append(
            f" {mark}{s:>5}  {_pct(t['coverage']):>8}  {_pct(t['density']):>8}  "
            f"{_pct(t['mass']):>7}  {t['draws']:>8,}  {t['restricted']:>10}  {t['peeled']}"
        )
    return "\n".join(line.rstrip() for line in lines)
