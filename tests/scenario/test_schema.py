"""The scenario schema knows every registered model."""

from __future__ import annotations

from simulator.models import MODELS
from simulator.scenario import (
    MODEL_NAMES,
)


def test_the_scenario_layer_knows_every_registered_model():
    # simulator.scenario validates [scenario] model without importing the model registry.
    assert tuple(MODELS) == MODEL_NAMES
