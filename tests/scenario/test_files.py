"""Listing the scenario files of a folder."""

from __future__ import annotations

import pytest
import tomli_w

from simulator.errors import ConfigError
from simulator.scenario import (
    list_scenarios,
)
from tests.helpers.scenarios import FIVE, gaussian_dict


def test_list_scenarios_loads_each_file_or_keeps_its_error(tmp_path):
    (tmp_path / "b.toml").write_text(tomli_w.dumps(gaussian_dict(FIVE)))
    (tmp_path / "a.toml").write_text("[scenario\n")
    (tmp_path / "notes.txt").write_text("not a scenario")
    listed = list_scenarios(tmp_path)
    assert [e.path.name for e in listed] == ["a.toml", "b.toml"]
    assert listed[0].scenario is None and isinstance(listed[0].error, ConfigError)
    assert listed[1].error is None and listed[1].scenario.model == "gaussian_race"
    with pytest.raises(ConfigError, match="no such directory"):
        list_scenarios(tmp_path / "missing")
