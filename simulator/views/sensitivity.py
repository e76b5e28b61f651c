"""Text and JSON views of a sensitivity Dataset (used by the CLI; no computation here)."""

from __future__ import annotations

import json
import math
from functools import partial
from typing import Any

import numpy as np
import xarray as xr

from ..analysis.sensitivity import NOISE
from .format import finite_or_none, fixed3, index_interval, number, percent
from .sensitivity_given import given_data_json, given_data_text, study_identity

# These views print exact 0 and 1 as "0.0%" and "100.0%" (views/format.py).
_pct = partial(percent, bare_ends=False)


def sensitivity_warnings(ds: xr.Dataset) -> list[str]:
    """Caveats recorded in a sensitivity Dataset, one line each (printed on stderr)."""
    a = ds.attrs
    out = []
    if a.get("method") == "given-data":
        return out
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
    if ds.attrs["method"] == "given-data":
        return given_data_text(ds)
    sobol = ds.attrs["method"] == "sobol"
    names = order_factors(ds)
    lines = _header(ds, "Sobol sensitivity" if sobol else "Rank sensitivity")
    lines += _method_lines(ds, sobol)
    lines.append("")
    width = max(len("factor"), len(NOISE), len("R² (rank regression)"), *(len(n) for n in names))
    lines += _sobol_table(ds, names, width) if sobol else _rank_table(ds, names, width)
    return "\n".join(lines)


