"""The results dataset: its contract variables and what they agree with."""

from __future__ import annotations

import numpy as np

from simulator import run
from simulator.results import FORMAT_VERSION
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
    "history",
    "Conventions",
]


def test_dataset_has_the_contract_variables(ds):
    assert ds["rank_probability"].dims == ("metric", "year", "country", "rank_position")
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
        ds["p_top"],
        ds["rank_probability"].sel(rank_position=slice(1, k)).sum("rank_position"),
        atol=1e-15,
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
    expected = np.quantile(x, ds["quantile_level"].values)
    lo = min(m - 8 * s for m, s in FIVE.values())
    hi = max(m + 8 * s for m, s in FIVE.values())
    bin_width = (hi - lo) / 2000
    # Histogram quantiles are exact to one bin; np.quantile interpolates between order
    # statistics, whose gap at the 5% quantile is ~1 / (n f(q)) ≈ 0.02 here: allow 0.05.
    np.testing.assert_allclose(q, expected, atol=bin_width + 0.05)


def test_without_kept_draws_there_is_no_draw_dimension():
    ds = run(gaussian_scenario(FIVE, draws=2_000, seed=2, keep_draws=False))
    assert "draw" not in ds.dims and "focus_rank" not in ds
    assert ds.attrs["keep_draws"] == 0
