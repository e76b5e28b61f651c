"""Text and JSON views of a back-test Dataset (:mod:`simulator.analysis.backtest`)."""

from __future__ import annotations

import json

import xarray as xr

from ..analysis.backtest import summary


def backtest_text(ds: xr.Dataset) -> str:
    """The pooled scores table: group × origin × forecaster (lower is better)."""
    a = ds.attrs
    cal = ", ".join(
        f"{int(o)}: volatility {float(v):g}, drift_sd {float(d):g}"
        for o, v, d in zip(
            ds["origin"].values, ds["volatility"].values, ds["drift_sd"].values, strict=True
        )
    )
    out = [
        f"backtest {a['scenario_name']} · {int(a['draws']):,} draws a forecast · seed {a['seed']}",
        (
            "random walk re-calibrated per origin ("
            if int(a["recalibrated"])
            else "random walk as in the scenario, NOT re-calibrated ("
        )
        + cal
        + ")",
        "",
        f"  {'group':<11}{'origin':<11}{'forecaster':<13}{'n':>4}{'RPS':>9}{'log score':>11}",
    ]
    last = None
    for r in summary(ds):
        key = (r["group"], r["origin"])
        if last is not None and key != last:
            out.append("")
        last = key
        out.append(
            f"  {r['group']:<11}{r['origin']:<11}{r['forecaster']:<13}{r['forecasts']:>4}"
            f"{r['rps']:>9.3f}{r['log_score']:>11.3f}"
        )
    out += [
        "",
        "origin: forecasts made after that edition (all: every one; 2024–2025: the held-out "
        "2024 and 2025 editions from any origin). RPS sums over ranks; lower is better.",
    ]
    return "\n".join(out) + "\n"


def backtest_json(ds: xr.Dataset) -> str:
    """The pooled table, the calibration and every scored forecast, as JSON."""
    fc = [
        {
            "origin": int(ds["forecast_origin"].values[i]),
            "target": int(ds["forecast_target"].values[i]),
            "country": str(ds["forecast_country"].values[i]),
            "published_rank": int(ds["observed_rank"].values[i]),
            **{
                str(m): {
                    "rps": float(ds["rps"].sel(forecaster=m).values[i]),
                    "log_score": float(ds["log_score"].sel(forecaster=m).values[i]),
                    "p_published": float(ds["p_observed"].sel(forecaster=m).values[i]),
                    "mean_rank": float(ds["expected_rank"].sel(forecaster=m).values[i]),
                }
                for m in ds["forecaster"].values
            },
        }
        for i in range(ds.sizes["forecast"])
    ]
    cal = [
        {"origin": int(o), "volatility": float(v), "drift_sd": float(d)}
        for o, v, d in zip(
            ds["origin"].values, ds["volatility"].values, ds["drift_sd"].values, strict=True
        )
    ]
    keys = ("scenario_name", "seed", "draws", "calibration_draws", "recalibrated", "mix")
    head = {k: ds.attrs[k] for k in keys}
    head = {k: v.item() if hasattr(v, "item") else v for k, v in head.items()}
    body = {**head, "summary": summary(ds), "calibration": cal, "forecasts": fc}
    return json.dumps(body, indent=2, ensure_ascii=False)
