"""Saving results: atomic save, round trip, no overwrite without --force."""

from __future__ import annotations

import pytest
import xarray as xr

from simulator.errors import ConfigError
from simulator.results import open_results, save


def test_save_open_round_trip_is_identical(ds, tmp_path):
    path = save(ds, tmp_path / "r.nc")
    back = open_results(path)
    xr.testing.assert_identical(ds, back)
    assert not list(tmp_path.glob(".*.tmp"))


def test_save_refuses_to_overwrite_without_force(ds, tmp_path):
    path = save(ds, tmp_path / "r.nc")
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="force=True"):  # the CLI says --force
        save(ds, path)
    assert path.read_bytes() == before
    save(ds, path, force=True)


def test_stale_temporaries_of_another_output_are_left_alone(tmp_path):
    """`.x.nc.*.tmp` also matches `x.nc.old`'s temporaries, which another lock guards."""
    import os
    import tempfile

    from simulator.results.files import _temp_prefix, remove_stale_temps

    made = {}
    for name in ("x.nc", "x.nc.old"):
        fd, made[name] = tempfile.mkstemp(
            prefix=_temp_prefix(tmp_path / name), suffix=".tmp", dir=tmp_path
        )
        os.close(fd)
    remove_stale_temps(tmp_path / "x.nc")
    assert not os.path.exists(made["x.nc"]) and os.path.exists(made["x.nc.old"])
