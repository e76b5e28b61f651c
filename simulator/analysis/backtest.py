"""Rolling-origin back-test of an ``ai_race`` scenario against the published editions.

For each origin (after the 2021, 2023 and 2024 editions) the scenario is conditioned only on
what was published by then: its ``[[observations]]`` of years up to the origin, and its random
walk (``drift_sd``, ``volatility``) re-calibrated on the rank movements published up to the
origin (:func:`simulator.models.ai_race.calibration.movement_loss`, a grid search). It then
forecasts the ranks of the later editions (2023, 2024, 2025): the run's ``rank_probability``
of each country of the edition's published list. Two baselines forecast the same ranks from the
same history:

- **persistence**: the last published rank plus a rank change drawn from the empirical
  distribution of the changes between consecutive earlier editions (each change scaled by
  ``√(years ahead / years between the editions)``, and symmetrised: ``±Δ``), smoothed by a
  Gaussian kernel of :data:`BANDWIDTH` places;
- **trend**: the same kernel, centred on the least-squares line through the country's
  published ranks up to the origin (flat with one published rank).

Scores (lower is better), for a forecast ``p`` over ranks ``1..R`` and the published rank ``o``:
the ranked probability score ``RPS = Σ_k (F(k) − 1[o ≤ k])²`` (not divided by ``R − 1``: a point
forecast one place off scores 1) and the log score ``−ln p(o)``. Every forecast is first mixed
with :data:`MIX` of a uniform distribution over the ranks, so that a rank no draw reached has a
finite log score; the same mixing for every method.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..engine import BlockRunner, block_length, n_blocks
from ..engine.smc import run_smc
from ..errors import ConfigError
from ..models import build_model
from ..models.ai_race.calibration import calibration_years, history_until, movement_loss
from ..results.provenance import provenance
from ..runs import resolve_scenario, run
from ..sampling import Streams, sample_factors
from ..scenario import Scenario, scenario_from_dict

ORIGINS = (2021, 2023, 2024)
EDITIONS = (2023, 2024, 2025)  # the editions forecast (those published after 2021)
FORECASTERS = ("model", "persistence", "trend")
VOLATILITY_GRID = (0.01, 0.02, 0.03, 0.045, 0.06)
DRIFT_SD_GRID = (0.0, 0.01, 0.02, 0.03, 0.045)
BANDWIDTH = 0.5  # Gaussian kernel of the baselines' rank changes [places] (assumption)
MIX = 0.01  # share of a uniform distribution mixed into every forecast (finite log scores)
FOCUS = "KOR"
# The Stanford AI Index publishes a year's private AI investment in April of the next year,
# before that year's edition (June–September): an origin sees the investment data up to the
# year before it.
INVESTMENT_LAG = 1

ProgressFn = Callable[[str], None]


def backtest(
    scenario: Scenario,
    *,
    draws: int | None = None,
    calibration_draws: int = 2048,
    seed: int | None = None,
    origins: Sequence[int] = ORIGINS,
    recalibrate: bool = True,
    workers: int = 1,
    progress: ProgressFn | None = None,
    command: str = "",
) -> xr.Dataset:
    """Back-test ``scenario`` (an ``ai_race`` scenario) from each origin; returns the Dataset of
    every scored forecast (dimension ``forecast``) by method, with the re-calibrated
    ``volatility`` and ``drift_sd`` per origin (module docstring).

    ``draws`` (default: the scenario's) is the forecast runs' size; ``calibration_draws`` that
    of each grid point of the re-calibration; ``recalibrate=False`` keeps the scenario's own
    random walk (which was calibrated on every edition: it leaks the future).
    """
    sc = resolve_scenario(scenario, draws=draws, seed=seed, keep_draws=False)
    _check(sc, origins)
    published = history_until(max(EDITIONS))
    rows: list[dict[str, Any]] = []
    calib = []
    for origin in origins:
        if progress is not None:
            progress(f"origin {origin}: calibrating")
        vol, dsd = recalibrate_walk(sc, origin, calibration_draws) if recalibrate else _walk(sc)
        calib.append((vol, dsd))
        if progress is not None:
            progress(f"origin {origin}: forecasting {', '.join(map(str, _targets(origin)))}")
        model_p = _model_forecast(sc, origin, vol, dsd, workers=workers, command=command)
        rows += _rows(history_until(origin), published, origin, model_p)
    return _dataset(sc, rows, origins, calib, recalibrate, calibration_draws, command)


def _rows(history, published, origin: int, model_p) -> list[dict[str, Any]]:
    """One row per scored forecast from ``origin``: the three methods' rank distributions."""
    rows = []
    for target in _targets(origin):
        for country, rank in published[target].items():
            pm = model_p[target][country]
            p = {
                "model": pm,
                "persistence": persistence_pmf(history, country, target, len(pm)),
                "trend": trend_pmf(history, country, target, len(pm)),
            }
            rows.append({"origin": origin, "target": target, "country": country, "rank": rank})
            rows[-1]["p"] = p
    return rows


def _check(sc: Scenario, origins: Sequence[int]) -> None:
    if sc.data.get("scenario", {}).get("model") != "ai_race":
        raise ConfigError(
            "backtest scores ai_race scenarios against the published Tortoise editions; "
            "name an ai_race scenario",
            source=sc.source,
            key="scenario.model",
        )
    bad = [o for o in origins if o not in ORIGINS]
    if bad or not origins:
        raise ConfigError(
            f"origin {bad[0] if bad else 'none'}: origins are editions with a later one to "
            f"forecast, from {', '.join(map(str, ORIGINS))}"
        )
    for key in ("drift_sd", "volatility"):
        if isinstance(sc.model_params.get(key), str):
            raise ConfigError(
                f"backtest re-calibrates {key}: give it a number, not the factor "
                f"{sc.model_params[key]!r}",
                source=sc.source,
                key=f"model.{key}",
            )


def _targets(origin: int) -> tuple[int, ...]:
    return tuple(e for e in EDITIONS if e > origin)


def _walk(sc: Scenario) -> tuple[float, float]:
    return float(sc.model_params["volatility"]), float(sc.model_params["drift_sd"])


def _variant(
    sc: Scenario,
    *,
    years: Sequence[int],
    origin: int | None,
    model: Mapping[str, Any],
    vintage: int,
) -> Scenario:
    """``sc`` with ``years``, ``[model]`` updates, the observations up to ``origin`` (none when
    ``origin`` is None) and the investment data published by the edition ``vintage``."""
    data = copy.deepcopy(dict(sc.data))
    data["scenario"]["years"] = list(years)
    data["model"].update(model)
    data["model"].setdefault("investment", {})["data_until"] = vintage - INVESTMENT_LAG
    obs = [o for o in data.get("observations", []) if origin is not None and o["year"] <= origin]
    data["observations"] = obs
    if not obs:
        data.pop("observations")
    return scenario_from_dict(data, source=sc.source, origins=sc.origins)


def recalibrate_walk(sc: Scenario, origin: int, draws: int) -> tuple[float, float]:
    """The grid point of least :func:`movement_loss` on the movements published by ``origin``
    (common random numbers across the grid)."""
    years = calibration_years(origin)
    best = None
    for vol, dsd in itertools.product(VOLATILITY_GRID, DRIFT_SD_GRID):
        v = _variant(
            sc,
            years=years,
            origin=None,
            model={"volatility": vol, "drift_sd": dsd},
            vintage=origin,
        )
        model = build_model(v)
        f = sample_factors(
            v.factors,
            v.correlation,
            design="mc",
            seed=int(sc.seed),
            block=0,
            n=draws,
            block_size=draws,
        )
        x = model.simulate(f, Streams(int(sc.seed), 0).child("model"), draws)["ai_index"]
        loss = movement_loss(x, years, origin)
        if best is None or loss < best[0]:
            best = (loss, vol, dsd)
    assert best is not None
    return best[1], best[2]


def _model_forecast(
    sc: Scenario, origin: int, vol: float, dsd: float, *, workers: int, command: str
) -> dict[int, dict[str, np.ndarray]]:
    """Rank probabilities (target → country → (rank,)) of the scenario conditioned up to
    ``origin`` with the random walk ``vol``, ``dsd``."""
    v = _variant(
        sc,
        years=_targets(origin),
        origin=origin,
        model={"volatility": vol, "drift_sd": dsd},
        vintage=origin,
    )
    ds = run(v, workers=workers, command=command, keep_draws=False)
    prob = ds["rank_probability"].sel(metric="ai_index")
    return {
        int(t): {str(c): prob.sel(year=t, country=c).values for c in ds["country"].values}
        for t in _targets(origin)
    }


# -- baselines -----------------------------------------------------------------------------


def _last(history: Mapping[int, Mapping[str, int]], country: str) -> tuple[int, int]:
    """The country's last published (edition, rank) in ``history``."""
    for edition in sorted(history, reverse=True):
        if country in history[edition]:
            return edition, history[edition][country]
    raise KeyError(country)


def rank_changes(history: Mapping[int, Mapping[str, int]]) -> np.ndarray:
    """Per-year-scaled rank changes ``±Δ / √gap`` between consecutive published editions, over
    the countries listed in both, symmetrised: a country on a later edition's top list got there
    by rising, so the raw changes lean upwards; persistence is centred on the last rank."""
    eds = sorted(history)
    out = [
        (history[e2][c] - history[e1][c]) / np.sqrt(e2 - e1)
        for e1, e2 in itertools.pairwise(eds)
        for c in history[e2]
        if c in history[e1]
    ]
    d = np.array(out, dtype=float) if out else np.zeros(1)
    return np.concatenate([d, -d])


def _kernel_pmf(centre: float, deltas: np.ndarray, n_ranks: int) -> np.ndarray:
    """Ranks ``1..n_ranks``: a Gaussian-kernel mixture at ``centre + deltas``, normalised."""
    r = np.arange(1, n_ranks + 1, dtype=float)
    z = (r[None, :] - centre - deltas[:, None]) / BANDWIDTH
    p = np.exp(-0.5 * z * z).sum(axis=0)
    total = p.sum()
    if total <= 0:  # centre far outside 1..n_ranks: the nearest rank
        p = np.zeros(n_ranks)
        p[int(np.clip(round(centre), 1, n_ranks)) - 1] = 1.0
        return p
    return p / total


def persistence_pmf(
    history: Mapping[int, Mapping[str, int]], country: str, target: int, n_ranks: int
) -> np.ndarray:
    """Persistence as a probability kernel: last published rank + an empirical rank change."""
    edition, rank = _last(history, country)
    deltas = rank_changes(history) * np.sqrt(target - edition)
    return _kernel_pmf(rank, deltas, n_ranks)


def trend_pmf(
    history: Mapping[int, Mapping[str, int]], country: str, target: int, n_ranks: int
) -> np.ndarray:
    """A linear rank trend: the least-squares line through the country's published ranks,
    with the persistence kernel's (symmetric) changes around it."""
    pts = [(e, h[country]) for e, h in sorted(history.items()) if country in h]
    edition, rank = pts[-1]
    if len(pts) >= 2:
        t, r = np.array(pts, dtype=float).T
        slope, intercept = np.polyfit(t, r, 1)
        centre = intercept + slope * target
    else:
        centre = float(rank)
    deltas = rank_changes(history) * np.sqrt(target - edition)
    return _kernel_pmf(centre, deltas, n_ranks)


# -- scores --------------------------------------------------------------------------------


def mixed(p: np.ndarray) -> np.ndarray:
    """``p`` mixed with :data:`MIX` of the uniform distribution over its ranks."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, None)
    p = p / p.sum()
    return (1.0 - MIX) * p + MIX / len(p)


def rps(p: np.ndarray, observed: int) -> float:
    """Ranked probability score of the forecast ``p`` over ranks 1..R for the rank ``observed``."""
    cdf = np.cumsum(p)
    step = (np.arange(1, len(p) + 1) >= observed).astype(float)
    return float(np.sum((cdf - step) ** 2))


def log_score(p: np.ndarray, observed: int) -> float:
    """``−ln p(observed)``."""
    return float(-np.log(p[observed - 1]))


# -- the result ----------------------------------------------------------------------------


def _dataset(sc, rows, origins, calib, recalibrate, calibration_draws, command) -> xr.Dataset:
    n_ranks = len(rows[0]["p"]["model"])
    prob = np.array(
        [[mixed(r["p"][m]) for r in rows] for m in FORECASTERS]
    )  # (forecaster, fc, rank)
    obs = np.array([r["rank"] for r in rows])
    idx = np.arange(len(rows))
    p_obs = prob[:, idx, obs - 1]
    dims = ("forecaster", "forecast")
    ds = xr.Dataset(
        {
            "observed_rank": ("forecast", obs, {"long_name": "published rank"}),
            "rps": (dims, _score(prob, obs, rps), {"long_name": "ranked probability score"}),
            "log_score": (dims, -np.log(p_obs), {"long_name": "log score, -ln p(published)"}),
            "p_observed": (dims, p_obs, {"long_name": "forecast probability of the rank"}),
            "expected_rank": (dims, prob @ np.arange(1, n_ranks + 1), {"long_name": "mean rank"}),
            "forecast_probability": (
                (*dims, "rank_position"),
                prob,
                {"long_name": "forecast of the rank"},
            ),
            "volatility": ("origin", [c[0] for c in calib], {"long_name": "calibrated volatility"}),
            "drift_sd": ("origin", [c[1] for c in calib], {"long_name": "calibrated drift_sd"}),
        },
        coords={
            "forecaster": list(FORECASTERS),
            "origin": list(origins),
            "rank_position": np.arange(1, n_ranks + 1),
            "forecast_origin": ("forecast", [r["origin"] for r in rows]),
            "forecast_target": ("forecast", [r["target"] for r in rows]),
            "forecast_country": ("forecast", [r["country"] for r in rows]),
        },
    )
    ds.attrs = {
        "title": f"g3sim back-test: {sc.name}",
        "analysis": "backtest",
        "g3sim_format": "g3sim-backtest",
        "scenario_name": sc.name,
        "scenario_sha256": sc.sha256,
        "model": "ai_race",
        "design": sc.design,
        "seed": int(sc.seed),
        "draws": int(sc.draws),
        "calibration_draws": int(calibration_draws),
        "recalibrated": int(recalibrate),
        "focus": FOCUS,
        "metric": "ai_index",
        "mix": MIX,
        "bandwidth": BANDWIDTH,
        **provenance(command=command or None),
    }
    return ds


def _score(prob: np.ndarray, obs: np.ndarray, fn) -> np.ndarray:
    return np.array([[fn(p, o) for p, o in zip(pm, obs, strict=True)] for pm in prob])


def summary(ds: xr.Dataset) -> list[dict[str, Any]]:
    """Pooled (mean) scores by group (the focus country; every published country), by origin,
    over every forecast, and over the held-out 2024 and 2025 editions."""
    origin = ds["forecast_origin"].values
    target = ds["forecast_target"].values
    focus = ds["forecast_country"].values == ds.attrs["focus"]
    groups = {ds.attrs["focus"]: focus, "published": np.ones_like(focus)}
    periods: dict[str, np.ndarray] = {str(o): origin == o for o in ds["origin"].values}
    periods["all"] = np.ones_like(focus)
    periods["2024–2025"] = target >= 2024
    out = []
    for (g, gm), (period, pm) in itertools.product(groups.items(), periods.items()):
        sel = gm & pm
        if not sel.any():
            continue
        for m in ds["forecaster"].values:
            out.append(
                {
                    "group": g,
                    "origin": period,
                    "forecaster": str(m),
                    "forecasts": int(sel.sum()),
                    "rps": float(ds["rps"].sel(forecaster=m).values[sel].mean()),
                    "log_score": float(ds["log_score"].sel(forecaster=m).values[sel].mean()),
                }
            )
    return out


def top_set_share(
    scenario: Scenario,
    year: int,
    countries: Sequence[str],
    *,
    draws: int | None = None,
    seed: int | None = None,
    metric: str = "ai_index",
) -> float:
    """The share of the conditioned weight in which ``countries`` are exactly the top
    ``len(countries)`` of ``year`` (as a set): the same blocks, streams and SMC as a run."""
    sc = resolve_scenario(scenario, draws=draws, seed=seed, keep_draws=False)
    runner = BlockRunner(sc)
    model = runner.model
    idx = [model.countries.index(c) for c in countries]
    k, yi = len(idx), model.years.index(year)
    hit = total = 0.0
    for block in range(n_blocks(sc)):
        n = block_length(sc, block)
        f = sample_factors(
            sc.factors,
            sc.correlation,
            design=sc.design,
            seed=int(sc.seed),
            block=block,
            n=n,
            block_size=sc.block_size,
        )
        rngs = Streams(int(sc.seed), block)
        cond = run_smc(model, f, rngs.child("model"), rngs.child("smc"), n, runner.observations)
        x = cond.scores[metric][:, yi, :]
        kth = np.partition(x, -k, axis=1)[:, -k]
        inside = (x[:, idx] >= kth[:, None]).all(axis=1)
        hit += float(cond.weight[inside].sum())
        total += float(cond.weight.sum())
    return hit / total if total > 0 else float("nan")


__all__ = [
    "backtest",
    "log_score",
    "persistence_pmf",
    "recalibrate_walk",
    "rps",
    "summary",
    "top_set_share",
    "trend_pmf",
]
