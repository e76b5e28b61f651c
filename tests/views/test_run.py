"""Text, JSON and CSV views of a results Dataset (views/run.py), read the way a user reads
them: every number in the text through the one formatter, JSON and CSV parsed by the stdlib."""

from __future__ import annotations

import csv
import io
import json
import re

from simulator.results import open_results
from simulator.views.run import CSV_COLUMNS, details, headline_data, to_csv, to_json
from tests.views.test_format import EXPONENT


def test_details_of_the_baseline_print_gpu_stocks_without_exponents(baseline_nc):
    ds = open_results(baseline_nc)
    text = details(ds)
    numbers = re.sub(r"sha256 [0-9a-f]+", "sha256 …", text)  # a hash may read like 31e652
    assert not EXPONENT.search(numbers), [ln for ln in numbers.splitlines() if EXPONENT.search(ln)]
    assert "gpu_stock score quantiles [H100e]" in text
    assert "ai_index score quantiles\n" in text  # no "[1]" for a dimensionless index
    q = ds["value_quantile"].sel(metric="gpu_stock", country="KOR").isel(year=-1).values
    assert q.min() >= 1_000  # so the table must use k or M
    block = text.split("gpu_stock score quantiles [H100e]\n")[1].split("\n\n")[0]
    year, *cells = block.splitlines()[-1].split()  # the last year's row
    assert year == str(int(ds["year"].values[-1])) and len(cells) == 5
    assert all(c[-1] in "kM" for c in cells), cells


def test_inspect_json_carries_units_long_names_and_descriptions(baseline_nc):
    ds = open_results(baseline_nc)
    doc = json.loads(to_json(ds))
    assert doc["metrics"]["gpu_stock"] == {
        "long_name": str(ds["metric_long_name"].sel(metric="gpu_stock").item()),
        "units": "H100e",
    }
    assert doc["metrics"]["ai_index"]["units"] == "1"
    assert doc["country_name"] == "South Korea" and doc["conditioned"] is True
    assert doc["scenario_description"] == ds.attrs["scenario_description"] != ""
    for name in ("p_top", "p_top_lower", "p_top_upper", "p_top_effective_sample_size"):
        assert doc["quantities"][name] == {
            "long_name": ds[name].attrs["long_name"],
            "units": "1",
        }
    assert "units" in doc["quantities"]["quantiles"] and "rank_distribution" in doc["quantities"]
    years = [str(int(y)) for y in ds["year"].values]
    assert list(doc["quantiles"]["gpu_stock"]) == years
    assert list(doc["quantiles"]["gpu_stock"][years[0]]) == ["0.05", "0.25", "0.5", "0.75", "0.95"]
    assert doc == {**doc, **headline_data(ds)}  # the headline's keys, then the details
    assert list(doc["factors"]) == [str(f) for f in ds["factor"].values]
    for name, entry in doc["factors"].items():
        f = ds.sel(factor=name)
        assert entry == {
            "description": str(f["factor_description"].item()),
            "units": str(f["factor_units"].item()),
            "prior_mean": float(f["factor_prior_mean"]),
            "prior_sd": float(f["factor_prior_sd"]),
            "posterior_mean": float(f["factor_posterior_mean"]),
            "posterior_sd": float(f["factor_posterior_sd"]),
        }
    assert {e["units"] for e in doc["factors"].values()} >= {"points", "year", "1/year"}


def test_csv_is_long_with_units_per_row(baseline_nc):
    ds = open_results(baseline_nc)
    rows = list(csv.DictReader(io.StringIO(to_csv(ds, country="KOR"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    n_year, n_rank = ds.sizes["year"], ds.sizes["rank_position"]
    assert len(rows) == 2 * n_year * (6 + 5 + n_rank)  # 2 metrics
    units = {(r["metric"], r["quantity"]): r["units"] for r in rows}
    assert units[("gpu_stock", "value_quantile")] == "H100e"
    assert units[("gpu_stock", "value_mean")] == "H100e"
    assert units[("gpu_stock", "p_top")] == "1"
    assert units[("ai_index", "value_mean")] == "1"
    got = {
        (r["metric"], int(r["year"]), int(r["rank_position"])): float(r["value"])
        for r in rows
        if r["quantity"] == "rank_probability"
    }
    want = ds["rank_probability"].sel(country="KOR")
    for (m, y, r), v in got.items():
        assert v == float(want.sel(metric=m, year=y, rank_position=r))


def test_a_non_finite_value_is_an_empty_csv_cell_and_json_null(baseline_nc):
    ds = open_results(baseline_nc).copy(deep=True)
    ds["value_sd"][:] = float("nan")
    ds["value_quantile"][:] = float("nan")
    rows = list(csv.DictReader(io.StringIO(to_csv(ds, country="KOR"))))
    assert {r["value"] for r in rows if r["quantity"] == "value_sd"} == {""}
    doc = json.loads(to_json(ds))  # allow_nan=False: a NaN would raise, not print "NaN"
    cells = doc["quantiles"]["gpu_stock"].values()
    assert {v for cell in cells for v in cell.values()} == {None}


def test_the_headline_leads_with_the_variance_equivalent_size_and_names_lineages(baseline_nc):
    """An SMC run's headline gives, per metric, the size its interval rests on, p(1-p)/V, and
    calls the Eve-grouped Kish size what it is (issue 14: it read as a worse ESS than
    rejection's)."""
    from simulator.views.run import headline

    ds = open_results(baseline_nc)
    assert ds.attrs["conditioning"] == "smc"
    text = headline(ds)
    year = int(ds["year"].values[-1])
    assert f"effective sample size of the {year} headline (variance-equivalent):" in text
    sizes = ds["p_top_effective_sample_size"].sel(year=year, country=ds.attrs["focus"])
    for metric, v in zip(sizes["metric"].values, sizes.values, strict=True):
        assert f"{metric} {float(v):,.0f} (" in text
    lineages = float(ds["effective_sample_size"])
    assert f"lineages {lineages:,.0f} (" in text
