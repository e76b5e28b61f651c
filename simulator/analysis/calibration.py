"""Back-testing a scenario against its ``[[observations]]`` (:func:`calibrate`).

The result, :class:`Calibration`, says how often the model reproduces each observation (given the
observations of earlier years), per observed year the conditional acceptance, the effective
sample size before and after resampling and the ancestors surviving to the end, the effective
sample size after conditioning, and how far the observations move
each factor's distribution (prior vs posterior mean, in prior standard deviations).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..engine import Accumulator, BlockRunner, FoldedRun
from ..errors import ConfigError, HistoryError
from ..results import build_dataset
from ..runs import RunOptions, execute, prepare
from ..scenario import Scenario


@dataclass(frozen=True)
class ObservationCheck:
    """How often the unconditioned model reproduces one observation."""

    observation: str
    p_reproduced: float
    source: str


@dataclass(frozen=True)
class YearCheck:
    """How the conditioning went at one observed year (sums over blocks)."""

    year: int
    conditional_acceptance: float  # mean likelihood of the year's observations, given earlier
    ess_before_resampling: float
    ess_after_resampling: float
    unique_ancestors: float  # particles of the year with descendants in the final population
    tempering_steps: float = 1.0  # mean steps per block that brought in the year's likelihood


@dataclass(frozen=True)
class FactorShift:
    """What the observations teach about one factor."""

    factor: str
    prior_mean: float
    prior_sd: float
    posterior_mean: float
    posterior_sd: float
    shift_in_prior_sd: float
    sd_ratio: float


@dataclass(frozen=True)
class Calibration:
    """Back-test and prior → posterior summary of a conditioned run.

    ``factors`` are sorted by the size of their shift, largest first; they are empty when no
    draw agrees with every observation (``effective_sample_size`` 0).
    """

    scenario: str
    draws: int
    seed: int
    effective_sample_size: float
    acceptance: float
    observations: tuple[ObservationCheck, ...]
    factors: tuple[FactorShift, ...]
    conditioning: str = "rejection"
    years: tuple[YearCheck, ...] = ()
    #: Mean acceptance of each rejuvenating move (sweep:group → probability), SMC only.
    moves: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists and dicts) in field order, e.g. for JSON."""
        d = dataclasses.asdict(self)
        d["observations"] = list(d["observations"])
        d["factors"] = list(d["factors"])
        d["years"] = list(d["years"])
        d["moves"] = dict(d["moves"])
        return d

    @classmethod
    def of_results(cls, ds: xr.Dataset) -> Calibration:
        """The summary of a conditioned run's results Dataset."""
        a = ds.attrs
        draws = int(a["draws"])
        ess = float(ds["effective_sample_size"])
        return cls(
            scenario=a["scenario_name"],
            draws=draws,
            seed=int(a["seed"]),
            effective_sample_size=ess,
            acceptance=ess / draws if draws else 0.0,
            observations=_observation_checks(ds),
            factors=_factor_shifts(ds),
            conditioning=str(a.get("conditioning", "rejection")),
            years=_year_checks(ds),
            moves=_moves(ds),
        )

    @classmethod
    def backtest_only(cls, folded: FoldedRun) -> Calibration:
        """The summary when no draw agrees with every observation (ESS 0): each observation's
        back-test from the folded sums, and no posterior."""
        sc, n = folded.scenario, folded.draws
        ws = folded.state.weighted
        lik = ws.observation_likelihood / np.maximum(ws.observation_weight, 1e-300)
        return cls(
            scenario=sc.name,
            draws=n,
            seed=int(sc.seed),
            effective_sample_size=0.0,
            acceptance=0.0,
            observations=tuple(
                ObservationCheck(o.label, float(p), o.source)
                for o, p in zip(folded.observations, lik, strict=True)
            ),
            factors=(),
            conditioning=folded.conditioning,
        )


def _moves(ds: xr.Dataset) -> tuple[tuple[str, float], ...]:
    if "move_acceptance" not in ds:
        return ()
    rates = ds["move_acceptance"]
    pairs = zip(rates["move"].values, rates.values, strict=True)
    return tuple((str(m), float(r)) for m, r in pairs)


def _year_checks(ds: xr.Dataset) -> tuple[YearCheck, ...]:
    if "observed_year" not in ds.dims:
        return ()
    return tuple(
        YearCheck(
            year=int(y),
            conditional_acceptance=float(ds["conditional_acceptance"].values[i]),
            ess_before_resampling=float(ds["ess_before_resampling"].values[i]),
            ess_after_resampling=float(ds["ess_after_resampling"].values[i]),
            unique_ancestors=float(ds["unique_ancestors"].values[i]),
            tempering_steps=float(ds["tempering_steps"].values[i])
            if "tempering_steps" in ds
            else 1.0,
        )
        for i, y in enumerate(ds["observed_year"].values)
    )


def _observation_checks(ds: xr.Dataset) -> tuple[ObservationCheck, ...]:
    if "observation" not in ds.dims:
        return ()
    return tuple(
        ObservationCheck(
            observation=str(ds["observation_label"].values[i]),
            p_reproduced=float(ds["observation_probability"].values[i]),
            source=str(ds["observation_source"].values[i]),
        )
        for i in range(ds.sizes["observation"])
    )


def _factor_shifts(ds: xr.Dataset) -> tuple[FactorShift, ...]:
    if "factor_posterior_mean" not in ds:
        return ()
    factors = []
    for name in ds["factor"].values:
        f = ds.sel(factor=name)
        prior_sd = float(f["factor_prior_sd"])
        shift = float(f["factor_posterior_mean"] - f["factor_prior_mean"])
        factors.append(
            FactorShift(
                factor=str(name),
                prior_mean=float(f["factor_prior_mean"]),
                prior_sd=prior_sd,
                posterior_mean=float(f["factor_posterior_mean"]),
                posterior_sd=float(f["factor_posterior_sd"]),
                shift_in_prior_sd=shift / prior_sd if prior_sd > 0 else 0.0,
                sd_ratio=float(f["factor_posterior_sd"]) / prior_sd if prior_sd > 0 else 1.0,
            )
        )
    factors.sort(key=lambda r: -abs(r.shift_in_prior_sd))
    return tuple(factors)


def calibrate(
    scenario: Scenario,
    *,
    draws: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    command: str = "",
) -> Calibration:
    """Run ``scenario`` conditioned on its observations and summarise what they teach.

    Raises :class:`~simulator.errors.ConfigError` for a scenario without observations. When no
    draw reproduces every observation jointly, the result is the back-test alone.
    """
    if not scenario.observations:
        raise ConfigError(
            "no [[observations]] to calibrate against; add some (docs/model.md)",
            source=scenario.source,
        )
    options = RunOptions(draws=draws, seed=seed, keep_draws=False, workers=workers)
    sc = prepare(scenario, options).resolve(options)
    folded = execute(Accumulator(BlockRunner(sc)), options, progress=progress)
    try:
        return Calibration.of_results(build_dataset(folded, elapsed_s=0.0, command=command))
    except HistoryError:  # no draw agrees with all of them: the back-test says which fail
        return Calibration.backtest_only(folded)


__all__ = ["Calibration", "FactorShift", "ObservationCheck", "calibrate"]
