"""The ai_race baseline scenario file, and one block of the model simulated outside the engine."""

from __future__ import annotations

from simulator.models import build_model
from simulator.sampling import Streams, sample_factors
from tests.helpers.scenarios import CONFIGS

BASELINE = CONFIGS / "baseline.toml"


def simulate(scenario, n=300, seed=1, block=0):
    model = build_model(scenario)
    f = sample_factors(
        scenario.factors,
        scenario.correlation,
        design="mc",
        seed=seed,
        block=block,
        n=n,
        block_size=16384,
    )
    return model, model.simulate(f, Streams(seed, block).child("model"), n)
