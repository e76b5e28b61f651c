"""The ai_race [model] table: errors name the key and the fix; factors may stand for numbers."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.errors import ConfigError
from simulator.models import build_model
from simulator.scenario import load_scenario
from tests.helpers.ai_race import BASELINE, simulate

# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("model.volatilty=0.1", r"model\.volatilty: unknown key \(did you mean 'volatility'\?\)"),
        ("model.volatility=-0.1", r"model\.volatility: must be within \[0, 1\], got -0\.1"),
        ("model.regional_share=1.5", r"model\.regional_share: must be within \[0, 1\]"),
        ("model.gpu.signal_dispersion=-1", r"model\.gpu\.signal_dispersion: must be within"),
        ("model.gpu.coverage=5", r"model\.gpu\.coverage: unknown key"),
        ("model.gpu.export_licence=1.5", r"model\.gpu\.export_licence: must be within \[0, 1\]"),
        ("model.gpu.status.mou.fraction=[0.5, 0.2, 0.8]", r"status\.mou\.fraction: must be \[low"),
        ("model.gpu.status.signed.fraction=[0, 1, 1]", r"did you mean 'delivered'|unknown key"),
        (
            'model.countries.KOR.programmes.nvidia_sk.status="sure"',
            r"nvidia_sk\.status: must be one",
        ),
        ("model.countries.KOR.programmes.nvidia_sk.counted=1", r"nvidia_sk\.counted: must be true"),
        ("model.countries.KOR.programmes.nvidia_sk.start=2025.9", r"nvidia_sk\.start: must be"),
        ("model.countries.KOR.programmes.sk_aws_ulsan.gpus=1", r"ulsan: the register does not"),
        ("model.countries.KOR.programmes.nvidia_sk.in_country=2", r"in_country: must be within"),
        ("model.gpu.retirement_rate=-0.1", r"model\.gpu\.retirement_rate: must be ≥ 0"),
        ("model.gpu.infrastructur_elasticity=1", r"did you mean 'infrastructure_elasticity'"),
        ("model.countries.KOR.regulation.reform_probability=1.2", r"reform_probability: must be"),
        ("model.countries.KOR.regulation.burden_from=2019", r"burden_from: must be within"),
        ("model.countries.KOR.programmes.nvidia_sk.fraction=2", r"nvidia_sk\.fraction: must be"),
        ("model.countries.KOR.programmes.nvidia_sk.start=2024", r"nvidia_sk\.start: must be"),
        ("model.countries.KOR.programmes.nvidia_sk.end=2025.5", r"nvidia_sk\.end: must be"),
        (
            "model.countries.KOR.programmes.nvidia_sk.delay=-1",
            r"nvidia_sk\.delay: must be within \[0, 50\]",
        ),
        ('model.countries.KOR.installed_h100e="kor_fraction_sj"', r"did you mean"),
        ("model.countries.XKR.installed_h100e=1", r"'XKR' is not a country of the model"),
        ("model.countries.KOR.programmes.x.gpus=1", r"programmes\.x: missing 'start'"),
        ("model.drift_sd=true", r"model\.drift_sd: must be a finite number or the name"),
        ("model.pillar_offsets.talent=0", r"pillar_offsets\.talent: must be within"),
        ("model.pillar_offsets.talnet=1", r"did you mean 'talent'"),
        ("scenario.years=[2021, 2030]", r"scenario\.years: ai_race reports years 2022\.\.2100"),
        ('scenario.focus="XYZ"', r"scenario\.focus"),
    ],
)
def test_model_table_errors_name_the_key_and_the_fix(override, match):
    with pytest.raises(ConfigError, match=match):
        build_model(load_scenario(BASELINE, [override]))


def test_factor_outside_its_parameter_range_is_rejected():
    over = [
        'factors.kor_fraction_sk={dist = "normal", mean = 0.8, sd = 0.1}',
    ]
    with pytest.raises(
        ConfigError,
        match=r"factors\.kor_fraction_sk: is used by model\.countries\.KOR\.programmes\.nvidia_sk"
        r"\.fraction, which must be within \[0, 1\]",
    ):
        build_model(load_scenario(BASELINE, over))


def test_unused_and_missing_factors():
    with pytest.raises(ConfigError, match=r"factors\.extra: model ai_race does not use factor"):
        build_model(
            load_scenario(BASELINE, ['factors.extra={dist = "uniform", low = 0, high = 1}'])
        )
    with pytest.raises(ConfigError, match=r"model\.gpu\.export_licence: 'nope' is not a factor"):
        build_model(load_scenario(BASELINE, ['model.gpu.export_licence="nope"']))


def test_a_number_can_replace_a_factor_and_any_country_can_have_levers():
    text = BASELINE.read_text()
    sc = load_scenario(
        BASELINE,
        [
            "model.countries.JPN.organic_growth=0.6",
            "model.countries.JPN.investment_growth=0.3",
            "model.countries.JPN.regulation.reform_probability=0.5",
            "model.countries.JPN.regulation.reform_effect=4",
            "model.countries.JPN.programmes.abci.gpus=10000",
            "model.countries.JPN.programmes.abci.h100e_per_gpu=2.27",
            "model.countries.JPN.programmes.abci.start=2026",
            "model.countries.JPN.programmes.abci.end=2028",
            'scenario.focus="JPN"',
        ],
    )
    assert "JPN" not in text.split("[factors")[0]
    model, out = simulate(sc, n=100)
    assert model.focus == "JPN" and model.countries[model.focus_index] == "JPN"
    assert all(np.isfinite(x).all() for x in out.values())
