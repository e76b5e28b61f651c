"""g3sim calibrate on the Gaussian race: the back-test of the observations against closed-form
probabilities, jointly and one by one."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tests.helpers.scenarios import gaussian_dict


def test_calibrate_command_reports_backtest_and_factor_shifts(tmp_path):
    import json

    from click.testing import CliRunner

    from simulator.cli import main

    path = tmp_path / "gh.toml"
    path.write_text(
        """
[scenario]
name = "gh"
model = "gaussian_race"
years = [2030]
draws = 20000
seed = 1
[model.countries]
USA = { mean = 100, sd = 2 }
KOR = { mean = 30, sd = 6 }
GBR = { mean = 33, sd = 4 }
[factors.a]
dist = "normal"
mean = 0
sd = 1
[[observations]]
year = 2030
country = "KOR"
metric = "score"
rank = 2
"""
    )
    # Rejection: the ESS is then exactly the number of draws that reproduce the observation.
    args = ["calibrate", str(path), "--format", "json", "-q", "--conditioning", "rejection"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    # P(KOR above GBR) = Φ((30 - 33) / sqrt(36 + 16)); the back-test must estimate it.
    p = stats.norm.cdf(-3 / np.sqrt(52))
    (obs,) = doc["observations"]
    assert abs(obs["p_reproduced"] - p) <= 4.5 * np.sqrt(p * (1 - p) / 20_000)
    assert doc["effective_sample_size"] == pytest.approx(20_000 * obs["p_reproduced"], rel=1e-9)
    assert doc["factors"][0]["factor"] == "a"
    text = CliRunner().invoke(main, ["calibrate", str(path), "-q"]).stdout
    assert "back-test" in text and "KOR score 2030: rank 2" in text


def test_calibrate_back_tests_observations_no_draw_reproduces_jointly(tmp_path):
    """The case calibrate is for: each observation alone is possible, never both at once."""
    import json

    import tomli_w
    from click.testing import CliRunner

    from simulator.cli import main

    doc = gaussian_dict({"USA": (100, 2), "KOR": (30, 6), "GBR": (33, 4)}, draws=4000, seed=2)
    doc["observations"] = [
        {"year": 2030, "country": "KOR", "metric": "score", "rank": 2},
        {"year": 2030, "country": "GBR", "metric": "score", "rank": 2},
    ]
    path = tmp_path / "both.toml"
    path.write_text(tomli_w.dumps(doc))
    res = CliRunner().invoke(main, ["calibrate", str(path), "--format", "json", "-q"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["effective_sample_size"] == 0.0 and out["factors"] == []
    p_kor = stats.norm.cdf(-3 / np.sqrt(52))  # P(KOR above GBR); GBR second otherwise
    kor, gbr = (o["p_reproduced"] for o in out["observations"])
    se = np.sqrt(p_kor * (1 - p_kor) / 4000)
    assert abs(kor - p_kor) <= 4.5 * se and abs(gbr - (1 - p_kor)) <= 4.5 * se
    text = CliRunner().invoke(main, ["calibrate", str(path), "-q"]).stdout
    assert "no draw reproduces every observation jointly" in text
