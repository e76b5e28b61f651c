"""Plot style helpers: how many rank rows to show, labels spread apart."""

from __future__ import annotations

import numpy as np

from simulator.plots.style import _spread, rank_rows

# ---------------------------------------------------------------------------------------------
# Helpers


def test_rank_rows_covers_the_distribution():
    p = np.zeros((2, 62))
    p[0, [3, 5, 9]] = [0.5, 0.497, 0.003]
    p[1, 2:5] = 1 / 3
    assert rank_rows(p, 3) == 6  # 99.7% by rank 6 in year 0; the rest is summed
    assert rank_rows(p[:, :5], 3) == 5  # few ranks: all shown
    assert rank_rows(np.full((1, 62), 1 / 62), 3) == 15  # at most 15


def test_spread_keeps_the_gap_and_the_order():
    pos = _spread(np.array([0.5, 0.5, 0.51, 0.99, 1.0]), 0.05, low=0.0, high=1.0)
    assert np.all(np.diff(pos) >= 0.05 - 1e-12)
    assert pos[-1] <= 1.0
