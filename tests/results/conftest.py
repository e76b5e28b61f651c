"""Fixtures of the results tests: one small run with a factor, two reported years."""

from __future__ import annotations

import pytest

from simulator import run
from tests.helpers.scenarios import FIVE, gaussian_scenario


@pytest.fixture(scope="module")
def ds():
    factors = {"a": {"dist": "normal", "mean": 0, "sd": 1, "units": "1", "description": "test"}}
    return run(gaussian_scenario(FIVE, draws=3_000, seed=2, years=(2026, 2030), factors=factors))
