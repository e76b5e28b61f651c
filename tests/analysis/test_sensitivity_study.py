"""Sensitivity studies of g3sim scenarios and results: Sobol indices of the linear race against
the analytic ones, the dataset contract, and rank measures weighted by history."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import integrate, stats

from simulator import run
from simulator.analysis.sensitivity_study import rank_sensitivity_of_result, sobol_sensitivity
from simulator.errors import AnalysisError
from simulator.results import save
from simulator.scenario import scenario_from_dict
from simulator.stats import Z_TWO_SIDED_95
from tests.helpers.scenarios import FIVE, TIMING_ATTRS, gaussian_scenario
from tests.helpers.toy_models import linear_dict

# Tolerances: 4.5 standard errors, the standard error being the 95% bootstrap interval's
# half-width / 1.96; a correct estimator fails such a check about once in 150,000.
K_SE = 4.5


def within(cell, var: str, truth) -> bool:
    """The same for a variable of a sensitivity Dataset and its ``_lower``/``_upper`` bounds."""
    se = (cell[f"{var}_upper"] - cell[f"{var}_lower"]) / (2 * Z_TWO_SIDED_95)
    return bool((np.abs(cell[var] - truth) <= K_SE * se).all())


# ---------------------------------------------------------------------------------------------
# g3sim scenarios


def test_linear_race_sobol_matches_the_analytic_indices(linear_race):
    # KOR's score = 30 + 3a + b + 2z (a, b ~ N(0, 1)): Var = 14, so S_a = ST_a = 9/14,
    # S_b = 1/14, S_c = 0, noise 4/14. KOR is in the top 3 iff it beats SGP (33 + z'):
    # P = 1 − Φ(3/√15), and S_a(in_top_k) = Var Φ((3a − 3)/√6) / (P (1 − P)) by quadrature.
    sc = scenario_from_dict(linear_dict(), source="<linear>")
    ds = sobol_sensitivity(sc, n=2**12, seed=5)
    assert list(ds["factor"].values) == ["a", "b", "c"]
    score = ds.sel(outcome="score")
    truth = np.array([9, 1, 0]) / 14
    for kind in ("first_order", "total_order"):
        assert within(score, kind, truth), score[kind].values
        assert within(score, f"noise_{kind}", 4 / 14)
    p = stats.norm.sf(3 / np.sqrt(15))
    # The mean of the top-k indicator over the 2 × 4096 base rows: binomial SE
    # √(p(1 − p) / 8192) = 0.0046; 4.5 SE.
    se_p = np.sqrt(p * (1 - p) / (2 * 2**12))
    assert float(ds["outcome_mean"].sel(outcome="in_top_k")) == pytest.approx(p, abs=K_SE * se_p)
    m1 = integrate.quad(lambda a: stats.norm.cdf((3 * a - 3) / 6**0.5) * stats.norm.pdf(a), -9, 9)
    m2 = integrate.quad(
        lambda a: stats.norm.cdf((3 * a - 3) / 6**0.5) ** 2 * stats.norm.pdf(a), -9, 9
    )
    s_a = (m2[0] - m1[0] ** 2) / (p * (1 - p))
    top = ds.sel(outcome="in_top_k", factor="a")
    assert within(top, "first_order", s_a)
    # c enters nowhere: with common random numbers f(AB_c) = f(A) exactly.
    assert float(ds["total_order"].sel(factor="c").max()) == 0.0


def test_sobol_dataset_contract_and_reproducibility(linear_race, tmp_path):
    sc = scenario_from_dict(linear_dict(), source="<linear>")
    a = sobol_sensitivity(sc, n=256, seed=7, factors=["b", "a"], metric="score", year=2029)
    b = sobol_sensitivity(sc, n=256, seed=7, factors=["b", "a"], metric="score", year=2029)
    for ds in (a, b):
        for k in TIMING_ATTRS:
            ds.attrs.pop(k, None)
    xr.testing.assert_identical(a, b)
    c = sobol_sensitivity(sc, n=256, seed=8, factors=["b", "a"], metric="score", year=2029)
    assert not np.array_equal(a["first_order"].values, c["first_order"].values)
    assert list(a["factor"].values) == ["b", "a"]
    assert a.attrs["analysis"] == "sensitivity" and a.attrs["method"] == "sobol"
    assert (a.attrs["draws"], a.attrs["model_evaluations"], a.attrs["year"]) == (256, 256 * 5, 2029)
    assert a.attrs["metric"] == "score" and a.attrs["seed"] == 7
    for name, var in a.data_vars.items():
        assert var.attrs.get("long_name") and var.attrs.get("units"), name
    assert set(a["first_order"].dims) == {"outcome", "factor"}
    path = save(a, tmp_path / "s.nc")
    with xr.open_dataset(path) as back:
        xr.testing.assert_allclose(back.load(), a)


def test_gaussian_race_factors_that_enter_nowhere_have_zero_indices():
    sc = gaussian_scenario(
        FIVE,
        factors={
            "u": {"dist": "uniform", "low": 0, "high": 1},
            "v": {"dist": "normal", "mean": 0, "sd": 1},
        },
    )
    ds = sobol_sensitivity(sc, n=1024, seed=1)
    for kind in ("first_order", "total_order"):
        assert float(np.abs(ds[kind]).max()) == 0.0
    # Everything is the model's own noise (95% intervals).
    for o in ("in_top_k", "score"):
        cell = ds.sel(outcome=o)
        assert within(cell, "noise_total_order", 1.0)


def test_scenario_without_factors_is_refused():
    with pytest.raises(AnalysisError, match=r"has no factors; .* add \[factors.NAME\]"):
        sobol_sensitivity(gaussian_scenario(FIVE), n=64, seed=1)


def test_rank_method_weighted_by_history(linear_race):
    d = linear_dict()
    d["observations"] = [
        {"year": 2029, "metric": "score", "country": "KOR", "score": 33.0, "score_sd": 2.0}
    ]
    ds = run(scenario_from_dict(d, source="<linear>"), draws=2000)
    out = rank_sensitivity_of_result(ds)
    assert out.attrs["weighted"] == 1
    assert out.attrs["effective_sample_size"] == pytest.approx(
        float(ds["effective_sample_size"]), rel=1e-9
    )
