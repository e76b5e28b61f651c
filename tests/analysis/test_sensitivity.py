"""Sensitivity estimators: Sobol indices (analytic checks, noise as an input) and rank measures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulator.analysis.sensitivity import (
    NOISE,
    rank_sensitivity,
    sample_matrices,
    sobol_indices,
    weighted_ranks,
)
from simulator.errors import AnalysisError
from simulator.sampling import Streams
from simulator.stats import Z_TWO_SIDED_95

UNIFORM_PI = stats.uniform(-np.pi, 2 * np.pi)
# Ishigami (a = 7, b = 0.1): analytic indices (Ishigami & Homma 1990; Sobol' & Levitan 1999).
ISHIGAMI_S1 = np.array([0.3139, 0.4424, 0.0])
ISHIGAMI_ST = np.array([0.5576, 0.4424, 0.2437])


def ishigami(x, a=7.0, b=0.1):
    return np.sin(x[0]) + a * np.sin(x[1]) ** 2 + b * x[2] ** 4 * np.sin(x[0])


# Tolerances: 4.5 standard errors, the standard error being the 95% bootstrap interval's
# half-width / 1.96; a correct estimator fails such a check about once in 150,000.
K_SE = 4.5


def inside(est, truth, i=0):
    """|estimate − truth| ≤ K_SE standard errors (an Estimate's row ``i``)."""
    se = (est.upper[i] - est.lower[i]) / (2 * Z_TWO_SIDED_95)
    return np.abs(est.value[i] - truth) <= K_SE * se


# ---------------------------------------------------------------------------------------------
# The estimator


def test_ishigami_indices_within_bootstrap_intervals():
    # 2^13 base rows of a scrambled Sobol design; each 95% percentile-bootstrap interval must
    # hold the analytic index (the bootstrap treats QMC rows as iid, which overstates their
    # error, so the intervals are conservative: over 200 seeds none of the six missed).
    res = sobol_indices(
        func=ishigami, dists=[UNIFORM_PI] * 3, n=2**13, rng=np.random.default_rng(20260122)
    )
    assert res.names == ("x1", "x2", "x3")
    assert inside(res.first_order, ISHIGAMI_S1).all(), res.first_order
    assert inside(res.total_order, ISHIGAMI_ST).all(), res.total_order
    # The intervals are informative: 0.02–0.06 wide at this n.
    assert np.all(res.total_order.upper - res.total_order.lower < 0.07)
    # Mean and variance of the function: 3.5 and a²/8 + bπ⁴/5 + b²π⁸/18 + 1/2 = 13.8446. Their
    # spread over 40 seeds of this scrambled-Sobol design: sd 6.0e-5 and 0.038% (relative);
    # tolerances 4.5 sd, rounded up.
    assert res.mean[0] == pytest.approx(3.5, abs=3e-4)
    assert res.variance[0] == pytest.approx(13.8446, rel=2e-3)


def test_estimator_is_scipys_saltelli_2010():
    """The same A, B, AB values give scipy.stats.sobol_indices' numbers (dict form)."""
    n = 1024
    a, b = sample_matrices([UNIFORM_PI] * 3, n=n, rng=np.random.default_rng(5))
    f_ab = np.stack([ishigami(np.where(np.arange(3)[:, None] == j, b, a)) for j in range(3)])
    ref = stats.sobol_indices(func={"f_A": ishigami(a), "f_B": ishigami(b), "f_AB": f_ab}, n=n)

    # Our function sees exactly these matrices when it draws the design from the same seed.
    res = sobol_indices(
        func=ishigami, dists=[UNIFORM_PI] * 3, n=n, rng=np.random.default_rng(5), n_resamples=9
    )
    np.testing.assert_allclose(res.first_order.value[0], ref.first_order, atol=1e-12)
    np.testing.assert_allclose(res.total_order.value[0], ref.total_order, atol=1e-12)


def test_subset_of_inputs_and_names():
    res = sobol_indices(
        func=ishigami,
        dists=[UNIFORM_PI] * 3,
        n=2**12,
        rng=np.random.default_rng(1),
        names=["p", "q", "r"],
        which=[2],
        n_resamples=200,
    )
    assert res.names == ("r",)
    assert res.evaluations == 3 * 2**12
    assert inside(res.total_order, ISHIGAMI_ST[2:]).all()


def _noisy(x, *, noise):
    """Y = X1 + X2·ε with ε ~ N(0, 1) from a stream keyed by the noise label (common random
    numbers: column i sees the same ε for the same label)."""
    eps = Streams(99, 0)(f"test-noise:{noise}").standard_normal(x.shape[1])
    return x[0] + x[1] * eps


def test_internal_noise_is_one_more_input():
    # Var Y = 2. S1 = ST1 = 1/2; X2 acts only with the noise: S2 = 0, ST2 = 1/2;
    # the noise likewise: S_ε = 0, ST_ε = 1/2. Intervals are 95% bootstrap intervals.
    res = sobol_indices(
        func=_noisy,
        dists=[stats.norm(), stats.norm()],
        n=2**13,
        rng=np.random.default_rng(11),
        names=["x1", "x2"],
        noise=True,
    )
    assert res.names == ("x1", "x2", NOISE)
    assert res.evaluations == 5 * 2**13
    assert inside(res.first_order, np.array([0.5, 0.0, 0.0])).all(), res.first_order
    assert inside(res.total_order, np.array([0.5, 0.5, 0.5])).all(), res.total_order


@pytest.mark.parametrize(
    ("n", "match"),
    [(100, "power of two"), (32, "≥ 64"), (0, "power of two"), (2**36, "use n ≤ 16,777,216")],
)
def test_sobol_needs_a_power_of_two(n, match):
    with pytest.raises(AnalysisError, match=match):
        sobol_indices(func=ishigami, dists=[UNIFORM_PI] * 3, n=n, rng=np.random.default_rng(0))


def test_constant_outcome_gives_nan_not_zero():
    res = sobol_indices(
        func=lambda x: np.zeros(x.shape[1]),
        dists=[UNIFORM_PI],
        n=64,
        rng=np.random.default_rng(0),
        n_resamples=20,
    )
    assert np.isnan(res.first_order.value).all() and np.isnan(res.total_order.upper).all()


# ---------------------------------------------------------------------------------------------
# Rank measures


def test_weighted_ranks_match_scipy_and_duplicates():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 5, size=(50, 2)).astype(float)  # many ties
    r = weighted_ranks(x)
    expected = (stats.rankdata(x, axis=0) - 0.5) / len(x)
    np.testing.assert_allclose(r, expected)
    w = rng.integers(1, 4, size=50)
    rw = weighted_ranks(x, w.astype(float))
    rd = weighted_ranks(np.repeat(x, w, axis=0))
    np.testing.assert_allclose(np.repeat(rw, w, axis=0), rd)


