"""The results dataset of a finished run (a :class:`~simulator.engine.FoldedRun`).

The Dataset is the product's contract (README, "Results file"): fixed dimension names, every
variable with ``long_name`` and ``units``, the resolved scenario and provenance in the global
attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..engine import PER_DRAW_MANTISSA_BITS, FoldedRun, n_blocks
from ..engine.moves import MOVE_GROUPS, move_labels
from ..errors import HistoryError
from ..stats import CONFIDENCE, histogram_quantiles, ratio_effective_size, wilson_interval
from .cf import conform, units_from
from .kinds import FORMAT, FORMAT_VERSION
from .provenance import provenance

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Dimension names of the rank and quantile axes (format 2; format 1 called them ``rank`` and
#: ``quantile``, which shadow the Dataset methods of those names).
RANK_DIM = "rank_position"
QUANTILE_DIM = "quantile_level"
METRIC_UNITS = units_from("metric_units")
FACTOR_UNITS = units_from("factor_units")

Variable = tuple[tuple[str, ...], Any, dict[str, Any]]
MDIMS = ("metric", "year", "country")


def variable(dims, data, long_name: str, units: str | dict[str, str], **attrs) -> Variable:
    """A CF variable as xarray takes it: (dims, data, attributes with long_name and units).

    ``units``: a UDUNITS string, or :func:`~simulator.results.cf.units_from`'s attributes for a
    variable whose entries have different units.
    """
    u = {"units": units} if isinstance(units, str) else units
    return (dims, data, {"long_name": long_name, **u, **attrs})


def build_dataset(run: FoldedRun, *, elapsed_s: float, command: str = "") -> xr.Dataset:
    """Turn a finished run's reducers into the results Dataset."""
    wsum, ess = _check_weights(run)
    data_vars = {
        **_rank_vars(run, wsum, ess),
        **_value_vars(run, wsum, ess),
        "effective_sample_size": variable(
            (), ess, "effective sample size (Kish, weights grouped by initial ancestor)", "1"
        ),
        **_factor_vars(run, wsum, ess),
    }
    coords = _coords(run)
    data_vars.update(_trace_vars(run))
    coords["trace"] = ("trace", np.arange(len(run.trace), dtype=np.int32))
    if run.weighted:
        obs = run.observations
        coords["observation"] = ("observation", np.arange(len(obs), dtype=np.int32))
        coords["observation_label"] = ("observation", [o.label for o in obs])
        coords["observation_source"] = ("observation", [o.source for o in obs])
        years = sorted({o.year for o in obs})
        coords["observed_year"] = ("observed_year", np.array(years, dtype=np.int32))
        data_vars.update(_conditioning_vars(run))
        moves = run.state.weighted.move_acceptance
        if len(moves):
            coords["move"] = ("move", move_labels(len(moves) // len(MOVE_GROUPS)))
            with np.errstate(divide="ignore", invalid="ignore"):
                rate = moves / run.state.weighted.move_particles
            data_vars["move_acceptance"] = variable(
                ("move",),
                rate,
                "mean Metropolis-Hastings acceptance probability of the rejuvenating move "
                "(sweep:group; engine/moves.py)",
                "1",
            )
    if run.kept:  # in memory; a file run's kept draws go from its spool into the file
        coords["draw"] = ("draw", np.arange(run.draws, dtype=np.int64))
        for name, (dims, attrs) in per_draw_specs(run.scenario).items():
            if name in run.kept:
                data_vars[name] = (dims, run.kept[name][: run.draws], attrs)
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs = _attrs(run, elapsed_s=elapsed_s, command=command)
    return conform(ds)


def _scenario_as_run(run: FoldedRun):
    """The scenario with the draws that ran: stopped early, the TOML re-runs exactly."""
    sc = run.scenario
    return sc.with_updates(draws=run.draws) if run.draws != sc.draws else sc


def _check_weights(run: FoldedRun) -> tuple[float, float]:
    """Σw and the Kish effective sample size; :class:`HistoryError` if no draw carries weight."""
    wsum, wsq = run.state.total_weight, run.state.total_sq_weight
    if wsum <= 0 or wsq <= 0:
        what = (
            "agrees with every observation"
            if wsum <= 0
            else "agrees with the observations by more than a weight of 1e-150 (they lie far "
            "outside what the model produces)"
        )
        raise HistoryError(
            f"{_scenario_as_run(run).source}: observations: no draw out of {run.draws:,} {what}; "
            "loosen rank_tolerance or score_sd, or check the observations with `g3sim calibrate`"
        )
    return wsum, wsum**2 / wsq


def _rank_vars(run: FoldedRun, wsum: float, ess: float) -> dict[str, Variable]:
    counts = run.state.rank_count
    # Weighted counts and Σw are summed separately: clip the few-ulp excursions beyond [0, 1].
    prob = np.clip(counts / wsum, 0.0, 1.0)
    k = run.scenario.top_k
    p_top = np.clip(prob[..., :k].sum(axis=-1), 0.0, 1.0)
    n_eff = ess
    if run.weighted:  # the variance of a weighted ratio, by ancestor group (engine/smc.py)
        ws = run.state.weighted
        hits = counts[..., :k].sum(axis=-1)
        p_raw = np.clip(hits / wsum, 0.0, 1.0)
        n_eff = ratio_effective_size(
            p_raw, wsum, ws.top_sq_sum, ws.top_cross_sum, run.state.total_sq_weight
        )
    lower, upper = wilson_interval(p_top, n_eff)
    count_long = "sum of draw weights" if run.weighted else "number of draws"
    wilson = {"method": "wilson", "confidence": CONFIDENCE}
    return {
        "rank_count": variable(
            (*MDIMS, RANK_DIM), counts, f"{count_long} in which the country has this rank", "1"
        ),
        "rank_probability": variable(
            (*MDIMS, RANK_DIM), prob, "probability that the country has this rank", "1"
        ),
        "p_top": variable(MDIMS, p_top, f"probability of rank <= {k} (top_k)", "1"),
        "p_top_lower": variable(
            MDIMS, lower, "lower bound of the 95% Wilson interval of p_top", "1", **wilson
        ),
        "p_top_upper": variable(
            MDIMS, upper, "upper bound of the 95% Wilson interval of p_top", "1", **wilson
        ),
        "p_top_effective_sample_size": variable(
            MDIMS,
            np.broadcast_to(n_eff, p_top.shape).astype(float),
            "sample size of independent draws that would give p_top's variance",
            "1",
        ),
    }


def _value_vars(run: FoldedRun, wsum: float, ess: float) -> dict[str, Variable]:
    s = run.state
    hist = s.value_hist
    quant = np.empty((*hist.shape[:-1], len(QUANTILES)))
    for i, b in enumerate(run.bins):
        quant[i] = histogram_quantiles(hist[i], b.edges(), QUANTILES)
    return {
        "value_mean": variable(MDIMS, s.value_sum / wsum, "mean score of the metric", METRIC_UNITS),
        "value_sd": variable(
            MDIMS,
            _sd(s.value_sum, s.value_sq_sum, wsum, ess),
            "standard deviation of the score",
            METRIC_UNITS,
        ),
        "value_quantile": variable(
            (*MDIMS, QUANTILE_DIM),
            quant,
            "quantile of the score (histogram, 1 bin accuracy)",
            METRIC_UNITS,
        ),
    }


def _factor_vars(run: FoldedRun, wsum: float, ess: float) -> dict[str, Variable]:
    s, n, units = run.state, run.draws, FACTOR_UNITS
    out = {
        "factor_prior_mean": variable(
            ("factor",), s.factor_sum / n, "mean of the factor's draws", units
        ),
        "factor_prior_sd": variable(
            ("factor",),
            _sd(s.factor_sum, s.factor_sq_sum, n, n),
            "standard deviation of the factor's draws",
            units,
        ),
    }
    if run.weighted:
        ws = s.weighted
        out["factor_posterior_mean"] = variable(
            ("factor",),
            ws.factor_wsum / wsum,
            "mean of the factor, weighted by agreement with the observations",
            units,
        )
        out["factor_posterior_sd"] = variable(
            ("factor",),
            _sd(ws.factor_wsum, ws.factor_wsq_sum, wsum, ess),
            "standard deviation of the factor, weighted",
            units,
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            out["observation_probability"] = variable(
                ("observation",),
                np.where(
                    ws.observation_weight > 0,
                    ws.observation_likelihood / ws.observation_weight,
                    0.0,
                ),
                "mean likelihood of the observation given the observations of earlier years "
                "(for a rank observation: the probability that the model reproduces it)",
                "1",
            )
    return out


def _conditioning_vars(run: FoldedRun) -> dict[str, Variable]:
    """Per observed year: the conditional acceptance, the ESS before and after resampling, and
    the ancestors of that year with descendants in the final population (sums over blocks)."""
    ws, dims = run.state.weighted, ("observed_year",)
    with np.errstate(divide="ignore", invalid="ignore"):
        accept = np.where(
            ws.year_weight_before > 0, ws.year_weight_after / ws.year_weight_before, 0.0
        )
    return {
        "conditional_acceptance": variable(
            dims,
            accept,
            "mean likelihood of the year's observations given the earlier years' "
            "(for rank windows: the share of the particles that reproduce them)",
            "1",
        ),
        "ess_before_resampling": variable(
            dims,
            ws.year_ess_before,
            "effective sample size after weighting by the year's "
            "observations, before resampling (summed over blocks)",
            "1",
        ),
        "ess_after_resampling": variable(
            dims,
            ws.year_ess_after,
            "effective sample size after resampling (summed over "
            "blocks; the same as before when the year did not resample)",
            "1",
        ),
        "tempering_steps": variable(
            dims,
            ws.year_temper_steps / n_blocks(run.scenario.with_updates(draws=run.draws)),
            "mean number of tempering steps per block that brought in the year's likelihood "
            "(1: all at once)",
            "1",
        ),
        "unique_ancestors": variable(
            dims,
            ws.year_unique_ancestors,
            "particles of the year that have descendants in "
            "the final population (summed over blocks)",
            "1",
        ),
    }


def _coords(run: FoldedRun) -> dict[str, tuple[str, Any]]:
    m, sc = run.model, run.scenario
    return {
        "metric": ("metric", list(m.metrics)),
        "year": ("year", np.array(run.report_years, dtype=np.int32)),
        "country": ("country", list(m.countries)),
        RANK_DIM: (RANK_DIM, np.arange(1, len(m.countries) + 1, dtype=np.int16)),
        QUANTILE_DIM: (QUANTILE_DIM, np.array(QUANTILES)),
        "factor": ("factor", list(sc.factor_names)),
        "metric_long_name": ("metric", [m.metric_info[x][0] for x in m.metrics]),
        "metric_units": ("metric", [m.metric_info[x][1] for x in m.metrics]),
        "country_name": ("country", list(m.country_names)),
        "factor_units": ("factor", [f.units for f in sc.factors]),
        "factor_description": ("factor", [f.description for f in sc.factors]),
    }


def _trace_vars(run: FoldedRun) -> dict[str, Variable]:
    tr_draws, tr_p, tr_half = zip(*run.trace, strict=True)
    return {
        "trace_draws": variable(("trace",), np.array(tr_draws), "draws after each block", "1"),
        "trace_p_top": variable(
            ("trace", "metric"),
            np.array(tr_p),
            f"running estimate of p_top for {run.scenario.focus} in {run.trace_year}",
            "1",
        ),
        "trace_halfwidth": variable(
            ("trace", "metric"), np.array(tr_half), "running 95% Wilson half-width of p_top", "1"
        ),
    }


def _attrs(run: FoldedRun, *, elapsed_s: float, command: str) -> dict[str, Any]:
    m, sc = run.model, _scenario_as_run(run)
    return {
        "title": f"g3sim results: {sc.name}",
        "Conventions": "CF-1.10",
        "g3sim_format": FORMAT,
        "g3sim_format_version": FORMAT_VERSION,
        "scenario_name": sc.name,
        "scenario_description": sc.description,
        "scenario_toml": sc.to_toml(),
        "scenario_sha256": sc.sha256,
        "scenario_source": str(sc.source),
        "model": m.name,
        "focus": sc.focus,
        "top_k": sc.top_k,
        "seed": np.int64(sc.seed),
        "design": sc.design,
        "draws": np.int64(run.draws),
        "block_size": np.int64(sc.block_size),
        "keep_draws": int(bool(sc.keep_draws)),
        "conditioned": int(run.weighted),
        "conditioning": run.conditioning,
        "smc_moves": int(run.scenario.smc_moves) if run.conditioning == "smc" else 0,
        "observation_noise_scale": float(run.scenario.observation_noise_scale),
        "stop_reason": run.stop_reason,
        "trace_year": int(run.trace_year),
        "target_halfwidth": float(run.stop.halfwidth) if run.stop else 0.0,
        "observations": len(run.observations),
        "confidence_level": CONFIDENCE,
        "interval_method": "wilson",
        **provenance(elapsed_s=elapsed_s, command=command),
        **{f"model_{k}": v for k, v in m.describe().items()},
    }


#: Per-draw floating-point rows are stored bit-rounded (engine/state.py); the attribute says so.
ROUNDED = {"g3sim_mantissa_bits": PER_DRAW_MANTISSA_BITS}


def per_draw_specs(sc) -> dict[str, tuple[tuple[str, ...], dict[str, str]]]:
    """Dimensions and attributes of the per-draw variables (kept draws)."""
    return {
        "focus_rank": (
            ("draw", "metric", "year"),
            {"long_name": f"rank of the focus country {sc.focus}", "units": "1"},
        ),
        "focus_value": (
            ("draw", "metric", "year"),
            {"long_name": f"score of the focus country {sc.focus}", **METRIC_UNITS, **ROUNDED},
        ),
        "factor_value": (
            ("draw", "factor"),
            {"long_name": "sampled value of the factor", **FACTOR_UNITS, **ROUNDED},
        ),
        "weight": (
            ("draw",),
            {"long_name": "weight of the draw (likelihood of the observations)", "units": "1"},
        ),
        "ancestor": (
            ("draw",),
            {
                "long_name": "initial draw this particle descends from (rows sharing it share "
                "their factor values and history up to the last resampling)",
                "units": "1",
            },
        ),
    }


def _sd(s1: np.ndarray, s2: np.ndarray, total: float, n_eff: float) -> np.ndarray:
    """Weighted sd from Σw·x, Σw·x², Σw, with the reliability-weights correction
    n_eff / (n_eff - 1) (= n / (n - 1) unweighted)."""
    mean = s1 / total
    var = np.maximum(s2 / total - mean**2, 0.0)
    return np.sqrt(var * (n_eff / (n_eff - 1) if n_eff > 1 else 0.0))
