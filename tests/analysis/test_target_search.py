"""Target search: the closed-form answer of a gaussian race, agreement with a dense sweep on the
same draws, a falling lever, and "not reachable"."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from simulator.analysis.sweep import sweep
from simulator.analysis.target_search import target
from simulator.errors import AnalysisError
from tests.helpers.scenarios import exact_p_top, gaussian_lever_scenario

N = 20_000


def test_a_gaussian_race_gives_the_closed_form_lever_value():
    sc = gaussian_lever_scenario(low=20.0, high=50.0, step=5.0, draws=N, seed=11)
    t = target(sc, "kor_mean", 0.5, resolution=0.25)
    exact = brentq(lambda m: exact_p_top(m) - 0.5, 20, 50)  # 36.63
    assert t.reachable and t.direction == 1
    assert t.lower <= exact <= t.upper
    # The interval is a few resolutions wide: P moves ~5.5 points per unit of mean here, its
    # 95% half-width at N draws is 0.7 points.
    assert t.upper - t.lower <= 1.0
    assert abs(t.value - exact) <= 0.5
    assert t.p_at_value >= 0.5
    assert t.evaluations <= 12


def test_the_interval_contains_what_a_dense_sweep_finds():
    sc = gaussian_lever_scenario(low=20.0, high=50.0, step=5.0, draws=N, seed=12)
    t = target(sc, "kor_mean", 0.2, resolution=0.5)
    dense = np.arange(20.0, 50.01, 0.5)
    ds = sweep(sc, {"kor_mean": list(dense)})
    p = ds["p_top"].sel(metric="score", year=2030).values
    first = dense[np.argmax(p >= 0.2)]  # the smallest swept value reaching 20%
    assert t.lower <= first <= t.upper
    assert t.value == first  # the same draws: the same P at the same values


def test_a_lever_that_hurts_gives_the_largest_value():
    sc = gaussian_lever_scenario(draws=N, seed=13, rival=(20.0, 50.0, 1.0, 35.0))
    t = target(sc, "sgp_mean", 0.3)
    assert t.direction == -1 and t.reachable
    exact = brentq(lambda m: exact_p_top(30.0, sgp_mean=m) - 0.3, 20, 50)
    assert t.lower <= exact <= t.upper
    assert t.value <= exact + 1


def test_an_unreachable_target_says_so_with_the_best_p():
    sc = gaussian_lever_scenario(low=20.0, high=30.0, step=5.0, draws=N, seed=14)
    t = target(sc, "kor_mean", 0.6)
    assert not t.reachable and math.isnan(t.value)
    assert t.best_value == 30.0
    exact = exact_p_top(30.0)
    assert abs(t.best_p - exact) < 4.5 * math.sqrt(exact * (1 - exact) / N)
    assert t.evaluations == 2  # both ends, nothing to bisect


def test_bad_requests_are_one_line():
    sc = gaussian_lever_scenario(draws=1000, seed=1)
    with pytest.raises(AnalysisError, match=r"p 1.5: a target probability lies in \(0, 1\)"):
        target(sc, "kor_mean", 1.5)
    with pytest.raises(Exception, match=r"'kor_men' is not a lever .*did you mean 'kor_mean'"):
        target(sc, "kor_men", 0.5)
