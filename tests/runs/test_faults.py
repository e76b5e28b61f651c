"""Faults during a run into a file: every outcome is "identical to the uninterrupted run" or
"one clear line, non-zero exit, nothing lost" (issue 12).

Real processes, real SIGKILL, real concurrent runs, real damaged files and real small or
read-only file systems (tmpfs, when this process may mount one: root, as in CI). A run is frozen
at a named point of its work with the ``G3SIM_PAUSE_AT`` hook (simulator/_faults.py), so
each fault lands exactly where it is meant to, without timing guesses.
"""

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

from simulator.errors import ResultsError
from simulator.results import open_results
from simulator.runs import checkpoint_dir
from tests.helpers.scenarios import FIVE, gaussian_dict, gaussian_scenario, strip_timing

pytestmark = pytest.mark.slow

# 30 countries, 5 years, a factor, an observation: ~24 blocks of 2,048 draws, per-draw data kept.
RACE = {f"C{i:02d}": (float(i), 3.0) for i in range(30)} | {"KOR": (25.0, 5.0)}
DRAWS = 48_000


def _scenario(folder: Path) -> Path:
    doc = gaussian_dict(RACE, draws=DRAWS, seed=5, years=list(range(2026, 2031)))
    doc["scenario"]["block_size"] = 2048
    doc["factors"] = {"a": {"dist": "pert", "low": 0, "mode": 1, "high": 3}}
    # Persistent scores and an observed first year: the run conditions by sequential Monte
    # Carlo (resampling in every block), so every fault below is also a fault of SMC.
    doc["model"]["persistence"] = 0.7
    doc["observations"] = [{"year": 2026, "country": "KOR", "rank_range": [3, 6]}]
    path = folder / "race.toml"
    path.write_text(tomli_w.dumps(doc))
    return path


class Run:
    """``python -m simulator run`` in a subprocess, optionally frozen at a pause point."""

    def __init__(self, args, cwd: Path, *, pause: str | None = None, env=None):
        self.marker = cwd / f"paused-{time.monotonic_ns()}"
        env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        env.pop("G3SIM_PAUSE_AT", None)
        if pause:
            env |= {"G3SIM_PAUSE_AT": pause, "G3SIM_PAUSE_FILE": str(self.marker)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", "run", *map(str, args)],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def wait_paused(self, timeout: float = 60.0) -> None:
        t0 = time.monotonic()
        while not self.marker.exists():
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                raise AssertionError(f"the run ended without pausing: {err or out}")
            if time.monotonic() - t0 > timeout:
                raise AssertionError("the run did not reach its pause point")
            time.sleep(0.02)

    def release(self) -> None:
        self.marker.unlink()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def finish(self, timeout: float = 120.0) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


def run(args, cwd: Path, **kw) -> tuple[int, str, str]:
    return Run(args, cwd, **kw).finish()


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    return lines[0]


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(c) for c in (task / "children").read_text().split()]
    return kids


@pytest.fixture(scope="module")
def race(tmp_path_factory):
    """The scenario file and the uninterrupted run's results file."""
    folder = tmp_path_factory.mktemp("race")
    scen = _scenario(folder)
    code, _, err = run([scen, "-q", "-o", folder / "ref.nc"], folder)
    assert code == 0, err
    ref = strip_timing(open_results(folder / "ref.nc"))
    assert ref.attrs["conditioning"] == "smc"
    assert float(ref["ess_after_resampling"][0]) == DRAWS  # every block resampled
    return scen, ref


def assert_clean_and_identical(out: Path, ref) -> None:
    assert not checkpoint_dir(out).exists()
    left = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]
    assert left == [], left  # no temporary file, no lock file
    xr.testing.assert_identical(strip_timing(open_results(out)), ref)


@pytest.mark.parametrize(
    ("point", "workers", "every"),
    [
        # The audit's repro: killed before the second checkpoint; the first has 0 draws.
        ("block-folded:1", 1, 1000),
        ("block-folded:7", 2, 1000),
        ("block-folded:7", 2, 0),
        # Between a checkpoint's new state file and its commit (meta.json).
        ("checkpoint-state-written:4", 1, 0),
        # All blocks done, before the results file is written; and in the middle of writing it.
        ("final-write", 2, 1000),
        ("per-draw-chunk-written", 1, 1000),
    ],
)
def test_sigkill_at_any_point_then_resume_is_identical(race, tmp_path, point, workers, every):
    scen, ref = race
    out = tmp_path / "r.nc"
    args = [scen, "-q", "-o", out, "--workers", workers, "--checkpoint-every", every]
    victim = Run(args, tmp_path, pause=point)
    victim.wait_paused()
    victim.kill()
    assert not out.exists()
    code, _, err = run([*args, "--resume"], tmp_path)
    assert code == 0, err
    assert_clean_and_identical(out, ref)


