"""Sensitivity analysis: Sobol indices (analytic checks, noise as an input), rank measures, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner
from scipy import integrate, stats

from simulator import run
from simulator.analysis.sensitivity import (
    NOISE,
    rank_sensitivity,
    sample_matrices,
    sobol_indices,
    weighted_ranks,
)
from simulator.analysis.sensitivity_study import rank_sensitivity_of_result, sobol_sensitivity
from simulator.cli import main
from simulator.errors import AnalysisError
from simulator.results import save
from simulator.sampling import Streams
from simulator.scenario import scenario_from_dict
from simulator.stats import Z_TWO_SIDED_95
from tests.helpers.scenarios import FIVE, TIMING_ATTRS, gaussian_scenario
from tests.helpers.toy_models import LinearRace, linear_dict, register_model

UNIFORM_PI = stats.uniform(-np.pi, 2 * np.pi)
# Ishigami (a = 7, b = 0.1): analytic indices (Ishigami & Homma 1990; Sobol' & Levitan 1999).
ISHIGAMI_S1 = np.array([0.3139, 0.4424, 0.0])
ISHIGAMI_ST = np.array([0.5576, 0.4424, 0.2437])


def ishigami(x, a=7.0, b=0.1):
    return np.sin(x[0]) + a * np.sin(x[1]) ** 2 + b * x[2] ** 4 * np.sin(x[0])


# Tolerances: 4.5 standard errors, the standard error being the 95% bootstrap interval's
# half-width / 1.96; a correct estimator fails such a check about once in 150,000.
K_SE = 4.5


def inside(est, truth, i=0):
    """|estimate − truth| ≤ K_SE standard errors (an Estimate's row ``i``)."""
    se = (est.upper[i] - est.lower[i]) / (2 * Z_TWO_SIDED_95)
    return np.abs(est.value[i] - truth) <= K_SE * se


def within(cell, var: str, truth) -> bool:
    """The same for a variable of a sensitivity Dataset and its ``_lower``/``_upper`` bounds."""
    se = (cell[f"{var}_upper"] - cell[f"{var}_lower"]) / (2 * Z_TWO_SIDED_95)
    return bool((np.abs(cell[var] - truth) <= K_SE * se).all())


@pytest.fixture
def linear_race(monkeypatch):
    register_model(monkeypatch, "linear_race", LinearRace)


@pytest.fixture
def runner():
    return CliRunner()


# ---------------------------------------------------------------------------------------------
# The estimator


def test_ishigami_indices_within_bootstrap_intervals():
    # 2^13 base rows of a scrambled Sobol design; each 95% percentile-bootstrap interval must
    # hold the analytic index (the bootstrap treats QMC rows as iid, which overstates their
    # error, so the intervals are conservative: over 200 seeds none of the six missed).
    res = sobol_indices(
        func=ishigami, dists=[UNIFORM_PI] * 3, n=2**13, rng=np.random.default_rng(20260122)
    )
    assert res.names == ("x1", "x2", "x3")
    assert inside(res.first_order, ISHIGAMI_S1).all(), res.first_order
    assert inside(res.total_order, ISHIGAMI_ST).all(), res.total_order
    # The intervals are informative: 0.02–0.06 wide at this n.
    assert np.all(res.total_order.upper - res.total_order.lower < 0.07)
    # Mean and variance of the function: 3.5 and a²/8 + bπ⁴/5 + b²π⁸/18 + 1/2 = 13.8446. Their
    # spread over 40 seeds of this scrambled-Sobol design: sd 6.0e-5 and 0.038% (relative);
    # tolerances 4.5 sd, rounded up.
    assert res.mean[0] == pytest.approx(3.5, abs=3e-4)
    assert res.variance[0] == pytest.approx(13.8446, rel=2e-3)


def test_estimator_is_scipys_saltelli_2010():
    """The same A, B, AB values give scipy.stats.sobol_indices' numbers (dict form)."""
    n = 1024
    a, b = sample_matrices([UNIFORM_PI] * 3, n=n, rng=np.random.default_rng(5))
    f_ab = np.stack([ishigami(np.where(np.arange(3)[:, None] == j, b, a)) for j in range(3)])
    ref = stats.sobol_indices(func={"f_A": ishigami(a), "f_B": ishigami(b), "f_AB": f_ab}, n=n)

    # Our function sees exactly these matrices when it draws the design from the same seed.
    res = sobol_indices(
        func=ishigami, dists=[UNIFORM_PI] * 3, n=n, rng=np.random.default_rng(5), n_resamples=9
    )
    np.testing.assert_allclose(res.first_order.value[0], ref.first_order, atol=1e-12)
    np.testing.assert_allclose(res.total_order.value[0], ref.total_order, atol=1e-12)


def test_subset_of_inputs_and_names():
    res = sobol_indices(
        func=ishigami,
        dists=[UNIFORM_PI] * 3,
        n=2**12,
        rng=np.random.default_rng(1),
        names=["p", "q", "r"],
        which=[2],
        n_resamples=200,
    )
    assert res.names == ("r",)
    assert res.evaluations == 3 * 2**12
    assert inside(res.total_order, ISHIGAMI_ST[2:]).all()


def _noisy(x, *, noise):
    """Y = X1 + X2·ε with ε ~ N(0, 1) from a stream keyed by the noise label (common random
    numbers: column i sees the same ε for the same label)."""
    eps = Streams(99, 0)(f"test-noise:{noise}").standard_normal(x.shape[1])
    return x[0] + x[1] * eps


def test_internal_noise_is_one_more_input():
    # Var Y = 2. S1 = ST1 = 1/2; X2 acts only with the noise: S2 = 0, ST2 = 1/2;
    # the noise likewise: S_ε = 0, ST_ε = 1/2. Intervals are 95% bootstrap intervals.
    res = sobol_indices(
        func=_noisy,
        dists=[stats.norm(), stats.norm()],
        n=2**13,
        rng=np.random.default_rng(11),
        names=["x1", "x2"],
        noise=True,
    )
    assert res.names == ("x1", "x2", NOISE)
    assert res.evaluations == 5 * 2**13
    assert inside(res.first_order, np.array([0.5, 0.0, 0.0])).all(), res.first_order
    assert inside(res.total_order, np.array([0.5, 0.5, 0.5])).all(), res.total_order


@pytest.mark.parametrize(
    ("n", "match"),
    [(100, "power of two"), (32, "≥ 64"), (0, "power of two"), (2**36, "use n ≤ 16,777,216")],
)
def test_sobol_needs_a_power_of_two(n, match):
    with pytest.raises(AnalysisError, match=match):
        sobol_indices(func=ishigami, dists=[UNIFORM_PI] * 3, n=n, rng=np.random.default_rng(0))


def test_constant_outcome_gives_nan_not_zero():
    res = sobol_indices(
        func=lambda x: np.zeros(x.shape[1]),
        dists=[UNIFORM_PI],
        n=64,
        rng=np.random.default_rng(0),
        n_resamples=20,
    )
    assert np.isnan(res.first_order.value).all() and np.isnan(res.total_order.upper).all()


# ---------------------------------------------------------------------------------------------
# Rank measures


def test_weighted_ranks_match_scipy_and_duplicates():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 5, size=(50, 2)).astype(float)  # many ties
    r = weighted_ranks(x)
    expected = (stats.rankdata(x, axis=0) - 0.5) / len(x)
    np.testing.assert_allclose(r, expected)
    w = rng.integers(1, 4, size=50)
    rw = weighted_ranks(x, w.astype(float))
    rd = weighted_ranks(np.repeat(x, w, axis=0))
    np.testing.assert_allclose(np.repeat(rw, w, axis=0), rd)


