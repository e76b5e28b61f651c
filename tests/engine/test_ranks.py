"""Rank kernels against the reference definition rank = 1 + #{rivals strictly above}."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.engine import PAIRWISE_MAX_COUNTRIES, focus_ranks, rank_counts, ranks_min


def _reference_counts(x):
    r = ranks_min(x)
    _, ny, nc = x.shape
    return np.stack(
        [[np.bincount(r[:, y, c] - 1, minlength=nc) for c in range(nc)] for y in range(ny)]
    )


@pytest.mark.parametrize("nc", [1, 2, 5, 24, 62, PAIRWISE_MAX_COUNTRIES + 1])
def test_rank_counts_match_the_definition_with_ties(nc):
    rng = np.random.default_rng(nc)
    x = rng.integers(0, 4, size=(500, 3, nc)).astype(float)  # many ties on purpose
    x[:50] = rng.standard_normal((50, 3, nc))  # and some without
    np.testing.assert_array_equal(rank_counts(x), _reference_counts(x))
    for f in range(nc):
        np.testing.assert_array_equal(focus_ranks(x, f), ranks_min(x)[..., f])


def test_ranks_min_small_example():
    x = np.array([[[3.0, 1.0, 3.0, 2.0, -1.0]]])
    np.testing.assert_array_equal(ranks_min(x)[0, 0], [1, 4, 1, 3, 5])
