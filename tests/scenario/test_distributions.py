"""Distribution families: sampled moments, the p5/p95 shorthand, discrete frequencies."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.sampling import Streams
from simulator.scenario.distributions import DISTRIBUTIONS, make_distribution

SPECS = {
    "normal": {"dist": "normal", "mean": 2, "sd": 3},
    "lognormal": {"dist": "lognormal", "mu": 0.5, "sigma": 0.4},
    "uniform": {"dist": "uniform", "low": -1, "high": 3},
    "triangular": {"dist": "triangular", "low": 0, "mode": 1, "high": 4},
    "pert": {"dist": "pert", "low": 0, "mode": 1, "high": 4},
    "beta": {"dist": "beta", "a": 2, "b": 5},
    "truncnormal": {"dist": "truncnormal", "mean": 0, "sd": 1, "low": -0.5, "high": 2},
    "bernoulli": {"dist": "bernoulli", "p": 0.3},
    "discrete": {"dist": "discrete", "values": [10, -2, 7.5], "probabilities": [0.2, 0.5, 0.3]},
    "constant": {"dist": "constant", "value": 4.25},
}


def test_every_distribution_has_a_spec_here():
    assert set(SPECS) == set(DISTRIBUTIONS)


@pytest.mark.parametrize("name", list(SPECS))
def test_sampled_mean_matches_distribution_mean(name):
    """Inverse-CDF draws have the distribution's mean within 4.5 standard errors."""
    dist = make_distribution(SPECS[name])
    n = 50_000
    u = Streams(1, 0)(f"test:{name}").random(n) + 2.0**-54
    x = dist.ppf(u)
    assert np.isfinite(x).all()
    se = dist.std() / np.sqrt(n)
    assert abs(x.mean() - dist.mean()) <= 4.5 * se + 1e-12


def test_pert_has_the_textbook_mean():
    dist = make_distribution({"dist": "pert", "low": 1, "mode": 2, "high": 9})
    assert dist.mean() == pytest.approx((1 + 4 * 2 + 9) / 6)


@pytest.mark.parametrize("family", ["normal", "lognormal"])
def test_p5_p95_shorthand_hits_its_percentiles(family):
    dist = make_distribution({"dist": family, "p5": 40_000, "p95": 260_000})
    assert dist.ppf(0.05) == pytest.approx(40_000, rel=1e-12)
    assert dist.ppf(0.95) == pytest.approx(260_000, rel=1e-12)


def test_discrete_frequencies_match_probabilities():
    dist = make_distribution(SPECS["discrete"])
    n = 40_000
    x = dist.ppf(Streams(2, 0)("d").random(n) + 2.0**-54)
    for v, p in [(10, 0.2), (-2, 0.5), (7.5, 0.3)]:
        assert abs((x == v).mean() - p) <= 4.5 * np.sqrt(p * (1 - p) / n)
