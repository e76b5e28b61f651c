"""Calibration of the ``ai_race`` random walk (``drift_sd``, ``volatility``) to rank movements.

The published editions (tortoise_editions.csv) give the top ranks of 2023 (14 countries), 2024
(10) and 2025 (5); the 2021 table gives every rank. For each pair of editions (e1, e2) the
statistic is the mean absolute rank change, between e1 and e2, of the countries in e2's published
top K. The model's statistic is computed the same way on simulated ranks (its own top K at e2,
among its 62 countries), averaged over draws, and the defaults minimise the K-weighted squared
error over a grid. Run it with::

    .venv/bin/python docs/calibrate_ai_race.py configs/baseline.toml

docs/model.md ("Calibration") records the result.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ...sampling import Streams, sample_factors
from ...scenario import load_scenario
from .. import build_model
from .tortoise import BASE_YEAR, countries, editions, tortoise_2021

EDITIONS = (2021, 2023, 2024, 2025)


def competition_ranks(x: np.ndarray) -> np.ndarray:
    """Competition ranks along the last axis: ``1 + #{j : x_j > x_i}`` (ties share the best).

    The engine's reference definition (``simulator.engine.ranks_min``), restated here so that a
    model does not import the engine; tests/models/ai_race/test_tortoise.py checks that they agree.
    """
    return 1 + (x[..., None, :] > x[..., :, None]).sum(axis=-1, dtype=np.int16)


def published_ranks() -> dict[int, dict[str, int]]:
    """Ranks by edition: all 62 countries for 2021 (from the table), the published top K after."""
    table = tortoise_2021()
    ranks = competition_ranks(table.totals)
    out: dict[int, dict[str, int]] = {
        BASE_YEAR: dict(zip(table.countries, ranks.tolist(), strict=True))
    }
    for edition, iso, rank in editions():
        if edition > BASE_YEAR:
            out.setdefault(edition, {})[iso] = rank
    return out


def observed_movements() -> dict[tuple[int, int], tuple[int, float]]:
    """``{(e1, e2): (K, mean |rank_e2 - rank_e1| over e2's published top K)}``."""
    ranks = published_ranks()
    out = {}
    for e1, e2 in itertools.combinations(EDITIONS, 2):
        top = ranks[e2]
        if all(c in ranks[e1] for c in top):
            out[(e1, e2)] = (len(top), float(np.mean([abs(top[c] - ranks[e1][c]) for c in top])))
    return out


def simulated_movements(
    x: np.ndarray, observed: dict[tuple[int, int], tuple[int, float]]
) -> dict[tuple[int, int], float]:
    """The statistics of ``observed`` from simulated index totals ``x`` (draw, 2023–2025,
    country)."""
    n = x.shape[0]
    ranks = {y: competition_ranks(x[:, i, :]) for i, y in enumerate((2023, 2024, 2025))}
    ranks[BASE_YEAR] = np.broadcast_to(competition_ranks(tortoise_2021().totals), (n, x.shape[2]))
    out = {}
    for (e1, e2), (k, _) in observed.items():
        top = ranks[e2] <= k
        moves = np.abs(ranks[e2] - ranks[e1]) * top
        out[(e1, e2)] = float(np.mean(moves.sum(axis=1) / top.sum(axis=1)))
    return out


def korea_steps(x: np.ndarray) -> float:
    """P(Korea moves at most one place in each of 2021→2023→2024→2025), as it did, from the
    same simulated totals."""
    j = countries().iso3.index("KOR")
    r = competition_ranks(x)[:, :, j]
    r0 = competition_ranks(tortoise_2021().totals)[j]
    steps = np.abs(np.diff(np.concatenate([np.full((x.shape[0], 1), r0), r], axis=1), axis=1))
    return float(np.mean((steps <= 1).all(axis=1)))


def calibrate(
    path: str,
    volatilities: Sequence[float],
    drift_sds: Sequence[float],
    *,
    draws: int = 4096,
    seed: int = 1,
) -> list[tuple[float, float, float, dict]]:
    """Grid search; returns ``(loss, volatility, drift_sd, statistics)`` sorted by loss."""
    observed = observed_movements()
    rows = []
    for vol, dsd in itertools.product(volatilities, drift_sds):
        sc = load_scenario(
            path,
            [
                "scenario.years=[2023, 2024, 2025]",
                f"model.volatility={vol}",
                f"model.drift_sd={dsd}",
            ],
        )
        model = build_model(sc)
        f = sample_factors(
            sc.factors, sc.correlation, design="mc", seed=seed, block=0, n=draws, block_size=draws
        )
        x = model.simulate(f, Streams(seed, 0).child("model"), draws)["ai_index"]  # once per point
        sim = simulated_movements(x, observed)
        loss = sum(k * (sim[p] - obs) ** 2 for p, (k, obs) in observed.items())
        sim["KOR ≤ 1 place per edition"] = korea_steps(x)
        rows.append((loss, vol, dsd, sim))
    return sorted(rows, key=lambda r: r[0])


# -- calibration on what was published by an origin (the back-test's re-calibration) ----------


def history_until(origin: int) -> dict[int, dict[str, int]]:
    """Published ranks of every edition up to ``origin``: the 2021 table's 62 ranks, and the
    published lists of the other editions (2019 and 2020: Korea only; tortoise_editions.csv)."""
    table = tortoise_2021()
    out: dict[int, dict[str, int]] = {}
    for edition, iso, rank in editions():
        if edition <= origin and edition != BASE_YEAR:
            out.setdefault(edition, {})[iso] = rank
    if origin >= BASE_YEAR:
        ranks = competition_ranks(table.totals)
        out[BASE_YEAR] = dict(zip(table.countries, ranks.tolist(), strict=True))
    return dict(sorted(out.items()))


def movements_until(origin: int) -> list[tuple[int, int, tuple[str, ...], float]]:
    """``(e1, e2, countries, mean |rank change|)`` for consecutive published editions up to
    ``origin``, over the countries of e2's list published in e1 too."""
    hist = history_until(origin)
    eds = sorted(hist)
    out = []
    for e1, e2 in itertools.pairwise(eds):
        common = tuple(c for c in hist[e2] if c in hist[e1])
        if common:
            moves = [abs(hist[e2][c] - hist[e1][c]) for c in common]
            out.append((e1, e2, common, float(np.mean(moves))))
    return out


def movement_loss(x: np.ndarray, years: Sequence[int], origin: int) -> float:
    """K-weighted squared error of the simulated mean |rank change| against the published one,
    for every consecutive pair of editions up to ``origin``.

    ``x`` are simulated totals (draw, year, country) for ``years`` (2022 on). A pair after 2021
    is compared with the same editions simulated; a pair before 2021 (Korea's 2019–2021 ranks)
    with the same gap simulated from 2021, since the model starts there.
    """
    c = countries().iso3
    ranks = {y: competition_ranks(x[:, i, :]) for i, y in enumerate(years)}
    ranks[BASE_YEAR] = np.broadcast_to(competition_ranks(tortoise_2021().totals), x[:, 0].shape)
    loss = 0.0
    for e1, e2, common, observed in movements_until(origin):
        a, b = (e1, e2) if e1 >= BASE_YEAR else (BASE_YEAR, BASE_YEAR + e2 - e1)
        idx = [c.index(k) for k in common]
        sim = float(np.mean(np.abs(ranks[b][:, idx] - ranks[a][:, idx])))
        loss += len(common) * (sim - observed) ** 2
    return loss


def calibration_years(origin: int) -> tuple[int, ...]:
    """The model years :func:`movement_loss` needs for ``origin``."""
    needed = {BASE_YEAR + 1}
    for e1, e2, _, _ in movements_until(origin):
        needed.add(e2 if e1 >= BASE_YEAR else BASE_YEAR + e2 - e1)
    return tuple(sorted(y for y in needed if y > BASE_YEAR))
