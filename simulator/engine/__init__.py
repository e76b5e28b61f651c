"""The block engine: sample → model → ranks → streaming reducers.

A run is a sequence of blocks of ``block_size`` draws (the last one may be partial). Each block is
independent (its own random streams, see sampling.py) and reduces to a :class:`BlockResult`:
integer rank counts, integer histograms of scores, float sums, and, when draws are kept, the
focus country's per-draw ranks and scores and the factor values. The :class:`Accumulator` folds
block results in block order, whatever order they finish in, so floating-point sums, and hence
the results file, are bit-identical for any number of workers.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import ConfigError, ModelError
from ..models import Model, build_model
from ..models.base import Bins
from ..sampling import StreamFactory, sample_factors
from ..scenario import Scenario, scenario_from_dict

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


def n_blocks(scenario: Scenario) -> int:
    return -(-scenario.draws // scenario.block_size)


def block_length(scenario: Scenario, block: int) -> int:
    return min(scenario.block_size, scenario.draws - block * scenario.block_size)


def ranks_min(x: np.ndarray) -> np.ndarray:
    """Competition ranks along the last axis: ``1 + #{j : x_j > x_i}`` (ties share the best).

    The reference definition; the engine uses the faster :func:`.kernels.reduce_block`
    (or :func:`rank_counts`) and :func:`focus_ranks`, which tests check against this.
    """
    return 1 + (x[..., None, :] > x[..., :, None]).sum(axis=-1, dtype=np.int16)


def focus_ranks(x: np.ndarray, focus: int) -> np.ndarray:
    """Rank of country ``focus`` for every (draw, year) of ``x`` (n, year, country): int16."""
    return 1 + (x > x[..., focus : focus + 1]).sum(axis=-1, dtype=np.int16)


# Up to this many countries (at most kernels.MAX_COUNTRIES) the compiled kernel counts ranks
# pairwise; beyond, :func:`rank_counts` sorts. A setting, so tests can force the sort.
PAIRWISE_MAX_COUNTRIES = 127


def rank_counts(x: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """How many draws give each country each rank: ``(year, country, rank)`` int64 counts.

    ``x`` is ``(n, year, country)``. Ranks follow :func:`ranks_min`. One sort per (draw, year):
    the country at sorted position p has rank 1 + (start of p's group of tied values), so counts
    come from one bincount of (country, rank) pairs with no inverse permutation. With
    ``weights`` (n,), the counts are sums of the draws' weights (float64). The engine uses this
    beyond :data:`PAIRWISE_MAX_COUNTRIES` countries; below, the compiled kernel is faster.
    """
    _, ny, nc = x.shape
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
    if weights is not None:
        weights = np.broadcast_to(weights[:, None, None], x.shape).ravel()
    return np.bincount(order.ravel(), weights=weights, minlength=ny * nc * nc).reshape(ny, nc, nc)


@dataclass
class BlockResult:
    """What one block reduces to.

    ``sums`` are additive reducer states (rank counts, histograms, moments, weight sums), folded
    by addition in block order; ``kept`` are per-draw rows (only when draws are kept).
    """

    block: int
    n: int
    sums: dict[str, np.ndarray]
    kept: dict[str, np.ndarray]


class BlockRunner:
    """Runs one block of a resolved scenario; rebuilt from the scenario in worker processes."""

    def __init__(self, scenario: Scenario, model: Model | None = None):
        from .history import parse_observations
        from .kernels import MAX_COUNTRIES, reduce_block  # numba: imported on use

        self.reduce = reduce_block
        self.scenario = sc = scenario
        model = model if model is not None else build_model(sc)
        try:
            self.observations = parse_observations(
                sc.observations, source=sc.source, countries=model.countries, metrics=model.metrics
            )
        except ConfigError as exc:  # name the file (or --set) that wrote the observation
            raise sc.attribute(exc) from None
        # The model also simulates the observed years; results report the scenario's years.
        sim_years = sorted(set(sc.years) | {o.year for o in self.observations})
        if tuple(sim_years) != tuple(model.years):
            model = build_model(sc.with_updates(years=sim_years))
        self.model = m = model
        self.report = [sim_years.index(y) for y in sc.years]
        # Reported years as a slice (a view, not a 50 MB copy a block) when they are consecutive.
        first = self.report[0]
        consecutive = self.report == list(range(first, first + len(self.report)))
        self._report_index = slice(first, first + len(self.report)) if consecutive else self.report
        self.report_years = tuple(sc.years)
        self.shape = (len(m.metrics), len(sc.years), len(m.countries))
        self.bins = [m.bins(metric) for metric in m.metrics]
        if len({b.n for b in self.bins}) > 1:
            raise ModelError(f"model {m.name}: every metric's Bins must have the same n")
        self.nbins = self.bins[0].n
        nc = len(m.countries)
        self.pairwise = nc <= min(PAIRWISE_MAX_COUNTRIES, MAX_COUNTRIES)
        self.weighted = bool(self.observations)
        self._obs_index = [
            (sim_years.index(o.year), m.metrics.index(o.metric), m.countries.index(o.country))
            for o in self.observations
        ]

    def warm_up(self) -> None:
        """Load (or compile) the kernel variants this run uses, on a tiny block: done before
        forking workers, so that they inherit the machine code instead of each loading it."""
        nc = len(self.model.countries)
        w = np.ones(1) if self.weighted else None
        dtype = np.float64 if self.weighted else np.int64
        for b in self.bins:
            sums = [np.zeros((1, nc, nc), dtype), np.zeros((1, nc, b.n), dtype)]
            self._reduce(np.ones((1, 1, nc)), w, b, *sums, np.zeros((1, nc)), np.zeros((1, nc)))

    def _reduce(self, x, w, bins: Bins, counts, hist, s1, s2) -> bool:
        """:func:`.kernels.reduce_block` for one metric's ``(n, year, country)`` block;
        beyond the kernel's country limit, ranks come from :func:`rank_counts`."""
        finite = self.reduce(
            x, bins.transform(x), w, *bins.scale(), bins.n, self.pairwise, counts, hist, s1, s2
        )
        if not self.pairwise:
            counts[...] = rank_counts(x, w)
        return finite

    def check_finite(self, x: np.ndarray, metric: str, block: int) -> None:
        if not np.isfinite(x).all():
            raise ModelError(
                f"model {self.model.name} produced non-finite {metric} values in block {block}; "
                "check the scenario's factor and [model] ranges"
            )

    def weights(self, scores: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-draw weights (product of likelihoods) and each observation's likelihoods."""
        lik = np.empty((len(self.observations), n))
        for j, (obs, (yi, _, ci)) in enumerate(
            zip(self.observations, self._obs_index, strict=True)
        ):
            lik[j] = obs.likelihood(scores[obs.metric][:, yi, :], ci)
        return lik.prod(axis=0), lik

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
        nsim = len(m.years)
        for metric in m.metrics:
            x = scores[metric]
            if x.shape != (n, nsim, nc):
                raise ModelError(
                    f"model {m.name} returned {metric} with shape {x.shape}, "
                    f"expected {(n, nsim, nc)}"
                )
            # Without weights the reduction below finds non-finite values on its way.
            if self.weighted:
                self.check_finite(x, metric, block)
        w = lik = None
        if self.weighted:
            w, lik = self.weights(scores, n)
        dtype = np.float64 if self.weighted else np.int64
        sums = {
            "rank_count": np.zeros((nm, ny, nc, nc), dtype=dtype),
            "hist": np.zeros((nm, ny, nc, self.nbins), dtype=dtype),
            "sum1": np.zeros((nm, ny, nc)),
            "sum2": np.zeros((nm, ny, nc)),
        }
        keep = bool(sc.keep_draws)
        kept = {}
        if keep:
            kept["focus_rank"] = np.empty((n, nm, ny), dtype=np.int16)
            kept["focus_value"] = np.empty((n, nm, ny))
        fi = m.focus_index
        # Draws with zero weight (rejected by the observations) add nothing to any weighted
        # reducer: reduce only the others (with rank-range observations, a few percent).
        live = None if w is None else np.flatnonzero(w)
        wl = None if w is None else w[live]
        for k, metric in enumerate(m.metrics):
            x = scores[metric]
            if len(self.report) != nsim:
                x = x[:, self._report_index, :]
            xl = np.ascontiguousarray(x if live is None else x[live], dtype=np.float64)
            per_metric = (sums[v][k] for v in ("rank_count", "hist", "sum1", "sum2"))
            if not self._reduce(xl, wl, self.bins[k], *per_metric):
                self.check_finite(x, metric, block)  # NaN, ±inf, or only an overflowing square
            if keep:
                kept["focus_rank"][:, k] = focus_ranks(x, fi)
                kept["focus_value"][:, k] = x[:, :, fi]
        fv = np.empty((n, len(sc.factors)))
        for j, f in enumerate(sc.factors):
            fv[:, j] = factors[f.name]
        sums["weight_sum"] = np.array([float(n) if w is None else w.sum()])
        sums["weight_sq_sum"] = np.array([float(n) if w is None else np.dot(w, w)])
        # Factor moments before (prior) and after (posterior) weighting, for calibration.
        sums["factor_sum1"] = fv.sum(axis=0)
        sums["factor_sum2"] = np.einsum("ij,ij->j", fv, fv)
        if w is not None:
            sums["factor_wsum1"] = w @ fv
            sums["factor_wsum2"] = w @ (fv * fv)
            sums["observation_likelihood"] = lik.sum(axis=1)
        if keep:
            kept["factor_value"] = fv
            if w is not None:
                kept["weight"] = w
        return BlockResult(block, n, sums, kept)


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
        self.sums: dict[str, np.ndarray] | None = None
        self.draws_done = 0
        self._next = 0
        self._pending: dict[int, BlockResult] = {}
        self.sink = sink if sink is not None else (MemorySink(sc.draws) if sc.keep_draws else None)
        self.stop = stop
        self.trace_year = stop.year if stop else runner.report_years[-1]
        self._trace_yi = runner.report_years.index(self.trace_year)
        self._trace: list[tuple[int, np.ndarray, np.ndarray]] = []
        # (draws, hits, Σw, Σw²) of blocks folded since the trace was last computed: turned into
        # estimates and intervals all at once (per block, that was 3% of a gaussian race).
        self._pending_trace: list[tuple[int, np.ndarray, float, float]] = []
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
            r = self._pending.pop(self._next)
            if self.sink is not None:
                self.sink.write(r.block * self.scenario.block_size, r.kept)
            if self.sums is None:
                self.sums = {k: v.copy() for k, v in r.sums.items()}
            else:
                for k, v in r.sums.items():
                    self.sums[k] += v
            self.draws_done += r.n
            self._next += 1
            if self.stop is None:
                self._pending_trace.append((self.draws_done, *self._headline_sums()))
                continue
            p, half = self.headline()
            self._trace.append((self.draws_done, p, half))
            if np.all(half <= self.stop.halfwidth):
                self.stopped = True
        if self.stopped:
            self._pending.clear()

    def state(self) -> dict[str, np.ndarray]:
        """The folded state, for a checkpoint (plain arrays: no pickling)."""
        out = {f"sum:{k}": v for k, v in (self.sums or {}).items()}
        out["draws_done"] = np.array([self.draws_done])
        out["next_block"] = np.array([self._next])
        out["stopped"] = np.array([int(self.stopped)])
        if self.trace:
            d, p, h = zip(*self.trace, strict=True)
            out["trace_draws"], out["trace_p"], out["trace_half"] = map(np.array, (d, p, h))
        return out

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        """Continue from :meth:`state` (a resumed run)."""
        sums = {k[4:]: np.array(v) for k, v in state.items() if k.startswith("sum:")}
        self.sums = sums or None
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
    def trace(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(draws, P(focus rank ≤ k) per metric, its 95% half-width) after each block."""
        if self._pending_trace:
            draws, hits, wsum, wsq = zip(*self._pending_trace, strict=True)
            p, half = _estimate(np.array(hits), np.array(wsum)[:, None], np.array(wsq)[:, None])
            self._trace.extend(zip(draws, p, half, strict=True))
            self._pending_trace = []
        return self._trace

    def _headline_sums(self) -> tuple[np.ndarray, float, float]:
        s = self.sums
        fi = self.runner.model.focus_index
        hits = s["rank_count"][:, self._trace_yi, fi, : self.scenario.top_k].sum(axis=-1)
        return hits, float(s["weight_sum"][0]), float(s["weight_sq_sum"][0])

    def headline(self) -> tuple[np.ndarray, np.ndarray]:
        """Current P(focus rank ≤ k) per metric in the trace year, and its 95% half-width."""
        hits, wsum, wsq = self._headline_sums()
        return _estimate(hits, np.array(wsum), np.array(wsq))

    @property
    def complete(self) -> bool:
        return self._next == self.nblocks

    @property
    def stop_reason(self) -> str:
        if self.stop is None:
            return "fixed number of draws"
        if self.stopped:
            return f"target half-width {self.stop.halfwidth:g} reached"
        return f"maximum draws reached before the target half-width {self.stop.halfwidth:g}"


def _estimate(hits: np.ndarray, wsum: np.ndarray, wsq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(focus rank ≤ k) from weighted hit sums, and its Wilson 95% half-width on the Kish
    effective sample size; element-wise, so one call serves one block or a whole trace."""
    from ..stats import wilson_interval

    ok = (wsum > 0) & (wsq > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ess = np.where(ok, np.square(wsum) / wsq, 0.0)
        p = np.where(wsum > 0, np.clip(hits / wsum, 0.0, 1.0), 0.0)
    lo, hi = wilson_interval(p, ess)
    return p, (hi - lo) / 2


ProgressFn = Callable[[int, int], None]


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
    from .executors import run_blocks

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
            acc.add(res)
            if progress is not None:
                progress(acc.draws_done, sc.draws)
            if acc.stopped:
                break
            if after_block is not None:
                after_block()


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
    runner = BlockRunner(scenario)
    acc = Accumulator(runner, stop)
    fold_blocks(acc, workers=workers, scheduler=scheduler, progress=progress)
    elapsed = time.perf_counter() - t0
    return build_dataset(runner, acc, elapsed_s=elapsed, command=command)
