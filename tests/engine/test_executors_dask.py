"""Blocks on a real Dask cluster (scheduler and two worker processes on 127.0.0.1).

Nothing is mocked: the cluster is started and torn down by the fixture; results must be
bit-identical to a local run with the same seed.
"""

from __future__ import annotations

import pytest
import xarray as xr
from click.testing import CliRunner

from simulator import run
from simulator.cli import main
from simulator.errors import ConfigError
from simulator.results import open_results
from tests.helpers.scenarios import CONFIGS, FIVE, gaussian_scenario, strip_timing

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow  # a real cluster: seconds per test


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    ) as lc:
        yield lc.scheduler_address


def test_dask_run_is_identical_to_a_local_run(cluster):
    sc = gaussian_scenario(
        FIVE,
        draws=20_000,
        seed=11,
        block_size=2048,
        years=(2026, 2030),
        factors={"a": {"dist": "pert", "low": 0, "mode": 1, "high": 2}},
    )
    local = run(sc)
    remote = run(sc, scheduler=cluster)
    xr.testing.assert_identical(strip_timing(local), strip_timing(remote))


def test_dask_run_of_the_baseline_with_history_is_identical(cluster):
    from simulator.scenario import load_scenario

    sc = load_scenario(CONFIGS / "baseline.toml")
    local = run(sc, draws=3_000, seed=5, keep_draws=False)
    remote = run(sc, draws=3_000, seed=5, keep_draws=False, scheduler=cluster)
    xr.testing.assert_identical(strip_timing(local), strip_timing(remote))


def test_cli_scheduler_option_and_environment_variable(cluster, in_tmp, monkeypatch):
    runner = CliRunner()
    scen = str(CONFIGS / "examples" / "gaussian-race.toml")
    res = runner.invoke(main, ["run", scen, "-n", "5000", "-q", "-o", "a.nc"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        main, ["run", scen, "-n", "5000", "-q", "-o", "b.nc", "--scheduler", cluster]
    )
    assert res.exit_code == 0, res.output
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster)
    res = runner.invoke(main, ["run", scen, "-n", "5000", "-q", "-o", "c.nc"])
    assert res.exit_code == 0, res.output
    a, b, c = (strip_timing(open_results(in_tmp / n)) for n in ("a.nc", "b.nc", "c.nc"))
    xr.testing.assert_identical(a, b)
    xr.testing.assert_identical(a, c)


def test_unreachable_scheduler_is_a_clear_error():
    sc = gaussian_scenario(FIVE, draws=100, seed=1)
    with pytest.raises(ConfigError, match="cannot reach a Dask scheduler"):
        run(sc, scheduler="tcp://127.0.0.1:9")
    from simulator.engine.executors import scheduler_address

    with pytest.raises(ConfigError, match="expected an address"):
        scheduler_address("localhost")
