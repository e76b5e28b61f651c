"""Executors: results are bit-identical for any number of local workers."""

from __future__ import annotations

import pytest
import xarray as xr

from simulator.engine import run
from simulator.errors import ConfigError
from simulator.executors import parse_workers

from .conftest import FIVE, gaussian_scenario, strip_timing


@pytest.mark.parametrize("keep", [True, False])
def test_two_workers_give_the_identical_dataset(keep):
    factors = {"a": {"dist": "lognormal", "median": 2, "sigma": 0.5}}
    sc = gaussian_scenario(
        FIVE,
        draws=9_000,
        seed=13,
        block_size=1024,
        keep_draws=keep,
        factors=factors,
        years=(2026, 2030),
    )
    one = run(sc, workers=1)
    two = run(sc, workers=2)
    xr.testing.assert_identical(strip_timing(one), strip_timing(two))


def test_parse_workers():
    assert parse_workers("3") == 3
    assert parse_workers("auto") >= 1
    for bad in ("0", "-1", "many"):
        with pytest.raises(ConfigError, match="--workers"):
            parse_workers(bad)
