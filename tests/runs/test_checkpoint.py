"""Checkpoint and resume, and clean interruption by signals (real subprocesses, real signals)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomli_w
import xarray as xr
from click.testing import CliRunner

from simulator import run, run_to_file
from simulator.cli import main
from simulator.errors import ConfigError
from simulator.results import open_results
from simulator.runs import checkpoint_dir
from tests.helpers.scenarios import FIVE, gaussian_dict, gaussian_scenario, strip_timing

# A race slow enough to interrupt: many countries, many years, small blocks.
SLOW = {f"C{i:02d}": (float(i), 3.0) for i in range(30)} | {"KOR": (20.0, 5.0)}


def _write_slow(tmp_path: Path, draws: int = 200_000) -> Path:
    doc = gaussian_dict(SLOW, draws=draws, seed=77, years=list(range(2026, 2041)))
    doc["scenario"]["block_size"] = 4096
    doc["factors"] = {"a": {"dist": "pert", "low": 0, "mode": 1, "high": 3}}
    path = tmp_path / "slow.toml"
    path.write_text(tomli_w.dumps(doc))
    return path


def _start(args, cwd):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "simulator", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _processes_mentioning(text: str) -> list[int]:
    """PIDs of live processes whose command line contains ``text`` (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().split(") ")[-1][:1]
            except OSError:
                continue
            if text in cmd and state != "Z":
                pids.append(int(entry.name))
    return pids


def _wait_for_checkpoint(folder: Path, *, min_draws: int = 0, timeout=120.0):
    """Wait until a checkpoint with more than ``min_draws`` draws done is on disk."""
    import json

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if json.loads((folder / "meta.json").read_text())["draws_done"] > min_draws:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint past {min_draws} draws appeared in {folder}")


@pytest.mark.slow
def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    scen = _write_slow(tmp_path)
    ref = CliRunner().invoke(main, ["run", str(scen), "-o", str(tmp_path / "ref.nc"), "-q"])
    assert ref.exit_code == 0, ref.output
    out = tmp_path / "killed.nc"
    args = ["run", str(scen), "-o", str(out), "-q", "--workers", "2", "--checkpoint-every", "0.2"]
    proc = _start(args, tmp_path)
    _wait_for_checkpoint(checkpoint_dir(out), min_draws=40_000)  # a real mid-run state
    time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert not out.exists() and checkpoint_dir(out).exists()
    # The killed run's worker processes end with it: no orphan is left behind.
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(scen)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _processes_mentioning(str(scen))
    # Without --resume a new run refuses to trample the checkpoint.
    again = CliRunner().invoke(main, ["run", str(scen), "-o", str(out), "-q"])
    assert again.exit_code == 2 and "--resume" in again.stderr
    res = CliRunner().invoke(main, ["run", str(scen), "-o", str(out), "-q", "--resume"])
    assert res.exit_code == 0, res.output
    assert not checkpoint_dir(out).exists()
    a, b = strip_timing(open_results(tmp_path / "ref.nc")), strip_timing(open_results(out))
    xr.testing.assert_identical(a, b)


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_stop_within_a_second_keep_the_checkpoint_and_say_how_to_resume(
    tmp_path, sig, code
):
    scen = _write_slow(tmp_path, draws=2_000_000)
    out = tmp_path / "sig.nc"
    args = ["run", str(scen), "-o", str(out), "-q", "--no-keep-draws", "--checkpoint-every", "0.5"]
    proc = _start(args, tmp_path)
    _wait_for_checkpoint(checkpoint_dir(out), min_draws=0)
    t0 = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)
    assert time.monotonic() - t0 < 1.5  # "within a second", with slack for a loaded machine
    assert proc.returncode == code, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "--resume" in err and "checkpoint saved" in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(list(checkpoint_dir(out).glob("state-*.npz"))) == 1


def test_resume_refuses_a_different_scenario_and_resumes_the_same(tmp_path):
    out = tmp_path / "a.nc"
    folder = checkpoint_dir(out)
    # Make a checkpoint by interrupting a run from inside (KeyboardInterrupt after one block).
    from simulator.runs import assemble as ck

    calls = {"n": 0}
    real = ck.Accumulator.add

    def add_then_interrupt(self, res):
        real(self, res)
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt

    sc = gaussian_scenario(FIVE, draws=3_000, seed=1, block_size=1000)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ck.Accumulator, "add", add_then_interrupt)
        with pytest.raises(ck.Interrupted, match="resume with"):
            run_to_file(sc, out)
    assert folder.exists()
    with pytest.raises(ConfigError, match="different scenario, seed or stop rule"):
        run_to_file(sc.with_updates(seed=2), out, resume=True)
    run_to_file(sc, out, resume=True)
    xr.testing.assert_identical(strip_timing(open_results(out)), strip_timing(run(sc)))


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    scen = tmp_path / "a.toml"
    scen.write_text(tomli_w.dumps(gaussian_dict(FIVE, draws=100, seed=1)))
    res = CliRunner().invoke(main, ["run", str(scen), "-o", str(tmp_path / "x.nc"), "--resume"])
    assert res.exit_code == 2 and "no checkpoint to resume" in res.stderr


@pytest.mark.parametrize(
    "damage",
    [
        lambda f: (f / "meta.json").write_text("[]"),
        lambda f: (f / "meta.json").write_text('{"version": 3}'),
        lambda f: (f / "meta.json").write_text("{not json"),
        lambda f: next(f.glob("state-*.npz")).write_bytes(b"PK\x03\x04 torn"),
        lambda f: (f / "meta.json").write_text(
            (f / "meta.json").read_text().replace('"dtype": "<i2"', '"dtype": "no-such-type"')
        ),
    ],
)
def test_resume_from_a_damaged_checkpoint_is_one_line_naming_the_fix(tmp_path, damage):
    scen = tmp_path / "a.toml"
    scen.write_text(tomli_w.dumps(gaussian_dict(FIVE, draws=3000, seed=1, block_size=1000)))
    out = tmp_path / "a.nc"
    from simulator.runs import assemble as ck

    real = ck.Accumulator.add

    def add_then_interrupt(self, res):
        real(self, res)
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ck.Accumulator, "add", add_then_interrupt)
        first = CliRunner().invoke(main, ["run", str(scen), "-o", str(out)])
    assert first.exit_code == 130
    folder = checkpoint_dir(out)
    assert '"dtype": "<i2"' in (folder / "meta.json").read_text()  # the spool is described
    damage(folder)
    res = CliRunner().invoke(main, ["run", str(scen), "-o", str(out), "--resume"])
    assert res.exit_code == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "checkpoint is damaged" in lines[0] and "--force" in lines[0]
