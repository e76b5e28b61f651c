"""Finding scenarios by name (local, then shipped) and listing them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import tomli_w

from simulator.errors import ConfigError
from simulator.scenario import list_scenarios, load_scenario
from simulator.scenario.files import find_scenario, shipped_dir
from tests.helpers.scenarios import CONFIGS, FIVE, gaussian_dict


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


def test_a_bare_name_finds_the_shipped_scenario_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ here
    assert shipped_dir() is not None
    for name in ("baseline", "baseline.toml"):
        assert find_scenario(name) == shipped_dir() / "baseline.toml"
    sc = load_scenario("regulatory-reform")  # its `extends` resolves beside the shipped file
    assert sc.name == "regulatory-reform" and sc.model == "ai_race"


def test_a_local_scenario_takes_precedence_over_the_shipped_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "baseline.toml").write_text(tomli_w.dumps(gaussian_dict(FIVE)))
    assert find_scenario("baseline") == Path("configs/baseline.toml")
    assert load_scenario("baseline").model == "gaussian_race"
    # A path that exists is taken as it is, before any look-up.
    (tmp_path / "full-delivery").write_text(tomli_w.dumps(gaussian_dict(FIVE)))
    assert load_scenario("full-delivery").model == "gaussian_race"


def test_an_unknown_name_says_which_scenarios_are_shipped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ConfigError, match=r"^nosuch: no such scenario file.*shipped with g3sim \(baseline, "
    ):
        load_scenario("nosuch")
    with pytest.raises(ConfigError, match="no such scenario file"):  # a path: no look-up
        load_scenario("sub/baseline.toml")


def test_listing_without_a_folder_joins_local_and_shipped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = sorted(p.stem for p in shipped_dir().glob("*.toml"))
    listed = list_scenarios()
    assert [e.name for e in listed] == shipped and {e.origin for e in listed} == {"shipped"}
    assert all(e.error is None for e in listed)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "baseline.toml").write_text(tomli_w.dumps(gaussian_dict(FIVE)))
    (tmp_path / "configs" / "mine.toml").write_text(tomli_w.dumps(gaussian_dict(FIVE)))
    by_name = {e.name: e for e in list_scenarios()}
    assert sorted(by_name) == sorted([*shipped, "mine"])
    assert by_name["baseline"].origin == "local" and by_name["baseline"].shadows
    assert by_name["baseline"].scenario.model == "gaussian_race"
    assert by_name["mine"].origin == "local" and not by_name["mine"].shadows
    assert by_name["full-delivery"].origin == "shipped"


def test_the_shipped_scenarios_are_the_repository_configs():
    # A source checkout (editable install) ships configs/ itself: one source, no copy.
    assert shipped_dir().resolve() == CONFIGS.resolve()


def test_a_local_copy_of_a_shipped_scenario_does_not_shadow_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    shutil.copy(shipped_dir() / "baseline.toml", tmp_path / "configs" / "baseline.toml")
    entry = {e.name: e for e in list_scenarios()}["baseline"]
    assert entry.origin == "local" and not entry.shadows
