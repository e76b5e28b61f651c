"""World models, by the name a scenario gives in ``[scenario] model``."""

from __future__ import annotations

from .ai_race import AiRace
from .base import Bins, Model
from .gaussian_race import GaussianRace

MODELS: dict[str, type[Model]] = {GaussianRace.name: GaussianRace}
MODELS[AiRace.name] = AiRace


def build_model(scenario) -> Model:
    """Validate the scenario's ``[model]`` table and build its model."""
    return MODELS[scenario.model].from_scenario(scenario)


__all__ = ["MODELS", "Bins", "Model", "build_model"]
