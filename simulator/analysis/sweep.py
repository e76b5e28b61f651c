"""Lever sweeps: every combination of lever values, run on common random numbers.

A sweep resolves the scenario once (one seed, draws, design and block size), then runs it with
each combination of the swept levers' values. Every run draws its factors and its model noise
from the same streams (sampling.py: a stream is keyed by its name, the seed and the block), and is
conditioned on the same ``[[observations]]``, so draw i of two combinations differs only by the
levers. P(focus rank ≤ k) of every combination comes with the run's own interval; the difference
against the **default policy** (every swept lever at its ``default``) comes with a paired interval
from the per-draw indicators (:func:`simulator.analysis.comparison.compare_results`), far
narrower than the runs' own intervals.

:func:`sweep` runs in memory; :func:`sweep_to_file` writes each combination's run into a parts
folder beside the output (``OUTPUT.parts/``) through :func:`simulator.runs.run_to_file`, so an
interrupted sweep resumes: finished combinations are read back, an interrupted one continues
from its checkpoint, and the rest run. docs/levers.md describes the Dataset.
"""

from __future__ import annotations

import itertools
import json
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import FORCE, RESUME, AnalysisError, ConfigError, did_you_mean, option, os_failure
from ..results import check_writable, open_results, save
from ..results.locking import output_lock
from ..results.provenance import provenance
from ..runs import RunOptions, checkpoint_dir, resolve_scenario, run, run_to_file
from ..scenario import Lever, Scenario
from ..stats import CONFIDENCE
from .comparison import compare_results

