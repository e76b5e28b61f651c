"""Folding blocks into a run: the :class:`Accumulator`, the stop rule, and :func:`fold_blocks`.

The :class:`Accumulator` folds block results in block order, whatever order they finish in, so
floating-point sums, and hence the results file, are bit-identical for any number of workers.
A finished fold is a :class:`FoldedRun`, the one input of the results dataset.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..models import Model
from ..models.base import Bins
from ..scenario import Scenario
from ..stats import draws_for_halfwidth, ratio_effective_size, round_draws, wilson_interval
from .block import BlockRunner, n_blocks
from .executors import run_blocks
from .history import Observation
from .state import BlockResult, ReducerState


class KeptSink(Protocol):
    """Where per-draw rows go as blocks are folded (in block order)."""

    def write(self, start: int, rows: Mapping[str, np.ndarray]) -> None: ...


class MemorySink:
    """Per-draw rows in memory, as arrays of the run's full length."""

    def __init__(self, draws: int):
        self.draws = draws
        self.arrays: dict[str, np.ndarray] = {}

    def write(self, start: int, rows: Mapping[str, np.ndarray]) -> None:
        for name, block in rows.items():
            if name not in self.arrays:
                self.arrays[name] = np.zeros((self.draws, *block.shape[1:]), block.dtype)
            self.arrays[name][start : start + len(block)] = block


@dataclass(frozen=True)
class StopRule:
    """Stop adding blocks once every metric's headline 95% half-width is ≤ ``halfwidth``.

    The headline is P(focus rank ≤ top_k) in ``year``. The rule is checked after each block is
    folded, in block order, so where a run stops does not depend on the number of workers.
    """

    halfwidth: float
    year: int


TracePoint = tuple[int, np.ndarray, np.ndarray]  # draws, P(focus rank ≤ k) per metric, half-width


@dataclass(frozen=True)
class FoldedRun:
    """A finished fold: everything the results dataset is built from.

    ``scenario`` is the resolved scenario as it ran (its ``draws`` are those planned; ``draws``
    those folded, fewer when a stop rule ended the run early). ``kept`` holds per-draw arrays
    when they were kept in memory (empty otherwise, e.g. when they went to a spool).
    """

    scenario: Scenario
    model: Model
    bins: tuple[Bins, ...]
    report_years: tuple[int, ...]
    observations: tuple[Observation, ...]
    state: ReducerState
    draws: int
    trace: tuple[TracePoint, ...]
    trace_year: int
    stop: StopRule | None
    stop_reason: str
    kept: Mapping[str, np.ndarray]
    #: "smc", "rejection" or "none" (no observations): how the observations conditioned the run.
    conditioning: str = "none"

    @property
    def weighted(self) -> bool:
        return bool(self.observations)


