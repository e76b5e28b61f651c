"""Text and JSON of a given-data (conditioned) sensitivity Dataset: the verdict first, then the
factors whose index is above zero, each with its description; the rest in one line."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import xarray as xr

from .format import finite_or_none, index_interval, interval


def study_identity(a) -> dict[str, Any]:
    """What a sensitivity file explains and how it ran (its JSON's common fields)."""
    return {
        "scenario": a["scenario_name"],
        "focus": a["focus"],
        "top_k": int(a["top_k"]),
        "metric": a["metric"],
        "year": int(a["year"]),
        "seed": int(a["seed"]),
        "draws": int(a["draws"]),
        "confidence_level": float(a["confidence_level"]),
    }


ZERO = 0.0  # an index whose interval reaches 0 (lower bound ≤ 0) is "zero within its interval"
SHOWN = 0.0005  # and one below this prints as 0.000: both are collapsed into one line


def shown_factors(ds: xr.Dataset, outcome: str = "in_top_k") -> tuple[list[str], list[str]]:
    """(factors above zero within their interval and at least 0.001 (as printed) for some
    outcome, by their ``outcome`` index first; the others)."""
    value = np.nan_to_num(ds["first_order"].values, nan=0.0)  # (outcome, factor)
    lower = np.nan_to_num(ds["first_order_lower"].values, nan=0.0)
    above = ((lower > ZERO) & (value >= SHOWN)).any(axis=0)
    first = [str(o) for o in ds["outcome"].values].index(outcome)
    names = [str(f) for f in ds["factor"].values]
    order = sorted(range(len(names)), key=lambda j: (-value[first, j], -value.max(0)[j], j))
    return [names[j] for j in order if above[j]], [names[j] for j in order if not above[j]]


def verdict(ds: xr.Dataset) -> str:
    """One sentence: how much of the top-k indicator's variance the listed factors (those above
    zero within their intervals) explain, one at a time (the sum of their indices)."""
    a = ds.attrs
    shown, _ = shown_factors(ds)
    sel = ds["first_order"].sel(outcome="in_top_k")
    explained = float(sum(float(sel.sel(factor=f)) for f in shown)) if shown else 0.0
    k = int(a["top_k"])
    if explained >= 0.01:
        share = f"about {100 * explained:.0f}%"
    elif explained > 0:
        share = f"about {100 * explained:.1f}%"
    else:
        return (
            f"No input, one at a time, explains a measurable share of the variance of the "
            f"top-{k} indicator (every index is zero within its interval); it is their "
            "interactions and the model's own year-to-year noise."
        )
    return (
        f"The listed inputs, one at a time, explain {share} of the variance of the top-{k} "
        "indicator; the rest is their interactions and the model's own year-to-year noise."
    )


def _label(ds: xr.Dataset, name: str) -> str:
    desc = (
        str(ds["factor_description"].sel(factor=name).item()) if "factor_description" in ds else ""
    )
    return f"{name} ({desc})" if desc else name


def given_data_text(ds: xr.Dataset) -> str:
    a = ds.attrs
    p = interval(float(a["headline_p"]), float(a["headline_p_lower"]), float(a["headline_p_upper"]))
    shown, zero = shown_factors(ds)
    lines = [
        verdict(ds),
        "",
        a["title"].replace("<=", "≤"),
        f"headline P = {p} · {int(a['draws']):,} draws · seed {int(a['seed'])} · effective sample "
        f"size {float(a['effective_sample_size']):,.0f} ({int(a['groups']):,} independent draws)",
        f"first-order indices, given data ({int(a['bins'])} bins per factor, weighted as the "
        f"headline) · {float(a['confidence_level']):.0%} cluster-bootstrap intervals",
        "",
        f"  {'in_top_k':<24}{'score':<24}factor",
    ]
    for name in shown:
        cells = [
            index_interval(*(float(ds[v].sel(outcome=o, factor=name)) for v in _VARS))
            for o in ("in_top_k", "score")
        ]
        lines.append(f"  {cells[0]:<24}{cells[1]:<24}{_label(ds, name)}")
    if not shown:
        lines.append("  (no factor's index is above zero within its interval)")
    constant = [n for n in str(a.get("constant_factors", "")).split(", ") if n]
    zero = [n for n in zero if n not in constant]
    if constant:
        lines.append(
            f"  {len(constant)} constant factor{'s' if len(constant) > 1 else ''} (fixed, e.g. by "
            f"a lever: no variance to explain): {', '.join(constant)}"
        )
    if zero:
        lines.append(
            f"  {len(zero)} other factor{'s' if len(zero) > 1 else ''}: zero within "
            f"{'their intervals' if len(zero) > 1 else 'its interval'} or below 0.001 "
            f"({', '.join(zero)})"
        )
    lines += [
        "",
        "first order: share of the outcome's variance explained by the factor alone, in the "
        "conditioned population (factors correlated by the conditioning share what they explain, "
        "so the indices overlap). See docs/analysis.md.",
    ]
    return "\n".join(lines)


_VARS = ("first_order", "first_order_lower", "first_order_upper")


def given_data_json(ds: xr.Dataset) -> str:
    a = ds.attrs
    shown, zero = shown_factors(ds)
    factors = []
    for name in [*shown, *zero]:
        entry: dict[str, Any] = {
            "factor": name,
            "description": str(ds["factor_description"].sel(factor=name).item()),
        }
        for o in ("in_top_k", "score"):
            entry[o] = {
                key: finite_or_none(ds[v].sel(outcome=o, factor=name))
                for key, v in zip(("value", "lower", "upper"), _VARS, strict=True)
            }
        factors.append(entry)
    doc = {
        "analysis": "sensitivity",
        "method": "given-data",
        "verdict": verdict(ds),
        "title": a["title"],
        "headline_p": {
            k: float(a[f"headline_p{s}"])
            for k, s in (("value", ""), ("lower", "_lower"), ("upper", "_upper"))
        },
        **study_identity(a),
        "effective_sample_size": float(a["effective_sample_size"]),
        "factors": factors,
        "zero_within_interval": zero,
    }
    return json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False, default=_plain)


def _plain(v):
    return None if isinstance(v, float) and not math.isfinite(v) else str(v)