def test_rank_correlation_is_spearman_and_weights_act_as_copies():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((400, 3))
    y = x[:, 0] + 0.5 * x[:, 1] + rng.standard_normal(400)
    res = rank_sensitivity(x=x, y=y)
    rho = [stats.spearmanr(x[:, j], y).statistic for j in range(3)]
    np.testing.assert_allclose(res.rank_correlation.value[0], rho, atol=1e-12)
    w = rng.integers(1, 4, size=400)
    rw = rank_sensitivity(x=x, y=y, weights=w.astype(float))
    rd = rank_sensitivity(x=np.repeat(x, w, axis=0), y=np.repeat(y, w))
    np.testing.assert_allclose(rw.rank_correlation.value, rd.rank_correlation.value, atol=1e-12)
    np.testing.assert_allclose(rw.srrc, rd.srrc, atol=1e-10)


def test_rank_correlation_of_bivariate_normal():
    # Y = X1 + X2 + noise with unit variances: Pearson corr(Y, X1) = 1/√3, so Spearman's rho is
    # (6/π) asin(ρ/2) = 0.5593 (Pearson 1907). Tolerance: 4.5 standard errors, the standard error
    # being the 95% Fisher-z interval's half-width / 1.96 (the interval's coverage was checked
    # by simulation: 93.5–97.5% over 400 seeds).
    rng = np.random.default_rng(4)
    n = 20_000
    x = rng.standard_normal((n, 3))
    y = x[:, 0] + x[:, 1] + rng.standard_normal(n)
    res = rank_sensitivity(x=x, y=y, names=["a", "b", "c"])
    truth = 6 / np.pi * np.arcsin(1 / np.sqrt(3) / 2)
    rc = res.rank_correlation
    se = (rc.upper[0] - rc.lower[0]) / (2 * 1.96)
    assert np.all(np.abs(rc.value[0] - [truth, truth, 0.0]) < K_SE * se), (rc.value, se)
    # With independent factors each SRRC is the factor's Spearman rho (0.5593, 0.5593, 0) and
    # the R² of the rank regression Σ rho² = 0.6257. Their standard errors, measured over 200
    # seeds at this n: 0.0048 (SRRC) and 0.0047 (R²); 4.5 SE.
    assert np.all(np.abs(res.srrc[0] - [truth, truth, 0.0]) < K_SE * 0.0048), res.srrc
    assert res.r_squared[0] == pytest.approx(2 * truth**2, abs=K_SE * 0.0047)


