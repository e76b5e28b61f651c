"""What an analysis looks at: the metric, year and factors, and the per-draw data of a result.

The headline outcomes, for one metric and year, are ``in_top_k`` (1 if the focus country's rank
is ≤ top_k, else 0; its mean is P(rank ≤ k)) and ``score`` (the focus country's score).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import AnalysisError, did_you_mean, option
from ..scenario import Scenario, apply_overrides, scenario_from_dict

OUTCOMES = ("in_top_k", "score")


def resolve_target(
    metrics: Sequence[str], years: Sequence[int], metric: str | None, year: int | None, where: str
) -> tuple[str, int]:
    """The metric and year to analyse (default: the first metric, the last year)."""
    metrics, years = [str(m) for m in metrics], [int(y) for y in years]
    if metric is None:
        metric = metrics[0]
    elif metric not in metrics:
        raise AnalysisError(
            f"{option('metric')} {metric!r} is not a metric of {where}"
            f"{did_you_mean(metric, metrics)}; "
            f"use one of {', '.join(metrics)}"
        )
    if year is None:
        year = years[-1]
    elif year not in years:
        raise AnalysisError(
            f"{option('year')} {year} is not a year of {where}"
            f"{did_you_mean(str(year), [str(y) for y in years])}; use one of "
            f"{', '.join(map(str, years))}"
        )
    return metric, int(year)


def resolve_factors(available: Sequence[str], requested: Sequence[str] | None, where: str):
    """Indices of the requested factors (default: all), with did-you-mean for unknown names."""
    available = [str(a) for a in available]
    if not available:
        raise AnalysisError(
            f"{where} has no factors; sensitivity analysis and scenario discovery need at least "
            "one uncertain factor: add [factors.NAME] tables to the scenario (docs/scenarios.md)"
        )
    if not requested:
        return list(range(len(available)))
    out = []
    for name in requested:
        if name not in available:
            shown = ", ".join(available[:10]) + (" ..." if len(available) > 10 else "")
            raise AnalysisError(
                f"{option('factor')} {name!r} is not a factor of {where}"
                f"{did_you_mean(name, available)}; "
                f"use one of {shown}"
            )
        j = available.index(name)
        if j not in out:
            out.append(j)
    return out


def outcome_coords(focus: str, top_k: int, metric: str, year: int, units: str) -> dict:
    """The ``outcome`` coordinate of an analysis Dataset, with its long names and units."""
    return {
        "outcome": ("outcome", list(OUTCOMES)),
        "outcome_long_name": (
            "outcome",
            [
                f"1 if {focus}'s {metric} rank in {year} is <= {top_k}, else 0",
                f"{focus}'s {metric} in {year}",
            ],
        ),
        "outcome_units": ("outcome", ["1", units]),
    }


def scenario_of_result(ds: xr.Dataset, path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """The scenario a result ran, from its ``scenario_toml`` attribute, with ``overrides``."""
    text = ds.attrs.get("scenario_toml")
    if not isinstance(text, str):
        raise AnalysisError(f"{path}: no scenario_toml attribute; name the scenario file instead")
    sc = scenario_from_dict(tomllib.loads(text), source=f"{path} (its stored scenario)")
    if overrides:
        data = apply_overrides(dict(sc.data), overrides)
        sc = scenario_from_dict(data, source=sc.source)
    return sc


def source_identity(attrs) -> dict:
    """The attributes that name the run an analysis of a results file was made from: its
    scenario (name, TOML, hash), model, focus and top_k."""
    return {
        "scenario_name": str(attrs.get("scenario_name", "")),
        "scenario_toml": str(attrs.get("scenario_toml", "")),
        "scenario_sha256": str(attrs.get("scenario_sha256", "")),
        "model": str(attrs.get("model", "")),
        "focus": str(attrs["focus"]),
        "top_k": int(attrs["top_k"]),
    }


def factor_attribute(ds: xr.Dataset, variable: str) -> dict[str, str]:
    """A per-factor text variable of a result (``factor_units`` ...) by factor name ({} if none)."""
    if variable not in ds:
        return {}
    pairs = zip(ds["factor"].values.tolist(), ds[variable].values.tolist(), strict=True)
    return {str(k): str(v) for k, v in pairs}


@dataclass(frozen=True)
class PerDraw:
    """A result's per-draw factors, outcomes and weights for one metric and year."""

    x: np.ndarray  # (draw, factor)
    y: np.ndarray  # (draw, outcome): in_top_k, score
    weights: np.ndarray | None
    names: tuple[str, ...]
    metric: str
    year: int
    #: Each draw's initial ancestor (SMC runs: rows sharing it are copies, not independent
    #: draws), or None.
    groups: np.ndarray | None = None


def per_draw(
    ds: xr.Dataset,
    *,
    metric: str | None = None,
    year: int | None = None,
    factors: Sequence[str] | None = None,
    source: str = "the result",
) -> PerDraw:
    """Factor values and headline outcomes of every draw kept in a results Dataset."""
    if "draw" not in ds.dims or "factor_value" not in ds or "focus_rank" not in ds:
        raise AnalysisError(
            f"{source} has no per-draw data (it was run with "
            f"{option('no_keep_draws', 'keep_draws=False')}); rerun the scenario with "
            f"{option('keep_draws', 'keep_draws=True')} (the default up to 1,000,000 draws)"
        )
    names = [str(f) for f in ds["factor"].values]
    which = resolve_factors(names, factors, source)
    metric, year = resolve_target(ds["metric"].values, ds["year"].values, metric, year, source)
    rank = ds["focus_rank"].sel(metric=metric, year=year).values
    value = ds["focus_value"].sel(metric=metric, year=year).values
    y = np.column_stack([(rank <= int(ds.attrs["top_k"])).astype(float), value])
    x = np.asarray(ds["factor_value"].values, dtype=float)[:, which]
    w = np.asarray(ds["weight"].values, dtype=float) if "weight" in ds else None
    groups = np.asarray(ds["ancestor"].values) if "ancestor" in ds else None
    return PerDraw(x, y, w, tuple(names[j] for j in which), metric, year, groups)
