"""The results dataset: contents, attributes, atomic save, round trip."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from simulator import run
from simulator.errors import ConfigError, ResultsError
from simulator.results import FORMAT_VERSION, open_results, save
from simulator.stats import clopper_pearson_interval, histogram_quantiles, wilson_interval
from tests.helpers.scenarios import FIVE, gaussian_scenario

REQUIRED_ATTRS = [
    "scenario_name",
    "scenario_toml",
    "scenario_sha256",
    "seed",
    "design",
    "draws",
    "focus",
    "top_k",
    "simulator_version",
    "numpy_version",
    "scipy_version",
    "xarray_version",
    "created_utc",
    "elapsed_s",
    "command",
]


@pytest.fixture(scope="module")
def ds():
    factors = {"a": {"dist": "normal", "mean": 0, "sd": 1, "units": "1", "description": "test"}}
    return run(gaussian_scenario(FIVE, draws=3_000, seed=2, years=(2026, 2030), factors=factors))


def test_dataset_has_the_contract_variables(ds):
    assert ds["rank_probability"].dims == ("metric", "year", "country", "rank")
    assert ds["p_top"].dims == ("metric", "year", "country")
    for v in ("p_top_lower", "p_top_upper", "value_quantile", "focus_rank", "factor_value"):
        assert v in ds
    for name, var in ds.data_vars.items():
        assert "long_name" in var.attrs and "units" in var.attrs, name
    for a in REQUIRED_ATTRS:
        assert a in ds.attrs, a
    assert ds.attrs["g3sim_format_version"] == FORMAT_VERSION


def test_p_top_is_the_sum_of_the_first_k_rank_probabilities(ds):
    k = int(ds.attrs["top_k"])
    np.testing.assert_allclose(
        ds["p_top"], ds["rank_probability"].sel(rank=slice(1, k)).sum("rank"), atol=1e-15
    )
    assert (ds["p_top_lower"] <= ds["p_top"]).all() and (ds["p_top"] <= ds["p_top_upper"]).all()


def test_per_draw_focus_rank_agrees_with_the_counts(ds):
    r = ds["focus_rank"].sel(metric="score", year=2030).values
    counts = np.bincount(r, minlength=6)[1:]
    np.testing.assert_array_equal(
        counts, ds["rank_count"].sel(metric="score", year=2030, country="KOR").values
    )


def test_quantiles_match_per_draw_quantiles_within_a_bin(ds):
    x = ds["focus_value"].sel(metric="score", year=2030).values
    q = ds["value_quantile"].sel(metric="score", year=2030, country="KOR").values
    expected = np.quantile(x, ds["quantile"].values)
    lo = min(m - 8 * s for m, s in FIVE.values())
    hi = max(m + 8 * s for m, s in FIVE.values())
    bin_width = (hi - lo) / 2000
    # Histogram quantiles are exact to one bin; np.quantile interpolates between order
    # statistics, whose gap at the 5% quantile is ~1 / (n f(q)) ≈ 0.02 here: allow 0.05.
    np.testing.assert_allclose(q, expected, atol=bin_width + 0.05)


def test_save_open_round_trip_is_identical(ds, tmp_path):
    path = save(ds, tmp_path / "r.nc")
    back = open_results(path)
    xr.testing.assert_identical(ds, back)
    assert not list(tmp_path.glob(".*.tmp"))


def test_save_refuses_to_overwrite_without_force(ds, tmp_path):
    path = save(ds, tmp_path / "r.nc")
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="--force"):
        save(ds, path)
    assert path.read_bytes() == before
    save(ds, path, force=True)


def test_without_kept_draws_there_is_no_draw_dimension():
    ds = run(gaussian_scenario(FIVE, draws=2_000, seed=2, keep_draws=False))
    assert "draw" not in ds.dims and "focus_rank" not in ds
    assert ds.attrs["keep_draws"] == 0


def test_open_results_rejects_a_foreign_netcdf(tmp_path):
    path = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("t", np.arange(3))}).to_netcdf(path)
    with pytest.raises(ResultsError, match="not written by g3sim"):
        open_results(path)


def test_open_results_rejects_a_newer_format(ds, tmp_path):
    newer = ds.copy()
    newer.attrs["g3sim_format_version"] = FORMAT_VERSION + 1
    path = save(newer, tmp_path / "new.nc")
    with pytest.raises(ResultsError, match="newer g3sim"):
        open_results(path)


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(0.0, 10)
    assert lo == 0.0
    assert hi == pytest.approx(1.959964**2 / (10 + 1.959964**2), rel=1e-6)
    lo, hi = wilson_interval(0.5, 100)
    assert (lo, hi) == pytest.approx((0.4038, 0.5962), abs=1e-4)


def test_wilson_is_close_to_clopper_pearson_for_large_n():
    lo_w, hi_w = wilson_interval(0.2, 10_000)
    lo_c, hi_c = clopper_pearson_interval(2_000, 10_000)
    assert lo_w == pytest.approx(float(lo_c), abs=5e-4)
    assert hi_w == pytest.approx(float(hi_c), abs=5e-4)


def test_histogram_quantiles_of_a_uniform_histogram():
    edges = np.linspace(0, 10, 11)
    counts = np.ones(10)
    q = histogram_quantiles(counts, edges, [0.05, 0.5, 0.95])
    np.testing.assert_allclose(q, [0.5, 5.0, 9.5])
