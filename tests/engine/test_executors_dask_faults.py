"""A Dask cluster that fails mid-run: the run ends in bounded time with one line, no traceback.

Everything is real: the scheduler and the workers are separate processes on 127.0.0.1 that the
tests kill with SIGKILL, and the run is the ``g3sim`` command in a subprocess, waited for with a
timeout (so a run that hangs fails the test instead of hanging it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from simulator import run
from simulator.engine.executors import DEFAULT_CLUSTER_TIMEOUT, cluster_timeout
from simulator.errors import ClusterError, ConfigError, ModelError
from simulator.runs.checkpoint import checkpoint_dir, load_checkpoint
from tests.helpers.scenarios import CONFIGS, FIVE, ROOT, gaussian_scenario

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow  # real clusters that fail on purpose: seconds per test

TIMEOUT = 3.0  # G3SIM_CLUSTER_TIMEOUT in these tests
MARGIN = 15.0  # slack for a loaded machine: start-up, the last block, closing the client
RACE = str(CONFIGS / "examples" / "gaussian-race.toml")
SCHEDULER = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1"]
WORKER = [sys.executable, "-m", "distributed.cli.dask_worker", "--host", "127.0.0.1"]


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two workers (without nannies, so a killed worker stays dead).

    Yields ``(address, scheduler process, worker processes)``; every process is killed at the end.
    """
    procs: list[subprocess.Popen] = []
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    try:
        info = tmp_path / "scheduler.json"
        scheduler = subprocess.Popen(
            [*SCHEDULER, "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
            **quiet,
        )
        procs.append(scheduler)
        deadline = time.monotonic() + 60
        address = None
        while address is None:
            assert time.monotonic() < deadline, "the scheduler did not start"
            assert scheduler.poll() is None, "the scheduler exited"
            with contextlib.suppress(OSError, ValueError, KeyError):
                address = json.loads(info.read_text())["address"]
            time.sleep(0.1)
        workers = []
        for _ in range(2):
            workers.append(
                subprocess.Popen(
                    [*WORKER, address, "--no-nanny", "--nthreads", "1", "--no-dashboard"],
                    **quiet,
                )
            )
            procs.append(workers[-1])
        with distributed.Client(address, timeout="10s", set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, scheduler, workers
    finally:
        for proc in procs:
            _kill(proc)


def _start_run(address: str, folder: Path) -> subprocess.Popen:
    """``g3sim run`` of far more draws than the test lasts, on the cluster at ``address``."""
    env = dict(os.environ, G3SIM_CLUSTER_TIMEOUT=str(TIMEOUT), PYTHONPATH=str(ROOT))
    env.pop("G3SIM_DEBUG", None)
    cmd = [sys.executable, "-m", "simulator", "run", RACE, "-n", "1000000000", "--no-keep-draws"]
    cmd += ["-q", "-o", str(folder / "out.nc"), "--scheduler", address]
    return subprocess.Popen(
        cmd, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_until_blocks_run(address: str, proc: subprocess.Popen) -> None:
    """Wait until the cluster's workers are running the run's blocks."""
    with distributed.Client(address, timeout="10s", set_as_default=False) as client:
        deadline = time.monotonic() + 60
        while not any(client.processing().values()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run's blocks never reached the workers"
            time.sleep(0.1)
    time.sleep(0.5)  # a few blocks done: the run is in its stride


def _outcome(proc: subprocess.Popen, wait: float) -> tuple[int, str, float]:
    """Exit code, stderr and seconds taken of ``proc``; a run still going after ``wait`` s is
    killed and fails the test."""
    t0 = time.monotonic()
    try:
        _, err = proc.communicate(timeout=wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the run still went on {wait:g} s after the fault; stderr: {err[-500:]!r}")
    return proc.returncode, err, time.monotonic() - t0


def _assert_one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("g3sim: error: "), err
    assert "Traceback" not in err and "internal error" not in err
    return lines[0]


def test_a_cluster_whose_workers_all_die_ends_the_run_with_one_line(cluster, tmp_path):
    address, _, workers = cluster
    proc = _start_run(address, tmp_path)
    try:
        _wait_until_blocks_run(address, proc)
        for w in workers:
            w.send_signal(signal.SIGKILL)
        code, err, _ = _outcome(proc, TIMEOUT + MARGIN)
    finally:
        _kill(proc)
    line = _assert_one_error_line(err)
    assert code == ClusterError.exit_code == 1
    assert f"the Dask cluster at {address} has had no workers for 3 s" in line
    _assert_resumable(line, tmp_path / "out.nc")


def test_a_killed_scheduler_ends_the_run_with_one_line(cluster, tmp_path):
    address, scheduler, _ = cluster
    proc = _start_run(address, tmp_path)
    try:
        _wait_until_blocks_run(address, proc)
        scheduler.send_signal(signal.SIGKILL)
        code, err, _ = _outcome(proc, TIMEOUT + MARGIN)
    finally:
        _kill(proc)
    line = _assert_one_error_line(err)
    assert code == 1
    assert f"lost the Dask scheduler at {address}" in line
    _assert_resumable(line, tmp_path / "out.nc")


def _assert_resumable(line: str, out: Path) -> None:
    """The run saved a last consistent checkpoint and said how to resume (issue 12)."""
    assert "checkpoint saved in" in line and line.endswith("--resume"), line
    meta, _ = load_checkpoint(checkpoint_dir(out))
    assert f"after {meta['draws_done']:,} of 1,000,000,000 draws" in line, line


@pytest.fixture
def silent_listener():
    """The address of a TCP server on 127.0.0.1 that accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
        for conn in accepted:
            conn.close()


def test_a_scheduler_that_never_answers_is_an_error_within_the_connect_timeout(
    silent_listener, tmp_path
):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("G3SIM_DEBUG", None)
    cmd = [sys.executable, "-m", "simulator", "run", RACE, "-n", "1000", "-q"]
    cmd += ["-o", str(tmp_path / "out.nc"), "--scheduler", silent_listener]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        code, err, _ = _outcome(proc, 5 + MARGIN)
    finally:
        _kill(proc)
    line = _assert_one_error_line(err)
    assert code == ConfigError.exit_code
    assert f"--scheduler {silent_listener}: cannot reach a Dask scheduler" in line
    assert "no answer within 5 s" in line


def test_the_connect_timeout_is_5_s_in_process(silent_listener):
    sc = gaussian_scenario(FIVE, draws=100, seed=1)
    outcome: list[BaseException | None] = []

    def attempt():  # in a thread, so that a run that hangs fails the test instead
        try:
            run(sc, scheduler=silent_listener)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    t0 = time.monotonic()
    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(5 + MARGIN)
    took = time.monotonic() - t0
    assert outcome, f"still trying to connect after {took:.0f} s"
    assert isinstance(outcome[0], ConfigError), outcome
    assert "no answer within 5 s" in str(outcome[0])
    assert 4.5 <= took <= 5 + 5


@pytest.mark.parametrize("value", ["0", "-3", "soon", "nan", "inf"])
def test_a_bad_cluster_timeout_is_a_one_line_config_error(monkeypatch, value):
    monkeypatch.setenv("G3SIM_CLUSTER_TIMEOUT", value)
    with pytest.raises(ConfigError, match=r"G3SIM_CLUSTER_TIMEOUT=.*positive number of seconds"):
        cluster_timeout()
    sc = gaussian_scenario(FIVE, draws=100, seed=1)
    with pytest.raises(ConfigError, match="G3SIM_CLUSTER_TIMEOUT"):  # before any connection
        run(sc, scheduler="tcp://127.0.0.1:9")


def test_the_cluster_timeout_defaults_to_30_s(monkeypatch):
    monkeypatch.delenv("G3SIM_CLUSTER_TIMEOUT", raising=False)
    assert cluster_timeout() == DEFAULT_CLUSTER_TIMEOUT == 30.0
    monkeypatch.setenv("G3SIM_CLUSTER_TIMEOUT", " 2.5 ")
    assert cluster_timeout() == 2.5


def test_blocks_slower_than_the_cluster_timeout_are_not_a_lost_cluster(monkeypatch):
    """A busy worker is alive: only a cluster without workers or scheduler is timed out, not a
    run whose blocks take longer than the cluster timeout."""
    from simulator.scenario import load_scenario

    monkeypatch.setenv("G3SIM_CLUSTER_TIMEOUT", "1")
    # Blocks of 4,096 conditioned draws: seconds each on one worker, far above the timeout.
    sc = load_scenario(CONFIGS / "baseline.toml").with_updates(block_size=2**12)
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        silence_logs=40,
    ) as lc:
        t0 = time.monotonic()
        ds = run(sc, draws=2 * 2**12, seed=5, keep_draws=False, scheduler=lc.scheduler_address)
        took = time.monotonic() - t0
    assert int(ds.attrs["draws"]) == 2 * 2**12
    # The worker's first block builds the model (seconds): longer than the timeout.
    assert took > 1, "the run should have waited longer than the cluster timeout"


def test_a_model_error_on_a_worker_stays_a_model_error(monkeypatch):
    """The block's own error is not mistaken for a lost cluster (workers in this process, so
    that the poisoned toy model registered here is the one they run)."""
    from simulator.runs import resolve_scenario
    from simulator.scenario import scenario_from_dict
    from tests.helpers.toy_models import Poisoned, linear_dict, register_model

    register_model(monkeypatch, "linear_race", Poisoned)
    monkeypatch.setattr(Poisoned, "poison", float("nan"))
    d = linear_dict(draws=3 * 1000, block_size=1000)
    d["observations"] = [{"country": "CHN", "year": 2029, "rank_range": [1, 3]}]
    sc = resolve_scenario(scenario_from_dict(d))
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=False,
            protocol="tcp",
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=40,
        ) as lc,
        pytest.raises(ModelError, match="non-finite score values in block"),
    ):
        run(sc, scheduler=lc.scheduler_address)
