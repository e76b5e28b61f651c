"""Runs that write their results file directly, checkpoint as they go, and can be resumed.

While a run to ``results/x.nc`` is going, ``results/x.nc.checkpoint/`` holds:

* ``state.npz``: the folded reducer state (sums, trace, blocks done) — plain arrays, no pickle;
* ``meta.json``: the resolved scenario (TOML), its sha256, the stop rule, and how many per-draw
  rows are durable;
* ``<variable>.bin``: per-draw rows spooled in block order as raw little-endian binary, so memory
  does not grow with kept draws and a crash leaves at most a torn tail, which resume truncates.

The checkpoint is replaced atomically (write to a temporary name, fsync, rename) every
``every_s`` seconds and when the run is interrupted. ``resume`` refuses a checkpoint written for
a different scenario, seed or stop rule. The finished file equals an uninterrupted run's: blocks
are folded in the same order from the same state.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import time
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .engine import Accumulator, BlockRunner, fold_blocks, resolve
from .errors import (
    ConfigError,
    G3simError,
    Interrupted,
    ModelError,
    OutputError,
    SpoolDamaged,
    check_encodable,
    os_failure,
)
from .faultpoints import pause_point
from .locking import output_lock
from .scenario import Scenario

CHECKPOINT_VERSION = 2  # 2: state-*.npz named by meta.json; spool segments with CRC-32


class SpoolVar:
    """One per-draw variable on disk: rows of ``row_shape`` and ``dtype``, appended in order.

    Every append is a *segment* (one block's rows) whose CRC-32 is recorded, so that the rows a
    checkpoint committed can be verified before they are used again (on resume, and before the
    final write): a short, grown or garbled file is refused instead of read as data.
    """

    def __init__(
        self,
        path: Path,
        dtype: np.dtype,
        row_shape: tuple[int, ...],
        segments: list[tuple[int, int]] | None = None,
    ):
        self.path = path
        self.dtype = np.dtype(dtype).newbyteorder("<")  # on disk: little-endian, always
        self.row_shape = tuple(row_shape)
        self.row_bytes = int(np.prod(row_shape, dtype=np.int64)) * self.dtype.itemsize
        self.segments: list[tuple[int, int]] = [(int(n), int(c)) for n, c in segments or ()]
        self.rows = sum(n for n, _ in self.segments)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.rows, *self.row_shape)

    def append(self, block: np.ndarray) -> None:
        data = np.ascontiguousarray(block, dtype=self.dtype).tobytes()
        with open(self.path, "ab") as fh:
            try:
                fh.write(data)
                fh.flush()
            except BaseException:
                with contextlib.suppress(OSError):  # leave no torn tail behind (best effort)
                    fh.truncate(self.rows * self.row_bytes)
                raise
        self.segments.append((len(block), zlib.crc32(data)))
        self.rows += len(block)

    def truncate(self, rows: int) -> None:
        """Forget the rows after ``rows`` (a segment boundary), on disk and in the record."""
        kept, total = [], 0
        for n, crc in self.segments:
            if total + n > rows:
                break
            kept.append((n, crc))
            total += n
        if total != rows:
            raise SpoolDamaged(f"{self.path.name}: {rows} rows is not a block boundary")
        self.segments, self.rows = kept, rows
        with open(self.path, "ab") as fh:
            fh.truncate(rows * self.row_bytes)

    def verify(self) -> None:
        """Check that the file holds exactly the recorded rows, segment by segment."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            raise SpoolDamaged(f"{self.path.name} is missing") from None
        if size != self.rows * self.row_bytes:
            raise SpoolDamaged(
                f"{self.path.name} holds {size} bytes, expected {self.rows * self.row_bytes}"
            )
        with open(self.path, "rb") as fh:
            row = 0
            for n, crc in self.segments:
                if zlib.crc32(fh.read(n * self.row_bytes)) != crc:
                    raise SpoolDamaged(
                        f"{self.path.name}: rows {row:,}–{row + n - 1:,} fail their checksum"
                    )
                row += n

    def sync(self) -> None:
        with open(self.path, "ab") as fh:
            fh.flush()
            os.fsync(fh.fileno())

    def spec(self) -> dict:
        return {
            "dtype": self.dtype.str,
            "row_shape": list(self.row_shape),
            "rows": self.rows,
            "segments": [list(s) for s in self.segments],
        }

    def __getitem__(self, key: slice) -> np.ndarray:
        lo, hi, _ = key.indices(self.rows)
        count = max(hi - lo, 0) * (self.row_bytes // self.dtype.itemsize)
        data = np.fromfile(self.path, dtype=self.dtype, count=count, offset=lo * self.row_bytes)
        if data.size != count:
            raise SpoolDamaged(f"{self.path.name} ends before row {hi:,}")
        return data.reshape((max(hi - lo, 0), *self.row_shape)).astype(self.dtype.newbyteorder("="))


class SpoolSink:
    """Per-draw rows to :class:`SpoolVar` files (the accumulator writes them in block order)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.vars: dict[str, SpoolVar] = {}

    @classmethod
    def resume(cls, folder: Path, specs: Mapping[str, dict], rows: int) -> SpoolSink:
        """The spool as a checkpoint committed it: verified, cut back to ``rows`` rows.

        Rows written after the checkpoint are dropped; a file the checkpoint does not list holds
        no committed rows and is removed (the first checkpoint is taken before any block).
        """
        sink = cls(folder)
        for name, spec in specs.items():
            var = SpoolVar(
                folder / f"{name}.bin",
                np.dtype(spec["dtype"]),
                tuple(spec["row_shape"]),
                [tuple(s) for s in spec["segments"]],
            )
            if var.rows != rows:
                raise SpoolDamaged(f"{name}.bin records {var.rows} rows, the state {rows}")
            try:
                size = var.path.stat().st_size
            except FileNotFoundError:
                raise SpoolDamaged(f"{name}.bin is missing") from None
            if size < var.rows * var.row_bytes:
                raise SpoolDamaged(f"{name}.bin is shorter than its {var.rows:,} committed rows")
            with open(var.path, "ab") as fh:
                fh.truncate(var.rows * var.row_bytes)
            var.verify()
            sink.vars[name] = var
        for path in folder.glob("*.bin"):
            if path.stem not in sink.vars:
                path.unlink()
        return sink

    def write(self, start: int, rows: Mapping[str, np.ndarray]) -> None:
        for name, block in rows.items():
            var = self.vars.get(name)
            if var is None:
                var = self.vars[name] = SpoolVar(
                    self.folder / f"{name}.bin", block.dtype, block.shape[1:]
                )
            if var.rows != start:  # pragma: no cover - the accumulator writes in order
                raise RuntimeError(f"spool {name}: expected row {var.rows}, got {start}")
            var.append(block)

    def commit(self, rows: int) -> None:
        """Cut every variable back to ``rows`` (a block that failed half-way leaves more)."""
        for var in self.vars.values():
            var.truncate(rows)

    def specs(self) -> dict[str, dict]:
        return {n: v.spec() for n, v in self.vars.items()}

    def verify(self) -> None:
        for v in self.vars.values():
            v.verify()

    def sync(self) -> None:
        for v in self.vars.values():
            v.sync()


def checkpoint_dir(output: Path) -> Path:
    return output.with_name(output.name + ".checkpoint")


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(folder: Path, acc: Accumulator, meta: dict) -> None:
    """Make the folded state durable as one unit; ``meta.json``'s rename is the commit point.

    The spool is cut to the folded rows and synced, the state goes to a new ``state-*.npz``, and
    only then does ``meta.json`` (naming that state file and each spool file's committed rows
    and checksums) replace the previous one. A crash at any moment leaves the previous
    checkpoint whole; superseded state files are removed after the commit.
    """
    sink = acc.sink
    if isinstance(sink, SpoolSink):
        sink.commit(acc.draws_done)
        sink.sync()
    state = acc.state()
    state_file = f"state-{secrets.token_hex(6)}.npz"
    _atomic_write(folder / state_file, lambda fh: np.savez(fh, **state))
    pause_point("checkpoint-state-written")
    meta = dict(
        meta,
        draws_done=acc.draws_done,
        next_block=acc.next_block,
        state_file=state_file,
        spool=sink.specs() if isinstance(sink, SpoolSink) else {},
        version=CHECKPOINT_VERSION,
    )
    _atomic_write(folder / "meta.json", lambda fh: fh.write(json.dumps(meta, indent=1).encode()))
    _fsync_dir(folder)
    for old in folder.glob("state-*.npz"):
        if old.name != state_file:
            old.unlink(missing_ok=True)


_STATE_FILE = re.compile(r"state-[0-9a-f]{12}\.npz")


def _well_formed(meta, state: Mapping[str, np.ndarray]) -> bool:
    """Whether a checkpoint's meta and state have every field a resume reads, of its type."""
    fields = {"draws_done": int, "seed": int, "scenario_sha256": str, "spool": dict}
    if not all(isinstance(meta.get(k), t) for k, t in fields.items()):
        return False
    for spec in meta["spool"].values():
        try:
            np.dtype(spec["dtype"])
            segments = spec["segments"]
            ok = all(isinstance(v, int) for v in [spec["rows"], *spec["row_shape"]]) and all(
                len(s) == 2 and all(isinstance(v, int) and v >= 0 for v in s) for s in segments
            )
        except (TypeError, KeyError, ValueError):
            return False
        if not ok:
            return False
    return all(
        k in state and state[k].shape == (1,) for k in ("draws_done", "next_block", "stopped")
    )


def load_checkpoint(folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    def damaged(why: str) -> ConfigError:
        return ConfigError(f"{folder}: the checkpoint is damaged ({why}); start over with --force")

    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError) as exc:
        raise damaged(type(exc).__name__) from None
    if not isinstance(meta, dict):
        raise damaged("fields missing or of the wrong type")
    if meta.get("version") not in (None, CHECKPOINT_VERSION):
        raise ConfigError(
            f"{folder}: checkpoint format {meta.get('version')} is not "
            f"{CHECKPOINT_VERSION} (written by another g3sim version); start over with --force"
        )
    state_file = meta.get("state_file")
    if not isinstance(state_file, str) or not _STATE_FILE.fullmatch(state_file):
        raise damaged("fields missing or of the wrong type")
    try:
        with np.load(folder / state_file, allow_pickle=False) as z:
            state = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise damaged(type(exc).__name__) from None
    if not _well_formed(meta, state):
        raise damaged("fields missing or of the wrong type")
    if int(state["draws_done"][0]) != meta["draws_done"]:
        raise ConfigError(
            f"{folder}: checkpoint state and metadata disagree; start over with --force"
        )
    return meta, state


@contextlib.contextmanager
def _signals_as_exceptions():
    """SIGTERM → :class:`Interrupted` (exit 143); SIGINT stays KeyboardInterrupt (exit 130)."""

    def on_term(signum, frame):
        raise Interrupted("terminated (SIGTERM)", 143)

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_to_file(
    scenario: Scenario,
    output: str | os.PathLike,
    *,
    force: bool = False,
    resume: bool = False,
    draws: int | None = None,
    seed: int | None = None,
    design: str | None = None,
    keep_draws: bool | None = None,
    workers: int = 1,
    history: bool = True,
    target_halfwidth: float | None = None,
    max_draws: int | None = None,
    target_year: int | None = None,
    progress=None,
    command: str = "",
    every_s: float = 10.0,
    resume_hint: str = "",
    scheduler: str | None = None,
):
    """Run ``scenario`` into the results file ``output``, checkpointing as it goes.

    The whole run, from the first look at an old checkpoint to the final write, holds the
    output's exclusive lock (:func:`simulator.locking.output_lock`): a second run on the same
    output fails at once, and never deletes a checkpoint a live run holds.

    Returns the summary Dataset (without per-draw variables, which went to the file).
    """
    from .engine import stop_rule, without_history
    from .results import check_writable, remove_stale_temps

    output = Path(output)
    check_encodable(output)
    if not history:
        scenario = without_history(scenario)
    stop, draws = stop_rule(scenario, target_halfwidth, max_draws, target_year, draws)
    check_writable(output, force=True)  # the folder exists and is writable: the lock goes there
    with output_lock(output, command=command):
        remove_stale_temps(output)
        meta, state = _take_checkpoint_folder(output, resume=resume, force=force)
        if resume and seed is None and scenario.seed is None:
            seed = int(meta["seed"])
        scenario = resolve(scenario, draws=draws, seed=seed, design=design, keep_draws=keep_draws)
        stop_meta = [stop.halfwidth, stop.year] if stop else None
        if resume and (meta["scenario_sha256"] != scenario.sha256 or meta.get("stop") != stop_meta):
            raise ConfigError(
                f"{checkpoint_dir(output)} was written by a different scenario, seed or stop rule "
                f"(checkpoint {meta['scenario_sha256'][:12]}, now {scenario.sha256[:12]}); "
                "rerun with the same file and options, or start over with --force"
            )
        check_writable(output, force=force or resume)
        job = _CheckpointedRun(scenario, output, stop, meta, state, resume_hint or "")
        job.fold(workers=workers, scheduler=scheduler, progress=progress, every_s=every_s)
        return job.write(command)


def _take_checkpoint_folder(output: Path, *, resume: bool, force: bool):
    """The checkpoint to resume from (meta, state), or (None, None) after clearing the way."""
    folder = checkpoint_dir(output)
    if resume:
        if not (folder / "meta.json").exists():
            raise ConfigError(
                f"{output}: no checkpoint to resume ({folder} is missing); run without --resume"
            )
        return load_checkpoint(folder)
    if folder.exists():
        if not force:
            raise ConfigError(
                f"{folder} holds an interrupted run; continue it with --resume, or discard it "
                "with --force"
            )
        shutil.rmtree(folder)
    return None, None


class _CheckpointedRun:
    """One run into a file: its accumulator, spool and checkpoints (the lock is held outside)."""

    def __init__(self, scenario, output: Path, stop, meta, state, resume_hint: str):
        self.scenario, self.output, self.folder = scenario, output, checkpoint_dir(output)
        self.resume_hint = resume_hint or "the same command"
        self.t0 = time.perf_counter()
        self.runner = BlockRunner(scenario)
        try:
            self.folder.mkdir(exist_ok=True)
            for tmp in self.folder.glob(".*.tmp"):  # from a checkpoint write that was killed
                tmp.unlink()
            sink = None
            if scenario.keep_draws:
                sink = (
                    SpoolSink.resume(self.folder, meta["spool"], meta["draws_done"])
                    if meta
                    else SpoolSink(self.folder)
                )
        except SpoolDamaged as exc:
            raise ConfigError(
                f"{self.folder}: the checkpoint is damaged ({exc}); start over with --force"
            ) from None
        except OSError as exc:
            raise os_failure(self.folder, exc, doing="prepare the checkpoint") from None
        self.acc = Accumulator(self.runner, stop, sink=sink)
        self.elapsed_before = 0.0
        if meta is not None:
            self.acc.restore(state)
            self.elapsed_before = float(meta.get("elapsed_s", 0.0))
        self.meta_base = {
            "scenario_toml": scenario.to_toml(),
            "scenario_sha256": scenario.sha256,
            "seed": scenario.seed,
            "stop": [stop.halfwidth, stop.year] if stop else None,
            "output": str(output),
        }
        try:
            self.checkpoint()  # at once: an interrupted run can always be resumed
        except OSError as exc:
            raise os_failure(self.folder, exc, doing="write a checkpoint") from None

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.t0

    def checkpoint(self) -> None:
        save_checkpoint(self.folder, self.acc, dict(self.meta_base, elapsed_s=self.elapsed()))

    def fold(self, *, workers, scheduler, progress, every_s: float) -> None:
        last = time.monotonic()

        def checkpoint_now_and_then():
            nonlocal last
            pause_point("block-folded")
            if time.monotonic() - last >= every_s:
                self.checkpoint()
                last = time.monotonic()

        try:
            with _signals_as_exceptions():
                fold_blocks(
                    self.acc,
                    workers=workers,
                    scheduler=scheduler,
                    progress=progress,
                    after_block=checkpoint_now_and_then,
                )
        except (KeyboardInterrupt, Interrupted) as exc:
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # checkpoint undisturbed
            try:
                saved = self._final_checkpoint()
            finally:
                signal.signal(signal.SIGINT, previous)
            code = exc.exit_code if isinstance(exc, Interrupted) else 130
            what = str(exc) if isinstance(exc, Interrupted) else "interrupted (SIGINT)"
            raise Interrupted(f"{what}; {saved}", code) from None
        except ModelError:
            raise  # deterministic: resuming would meet it again
        except G3simError as exc:  # a lost worker or cluster
            exc.args = (f"{exc.args[0]}; {self._final_checkpoint()}",)
            raise exc from None
        except OSError as exc:  # the spool or a checkpoint could not be written
            err = os_failure(self.folder, exc, doing="write the checkpoint")
            err.args = (f"{err.args[0]}, then {self._final_checkpoint()}",)
            raise err from None

    def _final_checkpoint(self) -> str:
        """Save a last consistent checkpoint if possible; say where and how to resume."""
        done, total = self.acc.draws_done, self.scenario.draws
        try:
            self.checkpoint()
            where = f"checkpoint saved in {self.folder} after {done:,} of {total:,} draws"
        except (OSError, G3simError):
            where = f"the last checkpoint in {self.folder} is intact"
        return f"{where}; resume with: {self.resume_hint} --resume"

    def write(self, command: str):
        """Verify the spool, write the results file, and only then remove the checkpoint."""
        from .results import build_dataset, per_draw_specs, write_results

        ds = build_dataset(self.acc.result(), elapsed_s=self.elapsed(), command=command)
        per_draw = {}
        sink = self.acc.sink
        pause_point("final-write")
        if sink is not None:
            try:
                sink.verify()
            except SpoolDamaged as exc:
                raise OutputError(
                    f"{self.folder}: the per-draw spool is damaged ({exc}); its draws cannot be "
                    "recovered: start over with --force"
                ) from None
            for name, (dims, attrs) in per_draw_specs(self.scenario).items():
                if name in sink.vars:  # it holds exactly the folded draws
                    per_draw[name] = (dims, sink.vars[name], attrs)
        write_results(ds, per_draw, self.output, force=True)
        shutil.rmtree(self.folder, ignore_errors=True)
        return ds
