"""RunOptions and StopTarget: the flat keywords of run() map onto the typed options (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest

import simulator as g3
from simulator.errors import ConfigError, G3simWarning
from simulator.runs import RunOptions, StopTarget
from simulator.runs.options import run_options
from tests.helpers.scenarios import FIVE, gaussian_scenario


def test_run_options_map_the_flat_keywords():
    opts = run_options(None, {"draws": 10, "target_halfwidth": 0.01, "max_draws": 500})
    assert opts.draws == 10 and opts.stop == StopTarget(0.01, 500, None)
    assert run_options(RunOptions(seed=1), {}) == RunOptions(seed=1)
    with pytest.raises(ConfigError, match="max_draws works with target_halfwidth"):
        run_options(None, {"max_draws": 500})
    with pytest.raises(ConfigError, match=r"must be in \(0, 0.5\]"):
        StopTarget(0.7)
    with pytest.raises(TypeError, match="drawz"):
        run_options(None, {"drawz": 1})


def test_run_with_options_equals_run_with_keywords():
    sc = gaussian_scenario(FIVE, draws=1_500, seed=2, block_size=500)
    a = g3.run(sc, RunOptions(keep_draws=False))
    b = g3.run(sc, keep_draws=False)
    np.testing.assert_array_equal(a["rank_count"].values, b["rank_count"].values)


def test_g3sim_max_draws_caps_every_run_and_says_so(monkeypatch):
    sc = gaussian_scenario(FIVE, draws=5_000, seed=2, block_size=500)
    monkeypatch.setenv("G3SIM_MAX_DRAWS", "1_200")
    with pytest.warns(G3simWarning, match=r"G3SIM_MAX_DRAWS=1200 caps gauss-test at 1,200"):
        ds = g3.run(sc, keep_draws=False)
    assert int(ds.attrs["draws"]) == 1_200 and "draws = 1200" in ds.attrs["scenario_toml"]
    monkeypatch.setenv("G3SIM_MAX_DRAWS", "10000")  # above the draws: no cap, no warning
    assert int(g3.run(sc, keep_draws=False).attrs["draws"]) == 5_000
    for bad in ("0", "-5", "many", "1e4"):
        monkeypatch.setenv("G3SIM_MAX_DRAWS", bad)
        with pytest.raises(ConfigError, match=r"G3SIM_MAX_DRAWS=.*positive whole"):
            g3.run(sc)
