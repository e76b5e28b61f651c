"""g3sim inspect: table, JSON and CSV of a fresh run and of the format-version-1 fixture
(tests/data/results_v1.nc, whose golden values are in tests/helpers/results_v1.py)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from simulator.cli import main
from tests.helpers.cli import invoke
from tests.helpers.results_v1 import FIXTURE, KOR_BOUNDS, KOR_QUANTILES, RANK_COUNTS, SHA256


def test_inspect_table_of_the_v1_fixture():
    res = invoke("inspect", FIXTURE)
    assert res.exit_code == 0, res.stderr
    assert res.stderr == ""
    out = res.stdout
    assert "gaussian-race-v1 · model gaussian_race · KOR · top 3" in out
    assert "500 draws · seed 20240801 · design mc" in out
    assert "  2030            17.0% [14.0, 20.5%]" in out
    assert "  2030       0%     0%  17.0%  22.8%  60.2%" in out
    assert "  2030         20.32       25.82       29.95       33.97       39.02" in out
    assert f"(sha256 {SHA256[:12]})" in out


def test_inspect_json_of_the_v1_fixture():
    res = invoke("inspect", FIXTURE, "--format", "json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert (doc["scenario"], doc["draws"], doc["seed"], doc["top_k"]) == (
        "gaussian-race-v1",
        500,
        20240801,
        3,
    )
    assert doc["effective_sample_size"] == 500.0
    p = doc["p_top"]["score"]["2030"]
    assert p["p"] == 85 / 500
    assert (p["lower"], p["upper"]) == pytest.approx(KOR_BOUNDS, rel=1e-15)
    assert doc["rank_distribution"]["score"]["2030"] == {
        str(r + 1): n / 500 for r, n in enumerate(RANK_COUNTS["KOR"])
    }
    got = [doc["quantiles"]["score"]["2030"][q] for q in ("0.05", "0.25", "0.5", "0.75", "0.95")]
    assert got == pytest.approx(KOR_QUANTILES, rel=1e-12)
    assert doc["scenario_sha256"] == SHA256


def test_inspect_csv_of_the_v1_fixture():
    res = invoke("inspect", FIXTURE, "--format", "csv")
    assert res.exit_code == 0, res.stderr
    rows = {r["country"]: r for r in csv.DictReader(io.StringIO(res.stdout))}
    assert sorted(rows) == sorted(RANK_COUNTS)
    for country, counts in RANK_COUNTS.items():
        row = rows[country]
        assert (row["metric"], row["year"]) == ("score", "2030")
        assert float(row["p_top"]) == pytest.approx(sum(counts[:3]) / 500, abs=5e-7)
        for r, n in enumerate(counts, start=1):
            assert float(row[f"p_rank_{r}"]) == pytest.approx(n / 500, abs=5e-7)
    kor = rows["KOR"]
    assert (float(kor["p_top_lower"]), float(kor["p_top_upper"])) == pytest.approx(
        KOR_BOUNDS, rel=1e-5
    )
    assert float(kor["median"]) == pytest.approx(KOR_QUANTILES[2], rel=1e-5)


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
