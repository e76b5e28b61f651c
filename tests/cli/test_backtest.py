"""``g3sim backtest``: table, JSON, the saved file, and one-line errors."""

from __future__ import annotations

import json

import tomli_w

from simulator import open_result
from tests.helpers.cli import assert_error, invoke
from tests.helpers.scenarios import CONFIGS, FIVE, gaussian_dict

BASELINE = CONFIGS / "baseline.toml"
QUICK = ("-n", "256", "--calibration-draws", "16", "--seed", "1", "--origin", "2024")


def test_backtest_prints_json_and_saves_the_file(tmp_path):
    out = tmp_path / "bt.nc"
    res = invoke("backtest", BASELINE, *QUICK, "--format", "json", "-o", out)
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    # From 2024 only the 2025 edition is left: its five published countries.
    assert {f["country"] for f in body["forecasts"]} == {"USA", "CHN", "SGP", "GBR", "KOR"}
    assert {r["forecaster"] for r in body["summary"]} == {"model", "persistence", "trend"}
    assert open_result(out).attrs["analysis"] == "backtest"


def test_backtest_table_names_the_calibration():
    res = invoke("backtest", BASELINE, *QUICK, "--no-recalibrate")
    assert res.exit_code == 0, res.output
    assert "NOT re-calibrated" in res.stdout and "persistence" in res.stdout


def test_backtest_of_another_model_is_one_line(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text(tomli_w.dumps(gaussian_dict(FIVE, draws=100, seed=1)))
    assert_error(invoke("backtest", path, "-n", "16"), 2, "backtest scores ai_race scenarios")


def test_backtest_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "bt.nc"
    out.write_text("x")
    assert_error(invoke("backtest", BASELINE, *QUICK, "-o", out), 2, "--force")
