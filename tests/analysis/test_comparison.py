"""Paired comparison against the closed-form difference of two Gaussian races."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import run
from simulator.analysis.comparison import compare_results
from simulator.results import save
from tests.helpers.comparison import B_RACE, TRUE_DIFF
from tests.helpers.scenarios import FIVE, gaussian_scenario


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_paired_interval_covers_the_exact_difference_and_is_narrower(seed):
    a = run(gaussian_scenario(FIVE, draws=30_000, seed=seed))
    b = run(gaussian_scenario(B_RACE, draws=30_000, seed=seed))
    c = compare_results(a, b).sel(metric="score", year=2030)
    assert c.attrs["paired"] == 1
    # Δ̂ is within 4.5 paired standard errors of the truth (fixed seeds; the 95% interval is
    # checked for coverage below across seeds).
    assert abs(float(c["difference"]) - TRUE_DIFF) <= 4.5 * float(c["se_paired"])
    assert float(c["se_paired"]) < float(c["se_independent"])
    assert float(c["variance_reduction"]) > 2


def test_paired_interval_coverage_across_seeds():
    """40 seeds: the 95% interval should miss ~2 times; > 7 misses has probability < 1e-3."""
    misses = 0
    for seed in range(40):
        a = run(gaussian_scenario(FIVE, draws=4_000, seed=500 + seed, keep_draws=True))
        b = run(gaussian_scenario(B_RACE, draws=4_000, seed=500 + seed, keep_draws=True))
        c = compare_results(a, b).sel(metric="score", year=2030)
        misses += not float(c["difference_lower"]) <= TRUE_DIFF <= float(c["difference_upper"])
    assert misses <= 7


def test_different_seeds_fall_back_to_unpaired_and_say_so():
    a = run(gaussian_scenario(FIVE, draws=5_000, seed=1))
    b = run(gaussian_scenario(B_RACE, draws=5_000, seed=2))
    c = compare_results(a, b)
    assert c.attrs["paired"] == 0 and "differ in seed" in c.attrs["pairing"]
    cell = c.sel(metric="score", year=2030)
    half = (float(cell["difference_upper"]) - float(cell["difference_lower"])) / 2
    assert half == pytest.approx(1.959964 * float(cell["se_independent"]), rel=1e-6)
    assert np.isnan(float(cell["variance_reduction"]))


def test_comparison_dataset_round_trips(tmp_path):
    a = run(gaussian_scenario(FIVE, draws=2_000, seed=1))
    b = run(gaussian_scenario(B_RACE, draws=2_000, seed=1))
    c = compare_results(a, b)
    path = save(c, tmp_path / "c.nc")
    import xarray as xr

    with xr.open_dataset(path) as back:
        xr.testing.assert_allclose(back.load(), c)
