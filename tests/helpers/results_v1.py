"""Golden values of tests/data/results_v1.nc, a results file of format version 1 (written by
tests/data/make_fixtures.py): exact draw counts, and interval and quantile values stored in it."""

from __future__ import annotations

from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "results_v1.nc"
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
