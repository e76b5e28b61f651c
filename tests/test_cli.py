"""The CLI's happy paths: run, inspect (table/json/csv), validate, list."""

from __future__ import annotations

import json
import shutil

import pytest
import xarray as xr
from click.testing import CliRunner

from simulator import __version__
from simulator.cli import main
from simulator.results import open_results
from tests.helpers.scenarios import CONFIGS


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def gauss_file(in_tmp):
    path = in_tmp / "gaussian-race.toml"
    shutil.copy(CONFIGS / "examples" / "gaussian-race.toml", path)
    return path


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
        for k in ("created_utc", "elapsed_s", "command"):
            ds.attrs.pop(k)
    xr.testing.assert_identical(a, b)


def test_unseeded_run_prints_the_seed_it_drew(runner, gauss_file):
    text = gauss_file.read_text().replace("seed = 1\n", "")
    gauss_file.write_text(text)
    res = runner.invoke(main, ["run", str(gauss_file), "-n", "1000", "-q"])
    assert res.exit_code == 0, res.output
    assert "drawn from fresh entropy; rerun with --seed" in res.stdout


def test_inspect_json_has_the_documented_keys(runner, gauss_file, in_tmp):
    runner.invoke(main, ["run", str(gauss_file), "-n", "3000", "-q"])
    res = runner.invoke(main, ["inspect", "results/gaussian-race.nc", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    for key in ("scenario", "draws", "seed", "focus", "top_k", "p_top", "rank_distribution"):
        assert key in doc
    cell = doc["p_top"]["score"]["2030"]
    assert set(cell) == {"p", "lower", "upper"} and cell["lower"] <= cell["p"] <= cell["upper"]
    assert sum(doc["rank_distribution"]["score"]["2030"].values()) == pytest.approx(1.0)


def test_inspect_table_and_csv(runner, gauss_file, in_tmp):
    runner.invoke(main, ["run", str(gauss_file), "-n", "3000", "-q"])
    res = runner.invoke(main, ["inspect", "results/gaussian-race.nc", "--country", "CHN"])
    assert res.exit_code == 0 and "rank distribution of CHN" in res.stdout
    res = runner.invoke(main, ["inspect", "results/gaussian-race.nc", "--format", "csv"])
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("metric,year,country,p_top,p_top_lower,p_top_upper,median")
    assert len(lines) == 1 + 5  # one row per country


def test_validate_prints_the_resolved_scenario(runner, gauss_file):
    res = runner.invoke(main, ["validate", str(gauss_file), "--set", "scenario.draws=77"])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("# OK:")
    assert "draws = 77" in res.stdout and 'design = "mc"' not in res.stdout


def test_list_shows_descriptions(runner, in_tmp, gauss_file):
    res = runner.invoke(main, ["list", str(in_tmp)])
    assert res.exit_code == 0
    assert "gaussian-race.toml" in res.stdout and "Closed-form check" in res.stdout


def test_version(runner):
    res = runner.invoke(main, ["--version"])
    assert res.exit_code == 0 and __version__ in res.stdout


def test_python_dash_m_entry_point(gauss_file, in_tmp):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "simulator", "run", str(gauss_file), "-n", "500", "-q", "--force"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "P(KOR rank ≤ 3)" in out.stdout


def test_progress_bar_shows_only_after_a_second_and_clears(monkeypatch, capsys):
    from simulator.cli import options as cli

    clock = iter([0.0, 0.5, 1.5, 2.0])
    monkeypatch.setattr(cli.time, "perf_counter", lambda: next(clock))
    bar = cli.Progress(enabled=True)  # t0 = 0.0
    bar(100, 1000)  # at 0.5 s: silent
    assert capsys.readouterr().err == ""
    bar(500, 1000)  # at 1.5 s: shown
    err = capsys.readouterr().err
    assert "500/1,000 draws" in err and "ETA" in err
    bar.close()
    assert capsys.readouterr().err == "\r\033[K"
    silent = cli.Progress(enabled=False)
    silent(1, 2)
    silent.close()
    assert capsys.readouterr().err == ""


def test_extends_outside_its_folder_is_allowed_but_said(tmp_path, runner):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(CONFIGS / "examples" / "gaussian-race.toml", tmp_path / "b" / "p.toml")
    (tmp_path / "a" / "c.toml").write_text('extends = "../b/p.toml"\n[scenario]\nname = "child"\n')
    res = runner.invoke(main, ["validate", str(tmp_path / "a" / "c.toml")])
    assert res.exit_code == 0
    assert res.stderr.count("\n") == 1 and "extends reaches outside its folder" in res.stderr
