"""World models, by the name a scenario gives in ``[scenario] model``."""

from __future__ import annotations

from .ai_race import AiRace
from .base import Bins, Model
from .gaussian_race import GaussianRace

MODELS: dict[str, type[Model]] = {GaussianRace.name: GaussianRace}
MODELS[AiRace.name] = AiRace


def build_model(scenario) -> Model:
    """Validate the scenario's ``[model]`` table and build its model.

    A configuration error is re-pointed at the file (or ``--set``) that wrote the bad key.
    """
    from ..errors import ConfigError

    try:
        return MODELS[scenario.model].from_scenario(scenario)
    except ConfigError as exc:
        raise scenario.attribute(exc) from None


__all__ = ["MODELS", "Bins", "Model", "build_model"]