class Accumulator:
    """Folds block results in block order; holds per-draw arrays when draws are kept.

    After each fold it records a convergence trace (draws, headline estimate and 95% half-width
    per metric, for the last reported year or the stop rule's year) and applies the stop rule.
    """

    def __init__(
        self, runner: BlockRunner, stop: StopRule | None = None, sink: KeptSink | None = None
    ):
        self.runner = runner
        self.scenario = sc = runner.scenario
        self.nblocks = n_blocks(sc)
        self.sums: ReducerState | None = None
        self.draws_done = 0
        self._next = 0
        self._pending: dict[int, BlockResult] = {}
        self.sink = sink if sink is not None else (MemorySink(sc.draws) if sc.keep_draws else None)
        self.stop = stop
        self.trace_year = stop.year if stop else runner.report_years[-1]
        self._trace_yi = runner.report_years.index(self.trace_year)
        self._trace: list[TracePoint] = []
        # (draws, hits, Σw, Σb², Σa², Σab) of blocks folded since the trace was last computed:
        # turned into estimates and intervals all at once (per block: 3% of a gaussian race).
        self._pending_trace: list[tuple] = []
        self.stopped = False

    @property
    def kept(self) -> dict[str, np.ndarray]:
        """Per-draw arrays (in-memory sink only)."""
        return self.sink.arrays if isinstance(self.sink, MemorySink) else {}

    @property
    def next_block(self) -> int:
        return self._next

    def add(self, res: BlockResult) -> None:
        if self.stopped:
            return
        self._pending[res.block] = res
        while self._next in self._pending and not self.stopped:
            self._fold(self._pending.pop(self._next))
        if self.stopped:
            self._pending.clear()

    def _fold(self, r: BlockResult) -> None:
        if self.sink is not None:
            self.sink.write(r.block * self.scenario.block_size, r.kept.as_dict())
        if self.sums is None:
            self.sums = r.sums.copy()
        else:
            self.sums.add_(r.sums)
        self.draws_done += r.n
        self._next += 1
        if self.stop is None:
            self._pending_trace.append((self.draws_done, *self._headline_sums()))
            return
        p, half = self.headline()
        self._trace.append((self.draws_done, p, half))
        if np.all(half <= self.stop.halfwidth):
            self.stopped = True

    def state(self) -> dict[str, np.ndarray]:
        """The folded state, for a checkpoint (plain arrays: no pickling)."""
        out = self.sums.to_arrays() if self.sums is not None else {}
        out["draws_done"] = np.array([self.draws_done])
        out["next_block"] = np.array([self._next])
        out["stopped"] = np.array([int(self.stopped)])
        if self.trace:
            d, p, h = zip(*self.trace, strict=True)
            out["trace_draws"], out["trace_p"], out["trace_half"] = map(np.array, (d, p, h))
        return out

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        """Continue from :meth:`state` (a resumed run)."""
        self.sums = ReducerState.from_arrays(state)
        self.draws_done = int(state["draws_done"][0])
        self._next = int(state["next_block"][0])
        self.stopped = bool(state["stopped"][0])
        self._pending_trace = []
        self._trace = []
        if "trace_draws" in state:
            self._trace = [
                (int(d), np.array(p), np.array(h))
                for d, p, h in zip(
                    state["trace_draws"], state["trace_p"], state["trace_half"], strict=True
                )
            ]

    @property
    def trace(self) -> list[TracePoint]:
        """(draws, P(focus rank ≤ k) per metric, its 95% half-width) after each block."""
        if self._pending_trace:
            draws, hits, wsum, wsq, s_aa, s_ab = zip(*self._pending_trace, strict=True)
            p, half = _estimate(
                np.array(hits),
                np.array(wsum)[:, None],
                np.array(wsq)[:, None],
                np.array(s_aa),
                np.array(s_ab),
            )
            self._trace.extend(zip(draws, p, half, strict=True))
            self._pending_trace = []
        return self._trace

    def _headline_sums(self) -> tuple[np.ndarray, float, float, np.ndarray, np.ndarray]:
        """Weighted hits, Σw, Σ_e b_e², Σ_e a_e², Σ_e a_e b_e of the headline cells (the last
        two are the hits themselves without weights: the binomial variance)."""
        s = self.sums
        fi, yi = self.runner.model.focus_index, self._trace_yi
        hits = s.rank_count[:, yi, fi, : self.scenario.top_k].sum(axis=-1)
        if s.weighted is None:
            return hits, s.total_weight, s.total_sq_weight, hits, hits
        ws = s.weighted
        return (
            hits,
            s.total_weight,
            s.total_sq_weight,
            ws.top_sq_sum[:, yi, fi].copy(),  # copies: the sums grow in place
            ws.top_cross_sum[:, yi, fi].copy(),
        )

    def headline(self) -> tuple[np.ndarray, np.ndarray]:
        """Current P(focus rank ≤ k) per metric in the trace year, and its 95% half-width."""
        hits, wsum, wsq, s_aa, s_ab = self._headline_sums()
        return _estimate(hits, np.array(wsum), np.array(wsq), s_aa, s_ab)

    @property
    def complete(self) -> bool:
        return self._next == self.nblocks

    @property
    def stop_reason(self) -> str:
        if self.stop is None:
            return "fixed number of draws"
        target, done = self.stop.halfwidth, self.draws_done
        if self.stopped:
            return f"target half-width {target:g} reached after {done:,} draws"
        half = float(np.max(self._trace[-1][2])) if self._trace else float("nan")
        need = draws_for_halfwidth(done, half, target)
        return (
            f"maximum draws reached: {done:,} draws gave a half-width of {half:.2g}, above the "
            f"target {target:g}; about {round_draws(need):,} draws in all "
            f"({round_draws(max(need - done, 0)):,} more) "
            "would reach it (half-width ∝ 1/√draws)"
        )

    def result(self) -> FoldedRun:
        """The fold so far as a :class:`FoldedRun` (at least one block must be folded)."""
        if self.sums is None:
            raise RuntimeError("no block folded yet")
        r = self.runner
        return FoldedRun(
            scenario=self.scenario,
            model=r.model,
            bins=tuple(r.bins),
            report_years=tuple(r.report_years),
            observations=tuple(r.observations),
            state=self.sums,
            draws=self.draws_done,
            trace=tuple(self.trace),
            trace_year=self.trace_year,
            stop=self.stop,
            stop_reason=self.stop_reason,
            kept=self.kept,
            conditioning=r.conditioning,
        )


