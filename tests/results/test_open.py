"""Results files of earlier format versions stay readable (issue 8, item 3).

tests/data/results_v1.nc is a results file of format version 1 — a gaussian race, 500 kept
draws, written by tests/data/make_fixtures.py — committed once and never regenerated when the
format changes. Its numbers below are golden values: exact draw counts, and the interval and
quantile values stored in the file (read back, not recomputed). When FORMAT_VERSION moves on,
these tests keep checking that the new reader gives the same answers for the old file.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import netCDF4
import numpy as np
import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.results import FORMAT_VERSION, open_results

FIXTURE = Path(__file__).parents[1] / "data" / "results_v1.nc"
SHA256 = "32c3528ed8721738b00909f8b7eb2de137bd83a13f45b4b988adf63ac1f47758"
# Draws (of 500) in which each country has rank 1..5 in 2030: exact, from the file's seed.
RANK_COUNTS = {
    "USA": [500, 0, 0, 0, 0],
    "CHN": [0, 500, 0, 0, 0],
    "SGP": [0, 0, 264, 165, 71],
    "GBR": [0, 0, 151, 221, 128],
    "KOR": [0, 0, 85, 114, 301],
}
KOR_BOUNDS = (0.13962036610396117, 0.20541169860066333)  # stored 95% Wilson interval
KOR_QUANTILES = [20.324, 25.818, 29.94966666666667, 33.9652, 39.017]  # stored q5..q95


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], prog_name="g3sim")


def one_error_line(res) -> str:
    assert res.exit_code == 2, (res.exit_code, res.stderr)
    assert "Traceback" not in res.output and "internal error" not in res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and res.stdout == "", res.stderr
    return lines[0]


def test_the_fixture_is_small_and_of_version_1():
    assert FIXTURE.stat().st_size < 100_000
    with netCDF4.Dataset(FIXTURE) as nc:
        assert nc.getncattr("g3sim_format_version") == 1
        assert nc.getncattr("g3sim_format") == "g3sim-results"


def test_open_results_reads_every_variable_of_the_v1_fixture():
    ds = open_results(FIXTURE)
    assert ds.attrs["scenario_sha256"] == SHA256
    assert (int(ds.attrs["draws"]), int(ds.attrs["seed"]), int(ds.attrs["top_k"])) == (
        500,
        20240801,
        3,
    )
    counts = ds["rank_count"].sel(metric="score", year=2030)
    for country, want in RANK_COUNTS.items():
        assert counts.sel(country=country).values.tolist() == want, country
    np.testing.assert_array_equal(
        ds["rank_probability"].sel(metric="score", year=2030).values * 500, counts.values
    )
    assert ds["focus_rank"].shape == (500, 1, 1)
    assert (
        np.bincount(ds["focus_rank"].values.ravel(), minlength=6)[1:].tolist()
        == (RANK_COUNTS["KOR"])
    )
    assert np.isfinite(ds["focus_value"].values).all()


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


def test_a_file_of_a_newer_format_is_refused(tmp_path):
    newer = tmp_path / "newer.nc"
    shutil.copyfile(FIXTURE, newer)
    with netCDF4.Dataset(newer, "a") as nc:
        nc.setncattr("g3sim_format_version", FORMAT_VERSION + 1)
    for fmt in ("table", "json", "csv"):
        line = one_error_line(invoke("inspect", newer, "--format", fmt))
        assert line == (
            f"g3sim: error: {newer}: written in results format {FORMAT_VERSION + 1} by a newer "
            f"g3sim; this g3sim reads up to {FORMAT_VERSION}: upgrade g3sim"
        )


@pytest.mark.parametrize("keep", [0.0, 0.01, 0.5, 0.99, -1])
def test_a_truncated_copy_of_the_fixture_is_one_line_error(tmp_path, keep):
    data = FIXTURE.read_bytes()
    cut = tmp_path / "cut.nc"
    cut.write_bytes(data[:keep] if keep == -1 else data[: int(len(data) * keep)])
    line = one_error_line(invoke("inspect", cut))
    assert line.startswith(f"g3sim: error: {cut}: not a readable NetCDF file (")
    assert line.endswith("; re-run the scenario to recreate it")