def _method_lines(ds: xr.Dataset, sobol: bool) -> list[str]:
    """How the indices were estimated, and what the two outcomes are."""
    a = ds.attrs
    focus, k = a["focus"], int(a["top_k"])
    mean = ds["outcome_mean"].values
    if sobol:
        d = int(a["model_evaluations"]) // int(a["draws"])
        how = (
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
        how = (
            f"{int(a['draws']):,} draws of {a['result_source']} · seed {int(a['seed'])} · "
            f"{weighted} · {float(a['confidence_level']):.0%} Fisher-z intervals"
        )
    sd = ""
    if "outcome_variance" in ds:
        sd = f", sd {number(math.sqrt(max(float(ds['outcome_variance'].values[1]), 0.0)))}"
    return [
        how,
        f"outcomes: in_top_k = 1 if {focus} rank ≤ {k} (P = {_pct(float(mean[0]))}) · "
        f"score = {focus}'s {a['metric']} (mean {number(mean[1])}{sd})",
    ]


def _description(ds: xr.Dataset, name: str) -> str:
    """``"  — the factor's description"`` at the end of its row ("" if it has none)."""
    if "factor_description" not in ds.coords:
        return ""
    desc = str(ds["factor_description"].sel(factor=name).item())
    return f"  — {desc}" if desc else ""


def _sobol_table(ds: xr.Dataset, names: list[str], width: int) -> list[str]:
    cols = ("first order", "total order")
    cell_w = 25
    lines = [
        f"{'':<{width}}  {'in_top_k':<{2 * cell_w}}  score",
        f"{'factor':<{width}}  " + "".join(f"{c:<{cell_w}}" for c in cols * 2).rstrip(),
    ]

    def row(label: str, sel: dict, prefix: str = "") -> str:
        cells = []
        for o in ("in_top_k", "score"):
            for kind in ("first_order", "total_order"):
                v = [
                    float(ds[f"{prefix}{kind}{p}"].sel(outcome=o, **sel))
                    for p in ("", "_lower", "_upper")
                ]
                cells.append(f"{index_interval(*v):<{cell_w}}")
        return f"{label:<{width}}  " + "".join(cells).rstrip()

    for name in names:
        lines.append(row(name, {"factor": name}) + _description(ds, name))
    lines.append(row(NOISE, {}, "noise_"))
    sums = [
        float(ds["first_order"].sel(outcome=o).sum())
        + float(ds["noise_first_order"].sel(outcome=o))
        for o in ("in_top_k", "score")
    ]
    return [
        *lines,
        f"{'Σ first order':<{width}}  {sums[0]:<{2 * cell_w}.3f}{sums[1]:.3f}".rstrip(),
        "",
        "first order: share of the outcome's variance due to the factor alone; total: share "
        "that would vanish if the factor were fixed (interactions included).",
        f"{NOISE}: the model's own random shocks, treated as one more input (common random "
        "numbers); 1 − Σ first order is the share due to interactions. See docs/analysis.md.",
    ]


def _rank_table(ds: xr.Dataset, names: list[str], width: int) -> list[str]:
    cell_w = 25
    lines = [
        f"{'':<{width}}  {'in_top_k':<{cell_w + 8}}  score",
        f"{'factor':<{width}}  "
        + f"{'rank correlation':<{cell_w}}{'SRRC':<8}  {'rank correlation':<{cell_w}}SRRC",
    ]
    for name in names:
        cells = []
        for o in ("in_top_k", "score"):
            v = [
                float(ds[f"rank_correlation{p}"].sel(outcome=o, factor=name))
                for p in ("", "_lower", "_upper")
            ]
            s = float(ds["srrc"].sel(outcome=o, factor=name))
            srrc = fixed3(s) if math.isfinite(s) else "n/a"
            cells.append(f"{index_interval(*v):<{cell_w}}{srrc:<8}")
        lines.append(f"{name:<{width}}  " + "  ".join(cells).rstrip() + _description(ds, name))
    r2 = ds["srrc_r_squared"].values
    r2s = [f"{v:.3f}" if math.isfinite(v) else "n/a" for v in r2]
    return [
        *lines,
        f"{'R² (rank regression)':<{width}}  {r2s[0]:<{cell_w + 8}}  {r2s[1]}",
        "",
        "rank correlation: Spearman's rho of the factor with the outcome; SRRC: standardised "
        "rank regression coefficient (meaningful when R² is high). See docs/analysis.md.",
    ]


def _labels(ds: xr.Dataset, dim: str, coord: str) -> dict[str, str]:
    """A text coordinate by its dimension's labels ({} if the file has none)."""
    if coord not in ds.coords:
        return {}
    return {str(k): str(v) for k, v in zip(ds[dim].values, ds[coord].values, strict=True)}


def _factor_entry(ds: xr.Dataset, name: str, sobol: bool) -> dict[str, Any]:
    """One factor's indices (Sobol) or rank correlations, with intervals, per outcome."""
    entry: dict[str, Any] = {"factor": name}
    for o in ("in_top_k", "score"):
        cell = {}
        kinds = ("first_order", "total_order") if sobol else ("rank_correlation",)
        for kind in kinds:
            cell[kind] = {
                key: finite_or_none(ds[f"{kind}{p}"].sel(outcome=o, factor=name))
                for key, p in (("value", ""), ("lower", "_lower"), ("upper", "_upper"))
            }
        if not sobol:
            cell["srrc"] = finite_or_none(ds["srrc"].sel(outcome=o, factor=name))
        entry[o] = cell
    return entry


def sensitivity_json(ds: xr.Dataset) -> str:
    a = ds.attrs
    if a["method"] == "given-data":
        return given_data_json(ds)
    sobol = a["method"] == "sobol"
    factors = [_factor_entry(ds, name, sobol) for name in order_factors(ds)]
    doc: dict[str, Any] = {
        "analysis": "sensitivity",
        "method": a["method"],
        **study_identity(a),
        "outcome_mean": {
            o: finite_or_none(ds["outcome_mean"].sel(outcome=o)) for o in ("in_top_k", "score")
        },
        "outcome_units": _labels(ds, "outcome", "outcome_units"),
        "factor_units": _labels(ds, "factor", "factor_units"),
        "factors": factors,
        "warnings": sensitivity_warnings(ds),
    }
    if sobol:
        doc["model_evaluations"] = int(a["model_evaluations"])
        doc["bootstrap_resamples"] = int(a["bootstrap_resamples"])
        doc["outcome_variance"] = {
            o: finite_or_none(ds["outcome_variance"].sel(outcome=o)) for o in ("in_top_k", "score")
        }
        doc["noise"] = {
            o: {
                kind: {
                    key: finite_or_none(ds[f"noise_{kind}{p}"].sel(outcome=o))
                    for key, p in (("value", ""), ("lower", "_lower"), ("upper", "_upper"))
                }
                for kind in ("first_order", "total_order")
            }
            for o in ("in_top_k", "score")
        }
    else:
        doc["weighted"] = bool(int(a["weighted"]))
        doc["effective_sample_size"] = finite_or_none(a["effective_sample_size"])
        doc["result"] = a["result_source"]
        doc["srrc_r_squared"] = {
            o: finite_or_none(ds["srrc_r_squared"].sel(outcome=o)) for o in ("in_top_k", "score")
        }
    return json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False)