def test_a_killed_worker_ends_the_run_with_a_checkpoint_and_resume_is_identical(race, tmp_path):
    scen, ref = race
    out = tmp_path / "r.nc"
    args = [scen, "-q", "-o", out, "--workers", "2", "--checkpoint-every", "0"]
    parent = Run(args, tmp_path, pause="block-folded:5")
    parent.wait_paused()
    workers = _children(parent.proc.pid)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    parent.release()
    code, _, err = parent.finish()
    line = one_line(err)
    assert code == 1
    assert "worker process died (killed by SIGKILL)" in line, line
    assert "checkpoint saved" in line and "--resume" in line, line
    code, _, err = run([*args, "--resume"], tmp_path)
    assert code == 0, err
    assert_clean_and_identical(out, ref)


def test_a_second_writer_fails_at_once_naming_the_first(race, tmp_path):
    scen, ref = race
    out = tmp_path / "r.nc"
    first = Run(
        [scen, "-q", "-o", out, "--checkpoint-every", "0"], tmp_path, pause="block-folded:3"
    )
    first.wait_paused()
    meta = (checkpoint_dir(out) / "meta.json").read_bytes()
    for extra in (["--force", "--seed", "2"], ["--resume"], []):
        t0 = time.monotonic()
        code, _, err = run([scen, "-q", "-o", out, *extra], tmp_path)
        assert time.monotonic() - t0 < 30  # at once: it does not wait for the first run
        line = one_line(err)
        assert code == 1, line
        assert f"pid {first.proc.pid}" in line and "being written by another g3sim run" in line
        assert (checkpoint_dir(out) / "meta.json").read_bytes() == meta  # untouched
    first.release()
    code, _, err = first.finish()
    assert code == 0, err
    assert_clean_and_identical(out, ref)


def _checkpoint_with_draws(scen: Path, out: Path, cwd: Path) -> list[str]:
    args = [scen, "-q", "-o", out, "--checkpoint-every", "0"]
    victim = Run(args, cwd, pause="block-folded:6")
    victim.wait_paused()
    victim.kill()
    return args


def _truncate(f: Path) -> None:
    with open(f, "r+b") as fh:  # into the committed rows (a block past them is not committed)
        fh.truncate(f.stat().st_size // 2 - 100)


def _garble(f: Path) -> None:
    with open(f, "r+b") as fh:
        fh.seek(f.stat().st_size // 3)
        fh.write(b"\x7f" * 16)


def _grow(f: Path) -> None:
    with open(f, "ab") as fh:  # rows past the checkpoint are a torn tail: dropped, not refused
        fh.write(b"\x00" * 1000)


@pytest.mark.parametrize(
    ("damage", "refused"),
    [
        (lambda f: _truncate(f / "focus_rank.bin"), True),
        (lambda f: _garble(f / "factor_value.bin"), True),
        (lambda f: (f / "focus_rank.bin").unlink(), True),
        (lambda f: _grow(f / "focus_value.bin"), False),
    ],
    ids=["truncated", "garbled", "deleted", "torn-tail"],
)
def test_a_damaged_spool_is_refused_on_resume(race, tmp_path, damage, refused):
    scen, ref = race
    out = tmp_path / "r.nc"
    args = _checkpoint_with_draws(scen, out, tmp_path)
    damage(checkpoint_dir(out))
    code, _, err = run([*args, "--resume"], tmp_path)
    if not refused:
        assert code == 0, err
        assert_clean_and_identical(out, ref)
        return
    line = one_line(err)
    assert code == 2 and "checkpoint is damaged" in line and "--force" in line, line
    assert not out.exists()
    code, _, err = run([*args, "--force"], tmp_path)  # the fix the message names
    assert code == 0, err
    assert_clean_and_identical(out, ref)


def test_a_spool_damaged_before_the_final_write_is_refused(race, tmp_path):
    scen, _ = race
    out = tmp_path / "r.nc"
    victim = Run([scen, "-q", "-o", out], tmp_path, pause="final-write")
    victim.wait_paused()
    _garble(checkpoint_dir(out) / "focus_value.bin")
    victim.release()
    code, _, err = victim.finish()
    line = one_line(err)
    assert code == 1 and "per-draw spool is damaged" in line and "checksum" in line, line
    assert not out.exists()


def test_stale_temporary_files_are_removed_by_the_next_run(race, tmp_path):
    scen, ref = race
    out = tmp_path / "r.nc"
    victim = Run([scen, "-q", "-o", out], tmp_path, pause="per-draw-chunk-written")
    victim.wait_paused()
    victim.kill()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".r.nc.") and p.suffix == ".tmp"]
    code, _, err = run([scen, "-q", "-o", out, "--force"], tmp_path)
    assert code == 0, err
    assert_clean_and_identical(out, ref)


