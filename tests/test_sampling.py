"""Sampling: stable hashes, random streams, sampling designs, the Gaussian copula, tabulated ppf."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulator import run
from simulator.sampling import Streams, sample_factors, stable_hash, unit_draws
from simulator.scenario.distributions import make_distribution
from tests.helpers.scenarios import FIVE, gaussian_scenario


def test_stable_hash_is_stable():
    # Changing this value breaks every stored seed's draws: it is part of the contract.
    import hashlib

    digest = hashlib.blake2b(b"factor:alpha", digest_size=8).digest()
    assert stable_hash("factor:alpha") == int.from_bytes(digest, "little") >> 1
    assert stable_hash("factor:alpha") == 1278772641302704110
    assert stable_hash("a") != stable_hash("b")


def test_streams_differ_by_name_and_block():
    a = Streams(1, 0)("x").random(4)
    assert not np.array_equal(a, Streams(1, 0)("y").random(4))
    assert not np.array_equal(a, Streams(1, 1)("x").random(4))
    np.testing.assert_array_equal(a, Streams(1, 0)("x").random(4))


def test_streams_keep_the_documented_spawn_keys():
    # docs/reproducibility.md: PCG64(SeedSequence(seed, spawn_key=(stable_hash(name), block)));
    # a child's prefix is part of the hashed name, so rngs("shocks") is stream "model:shocks".
    def raw(seed, name, block):
        ss = np.random.SeedSequence(seed, spawn_key=(stable_hash(name), block))
        return np.random.Generator(np.random.PCG64(ss)).random(8)

    rngs = Streams(7, 3).child("model")
    assert rngs.block == 3
    np.testing.assert_array_equal(rngs("shocks").random(8), raw(7, "model:shocks", 3))
    nested = Streams(7, 2).child("sensitivity:noise1").child("model")
    np.testing.assert_array_equal(nested("x").random(8), raw(7, "sensitivity:noise1:model:x", 2))
    u = unit_draws("mc", ["alpha"], seed=7, block=3, n=8, block_size=8)
    np.testing.assert_array_equal(u[:, 0], raw(7, "factor:alpha", 3) + 2.0**-54)


@pytest.mark.parametrize("design", ["lhs", "sobol"])
def test_qmc_designs_stratify_each_margin(design):
    """Each 1-D margin of an LHS block or a Sobol 2^m prefix has one point per stratum."""
    n = 1024
    u = unit_draws(design, ["a", "b", "c"], seed=3, block=0, n=n, block_size=n)
    assert u.shape == (n, 3)
    assert ((u > 0) & (u < 1)).all()
    for j in range(3):
        np.testing.assert_array_equal(np.sort(np.floor(u[:, j] * n)), np.arange(n))


def test_sobol_blocks_are_consecutive_points_of_one_sequence():
    whole = unit_draws("sobol", ["a", "b"], seed=3, block=0, n=512, block_size=512)
    first = unit_draws("sobol", ["a", "b"], seed=3, block=0, n=256, block_size=256)
    second = unit_draws("sobol", ["a", "b"], seed=3, block=1, n=256, block_size=256)
    np.testing.assert_array_equal(np.vstack([first, second]), whole)


@pytest.mark.parametrize("design", ["mc", "lhs", "sobol"])
def test_designs_run_end_to_end_with_the_right_margins(design):
    factors = {
        "u": {"dist": "uniform", "low": 0, "high": 1},
        "v": {"dist": "normal", "mean": 0, "sd": 1},
    }
    ds = run(gaussian_scenario(FIVE, draws=4096, seed=1, design=design, factors=factors))
    u = ds["factor_value"].sel(factor="u").values
    # Kolmogorov–Smirnov at the 1e-6 level: the design must still give uniform margins.
    assert stats.kstest(u, "uniform").pvalue > 1e-6
    assert ds.attrs["design"] == design


def test_qmc_reduces_error_of_a_smooth_mean():
    """Sobol's error for E[u1 + u2²] is far below plain MC's standard error at the same n."""
    n = 4096
    exact = 0.5 + 1 / 3
    errs = {}
    for design in ("mc", "sobol"):
        u = unit_draws(design, ["a", "b"], seed=11, block=0, n=n, block_size=n)
        errs[design] = abs((u[:, 0] + u[:, 1] ** 2).mean() - exact)
    mc_se = np.sqrt(1 / 12 + 4 / 45) / np.sqrt(n)  # sd of u1 + u2² is sqrt(1/12 + 4/45)
    assert errs["sobol"] < 0.1 * mc_se


@pytest.mark.parametrize("rho_s", [-0.5, 0.3, 0.8])
def test_copula_gives_the_requested_spearman_correlation(rho_s):
    from simulator.scenario import scenario_from_dict
    from tests.helpers.scenarios import gaussian_dict

    d = gaussian_dict(FIVE)
    d["factors"] = {
        "x": {"dist": "lognormal", "p5": 1, "p95": 50},
        "y": {"dist": "beta", "a": 2, "b": 3},
        "z": {"dist": "uniform", "low": 0, "high": 1},
    }
    d["correlation"] = {"factors": ["x", "y"], "matrix": [[1, rho_s], [rho_s, 1]]}
    sc = scenario_from_dict(d)
    n = 40_000
    f = sample_factors(sc.factors, sc.correlation, design="mc", seed=5, block=0, n=n, block_size=n)
    r = stats.spearmanr(f["x"], f["y"]).statistic
    # Fisher-z standard error of Spearman's rho ≈ sqrt(1.06 / (n - 3)).
    assert abs(np.arctanh(r) - np.arctanh(rho_s)) <= 4.5 * np.sqrt(1.06 / (n - 3))
    r_free = stats.spearmanr(f["x"], f["z"]).statistic
    assert abs(np.arctanh(r_free)) <= 4.5 * np.sqrt(1.06 / (n - 3))
    # Margins survive the copula.
    assert stats.kstest(f["y"], stats.beta(2, 3).cdf).pvalue > 1e-6


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "pert", "low": 0.4, "mode": 0.8, "high": 1.0},
        {"dist": "pert", "low": 0, "mode": 0, "high": 3},
        {"dist": "beta", "a": 0.5, "b": 0.5},
        {"dist": "beta", "a": 2, "b": 5, "low": 10, "high": 100},
    ],
)
def test_tabulated_ppf_agrees_with_the_exact_ppf(spec):
    """The fast table is within 1e-8 standard deviations of scipy's exact ppf, tails included."""
    from simulator.sampling import _table_key, ppf

    dist = make_distribution(spec)
    assert _table_key(dist) is not None  # the table is what is tested
    u = np.concatenate(
        [Streams(4, 0)("tab").random(20_000) + 2.0**-54, [2.0**-54, 1e-12, 1e-9, 0.5, 1 - 2.0**-53]]
    )
    np.testing.assert_allclose(ppf(dist, u), dist.ppf(u), rtol=0, atol=1e-8 * dist.std())
