"""Sensitivity studies: a scenario's model or a saved result → a labelled sensitivity Dataset.

* :func:`sobol_sensitivity` — a scenario → Sobol indices of the headline outcomes, as a Dataset;
* :func:`rank_sensitivity_of_result` — a saved result's per-draw data → rank measures, a Dataset.

The headline outcomes are those of :mod:`.targets`. docs/analysis.md lists the Dataset's
variables.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from ..engine import focus_ranks
from ..errors import ModelError
from ..models import build_model
from ..results.cf import units_from
from ..results.provenance import provenance
from ..runs import fresh_seed
from ..sampling import Streams
from ..scenario import Scenario
from .sensitivity import NOISE, RankSensitivity, SobolIndices, rank_sensitivity, sobol_indices
from .targets import (
    OUTCOMES,
    factor_attribute,
    outcome_coords,
    per_draw,
    resolve_factors,
    resolve_target,
    source_identity,
)

DEFAULT_SOBOL_N = 4096

FORMAT = "g3sim-analysis"
NOISE_TREATMENT = (
    "internal model noise treated as one more input, independent of the factors, through "
    "common random numbers: A and every AB_j share one noise stream per row, B another; "
    "indices are Sobol indices over (factors, noise); noise_* variables give the noise's own"
)


OUTCOME_UNITS = units_from("outcome_units")  # CF units "1"; each outcome's own in the coordinate


def _var(dims, data, long_name: str, units: str | dict = "1", **attrs):
    u = {"units": units} if isinstance(units, str) else units
    return (dims, data, {"long_name": long_name, **u, **attrs})


# ---------------------------------------------------------------------------------------------
# Sobol indices of a scenario's model


class NoiseStreams:
    """The model's ``rngs`` for one noise label and block: ``sensitivity:noise<k>:model:<name>``."""

    def __init__(self, seed: int, label: int, block: int):
        self.seed, self.label, self.block = seed, label, block

    def __call__(self, name: str) -> np.random.Generator:
        return Streams(self.seed, self.block)(f"sensitivity:noise{self.label}:model:{name}")


class ModelOutcomes:
    """A scenario's model as a vectorised function: ``f(x, noise=k)`` → ``(2, n)`` outcomes.

    ``x`` is ``(factor, n)`` in the scenario's factor order. Column i of every call with the
    same noise label gets the same internal random numbers: columns are cut into blocks of
    ``block_size`` and block b draws from :class:`NoiseStreams` ``(seed, k, b)``, which the model
    fills draw-major (the model contract) — the common random numbers the Sobol estimator of
    :mod:`.sensitivity` needs.
    """

    def __init__(
        self, model, names: Sequence[str], *, metric: str, year: int, seed: int, block_size: int
    ):
        self.model = model
        self.names = tuple(names)
        self.metric = metric
        self.year_index = list(model.years).index(year)
        self.seed = seed
        self.block_size = block_size

    def __call__(self, x: np.ndarray, *, noise: int) -> np.ndarray:
        m = self.model
        n = x.shape[1]
        out = np.empty((2, n))
        for b, lo in enumerate(range(0, n, self.block_size)):
            hi = min(n, lo + self.block_size)
            factors = {name: x[j, lo:hi].copy() for j, name in enumerate(self.names)}
            scores = m.simulate(factors, NoiseStreams(self.seed, noise, b), hi - lo)
            s = scores[self.metric][:, self.year_index : self.year_index + 1, :]
            if not np.isfinite(s).all():
                raise ModelError(
                    f"model {m.name} produced non-finite {self.metric} values; check the "
                    "scenario's factor and [model] ranges"
                )
            out[0, lo:hi] = focus_ranks(s, m.focus_index)[:, 0] <= m.top_k
            out[1, lo:hi] = s[:, 0, m.focus_index]
        return out


