"""Opening results files: foreign and newer files are refused; earlier format versions stay
readable (issue 8, item 3).

tests/data/results_v1.nc is a results file of format version 1 — a gaussian race, 500 kept
draws, written by tests/data/make_fixtures.py — committed once and never regenerated when the
format changes. Its numbers (tests/helpers/results_v1.py) are golden values: exact draw counts, and
the interval and quantile values stored in the file (read back, not recomputed). When
FORMAT_VERSION moves on, these tests keep checking that the new reader gives the same answers for
the old file."""

from __future__ import annotations

import shutil

import netCDF4
import numpy as np
import pytest
import xarray as xr

from simulator.errors import ResultsError
from simulator.results import FORMAT_VERSION, open_results, save
from tests.helpers.cli import invoke
from tests.helpers.results_v1 import FIXTURE, KOR_QUANTILES, RANK_COUNTS, SHA256


def one_error_line(res) -> str:
    assert res.exit_code == 2, (res.exit_code, res.stderr)
    assert "Traceback" not in res.output and "internal error" not in res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and res.stdout == "", res.stderr
    return lines[0]


def test_the_fixture_is_small_and_of_version_1():
    assert FIXTURE.stat().st_size < 100_000
    with netCDF4.Dataset(FIXTURE) as nc:
        assert nc.getncattr("g3sim_format_version") == 1
        assert nc.getncattr("g3sim_format") == "g3sim-results"


def test_open_results_reads_every_variable_of_the_v1_fixture():
    ds = open_results(FIXTURE)
    assert ds.attrs["scenario_sha256"] == SHA256
    assert (int(ds.attrs["draws"]), int(ds.attrs["seed"]), int(ds.attrs["top_k"])) == (
        500,
        20240801,
        3,
    )
    counts = ds["rank_count"].sel(metric="score", year=2030)
    for country, want in RANK_COUNTS.items():
        assert counts.sel(country=country).values.tolist() == want, country
    np.testing.assert_array_equal(
        ds["rank_probability"].sel(metric="score", year=2030).values * 500, counts.values
    )
    assert ds["focus_rank"].shape == (500, 1, 1)
    assert (
        np.bincount(ds["focus_rank"].values.ravel(), minlength=6)[1:].tolist()
        == (RANK_COUNTS["KOR"])
    )
    assert np.isfinite(ds["focus_value"].values).all()


def test_a_v1_file_opens_with_today_s_dimension_names():
    """Format 1 named the rank and quantile dimensions `rank` and `quantile` (they shadow
    Dataset methods); open_results renames them, and `ds.quantile_level.attrs` works."""
    with netCDF4.Dataset(FIXTURE) as nc:
        assert {"rank", "quantile"} <= set(nc.dimensions)
    ds = open_results(FIXTURE)
    assert {"rank_position", "quantile_level"} <= set(ds.dims)
    assert not {"rank", "quantile"} & set(ds.dims)
    assert ds["rank_probability"].dims[-1] == "rank_position"
    assert ds.rank_position.values.tolist() == [1, 2, 3, 4, 5]
    kor = ds["value_quantile"].sel(metric="score", year=2030, country="KOR")
    np.testing.assert_array_equal(kor.sel(quantile_level=0.5), KOR_QUANTILES[2])
    assert ds.quantile_level.attrs == {}  # format 1 had none; nothing is made up
    assert int(ds.attrs["g3sim_format_version"]) == 1


def test_a_file_of_a_newer_format_is_refused(tmp_path):
    newer = tmp_path / "newer.nc"
    shutil.copyfile(FIXTURE, newer)
    with netCDF4.Dataset(newer, "a") as nc:
        nc.setncattr("g3sim_format_version", FORMAT_VERSION + 1)
    for fmt in ("table", "json", "csv"):
        line = one_error_line(invoke("inspect", newer, "--format", fmt))
        assert line == (
            f"g3sim: error: {newer}: written in results format {FORMAT_VERSION + 1} by a newer "
            f"g3sim; this g3sim reads up to {FORMAT_VERSION}: upgrade g3sim"
        )


@pytest.mark.parametrize("keep", [0.0, 0.01, 0.5, 0.99, -1])
def test_a_truncated_copy_of_the_fixture_is_one_line_error(tmp_path, keep):
    data = FIXTURE.read_bytes()
    cut = tmp_path / "cut.nc"
    cut.write_bytes(data[:keep] if keep == -1 else data[: int(len(data) * keep)])
    line = one_error_line(invoke("inspect", cut))
    assert line.startswith(f"g3sim: error: {cut}: not a readable NetCDF file (")
    assert line.endswith("; re-run the scenario to recreate it")


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
