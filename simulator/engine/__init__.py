"""The block engine: sample → model → ranks → streaming reducers.

A run is a sequence of blocks of ``block_size`` draws, each reduced independently
(:mod:`.block`) to typed additive state (:mod:`.state`) and folded in block order
(:mod:`.fold`), locally or on a cluster (:mod:`.executors`), so that results are bit-identical for
any number of workers. This module is the engine's face: it re-exports the names other layers use.
"""

from __future__ import annotations

import secrets
import time

from ..errors import ConfigError, ModelError
from ..scenario import Scenario, scenario_from_dict
from .block import BlockRunner, block_length, n_blocks
from .fold import (
    Accumulator,
    FoldedRun,
    KeptSink,
    MemorySink,
    ProgressFn,
    StopRule,
    fold_blocks,
)
from .ranks import PAIRWISE_MAX_COUNTRIES, focus_ranks, rank_counts, ranks_min
from .state import BlockResult, KeptRows, ReducerState, WeightedSums

__all__ = [
    "PAIRWISE_MAX_COUNTRIES",
    "Accumulator",
    "BlockResult",
    "BlockRunner",
    "FoldedRun",
    "KeptRows",
    "KeptSink",
    "MemorySink",
    "ModelError",
    "ProgressFn",
    "ReducerState",
    "StopRule",
    "WeightedSums",
    "block_length",
    "focus_ranks",
    "fold_blocks",
    "n_blocks",
    "rank_counts",
    "ranks_min",
]

DEFAULT_MAX_DRAWS = 10_000_000  # the cap of a run with a target half-width
KEEP_DRAWS_LIMIT = 1_000_000  # keep per-draw data by default up to this many draws
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def fresh_seed() -> int:
    """A seed from fresh OS entropy (63 bits, so that it fits a signed 64-bit attribute)."""
    return secrets.randbits(63)


def resolve(
    scenario: Scenario,
    *,
    draws: int | None = None,
    seed: int | None = None,
    design: str | None = None,
    keep_draws: bool | None = None,
) -> Scenario:
    """The scenario exactly as it will run: overrides applied, a seed and ``keep_draws`` set."""
    scenario = scenario.with_updates(draws=draws, seed=seed, design=design, keep_draws=keep_draws)
    updates = {}
    if scenario.seed is None:
        updates["seed"] = fresh_seed()
    if scenario.keep_draws is None:
        updates["keep_draws"] = scenario.draws <= KEEP_DRAWS_LIMIT
    return scenario.with_updates(**updates) if updates else scenario


def without_history(scenario: Scenario) -> Scenario:
    """The scenario with its ``[[observations]]`` removed (``--no-history``)."""
    if not scenario.observations:
        return scenario
    data = {k: v for k, v in scenario.data.items() if k != "observations"}
    return scenario_from_dict(data, source=scenario.source)


def stop_rule(
    scenario: Scenario,
    target_halfwidth: float | None,
    max_draws: int | None,
    target_year: int | None,
    draws: int | None,
) -> tuple[StopRule | None, int | None]:
    """The stop rule of ``--target-halfwidth`` (or None), and the draws to plan for."""
    if target_halfwidth is None:
        if max_draws is not None or target_year is not None:
            given = "--max-draws" if max_draws is not None else "--target-year"
            raise ConfigError(
                f"{given} works with --target-halfwidth; add e.g. --target-halfwidth 0.005, "
                "or use -n for a fixed number of draws"
            )
        return None, draws
    if not 0 < target_halfwidth <= 0.5:
        raise ConfigError(
            f"--target-halfwidth {target_halfwidth:g}: must be in (0, 0.5], e.g. 0.005"
        )
    year = target_year if target_year is not None else scenario.years[-1]
    if year not in scenario.years:
        raise ConfigError(
            f"--target-year {year} is not a year of the scenario "
            f"({', '.join(map(str, scenario.years))})"
        )
    return StopRule(target_halfwidth, year), (DEFAULT_MAX_DRAWS if max_draws is None else max_draws)


def run(
    scenario: Scenario,
    *,
    draws: int | None = None,
    seed: int | None = None,
    design: str | None = None,
    keep_draws: bool | None = None,
    progress: ProgressFn | None = None,
    command: str = "",
    workers: int = 1,
    history: bool = True,
    target_halfwidth: float | None = None,
    max_draws: int | None = None,
    target_year: int | None = None,
    scheduler: str | None = None,
):
    """Run a scenario and return its results as an :class:`xarray.Dataset`.

    Parameters
    ----------
    scenario
        A validated scenario (:func:`simulator.scenario.load_scenario`).
    draws, seed, design, keep_draws
        Override the scenario's values. Without a seed anywhere, one is drawn from fresh
        entropy and stored in the results.
    progress
        Called as ``progress(draws_done, draws_total)`` after every block.
    workers
        Local worker processes (1: run in this process). Results are identical for any count.
    history
        Condition on the scenario's ``[[observations]]`` (False: ignore them).
    scheduler
        Address of a Dask scheduler (``tcp://host:8786``): blocks run on that cluster.
    target_halfwidth, max_draws, target_year
        Sequential stopping: add blocks until the 95% half-width of P(focus rank ≤ k) in
        ``target_year`` (default: the last year) is ≤ ``target_halfwidth`` for every metric,
        up to ``max_draws`` (default 10,000,000). ``draws`` is then ignored.
    command
        The command line, recorded in the results' attributes.
    """
    from ..results import build_dataset

    if not history:
        scenario = without_history(scenario)
    stop, draws = stop_rule(scenario, target_halfwidth, max_draws, target_year, draws)
    scenario = resolve(scenario, draws=draws, seed=seed, design=design, keep_draws=keep_draws)
    t0 = time.perf_counter()
    acc = Accumulator(BlockRunner(scenario), stop)
    fold_blocks(acc, workers=workers, scheduler=scheduler, progress=progress)
    elapsed = time.perf_counter() - t0
    return build_dataset(acc.result(), elapsed_s=elapsed, command=command)
