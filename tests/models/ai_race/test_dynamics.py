"""The switchable latent dynamics of ai_race: momentum, mean reversion, size-dependent
volatility and methodology shocks (docs/model.md "Dynamics")."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simulator.errors import ConfigError
from simulator.models import build_model
from simulator.models.ai_race.config import AiRaceParams
from simulator.sampling import Streams, sample_factors
from simulator.scenario import load_scenario
from tests.helpers.scenarios import CONFIGS

# The baseline keeps methodology_sd and mean_reversion (docs/model.md §12): turn them off to
# compare each switch with the plain random walk.
OFF = ["model.mean_reversion=0", "model.methodology_sd=0", "model.methodology_years=[]"]
ALL_ON = [
    "model.country_drift_sd=0.02",
    "model.mean_reversion=0.3",
    "model.volatility_size_elasticity=0.5",
    "model.methodology_sd=0.05",
    "model.methodology_years=[2023, 2026]",
]


def _stepper(sets, n=700, years=(2024, 2030)):
    sc = load_scenario(CONFIGS / "baseline.toml", list(sets)).with_updates(
        years=list(years), seed=3
    )
    model = build_model(sc)
    f = sample_factors(
        sc.factors, sc.correlation, design="mc", seed=3, block=0, n=n, block_size=16384
    )
    return model, model.start(f, Streams(3, 0).child("model"), n)


def test_take_moves_every_new_per_draw_array_with_its_particle():
    n = 700  # two chunks
    _, a = _stepper(ALL_ON, n)
    a.advance(2024)
    before = {
        k: np.concatenate([c.per_draw()[k][0] for c in a.chunks], axis=ax)
        for k, (_, ax) in a.chunks[0].per_draw().items()
        if k in ("theta", "dev", "meth_sd", "drift", "own_sd")
    }
    idx = np.random.default_rng(2).integers(0, n, n)
    a.take(idx)
    for k, old in before.items():
        ax = a.chunks[0].per_draw()[k][1]
        new = np.concatenate([c.per_draw()[k][0] for c in a.chunks], axis=ax)
        np.testing.assert_array_equal(new, np.take(old, idx, axis=ax), err_msg=k)
    # The deviation of mean reversion is live state: non-zero after two years of shocks.
    assert np.abs(before["dev"]).max() > 0


def test_switches_off_by_default_and_each_changes_the_scores():
    defaults = {f.name: f.default for f in dataclasses.fields(AiRaceParams)}
    assert defaults["methodology_years"] == () and defaults["volatility_size_elasticity"] == 0
    for key in ("country_drift_sd", "mean_reversion", "methodology_sd"):
        assert defaults[key].value == 0 and defaults[key].factor is None
    _, base = _stepper(OFF, n=256)
    ref = base.advance(2030)["ai_index"]
    for s in ALL_ON[:-1]:
        sets = [*OFF, s] + (["model.methodology_years=[2023]"] if "methodology_sd" in s else [])
        _, st = _stepper(sets, n=256)
        assert not np.array_equal(st.advance(2030)["ai_index"], ref), s


def test_full_mean_reversion_keeps_the_spread_from_growing():
    # θ = 1 with no drift and no regional shocks: each year's country shock replaces the last,
    # so Korea's latent deviation has the same sd in 2024 and 2030; θ = 0 lets it grow ~√t.
    common = [
        *OFF,
        "model.drift_sd=0",
        'factors.regional_share={dist = "constant", value = 0}',
        'factors.pillar_offset_scale={dist = "constant", value = 1}',
        "model.volatility=0.05",
    ]
    sds = {}
    for theta in (0.0, 1.0):
        _, st = _stepper([*common, f"model.mean_reversion={theta}"], n=2000)
        st.advance(2024)
        d24 = np.concatenate([c.dev for c in st.chunks], axis=1).std()
        st.advance(2030)
        d30 = np.concatenate([c.dev for c in st.chunks], axis=1).std()
        sds[theta] = (d24, d30)
    # θ = 1: sd 0.05 (× the size scale, 1) in both years; the sample sd over 2,000 × 62 values
    # has a relative standard error of ~0.2%: 5% slack.
    assert sds[1.0][1] == pytest.approx(sds[1.0][0], rel=0.05)
    assert sds[0.0] == (0.0, 0.0)  # θ = 0 keeps no deviation: the shocks are the random walk


def test_bad_methodology_years_is_a_config_error():
    with pytest.raises(ConfigError, match="methodology_years"):
        _stepper(["model.methodology_years=[1990]"])


def test_rank_momentum_drifts_only_countries_with_a_published_pre_2021_trend():
    from simulator.models.ai_race.model import _rank_gain_per_year

    model, _ = _stepper([], n=16)
    c = model.countries
    gain = dict(zip(c, _rank_gain_per_year(c), strict=True))
    # Korea 8, 8, 7 in 2019–2021: the least-squares slope is −0.5 place a year.
    assert gain["KOR"] == pytest.approx(0.5)
    # The 2019 edition's top ten against the 2021 table, two years later: Germany 5th → 9th
    # loses 2 places a year, Singapore 7th → 6th gains 0.5, Ireland 10th → 12th loses 1; the
    # first four kept their ranks.
    assert gain["DEU"] == gain["FRA"] == pytest.approx(-2.0)
    assert gain["SGP"] == pytest.approx(0.5) and gain["IRL"] == pytest.approx(-1.0)
    assert [gain[k] for k in ("USA", "CHN", "GBR", "CAN")] == [0.0] * 4
    # Every other country has no published rank before the table (Israel was 5th in it).
    assert {k for k, g in gain.items() if g != 0} == {"KOR", "DEU", "FRA", "SGP", "IRL"}
    assert model.params.rank_momentum == 0.0 and (model.momentum == 1.0).all()
    on, _ = _stepper(["model.rank_momentum=0.02"], n=16)
    assert on.momentum[on.countries.index("KOR")] == pytest.approx(np.exp(0.01))


def test_investment_data_until_keeps_only_the_data_published_by_then():
    full, _ = _stepper([], n=16)
    # The data's 2023 and 2024 increments, relative to the median reported country.
    assert sorted(full.investment_history) == [2023, 2024]
    kor = full.countries.index("KOR")
    assert dict(full.investment_history[2023])[kor] == pytest.approx(-0.25, abs=0.01)
    vintage, _ = _stepper(["model.investment.data_until=2023"], n=16)
    assert vintage.investment_history == {2023: full.investment_history[2023]}
    none, _ = _stepper(["model.investment.data_until=2020"], n=16)
    assert none.investment_history == {}
    # The projection for the lever countries starts after the whole data, whatever the vintage.
    assert none.investment_data_end == full.investment_data_end == 2024
    with pytest.raises(ConfigError, match="data_until"):
        _stepper(["model.investment.data_until=2023.5"], n=16)
