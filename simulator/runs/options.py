"""What a run is asked to do: :class:`RunOptions`, :class:`StopTarget`, :class:`FileOptions`.

Also the resolution of a scenario into the one that runs (overrides applied, a seed drawn when
none is given, ``keep_draws`` decided), used by every way of running a scenario.
"""

from __future__ import annotations

import os
import secrets
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from ..engine import StopRule
from ..errors import ConfigError, G3simWarning, option
from ..scenario import Scenario, scenario_from_dict

DEFAULT_MAX_DRAWS = 10_000_000  # the cap of a run with a target half-width
KEEP_DRAWS_LIMIT = 1_000_000  # keep per-draw data by default up to this many draws
#: An environment variable that caps every run's draws (for quick looks and tests: the README
#: tour's test sets it); the cap is said as a warning and recorded in the stored scenario.
MAX_DRAWS_ENV = "G3SIM_MAX_DRAWS"


def draws_cap() -> int | None:
    """The cap on every run's draws from ``G3SIM_MAX_DRAWS``, or None if it is unset or empty."""
    text = os.environ.get(MAX_DRAWS_ENV, "").strip()
    if not text:
        return None
    cap = int(text.replace("_", "")) if text.replace("_", "").isdigit() else 0
    if cap < 1:
        raise ConfigError(
            f"{MAX_DRAWS_ENV}={text!r}: must be a positive whole number of draws, e.g. 20000; "
            "or unset it"
        )
    return cap


def fresh_seed() -> int:
    """A seed from fresh OS entropy (63 bits, so that it fits a signed 64-bit attribute)."""
    return secrets.randbits(63)


def resolve_scenario(
    scenario: Scenario,
    *,
    draws: int | None = None,
    seed: int | None = None,
    design: str | None = None,
    keep_draws: bool | None = None,
) -> Scenario:
    """The scenario exactly as it will run: overrides applied, a seed and ``keep_draws`` set,
    and the draws capped by ``G3SIM_MAX_DRAWS`` when that is set (:func:`draws_cap`)."""
    scenario = scenario.with_updates(draws=draws, seed=seed, design=design, keep_draws=keep_draws)
    updates: dict[str, Any] = {}
    cap = draws_cap()
    if cap is not None and scenario.draws > cap:
        warnings.warn(
            G3simWarning(
                f"{MAX_DRAWS_ENV}={cap} caps {scenario.name} at {cap:,} draws "
                f"(of {scenario.draws:,})"
            ),
            stacklevel=2,
        )
        scenario = scenario.with_updates(draws=cap)
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


@dataclass(frozen=True)
class StopTarget:
    """Sequential stopping: add blocks until the 95% half-width of P(focus rank ≤ k) in ``year``
    is ≤ ``halfwidth`` for every metric, up to ``max_draws`` draws.

    ``max_draws`` defaults to :data:`DEFAULT_MAX_DRAWS`, ``year`` to the scenario's last year.
    """

    halfwidth: float
    max_draws: int | None = None
    year: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.halfwidth <= 0.5:
            raise ConfigError(
                f"{option('target_halfwidth')} {self.halfwidth:g}: must be in (0, 0.5], e.g. 0.005"
            )

    def rule(self, scenario: Scenario) -> tuple[StopRule, int]:
        """The engine's stop rule for ``scenario``, and the draws to plan for."""
        year = self.year if self.year is not None else scenario.years[-1]
        if year not in scenario.years:
            raise ConfigError(
                f"{option('target_year')} {year} is not a year of the scenario "
                f"({', '.join(map(str, scenario.years))})"
            )
        draws = DEFAULT_MAX_DRAWS if self.max_draws is None else self.max_draws
        return StopRule(self.halfwidth, year), draws


