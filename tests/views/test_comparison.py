"""The comparison CSV is long (tidy) and parses with the stdlib csv module."""

from __future__ import annotations

import csv
import io
import math

from simulator.views.comparison import COMPARISON_VARIABLES, CSV_COLUMNS, comparison_csv


def test_comparison_csv_is_one_row_per_metric_year_and_quantity(files):
    ds = files.open("gauss_comparison")
    rows = list(csv.DictReader(io.StringIO(comparison_csv(ds))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == ds.sizes["metric"] * ds.sizes["year"] * len(COMPARISON_VARIABLES)
    assert [r["quantity"] for r in rows[: len(COMPARISON_VARIABLES)]] == list(COMPARISON_VARIABLES)
    for r in rows:
        assert r["country"] == "KOR" and r["units"] == "1"
        want = float(ds[r["quantity"]].sel(metric=r["metric"], year=int(r["year"])))
        if r["value"]:
            assert float(r["value"]) == want  # full precision
        else:
            assert not math.isfinite(want)  # "" only for a value that is not finite
