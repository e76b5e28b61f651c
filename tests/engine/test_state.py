"""Typed run state (issue 13): ReducerState through checkpoint arrays, RunOptions, the API face."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import simulator as g3
from simulator.engine import Accumulator, BlockRunner, ReducerState, n_blocks
from simulator.errors import ConfigError
from simulator.runs import RunOptions, StopTarget, resolve_scenario
from simulator.runs.options import run_options
from simulator.scenario import scenario_from_dict
from tests.helpers.scenarios import FIVE, gaussian_dict, gaussian_scenario


def _folded(history: bool):
    d = gaussian_dict(FIVE, draws=2_500, seed=3, block_size=1000)
    if history:
        d["observations"] = [{"country": "KOR", "year": 2030, "rank_range": [1, 3]}]
    runner = BlockRunner(resolve_scenario(scenario_from_dict(d)))
    acc = Accumulator(runner)
    for b in range(n_blocks(runner.scenario)):
        acc.add(runner(b))
    return acc


@pytest.mark.parametrize("history", [False, True])
def test_reducer_state_round_trips_through_checkpoint_arrays(history):
    acc = _folded(history)
    arrays = acc.state()
    # The array names of checkpoint format 2 (written before ReducerState existed).
    names = {"sum:rank_count", "sum:hist", "sum:sum1", "sum:sum2", "sum:weight_sum"}
    assert names <= set(arrays)
    assert ("sum:observation_likelihood" in arrays) == history
    back = ReducerState.from_arrays(arrays)
    for (na, a), (nb, b) in zip(acc.sums.arrays(), back.arrays(), strict=True):
        assert na == nb
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    assert ReducerState.from_arrays({"draws_done": np.array([0])}) is None


def test_run_options_map_the_flat_keywords():
    opts = run_options(None, {"draws": 10, "target_halfwidth": 0.01, "max_draws": 500})
    assert opts.draws == 10 and opts.stop == StopTarget(0.01, 500, None)
    assert run_options(RunOptions(seed=1), {}) == RunOptions(seed=1)
    with pytest.raises(ConfigError, match="--max-draws works with --target-halfwidth"):
        run_options(None, {"max_draws": 500})
    with pytest.raises(ConfigError, match=r"must be in \(0, 0.5\]"):
        StopTarget(0.7)
    with pytest.raises(TypeError, match="drawz"):
        run_options(None, {"drawz": 1})


def test_run_with_options_equals_run_with_keywords():
    sc = gaussian_scenario(FIVE, draws=1_500, seed=2, block_size=500)
    a = g3.run(sc, RunOptions(keep_draws=False))
    b = g3.run(sc, keep_draws=False)
    np.testing.assert_array_equal(a["rank_count"].values, b["rank_count"].values)


def test_the_package_face_loads_nothing_heavy():
    code = (
        "import sys, simulator as g3; heavy = {'numba', 'matplotlib', 'xarray'}; "
        "assert not heavy & set(sys.modules), heavy & set(sys.modules); "
        "g3.RunOptions; g3.run; assert 'matplotlib' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