def stop_target(
    target_halfwidth: float | None, max_draws: int | None, target_year: int | None
) -> StopTarget | None:
    """The :class:`StopTarget` of the three flat settings (None: a fixed number of draws)."""
    if target_halfwidth is None:
        if max_draws is not None or target_year is not None:
            given = option("max_draws" if max_draws is not None else "target_year")
            raise ConfigError(
                f"{given} works with {option('target_halfwidth')}; add e.g. "
                f"{option('target_halfwidth')} 0.005, or use {option('draws')} for a fixed number "
                "of draws"
            )
        return None
    return StopTarget(target_halfwidth, max_draws, target_year)


@dataclass(frozen=True)
class RunOptions:
    """How to run a scenario (every field optional).

    Parameters
    ----------
    draws, seed, design, keep_draws
        Override the scenario's values. Without a seed anywhere, one is drawn from fresh
        entropy and stored in the results. ``keep_draws`` None: keep per-draw data up to
        :data:`KEEP_DRAWS_LIMIT` draws.
    history
        Condition on the scenario's ``[[observations]]`` (False: ignore them).
    conditioning
        ``"smc"`` or ``"rejection"``: how to condition (None: the scenario's ``conditioning``,
        by default ``"smc"``; a model without the stepping form always uses rejection).
    smc_moves
        Rejuvenating move sweeps after the last observed year (None: the scenario's
        ``smc_moves``, by default 2; 0: none). docs/conditioning.md.
    stop
        Sequential stopping (:class:`StopTarget`); ``draws`` is then ignored.
    workers
        Local worker processes (1: run in this process). Results are identical for any count.
    scheduler
        Address of a Dask scheduler (``tcp://host:8786``): blocks run on that cluster.
    command
        The command line, recorded in the results' attributes.
    """

    draws: int | None = None
    seed: int | None = None
    design: str | None = None
    keep_draws: bool | None = None
    history: bool = True
    conditioning: str | None = None
    smc_moves: int | None = None
    stop: StopTarget | None = None
    workers: int = 1
    scheduler: str | None = None
    command: str = ""

    def replace(self, **changes: Any) -> RunOptions:
        return replace(self, **changes)

    def planned(self, scenario: Scenario) -> tuple[Scenario, StopRule | None, int | None]:
        """The scenario with or without its history, the stop rule, and the draws to plan for."""
        if not self.history:
            scenario = without_history(scenario)
        updates = {
            k: v
            for k, v in (("conditioning", self.conditioning), ("smc_moves", self.smc_moves))
            if v is not None and v != getattr(scenario, k)
        }
        if updates:
            scenario = scenario.with_updates(**updates)
        if self.stop is None:
            return scenario, None, self.draws
        return (scenario, *self.stop.rule(scenario))


@dataclass(frozen=True)
class FileOptions:
    """How a run into a file treats what is there: replace (``force``), continue (``resume``);
    how often it checkpoints; and the command a user reruns to resume (for messages)."""

    force: bool = False
    resume: bool = False
    every_s: float = 10.0
    resume_hint: str = ""


# The flat keywords of run()/run_to_file() that are not fields of RunOptions.
_STOP_FIELDS = ("target_halfwidth", "max_draws", "target_year")


def run_options(options: RunOptions | None, fields_: Mapping[str, Any]) -> RunOptions:
    """``options`` with the flat keyword ``fields_`` of :func:`simulator.run` applied.

    ``target_halfwidth``, ``max_draws`` and ``target_year`` become a :class:`StopTarget`.
    """
    options = options if options is not None else RunOptions()
    given = dict(fields_)
    unknown = set(given) - {f.name for f in fields(RunOptions)} - set(_STOP_FIELDS)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    flat = [given.pop(k, None) for k in _STOP_FIELDS]
    if any(v is not None for v in flat):
        given["stop"] = stop_target(*flat)
    return options.replace(**given) if given else options


def split_file_fields(fields_: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keywords of :func:`simulator.run_to_file`: (run fields, :class:`FileOptions` fields)."""
    names = {f.name for f in fields(FileOptions)}
    return (
        {k: v for k, v in fields_.items() if k not in names},
        {k: v for k, v in fields_.items() if k in names},
    )
