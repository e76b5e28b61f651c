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
import shutil
import signal
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .engine import Accumulator, BlockRunner, fold_blocks, resolve
from .errors import ConfigError, G3simError
from .scenario import Scenario

CHECKPOINT_VERSION = 1


class Interrupted(G3simError):
    """The run was stopped by a signal; its checkpoint was saved."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class SpoolVar:
    """One per-draw variable on disk: rows of ``row_shape`` and ``dtype``, appended in order."""

    def __init__(self, path: Path, dtype: np.dtype, row_shape: tuple[int, ...], rows: int):
        self.path = path
        self.dtype = np.dtype(dtype).newbyteorder("<")  # on disk: little-endian, always
        self.row_shape = tuple(row_shape)
        self.row_bytes = int(np.prod(row_shape, dtype=np.int64)) * self.dtype.itemsize
        self.rows = rows

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.rows, *self.row_shape)

    def append(self, block: np.ndarray) -> None:
        with open(self.path, "ab") as fh:
            fh.write(np.ascontiguousarray(block, dtype=self.dtype).tobytes())
        self.rows += len(block)

    def truncate(self, rows: int) -> None:
        with open(self.path, "ab") as fh:
            fh.truncate(rows * self.row_bytes)
        self.rows = rows

    def sync(self) -> None:
        with open(self.path, "ab") as fh:
            fh.flush()
            os.fsync(fh.fileno())

    def __getitem__(self, key: slice) -> np.ndarray:
        lo, hi, _ = key.indices(self.rows)
        count = max(hi - lo, 0) * (self.row_bytes // self.dtype.itemsize)
        data = np.fromfile(self.path, dtype=self.dtype, count=count, offset=lo * self.row_bytes)
        return data.reshape((max(hi - lo, 0), *self.row_shape)).astype(self.dtype.newbyteorder("="))


class SpoolSink:
    """Per-draw rows to :class:`SpoolVar` files (the accumulator writes them in block order)."""

    def __init__(self, folder: Path, specs: Mapping[str, dict] | None = None):
        self.folder = folder
        self.vars: dict[str, SpoolVar] = {}
        for name, spec in (specs or {}).items():
            self.vars[name] = SpoolVar(
                folder / f"{name}.bin",
                np.dtype(spec["dtype"]),
                tuple(spec["row_shape"]),
                spec["rows"],
            )

    def write(self, start: int, rows: Mapping[str, np.ndarray]) -> None:
        for name, block in rows.items():
            var = self.vars.get(name)
            if var is None:
                var = self.vars[name] = SpoolVar(
                    self.folder / f"{name}.bin", block.dtype, block.shape[1:], 0
                )
            if var.rows != start:  # pragma: no cover - the accumulator writes in order
                raise RuntimeError(f"spool {name}: expected row {var.rows}, got {start}")
            var.append(block)

    def specs(self) -> dict[str, dict]:
        return {
            n: {"dtype": v.dtype.str, "row_shape": list(v.row_shape), "rows": v.rows}
            for n, v in self.vars.items()
        }

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


def save_checkpoint(folder: Path, acc: Accumulator, meta: dict) -> None:
    """Make the folded state durable: spool first, then state, then meta (the commit point)."""
    sink = acc.sink
    if isinstance(sink, SpoolSink):
        sink.sync()
    state = acc.state()
    _atomic_write(folder / "state.npz", lambda fh: np.savez(fh, **state))
    meta = dict(
        meta,
        draws_done=acc.draws_done,
        next_block=acc.next_block,
        spool=sink.specs() if isinstance(sink, SpoolSink) else {},
        version=CHECKPOINT_VERSION,
    )
    _atomic_write(folder / "meta.json", lambda fh: fh.write(json.dumps(meta, indent=1).encode()))


def _well_formed(meta, state: Mapping[str, np.ndarray]) -> bool:
    """Whether a checkpoint's meta and state have every field a resume reads, of its type."""
    if not isinstance(meta, dict):
        return False
    fields = {"draws_done": int, "seed": int, "scenario_sha256": str, "spool": dict}
    if not all(isinstance(meta.get(k), t) for k, t in fields.items()):
        return False
    for spec in meta["spool"].values():
        try:
            np.dtype(spec["dtype"])
            ok = all(isinstance(v, int) for v in [spec["rows"], *spec["row_shape"]])
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
        with np.load(folder / "state.npz", allow_pickle=False) as z:
            state = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise damaged(type(exc).__name__) from None
    if isinstance(meta, dict) and meta.get("version") not in (None, CHECKPOINT_VERSION):
        raise ConfigError(
            f"{folder}: checkpoint format {meta.get('version')} is not "
            f"{CHECKPOINT_VERSION}; start over with --force"
        )
    if not _well_formed(meta, state):
        raise damaged("fields missing or of the wrong type")
    if meta.get("version") != CHECKPOINT_VERSION:
        raise ConfigError(
            f"{folder}: checkpoint format {meta.get('version')} is not "
            f"{CHECKPOINT_VERSION}; start over with --force"
        )
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

    Returns the summary Dataset (without per-draw variables, which went to the file).
    """
    from .engine import stop_rule, without_history
    from .results import build_dataset, check_writable, per_draw_specs, write_results

    output = Path(output)
    folder = checkpoint_dir(output)
    if not history:
        scenario = without_history(scenario)
    stop, draws = stop_rule(scenario, target_halfwidth, max_draws, target_year, draws)

    meta = state = None
    if resume:
        if not (folder / "meta.json").exists():
            raise ConfigError(
                f"{output}: no checkpoint to resume ({folder} is missing); run without --resume"
            )
        meta, state = load_checkpoint(folder)
        if seed is None and scenario.seed is None:
            seed = int(meta["seed"])
    elif folder.exists():
        if not force:
            raise ConfigError(
                f"{folder} holds an interrupted run; continue it with --resume, or discard it "
                "with --force"
            )
        shutil.rmtree(folder)
    scenario = resolve(scenario, draws=draws, seed=seed, design=design, keep_draws=keep_draws)
    stop_meta = [stop.halfwidth, stop.year] if stop else None
    if resume and (meta["scenario_sha256"] != scenario.sha256 or meta.get("stop") != stop_meta):
        raise ConfigError(
            f"{folder} was written by a different scenario, seed or stop rule "
            f"(checkpoint {meta['scenario_sha256'][:12]}, now {scenario.sha256[:12]}); "
            "rerun with the same file and options, or start over with --force"
        )
    check_writable(output, force=force or resume)

    t0 = time.perf_counter()
    runner = BlockRunner(scenario)
    folder.mkdir(exist_ok=True)
    sink = SpoolSink(folder, meta["spool"] if meta else None) if scenario.keep_draws else None
    acc = Accumulator(runner, stop, sink=sink)
    elapsed_before = 0.0
    if resume:
        acc.restore(state)
        for var in sink.vars.values() if sink else ():
            var.truncate(acc.draws_done)  # drop a torn tail written after the checkpoint
        elapsed_before = float(meta.get("elapsed_s", 0.0))
    meta_base = {
        "scenario_toml": scenario.to_toml(),
        "scenario_sha256": scenario.sha256,
        "seed": scenario.seed,
        "stop": stop_meta,
        "output": str(output),
    }

    def checkpoint():
        save_checkpoint(
            folder, acc, dict(meta_base, elapsed_s=elapsed_before + time.perf_counter() - t0)
        )

    checkpoint()  # at once: an interrupted run can always be resumed
    last = time.monotonic()

    def checkpoint_now_and_then():
        nonlocal last
        if time.monotonic() - last >= every_s:
            checkpoint()
            last = time.monotonic()

    try:
        with _signals_as_exceptions():
            fold_blocks(
                acc,
                workers=workers,
                scheduler=scheduler,
                progress=progress,
                after_block=checkpoint_now_and_then,
            )
    except (KeyboardInterrupt, Interrupted) as exc:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # finish the checkpoint undisturbed
        try:
            checkpoint()
        finally:
            signal.signal(signal.SIGINT, previous)
        code = exc.exit_code if isinstance(exc, Interrupted) else 130
        what = str(exc) if isinstance(exc, Interrupted) else "interrupted (SIGINT)"
        raise Interrupted(
            f"{what} after {acc.draws_done:,} of {scenario.draws:,} draws; checkpoint saved in "
            f"{folder}; resume with: {resume_hint or 'the same command'} --resume",
            code,
        ) from None
    elapsed = elapsed_before + time.perf_counter() - t0
    ds = build_dataset(runner, acc, elapsed_s=elapsed, command=command)
    per_draw = {}
    if sink is not None:
        for name, (dims, attrs) in per_draw_specs(scenario).items():
            if name in sink.vars:  # it holds exactly the folded draws
                per_draw[name] = (dims, sink.vars[name], attrs)
    write_results(ds, per_draw, output, force=True)
    shutil.rmtree(folder, ignore_errors=True)
    return ds