def test_rank_correlation_is_spearman_and_weights_act_as_copies():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((400, 3))
    y = x[:, 0] + 0.5 * x[:, 1] + rng.standard_normal(400)
    res = rank_sensitivity(x=x, y=y)
    rho = [stats.spearmanr(x[:, j], y).statistic for j in range(3)]
    np.testing.assert_allclose(res.rank_correlation.value[0], rho, atol=1e-12)
    w = rng.integers(1, 4, size=400)
    rw = rank_sensitivity(x=x, y=y, weights=w.astype(float))
    rd = rank_sensitivity(x=np.repeat(x, w, axis=0), y=np.repeat(y, w))
    np.testing.assert_allclose(rw.rank_correlation.value, rd.rank_correlation.value, atol=1e-12)
    np.testing.assert_allclose(rw.srrc, rd.srrc, atol=1e-10)


def test_rank_correlation_of_bivariate_normal():
    # Y = X1 + X2 + noise with unit variances: Pearson corr(Y, X1) = 1/√3, so Spearman's rho is
    # (6/π) asin(ρ/2) = 0.5593 (Pearson 1907). Tolerance: 4.5 standard errors, the standard error
    # being the 95% Fisher-z interval's half-width / 1.96 (the interval's coverage was checked
    # by simulation: 93.5–97.5% over 400 seeds).
    rng = np.random.default_rng(4)
    n = 20_000
    x = rng.standard_normal((n, 3))
    y = x[:, 0] + x[:, 1] + rng.standard_normal(n)
    res = rank_sensitivity(x=x, y=y, names=["a", "b", "c"])
    truth = 6 / np.pi * np.arcsin(1 / np.sqrt(3) / 2)
    rc = res.rank_correlation
    se = (rc.upper[0] - rc.lower[0]) / (2 * 1.96)
    assert np.all(np.abs(rc.value[0] - [truth, truth, 0.0]) < K_SE * se), (rc.value, se)
    # With independent factors each SRRC is the factor's Spearman rho (0.5593, 0.5593, 0) and
    # the R² of the rank regression Σ rho² = 0.6257. Their standard errors, measured over 200
    # seeds at this n: 0.0048 (SRRC) and 0.0047 (R²); 4.5 SE.
    assert np.all(np.abs(res.srrc[0] - [truth, truth, 0.0]) < K_SE * 0.0048), res.srrc
    assert res.r_squared[0] == pytest.approx(2 * truth**2, abs=K_SE * 0.0047)


def test_rank_sensitivity_needs_enough_draws():
    with pytest.raises(AnalysisError, match="too few for rank sensitivity of 3 factors"):
        rank_sensitivity(x=np.zeros((10, 3)), y=np.zeros(10))