def test_rank_sensitivity_needs_enough_draws():
    with pytest.raises(AnalysisError, match="too few for rank sensitivity of 3 factors"):
        rank_sensitivity(x=np.zeros((10, 3)), y=np.zeros(10))


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


# ---------------------------------------------------------------------------------------------
# CLI


@pytest.fixture
def linear_file(tmp_path, linear_race):
    import tomli_w

    path = tmp_path / "linear.toml"
    path.write_text(
        tomli_w.dumps(
            linear_dict(correlation={"factors": ["a", "b"], "matrix": [[1, 0.3], [0.3, 1]]})
        )
    )
    return path


@pytest.fixture
def linear_result(tmp_path, linear_race):
    sc = scenario_from_dict(linear_dict(), source="<linear>")
    return save(run(sc, draws=3000), tmp_path / "linear.nc")


def test_cli_sobol_table_json_output_and_correlation_warning(runner, linear_file, tmp_path):
    out = tmp_path / "sens.nc"
    args = ["sensitivity", str(linear_file), "-n", "512", "--seed", "3", "-o", str(out)]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0] == "Sobol sensitivity · linear-test · KOR · score 2030 · top 3"
    assert "512 base draws × 6 = 3,072 model runs · seed 3" in lines[1]
    table = [ln.split()[0] for ln in lines[6:10]]
    assert table == ["a", "b", "c", "internal"]  # most influential first
    assert res.stderr.startswith("g3sim: warning: the scenario correlates a, b ([correlation])")
    assert "Sobol indices assume independent factors" in res.stderr
    assert f"saved {out}" in res.stdout
    ds = xr.open_dataset(out)
    assert ds.attrs["correlation_ignored"] == "a, b"
    res = runner.invoke(main, [*args[:-2], "--format", "json", "--factor", "b"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["method"] == "sobol" and [f["factor"] for f in doc["factors"]] == ["b"]
    assert doc["model_evaluations"] == 512 * 4
    assert set(doc["factors"][0]["score"]) == {"first_order", "total_order"}
    assert doc["warnings"] and "noise" in doc


def test_cli_sobol_without_a_seed_prints_the_one_it_drew(runner, linear_race, tmp_path):
    import tomli_w

    d = linear_dict()
    del d["scenario"]["seed"]
    path = tmp_path / "unseeded.toml"
    path.write_text(tomli_w.dumps(d))
    res = runner.invoke(main, ["sensitivity", str(path), "-n", "64"])
    assert res.exit_code == 0, res.output
    seed = int(res.stdout.split("seed ")[1].split()[0])
    assert f"seed {seed} drawn from fresh entropy; rerun with --seed {seed}" in res.stdout
    # Rerunning with that seed gives the same table (without the line about the seed).
    again = runner.invoke(main, ["sensitivity", str(path), "-n", "64", "--seed", str(seed)])
    assert again.stdout.splitlines() == res.stdout.splitlines()[:-1]


def test_cli_sobol_from_a_saved_result_reruns_its_scenario(runner, linear_result):
    res = runner.invoke(main, ["sensitivity", str(linear_result), "-n", "128", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["scenario"] == "linear-test" and doc["seed"] == 3  # the stored scenario's seed


def test_cli_rank_method_on_a_result(runner, linear_result, tmp_path):
    res = runner.invoke(main, ["sensitivity", str(linear_result), "--method", "rank"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("Rank sensitivity · linear-test · KOR · score 2030")
    assert [ln.split()[0] for ln in lines[6:9]] == ["a", "b", "c"]
    res = runner.invoke(
        main,
        [
            "sensitivity",
            str(linear_result),
            "--method",
            "rank",
            "--format",
            "json",
            "--year",
            "2029",
            "-o",
            str(tmp_path / "r.nc"),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["method"] == "rank" and doc["year"] == 2029 and not doc["weighted"]
    a = doc["factors"][0]
    assert a["factor"] == "a" and a["score"]["rank_correlation"]["value"] > 0.7
    ds = xr.open_dataset(tmp_path / "r.nc")
    assert ds.attrs["method"] == "rank" and "rank_correlation" in ds and "srrc" in ds


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


@pytest.fixture
def gauss_result(tmp_path):
    sc = gaussian_scenario(FIVE, factors={"u": {"dist": "uniform", "low": 0, "high": 1}})
    return save(run(sc, draws=2000), tmp_path / "g.nc")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--method", "rank", "--factor", "uu"],
            "--factor 'uu' is not a factor of .*g.nc \\(did you mean 'u'\\?\\); use one of u",
        ),
        (
            ["--method", "rank", "--metric", "scores"],
            "--metric 'scores' is not a metric of "
            ".*g.nc \\(did you mean 'score'\\?\\); use one of score",
        ),
        (
            ["--method", "rank", "--year", "2031"],
            "--year 2031 is not a year of .*g.nc \\(did you mean '2030'\\?\\); use one of 2030",
        ),
        (["--method", "rank", "-n", "64"], "-n apply to --method sobol"),
        (["-n", "100"], "n = 100: Sobol indices need a power of two ≥ 64 base rows"),
        (["-n", "32"], "n = 32: Sobol indices need a power of two ≥ 64"),
    ],
)
def test_cli_errors_are_one_line_exit_2(runner, gauss_result, extra, message):
    res = runner.invoke(main, ["sensitivity", str(gauss_result), *extra])
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    assert len(res.stderr.splitlines()) == 1
    assert res.stderr.startswith("g3sim: error: ")
    import re

    assert re.search(message, res.stderr), res.stderr


def test_cli_refuses_results_without_draws_and_scenarios_without_factors(runner, tmp_path):
    sc = gaussian_scenario(FIVE, factors={"u": {"dist": "uniform", "low": 0, "high": 1}})
    path = save(run(sc, draws=500, keep_draws=False), tmp_path / "nodraws.nc")
    res = runner.invoke(main, ["sensitivity", str(path), "--method", "rank"])
    assert res.exit_code == 2
    assert res.stderr == (
        f"g3sim: error: {path} has no per-draw data (it was run with --no-keep-draws); rerun "
        "the scenario with --keep-draws (the default up to 1,000,000 draws)\n"
    )
    toml = tmp_path / "nofactors.toml"
    toml.write_text(gaussian_scenario(FIVE).to_toml())
    res = runner.invoke(main, ["sensitivity", str(toml), "-n", "64"])
    assert res.exit_code == 2
    assert res.stderr.startswith(f"g3sim: error: {toml} has no factors; sensitivity analysis")
    res = runner.invoke(main, ["sensitivity", str(toml), "--method", "rank"])
    assert res.exit_code == 2
    assert "--method rank reads a saved result's per-draw data; run `g3sim run" in res.stderr


def test_cli_rank_too_few_draws(runner, tmp_path):
    sc = gaussian_scenario(FIVE, factors={"u": {"dist": "uniform", "low": 0, "high": 1}})
    path = save(run(sc, draws=12), tmp_path / "tiny.nc")
    res = runner.invoke(main, ["sensitivity", str(path), "--method", "rank"])
    assert res.exit_code == 2
    assert "12 draws (effective sample size 12) are too few for rank sensitivity" in res.stderr


def test_help_has_an_example(runner):
    for cmd in ("sensitivity", "discover"):
        res = runner.invoke(main, [cmd, "--help"])
        assert res.exit_code == 0
        assert f"g3sim {cmd} results/baseline.nc" in res.stdout