FORMAT = "g3sim-sweep"
FORMAT_VERSION = 1
MAX_COMBINATIONS = 1000
RunFn = Callable[[int, Scenario], xr.Dataset]
#: Called before each combination's run: (index, count, {lever: value}).
CombinationFn = Callable[[int, int, Mapping[str, float]], None]


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep runs: the resolved scenario, the swept levers and their values."""

    scenario: Scenario
    levers: tuple[Lever, ...]
    values: tuple[tuple[float, ...], ...]
    history: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(lv.name for lv in self.levers)

    @property
    def combinations(self) -> list[tuple[float, ...]]:
        return list(itertools.product(*self.values))

    @property
    def reference(self) -> tuple[float, ...]:
        """The default policy: every swept lever at its default."""
        return tuple(lv.default for lv in self.levers)

    def scenario_of(self, combination: Sequence[float]) -> Scenario:
        return self.scenario.with_levers(dict(zip(self.names, combination, strict=True)))

    def fingerprint(self) -> dict:
        """What a resumed sweep must share with the interrupted one."""
        return {
            "scenario_sha256": self.scenario.sha256,
            "levers": {n: list(v) for n, v in zip(self.names, self.values, strict=True)},
            "history": self.history,
        }


def plan_sweep(
    scenario: Scenario,
    levers: Mapping[str, Sequence[float]] | Sequence[str] | None = None,
    *,
    draws: int | None = None,
    seed: int | None = None,
    history: bool = True,
) -> SweepPlan:
    """The sweep of ``levers`` (name → values; a name alone, or None for every lever: its grid).

    Raises
    ------
    AnalysisError
        The scenario has no levers, a name is not a lever, a value is not allowed, or there are
        more than :data:`MAX_COMBINATIONS` combinations.
    """
    if not scenario.levers:
        raise AnalysisError(
            f"{scenario.source} declares no [levers]; add [levers.NAME] tables with values (or "
            "low/high/step) and a default (docs/levers.md)"
        )
    if levers is None or len(levers) == 0:
        levers = scenario.lever_names
    if not isinstance(levers, Mapping):
        levers = {name: () for name in levers}
    chosen, values = [], []
    for name, vals in levers.items():
        lever = _lever(scenario, name)
        chosen.append(lever)
        values.append(_values(lever, vals))
    count = int(np.prod([len(v) for v in values]))
    if count > MAX_COMBINATIONS:
        raise AnalysisError(
            f"{count:,} lever combinations, more than {MAX_COMBINATIONS:,}; sweep fewer levers or "
            f"values with {option('lever')} NAME=V1,V2,..."
        )
    resolved = resolve_scenario(scenario, draws=draws, seed=seed, keep_draws=True)
    return SweepPlan(resolved, tuple(chosen), tuple(values), history)


def _lever(scenario: Scenario, name: str) -> Lever:
    if name not in scenario.lever_names:
        raise AnalysisError(
            f"{option('lever')} {name!r} is not a lever of {scenario.source}"
            f"{did_you_mean(name, scenario.lever_names)}; its levers are "
            f"{', '.join(scenario.lever_names)}"
        )
    return scenario.lever(name)


def _values(lever: Lever, values: Sequence[float]) -> tuple[float, ...]:
    if not values:
        return lever.grid
    for v in values:
        if not lever.allows(v):
            raise AnalysisError(
                f"{option('lever')} {lever.name}={v:g}: not an allowed value; use "
                f"{lever.allowed_text()}"
            )
    return tuple(sorted(set(values)))


# ---------------------------------------------------------------------------------------------
# Running a sweep


def sweep(
    scenario: Scenario,
    levers: Mapping[str, Sequence[float]] | Sequence[str] | None = None,
    *,
    draws: int | None = None,
    seed: int | None = None,
    history: bool = True,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    on_combination: CombinationFn | None = None,
    command: str = "",
) -> xr.Dataset:
    """Run every combination of lever values on common random numbers; the sweep Dataset.

    Parameters
    ----------
    scenario
        A scenario with ``[levers]``.
    levers
        Lever name → the values to try (an empty list: the lever's grid). Default: every lever
        on its grid. Levers not swept keep their ``value``.
    draws, seed
        Of every run (default: the scenario's; without a seed one is drawn from fresh entropy
        and recorded in the Dataset's ``seed``).
    history
        Condition every run on the scenario's ``[[observations]]``.
    workers
        Local worker processes of each run.
    progress, on_combination
        Called after each block of a run, and before each combination's run.

    Returns
    -------
    xarray.Dataset
        One dimension per swept lever, with ``metric`` and ``year``: ``p_top`` and its interval,
        ``difference`` from the default policy with its paired interval, and more
        (docs/levers.md).
    """
    plan = plan_sweep(scenario, levers, draws=draws, seed=seed, history=history)
    options = RunOptions(history=history, workers=workers, keep_draws=True, command=command)

    def run_one(index: int, sc: Scenario) -> xr.Dataset:
        return run(sc, options, progress=progress)

    return evaluate(plan, run_one, on_combination=on_combination, command=command)


def evaluate(
    plan: SweepPlan,
    run_one: RunFn,
    *,
    on_combination: CombinationFn | None = None,
    command: str = "",
) -> xr.Dataset:
    """Run the plan's combinations with ``run_one(index, scenario)`` (index −1: the default
    policy when it is not among them) and assemble the sweep Dataset."""
    t0 = time.perf_counter()
    combos = plan.combinations
    ref_index = combos.index(plan.reference) if plan.reference in combos else -1
    announce = on_combination or (lambda i, n, v: None)
    announce(ref_index, len(combos), dict(zip(plan.names, plan.reference, strict=True)))
    reference = run_one(ref_index, plan.scenario_of(plan.reference))
    acc = _Arrays(plan, reference)
    for i, combo in enumerate(combos):
        if i == ref_index:
            ds = reference
        else:
            announce(i, len(combos), dict(zip(plan.names, combo, strict=True)))
            ds = run_one(i, plan.scenario_of(combo))
        acc.add(i, ds)
    return acc.dataset(elapsed_s=time.perf_counter() - t0, command=command)


class _Arrays:
    """The sweep's arrays, filled one combination at a time."""

    VARIABLES = ("p_top", "p_top_lower", "p_top_upper", "difference", "difference_lower")
    MORE = ("difference_upper", "se_paired")

    def __init__(self, plan: SweepPlan, reference: xr.Dataset):
        self.plan, self.reference = plan, reference
        self.metrics = [str(m) for m in reference["metric"].values]
        self.years = [int(y) for y in reference["year"].values]
        shape = (*[len(v) for v in plan.values], len(self.metrics), len(self.years))
        self.arrays = {v: np.full(shape, np.nan) for v in (*self.VARIABLES, *self.MORE)}
        self.ess = np.full(shape[:-2], np.nan)

    def add(self, index: int, ds: xr.Dataset) -> None:
        at = np.unravel_index(index, self.ess.shape)
        focus = ds.attrs["focus"]
        sel = {"country": focus, "metric": self.metrics, "year": self.years}
        for name in ("p_top", "p_top_lower", "p_top_upper"):
            self.arrays[name][at] = ds[name].sel(sel).values
        cmp = compare_results(self.reference, ds)
        for name in ("difference", "difference_lower", "difference_upper", "se_paired"):
            self.arrays[name][at] = cmp[name].sel(metric=self.metrics, year=self.years).values
        self.ess[at] = float(ds["effective_sample_size"])

    def dataset(self, *, elapsed_s: float, command: str) -> xr.Dataset:
        plan, ref = self.plan, self.reference
        dims = (*plan.names, "metric", "year")
        k = int(ref.attrs["top_k"])
        focus = str(ref.attrs["focus"])
        what = f"P({focus} rank <= {k})"
        long = {
            "p_top": (what, "1"),
            "p_top_lower": (f"lower bound of the 95% interval of {what}", "1"),
            "p_top_upper": (f"upper bound of the 95% interval of {what}", "1"),
            "difference": (f"{what} minus its value under the default policy", "1"),
            "difference_lower": ("lower bound of the 95% paired interval of difference", "1"),
            "difference_upper": ("upper bound of the 95% paired interval of difference", "1"),
            "se_paired": ("standard error of difference from paired draws", "1"),
        }
        data = {
            name: (dims, arr, {"long_name": long[name][0], "units": long[name][1]})
            for name, arr in self.arrays.items()
        }
        data["effective_sample_size"] = (
            plan.names,
            self.ess,
            {"long_name": "effective sample size (Kish) of the combination's run", "units": "1"},
        )
        coords = {lv.name: (lv.name, list(v), _lever_attrs(lv)) for lv, v in _pairs(plan)}
        coords["metric"] = ("metric", self.metrics)
        coords["year"] = ("year", np.array(self.years, dtype=np.int32))
        ds = xr.Dataset(data, coords=coords)
        ds.attrs = _attrs(plan, ref, elapsed_s=elapsed_s, command=command)
        return ds


def _pairs(plan: SweepPlan):
    return zip(plan.levers, plan.values, strict=True)


def _lever_attrs(lever: Lever) -> dict:
    return {
        "long_name": lever.label,
        "units": lever.units or "1",
        "lever_default": lever.default,
        "lever_source": lever.source,
    }


def _attrs(plan: SweepPlan, ref: xr.Dataset, *, elapsed_s: float, command: str) -> dict:
    sc = plan.scenario
    a = ref.attrs
    return {
        "title": f"g3sim sweep: {sc.name}: P({sc.focus} rank <= {sc.top_k}) over "
        f"{len(plan.combinations)} lever combinations",
        "Conventions": "CF-1.10",
        "analysis": "sweep",
        "g3sim_format": FORMAT,
        "g3sim_format_version": FORMAT_VERSION,
        "levers": ", ".join(plan.names),
        "default_policy": ", ".join(f"{lv.name} = {lv.default:g}" for lv in plan.levers),
        "other_levers": ", ".join(
            f"{lv.name} = {lv.value:g}" for lv in sc.levers if lv.name not in plan.names
        ),
        "method": "every combination runs with the same seed, draws, design and block size "
        "(common random numbers) and the same history conditioning; difference: paired, from "
        "the per-draw indicators of each run and of the default policy's run",
        "p_interval_method": str(a.get("interval_method", "")),
        "difference_interval_method": "normal (paired)",
        "confidence_level": CONFIDENCE,
        "history": int(plan.history),
        "observations": len(sc.observations) if plan.history else 0,
        "scenario_name": sc.name,
        "scenario_description": sc.description,
        "scenario_source": str(sc.source),
        "scenario_toml": sc.to_toml(),
        "scenario_sha256": sc.sha256,
        "model": sc.model,
        "focus": sc.focus,
        "top_k": sc.top_k,
        "seed": np.int64(sc.seed),
        "draws": np.int64(sc.draws),
        "design": sc.design,
        "block_size": np.int64(sc.block_size),
        **provenance(elapsed_s=elapsed_s, command=command),
    }


# ---------------------------------------------------------------------------------------------
# A sweep into a file, resumable


def parts_dir(output: str | Path) -> Path:
    """The folder of a sweep's per-combination runs: ``OUTPUT.parts``."""
    output = Path(output)
    return output.with_name(output.name + ".parts")


def sweep_to_file(
    scenario: Scenario,
    output: str | Path,
    levers: Mapping[str, Sequence[float]] | Sequence[str] | None = None,
    *,
    draws: int | None = None,
    seed: int | None = None,
    history: bool = True,
    workers: int = 1,
    force: bool = False,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
    on_combination: CombinationFn | None = None,
    resume_hint: str = "",
    command: str = "",
) -> xr.Dataset:
    """:func:`sweep` into ``output``, resumable: each combination runs into ``OUTPUT.parts/``
    (checkpointed, :func:`simulator.runs.run_to_file`); ``resume=True`` reads back the finished
    ones and continues the rest; the parts folder is removed after the final write."""
    output = Path(output)
    folder = parts_dir(output)
    check_writable(output, force=True)
    with output_lock(output, command=command):
        meta = _take_parts(folder, resume=resume, force=force)
        if meta is not None and seed is None and scenario.seed is None:
            seed = int(meta["seed"])
        plan = plan_sweep(scenario, levers, draws=draws, seed=seed, history=history)
        _check_same_sweep(folder, meta, plan)
        check_writable(output, force=force or resume)
        _write_meta(folder, plan)
        options = RunOptions(history=history, workers=workers, keep_draws=True, command=command)
        hint = resume_hint or "the same command"

        def run_one(index: int, sc: Scenario) -> xr.Dataset:
            part = folder / (f"c{index:05d}.nc" if index >= 0 else "default.nc")
            if not part.exists():
                resumable = (checkpoint_dir(part) / "meta.json").exists()
                run_to_file(
                    sc, part, options, progress=progress, resume=resumable, resume_hint=hint
                )
            return open_results(part)

        ds = evaluate(plan, run_one, on_combination=on_combination, command=command)
        save(ds, output, force=True)
        shutil.rmtree(folder, ignore_errors=True)
    return ds


def _take_parts(folder: Path, *, resume: bool, force: bool) -> dict | None:
    meta_path = folder / "sweep.json"
    if resume:
        if not meta_path.exists():
            raise ConfigError(f"{folder}: no sweep to resume; run without {RESUME}")
        return json.loads(meta_path.read_text())
    if folder.exists():
        if not force:
            raise ConfigError(
                f"{folder} holds an interrupted sweep; continue it with {RESUME}, or discard it "
                f"with {FORCE}"
            )
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            raise os_failure(folder, exc, doing="remove the old sweep's parts") from None
    return None


def _check_same_sweep(folder: Path, meta: dict | None, plan: SweepPlan) -> None:
    if meta is None:
        return
    if meta.get("fingerprint") != json.loads(json.dumps(plan.fingerprint())):
        raise ConfigError(
            f"{folder} was written by a different sweep (scenario, seed, draws, levers or "
            f"history); rerun with the same options, or start over with {FORCE}"
        )


def _write_meta(folder: Path, plan: SweepPlan) -> None:
    try:
        folder.mkdir(exist_ok=True)
        (folder / "sweep.json").write_text(
            json.dumps({"seed": plan.scenario.seed, "fingerprint": plan.fingerprint()})
        )
    except OSError as exc:
        raise os_failure(folder, exc, doing="write the sweep's parts folder") from None


__all__ = [
    "FORMAT",
    "MAX_COMBINATIONS",
    "SweepPlan",
    "evaluate",
    "parts_dir",
    "plan_sweep",
    "sweep",
    "sweep_to_file",
]
