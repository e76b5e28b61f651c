"""``g3sim sweep`` and ``g3sim target`` as a user types them, and the sweep file read back by
``inspect``, ``plot --kind sweep`` and ``report``."""

from __future__ import annotations

import json

import pytest
import tomli_w

from simulator.plots import plot
from simulator.results import open_result
from tests.helpers.cli import assert_error, invoke
from tests.helpers.scenarios import FIVE, gaussian_dict

LEVER = {"low": 20.0, "high": 50.0, "step": 5.0, "default": 30.0, "description": "Korea's mean"}


@pytest.fixture
def lever_toml(tmp_path):
    d = gaussian_dict(FIVE, draws=4000, seed=4)
    d["levers"] = {"kor_mean": LEVER}
    d["model"]["countries"]["KOR"]["mean"] = "kor_mean"
    path = tmp_path / "g.toml"
    path.write_text(tomli_w.dumps(d))
    return path


def test_sweep_prints_every_combination_and_writes_a_file_the_readers_open(lever_toml, tmp_path):
    out = tmp_path / "s.nc"
    res = invoke("sweep", lever_toml, "--lever", "kor_mean=25,30,35", "-o", out, "-q")
    assert res.exit_code == 0, res.output
    assert "kor_mean: Korea's mean; default 30" in res.stdout
    lines = [ln for ln in res.stdout.splitlines() if ln.strip().startswith(("25", "30", "35"))]
    assert len(lines) == 3 and "default" in lines[1] and "pp [" in lines[2]
    assert f"saved {out}" in res.stdout
    ds = open_result(out)
    assert ds.attrs["analysis"] == "sweep" and list(ds["kor_mean"].values) == [25.0, 30.0, 35.0]
    shown = invoke("inspect", out)
    assert shown.exit_code == 0 and shown.stdout.splitlines()[0] == ds.attrs["title"]
    doc = json.loads(invoke("inspect", out, "--format", "json").stdout)
    assert len(doc["rows"]) == 3 and doc["levers"]["kor_mean"]["default"] == 30.0
    png = tmp_path / "s.png"
    assert invoke("plot", out, "--kind", "sweep", "-o", png).exit_code == 0
    assert png.stat().st_size > 10_000
    html = tmp_path / "s.html"
    assert invoke("report", out, "-o", html).exit_code == 0
    page = html.read_text()
    assert "Korea&#x27;s mean" in page and "data:image/png;base64," in page


def test_the_sweep_figure_draws_one_line_per_year_with_the_levers_description(lever_toml, tmp_path):
    out = tmp_path / "s.nc"
    invoke("sweep", lever_toml, "--lever", "kor_mean=25,35", "-o", out, "-q")
    fig = plot(open_result(out), "sweep")
    ax = fig.get_axes()[1]
    assert ax.get_xlabel() == "Korea's mean"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["2030"]


def test_a_sweep_resumes_and_refuses_to_overwrite_an_interrupted_one(lever_toml, tmp_path):
    out = tmp_path / "s.nc"
    (tmp_path / "s.nc.parts").mkdir()
    res = invoke("sweep", lever_toml, "--lever", "kor_mean=25,30", "-o", out, "-q")
    assert_error(res, 2, "s.nc.parts holds an interrupted sweep; continue it with --resume")
    res = invoke("sweep", lever_toml, "--lever", "kor_mean=25,30", "-o", out, "-q", "--resume")
    assert_error(res, 2, "no sweep to resume; run without --resume")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lever", "kor_mea=30"], "--lever 'kor_mea' is not a lever"),
        (["--lever", "kor_mean=30,x"], "--lever 'kor_mean=30,x': 'x' is not a finite number"),
        (["--lever", "kor_mean=30,60"], "--lever kor_mean=60: not an allowed value"),
        (["--lever", "kor_mean=30", "--lever", "kor_mean=35"], "--lever kor_mean is given twice"),
    ],
)
def test_bad_sweep_options_are_one_line(lever_toml, tmp_path, args, message):
    res = invoke("sweep", lever_toml, *args, "-o", tmp_path / "s.nc", "-q")
    assert_error(res, 2, message)
    assert not (tmp_path / "s.nc").exists()


def test_target_answers_with_an_interval_or_says_it_is_not_reachable(lever_toml):
    res = invoke("target", lever_toml, "--lever", "kor_mean", "--p", "0.5", "-q")
    assert res.exit_code == 0, res.output
    assert (
        "answer: the smallest kor_mean that reaches it is 40 [95% interval 35 – 40]" in res.stdout
    )
    res = invoke(
        "target", lever_toml, "--lever", "kor_mean", "--p", "0.5", "-q",
        "--set", "levers.kor_mean.high=30.0", "--set", "levers.kor_mean.low=20.0",
    )  # fmt: skip
    assert "answer: not reachable within [20, 30]: the best P found is" in res.stdout
    doc = json.loads(
        invoke("target", lever_toml, "--lever", "kor_mean", "--p", "0.5", "--format", "json").stdout
    )
    assert doc["reachable"] and doc["value"] == 40.0 and doc["lever"] == "kor_mean"


def test_run_takes_a_lever_value(lever_toml, tmp_path):
    out = tmp_path / "r.nc"
    res = invoke("run", lever_toml, "--lever", "kor_mean=45", "-o", out, "-q")
    assert res.exit_code == 0, res.output
    assert "value = 45" in open_result(out).attrs["scenario_toml"]
    html = tmp_path / "r.html"
    assert invoke("report", out, "-o", html).exit_code == 0
    page = html.read_text()
    assert "The 1 decision (levers) of the scenario" in page
    assert '<code>kor_mean</code></td><td class="num">45</td><td class="num">30</td>' in page
    res = invoke("run", lever_toml, "--lever", "kor_mean=45,50", "-o", out, "-q")
    assert_error(res, 2, "--lever kor_mean=45,50: a run takes one value per lever")
