"""Sensitivity of the 2030 index answer to each remaining assumption (docs/model.md §10).

For every unsourced knob of configs/baseline.toml the baseline is run with the knob at a low
and a high value (everything else as in the baseline; same seed and draws: common random
numbers) and P(Korea in the top 3 of the 2030 index) is printed with its 95% interval, as a
Markdown table. Run from the repository root::

    .venv/bin/python docs/sensitivity_2030.py configs/baseline.toml --draws 16384 --seed 1
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from simulator import load_scenario, run


def _fixed(factor: str, value: float) -> str:
    """A --set fixing a factor of the baseline at ``value``."""
    return f'factors.{factor}={{dist = "constant", value = {value}}}'


# (assumption, --set for the low end, --set for the high end). The observation noise is the
# baseline's observation_noise_scale (0.75, chosen by the back-test) halved and doubled.
KNOBS: tuple[tuple[str, str, str], ...] = (
    ("regional_share", _fixed("regional_share", 0), _fixed("regional_share", 0.6)),
    ("pillar_offset_scale", _fixed("pillar_offset_scale", 0.5), _fixed("pillar_offset_scale", 2)),
    (
        "gpu.infrastructure_elasticity",
        _fixed("gpu_infrastructure_elasticity", 0),
        _fixed("gpu_infrastructure_elasticity", 0.2),
    ),
    (
        "investment.commercial_elasticity",
        _fixed("investment_commercial_elasticity", 0.1),
        _fixed("investment_commercial_elasticity", 0.6),
    ),
    (
        "investment.development_share",
        "model.investment.development_share=0",
        "model.investment.development_share=0.3",
    ),
    (
        "KOR reform_talent_share",
        "model.countries.KOR.regulation.reform_talent_share=0",
        "model.countries.KOR.regulation.reform_talent_share=0.6",
    ),
    (
        "KOR reform_investment_growth",
        "model.countries.KOR.regulation.reform_investment_growth=0",
        "model.countries.KOR.regulation.reform_investment_growth=0.1",
    ),
    (
        "KOR burden_investment_growth",
        "model.countries.KOR.regulation.burden_investment_growth=0",
        "model.countries.KOR.regulation.burden_investment_growth=0.05",
    ),
    ("drift_sd", "model.drift_sd=0", "model.drift_sd=0.045"),
    ("volatility", "model.volatility=0.01", "model.volatility=0.045"),
    ("methodology_sd", "model.methodology_sd=0", "model.methodology_sd=0.1"),
    (
        "observation_noise_scale",
        "scenario.observation_noise_scale=0.375",
        "scenario.observation_noise_scale=1.5",
    ),
)


def variant(path: str, setting: str):
    return load_scenario(path, [setting])


def p_top(sc, draws: int, seed: int, workers: int = 1) -> str:
    ds = run(sc, draws=draws, seed=seed, keep_draws=False, workers=workers)
    sel = {"metric": "ai_index", "year": 2030, "country": "KOR"}
    p, lo, hi = (float(ds[v].sel(**sel)) for v in ("p_top", "p_top_lower", "p_top_upper"))
    return f"{p:.1%} [{lo:.1%}, {hi:.1%}]"


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--draws", type=int, default=16384)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1, help="the same numbers for any count")
    args = ap.parse_args(argv)
    w = args.workers
    t0 = time.time()
    print(f"baseline: {p_top(load_scenario(args.scenario), args.draws, args.seed, w)}\n")
    print("| assumption | low | P(top 3, 2030) | high | P(top 3, 2030) |")
    print("|---|---|---|---|---|")
    for name, low, high in KNOBS:
        a = p_top(variant(args.scenario, low), args.draws, args.seed, w)
        b = p_top(variant(args.scenario, high), args.draws, args.seed, w)
        print(f"| {name} | `{low}` | {a} | `{high}` | {b} |", flush=True)
    print(f"\n({args.draws:,} draws, seed {args.seed}, {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