def sobol_sensitivity(
    scenario: Scenario,
    *,
    n: int = DEFAULT_SOBOL_N,
    seed: int | None = None,
    metric: str | None = None,
    year: int | None = None,
    factors: Sequence[str] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 999,
    progress: Callable[[int, int], None] | None = None,
    command: str = "",
) -> xr.Dataset:
    """Sobol indices of the headline outcomes of ``scenario`` for every factor (a Dataset).

    Parameters
    ----------
    scenario
        A validated scenario. Its factors are sampled independently (a ``[correlation]`` is
        ignored and recorded in the ``correlation_ignored`` attribute), from their prior
        distributions (``[[observations]]`` are ignored, ``observations_ignored``).
    n
        Base rows (a power of two ≥ 64): the model runs ``n · (len(factors) + 3)`` times.
    seed
        Seeds the design, the model's noise streams and the bootstrap (default: the
        scenario's seed, else one from fresh entropy; the Dataset's ``seed`` records it).
    metric, year
        The outcome's metric and year (default: the model's first metric, the last year).
    factors
        Factors whose indices to estimate (default all); the others still vary.
    """
    t0 = time.perf_counter()
    seed = choose_seed(scenario, seed)
    where = scenario.source
    names = scenario.factor_names
    which = resolve_factors(names, factors, where)
    model = build_model(scenario)
    metric, year = resolve_target(model.metrics, scenario.years, metric, year, where)
    func = ModelOutcomes(
        model, names, metric=metric, year=year, seed=seed, block_size=scenario.block_size
    )
    res = sobol_indices(
        func=func,
        dists=[f.dist for f in scenario.factors],
        n=n,
        rng=Streams(seed)("sensitivity:sobol"),
        names=names,
        which=which,
        noise=True,
        confidence=confidence,
        n_resamples=n_resamples,
        progress=progress,
    )
    chosen = [scenario.factors[j] for j in which]
    ds = _sobol_dataset(res, [f.name for f in chosen])
    ds = ds.assign_coords(
        factor_units=("factor", [f.units for f in chosen]),
        factor_description=("factor", [f.description for f in chosen]),
        **outcome_coords(
            scenario.focus, scenario.top_k, metric, year, model.metric_info[metric][1]
        ),
    )
    ds.attrs = _sobol_attrs(
        scenario,
        model=model.name,
        seed=seed,
        n=n,
        evaluations=res.evaluations,
        metric=metric,
        year=year,
        confidence=confidence,
        n_resamples=n_resamples,
    )
    ds.attrs.update(elapsed_s=round(time.perf_counter() - t0, 4), command=command)
    return ds


def choose_seed(scenario: Scenario, seed: int | None) -> int:
    """The seed a study uses: ``seed``, else the scenario's, else one from fresh entropy."""
    if seed is not None:
        return seed
    return scenario.seed if scenario.seed is not None else fresh_seed()


def _sobol_attrs(
    scenario: Scenario,
    *,
    model: str,
    seed: int,
    n: int,
    evaluations: int,
    metric: str,
    year: int,
    confidence: float,
    n_resamples: int,
) -> dict:
    corr = scenario.correlation
    return {
        "title": f"g3sim sensitivity: {scenario.name}",
        "Conventions": "CF-1.10",
        "g3sim_format": FORMAT,
        "analysis": "sensitivity",
        "method": "sobol",
        "estimator": "first order: Saltelli et al. (2010); total: Jansen (1999)",
        "design": "scrambled Sobol sequence of dimension 2d split into A and B (Saltelli 2010)",
        "interval_method": "percentile bootstrap over design rows",
        "confidence_level": confidence,
        "bootstrap_resamples": n_resamples,
        "noise_treatment": NOISE_TREATMENT,
        "scenario_name": scenario.name,
        "scenario_source": str(scenario.source),
        "scenario_toml": scenario.to_toml(),
        "scenario_sha256": scenario.sha256,
        "model": model,
        "focus": scenario.focus,
        "top_k": scenario.top_k,
        "seed": np.int64(seed),
        "draws": np.int64(n),
        "model_evaluations": np.int64(evaluations),
        "metric": metric,
        "year": np.int32(year),
        "factors_varied": ", ".join(scenario.factor_names),
        "correlation_ignored": ", ".join(corr.factors) if corr is not None else "",
        "observations_ignored": len(scenario.observations),
        **provenance(),
    }


