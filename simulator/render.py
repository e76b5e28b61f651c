"""Text, JSON and CSV views of a results Dataset (used by the CLI; no computation here)."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import numpy as np
import xarray as xr


def pct(p: float) -> str:
    """A probability as a percentage with sensible precision."""
    if math.isnan(p):
        return "n/a"
    if p == 0 or p == 1:
        return f"{p * 100:.0f}%"
    if p < 0.001 or p > 0.999:
        return f"{p * 100:.3f}%"
    return f"{p * 100:.1f}%"


def interval(p: float, lo: float, hi: float) -> str:
    return f"{pct(p)} [{pct(lo).rstrip('%')}, {pct(hi)}]"


def _country_label(ds: xr.Dataset, country: str) -> str:
    name = str(ds["country_name"].sel(country=country).item()) if "country_name" in ds else ""
    return f"{country} ({name})" if name and name != country else country


def _select(ds: xr.Dataset, year: int | None) -> xr.Dataset:
    return ds if year is None else ds.sel(year=[year])


def headline(ds: xr.Dataset, *, country: str | None = None, year: int | None = None) -> str:
    """P(rank ≤ k) per metric and year with 95% intervals, and the run's identity."""
    a = ds.attrs
    country = country or a["focus"]
    k = int(a["top_k"])
    sel = _select(ds, year).sel(country=country)
    lines = [
        f"{a['scenario_name']} · model {a['model']} · {_country_label(ds, country)} · top {k}",
        f"{int(a['draws']):,} draws · seed {int(a['seed'])} · design {a['design']} · "
        f"{float(a['elapsed_s']):.1f} s ({int(a['draws']) / max(float(a['elapsed_s']), 1e-9):,.0f}"
        " draws/s)",
    ]
    if int(a.get("conditioned", 0)):
        ess = float(ds["effective_sample_size"])
        lines.append(
            f"conditioned on {int(a['observations'])} observations · effective sample size "
            f"{ess:,.0f} ({ess / int(a['draws']):.1%} of draws)"
        )
    metrics = [str(m) for m in ds["metric"].values]
    cells = {
        m: [
            interval(
                float(sel["p_top"].sel(metric=m, year=y)),
                float(sel["p_top_lower"].sel(metric=m, year=y)),
                float(sel["p_top_upper"].sel(metric=m, year=y)),
            )
            for y in sel["year"].values
        ]
        for m in metrics
    }
    width = {m: max(len(m), *(len(c) for c in cells[m])) for m in metrics}
    title = f"P({country} rank ≤ {k})"
    lines.append("")
    lines.append(f"{title:<18}" + "   ".join(f"{m:<{width[m]}}" for m in metrics))
    for i, y in enumerate(sel["year"].values):
        lines.append(f"  {int(y):<16}" + "   ".join(f"{cells[m][i]:<{width[m]}}" for m in metrics))
    lines.append("  (95% Wilson intervals, Monte Carlo error only)")
    if float(a.get("target_halfwidth", 0) or 0) > 0:
        lines.append(f"  stopped: {a['stop_reason']} after {int(a['draws']):,} draws")
    return "\n".join(lines)


def details(ds: xr.Dataset, *, country: str | None = None, year: int | None = None) -> str:
    """Rank distribution and score quantiles of one country, for ``inspect``."""
    country = country or ds.attrs["focus"]
    sel = _select(ds, year).sel(country=country)
    out = [headline(ds, country=country, year=year), ""]
    nrank = ds.sizes["rank"]
    show = min(nrank, 8)
    for m in ds["metric"].values:
        units = str(ds["metric_units"].sel(metric=m).item())
        out.append(f"{m}: rank distribution of {country} (P(rank = r))")
        head = "".join(f"{r:>7}" for r in range(1, show + 1))
        tail = f"{'>' + str(show):>7}" if nrank > show else ""
        out.append(f"  {'year':<6}{head}{tail}")
        for y in sel["year"].values:
            p = sel["rank_probability"].sel(metric=m, year=y).values
            row = "".join(f"{pct(float(v)):>7}" for v in p[:show])
            if nrank > show:
                row += f"{pct(float(p[show:].sum())):>7}"
            out.append(f"  {int(y):<6}{row}")
        qs = sel["value_quantile"].sel(metric=m)
        qhead = "".join(f"{'q' + format(q * 100, 'g'):>12}" for q in ds["quantile"].values)
        out.append(f"  {m} score quantiles [{units}]")
        out.append(f"  {'year':<6}{qhead}")
        for y in sel["year"].values:
            vals = qs.sel(year=y).values
            out.append(f"  {int(y):<6}" + "".join(f"{v:>12.4g}" for v in vals))
        out.append("")
    a = ds.attrs
    if "trace_draws" in ds:
        out.append(convergence_text(ds))
        out.append("")
    out.append(
        f"scenario {a['scenario_source']} (sha256 {a['scenario_sha256'][:12]}) · created "
        f"{a['created_utc']} · g3sim {a['simulator_version']} · numpy {a['numpy_version']} · "
        f"scipy {a['scipy_version']} · xarray {a['xarray_version']}"
    )
    return "\n".join(out)


