"""The engine against the closed form of the Gaussian race.

Each check compares a simulated probability p̂ from n draws with the exact p and requires
|p̂ - p| ≤ 4.5 · sqrt(p (1 - p) / n), the Monte Carlo standard error (two-sided false-alarm rate
6.8e-6 per comparison; seeds are fixed, so the tests are deterministic anyway).
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator import run
from simulator.models.gaussian_race import exact_rank_distribution, poisson_binomial
from tests.helpers.scenarios import FIVE, gaussian_scenario

SIGMAS = 4.5


def assert_close_to_exact(p_hat, p, n):
    se = np.sqrt(p * (1 - p) / n)
    # Where p is ~0 or ~1, allow one draw's worth so p̂ = 0 or 1 is not a failure.
    tol = SIGMAS * se + 1.0 / n
    bad = np.abs(p_hat - p) > tol
    assert not bad.any(), f"simulated {p_hat[bad]} vs exact {p[bad]} (tol {tol[bad]})"


def _random_race(n_countries, seed):
    rng = np.random.default_rng(seed)
    codes = [f"C{i:02d}" for i in range(n_countries - 1)] + ["KOR"]
    means = rng.uniform(0, 100, n_countries)
    sds = rng.uniform(1, 15, n_countries)
    means[-1] = np.median(means)  # put the focus mid-field so many ranks have mass
    return {c: (float(m), float(s)) for c, m, s in zip(codes, means, sds, strict=True)}


CASES = {
    "five": FIVE,
    "twenty": _random_race(20, 11),
    "forty-five (sort-based ranking)": _random_race(45, 12),
    "identical rivals": {"AAA": (10, 3), "BBB": (10, 3), "CCC": (10, 3), "KOR": (10, 3)},
}


@pytest.mark.parametrize("name", list(CASES))
def test_rank_distribution_matches_closed_form(name):
    countries = CASES[name]
    n = 60_000
    sc = gaussian_scenario(countries, draws=n, seed=2024, years=(2027, 2030))
    ds = run(sc)
    focus = list(countries).index("KOR")
    exact = exact_rank_distribution(
        [m for m, _ in countries.values()], [s for _, s in countries.values()], focus
    )
    assert exact.sum() == pytest.approx(1.0, abs=1e-9)
    for year in (2027, 2030):
        sim = ds["rank_probability"].sel(metric="score", year=year, country="KOR").values
        assert_close_to_exact(sim, exact, n)
        # P(rank ≤ k) for every k, not only the scenario's top_k.
        assert_close_to_exact(np.cumsum(sim), np.clip(np.cumsum(exact), 0, 1), n)


@pytest.mark.parametrize("top_k", [1, 2, 3, 4])
def test_p_top_and_interval_match_closed_form(top_k):
    n = 40_000
    sc = gaussian_scenario(FIVE, draws=n, seed=7, top_k=top_k)
    ds = run(sc)
    exact = exact_rank_distribution([m for m, _ in FIVE.values()], [s for _, s in FIVE.values()], 4)
    p = exact[:top_k].sum()
    cell = ds.sel(metric="score", year=2030, country="KOR")
    assert_close_to_exact(np.array([float(cell["p_top"])]), np.array([p]), n)
    assert float(cell["p_top_lower"]) <= float(cell["p_top"]) <= float(cell["p_top_upper"])


def test_every_country_rank_distribution_sums_to_one_and_ranks_are_a_permutation():
    sc = gaussian_scenario(CASES["twenty"], draws=5_000, seed=3)
    ds = run(sc)
    prob = ds["rank_probability"].sel(metric="score", year=2030)
    # Each country has exactly one rank per draw, and each rank is held by one country.
    np.testing.assert_allclose(prob.sum("rank_position"), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(prob.sum("country"), 1.0, rtol=0, atol=1e-12)


def test_ties_share_the_best_rank():
    # Two countries with identical constant-like scores: sd tiny but both equal means → with
    # mean 50, sd 1e-300 the scores are exactly 50; ranks are 1 + #strictly higher.
    sc = gaussian_scenario(
        {"USA": (100, 1), "KOR": (50, 1e-300), "JPN": (50, 1e-300), "DEU": (0, 1)},
        draws=1_000,
        seed=1,
    )
    ds = run(sc)
    prob = ds["rank_probability"].sel(metric="score", year=2030)
    assert float(prob.sel(country="KOR", rank_position=2)) == 1.0
    assert float(prob.sel(country="JPN", rank_position=2)) == 1.0
    assert float(prob.sel(country="DEU", rank_position=4)) == 1.0


def test_poisson_binomial_against_brute_force():
    p = np.array([0.1, 0.5, 0.9, 0.3])
    brute = np.zeros(5)
    for bits in range(16):
        x = np.array([(bits >> j) & 1 for j in range(4)])
        brute[x.sum()] += np.prod(np.where(x, p, 1 - p))
    np.testing.assert_allclose(poisson_binomial(p), brute, atol=1e-15)


def test_exact_distribution_of_two_countries_is_a_normal_cdf():
    # P(KOR above USA) = Φ((μK - μU) / sqrt(σK² + σU²)).
    from scipy.stats import norm

    exact = exact_rank_distribution([10.0, 12.0], [3.0, 4.0], 1)
    assert exact[0] == pytest.approx(norm.cdf(2 / 5), abs=1e-10)
