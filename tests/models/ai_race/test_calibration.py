"""The rank movements the ai_race calibration fits."""

from __future__ import annotations

import pytest

from simulator.models.ai_race.calibration import observed_movements


def test_observed_rank_movements_used_by_the_calibration():
    obs = observed_movements()
    assert obs[(2021, 2023)] == (14, pytest.approx(34 / 14))
    assert obs[(2024, 2025)] == (5, pytest.approx(0.2))
