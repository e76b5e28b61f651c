"""Given-data first-order indices checked against analytic answers: independent and correlated
linear toys, a weighted (conditioned) toy, grouped draws, and an input that does nothing."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.analysis.sensitivity_given import default_bins, given_data_indices
from simulator.errors import AnalysisError

N = 60_000
A1, A2, SIGMA = 2.0, 1.0, 1.0
# Tolerance: the bootstrap SE of each index here is ≈ 0.002-0.004 (n = 60,000); binning into
# ≤ 50 equal-weight bins loses ≈ 1% of a linear effect's variance (the within-bin part). 0.025
# covers 4.5 SE plus that bias.
TOL = 0.025


def _rng(seed):
    return np.random.default_rng(seed)


def test_independent_linear_toy_gives_the_analytic_indices():
    rng = _rng(1)
    x = rng.standard_normal((N, 3))
    y = A1 * x[:, 0] + A2 * x[:, 1] + SIGMA * rng.standard_normal(N)
    r = given_data_indices(x, y[:, None], rng=_rng(2), n_resamples=50)
    v = A1**2 + A2**2 + SIGMA**2
    np.testing.assert_allclose(r.value[0], [A1**2 / v, A2**2 / v, 0.0], atol=TOL)
    assert r.lower[0, 2] <= 0.0 <= r.upper[0, 2]  # the unread input is zero within its interval
    assert r.lower[0, 0] > 0.5


def test_correlated_inputs_give_the_dependent_first_order_indices():
    # X2 = ρ X1 + √(1 − ρ²) Z: E[Y | X1] = (a1 + ρ a2) X1, so S1 = (a1 + ρ a2)² / V.
    rho = 0.6
    rng = _rng(3)
    z = rng.standard_normal((N, 2))
    x = np.column_stack([z[:, 0], rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1]])
    y = A1 * x[:, 0] + A2 * x[:, 1] + SIGMA * rng.standard_normal(N)
    v = A1**2 + A2**2 + 2 * rho * A1 * A2 + SIGMA**2
    r = given_data_indices(x, y[:, None], rng=_rng(4), n_resamples=20)
    np.testing.assert_allclose(
        r.value[0], [(A1 + rho * A2) ** 2 / v, (A2 + rho * A1) ** 2 / v], atol=TOL
    )


def test_weighted_draws_give_the_posterior_indices():
    # Conditioning on an observation X1 + η = 1, η ~ N(0, τ²), weights the prior draws; the
    # posterior of X1 is normal with variance τ²/(1 + τ²), so S1 = a1² v1 / (a1² v1 + a2² + σ²).
    tau = 0.5
    rng = _rng(5)
    x = rng.standard_normal((2 * N, 2))
    w = np.exp(-0.5 * ((1.0 - x[:, 0]) / tau) ** 2)
    y = A1 * x[:, 0] + A2 * x[:, 1] + SIGMA * rng.standard_normal(2 * N)
    v1 = tau**2 / (1 + tau**2)
    v = A1**2 * v1 + A2**2 + SIGMA**2
    r = given_data_indices(x, y[:, None], w, rng=_rng(6), n_resamples=20)
    np.testing.assert_allclose(r.value[0], [A1**2 * v1 / v, A2**2 / v], atol=TOL)
    assert r.mean[0] == pytest.approx(np.sum(w * y) / np.sum(w))


def test_grouped_duplicates_are_one_draw_each():
    # Each draw repeated 3 times (as resampled particles are): the same indices, wider intervals
    # than if the copies were counted as independent.
    rng = _rng(7)
    n = N // 3
    x = rng.standard_normal((n, 2))
    noise = rng.standard_normal(n * 3)
    xs = np.repeat(x, 3, axis=0)
    y = A1 * xs[:, 0] + A2 * xs[:, 1] + SIGMA * noise
    groups = np.repeat(np.arange(n), 3)
    # Inputs are shared within a group; outcomes differ (the model's noise after resampling).
    grouped = given_data_indices(xs, y[:, None], None, groups, rng=_rng(8), n_resamples=50)
    assert grouped.groups == n
    v = A1**2 + A2**2 + SIGMA**2
    np.testing.assert_allclose(grouped.value[0], [A1**2 / v, A2**2 / v], atol=2 * TOL)


def test_an_indicator_outcome_and_a_constant_input():
    rng = _rng(9)
    x = np.column_stack([rng.standard_normal(N), np.full(N, 0.8)])
    y = (x[:, 0] + rng.standard_normal(N) > 1.5).astype(float)
    r = given_data_indices(x, y[:, None], rng=_rng(10), n_resamples=20)
    assert r.constant.tolist() == [False, True]
    assert r.value[0, 1] == 0.0 and 0 < r.value[0, 0] < 1
    assert r.mean[0] == pytest.approx(y.mean())


def test_too_few_weighted_draws_is_one_line():
    x = np.zeros((100, 1))
    w = np.zeros(100)
    w[:10] = 1
    with pytest.raises(AnalysisError, match="only 10 independent draws carry weight"):
        given_data_indices(x, np.ones((100, 1)), w, rng=_rng(1))


def test_default_bins_grow_with_the_effective_sample_size():
    assert default_bins(50) == 4 and default_bins(3_600) == 20 and default_bins(1e7) == 50
