"""The rolling-origin back-test: scores, baselines, and a small end-to-end run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simulator import load_scenario, open_result, save
from simulator.analysis.backtest import (
    _variant,
    backtest,
    log_score,
    persistence_pmf,
    rank_changes,
    rps,
    summary,
    trend_pmf,
)
from simulator.errors import ConfigError
from simulator.models import build_model
from simulator.models.ai_race.calibration import history_until, movements_until
from simulator.views.backtest import backtest_json, backtest_text


def test_rps_of_a_point_forecast_counts_the_places_it_missed():
    p = np.zeros(10)
    p[5] = 1.0  # rank 6
    assert rps(p, 6) == 0.0
    assert rps(p, 5) == 1.0 and rps(p, 7) == 1.0
    assert rps(p, 8) == 2.0
    assert log_score(np.full(10, 0.1), 3) == pytest.approx(np.log(10))


def test_history_is_only_what_was_published_by_the_origin():
    h = history_until(2023)
    assert sorted(h) == [2019, 2020, 2021, 2023]
    assert len(h[2021]) == 62 and h[2023]["KOR"] == 6 and 2024 not in h
    assert [m[:2] for m in movements_until(2021)] == [(2019, 2020), (2020, 2021)]


@pytest.mark.parametrize(("origin", "years"), [(2021, []), (2023, []), (2024, [2023])])
def test_an_origin_sees_only_the_investment_data_published_by_then(origin, years):
    # The AI Index publishes year y's investment in April of y + 1: the 2023 edition (June
    # 2023) knew 2022's, the 2024 edition (September 2024) 2023's.
    sc = load_scenario("configs/baseline.toml")
    v = _variant(sc, years=[2025], origin=origin, model={}, vintage=origin)
    model = build_model(v)
    assert model.params.investment_data_until == origin - 1
    assert sorted(model.investment_history) == years


def test_persistence_is_centred_on_the_last_rank_and_trend_follows_the_line():
    h = history_until(2023)  # Korea 8, 8, 7, 6 in 2019, 2020, 2021, 2023
    p = persistence_pmf(h, "KOR", 2024, 62)
    assert p.sum() == pytest.approx(1.0)
    # Rank changes are symmetric enough around 0 that the mode stays on the last rank (6).
    assert int(np.argmax(p)) + 1 == 6
    t = trend_pmf(h, "KOR", 2025, 62)
    # The least-squares line through (2019, 8), (2020, 8), (2021, 7), (2023, 6) reaches 4.94
    # in 2025, a place above persistence's centre (6): the same kernel, shifted up one place.
    p25 = persistence_pmf(h, "KOR", 2025, 62)
    assert t[:5].sum() > p25[:5].sum() + 0.1
    np.testing.assert_allclose(rank_changes({2021: {"A": 3}, 2025: {"A": 1}}), [-1.0, 1.0])


def test_backtest_from_one_origin_runs_scores_and_round_trips(tmp_path):
    sc = load_scenario("configs/baseline.toml")
    ds = backtest(sc, draws=512, calibration_draws=64, seed=3, origins=(2024,))
    # From 2024 only 2025 is forecast: its five published countries, three forecasters.
    assert ds.sizes["forecast"] == 5 and list(ds["forecaster"].values) == [
        "model",
        "persistence",
        "trend",
    ]
    assert np.isfinite(ds["rps"].values).all() and (ds["log_score"].values > 0).all()
    np.testing.assert_allclose(ds["forecast_probability"].sum("rank_position").values, 1.0)
    rows = summary(ds)
    assert {r["group"] for r in rows} == {"KOR", "published"}
    assert "persistence" in backtest_text(ds)
    assert json.loads(backtest_json(ds))["forecasts"][0]["target"] == 2025
    path = save(ds, tmp_path / "bt.nc")
    back = open_result(path)
    assert back.attrs["analysis"] == "backtest"
    np.testing.assert_allclose(back["rps"].values, ds["rps"].values)


def test_backtest_names_a_bad_origin():
    sc = load_scenario("configs/baseline.toml")
    with pytest.raises(ConfigError, match="origin 2022"):
        backtest(sc, draws=16, origins=(2022,))
