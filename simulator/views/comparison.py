"""Text, JSON and CSV views of a comparison Dataset (:mod:`simulator.analysis.comparison`)."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import xarray as xr

from .format import number, percent

# The per-(metric, year) variables of a comparison Dataset (analysis/comparison.py), in order.
COMPARISON_VARIABLES = (
    "p_a",
    "p_b",
    "difference",
    "difference_lower",
    "difference_upper",
    "se_paired",
    "se_independent",
    "variance_reduction",
)


def comparison_text(ds: xr.Dataset) -> str:
    a = ds.attrs
    out = [
        f"compare A: {a['scenario_name_a']} → B: {a['scenario_name_b']} · "
        f"focus {a['focus_a']}{'' if a['focus_a'] == a['focus_b'] else ' / ' + a['focus_b']} · "
        f"top {a['top_k_a']}",
        a["pairing"],
        "",
        f"  {'metric':<12}{'year':>6}{'P_A':>9}{'P_B':>9}   {'B − A [95% interval]':<28}"
        f"{'variance reduction':>18}",
    ]
    for m in ds["metric"].values:
        for y in ds["year"].values:
            c = ds.sel(metric=m, year=y)
            d, lo, hi = (
                float(c[v]) for v in ("difference", "difference_lower", "difference_upper")
            )
            vr = float(c["variance_reduction"])
            vr_s = "–" if np.isnan(vr) else ("∞" if np.isinf(vr) else f"{number(vr)}×")
            out.append(
                f"  {m!s:<12}{int(y):>6}"
                f"{percent(float(c['p_a'])):>9}{percent(float(c['p_b'])):>9}   "
                f"{f'{d * 100:+.2f} pp [{lo * 100:+.2f}, {hi * 100:+.2f}]':<28}{vr_s:>18}"
            )
    out.append(
        "  (pp = percentage points; variance reduction = independent-runs variance ÷ paired)"
    )
    return "\n".join(out)


def comparison_json(ds: xr.Dataset) -> str:
    a = ds.attrs
    doc = {
        "scenario_a": a["scenario_name_a"],
        "scenario_b": a["scenario_name_b"],
        "paired": bool(a["paired"]),
        "pairing": a["pairing"],
        "focus": a["focus_a"],
        "top_k": int(a["top_k_a"]),
        "seed_a": int(a["seed_a"]),
        "seed_b": int(a["seed_b"]),
        "draws_a": int(a["draws_a"]),
        "draws_b": int(a["draws_b"]),
        "metrics": {},
    }
    for m in ds["metric"].values:
        doc["metrics"][str(m)] = {}
        for y in ds["year"].values:
            c = ds.sel(metric=m, year=y)
            vals = {}
            for v in COMPARISON_VARIABLES:
                x = float(c[v])
                vals[v] = x if math.isfinite(x) else None
            doc["metrics"][str(m)][str(int(y))] = vals
    return json.dumps(doc, indent=2, allow_nan=False)


#: Columns of ``compare --format csv`` (one row per metric, year and quantity).
CSV_COLUMNS = ("metric", "year", "country", "quantity", "value", "units")


def comparison_csv(ds: xr.Dataset) -> str:
    """Tidy (long) table: one row per metric, year and quantity (:data:`COMPARISON_VARIABLES`),
    ``country`` the focus (``A/B`` if the two differ), ``value`` at full precision (empty if not
    finite), ``units`` from the file ("1": probabilities, their differences and ratios)."""
    a = ds.attrs
    country = a["focus_a"] if a["focus_a"] == a["focus_b"] else f"{a['focus_a']}/{a['focus_b']}"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for m in ds["metric"].values:
        for y in ds["year"].values:
            c = ds.sel(metric=m, year=y)
            for v in COMPARISON_VARIABLES:
                x = float(c[v])
                value = repr(x) if math.isfinite(x) else ""
                w.writerow([str(m), int(y), country, v, value, ds[v].attrs.get("units", "")])
    return buf.getvalue()
