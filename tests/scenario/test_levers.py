"""Levers: ``[levers.NAME]`` tables, their validation, and their values in [model] and [factors]."""

from __future__ import annotations

import copy

import pytest

from simulator.errors import ConfigError
from simulator.scenario import load_scenario, scenario_from_dict

BASE = {
    "scenario": {"name": "g", "model": "gaussian_race", "years": [2030], "seed": 1},
    "levers": {
        "kor_mean": {"low": 20, "high": 50, "step": 5, "default": 30, "description": "mean"},
        "kor_sd": {"values": [4.0, 6.0], "default": 6.0},
    },
    "model": {
        "countries": {
            "USA": {"mean": 100, "sd": 2},
            "KOR": {"mean": "kor_mean", "sd": "kor_sd"},
        }
    },
}


def scenario(**edits):
    data = copy.deepcopy(BASE)
    for path, value in edits.items():
        node = data
        *head, last = path.split("__")
        for part in head:
            node = node[part]
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    return scenario_from_dict(data, source="x.toml")


def test_a_lever_value_reaches_the_model_parameters():
    sc = scenario()
    assert sc.model_params["countries"]["KOR"] == {"mean": 30, "sd": 6.0}
    assert sc.lever("kor_mean").grid == (20, 25, 30, 35, 40, 45, 50)
    moved = sc.with_levers({"kor_mean": 45})
    assert moved.model_params["countries"]["KOR"]["mean"] == 45
    assert moved.lever("kor_mean").default == 30  # the default policy stays
    # The stored TOML keeps the lever's name in [model] and re-reads to the same scenario.
    assert 'mean = "kor_mean"' in moved.to_toml()


def test_a_range_lever_allows_any_value_inside_and_a_list_only_its_values():
    sc = scenario()
    assert sc.with_levers({"kor_mean": 33}).model_params["countries"]["KOR"]["mean"] == 33
    with pytest.raises(ConfigError, match=r"levers.kor_mean.value: 51 is not an allowed value"):
        sc.with_levers({"kor_mean": 51})
    with pytest.raises(ConfigError, match=r"levers.kor_sd.value: 5.0 is not .* one of 4, 6"):
        sc.with_levers({"kor_sd": 5})


def test_a_lever_can_set_a_factor_parameter():
    sc = scenario(
        factors={"shift": {"dist": "normal", "mean": "kor_sd", "sd": 1.0}},
        model__countries__USA__mean="shift",
    )
    assert sc.factors[0].dist.mean() == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        (
            {"levers__kor_mean__default": 55},
            r"x.toml: levers.kor_mean.default: 55 is not an allowed",
        ),
        ({"levers__kor_mean__default": None}, r"levers.kor_mean: missing 'default'.*default = 20"),
        ({"levers__kor_mean__step": 7}, r"levers.kor_mean.step: step 7 must divide"),
        ({"levers__kor_mean__values": [1, 2]}, r"levers.kor_mean: give either values"),
        ({"levers__kor_mean__high": 10}, r"needs low < high"),
        ({"levers__kor_mean__colour": 1}, r"levers.kor_mean.colour: unknown key"),
        ({"levers__kor_sd__values": []}, r"levers.kor_sd.values: must be a non-empty list"),
        ({"levers__kor_mean__units": 3}, r"levers.kor_mean.units: must be a text"),
        ({"model__countries__KOR__mean": 30}, r"levers.kor_mean: lever 'kor_mean' is named by no"),
        ({"levers__year": {"values": [1], "default": 1}}, r"levers.year: 'year' is a reserved"),
        (
            {"levers__kor_men": {"value": 3}},
            r"'kor_men' is not a declared lever \(did you mean 'kor_mean'",
        ),
        ({"levers": 3}, r"levers: must be a table of levers"),
    ],
)
def test_bad_levers_are_one_line_naming_the_file_and_key(edits, message):
    with pytest.raises(ConfigError, match=message) as info:
        scenario(**edits)
    assert "\n" not in str(info.value)


def test_a_lever_cannot_share_a_factor_name():
    with pytest.raises(ConfigError, match=r"levers.kor_mean: 'kor_mean' is also a factor"):
        scenario(factors={"kor_mean": {"dist": "constant", "value": 1}})


def test_an_unknown_lever_name_is_one_line():
    with pytest.raises(ConfigError, match=r"'kor_mea' is not a lever.*did you mean 'kor_mean'"):
        scenario().with_levers({"kor_mea": 30})


def test_the_korea_levers_file_extends_the_baseline_and_sets_its_factors():
    sc = load_scenario("configs/korea-levers.toml")
    assert set(sc.lever_names) == {
        "kor_delivered_fraction",
        "kor_delivery_delay_years",
        "kor_investment_growth_target",
        "kor_reform_chance",
    }
    factors = {f.name: f for f in sc.factors}
    assert factors["kor_fraction_sk"].dist.mean() == pytest.approx(0.8)
    moved = sc.with_levers({"kor_delivered_fraction": 1.0, "kor_investment_growth_target": 0.3})
    moved_factors = {f.name: f for f in moved.factors}
    assert moved_factors["kor_fraction_naver"].dist.mean() == pytest.approx(1.0)
    assert moved_factors["kor_investment_growth"].dist.mean() == pytest.approx(0.3)


def test_a_set_override_picks_a_lever_value():
    sc = load_scenario("configs/korea-levers.toml", ["levers.kor_reform_chance.value=0.5"])
    assert {f.name: f for f in sc.factors}["kor_reform_probability"].dist.mean() == 0.5
