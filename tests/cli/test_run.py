"""g3sim run, validate, list and compare: the happy paths."""

from __future__ import annotations

import json
import shutil

import pytest
import xarray as xr
from click.testing import CliRunner

from simulator.cli import main
from simulator.results import open_results
from tests.helpers.comparison import B_RACE, TRUE_DIFF
from tests.helpers.scenarios import CONFIGS, FIVE


def test_run_prints_headline_and_saves(runner, gauss_file, in_tmp):
    res = runner.invoke(main, ["run", str(gauss_file), "-n", "5000", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "P(KOR rank ≤ 3)" in res.stdout
    assert "5,000 draws · seed 1" in res.stdout
    assert "saved results/gaussian-race.nc" in res.stdout
    ds = open_results(in_tmp / "results" / "gaussian-race.nc")
    assert int(ds.attrs["draws"]) == 5000
    assert ds.attrs["command"].startswith("g3sim")


def test_run_options_override_the_file(runner, gauss_file, in_tmp):
    out = in_tmp / "o.nc"
    args = ["run", str(gauss_file), "-n", "3000", "--seed", "9", "--design", "lhs"]
    args += ["--set", "scenario.top_k=2", "--set", "scenario.focus=GBR", "-o", str(out)]
    res = runner.invoke(main, [*args, "--no-keep-draws"])
    assert res.exit_code == 0, res.output
    ds = open_results(out)
    assert (ds.attrs["seed"], ds.attrs["design"], ds.attrs["top_k"]) == (9, "lhs", 2)
    assert ds.attrs["focus"] == "GBR" and "draw" not in ds.dims
    assert 'focus = "GBR"' in ds.attrs["scenario_toml"]


def test_same_seed_same_file_contents_across_cli_runs(runner, gauss_file, in_tmp):
    for name in ("a.nc", "b.nc"):
        res = runner.invoke(main, ["run", str(gauss_file), "-n", "4000", "-o", name, "-q"])
        assert res.exit_code == 0
    a, b = open_results(in_tmp / "a.nc"), open_results(in_tmp / "b.nc")
    for ds in (a, b):
        for k in ("created_utc", "elapsed_s", "command", "history"):
            ds.attrs.pop(k)
    xr.testing.assert_identical(a, b)


def test_unseeded_run_prints_the_seed_it_drew(runner, gauss_file):
    text = gauss_file.read_text().replace("seed = 1\n", "")
    gauss_file.write_text(text)
    res = runner.invoke(main, ["run", str(gauss_file), "-n", "1000", "-q"])
    assert res.exit_code == 0, res.output
    assert "drawn from fresh entropy; rerun with --seed" in res.stdout


def test_validate_prints_the_resolved_scenario(runner, gauss_file):
    res = runner.invoke(main, ["validate", str(gauss_file), "--set", "scenario.draws=77"])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("# OK:")
    assert "draws = 77" in res.stdout and 'design = "mc"' not in res.stdout


def test_list_shows_descriptions(runner, in_tmp, gauss_file):
    res = runner.invoke(main, ["list", str(in_tmp)])
    assert res.exit_code == 0
    assert "gaussian-race.toml" in res.stdout and "Closed-form check" in res.stdout


def test_extends_outside_its_folder_is_allowed_but_said(tmp_path, runner):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(CONFIGS / "examples" / "gaussian-race.toml", tmp_path / "b" / "p.toml")
    (tmp_path / "a" / "c.toml").write_text('extends = "../b/p.toml"\n[scenario]\nname = "child"\n')
    res = runner.invoke(main, ["validate", str(tmp_path / "a" / "c.toml")])
    assert res.exit_code == 0
    assert res.stderr.count("\n") == 1 and "extends reaches outside its folder" in res.stderr


def test_cli_compare_scenarios_and_results(in_tmp):
    import tomli_w

    for name, race in (("a", FIVE), ("b", B_RACE)):
        doc = {
            "scenario": {
                "name": name,
                "model": "gaussian_race",
                "years": [2030],
                "draws": 8000,
                "seed": 3,
            },
            "model": {"countries": {c: {"mean": m, "sd": s} for c, (m, s) in race.items()}},
        }
        (in_tmp / f"{name}.toml").write_text(tomli_w.dumps(doc))
    runner = CliRunner()
    res = runner.invoke(
        main, ["compare", "a.toml", "b.toml", "--format", "json", "-q", "-o", "cmp.nc"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    cell = doc["metrics"]["score"]["2030"]
    # 4.5 paired standard errors (interval coverage itself is tested across 40 seeds above).
    assert doc["paired"] and abs(cell["difference"] - TRUE_DIFF) <= 4.5 * cell["se_paired"]
    assert (in_tmp / "cmp.nc").exists()
    # The same comparison from saved results files is paired too.
    for name in ("a", "b"):
        assert runner.invoke(main, ["run", f"{name}.toml", "-q"]).exit_code == 0
    res = runner.invoke(main, ["compare", "results/a.nc", "results/b.nc"])
    assert res.exit_code == 0 and "paired: common random numbers" in res.stdout
    res = runner.invoke(main, ["compare", "a.toml", "results/b.nc"])
    assert res.exit_code == 2 and "not one of each" in res.stderr


def test_run_format_json_is_the_headline_as_one_json_document(runner, gauss_file, in_tmp):
    """stdout is exactly one JSON document (parsed by the stdlib); the seed note and the
    "saved" line go to stderr; the numbers are those of the saved file."""
    res = runner.invoke(main, ["run", str(gauss_file), "-n", "3000", "-q", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert "saved results/gaussian-race.nc" in res.stderr
    ds = open_results(in_tmp / "results" / "gaussian-race.nc")
    assert doc["output"] == "results/gaussian-race.nc"
    assert (doc["scenario"], doc["draws"], doc["seed"], doc["top_k"]) == (
        "gaussian-race",
        3000,
        int(ds.attrs["seed"]),
        3,
    )
    assert (doc["focus"], doc["country"], doc["conditioned"]) == ("KOR", "KOR", False)
    assert doc["metrics"] == {"score": {"long_name": "score of the Gaussian race", "units": "1"}}
    cell = doc["p_top"]["score"]["2030"]
    kor = ds.sel(metric="score", year=2030, country="KOR")
    assert cell == {
        "p": float(kor["p_top"]),
        "lower": float(kor["p_top_lower"]),
        "upper": float(kor["p_top_upper"]),
        "effective_sample_size": float(kor["p_top_effective_sample_size"]),
    }
    assert doc["effective_sample_size"] == 3000.0 and doc["target_halfwidth"] is None


@pytest.mark.slow  # a new interpreter loads numpy, xarray and the compiled kernels: ~10 s
def test_run_format_json_from_a_real_shell(gauss_file, in_tmp):
    """The installed command, as a user pipes it: stdout parses as JSON, nothing else on it."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "simulator", "run", str(gauss_file), "-n", "2000"]
    proc = subprocess.run(
        [*cmd, "--seed", "3", "--format", "json"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["seed"] == 3 and doc["draws"] == 2000
    assert 0 <= doc["p_top"]["score"]["2030"]["p"] <= 1
    assert proc.stderr.strip().splitlines()[-1] == "saved results/gaussian-race.nc"


def test_a_run_stopped_by_max_draws_says_how_far_it_got_and_warned_early(
    runner, gauss_file, in_tmp
):
    args = ["run", str(gauss_file), "--set", "scenario.block_size=1000", "-q"]
    res = runner.invoke(main, [*args, "--target-halfwidth", "0.002", "--max-draws", "8000"])
    assert res.exit_code == 0, res.output
    warning = "g3sim: warning: after 4,000 draws the 95% half-width is "
    assert res.stderr.startswith(warning) and res.stderr.count("\n") == 1
    assert "raise --max-draws or loosen --target-halfwidth" in res.stderr
    assert "stopped: maximum draws reached: 8,000 draws gave a half-width of " in res.stdout
    assert "draws in all (" in res.stdout


def test_run_help_prints_plain_percent_signs(runner):
    res = runner.invoke(main, ["run", "--help"])
    assert "95% half-width" in res.stdout and "%%" not in res.stdout


def test_list_shows_shipped_and_local_scenarios(runner, in_tmp):
    (in_tmp / "configs").mkdir()
    shutil.copy(CONFIGS / "examples" / "gaussian-race.toml", in_tmp / "configs" / "baseline.toml")
    res = runner.invoke(main, ["list"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["scenario", "from", "description"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert "local configs/baseline.toml (before the shipped one)  Closed-form" in rows["baseline"]
    assert rows["full-delivery"].split()[1] == "shipped"