def _estimate(hits, wsum, wsq, s_aa, s_ab) -> tuple[np.ndarray, np.ndarray]:
    """P(focus rank ≤ k) from weighted hit sums, and its Wilson 95% half-width on the
    variance-equivalent sample size (:func:`..stats.ratio_effective_size`; for unweighted draws
    exactly their number); element-wise, so one call serves one block or a whole trace."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(wsum > 0, np.clip(hits / wsum, 0.0, 1.0), 0.0)
    ok = (wsum > 0) & (wsq > 0)
    ess = np.where(ok, ratio_effective_size(p, wsum, s_aa, s_ab, wsq), 0.0)
    lo, hi = wilson_interval(p, ess)
    return p, (hi - lo) / 2


ProgressFn = Callable[[int, int], None]


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back until the ``with`` block is done (main thread only).

    Folding a block changes the accumulator in several steps (spool rows, a dozen sums, the
    counters, the trace, the stop flag); a checkpoint reads all of them. A signal handled in
    between (Ctrl-C's KeyboardInterrupt, SIGTERM's Interrupted) would leave a half-folded state
    that a checkpoint then saves as if it were whole. Inside the block the two signals are only
    noted; when it ends, the previous handlers are restored and each noted signal is raised
    again in this thread, at a consistent point.

    (A signal mask is not enough: a process-directed signal that the main thread blocks is
    delivered to another thread, such as a BLAS worker, and CPython then runs the Python handler
    in the main thread all the same.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda signum, frame: noted.append(signum)) for s in held}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in dict.fromkeys(noted):
            signal.raise_signal(s)


def fold_blocks(
    acc: Accumulator,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: ProgressFn | None = None,
    after_block: Callable[[], None] | None = None,
) -> None:
    """Run the blocks ``acc`` still lacks and fold them in, until done or its stop rule says.

    ``progress(draws_done, draws)`` and ``after_block()`` (e.g. a checkpoint) follow each block.
    """
    if acc.stopped:
        return
    sc = acc.scenario
    blocks = run_blocks(
        sc,
        range(acc.next_block, acc.nblocks),
        workers=workers,
        runner=acc.runner,
        scheduler=scheduler,
    )
    with contextlib.closing(blocks):
        for res in blocks:
            with deferred_signals():  # a fold is all or nothing: see deferred_signals
                acc.add(res)
            if progress is not None:
                progress(acc.draws_done, sc.draws)
            if acc.stopped:
                break
            if after_block is not None:
                after_block()
