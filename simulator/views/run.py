"""Text, JSON and CSV views of a results Dataset (used by the CLI; no computation here)."""

from __future__ import annotations

import csv
import io
import json
import tomllib

import xarray as xr

from ..results.cf import UNITS_COORDINATE
from ..stats import CONFIDENCE
from .format import finite_or_none, interval, number, percent

_P_TOP = ("p_top", "p_top_lower", "p_top_upper")


def _country_name(ds: xr.Dataset, country: str) -> str:
    return str(ds["country_name"].sel(country=country).item()) if "country_name" in ds else ""


def _country_label(ds: xr.Dataset, country: str) -> str:
    name = _country_name(ds, country)
    return f"{country} ({name})" if name and name != country else country


def _select(ds: xr.Dataset, year: int | None) -> xr.Dataset:
    return ds if year is None else ds.sel(year=[year])


def _lever_line(a) -> list[str]:
    """``levers: name = value, ...`` of a run whose scenario has [levers] (else nothing)."""
    try:
        levers = tomllib.loads(str(a.get("scenario_toml", ""))).get("levers", {})
    except tomllib.TOMLDecodeError:
        return []
    if not isinstance(levers, dict) or not levers:
        return []
    parts = []
    for name, t in levers.items():
        if isinstance(t, dict) and "default" in t:
            v = t.get("value", t["default"])
            parts.append(
                f"{name} = {v:g}" + ("" if v == t["default"] else f" (default {t['default']:g})")
            )
    return [f"levers: {', '.join(parts)}"] if parts else []


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
        lines += _conditioning_lines(ds, year)
    lines += _lever_line(a)
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
    lines.append(
        "  The model's structural uncertainty is in the distribution (its uncertain factors), "
        "not in the interval; docs/model.md §10 lists what each fixed assumption moves."
    )
    if float(a.get("target_halfwidth", 0) or 0) > 0:
        reason = str(a["stop_reason"])  # files before issue 18 did not say the draws
        after = "" if " draws" in reason else f" after {int(a['draws']):,} draws"
        lines.append(f"  stopped: {reason}{after}")
    return "\n".join(lines)


def details(ds: xr.Dataset, *, country: str | None = None, year: int | None = None) -> str:
    """Rank distribution and score quantiles of one country, for ``inspect``."""
    country = country or ds.attrs["focus"]
    sel = _select(ds, year).sel(country=country)
    out = [headline(ds, country=country, year=year), ""]
    nrank = ds.sizes["rank_position"]
    show = min(nrank, 8)
    for m in ds["metric"].values:
        units = str(ds["metric_units"].sel(metric=m).item())
        out.append(f"{m}: rank distribution of {country} (P(rank = r))")
        head = "".join(f"{r:>7}" for r in range(1, show + 1))
        tail = f"{'>' + str(show):>7}" if nrank > show else ""
        out.append(f"  {'year':<6}{head}{tail}")
        for y in sel["year"].values:
            p = sel["rank_probability"].sel(metric=m, year=y).values
            row = "".join(f"{percent(float(v)):>7}" for v in p[:show])
            if nrank > show:
                row += f"{percent(float(p[show:].sum())):>7}"
            out.append(f"  {int(y):<6}{row}")
        qs = sel["value_quantile"].sel(metric=m)
        qhead = "".join(f"{'q' + format(q * 100, 'g'):>12}" for q in ds["quantile_level"].values)
        out.append(f"  {m} score quantiles" + ("" if units == "1" else f" [{units}]"))
        out.append(f"  {'year':<6}{qhead}")
        for y in sel["year"].values:
            vals = qs.sel(year=y).values
            out.append(f"  {int(y):<6}" + "".join(f"{number(v):>12}" for v in vals))
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


def _metrics_doc(ds: xr.Dataset) -> dict[str, dict[str, str]]:
    """metric → long name and units label (the file's ``metric_long_name``, ``metric_units``)."""

    def text(coord: str, m) -> str:
        return str(ds[coord].sel(metric=m).item()) if coord in ds.coords else ""

    return {
        str(m): {"long_name": text("metric_long_name", m), "units": text("metric_units", m)}
        for m in ds["metric"].values
    }


def _quantities_doc(ds: xr.Dataset, names) -> dict[str, dict[str, str]]:
    """Each reported quantity's long name and units (as in the results file)."""
    out = {}
    for name in names:
        attrs = ds[name].attrs
        out[name] = {"long_name": str(attrs.get("long_name", "")), "units": str(attrs["units"])}
    return out


