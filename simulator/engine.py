"""The block engine: sample → model → ranks → streaming reducers.

A run is a sequence of blocks of ``block_size`` draws (the last one may be partial). Each block is
independent (its own random streams, see sampling.py) and reduces to a :class:`BlockResult`:
integer rank counts, integer histograms of scores, float sums, and, when draws are kept, the
focus country's per-draw ranks and scores and the factor values. The :class:`Accumulator` folds
block results in block order, whatever order they finish in, so floating-point sums, and hence
the results file, are bit-identical for any number of workers.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import G3simError
from .models import Model, build_model
from .sampling import StreamFactory, sample_factors
from .scenario import Scenario

KEEP_DRAWS_LIMIT = 1_000_000  # keep per-draw data by default up to this many draws
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


class ModelError(G3simError):
    """The model produced something the engine cannot rank (NaN or inf)."""


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


def n_blocks(scenario: Scenario) -> int:
    return -(-scenario.draws // scenario.block_size)


def block_length(scenario: Scenario, block: int) -> int:
    return min(scenario.block_size, scenario.draws - block * scenario.block_size)


def ranks_min(x: np.ndarray) -> np.ndarray:
    """Competition ranks along the last axis: ``1 + #{j : x_j > x_i}`` (ties share the best).

    The reference definition; the engine uses the faster :func:`rank_counts` and
    :func:`focus_ranks`, which tests check against this.
    """
    return 1 + (x[..., None, :] > x[..., :, None]).sum(axis=-1, dtype=np.int16)


def focus_ranks(x: np.ndarray, focus: int) -> np.ndarray:
    """Rank of country ``focus`` for every (draw, year) of ``x`` (n, year, country): int16."""
    return 1 + (x > x[..., focus : focus + 1]).sum(axis=-1, dtype=np.int16)


PAIRWISE_MAX_COUNTRIES = 24  # measured crossover between the two rank-count methods


def rank_counts(x: np.ndarray) -> np.ndarray:
    """How many draws give each country each rank: ``(year, country, rank)`` int64 counts.

    ``x`` is ``(n, year, country)``. Ranks follow :func:`ranks_min`. For a few countries,
    pairwise comparisons on country-major rows; for more, one sort per (draw, year): the country at
    sorted position p has rank 1 + (start of p's group of tied values), so counts come from one
    bincount of (country, rank) pairs with no inverse permutation.
    """
    _, ny, nc = x.shape
    counts = np.empty((ny, nc, nc), dtype=np.int64)
    if nc <= PAIRWISE_MAX_COUNTRIES:
        xt = np.ascontiguousarray(x.transpose(1, 2, 0))  # (year, country, n)
        above = np.zeros(xt.shape, dtype=np.int8)  # number of rivals strictly above
        tmp = np.empty(xt.shape, dtype=bool)
        for j in range(nc):
            np.greater(xt[:, j : j + 1, :], xt, out=tmp)
            np.add(above, tmp.view(np.int8), out=above)
        for y in range(ny):
            for c in range(nc):
                counts[y, c] = np.bincount(above[y, c], minlength=nc)
        return counts
    neg = np.negative(x)
    order = np.argsort(neg, axis=-1)  # country at each descending position
    neg.sort(axis=-1)
    start = np.empty(x.shape, dtype=np.intp)
    start[..., 0] = 0
    new_group = neg[..., 1:] != neg[..., :-1]
    np.multiply(new_group, np.arange(1, nc), out=start[..., 1:])
    np.maximum.accumulate(start, axis=-1, out=start)
    order *= nc
    order += start
    order += (np.arange(ny) * nc * nc)[:, None]
    return np.bincount(order.ravel(), minlength=ny * nc * nc).reshape(ny, nc, nc)


@dataclass
class BlockResult:
    """What one block reduces to. Integer counts add exactly; sums are folded in block order."""

    block: int
    n: int
    rank_counts: np.ndarray  # (metric, year, country, rank) int64
    hist: np.ndarray  # (metric, year, country, bin) int64
    sum1: np.ndarray  # (metric, year, country) float64
    sum2: np.ndarray  # (metric, year, country) float64
    focus_rank: np.ndarray | None = None  # (n, metric, year) int16
    focus_value: np.ndarray | None = None  # (n, metric, year) float64
    factor_value: np.ndarray | None = None  # (n, factor) float64


class BlockRunner:
    """Runs one block of a resolved scenario; picklable by its scenario for worker processes."""

    def __init__(self, scenario: Scenario, model: Model | None = None):
        self.scenario = scenario
        self.model = model if model is not None else build_model(scenario)
        m = self.model
        self.shape = (len(m.metrics), len(m.years), len(m.countries))
        self.bins = [m.bins(metric) for metric in m.metrics]
        if len({b.n for b in self.bins}) > 1:
            raise ModelError(f"model {m.name}: every metric's Bins must have the same n")
        self.nbins = self.bins[0].n

    def __call__(self, block: int) -> BlockResult:
        sc, m = self.scenario, self.model
        n = block_length(sc, block)
        factors = sample_factors(
            sc.factors,
            sc.correlation,
            design=sc.design,
            seed=sc.seed,
            block=block,
            n=n,
            block_size=sc.block_size,
        )
        scores = m.simulate(factors, StreamFactory(sc.seed, block), n)
        nm, ny, nc = self.shape
        rank_counts_ = np.empty((nm, ny, nc, nc), dtype=np.int64)
        hist = np.empty((nm, ny, nc, self.nbins), dtype=np.int64)
        sum1 = np.empty((nm, ny, nc))
        sum2 = np.empty((nm, ny, nc))
        keep = bool(sc.keep_draws)
        focus_rank = np.empty((n, nm, ny), dtype=np.int16) if keep else None
        focus_value = np.empty((n, nm, ny)) if keep else None
        fi = m.focus_index
        for k, metric in enumerate(m.metrics):
            x = scores[metric]
            if x.shape != (n, ny, nc):
                raise ModelError(
                    f"model {m.name} returned {metric} with shape {x.shape}, expected {(n, ny, nc)}"
                )
            if not np.isfinite(x).all():
                raise ModelError(
                    f"model {m.name} produced non-finite {metric} values in block {block}; "
                    "check the scenario's factor and [model] ranges"
                )
            rank_counts_[k] = rank_counts(x)
            b = self.bins[k]
            hidx = b.index(x)
            for y in range(ny):
                for c in range(nc):
                    hist[k, y, c] = np.bincount(hidx[:, y, c], minlength=b.n)
            sum1[k] = x.sum(axis=0)
            sum2[k] = np.einsum("ijk,ijk->jk", x, x)
            if keep:
                focus_rank[:, k] = focus_ranks(x, fi)
                focus_value[:, k] = x[:, :, fi]
        factor_value = None
        if keep:
            factor_value = np.empty((n, len(sc.factors)))
            for j, f in enumerate(sc.factors):
                factor_value[:, j] = factors[f.name]
        return BlockResult(
            block, n, rank_counts_, hist, sum1, sum2, focus_rank, focus_value, factor_value
        )


class Accumulator:
    """Folds block results in block order; holds per-draw arrays when draws are kept."""

    def __init__(self, runner: BlockRunner):
        self.scenario = sc = runner.scenario
        nm, ny, nc = runner.shape
        self.nblocks = n_blocks(sc)
        self.rank_counts = np.zeros((nm, ny, nc, nc), dtype=np.int64)
        self.hist = np.zeros((nm, ny, nc, runner.nbins), dtype=np.int64)
        self.sum1 = np.zeros((nm, ny, nc))
        self.sum2 = np.zeros((nm, ny, nc))
        self.draws_done = 0
        self._next = 0
        self._pending: dict[int, BlockResult] = {}
        self.keep = bool(sc.keep_draws)
        if self.keep:
            self.focus_rank = np.zeros((sc.draws, nm, ny), dtype=np.int16)
            self.focus_value = np.zeros((sc.draws, nm, ny))
            self.factor_value = np.zeros((sc.draws, len(sc.factors)))

    def add(self, res: BlockResult) -> None:
        if self.keep:
            lo = res.block * self.scenario.block_size
            self.focus_rank[lo : lo + res.n] = res.focus_rank
            self.focus_value[lo : lo + res.n] = res.focus_value
            self.factor_value[lo : lo + res.n] = res.factor_value
            res.focus_rank = res.focus_value = res.factor_value = None
        self._pending[res.block] = res
        while self._next in self._pending:
            r = self._pending.pop(self._next)
            self.rank_counts += r.rank_counts
            self.hist += r.hist
            self.sum1 += r.sum1
            self.sum2 += r.sum2
            self.draws_done += r.n
            self._next += 1

    @property
    def complete(self) -> bool:
        return self._next == self.nblocks


ProgressFn = Callable[[int, int], None]


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
    command
        The command line, recorded in the results' attributes.
    """
    from .executors import run_blocks
    from .results import build_dataset

    scenario = resolve(scenario, draws=draws, seed=seed, design=design, keep_draws=keep_draws)
    t0 = time.perf_counter()
    runner = BlockRunner(scenario)
    acc = Accumulator(runner)
    for res in run_blocks(scenario, range(acc.nblocks), workers=workers, runner=runner):
        acc.add(res)
        if progress is not None:
            progress(acc.draws_done, scenario.draws)
    elapsed = time.perf_counter() - t0
    return build_dataset(runner, acc, elapsed_s=elapsed, command=command)
