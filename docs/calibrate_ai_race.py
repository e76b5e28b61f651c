"""Calibration of the ``ai_race`` random walk (``drift_sd``, ``volatility``) to rank movements.

Run from the repository root::

    .venv/bin/python docs/calibrate_ai_race.py configs/baseline.toml
    .venv/bin/python docs/calibrate_ai_race.py configs/baseline.toml --volatility 0.02 0.03
    .venv/bin/python docs/calibrate_ai_race.py configs/baseline.toml --until 2025

``--until YEAR`` runs instead the back-test's re-calibration (simulator/analysis/backtest.py,
``recalibrate_walk``: consecutive published editions up to YEAR, the scenario's own dynamics)
and prints the grid point it picks.

It prints the observed movements, then the ten grid points of least loss. The method is in
:mod:`simulator.models.ai_race.calibration`; docs/model.md ("Calibration") records the result.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from simulator import load_scenario
from simulator.analysis.backtest import recalibrate_walk
from simulator.models.ai_race.calibration import calibrate, observed_movements


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", help="an ai_race scenario file, e.g. configs/baseline.toml")
    ap.add_argument("--draws", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--volatility", type=float, nargs="+", default=[0.01, 0.015, 0.02, 0.025, 0.03])
    ap.add_argument("--drift-sd", type=float, nargs="+", default=[0.0, 0.005, 0.01, 0.015, 0.02])
    ap.add_argument("--until", type=int, help="the back-test's re-calibration up to this edition")
    args = ap.parse_args(argv)
    if args.until is not None:
        sc = load_scenario(args.scenario).with_updates(seed=args.seed)
        vol, dsd = recalibrate_walk(sc, args.until, args.draws)
        print(f"up to {args.until}: volatility {vol:g}, drift_sd {dsd:g}")
        return
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
