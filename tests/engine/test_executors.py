"""Executors: results are bit-identical for any number of local workers."""

from __future__ import annotations

import pytest
import xarray as xr

from simulator import run
from simulator.engine.executors import parse_workers
from simulator.errors import ConfigError
from simulator.models.base import Bins
from simulator.scenario import scenario_from_dict
from tests.helpers.scenarios import FIVE, gaussian_scenario, strip_timing
from tests.helpers.toy_models import LinearRace, linear_dict, register_model


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
        with pytest.raises(ConfigError, match=r"^workers "):  # the CLI says --workers
            parse_workers(bad)


class _BlasProbe(LinearRace):
    """linear_race that records, in its scores, how many threads BLAS may use in the block."""

    def simulate(self, factors, rngs, n):
        from threadpoolctl import threadpool_info

        out = super().simulate(factors, rngs, n)
        blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
        out["score"][:, :, 0] = max(blas, default=1)  # country USA's score: the thread count
        return out

    def bins(self, metric):
        return Bins(0.0, 1000.0, 1000)


@pytest.mark.parametrize("workers", [1, 2])
def test_blocks_run_with_one_blas_thread_and_the_setting_is_restored(monkeypatch, workers):
    """Blocks are the unit of parallelism: BLAS threads inside them would oversubscribe the
    cores, and threaded BLAS sums may depend on the thread count."""
    from threadpoolctl import threadpool_info, threadpool_limits

    register_model(monkeypatch, "linear_race", _BlasProbe)
    sc = scenario_from_dict(linear_dict(draws=3000, block_size=1000))
    with threadpool_limits(limits=2, user_api="blas"):  # as on a machine with 2+ cores
        ds = run(sc, workers=workers)
        after = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    assert float(ds["value_mean"].sel(country="USA").max()) == 1.0
    assert after and set(after) == {2}
