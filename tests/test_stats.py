"""Binomial intervals and histogram quantiles (simulator/stats.py)."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.stats import (
    clopper_pearson_interval,
    draws_for_halfwidth,
    histogram_quantiles,
    round_draws,
    wilson_interval,
)


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(0.0, 10)
    assert lo == 0.0
    assert hi == pytest.approx(1.959964**2 / (10 + 1.959964**2), rel=1e-6)
    lo, hi = wilson_interval(0.5, 100)
    assert (lo, hi) == pytest.approx((0.4038, 0.5962), abs=1e-4)


def test_wilson_is_close_to_clopper_pearson_for_large_n():
    lo_w, hi_w = wilson_interval(0.2, 10_000)
    lo_c, hi_c = clopper_pearson_interval(2_000, 10_000)
    assert lo_w == pytest.approx(float(lo_c), abs=5e-4)
    assert hi_w == pytest.approx(float(hi_c), abs=5e-4)


def test_histogram_quantiles_of_a_uniform_histogram():
    edges = np.linspace(0, 10, 11)
    counts = np.ones(10)
    q = histogram_quantiles(counts, edges, [0.05, 0.5, 0.95])
    np.testing.assert_allclose(q, [0.5, 5.0, 9.5])


def test_draws_for_halfwidth_scales_as_one_over_root_draws():
    # Halving the half-width takes four times the draws; an exact Wilson half-width at
    # p = 0.5 shrinks by the same law, to within 1% at these sizes.
    assert draws_for_halfwidth(10_000, 0.01, 0.005) == 40_000
    assert draws_for_halfwidth(10_000, 0.004, 0.005) == 6_400  # already there: fewer
    lo, hi = wilson_interval(0.5, 40_000)
    assert (hi - lo) / 2 == pytest.approx(0.0098 / 2, rel=0.01)
    assert round_draws(2_854_764) == 2_900_000 and round_draws(0) == 0
