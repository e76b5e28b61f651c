"""Two scenarios run on common random numbers and compared (:func:`compare_scenarios`)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import xarray as xr

from ..runs import resolve_scenario, run
from ..scenario import Scenario
from .comparison import compare_results

ProgressFn = Callable[[int, int], None]


def compare_scenarios(
    a: Scenario,
    b: Scenario,
    *,
    draws: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    history: bool = True,
    progress: Callable[[], AbstractContextManager[ProgressFn | None]] | None = None,
    command: str = "",
) -> xr.Dataset:
    """Run ``a`` and ``b`` on common random numbers and compare them (:func:`compare_results`).

    Both run with A's draws and seed (``draws``/``seed`` override A's; without a seed anywhere
    one is drawn from fresh entropy) and keep their per-draw data, so the difference is
    estimated from paired draws.

    Parameters
    ----------
    progress
        Called once per run for a context manager yielding that run's progress callback.
    """
    sa = resolve_scenario(a, draws=draws, seed=seed, keep_draws=True)
    sb = resolve_scenario(b, draws=sa.draws, seed=sa.seed, keep_draws=True)
    runs = []
    for sc in (sa, sb):
        with progress() if progress is not None else nullcontext() as report:
            runs.append(run(sc, progress=report, command=command, workers=workers, history=history))
    return compare_results(*runs)


__all__ = ["compare_scenarios"]