def headline_data(ds: xr.Dataset, *, country: str | None = None, year: int | None = None) -> dict:
    """The headline as data: the run's identity and P(rank ≤ k) with its interval per metric and
    year (``run --format json``; the first keys of ``inspect --format json``)."""
    a = ds.attrs
    country = country or a["focus"]
    sel = _select(ds, year).sel(country=country)
    years = [int(y) for y in sel["year"].values]
    f = finite_or_none
    draws = int(a["draws"])
    return {
        "scenario": a["scenario_name"],
        "scenario_description": str(a.get("scenario_description", "")),
        "model": a["model"],
        "draws": draws,
        "seed": int(a["seed"]),
        "design": a["design"],
        "focus": a["focus"],
        "country": country,
        "country_name": _country_name(ds, country),
        "top_k": int(a["top_k"]),
        "conditioned": bool(int(a.get("conditioned", 0))),
        "conditioning": str(a.get("conditioning", "rejection" if a.get("conditioned") else "")),
        "observations": int(a.get("observations", 0)),
        "effective_sample_size": f(ds["effective_sample_size"]),
        "stop_reason": str(a.get("stop_reason", "")),
        "target_halfwidth": f(a.get("target_halfwidth", 0.0)) or None,
        "confidence_level": f(a.get("confidence_level", CONFIDENCE)),
        "interval_method": str(a.get("interval_method", "wilson")),
        "metrics": _metrics_doc(ds),
        "p_top": {
            str(m): {str(y): _p_top_cell(sel.sel(metric=m, year=y)) for y in years}
            for m in ds["metric"].values
        },
        "elapsed_s": f(a["elapsed_s"]),
        "created_utc": a["created_utc"],
        "simulator_version": a["simulator_version"],
        "scenario_sha256": a["scenario_sha256"],
    }


def _p_top_cell(cell: xr.Dataset) -> dict:
    """P(rank ≤ k), its interval and (format 2 files) its variance-equivalent sample size."""
    out = {k: finite_or_none(cell[v]) for k, v in zip(("p", "lower", "upper"), _P_TOP, strict=True)}
    if "p_top_effective_sample_size" in cell:
        out["effective_sample_size"] = finite_or_none(cell["p_top_effective_sample_size"])
    return out


def headline_json(ds: xr.Dataset, *, output: str | None = None) -> str:
    """``run --format json``: :func:`headline_data`, and the file it was saved to."""
    doc = headline_data(ds)
    if output is not None:
        doc["output"] = output
    return json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False)


def to_json(ds: xr.Dataset, *, country: str | None = None, year: int | None = None) -> str:
    """``inspect --format json``: the headline, the rank distribution and the score quantiles,
    with each quantity's long name and units and each metric's description and units."""
    doc = headline_data(ds, country=country, year=year)
    sel = _select(ds, year).sel(country=doc["country"])
    years = [int(y) for y in sel["year"].values]
    f = finite_or_none

    def per_cell(var: str, dim: str, label) -> dict:  # metric → year → label → value
        return {
            str(m): {
                str(y): {
                    label(v): f(x)
                    for v, x in zip(
                        ds[dim].values, sel[var].sel(metric=m, year=y).values, strict=True
                    )
                }
                for y in years
            }
            for m in ds["metric"].values
        }

    doc["rank_distribution"] = per_cell("rank_probability", "rank_position", lambda r: str(int(r)))
    doc["quantiles"] = per_cell("value_quantile", "quantile_level", lambda q: format(q, "g"))
    doc["factors"] = _factors_doc(ds)
    doc["quantities"] = {
        **_quantities_doc(ds, [v for v in (*_P_TOP, "p_top_effective_sample_size") if v in ds]),
        "rank_distribution": {
            "long_name": "probability that the country has this rank, by rank r",
            "units": "1",
        },
        "quantiles": {
            "long_name": "quantile of the score by probability level (histogram, 1-bin accuracy)",
            "units": "the metric's units (metrics.<metric>.units)",
        },
    }
    return json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False)


def _factors_doc(ds: xr.Dataset) -> dict[str, dict]:
    """factor → its description, units label and the moments of its draws (prior, and
    posterior when the run was conditioned)."""
    if "factor" not in ds.dims:
        return {}
    moments = ("prior_mean", "prior_sd", "posterior_mean", "posterior_sd")
    out = {}
    for name in ds["factor"].values:
        entry: dict = {
            key: str(ds[f"factor_{key}"].sel(factor=name).item()) if f"factor_{key}" in ds else ""
            for key in ("description", "units")
        }
        for m in moments:
            if f"factor_{m}" in ds:
                entry[m] = finite_or_none(ds[f"factor_{m}"].sel(factor=name))
        out[str(name)] = entry
    return out