# --- small and read-only file systems ------------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path):
    """A real tmpfs of 1 MiB at tmp_path/disk (root only), unmounted afterwards."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.decode().strip()[:80]})")

    def remount(opts: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{opts}", str(mnt)], check=True)

    try:
        yield mnt, remount
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_during_the_run_is_one_line_and_resume_is_identical(race, tmp_path, tmpfs):
    scen, ref = race
    mnt, remount = tmpfs
    out = mnt / "r.nc"  # the spool (~3.5 MB) outgrows the 1 MiB disk
    args = [scen, "-q", "-o", out, "--checkpoint-every", "0"]
    code, _, err = run(args, tmp_path)
    line = one_line(err)
    assert code == 1 and "no space left on the device" in line and "--resume" in line, line
    assert not out.exists()
    remount("size=64m")
    code, _, err = run([*args, "--resume"], tmp_path)
    assert code == 0, err
    assert_clean_and_identical(out, ref)


def test_a_full_disk_at_the_final_write_is_one_line_and_resume_is_identical(race, tmp_path, tmpfs):
    scen, ref = race
    mnt, remount = tmpfs
    remount("size=16m")
    out = mnt / "r.nc"
    victim = Run([scen, "-q", "-o", out], tmp_path, pause="final-write")
    victim.wait_paused()
    filler = mnt / "filler"
    with open(filler, "wb") as fh, pytest.raises(OSError):
        while True:
            fh.write(b"\0" * 65536)
            fh.flush()
    victim.release()
    code, _, err = victim.finish()
    line = one_line(err)
    assert code == 1 and "r.nc: cannot write results: no space left" in line, line
    assert not out.exists() and checkpoint_dir(out).exists()
    assert not [p for p in mnt.iterdir() if p.suffix == ".tmp"]
    filler.unlink()
    code, _, err = run([scen, "-q", "-o", out, "--resume"], tmp_path)
    assert code == 0, err
    assert_clean_and_identical(out, ref)


def _mount(*args: str) -> None:
    res = subprocess.run(["mount", *args], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount here ({res.stderr.decode().strip()[:80]})")


def test_a_folder_turned_read_only_mid_run_is_one_line_and_nothing_is_lost(race, tmp_path):
    scen, ref = race
    out = tmp_path / "r.nc"
    folder = checkpoint_dir(out)
    args = [scen, "-q", "-o", out, "--checkpoint-every", "0"]
    victim = Run(args, tmp_path, pause="block-folded:4")
    victim.wait_paused()
    _mount("--bind", str(folder), str(folder))  # the same files, now read-only (EROFS)
    try:
        _mount("-o", "remount,ro,bind", str(folder))
        victim.release()
        code, _, err = victim.finish()
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
    line = one_line(err)
    assert code == 1 and "read-only file system" in line, line
    assert "the last checkpoint" in line and "is intact" in line and "--resume" in line, line
    code, _, err = run([*args, "--resume"], tmp_path)
    assert code == 0, err
    assert_clean_and_identical(out, ref)


def test_a_read_only_output_folder_is_refused_before_the_run(race, tmp_path):
    scen, _ = race
    ro = tmp_path / "ro"
    ro.mkdir()
    _mount("--bind", str(ro), str(ro))
    try:
        _mount("-o", "remount,ro,bind", str(ro))
        code, _, err = run([scen, "-q", "-o", ro / "r.nc"], tmp_path)
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)
    line = one_line(err)
    assert code == 1 and f"{ro}: not writable" in line, line


# --- paths and files ------------------------------------------------------------------------


def test_an_unencodable_path_is_one_line(race, tmp_path):
    scen, _ = race
    env = {"LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    code, _, err = run([scen, "-q", "-o", "résumé.nc"], tmp_path, env=env)
    line = one_line(err)
    assert code == 1 and "cannot be encoded" in line and "LC_ALL=C.UTF-8" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.toml"] or not any(
        "sum" in p.name for p in tmp_path.iterdir()
    )


@pytest.mark.parametrize(
    ("attr", "value", "message"),
    [
        ("g3sim_format_version", -5, "format version -5 is not valid"),
        ("g3sim_format_version", 0, "format version 0 is not valid"),
        ("top_k", 10**6, "top_k = 1000000 is outside 1..31"),
        ("top_k", 0, "top_k = 0 is outside 1..31"),
    ],
)
def test_results_attributes_out_of_range_are_refused_on_open(race, tmp_path, attr, value, message):
    _, ref = race
    bad = ref.copy()
    bad.attrs[attr] = value
    path = tmp_path / "bad.nc"
    bad.to_netcdf(path)
    with pytest.raises(ResultsError, match=message):
        open_results(path)


# --- a signal in the middle of folding a block ------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_a_block_is_folded_leaves_a_whole_checkpoint(tmp_path, monkeypatch, sig):
    """A real signal delivered half-way through adding a block's sums: the run stops with its
    checkpoint, and the resumed file equals the uninterrupted run's (a half-folded block in the
    checkpoint gave rank counts of 22,000 draws for 20,000, exit 0)."""
    from simulator.engine import state
    from simulator.errors import Interrupted
    from simulator.runs import run_to_file

    sc = gaussian_scenario(FIVE, draws=20_000, seed=3, block_size=2000, years=[2030])
    run_to_file(sc, tmp_path / "ref.nc")
    real = state.ReducerState.add_
    calls = {"n": 0}

    def add_with_a_signal(self, other):
        calls["n"] += 1
        for i, ((_, mine), (_, theirs)) in enumerate(
            zip(self.arrays(), other.arrays(), strict=True)
        ):
            mine += theirs
            if calls["n"] == 4 and i == 2:
                os.kill(os.getpid(), sig)  # a real signal, in the middle of the fold

    monkeypatch.setattr(state.ReducerState, "add_", add_with_a_signal)
    with pytest.raises(Interrupted, match="checkpoint saved"):
        run_to_file(sc, tmp_path / "r.nc", every_s=1e9)
    monkeypatch.setattr(state.ReducerState, "add_", real)
    run_to_file(sc, tmp_path / "r.nc", resume=True)
    assert_clean_and_identical(tmp_path / "r.nc", strip_timing(open_results(tmp_path / "ref.nc")))


@pytest.mark.parametrize("point", ["final-write", "per-draw-chunk-written"])
def test_sigterm_while_writing_the_results_is_one_line_and_resume_is_identical(
    race, tmp_path, point
):
    scen, ref = race
    out = tmp_path / "r.nc"
    victim = Run([scen, "-q", "-o", out], tmp_path, pause=point)
    victim.wait_paused()
    victim.proc.send_signal(signal.SIGTERM)
    code, _, err = victim.finish()
    line = one_line(err)
    assert code == 143 and "while writing" in line and "--resume" in line, line
    assert not out.exists() and checkpoint_dir(out).exists()
    code, _, err = run([scen, "-q", "-o", out, "--resume"], tmp_path)
    assert code == 0, err
    assert_clean_and_identical(out, ref)


def test_sigkill_then_resume_of_a_run_with_a_stop_rule_is_identical(race, tmp_path):
    """A run that stops at its target half-width: killed mid-way, resumed, it stops at the same
    block with the same file (the stop rule and the spool agree on the draws folded)."""
    scen, _ = race
    rule = ["--target-halfwidth", "0.01", "--max-draws", str(DRAWS), "--checkpoint-every", "0"]
    code, _, err = run([scen, "-q", "-o", tmp_path / "ref.nc", *rule], tmp_path)
    assert code == 0, err
    ref = strip_timing(open_results(tmp_path / "ref.nc"))
    assert ref.attrs["stop_reason"].startswith("target half-width")  # it did stop early
    assert int(ref.attrs["draws"]) < DRAWS
    out = tmp_path / "r.nc"
    victim = Run([scen, "-q", "-o", out, *rule], tmp_path, pause="block-folded:3")
    victim.wait_paused()
    victim.kill()
    code, _, err = run([scen, "-q", "-o", out, *rule, "--resume"], tmp_path)
    assert code == 0, err
    assert_clean_and_identical(out, ref)
