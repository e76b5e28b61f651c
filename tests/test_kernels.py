"""The compiled block reduction against the numpy reference definitions.

Rank counts and histograms must be equal exactly (they are counts, or sums of weights in draw
order); moments to a few ulps (the kernel sums in a fixed order of its own).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from simulator.engine import (
    PAIRWISE_MAX_COUNTRIES,
    rank_counts,
    ranks_min,
)
from simulator.engine.binning import bin_index, bin_scale, binned_values
from simulator.kernels import MAX_COUNTRIES, TILE, reduce_block, scale_shift
from simulator.models.base import Bins


def reference(x, bins: Bins, w=None):
    """Rank counts, histograms and moments by the numpy definitions."""
    n, ny, nc = x.shape
    r = ranks_min(x) - 1
    counts = np.stack(
        [[np.bincount(r[:, y, c], weights=w, minlength=nc) for c in range(nc)] for y in range(ny)]
    )
    idx = bin_index(bins, x)
    hist = np.stack(
        [
            [np.bincount(idx[:, y, c], weights=w, minlength=bins.n) for c in range(nc)]
            for y in range(ny)
        ]
    )
    ww = np.ones(n) if w is None else w
    return counts, hist, np.einsum("i,ijk->jk", ww, x), np.einsum("i,ijk,ijk->jk", ww, x, x)


def kernel(x, bins: Bins, w=None, ranks=True):
    _, ny, nc = x.shape
    dtype = np.int64 if w is None else np.float64
    out = [
        np.zeros((ny, nc, nc), dtype),
        np.zeros((ny, nc, bins.n), dtype),
        np.zeros((ny, nc)),
        np.zeros((ny, nc)),
    ]
    finite = reduce_block(x, binned_values(bins, x), w, *bin_scale(bins), bins.n, ranks, *out)
    return finite, out


def assert_matches(x, bins, w=None):
    finite, got = kernel(x, bins, w)
    want = reference(x, bins, w)
    assert finite
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    scale = np.einsum("i,ijk->jk", np.ones(len(x)) if w is None else w, np.abs(x)) + 1e-300
    np.testing.assert_allclose(got[2], want[2], rtol=0, atol=float((1e-13 * scale).max()))
    np.testing.assert_allclose(got[3], want[3], rtol=1e-13)


CASES = [
    # (draws, years, countries): one tile, several tiles with a partial last one, one country,
    # the most countries the pairwise ranking takes
    (1, 1, 1),
    (7, 2, 3),
    (TILE * 3 + 17, 1, 20),
    (2500, 3, 7),
    (1500, 2, 62),
    (1100, 1, MAX_COUNTRIES),
]


@pytest.mark.parametrize(("n", "ny", "nc"), CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_reference_with_overlaps_ties_and_disjoint_ranges(n, ny, nc, weighted):
    rng = np.random.default_rng(n + nc)
    means = rng.uniform(0, 100, nc)  # some countries overlap, some are far apart
    x = rng.standard_normal((n, ny, nc)) * rng.uniform(0.5, 10, nc) + means
    x[: n // 5] = np.round(x[: n // 5] / 20) * 20  # many exact ties
    if nc > 1:
        x[:, :, -1] = x[:, :, 0]  # two countries equal in every draw
    w = rng.uniform(0.01, 3, n) if weighted else None
    bins = Bins(float(x.min()) + 1, float(x.max()) - 1, 500)  # edges clip a few values
    assert_matches(x, bins, w)


@pytest.mark.parametrize("weighted", [False, True])
def test_log_bins_match_reference(weighted):
    rng = np.random.default_rng(3)
    x = np.exp(rng.standard_normal((3000, 2, 9)) * 3 + rng.uniform(0, 12, 9))
    x[:100, 0, 0] = 0.0  # below the range: clipped into the first bin
    w = rng.uniform(0.1, 2, len(x)) if weighted else None
    assert_matches(x, Bins(1.0, 1e9, 1000, log=True), w)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=9),
        elements=st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]) | st.floats(-50, 50),
    )
)
def test_property_any_small_block_matches_reference(x):
    assert_matches(np.ascontiguousarray(x), Bins(-10.0, 10.0, 40))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_reported_without_out_of_range_writes(bad):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2000, 1, 6))
    x[1234, 0, 2] = bad
    finite, (counts, hist, _, _) = kernel(x, Bins(-3.0, 3.0, 100))
    assert not finite
    # Every draw still lands in exactly one rank and one bin per country.
    assert (counts.sum(axis=-1) == 2000).all()
    assert (hist.sum(axis=-1) == 2000).all()


def test_huge_finite_values_flag_only_an_overflowing_square():
    """Squares beyond the float range make the kernel say "not finite"; the engine then checks
    the values themselves (tests/properties/test_robustness.py covers the whole run)."""
    x = np.full((10, 1, 2), 1e200)
    finite, _ = kernel(x, Bins(0.0, 1e201, 10))
    assert not finite
    assert np.isfinite(x).all()


def test_without_ranks_the_counts_are_left_alone():
    x = np.random.default_rng(2).standard_normal((100, 1, 130))
    bins = Bins(-4.0, 4.0, 50)
    finite, (counts, hist, _, _) = kernel(x, bins, ranks=False)
    assert finite and not counts.any()
    np.testing.assert_array_equal(hist, reference(x, bins)[1])
    # beyond the kernel's limit the engine sorts: same counts
    assert x.shape[-1] > PAIRWISE_MAX_COUNTRIES
    np.testing.assert_array_equal(rank_counts(x), reference(x, bins)[0])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.update(x=a["x"].astype(np.float32)), "x: expected"),
        (lambda a: a.update(x=np.asfortranarray(a["x"])), "x: expected"),
        (lambda a: a.update(hist=a["hist"][..., :-1]), "hist: expected"),
        (lambda a: a.update(counts=a["counts"].astype(np.float64)), "counts: expected"),
        (lambda a: a.update(w=np.ones(3)), "w: expected"),
        (lambda a: a.update(hx=np.zeros((2, 2, 2))), "hx: expected"),
        (lambda a: a.update(nbins=0), "nbins"),
    ],
)
def test_wrapper_refuses_arrays_the_compiled_code_would_overrun(change, message):
    args = {
        "x": np.zeros((5, 1, 3)),
        "hx": None,
        "w": None,
        "lo": 0.0,
        "k": 1.0,
        "nbins": 4,
        "ranks": True,
        "counts": np.zeros((1, 3, 3), np.int64),
        "hist": np.zeros((1, 3, 4), np.int64),
        "s1": np.zeros((1, 3)),
        "s2": np.zeros((1, 3)),
    }
    change(args)
    with pytest.raises(ValueError, match=message):
        reduce_block(**args)


def test_wrapper_refuses_pairwise_ranks_beyond_the_int8_counters():
    nc = MAX_COUNTRIES + 1
    with pytest.raises(ValueError, match="ranks"):
        reduce_block(
            np.zeros((2, 1, nc)),
            None,
            None,
            0.0,
            1.0,
            3,
            True,
            np.zeros((1, nc, nc), np.int64),
            np.zeros((1, nc, 3), np.int64),
            np.zeros((1, nc)),
            np.zeros((1, nc)),
        )


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 4, 7), (16384, 1, 20), (0, 2, 3)])
def test_scale_shift_equals_numpy_broadcasting(shape):
    rng = np.random.default_rng(sum(shape))
    z = rng.standard_normal(shape) * 1e3
    scale = rng.uniform(1e-3, 1e3, shape[-1])
    shift = rng.uniform(-1e5, 1e5, shape[-1])
    want = z * scale + shift
    scale_shift(z, scale, shift)
    np.testing.assert_array_equal(z, want)


def test_read_only_inputs_are_fine_read_only_outputs_are_refused():
    x = np.random.default_rng(5).standard_normal((50, 1, 4))
    x.flags.writeable = False
    bins = Bins(-4.0, 4.0, 20)
    finite, (counts, _, _, _) = kernel(x, bins)
    assert finite
    np.testing.assert_array_equal(counts, reference(x, bins)[0])
    out = np.zeros((1, 4, 20), np.int64)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="hist: expected a writeable"):
        reduce_block(x, None, None, *bin_scale(bins), 20, True, counts, out, *np.zeros((2, 1, 4)))
