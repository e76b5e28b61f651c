"""Sensitivity of the conditioned answer: given-data first-order indices of a run's per-draw
population (:mod:`.sensitivity_given`), so the P explained is the headline's P.

* :func:`conditioned_sensitivity` — a scenario → a run (history conditioning, per-draw data
  kept) → its indices, as a Dataset;
* :func:`given_data_sensitivity_of_result` — the same from a saved result's per-draw data.

The Dataset has the variables of a Sobol study's first-order index (``first_order``,
``first_order_lower``, ``first_order_upper``, ``outcome_mean``, ``outcome_variance``) and the
headline it explains in its attributes (``headline_p`` and its interval). docs/analysis.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from ..results.provenance import provenance
from ..runs import run
from ..sampling import Streams
from ..scenario import Scenario
from ..stats import CONFIDENCE
from .sensitivity_given import GivenDataIndices, given_data_indices
from .targets import factor_attribute, outcome_coords, per_draw, source_identity

FORMAT = "g3sim-analysis"
ESTIMATOR = (
    "given data (binning): S_j = (sum_b W_b (ybar_b - ybar)^2 - sum_b W_b Var(ybar_b)) / Var(Y) "
    "over equal-weight bins of factor j, on the weighted per-draw population of the run "
    "(Plischke 2010; Strong & Oakley 2013); valid for dependent inputs"
)


def conditioned_sensitivity(
    scenario: Scenario,
    *,
    draws: int | None = None,
    seed: int | None = None,
    metric: str | None = None,
    year: int | None = None,
    factors: Sequence[str] | None = None,
    history: bool = True,
    workers: int = 1,
    bins: int | None = None,
    n_resamples: int = 199,
    progress: Callable[[int, int], None] | None = None,
    command: str = "",
) -> xr.Dataset:
    """Run ``scenario`` as ``g3sim run`` does (conditioned on its history, per-draw data kept)
    and estimate the first-order index of every factor for the headline outcomes.

    The P explained is that run's headline P (same draws, same weights): run with the same
    ``draws`` and ``seed`` as a headline, it is the headline itself.
    """
    ds = run(
        scenario,
        draws=draws,
        seed=seed,
        keep_draws=True,
        history=history,
        workers=workers,
        progress=progress,
        command=command,
    )
    return given_data_sensitivity_of_result(
        ds,
        metric=metric,
        year=year,
        factors=factors,
        bins=bins,
        n_resamples=n_resamples,
        source=str(scenario.source),
        command=command,
    )


def given_data_sensitivity_of_result(
    ds: xr.Dataset,
    *,
    metric: str | None = None,
    year: int | None = None,
    factors: Sequence[str] | None = None,
    bins: int | None = None,
    n_resamples: int = 199,
    confidence: float = CONFIDENCE,
    source: str = "the result",
    command: str = "",
) -> xr.Dataset:
    """Given-data first-order indices of a result's per-draw data (weighted, grouped by the
    particles' ancestors), for the in_top_k and score outcomes of ``metric`` and ``year``."""
    t0 = time.perf_counter()
    pd_ = per_draw(ds, metric=metric, year=year, factors=factors, source=source)
    groups = ds["ancestor"].values if "ancestor" in ds else None
    seed = int(ds.attrs.get("seed", 0))
    res = given_data_indices(
        pd_.x,
        pd_.y,
        pd_.weights,
        groups,
        bins=bins,
        n_resamples=n_resamples,
        confidence=confidence,
        rng=Streams(seed)("sensitivity:given-data"),
    )
    out = _dataset(ds, pd_, res, confidence)
    out.attrs = _attrs(ds, pd_, res, source=source, seed=seed, confidence=confidence)
    out.attrs.update(
        n_resamples=n_resamples,
        elapsed_s=round(time.perf_counter() - t0, 4),
        command=command,
    )
    return out


def _dataset(ds: xr.Dataset, pd_, res: GivenDataIndices, confidence: float) -> xr.Dataset:
    dims = ("outcome", "factor")
    conf = f"{confidence:.0%}"
    data = {
        "first_order": (dims, res.value, {"long_name": "first-order index (given data)"}),
        "first_order_lower": (
            dims,
            res.lower,
            {"long_name": f"lower bound of the {conf} cluster-bootstrap interval"},
        ),
        "first_order_upper": (
            dims,
            res.upper,
            {"long_name": f"upper bound of the {conf} cluster-bootstrap interval"},
        ),
        "outcome_mean": (("outcome",), res.mean, {"long_name": "weighted mean of the outcome"}),
        "outcome_variance": (
            ("outcome",),
            res.variance,
            {"long_name": "weighted variance of the outcome"},
        ),
    }
    for v in data.values():
        v[2].setdefault("units", "1")
    units = factor_attribute(ds, "factor_units")
    desc = factor_attribute(ds, "factor_description")
    a = ds.attrs
    metric_units = (
        str(ds["metric_units"].sel(metric=pd_.metric).item()) if "metric_units" in ds else ""
    )
    return xr.Dataset(
        data,
        coords={
            "factor": ("factor", list(pd_.names)),
            "factor_units": ("factor", [units.get(f, "") for f in pd_.names]),
            "factor_description": ("factor", [desc.get(f, "") for f in pd_.names]),
            **outcome_coords(str(a["focus"]), int(a["top_k"]), pd_.metric, pd_.year, metric_units),
        },
    )


def _headline(ds: xr.Dataset, metric: str, year: int) -> tuple[float, float, float]:
    sel = {"country": ds.attrs["focus"], "metric": metric, "year": year}
    return tuple(float(ds[v].sel(sel)) for v in ("p_top", "p_top_lower", "p_top_upper"))


def _attrs(ds, pd_, res: GivenDataIndices, *, source, seed, confidence) -> dict:
    a = ds.attrs
    p, lo, hi = _headline(ds, pd_.metric, pd_.year)
    nobs = int(a.get("observations", 0)) if int(a.get("conditioned", 0) or 0) else 0
    conditioned = f", conditioned on {nobs} observations" if nobs else ""
    return {
        "title": f"g3sim sensitivity: {a.get('scenario_name', '')}: what drives "
        f"P({a['focus']} rank <= {int(a['top_k'])} in {pd_.metric}, {pd_.year}) = "
        f"{100 * p:.1f}% (the headline{conditioned})",
        "Conventions": "CF-1.10",
        "g3sim_format": FORMAT,
        "analysis": "sensitivity",
        "method": "given-data",
        "estimator": ESTIMATOR,
        "interval_method": "percentile cluster bootstrap (groups: the particles' initial draws)",
        "confidence_level": confidence,
        "bins": res.bins,
        "groups": res.groups,
        "effective_sample_size": res.effective_sample_size,
        "headline_p": p,
        "headline_p_lower": lo,
        "headline_p_upper": hi,
        "observations": nobs,
        "explained_in_top_k": float(np.nansum(res.value[0])),
        "constant_factors": ", ".join(n for n, c in zip(pd_.names, res.constant, strict=True) if c),
        "result_source": source,
        **source_identity(a),
        "seed": np.int64(seed),
        "draws": np.int64(len(pd_.x)),
        "metric": pd_.metric,
        "year": np.int32(pd_.year),
        **provenance(),
    }


__all__ = ["conditioned_sensitivity", "given_data_sensitivity_of_result"]
