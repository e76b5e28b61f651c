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


def test_bit_round_keeps_24_significant_bits_and_leaves_non_finite_values_alone():
    from simulator.engine.state import PER_DRAW_MANTISSA_BITS, bit_round

    rng = np.random.default_rng(5)
    x = rng.standard_normal(100_000) * 10.0 ** rng.integers(-300, 300, 100_000)
    r = bit_round(x)
    # Rounding to the nearest of 24 mantissa bits: |r/x - 1| ≤ 2^-(24+1) (half a unit in the
    # last kept place), and the dropped 28 bits are zero.
    assert np.max(np.abs(r / x - 1.0)) <= 2.0 ** -(PER_DRAW_MANTISSA_BITS + 1)
    assert not (r.view(np.uint64) & np.uint64((1 << (52 - PER_DRAW_MANTISSA_BITS)) - 1)).any()
    assert np.array_equal(bit_round(r), r)  # idempotent
    assert np.array_equal(bit_round(np.array([0.0, 1.0, -2.0, 0.5])), [0.0, 1.0, -2.0, 0.5])
    special = np.array([np.inf, -np.inf, np.nan, np.finfo(float).max])
    out = bit_round(special)
    assert out[0] == np.inf and out[1] == -np.inf and np.isnan(out[2])
    assert out[3] == np.finfo(float).max  # would round to inf: kept as it is
