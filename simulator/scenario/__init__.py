"""Scenarios: TOML files → a validated, frozen :class:`Scenario`.

A scenario file has these top-level entries (docs/scenarios.md is the reference)::

    extends = "baseline.toml"      # optional: inherit another scenario, then override it
    [scenario]                     # what to run: name, model, focus, top_k, years, draws, seed ...
    [model]                        # the model's own parameters (each model validates its table)
    [factors.NAME]                 # uncertain inputs: a distribution each (see distributions.py)
    [correlation]                  # optional rank correlations between factors (Gaussian copula)
    [levers.NAME]                  # optional decisions: allowed values and a default (levers.py)

The package reads top-down: :mod:`.files` (``extends``, merging, :func:`load_scenario`) uses
:mod:`.overrides` (``--set``), :mod:`.schema` (validation, :class:`Scenario`) and :mod:`.origins`
(which file wrote which key); :mod:`.limits` keeps reading TOML safe; :mod:`.distributions` turns a
factor's table into a frozen distribution.
"""

from __future__ import annotations

from .files import ListedScenario, list_scenarios, load_scenario, shown_path
from .levers import Lever, parse_lever_values
from .limits import MAX_EXTENDS_DEPTH, MAX_FILE_BYTES, MAX_NESTING, check_tree
from .overrides import apply_overrides, parse_override
from .schema import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_DRAWS,
    DESIGNS,
    FACTOR_META_KEYS,
    MAX_DRAWS,
    MAX_NAME_BYTES,
    MAX_YEAR,
    MIN_YEAR,
    MODEL_NAMES,
    SCENARIO_KEYS,
    TOP_LEVEL_KEYS,
    Correlation,
    Factor,
    Scenario,
    scenario_from_dict,
)

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "DEFAULT_DRAWS",
    "DESIGNS",
    "FACTOR_META_KEYS",
    "MAX_DRAWS",
    "MAX_EXTENDS_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NAME_BYTES",
    "MAX_NESTING",
    "MAX_YEAR",
    "MIN_YEAR",
    "MODEL_NAMES",
    "SCENARIO_KEYS",
    "TOP_LEVEL_KEYS",
    "Correlation",
    "Factor",
    "Lever",
    "ListedScenario",
    "Scenario",
    "apply_overrides",
    "check_tree",
    "list_scenarios",
    "load_scenario",
    "parse_lever_values",
    "parse_override",
    "scenario_from_dict",
    "shown_path",
]
