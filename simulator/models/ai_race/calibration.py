"""Calibration of the ``ai_race`` random walk (``drift_sd``, ``volatility``) to rank movements.

The published editions (tortoise_editions.csv) give the top ranks of 2023 (14 countries), 2024
(10) and 2025 (5); the 2021 table gives every rank. For each pair of editions (e1, e2) the
statistic is the mean absolute rank change, between e1 and e2, of the countries in e2's published
top K. The model's statistic is computed the same way on simulated ranks (its own top K at e2,
among its 62 countries), averaged over draws, and the defaults minimise the K-weighted squared
error over a grid. Run it with::

    python -m simulator.models.ai_race_calibration configs/baseline.toml

docs/model.md ("Calibration") records the result.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence

import numpy as np

from ...engine import ranks_min as competition_ranks
from ...sampling import StreamFactory, sample_factors
from .tortoise import BASE_YEAR, countries, editions, tortoise_2021

EDITIONS = (2021, 2023, 2024, 2025)


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
    from ...scenario import load_scenario
    from .. import build_model

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
        x = model.simulate(f, StreamFactory(seed, 0), draws)["ai_index"]  # once per point
        sim = simulated_movements(x, observed)
        loss = sum(k * (sim[p] - obs) ** 2 for p, (k, obs) in observed.items())
        sim["KOR ≤ 1 place per edition"] = korea_steps(x)
        rows.append((loss, vol, dsd, sim))
    return sorted(rows, key=lambda r: r[0])


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", help="an ai_race scenario file, e.g. configs/baseline.toml")
    ap.add_argument("--draws", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--volatility", type=float, nargs="+", default=[0.01, 0.015, 0.02, 0.025, 0.03])
    ap.add_argument("--drift-sd", type=float, nargs="+", default=[0.0, 0.005, 0.01, 0.015, 0.02])
    args = ap.parse_args(argv)
    print(
        "observed: "
        + ", ".join(
            f"{a}→{b} (top {k}): {v:.2f}" for (a, b), (k, v) in observed_movements().items()
        )
    )
    for loss, vol, dsd, sim in calibrate(
        args.scenario, args.volatility, args.drift_sd, draws=args.draws, seed=args.seed
    )[:10]:
        stats = ", ".join(
            f"{a}→{b}: {v:.2f}" if isinstance(a, int) else f"{a}: {v:.2f}"
            for (a, b), v in ((k if isinstance(k, tuple) else (k, None), v) for k, v in sim.items())
        )
        print(f"loss {loss:7.3f}  volatility {vol:<6g} drift_sd {dsd:<6g} {stats}")


if __name__ == "__main__":
    main()