#: Columns of ``--format csv`` (one row per metric, year, country and quantity).
CSV_COLUMNS = (
    "metric",
    "year",
    "country",
    "quantity",
    "rank_position",
    "quantile_level",
    "value",
    "units",
)
_CSV_CELL = (*_P_TOP, "p_top_effective_sample_size", "value_mean", "value_sd")


def to_csv(ds: xr.Dataset, *, country: str | None = None, year: int | None = None) -> str:
    """Tidy (long) table: one row per metric, year, country and quantity.

    ``quantity`` is the results variable (``p_top``, ``p_top_lower``, ``p_top_upper``,
    ``value_mean``, ``value_sd``, ``value_quantile``, ``rank_probability``); ``rank_position``
    and ``quantile_level`` say which rank or quantile a row is (empty otherwise); ``value`` is at
    full precision (empty if not finite); ``units`` is the quantity's units ("1", or the metric's
    own label such as "H100e").
    """
    sel = _select(ds, year)
    countries = [country] if country else [str(c) for c in ds["country"].values]
    metrics = _metrics_doc(ds)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for m in ds["metric"].values:
        by = sel.sel(metric=m, country=countries)
        for y in by["year"].values:
            for c in countries:
                cell = by.sel(year=y, country=c)
                key = (str(m), int(y), c)
                w.writerows(_csv_rows(ds, cell, key, metrics[str(m)]["units"]))
    return buf.getvalue()


def _csv_rows(ds: xr.Dataset, cell: xr.Dataset, key: tuple, metric_units: str) -> list[list]:
    def units(var: str) -> str:
        return metric_units if UNITS_COORDINATE in ds[var].attrs else str(ds[var].attrs["units"])

    rows = [[*key, v, "", "", _csv_value(cell[v]), units(v)] for v in _CSV_CELL if v in cell]
    for q, x in zip(ds["quantile_level"].values, cell["value_quantile"].values, strict=True):
        rows.append([*key, "value_quantile", "", format(q, "g"), _csv_value(x), metric_units])
    for r, x in zip(ds["rank_position"].values, cell["rank_probability"].values, strict=True):
        rows.append([*key, "rank_probability", int(r), "", _csv_value(x), "1"])
    return rows


def _csv_value(x) -> str:
    """A number at full precision (shortest round-trip form); empty if not finite."""
    v = finite_or_none(x)
    return "" if v is None else repr(v)


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
            f"{percent(float(p)) + ' ± ' + percent(float(h)):>24}"
            for p, h in zip(
                ds["trace_p_top"][i].values, ds["trace_halfwidth"][i].values, strict=True
            )
        )
        out.append(f"  {int(ds['trace_draws'][i]):>12,}{cells}")
    return "\n".join(out)


def _conditioning_lines(ds: xr.Dataset, year: int | None) -> list[str]:
    """How the run was conditioned, with its effective sample sizes: the variance-equivalent
    size of the focus's headline (what its interval rests on) and, for SMC, the Kish size of
    the weights grouped by initial draw (a floor that ignores how moves separate copies)."""
    a = ds.attrs
    draws = int(a["draws"])
    ess = float(ds["effective_sample_size"])
    method = a.get("conditioning", "rejection")
    how = f"conditioned on {int(a['observations'])} observations by {method}"
    if "p_top_effective_sample_size" not in ds:  # files of format 1
        return [f"{how} · effective sample size {ess:,.0f} ({ess / draws:.1%} of draws)"]
    y = int(ds["year"].values[-1]) if year is None else year
    sizes = ds["p_top_effective_sample_size"].sel(year=y, country=a["focus"])
    lines = [
        f"{how} · effective sample size of the {y} headline (variance-equivalent):",
        "  "
        + ", ".join(
            f"{m} {float(v):,.0f} ({float(v) / draws:.1%})"
            for m, v in zip(sizes["metric"].values, sizes.values, strict=True)
        ),
    ]
    if a.get("conditioning") == "smc":
        lines[-1] += f"; lineages {ess:,.0f} ({ess / draws:.1%}; weights grouped by initial draw)"
    else:
        lines[-1] += f"; of the weights {ess:,.0f} ({ess / draws:.1%})"
    return lines


def headline_ess(ds: xr.Dataset) -> float:
    """The smallest variance-equivalent sample size of the focus's last-year headlines (the
    Eve-grouped Kish size for files without it)."""
    if "p_top_effective_sample_size" not in ds:
        return float(ds["effective_sample_size"])
    y = int(ds["year"].values[-1])
    return float(ds["p_top_effective_sample_size"].sel(year=y, country=ds.attrs["focus"]).min())