def to_json(ds: xr.Dataset, *, country: str | None = None, year: int | None = None) -> str:
    a = ds.attrs
    country = country or a["focus"]
    sel = _select(ds, year).sel(country=country)
    years = [int(y) for y in sel["year"].values]
    metrics = [str(m) for m in ds["metric"].values]

    def f(x: Any) -> float | None:
        v = float(x)
        return v if math.isfinite(v) else None

    doc = {
        "scenario": a["scenario_name"],
        "model": a["model"],
        "draws": int(a["draws"]),
        "seed": int(a["seed"]),
        "design": a["design"],
        "focus": a["focus"],
        "country": country,
        "top_k": int(a["top_k"]),
        "effective_sample_size": f(ds["effective_sample_size"]),
        "p_top": {
            m: {
                str(y): {
                    "p": f(sel["p_top"].sel(metric=m, year=y)),
                    "lower": f(sel["p_top_lower"].sel(metric=m, year=y)),
                    "upper": f(sel["p_top_upper"].sel(metric=m, year=y)),
                }
                for y in years
            }
            for m in metrics
        },
        "rank_distribution": {
            m: {
                str(y): {
                    str(int(r)): f(p)
                    for r, p in zip(
                        ds["rank"].values,
                        sel["rank_probability"].sel(metric=m, year=y).values,
                        strict=True,
                    )
                }
                for y in years
            }
            for m in metrics
        },
        "quantiles": {
            m: {
                str(y): {
                    format(q, "g"): f(v)
                    for q, v in zip(
                        ds["quantile"].values,
                        sel["value_quantile"].sel(metric=m, year=y).values,
                        strict=True,
                    )
                }
                for y in years
            }
            for m in metrics
        },
        "created_utc": a["created_utc"],
        "elapsed_s": f(a["elapsed_s"]),
        "simulator_version": a["simulator_version"],
        "scenario_sha256": a["scenario_sha256"],
    }
    return json.dumps(doc, indent=2, allow_nan=False)


def to_csv(ds: xr.Dataset, *, country: str | None = None, year: int | None = None) -> str:
    """Long table: one row per (metric, year, country) with p_top, its interval and ranks."""
    sel = _select(ds, year)
    countries = [country] if country else [str(c) for c in ds["country"].values]
    ranks = [int(r) for r in ds["rank"].values]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["metric", "year", "country", "p_top", "p_top_lower", "p_top_upper", "median"]
        + [f"p_rank_{r}" for r in ranks]
    )
    for m in ds["metric"].values:
        for y in sel["year"].values:
            for c in countries:
                cell = sel.sel(metric=m, year=y, country=c)
                w.writerow(
                    [str(m), int(y), c]
                    + [f"{float(cell[v]):.6g}" for v in ("p_top", "p_top_lower", "p_top_upper")]
                    + [f"{float(cell['value_quantile'].sel(quantile=0.5)):.6g}"]
                    + [f"{float(v):.6g}" for v in np.asarray(cell["rank_probability"].values)]
                )
    return buf.getvalue()


def calibration(ds: xr.Dataset) -> dict[str, Any]:
    """Back-test and prior → posterior summary of a conditioned run, as plain data."""
    a = ds.attrs
    draws = int(a["draws"])
    ess = float(ds["effective_sample_size"])
    obs = []
    if "observation" in ds.dims:
        for i in range(ds.sizes["observation"]):
            obs.append(
                {
                    "observation": str(ds["observation_label"].values[i]),
                    "p_reproduced": float(ds["observation_probability"].values[i]),
                    "source": str(ds["observation_source"].values[i]),
                }
            )
    factors = []
    if "factor_posterior_mean" in ds:
        for name in ds["factor"].values:
            f = ds.sel(factor=name)
            prior_sd = float(f["factor_prior_sd"])
            shift = float(f["factor_posterior_mean"] - f["factor_prior_mean"])
            factors.append(
                {
                    "factor": str(name),
                    "prior_mean": float(f["factor_prior_mean"]),
                    "prior_sd": prior_sd,
                    "posterior_mean": float(f["factor_posterior_mean"]),
                    "posterior_sd": float(f["factor_posterior_sd"]),
                    "shift_in_prior_sd": shift / prior_sd if prior_sd > 0 else 0.0,
                    "sd_ratio": float(f["factor_posterior_sd"]) / prior_sd if prior_sd > 0 else 1.0,
                }
            )
        factors.sort(key=lambda r: -abs(r["shift_in_prior_sd"]))
    return {
        "scenario": a["scenario_name"],
        "draws": draws,
        "seed": int(a["seed"]),
        "effective_sample_size": ess,
        "acceptance": ess / draws if draws else 0.0,
        "observations": obs,
        "factors": factors,
    }


