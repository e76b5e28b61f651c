"""The conditioned sensitivity explains the headline's P: the same run's P, and on the baseline
the P of an independent run within Monte Carlo error."""

from __future__ import annotations

import math

import pytest

from simulator import run
from simulator.analysis.sensitivity_conditioned import conditioned_sensitivity
from simulator.scenario import load_scenario, scenario_from_dict
from simulator.stats import Z_TWO_SIDED_95
from tests.helpers.scenarios import CONFIGS
from tests.helpers.toy_models import linear_dict


def _conditioned_linear():
    d = linear_dict(draws=6000, seed=8)
    d["observations"] = [{"year": 2029, "country": "KOR", "metric": "score", "rank": 3}]
    return scenario_from_dict(d, source="<linear>")


def test_the_p_explained_is_the_same_runs_headline(linear_race):
    sc = _conditioned_linear()
    ds = conditioned_sensitivity(sc, n_resamples=20)
    head = run(sc)["p_top"].sel(country="KOR", metric="score", year=2030)
    assert ds.attrs["headline_p"] == float(head)
    assert float(ds["outcome_mean"].sel(outcome="in_top_k")) == pytest.approx(float(head))
    assert ds.attrs["observations"] == 1 and "conditioned on 1 observations" in ds.attrs["title"]


def _se(p, lo, hi):
    return (hi - lo) / (2 * Z_TWO_SIDED_95)


@pytest.mark.slow
def test_on_the_baseline_sensitivity_and_run_agree_within_4_5_combined_se():
    sc = load_scenario(CONFIGS / "baseline.toml")
    s = conditioned_sensitivity(sc, draws=20_000, seed=11, n_resamples=20)
    ds_run = run(sc, draws=20_000, seed=12)
    sel = {"country": "KOR", "metric": "ai_index", "year": 2030}
    p_run = float(ds_run["p_top"].sel(sel))
    a = s.attrs
    # Standard errors from the 95% intervals' half-widths (Monte Carlo error of each run).
    se_s = _se(a["headline_p"], a["headline_p_lower"], a["headline_p_upper"])
    se_r = _se(p_run, float(ds_run["p_top_lower"].sel(sel)), float(ds_run["p_top_upper"].sel(sel)))
    assert abs(a["headline_p"] - p_run) < 4.5 * math.hypot(se_s, se_r)
