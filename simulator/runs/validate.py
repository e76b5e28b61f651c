"""Check a scenario as a run would, without running it (``g3sim validate``)."""

from __future__ import annotations

from ..engine import BlockRunner
from ..scenario import Scenario


def validate_scenario(scenario: Scenario) -> Scenario:
    """Check what loading the file cannot: the model's ``[model]`` table and the
    ``[[observations]]``, by building the model as a run would. Returns ``scenario``.

    Raises
    ------
    ConfigError
        Naming the key and the fix, as a run would.
    """
    BlockRunner(scenario)
    return scenario
