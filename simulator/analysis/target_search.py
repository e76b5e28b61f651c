"""What it takes: the lever value at which P(focus rank ≤ k) reaches a target probability.

:func:`target` evaluates P(rank ≤ k) of one metric and year at values of one lever, every
evaluation a run with the same seed and draws (common random numbers: P changes only because the
lever does) and the same history conditioning. The search runs over the lever's candidate values
(its listed values, or ``low..high`` by ``step``):

1. P at both ends gives the direction in which P grows, and so which end is best.
2. If P at the best end falls short of the target, the answer is "not reachable within
   [low, high]", with the best P found (and a note when its interval still holds the target).
3. Otherwise three bisections over the candidates (ordered so that P grows) find the first
   candidate whose P reaches the target (the answer: the smallest value if P grows with the
   lever, the largest if it falls), the first whose upper 95% bound reaches it, and the first
   whose lower bound does. The lever value's interval runs from the candidate before the second
   (where P is certainly short of the target) to the third (where P is certainly past it): the
   crossing of the target lies between them unless Monte Carlo error misled a bisection step.

Bisection assumes P is monotone in the lever, as it is for a lever that helps (or hurts) in every
draw; a sweep (:mod:`.sweep`) shows P over the whole range when that is in doubt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from ..errors import AnalysisError, option
from ..runs import RunOptions, resolve_scenario, run
from ..scenario import Lever, Scenario
from .targets import resolve_target


@dataclass(frozen=True)
class TargetResult:
    """The answer of :func:`target` (values in the lever's units, P as fractions)."""

    lever: str
    lever_description: str
    lever_units: str
    p_target: float
    metric: str
    year: int
    focus: str
    top_k: int
    seed: int
    draws: int
    bounds: tuple[float, float]
    direction: int  # +1: P grows with the lever; -1: P falls
    reachable: bool
    value: float  # the smallest (direction +1) or largest (−1) value reaching the target
    lower: float  # the lever value's 95% interval
    upper: float
    upper_found: bool  # False: no candidate's lower bound reached the target
    p_at_value: float
    p_at_value_lower: float
    p_at_value_upper: float
    best_value: float
    best_p: float
    best_p_lower: float
    best_p_upper: float
    evaluated: tuple[tuple[float, float, float, float], ...]  # (value, P, lower, upper) by value
    note: str = ""

    @property
    def evaluations(self) -> int:
        return len(self.evaluated)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["evaluated"] = [
            dict(zip(("value", "p", "lower", "upper"), e, strict=True)) for e in self.evaluated
        ]
        return d


class _Evaluator:
    """P(rank ≤ k) with its interval at a lever value, each value run once (cached)."""

    def __init__(
        self, scenario: Scenario, lever: Lever, options: RunOptions, metric, year, progress
    ):
        self.scenario, self.lever, self.options = scenario, lever, options
        self.metric, self.year, self.progress = metric, year, progress
        self.cache: dict[float, tuple[float, float, float]] = {}
        self.resolved = False

    def __call__(self, v: float) -> tuple[float, float, float]:
        if v not in self.cache:
            sc = self.scenario.with_levers({self.lever.name: v})
            ds = run(sc, self.options, progress=self.progress)
            if not self.resolved:  # the metric and year, checked against the first run's
                self.metric, self.year = resolve_target(
                    ds["metric"].values, ds["year"].values, self.metric, self.year, sc.source
                )
                self.resolved = True
            sel = {"country": sc.focus, "metric": self.metric, "year": self.year}
            self.cache[v] = tuple(
                float(ds[n].sel(sel)) for n in ("p_top", "p_top_lower", "p_top_upper")
            )
        return self.cache[v]


def _first(cands: Sequence[float], ok: Callable[[float], bool]) -> int | None:
    """The first index whose candidate satisfies ``ok`` (monotone along ``cands``), by bisection."""
    if not ok(cands[-1]):
        return None
    lo, hi = -1, len(cands) - 1  # ok(cands[hi]) holds; ok(cands[lo]) does not (or lo = −1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(cands[mid]):
            hi = mid
        else:
            lo = mid
    return hi


def _refine(
    cands: list[float], i: int | None, ok: Callable[[float], bool], lever: Lever, resolution: float
) -> None:
    """Bisect the values between ``cands[i - 1]`` and ``cands[i]`` (a range lever) until the
    last failing and first passing values evaluated are ``resolution`` apart (values on the
    lattice ``low + j · resolution``)."""
    if i is None or i == 0 or not lever.continuous:
        return
    bad, good = cands[i - 1], cands[i]
    while abs(good - bad) > resolution * (1 + 1e-9):
        # On the lattice low + j · resolution, so a sweep over that lattice sees the same values.
        j = round(((bad + good) / 2 - lever.low) / resolution)
        mid = lever.low + j * resolution
        mid = round(mid) if lever.integer else float(f"{mid:.12g}")
        if mid in (bad, good):
            break
        if ok(mid):
            good = mid
        else:
            bad = mid


def target(
    scenario: Scenario,
    lever: str,
    p: float,
    *,
    year: int | None = None,
    metric: str | None = None,
    draws: int | None = None,
    seed: int | None = None,
    history: bool = True,
    workers: int = 1,
    resolution: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    command: str = "",
) -> TargetResult:
    """The lever value at which P(focus rank ≤ k in ``metric``, ``year``) reaches ``p``.

    Parameters
    ----------
    scenario
        A scenario with ``[levers]``; the other levers keep their ``value``.
    lever
        The lever to search over its candidates (its list, or low..high by step).
    p
        The target probability, in (0, 1).
    year, metric
        Of the rank (default: the scenario's last year, the model's first metric).
    draws, seed, history, workers
        Of every evaluation's run (common random numbers: one seed for all).
    resolution
        For a range lever: bisect between grid values until the answer and its interval's
        ends are this close (default: the lever's step, no bisection between grid values).

    Returns
    -------
    TargetResult
        ``reachable``; ``value`` with its interval ``lower``–``upper``; the best P found; every
        evaluation (module docstring).
    """
    if not 0 < p < 1:
        raise AnalysisError(f"{option('p')} {p:g}: a target probability lies in (0, 1), e.g. 0.25")
    lv = _lever_of(scenario, lever)
    sc = resolve_scenario(scenario, draws=draws, seed=seed, keep_draws=False)
    if year is not None and year not in sc.years:
        resolve_target([metric or ""], sc.years, metric, year, sc.source)  # the one-line error
    options = RunOptions(history=history, workers=workers, keep_draws=False, command=command)
    evaluate = _Evaluator(sc, lv, options, metric, year, progress)
    grid = sorted(lv.grid)
    p_low, p_high = evaluate(grid[0])[0], evaluate(grid[-1])[0]
    direction = 1 if p_high >= p_low else -1
    cands = grid if direction > 0 else grid[::-1]  # P grows along cands
    for column in (0, 2, 1):  # P, its upper bound, its lower bound reach the target
        ok = _reaches(evaluate, column, p)
        i = _first(cands, ok)
        if resolution is not None and resolution < lv.step:
            _refine(cands, i, ok, lv, resolution)
    # Read the answer off the values evaluated, ordered so that P grows: each predicate holds
    # from the value after the last one where it fails (what the bisections bracketed).
    ev = sorted(evaluate.cache, reverse=direction < 0)
    found = [_after_last_failure(ev, _reaches(evaluate, c, p)) for c in (0, 2, 1)]
    return _result(sc, lv, p, evaluate, ev, direction, found)


def _after_last_failure(ev: list[float], ok: Callable[[float], bool]) -> int | None:
    """The index after the last value of ``ev`` where ``ok`` fails (None: it fails at the end)."""
    fails = [i for i, v in enumerate(ev) if not ok(v)]
    if fails and fails[-1] == len(ev) - 1:
        return None
    return fails[-1] + 1 if fails else 0


def _reaches(evaluate: _Evaluator, column: int, p: float) -> Callable[[float], bool]:
    return lambda v: evaluate(v)[column] >= p


def _lever_of(scenario: Scenario, name: str) -> Lever:
    if name not in scenario.lever_names:
        scenario.lever(name)  # the one-line error naming the scenario's levers
    lv = scenario.lever(name)
    if len(lv.grid) < 2:
        raise AnalysisError(f"{option('lever')} {name}: has one value only; nothing to search")
    return lv


def _result(sc, lv, p, evaluate, cands, direction, found) -> TargetResult:
    i_value, i_lower, i_upper = found
    best = cands[-1]
    bp = evaluate(best)
    reachable = i_value is not None
    note = ""
    if not reachable and bp[2] >= p:
        note = "the best P's interval still holds the target: more draws (-n) would tell"
    if reachable:
        value = cands[i_value]
        # The last candidate whose whole interval is short of the target, and the first whose
        # whole interval is past it: the crossing lies between them.
        lower = cands[max(0, (i_lower if i_lower is not None else i_value) - 1)]
        upper = cands[i_upper] if i_upper is not None else cands[-1]
    else:
        value = lower = upper = float("nan")
    pv = evaluate(value) if reachable else (float("nan"),) * 3
    evaluated = tuple(sorted((v, *evaluate.cache[v]) for v in evaluate.cache))
    return TargetResult(
        lever=lv.name,
        lever_description=lv.description,
        lever_units=lv.units,
        p_target=p,
        metric=str(evaluate.metric),
        year=int(evaluate.year),
        focus=sc.focus,
        top_k=sc.top_k,
        seed=int(sc.seed),
        draws=int(sc.draws),
        bounds=lv.bounds,
        direction=direction,
        reachable=reachable,
        value=value,
        lower=min(lower, upper),
        upper=max(lower, upper),
        upper_found=i_upper is not None,
        p_at_value=pv[0],
        p_at_value_lower=pv[1],
        p_at_value_upper=pv[2],
        best_value=best,
        best_p=bp[0],
        best_p_lower=bp[1],
        best_p_upper=bp[2],
        evaluated=evaluated,
        note=note,
    )


__all__ = ["TargetResult", "target"]
