"""ReducerState: the folded sums round-trip through the checkpoint arrays (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.engine import Accumulator, BlockRunner, ReducerState, n_blocks
from simulator.runs import resolve_scenario
from simulator.scenario import scenario_from_dict
from tests.helpers.scenarios import FIVE, gaussian_dict


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
