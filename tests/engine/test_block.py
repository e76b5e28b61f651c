"""The engine around the compiled kernel: one block's scores checked, counted and reduced."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import run
from simulator.engine import (
    BlockRunner,
    ModelError,
    block,
)
from simulator.runs import resolve_scenario
from simulator.scenario import scenario_from_dict
from tests.helpers.scenarios import gaussian_dict
from tests.helpers.toy_models import Poisoned, linear_dict, register_model


@pytest.fixture
def poisoned(monkeypatch):
    register_model(monkeypatch, "linear_race", Poisoned)
    return Poisoned


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("history", [False, True])
def test_a_non_finite_score_stops_the_run_with_a_clear_error(poisoned, monkeypatch, bad, history):
    monkeypatch.setattr(poisoned, "poison", bad)
    d = linear_dict(draws=3 * 1000, block_size=1000)
    d["observations"] = [{"country": "CHN", "year": 2029, "rank_range": [1, 3]}]
    sc = resolve_scenario(scenario_from_dict(d))
    with pytest.raises(ModelError, match="non-finite score values in block 1"):
        run(sc, history=history)


def test_huge_finite_scores_are_not_mistaken_for_non_finite_ones(poisoned, monkeypatch):
    """Squares of 1e200 overflow, so the kernel says "not finite"; the engine checks the values
    and goes on (real models refuse such scales at validation, see
    tests/properties/test_robustness.py)."""
    monkeypatch.setattr(poisoned, "poison", 1e200)
    runner = BlockRunner(
        resolve_scenario(scenario_from_dict(linear_dict(draws=3000, block_size=1000)))
    )
    res = runner(1)
    assert res.sums.rank_count.sum() == 1000 * 2 * 4  # draws × years × countries


@pytest.mark.parametrize("history", [False, True])
def test_engine_counts_are_the_same_by_kernel_or_by_sorting(monkeypatch, history):
    rng = np.random.default_rng(4)
    countries = {f"C{i:02d}": (m, s) for i, (m, s) in enumerate(rng.uniform(1, 10, (30, 2)))}
    d = gaussian_dict(countries, focus="C00", draws=5000, block_size=2000)
    d["observations"] = [{"country": "C01", "year": 2030, "rank_range": [1, 15]}]
    sc = resolve_scenario(scenario_from_dict(d))
    by_kernel = run(sc, history=history)
    monkeypatch.setattr(block, "PAIRWISE_MAX_COUNTRIES", 0)
    by_sorting = run(sc, history=history)
    for v in ("rank_count", "rank_probability", "p_top", "value_quantile", "value_mean"):
        np.testing.assert_array_equal(by_kernel[v].values, by_sorting[v].values)