def _sobol_dataset(res: SobolIndices, factor_names: Sequence[str]) -> xr.Dataset:
    k = len(factor_names)
    conf = f"{res.confidence:.0%}"
    data = {}
    for kind, est in (("first_order", res.first_order), ("total_order", res.total_order)):
        words = kind.replace("_", "-")
        interval = f"bound of the {conf} bootstrap interval of the {words} index"
        for part, arr, what in (
            ("", est.value, f"{words} Sobol index"),
            ("_lower", est.lower, f"lower {interval}"),
            ("_upper", est.upper, f"upper {interval}"),
        ):
            data[f"{kind}{part}"] = _var(("outcome", "factor"), arr[:, :k], what)
            data[f"noise_{kind}{part}"] = _var(
                ("outcome",), arr[:, k], f"{what} of the model's internal noise"
            )
    data["outcome_mean"] = _var(("outcome",), res.mean, "mean of the outcome", OUTCOME_UNITS)
    data["outcome_variance"] = _var(
        ("outcome",), res.variance, "variance of the outcome (in its units squared)", OUTCOME_UNITS
    )
    return xr.Dataset(data, coords={"factor": ("factor", list(factor_names))})


# ---------------------------------------------------------------------------------------------
# Rank measures of a saved result's per-draw data


def rank_sensitivity_of_result(
    ds: xr.Dataset,
    *,
    metric: str | None = None,
    year: int | None = None,
    factors: Sequence[str] | None = None,
    confidence: float = 0.95,
    source: str = "the result",
    command: str = "",
) -> xr.Dataset:
    """Spearman rank correlations and SRRC of each factor with the headline outcomes."""
    t0 = time.perf_counter()
    pd_ = per_draw(ds, metric=metric, year=year, factors=factors, source=source)
    res = rank_sensitivity(
        x=pd_.x, y=pd_.y, weights=pd_.weights, names=pd_.names, confidence=confidence
    )
    w = pd_.weights if pd_.weights is not None else np.ones(len(pd_.x))
    mean = w @ pd_.y / w.sum()
    units = factor_attribute(ds, "factor_units")
    desc = factor_attribute(ds, "factor_description")
    a = ds.attrs
    metric_units = (
        str(ds["metric_units"].sel(metric=pd_.metric).item()) if "metric_units" in ds else ""
    )
    out = xr.Dataset(
        _rank_variables(res, mean, confidence),
        coords={
            "factor": ("factor", list(pd_.names)),
            "factor_units": ("factor", [units.get(f, "") for f in pd_.names]),
            "factor_description": ("factor", [desc.get(f, "") for f in pd_.names]),
            **outcome_coords(str(a["focus"]), int(a["top_k"]), pd_.metric, pd_.year, metric_units),
        },
    )
    out.attrs = {
        "title": f"g3sim sensitivity: {a.get('scenario_name', '')}",
        "Conventions": "CF-1.10",
        "g3sim_format": FORMAT,
        "analysis": "sensitivity",
        "method": "rank",
        "estimator": "Spearman rank correlation; standardised rank regression coefficients",
        "interval_method": "Fisher z, Bonett-Wright variance, Kish effective sample size",
        "confidence_level": confidence,
        "weighted": int(pd_.weights is not None),
        "effective_sample_size": res.effective_sample_size,
        "result_source": source,
        **source_identity(a),
        "seed": np.int64(a.get("seed", -1)),
        "draws": np.int64(res.n),
        "metric": pd_.metric,
        "year": np.int32(pd_.year),
        **provenance(),
        "elapsed_s": round(time.perf_counter() - t0, 4),
        "command": command,
    }
    return out


def _rank_variables(res: RankSensitivity, mean: np.ndarray, confidence: float) -> dict:
    conf = f"{confidence:.0%}"
    dims = ("outcome", "factor")
    rc = res.rank_correlation
    return {
        "rank_correlation": _var(dims, rc.value, "Spearman rank correlation with the outcome"),
        "rank_correlation_lower": _var(
            dims, rc.lower, f"lower bound of the {conf} Fisher-z interval of rank_correlation"
        ),
        "rank_correlation_upper": _var(
            dims, rc.upper, f"upper bound of the {conf} Fisher-z interval of rank_correlation"
        ),
        "srrc": _var(dims, res.srrc, "standardised rank regression coefficient"),
        "srrc_r_squared": _var(
            ("outcome",), res.r_squared, "R² of the rank regression on all the factors shown"
        ),
        "outcome_mean": _var(("outcome",), mean, "mean of the outcome", OUTCOME_UNITS),
    }


__all__ = [
    "DEFAULT_SOBOL_N",
    "NOISE",
    "OUTCOMES",
    "ModelOutcomes",
    "choose_seed",
    "rank_sensitivity_of_result",
    "sobol_sensitivity",
]