def backtest_only(run) -> dict[str, Any]:
    """:func:`calibration`'s summary when no draw agrees with every observation (ESS 0): each
    observation's back-test from the folded sums (a :class:`~simulator.engine.FoldedRun`), and
    no posterior."""
    sc, n = run.scenario, run.draws
    lik = run.state.weighted.observation_likelihood / n
    return {
        "scenario": sc.name,
        "draws": n,
        "seed": int(sc.seed),
        "effective_sample_size": 0.0,
        "acceptance": 0.0,
        "observations": [
            {"observation": o.label, "p_reproduced": float(p), "source": o.source}
            for o, p in zip(run.observations, lik, strict=True)
        ],
        "factors": [],
    }


def calibration_text(c: dict[str, Any], *, top: int = 12) -> str:
    """:func:`calibration` (or :func:`backtest_only`) as a text table."""
    out = [
        f"calibration of {c['scenario']} · {c['draws']:,} draws · seed {c['seed']}",
        f"effective sample size {c['effective_sample_size']:,.0f} "
        f"({c['acceptance']:.2%} of the draws; "
        f"conditioned on {len(c['observations'])} observations)",
        "",
        "back-test: how often the unconditioned model reproduces each observation",
    ]
    width = max((len(o["observation"]) for o in c["observations"]), default=10)
    for o in c["observations"]:
        out.append(f"  {o['observation']:<{width}}  {pct(o['p_reproduced']):>8}")
    if not c["effective_sample_size"]:
        out += [
            "",
            "no draw reproduces every observation jointly: loosen rank_tolerance or score_sd of "
            "the least reproduced, or drop it",
        ]
    if c["factors"]:
        out += ["", f"factors the observations pull hardest (top {min(top, len(c['factors']))})"]
        fw = max(len(f["factor"]) for f in c["factors"][:top])
        out.append(
            f"  {'factor':<{fw}}  {'prior mean':>11} {'posterior':>11} {'shift/sd':>9} "
            f"{'sd ratio':>9}"
        )
        for f in c["factors"][:top]:
            out.append(
                f"  {f['factor']:<{fw}}  {f['prior_mean']:>11.4g} {f['posterior_mean']:>11.4g} "
                f"{f['shift_in_prior_sd']:>+9.2f} {f['sd_ratio']:>9.2f}"
            )
    return "\n".join(out)


def convergence_text(ds: xr.Dataset, *, rows: int = 6) -> str:
    """The stopping reason and the last few points of the convergence trace."""
    a = ds.attrs
    metrics = [str(m) for m in ds["metric"].values]
    out = [
        f"convergence ({a.get('stop_reason', 'n/a')}; P(rank ≤ {a['top_k']}) in "
        f"{a.get('trace_year', '')}, ± 95% half-width)"
    ]
    n = ds.sizes["trace"]
    idx = sorted({*range(max(0, n - rows), n), 0})
    out.append(f"  {'draws':>12}" + "".join(f"{m:>24}" for m in metrics))
    for i in idx:
        cells = "".join(
            f"{pct(float(p)) + ' ± ' + pct(float(h)):>24}"
            for p, h in zip(
                ds["trace_p_top"][i].values, ds["trace_halfwidth"][i].values, strict=True
            )
        )
        out.append(f"  {int(ds['trace_draws'][i]):>12,}{cells}")
    return "\n".join(out)


# The per-(metric, year) variables of a comparison Dataset (simulator/compare.py), in output order.
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
            vr_s = "–" if np.isnan(vr) else ("∞" if np.isinf(vr) else f"{vr:,.1f}×")
            out.append(
                f"  {m!s:<12}{int(y):>6}{pct(float(c['p_a'])):>9}{pct(float(c['p_b'])):>9}   "
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


def comparison_csv(ds: xr.Dataset) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = COMPARISON_VARIABLES
    w.writerow(["metric", "year", *cols])
    for m in ds["metric"].values:
        for y in ds["year"].values:
            c = ds.sel(metric=m, year=y)
            w.writerow([str(m), int(y), *(f"{float(c[v]):.6g}" for v in cols)])
    return buf.getvalue()
