"""Folding blocks: sequential stopping on the 95% half-width, the convergence trace, and a
fold that does not depend on the order in which blocks complete."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from simulator import run
from simulator.engine import Accumulator, BlockRunner, n_blocks
from simulator.errors import G3simWarning
from simulator.models.gaussian_race import exact_rank_distribution
from simulator.results import build_dataset
from simulator.runs import resolve_scenario
from simulator.stats import draws_for_halfwidth, round_draws
from tests.helpers.scenarios import (
    FIVE,
    five_with_factors,
    gaussian_scenario,
    strip_timing,
)

EXACT = exact_rank_distribution([m for m, _ in FIVE.values()], [s for _, s in FIVE.values()], 4)
P3 = EXACT[:3].sum()


def test_stops_at_the_first_block_meeting_the_target():
    sc = gaussian_scenario(FIVE, seed=4, block_size=2048)
    ds = run(sc, target_halfwidth=0.006, max_draws=10**6)
    half = ds["trace_halfwidth"].sel(metric="score").values
    assert half[-1] <= 0.006 and np.all(half[:-1] > 0.006)
    assert int(ds.attrs["draws"]) == int(ds["trace_draws"][-1]) < 10**6
    assert "reached" in ds.attrs["stop_reason"]
    cell = ds.sel(metric="score", year=2030, country="KOR")
    assert (float(cell["p_top_upper"]) - float(cell["p_top_lower"])) / 2 <= 0.006
    # The stored scenario records the draws that ran, so it re-runs to the same numbers.
    assert f"draws = {int(ds.attrs['draws'])}" in ds.attrs["scenario_toml"]


def test_max_draws_caps_the_run_and_says_so():
    # After 4 of its 5 blocks the run warns that it will stop short (simulator/runs/forecast.py).
    with pytest.warns(G3simWarning, match=r"after 4,096 draws .* needs about [\d,]+ draws"):
        ds = run(
            gaussian_scenario(FIVE, seed=4, block_size=1024), target_halfwidth=1e-4, max_draws=5000
        )
    assert int(ds.attrs["draws"]) == 5000
    reason = ds.attrs["stop_reason"]
    assert reason.startswith("maximum draws reached: 5,000 draws gave a half-width of ")
    # The estimate is draws × (half-width reached / target)², to two significant figures.
    half = float(ds["trace_halfwidth"].isel(trace=-1).max())
    need = round_draws(draws_for_halfwidth(5000, half, 1e-4))
    assert f"about {need:,} draws in all ({round_draws(need - 5000):,} more)" in reason


def test_stopping_point_is_the_same_with_two_workers():
    sc = gaussian_scenario(FIVE, seed=9, block_size=1024)
    one = run(sc, target_halfwidth=0.01, max_draws=200_000, workers=1)
    two = run(sc, target_halfwidth=0.01, max_draws=200_000, workers=2)
    xr.testing.assert_identical(strip_timing(one), strip_timing(two))


def test_intervals_at_the_stopping_point_cover_the_closed_form_at_the_stated_rate():
    """Over 40 seeds, the 95% interval at stopping should miss the truth ~2 times.

    With a true rate of 0.95, P(more than 7 misses in 40) < 1e-3 (binomial), so the test fails
    only if coverage is really off (e.g. optional stopping bias or a wrong interval).
    """
    misses = 0
    for seed in range(40):
        ds = run(gaussian_scenario(FIVE, seed=1000 + seed, block_size=512), target_halfwidth=0.02)
        cell = ds.sel(metric="score", year=2030, country="KOR")
        misses += not float(cell["p_top_lower"]) <= P3 <= float(cell["p_top_upper"])
    assert misses <= 7


def test_every_run_records_a_trace():
    ds = run(gaussian_scenario(FIVE, draws=5000, seed=1, block_size=1024))
    assert ds.sizes["trace"] == 5
    np.testing.assert_array_equal(ds["trace_draws"], [1024, 2048, 3072, 4096, 5000])
    assert ds.attrs["stop_reason"] == "fixed number of draws"
    np.testing.assert_allclose(
        ds["trace_p_top"][-1].values, ds["p_top"].sel(year=2030, country="KOR").values
    )


_scenario = five_with_factors


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_block_completion_order_does_not_change_results(order):
    """Workers finish blocks in any order; the accumulator must not care (bit for bit)."""
    sc = resolve_scenario(_scenario(draws=7_300, seed=9))
    runner = BlockRunner(sc)
    blocks = list(range(n_blocks(sc)))
    ref = Accumulator(runner)
    for b in blocks:
        ref.add(runner(b))
    if order == "reversed":
        blocks = blocks[::-1]
    else:
        np.random.default_rng(0).shuffle(blocks)
    acc = Accumulator(runner)
    for b in blocks:
        acc.add(runner(b))
    assert acc.complete
    a = build_dataset(ref.result(), elapsed_s=0.0)
    b = build_dataset(acc.result(), elapsed_s=0.0)
    xr.testing.assert_identical(strip_timing(a), strip_timing(b))
