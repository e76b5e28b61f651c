"""World models, by the name a scenario gives in ``[scenario] model``."""

from __future__ import annotations

from ..errors import ConfigError
from ..scenario.schema import MODEL_NAMES
from .ai_race import AiRace
from .base import Bins, Model
from .gaussian_race import GaussianRace

MODELS: dict[str, type[Model]] = {GaussianRace.name: GaussianRace}
MODELS[AiRace.name] = AiRace

# The scenario layer validates [scenario] model against its own list; keep the two in step.
if tuple(MODELS) != MODEL_NAMES:  # pragma: no cover - a programming error, caught by every test
    raise ImportError(
        f"simulator.models registers {tuple(MODELS)} but simulator.scenario.schema.MODEL_NAMES "
        f"is {MODEL_NAMES}; keep them equal (same order)"
    )


def build_model(scenario) -> Model:
    """Validate the scenario's ``[model]`` table and build its model.

    A configuration error is re-pointed at the file (or ``--set``) that wrote the bad key.
    """
    try:
        return MODELS[scenario.model].from_scenario(scenario)
    except ConfigError as exc:
        raise scenario.attribute(exc) from None


__all__ = ["MODELS", "Bins", "Model", "build_model"]
