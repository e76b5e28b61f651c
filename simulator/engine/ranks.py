"""Competition ranks: the reference definition, the focus country's ranks, and rank counts."""

from __future__ import annotations

import numpy as np

# Up to this many countries (at most kernels.MAX_COUNTRIES) the compiled kernel counts ranks
# pairwise; beyond, :func:`rank_counts` sorts. A setting, so tests can force the sort (it is read
# by simulator.engine.block, where a test patches it).
PAIRWISE_MAX_COUNTRIES = 127


def ranks_min(x: np.ndarray) -> np.ndarray:
    """Competition ranks along the last axis: ``1 + #{j : x_j > x_i}`` (ties share the best).

    The reference definition; the engine uses the faster :func:`.kernels.reduce_block`
    (or :func:`rank_counts`) and :func:`focus_ranks`, which tests check against this.
    """
    return 1 + (x[..., None, :] > x[..., :, None]).sum(axis=-1, dtype=np.int16)


def focus_ranks(x: np.ndarray, focus: int) -> np.ndarray:
    """Rank of country ``focus`` for every (draw, year) of ``x`` (n, year, country): int16."""
    return 1 + (x > x[..., focus : focus + 1]).sum(axis=-1, dtype=np.int16)


def rank_counts(x: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """How many draws give each country each rank: ``(year, country, rank)`` int64 counts.

    ``x`` is ``(n, year, country)``. Ranks follow :func:`ranks_min`. One sort per (draw, year):
    the country at sorted position p has rank 1 + (start of p's group of tied values), so counts
    come from one bincount of (country, rank) pairs with no inverse permutation. With
    ``weights`` (n,), the counts are sums of the draws' weights (float64). The engine uses this
    beyond :data:`PAIRWISE_MAX_COUNTRIES` countries; below, the compiled kernel is faster.
    """
    _, ny, nc = x.shape
    neg = np.negative(x)
    order = np.argsort(neg, axis=-1)  # country at each descending position
    neg.sort(axis=-1)
    start = np.empty(x.shape, dtype=np.intp)
    start[..., 0] = 0
    new_group = neg[..., 1:] != neg[..., :-1]
    np.multiply(new_group, np.arange(1, nc), out=start[..., 1:])
    np.maximum.accumulate(start, axis=-1, out=start)
    order *= nc
    order += start
    order += (np.arange(ny) * nc * nc)[:, None]
    if weights is not None:
        weights = np.broadcast_to(weights[:, None, None], x.shape).ravel()
    return np.bincount(order.ravel(), weights=weights, minlength=ny * nc * nc).reshape(ny, nc, nc)
