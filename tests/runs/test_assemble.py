"""run() and run_to_file(): the randomness contract (seeds, block layouts, growing draws, adding
factors), and a run to a file equal to the same run in memory."""

from __future__ import annotations

import numpy as np
import xarray as xr

from simulator import run, run_to_file
from simulator.results import open_results
from simulator.runs import checkpoint_dir, resolve_scenario
from simulator.scenario import load_scenario, scenario_from_dict
from tests.helpers.scenarios import (
    FACTORS,
    FIVE,
    five_with_factors,
    gaussian_dict,
    gaussian_scenario,
    strip_timing,
)

_scenario = five_with_factors


def test_same_seed_gives_identical_dataset():
    a = run(_scenario(draws=3_500, seed=5))
    b = run(_scenario(draws=3_500, seed=5))
    xr.testing.assert_identical(strip_timing(a), strip_timing(b))


def test_different_seed_gives_different_draws():
    a = run(_scenario(draws=2_000, seed=5))
    b = run(_scenario(draws=2_000, seed=6))
    assert not np.array_equal(a["factor_value"].values, b["factor_value"].values)


def test_growing_draws_keeps_earlier_draws():
    small = run(_scenario(draws=2_500, seed=3))  # ends in a partial block
    large = run(_scenario(draws=6_000, seed=3))
    n = small.sizes["draw"]
    np.testing.assert_array_equal(small["factor_value"].values, large["factor_value"].values[:n])
    np.testing.assert_array_equal(small["focus_value"].values, large["focus_value"].values[:n])


def test_adding_a_factor_leaves_other_factors_unchanged():
    base = run(_scenario(draws=2_000, seed=4))
    more = dict(FACTORS, delta={"dist": "uniform", "low": 0, "high": 1})
    extended = run(_scenario(draws=2_000, seed=4, factors=more))
    for name in FACTORS:
        np.testing.assert_array_equal(
            base["factor_value"].sel(factor=name).values,
            extended["factor_value"].sel(factor=name).values,
        )
    # The model's own streams are untouched by factors too.
    np.testing.assert_array_equal(base["focus_value"].values, extended["focus_value"].values)


def test_block_size_is_part_of_the_contract_and_recorded():
    ds = run(_scenario(draws=1_500, seed=4, block_size=512))
    assert int(ds.attrs["block_size"]) == 512
    assert ds.attrs["seed"] == 4


def test_no_seed_draws_fresh_entropy_and_records_it():
    raw = gaussian_dict(FIVE, draws=100)
    del raw["scenario"]["seed"]
    unseeded = scenario_from_dict(raw)
    assert unseeded.seed is None
    r1, r2 = resolve_scenario(unseeded), resolve_scenario(unseeded)
    assert r1.seed is not None and r2.seed is not None and r1.seed != r2.seed
    ds = run(r1)
    assert int(ds.attrs["seed"]) == r1.seed
    assert f"seed = {r1.seed}" in ds.attrs["scenario_toml"]


def test_scenario_toml_in_results_reruns_identically(tmp_path):
    first = run(_scenario(draws=1_200, seed=8))
    path = tmp_path / "again.toml"
    path.write_text(first.attrs["scenario_toml"])
    second = run(load_scenario(path))
    a, b = strip_timing(first), strip_timing(second)
    for ds in (a, b):
        ds.attrs.pop("scenario_source")
    xr.testing.assert_identical(a, b)


def test_file_run_equals_in_memory_run(tmp_path):
    sc = gaussian_scenario(
        FIVE,
        draws=5_000,
        seed=3,
        block_size=1024,
        factors={"a": {"dist": "normal", "mean": 0, "sd": 1}},
    )
    out = tmp_path / "r.nc"
    run_to_file(sc, out)
    assert not checkpoint_dir(out).exists()
    xr.testing.assert_identical(strip_timing(open_results(out)), strip_timing(run(sc)))


def test_per_draw_rows_are_kept_bit_rounded_and_say_so(tmp_path):
    """Per-draw floats are stored to 24 mantissa bits (engine/state.py), in memory and on file;
    the summaries are reduced from the unrounded values."""
    from simulator.engine import PER_DRAW_MANTISSA_BITS, bit_round

    sc = gaussian_scenario(
        FIVE, draws=2_000, seed=4, factors={"a": {"dist": "normal", "mean": 0, "sd": 1}}
    )
    out = tmp_path / "r.nc"
    run_to_file(sc, out)
    ds = open_results(out)
    for name in ("focus_value", "factor_value"):
        x = ds[name].values
        assert ds[name].attrs["g3sim_mantissa_bits"] == PER_DRAW_MANTISSA_BITS
        assert np.array_equal(bit_round(x), x)
        assert not np.array_equal(x, x.astype(np.float32).astype(np.float64))  # > float32
