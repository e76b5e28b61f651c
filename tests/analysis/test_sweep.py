"""Lever sweeps on common random numbers: closed-form P, monotone levers, paired differences,
same seed ⇒ same Dataset, and a resumed sweep equal to an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from simulator.analysis.sweep import parts_dir, plan_sweep, sweep, sweep_to_file
from simulator.errors import AnalysisError, ConfigError
from simulator.results import open_result
from tests.helpers.scenarios import exact_p_top, gaussian_lever_scenario, strip_timing

N = 20_000


@pytest.fixture(scope="module")
def kor_sweep():
    sc = gaussian_lever_scenario(draws=N, seed=5, block_size=5000)
    return sweep(sc, {"kor_mean": [20, 25, 30, 35, 40]})


def test_every_combination_matches_the_closed_form(kor_sweep):
    p = kor_sweep["p_top"].sel(metric="score", year=2030)
    for m in kor_sweep["kor_mean"].values:
        exact = exact_p_top(float(m))
        se = np.sqrt(exact * (1 - exact) / N)
        # 4.5 standard errors of a binomial proportion of N draws: never flakes at a fixed seed.
        assert abs(float(p.sel(kor_mean=m)) - exact) < 4.5 * se, (m, float(p.sel(kor_mean=m)))


def test_a_monotone_lever_gives_a_monotone_p_and_paired_intervals_narrower(kor_sweep):
    p = kor_sweep["p_top"].sel(metric="score", year=2030).values
    assert np.all(np.diff(p) > 0)
    d = kor_sweep["difference"].sel(metric="score", year=2030)
    assert float(d.sel(kor_mean=30)) == 0.0  # the default policy against itself
    p0 = p[2]
    assert np.allclose(d.values, p - p0)
    # Common random numbers: every paired SE is below the independent runs' SE.
    indep = np.sqrt((p * (1 - p) + p0 * (1 - p0)) / N)
    se = kor_sweep["se_paired"].sel(metric="score", year=2030).values
    assert np.all(se[[0, 1, 3, 4]] < indep[[0, 1, 3, 4]])


def test_the_dataset_has_a_dimension_per_lever_with_its_description():
    sc = gaussian_lever_scenario(draws=2000, seed=1, rival=(30.0, 40.0, 5.0, 35.0))
    ds = sweep(sc, {"kor_mean": [25, 35], "sgp_mean": []})
    assert ds["p_top"].dims == ("kor_mean", "sgp_mean", "metric", "year")
    assert list(ds["sgp_mean"].values) == [30.0, 35.0, 40.0]
    assert ds["kor_mean"].attrs["long_name"] == "Korea's mean score"
    assert ds.attrs["default_policy"] == "kor_mean = 30, sgp_mean = 35"
    # P falls as the rival's mean rises, at every KOR mean.
    assert np.all(np.diff(ds["p_top"].sel(metric="score", year=2030).values, axis=1) < 0)


def test_same_seed_gives_the_same_sweep():
    sc = gaussian_lever_scenario(draws=3000, seed=9)
    a, b = (strip_timing(sweep(sc, {"kor_mean": [25, 30]})) for _ in range(2))
    xr.testing.assert_identical(a, b)


def test_bad_sweep_requests_are_one_line():
    sc = gaussian_lever_scenario(draws=1000, seed=1)
    with pytest.raises(
        AnalysisError, match=r"lever 'kor_men' is not a lever of <test> \(did you mean 'kor_mean'"
    ):
        plan_sweep(sc, {"kor_men": [30]})
    with pytest.raises(AnalysisError, match=r"kor_mean=55: not an allowed value; use a number"):
        plan_sweep(sc, {"kor_mean": [30, 55]})
    no_levers = sc.with_updates()
    object.__setattr__(no_levers, "levers", ())
    with pytest.raises(AnalysisError, match=r"declares no \[levers\]"):
        plan_sweep(no_levers)


class Stop(Exception):
    pass


def test_an_interrupted_sweep_resumes_to_the_same_file(tmp_path):
    sc = gaussian_lever_scenario(draws=4000, seed=2, block_size=1000)
    levers = {"kor_mean": [25, 30, 35, 40]}
    whole = sweep_to_file(sc, tmp_path / "whole.nc", levers)

    def stop_at_third(index, count, values):
        if index == 2:
            raise Stop

    out = tmp_path / "cut.nc"
    with pytest.raises(Stop):
        sweep_to_file(sc, out, levers, on_combination=stop_at_third)
    assert (parts_dir(out) / "sweep.json").exists() and not out.exists()
    with pytest.raises(ConfigError, match=r"holds an interrupted sweep; continue it with resume"):
        sweep_to_file(sc, out, levers)
    with pytest.raises(ConfigError, match=r"was written by a different sweep"):
        sweep_to_file(sc, out, {"kor_mean": [25, 30]}, resume=True)
    resumed = sweep_to_file(sc, out, levers, resume=True)
    assert not parts_dir(out).exists()
    keep = ["p_top", "p_top_lower", "p_top_upper", "difference", "se_paired"]
    xr.testing.assert_identical(strip_timing(whole), strip_timing(resumed))
    xr.testing.assert_equal(open_result(out)[keep], whole[keep])
