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
    # KOR_QUANTILES (20.324, 25.818, 29.9497, 33.9652, 39.017) to 3 significant digits
    assert "  2030          20.3        25.8        29.9        34.0        39.0" in out
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


def csv_rows(text: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and list(rows[0]) == [
        "metric",
        "year",
        "country",
        "quantity",
        "rank_position",
        "quantile_level",
        "value",
        "units",
    ]
    return rows


def test_inspect_csv_of_the_v1_fixture_is_tidy():
    """One row per metric, year, country and quantity, values at full precision."""
    res = invoke("inspect", FIXTURE, "--format", "csv")
    assert res.exit_code == 0, res.stderr
    rows = csv_rows(res.stdout)
    # 5 countries × (p_top and its 2 bounds, mean, sd, 5 quantiles, 5 ranks)
    assert len(rows) == 5 * (5 + 5 + 5)
    cell = {}
    for r in rows:
        assert (r["metric"], r["year"]) == ("score", "2030")
        key = (r["country"], r["quantity"], r["rank_position"], r["quantile_level"])
        assert key not in cell
        cell[key] = r
    assert {c for c, *_ in cell} == set(RANK_COUNTS)
    for country, counts in RANK_COUNTS.items():
        p_top = cell[(country, "p_top", "", "")]
        assert float(p_top["value"]) == sum(counts[:3]) / 500 and p_top["units"] == "1"
        for r, n in enumerate(counts, start=1):
            row = cell[(country, "rank_probability", str(r), "")]
            assert float(row["value"]) == n / 500 and row["units"] == "1"
    bounds = (float(cell[("KOR", f"p_top_{b}", "", "")]["value"]) for b in ("lower", "upper"))
    assert tuple(bounds) == KOR_BOUNDS  # full precision: exactly the stored numbers
    for q, want in zip(("0.05", "0.25", "0.5", "0.75", "0.95"), KOR_QUANTILES, strict=True):
        assert float(cell[("KOR", "value_quantile", "", q)]["value"]) == pytest.approx(
            want, rel=1e-12
        )


def test_inspect_json_has_the_documented_keys(runner, gauss_file, in_tmp):
    runner.invoke(main, ["run", str(gauss_file), "-n", "3000", "-q"])
    res = runner.invoke(main, ["inspect", "results/gaussian-race.nc", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    for key in ("scenario", "draws", "seed", "focus", "top_k", "p_top", "rank_distribution"):
        assert key in doc
    cell = doc["p_top"]["score"]["2030"]
    assert set(cell) == {"p", "lower", "upper", "effective_sample_size"}
    assert cell["lower"] <= cell["p"] <= cell["upper"] and cell["effective_sample_size"] == 3000
    assert sum(doc["rank_distribution"]["score"]["2030"].values()) == pytest.approx(1.0)


def test_inspect_table_and_csv(runner, gauss_file, in_tmp):
    runner.invoke(main, ["run", str(gauss_file), "-n", "3000", "-q"])
    res = runner.invoke(main, ["inspect", "results/gaussian-race.nc", "--country", "CHN"])
    assert res.exit_code == 0 and "rank distribution of CHN" in res.stdout
    res = runner.invoke(
        main, ["inspect", "results/gaussian-race.nc", "--format", "csv", "--country", "CHN"]
    )
    rows = csv_rows(res.stdout)
    assert {r["country"] for r in rows} == {"CHN"}
    # one country, one year: p_top, its bounds and sample size, mean, sd, 5 quantiles, 5 ranks
    assert len(rows) == 6 + 5 + 5
