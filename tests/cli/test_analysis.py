"""g3sim sensitivity and g3sim discover: output formats, notes and one-line errors."""

from __future__ import annotations

import json

import pytest
import xarray as xr

from simulator import run
from simulator.cli import main
from simulator.results import save
from simulator.scenario import scenario_from_dict
from tests.helpers.scenarios import FIVE, gaussian_scenario
from tests.helpers.toy_models import linear_dict

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


# ---------------------------------------------------------------------------------------------
# g3sim results


# ---------------------------------------------------------------------------------------------
# CLI


@pytest.fixture
def discover_result(tmp_path, linear_race):
    sc = scenario_from_dict(linear_dict(), source="<linear>")
    return save(run(sc, draws=4000), tmp_path / "linear.nc")


def test_cli_discover_table_and_json(runner, discover_result):
    res = runner.invoke(main, ["discover", str(discover_result), "--threshold-density", "0.6"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    # The verdict first, then the header.
    assert lines[0].startswith("A box with 1 significant restriction (a) raises the chance of ")
    assert lines[2] == (
        f"Scenario discovery (PRIM) · linear-test · KOR rank ≤ 3 in score 2030 · {discover_result}"
    )
    assert "chosen box (step" in res.stdout and "peeling trajectory" in res.stdout
    factor_row = next(ln for ln in lines if ln.strip().startswith("a "))
    assert "≥" in factor_row  # a is restricted from below only
    res = runner.invoke(
        main,
        [
            "discover",
            str(discover_result),
            "--format",
            "json",
            "--year",
            "2029",
            "--factor",
            "a",
            "--factor",
            "c",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["year"] == 2029 and doc["analysis"] == "discovery" and doc["draws"] == 4000
    box = doc["box"]
    assert {r["factor"] for r in box["restrictions"]} <= {"a", "c"}
    assert box["restrictions"][0]["factor"] == "a"
    assert box["restrictions"][0]["restricts_lower"] and box["restrictions"][0]["units"] == "1"
    assert doc["trajectory"][0]["coverage"] == 1.0 and doc["trajectory"][box["step"]][
        "density"
    ] == pytest.approx(box["density"])


def test_cli_discover_note_goes_to_stderr(runner, discover_result):
    res = runner.invoke(main, ["discover", str(discover_result), "--threshold-density", "1"])
    assert res.exit_code == 0, res.output
    assert res.stderr.startswith("g3sim: warning: no box with coverage ≥ 0.5 reaches density 1 ")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--factor", "aa"], "--factor 'aa' is not a factor of .*linear.nc \\(did you mean 'a'"),
        (["--metric", "scor"], "--metric 'scor' is not a metric of .* \\(did you mean 'score'"),
        (["--year", "2020"], "--year 2020 is not a year of .*; use one of 2029, 2030"),
    ],
)
def test_cli_discover_errors(runner, discover_result, extra, message):
    import re

    res = runner.invoke(main, ["discover", str(discover_result), *extra])
    assert res.exit_code == 2, res.output
    assert len(res.stderr.splitlines()) == 1 and res.stdout == ""
    assert re.search(message, res.stderr), res.stderr


def test_cli_discover_bad_inputs(runner, tmp_path):
    sc = gaussian_scenario(FIVE, factors={"u": {"dist": "uniform", "low": 0, "high": 1}})
    nodraws = save(run(sc, draws=300, keep_draws=False), tmp_path / "nd.nc")
    res = runner.invoke(main, ["discover", str(nodraws)])
    assert res.exit_code == 2 and "has no per-draw data (it was run with --no-keep-draws)" in (
        res.stderr
    )
    few = save(run(sc, draws=60), tmp_path / "few.nc")
    res = runner.invoke(main, ["discover", str(few)])
    assert res.exit_code == 2
    assert res.stderr == (
        "g3sim: error: 60 draws are too few for PRIM; it needs ≥ 100: run more draws\n"
    )
    nofactors = save(run(gaussian_scenario(FIVE), draws=300), tmp_path / "nf.nc")
    res = runner.invoke(main, ["discover", str(nofactors)])
    assert res.exit_code == 2 and f"{nofactors} has no factors" in res.stderr
    res = runner.invoke(main, ["discover", "configs/baseline.toml"])
    assert res.exit_code == 2
    assert "discover reads a saved result's per-draw data; run `g3sim run" in res.stderr
    res = runner.invoke(main, ["discover", str(tmp_path / "missing.nc")])
    assert res.exit_code == 2 and "no such results file" in res.stderr
    res = runner.invoke(main, ["discover", str(nodraws), "--min-coverage", "2"])
    assert res.exit_code == 2 and "--min-coverage" in res.stderr


# ---------------------------------------------------------------------------------------------
# Given-data sensitivity: the conditioned answer, its verdict first


@pytest.fixture
def conditioned_file(tmp_path, linear_race):
    """The linear race conditioned on KOR being third in 2029 (its factors a, b move KOR)."""
    import tomli_w

    d = linear_dict(draws=8000, seed=5)
    d["observations"] = [{"year": 2029, "country": "KOR", "metric": "score", "rank": 3}]
    path = tmp_path / "conditioned.toml"
    path.write_text(tomli_w.dumps(d))
    return path


def test_given_data_explains_the_headline_p_and_leads_with_its_verdict(
    runner, conditioned_file, tmp_path
):
    out = tmp_path / "r.nc"
    ran = runner.invoke(main, ["run", str(conditioned_file), "-o", str(out), "-q"])
    assert ran.exit_code == 0, ran.output
    headline = next(ln for ln in ran.stdout.splitlines() if ln.strip().startswith("2030"))
    p_run = headline.split()[1]
    for target in (conditioned_file, out):  # auto: given-data, as the scenario has observations
        res = runner.invoke(main, ["sensitivity", str(target)])
        assert res.exit_code == 0, res.output
        lines = res.stdout.splitlines()
        assert lines[0].startswith("The listed inputs, one at a time, explain about ")
        assert "of the variance of the top-3 indicator; the rest is" in lines[0]
        assert f"= {p_run} (the headline, conditioned on 1 observations)" in lines[2]
        assert f"headline P = {p_run} [" in lines[3]
        rows = [ln.split()[-1] for ln in lines[7:9]]
        assert rows == ["a", "b"]  # factor c does nothing: collapsed into one line
        assert "1 other factor: zero within its interval or below 0.001 (c)" in res.stdout
    res = runner.invoke(main, ["sensitivity", str(out), "-n", "100"])
    assert "-n apply to a scenario; --method given-data uses the draws of" in res.stderr


def test_given_data_json_and_tornado(runner, conditioned_file, tmp_path):
    out = tmp_path / "s.nc"
    res = runner.invoke(
        main, ["sensitivity", str(conditioned_file), "--format", "json", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["method"] == "given-data" and doc["verdict"].startswith("The listed inputs")
    assert doc["zero_within_interval"] == ["c"]
    png = tmp_path / "t.png"
    res = runner.invoke(main, ["plot", str(out), "--kind", "tornado", "-o", str(png)])
    assert res.exit_code == 0, res.output


def test_discover_says_no_significant_box_first_and_shows_descriptions(
    runner, tmp_path, linear_race
):
    d = linear_dict(shifts={"KOR": {}})  # the factors move nothing: no box can be significant
    path = save(run(scenario_from_dict(d, source="<linear>"), draws=4000), tmp_path / "n.nc")
    res = runner.invoke(main, ["discover", str(path)])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0].startswith("No significant box: ")
    doc = json.loads(runner.invoke(main, ["discover", str(path), "--format", "json"]).stdout)
    assert doc["verdict"].startswith("No significant box")
    d = linear_dict()
    d["factors"]["a"]["description"] = "the first factor"
    path = save(run(scenario_from_dict(d, source="<linear>"), draws=4000), tmp_path / "a.nc")
    res = runner.invoke(main, ["discover", str(path), "--threshold-density", "0.6"])
    row = next(ln for ln in res.stdout.splitlines() if ln.strip().startswith("a "))
    assert row.endswith("the first factor")
