"""The one place a run is assembled: :func:`prepare` and :func:`execute`, used by :func:`run`
(in memory) and :func:`run_to_file` (checkpointed, locked, resumable).

A run is: the scenario with or without its history and a stop rule (:func:`prepare`), resolved
(a seed drawn when none is given), a :class:`~simulator.engine.BlockRunner` and an
:class:`~simulator.engine.Accumulator` folding its blocks (:func:`execute`), then the results
Dataset. A run into a file adds the output's lock, a checkpoint folder with a spool of per-draw
rows, and the final atomic write; its file equals an in-memory run's, and a resumed run's equals
an uninterrupted one's (blocks are folded in the same order from the same state).
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._faults import pause_point
from ..engine import (
    Accumulator,
    BlockRunner,
    FoldedRun,
    ProgressFn,
    StopRule,
    deferred_signals,
    fold_blocks,
)
from ..errors import (
    FORCE,
    RESUME,
    ConfigError,
    G3simError,
    Interrupted,
    ModelError,
    OutputError,
    SpoolDamaged,
    check_encodable,
    os_failure,
)
from ..results import (
    build_dataset,
    check_writable,
    per_draw_specs,
    remove_stale_temps,
    write_results,
)
from ..results.locking import output_lock
from ..scenario import Scenario
from .checkpoint import SpoolSink, checkpoint_dir, load_checkpoint, save_checkpoint
from .forecast import ShortfallWatch
from .options import FileOptions, RunOptions, resolve_scenario, run_options, split_file_fields


@dataclass(frozen=True)
class Prepared:
    """A scenario ready to resolve: history kept or dropped, the stop rule and draws decided."""

    scenario: Scenario
    stop: StopRule | None
    draws: int | None

    def resolve(self, options: RunOptions, *, seed: int | None = None) -> Scenario:
        """The scenario as it runs (``seed``, e.g. a checkpoint's, wins over the options')."""
        return resolve_scenario(
            self.scenario,
            draws=self.draws,
            seed=options.seed if seed is None else seed,
            design=options.design,
            keep_draws=options.keep_draws,
        )


def prepare(scenario: Scenario, options: RunOptions) -> Prepared:
    """Drop the history if asked, and decide the stop rule (checked against the scenario)."""
    return Prepared(*options.planned(scenario))


def execute(
    acc: Accumulator,
    options: RunOptions,
    *,
    progress: ProgressFn | None = None,
    after_block: Callable[[], None] | None = None,
) -> FoldedRun:
    """Fold the blocks ``acc`` still lacks (where ``options`` say), and return the run.

    A run with a stop rule that plainly cannot reach its target within its draws warns
    (:class:`~simulator.errors.G3simWarning`) after its first blocks.
    """
    watch = ShortfallWatch(acc)

    def after() -> None:
        watch.check()
        if after_block is not None:
            after_block()

    fold_blocks(
        acc,
        workers=options.workers,
        scheduler=options.scheduler,
        progress=progress,
        after_block=after,
    )
    return acc.result()


def run(
    scenario: Scenario,
    options: RunOptions | None = None,
    *,
    progress: ProgressFn | None = None,
    **fields: Any,
) -> xr.Dataset:
    """Run a scenario and return its results as an :class:`xarray.Dataset`.

    Parameters
    ----------
    scenario
        A validated scenario (:func:`simulator.load_scenario`).
    options
        :class:`~simulator.runs.options.RunOptions`; keyword ``fields`` override them one by
        one (``draws=``, ``seed=``, ``workers=`` ...), and ``target_halfwidth``, ``max_draws``,
        ``target_year`` make its ``stop`` (:class:`~simulator.runs.options.StopTarget`).
    progress
        Called as ``progress(draws_done, draws_total)`` after every block.
    """
    options = run_options(options, fields)
    prepared = prepare(scenario, options)
    scenario = prepared.resolve(options)
    t0 = time.perf_counter()
    acc = Accumulator(BlockRunner(scenario), prepared.stop)
    folded = execute(acc, options, progress=progress)
    elapsed = time.perf_counter() - t0
    return build_dataset(folded, elapsed_s=elapsed, command=options.command)


def run_to_file(
    scenario: Scenario,
    output: str | os.PathLike,
    options: RunOptions | None = None,
    files: FileOptions | None = None,
    *,
    progress: ProgressFn | None = None,
    **fields: Any,
) -> xr.Dataset:
    """Run ``scenario`` into the results file ``output``, checkpointing as it goes.

    ``fields`` are those of :func:`run` and of :class:`~simulator.runs.options.FileOptions`
    (``force=``, ``resume=``, ``every_s=``, ``resume_hint=``). The whole run, from the first
    look at an old checkpoint to the final write, holds the output's exclusive lock
    (:func:`simulator.results.locking.output_lock`): a second run on the same output fails at
    once, and never deletes a checkpoint a live run holds.

    Returns the summary Dataset (without per-draw variables, which went to the file).
    """
    output = Path(output)
    check_encodable(output)
    run_fields, file_fields = split_file_fields(fields)
    options = run_options(options, run_fields)
    files = replace(files if files is not None else FileOptions(), **file_fields)
    prepared = prepare(scenario, options)
    check_writable(output, force=True)  # the folder exists and is writable: the lock goes there
    with output_lock(output, command=options.command), _signals_as_exceptions():
        remove_stale_temps(output)
        meta, state = _take_checkpoint_folder(output, resume=files.resume, force=files.force)
        seed = None
        if files.resume and options.seed is None and prepared.scenario.seed is None:
            seed = int(meta["seed"])
        scenario = prepared.resolve(options, seed=seed)
        if files.resume:
            _check_same_run(output, meta, scenario, prepared.stop)
        check_writable(output, force=files.force or files.resume)
        job = _CheckpointedRun(scenario, output, prepared.stop, meta, state, files.resume_hint)
        job.fold(options, progress=progress, every_s=files.every_s)
        return job.write(options.command)


def _check_same_run(output: Path, meta: dict, scenario: Scenario, stop: StopRule | None) -> None:
    stop_meta = [stop.halfwidth, stop.year] if stop else None
    if meta["scenario_sha256"] != scenario.sha256 or meta.get("stop") != stop_meta:
        raise ConfigError(
            f"{checkpoint_dir(output)} was written by a different scenario, seed or stop rule "
            f"(checkpoint {meta['scenario_sha256'][:12]}, now {scenario.sha256[:12]}); "
            f"rerun with the same file and options, or start over with {FORCE}"
        )


def _take_checkpoint_folder(output: Path, *, resume: bool, force: bool):
    """The checkpoint to resume from (meta, state), or (None, None) after clearing the way.

    A folder without ``meta.json`` (a run killed before its first checkpoint committed) holds
    nothing to resume; with the output's lock held, it is removed.
    """
    folder = checkpoint_dir(output)
    committed = (folder / "meta.json").exists()
    if resume:
        if not committed:
            missing = folder / "meta.json" if folder.exists() else folder
            raise ConfigError(
                f"{output}: no checkpoint to resume ({missing} is missing); run without {RESUME}"
            )
        return load_checkpoint(folder)
    if committed and not force:
        raise ConfigError(
            f"{folder} holds an interrupted run; continue it with {RESUME}, or discard it "
            f"with {FORCE}"
        )
    if folder.exists():
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            raise os_failure(folder, exc, doing="remove the old checkpoint") from None
    return None, None


class _CheckpointedRun:
    """One run into a file: its accumulator, spool and checkpoints (the lock is held outside)."""

    def __init__(
        self,
        scenario: Scenario,
        output: Path,
        stop: StopRule | None,
        meta: dict | None,
        state: Mapping[str, np.ndarray] | None,
        resume_hint: str,
    ):
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
                f"{self.folder}: the checkpoint is damaged ({exc}); start over with {FORCE}"
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
        with deferred_signals():  # a checkpoint is whole or not taken
            save_checkpoint(self.folder, self.acc, dict(self.meta_base, elapsed_s=self.elapsed()))

    def fold(self, options: RunOptions, *, progress, every_s: float) -> None:
        last = time.monotonic()

        def checkpoint_now_and_then():
            nonlocal last
            pause_point("block-folded")
            if time.monotonic() - last >= every_s:
                self.checkpoint()
                last = time.monotonic()

        try:
            self.folded = execute(
                self.acc, options, progress=progress, after_block=checkpoint_now_and_then
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
        return f"{where}; resume with: {self.resume_hint} {RESUME}"

    def write(self, command: str):
        """Verify the spool, write the results file, and only then remove the checkpoint."""
        try:
            return self._write(command)
        except (KeyboardInterrupt, Interrupted) as exc:  # the checkpoint holds every draw
            code = exc.exit_code if isinstance(exc, Interrupted) else 130
            what = str(exc) if isinstance(exc, Interrupted) else "interrupted (SIGINT)"
            raise Interrupted(
                f"{what} while writing {self.output}; the checkpoint in {self.folder} holds "
                f"every draw; resume with: {self.resume_hint} {RESUME}",
                code,
            ) from None

    def _write(self, command: str):
        ds = build_dataset(self.folded, elapsed_s=self.elapsed(), command=command)
        per_draw = {}
        sink = self.acc.sink
        pause_point("final-write")
        if sink is not None:
            try:
                sink.verify()
            except SpoolDamaged as exc:
                raise OutputError(
                    f"{self.folder}: the per-draw spool is damaged ({exc}); its draws cannot be "
                    f"recovered: start over with {FORCE}"
                ) from None
            for name, (dims, attrs) in per_draw_specs(self.scenario).items():
                if name in sink.vars:  # it holds exactly the folded draws
                    per_draw[name] = (dims, sink.vars[name], attrs)
        write_results(ds, per_draw, self.output, force=True)
        shutil.rmtree(self.folder, ignore_errors=True)
        return ds


@contextmanager
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
