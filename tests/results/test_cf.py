"""Every kind of file g3sim writes is CF-1.10 clean and easy to read with plain xarray
(issue 18, item 2): the IOOS compliance-checker finds no high- or medium-priority failure,
every coordinate has a long_name, no _FillValue sits on a coordinate, units are UDUNITS
strings, a history line records the command, and no name shadows a Dataset attribute."""

from __future__ import annotations

import shutil
import sys

import cf_units
import netCDF4
import pytest
import xarray as xr

from simulator import run
from simulator.results import save
from simulator.results.cf import COORDINATES, UNITS_COORDINATE, conform
from tests.helpers.cf_check import cf_messages
from tests.helpers.cli import invoke
from tests.helpers.results_v1 import FIXTURE
from tests.helpers.scenarios import CONFIGS, FIVE, gaussian_scenario

# Files of every kind (tests/helpers/plot_data.py makes them): a gaussian run with kept draws,
# the baseline (ai_race, history matching, "H100e" and "points" units), the analyses.
RUNS = ("gauss_nc", "baseline_nc")
ANALYSES = (
    "gauss_sobol",
    "gauss_rank",
    "gauss_comparison",
    "baseline_sobol",
    "baseline_rank",
    "baseline_comparison",
)


@pytest.fixture(scope="module")
def no_keep_nc(tmp_path_factory):
    """A run without per-draw data (no `draw` dimension)."""
    sc = gaussian_scenario(FIVE, years=(2029, 2030), draws=2000, seed=9)
    return save(run(sc, keep_draws=False), tmp_path_factory.mktemp("nokeep") / "nokeep.nc")


@pytest.fixture
def gauss_file(in_tmp):
    path = in_tmp / "gaussian-race.toml"
    shutil.copy(CONFIGS / "examples" / "gaussian-race.toml", path)
    return path


@pytest.fixture(params=[*RUNS, "no_keep_nc", *ANALYSES])
def any_file(request, files):
    name = request.param
    return files.path(name) if name in ANALYSES else request.getfixturevalue(name)


def test_the_cf_checker_finds_no_high_or_medium_failure(any_file):
    found = cf_messages(any_file)
    assert found["high"] == [] and found["medium"] == [], found
    assert found["low"] == [], found


def test_every_coordinate_has_a_long_name_and_no_fill_value(any_file):
    with netCDF4.Dataset(any_file) as nc:
        dims = set(nc.dimensions)
        coords = {
            name for v in nc.variables.values() for name in getattr(v, "coordinates", "").split()
        } | (dims & set(nc.variables))
        for name in coords:
            var = nc.variables[name]
            assert name in COORDINATES, f"{name}: a new coordinate; add it to results/cf.py"
            assert "long_name" in var.ncattrs(), name
            assert "_FillValue" not in var.ncattrs(), name
            assert var.getncattr("long_name") == COORDINATES[name]["long_name"], name


def test_every_units_attribute_is_udunits(any_file):
    with netCDF4.Dataset(any_file) as nc:
        for name, var in nc.variables.items():
            if "units" in var.ncattrs():
                assert cf_units.Unit(var.getncattr("units")).is_udunits(), name
            if UNITS_COORDINATE in var.ncattrs():  # its entries' own units are in that coordinate
                assert var.getncattr("units") == "1"
                coordinate = var.getncattr(UNITS_COORDINATE)
                assert coordinate in nc.variables, (name, coordinate)
                assert set(nc.variables[coordinate].dimensions) <= set(var.dimensions), name


def test_no_name_shadows_a_dataset_attribute(any_file):
    """`ds.NAME` is the variable for every name: format 1's `rank` and `quantile` were not."""
    with xr.open_dataset(any_file) as ds:
        names = {*ds.dims, *ds.variables}
        assert not [n for n in names if hasattr(xr.Dataset, str(n))]
        for name in names:
            assert isinstance(getattr(ds, str(name)), xr.DataArray), name


def test_a_run_s_mixed_units_point_at_their_coordinate(baseline_nc):
    with xr.open_dataset(baseline_nc) as ds:
        units = dict(zip(ds["metric"].values, ds["metric_units"].values, strict=True))
        assert units == {"ai_index": "1", "gpu_stock": "H100e"}
        for name in ("value_mean", "value_sd", "value_quantile", "focus_value"):
            assert ds[name].attrs[UNITS_COORDINATE] == "metric_units", name
        for name in ("factor_prior_mean", "factor_posterior_mean", "factor_value"):
            assert ds[name].attrs[UNITS_COORDINATE] == "factor_units", name
        assert {"1", "1/year", "year", "points"} <= set(ds["factor_units"].values.tolist())
        assert ds["quantile_level"].attrs["units"] == "1"
        assert ds["rank_position"].values[0] == 1


def g3sim(monkeypatch, *args):
    """``g3sim ARGS`` in-process, with ``sys.argv`` as the command line would set it."""
    monkeypatch.setattr(sys, "argv", ["g3sim", *map(str, args)])
    return invoke(*args)


def test_history_records_the_time_and_the_command_line(monkeypatch, gauss_file, in_tmp):
    res = g3sim(
        monkeypatch, "run", gauss_file, "-n", "2000", "--seed", "1", "-q", "-o", "results/h.nc"
    )
    assert res.exit_code == 0, res.stderr
    with xr.open_dataset("results/h.nc") as ds:
        created = ds.attrs["created_utc"]
        assert ds.attrs["history"] == f"{created}: {ds.attrs['command']}"
        assert ds.attrs["command"].startswith("g3sim run ") and "-n 2000" in ds.attrs["command"]
        assert ds.attrs["Conventions"] == "CF-1.10"


def test_a_compared_file_records_its_command(monkeypatch, in_tmp, gauss_file):
    for name in ("a", "b"):
        res = invoke("run", gauss_file, "-n", "1000", "--seed", "1", "-q", "-o", f"{name}.nc")
        assert res.exit_code == 0, res.stderr
    res = g3sim(monkeypatch, "compare", "a.nc", "b.nc", "-o", "cmp.nc")
    assert res.exit_code == 0, res.stderr
    with xr.open_dataset("cmp.nc") as ds:
        assert ds.attrs["history"].endswith(": g3sim compare a.nc b.nc -o cmp.nc")
        assert ds.attrs["Conventions"] == "CF-1.10"


def test_conform_keeps_what_is_there_and_is_idempotent():
    ds = xr.Dataset(
        {"x": ("year", [1.0, 2.0])},
        coords={"year": ("year", [2029, 2030], {"long_name": "mine"})},
        attrs={"created_utc": "2026-01-01T00:00:00Z", "command": "g3sim x"},
    )
    once = conform(ds)
    assert once["year"].attrs == {"long_name": "mine"}
    assert once.attrs["history"] == "2026-01-01T00:00:00Z: g3sim x"
    assert ds.attrs.keys() == {"created_utc", "command"}  # the input is left alone
    xr.testing.assert_identical(conform(once), once)


def test_the_checker_did_flag_format_1():
    """The check can fail: the format-1 fixture has the findings issue 18 reported."""
    found = cf_messages(FIXTURE)
    text = "\n".join(found["high"] + found["medium"])
    assert "'quantile' must not have the _FillValue attribute" in text
    assert '"see metric_units" are not recognized by UDUNITS' in text
    assert "highly recommended for variable rank" in text
    assert "global attribute history should exist" in text
