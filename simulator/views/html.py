"""A self-contained HTML report of a result: headline, figures, ranks, assumptions, provenance.

One file that opens offline in any browser: the figures are embedded as base64 PNG, the style is
inline, and nothing is loaded from anywhere (a Content-Security-Policy says so to the browser).
Every text that comes from the result is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
import math
import os
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import xarray as xr

from .._version import __version__
from ..errors import ConfigError, ResultsError
from ..plots import KINDS, available_kinds, plot
from ..plots.files import figure_bytes, write_bytes
from ..plots.style import country_name, metric_label, metric_units, rank_rows
from .format import exact, interval, percent

REPORT_DPI = 100
FACTOR_KEYS = ("dist", "units", "description", "source")

CSS = """
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  color: #222; background: #fff; margin: 0; }
main, header, footer { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; border-bottom: 1px solid #ddd; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; border-bottom: 2px solid #D55E00; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 20px 0 6px; }
.lede { font-size: 17px; margin: 4px 0; }
.meta, .note, figcaption, footer { color: #555; font-size: 13px; }
nav { margin: 12px 0 16px; font-size: 14px; }
nav a { margin-right: 14px; color: #0072B2; text-decoration: none; }
table { border-collapse: collapse; margin: 8px 0 4px; font-size: 14px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e4e4; text-align: right;
  vertical-align: top; }
th { background: #f4f4f4; font-weight: 600; }
td.text, th.text { text-align: left; }
tbody tr:nth-child(even) { background: #fafafa; }
td.top, th.top { background: #fdf0e6; }
td.headline { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { overflow-x: auto; }
figure { margin: 20px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f6f6f6; padding: 12px; overflow-x: auto; font-size: 12.5px;
  line-height: 1.4; }
details { margin: 12px 0; }
summary { cursor: pointer; font-weight: 600; }
code { font-size: 13px; background: #f4f4f4; padding: 0 3px; }
dl.prov { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: 14px; }
dl.prov dt { font-weight: 600; color: #444; }
dl.prov dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 600px) {
  main, header, footer { padding: 0 14px; }
  dl.prov { grid-template-columns: 1fr; }
  dl.prov dd { margin-bottom: 6px; }
}
footer { border-top: 1px solid #ddd; margin-top: 40px; padding-top: 8px; padding-bottom: 24px; }
"""

# The page may show inline styles and data: images, and load nothing else.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def escape_html(value: Any) -> str:
    """Escape any value as HTML text."""
    return html.escape(str(value), quote=True)


def default_report_path(result: str | os.PathLike) -> Path:
    """The report beside the results file: ``results/baseline.nc`` → ``results/baseline.html``."""
    return Path(result).with_suffix(".html")


def write_html(path: str | os.PathLike, page: Callable[[], str]) -> Path:
    """Write the page ``page()`` makes to ``path`` (.html or .htm; checked before the page is
    made), atomically."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"{path}: a report is an HTML file; name it .html, e.g. report.html")
    write_bytes(path, page().encode("utf-8"))
    return path


def write_report(ds: xr.Dataset, path: str | os.PathLike, *, source: str = "") -> Path:
    """Write the HTML report of ``ds`` to ``path`` (.html or .htm), atomically."""
    return write_html(path, lambda: report_html(ds, source=source))


def report_html(ds: xr.Dataset, *, source: str = "", dpi: int = REPORT_DPI) -> str:
    """The report of a results Dataset as one HTML page (a string)."""
    a = ds.attrs
    if a.get("analysis"):
        raise ResultsError(
            f"{source or 'the Dataset'} is a {a['analysis']} result; `g3sim report` reports a "
            "result of `g3sim run` (plot this one with `g3sim plot`)"
        )
    focus = str(a["focus"])
    name = country_name(ds, focus)
    k = int(a["top_k"])
    title = f"g3sim report: {a.get('scenario_name', '')}"
    sections = [
        ("headline", f"P({name} in the top {k})", _headline(ds)),
        ("figures", "Figures", _figures(ds, dpi=dpi, source=source)),
        ("ranks", f"Rank of {name}", _rank_tables(ds)),
        ("assumptions", "Assumptions", _assumptions(ds)),
        ("provenance", "Provenance", _provenance(ds, source)),
    ]
    nav = "".join(f'<a href="#{sid}">{escape_html(heading)}</a>' for sid, heading, _ in sections)
    body = "\n".join(
        f'<section id="{sid}">\n<h2>{escape_html(heading)}</h2>\n{content}\n</section>'
        for sid, heading, content in sections
    )
    description = a.get("scenario_description", "")
    generated = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    origin = escape_html(source or "a results Dataset")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{escape_html(CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="g3sim {escape_html(__version__)}">
<title>{escape_html(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{escape_html(title)}</h1>
<p class="lede">{escape_html(description)}</p>
<p class="meta">{escape_html(_identity(ds))}</p>
<nav>{nav}</nav>
</header>
<main>
{body}
</main>
<footer>
<p>Generated by g3sim {escape_html(__version__)} on {escape_html(generated)} from {origin}.
This page is self-contained: it loads nothing from the network.</p>
</footer>
</body>
</html>
"""


def _identity(ds: xr.Dataset) -> str:
    a = ds.attrs
    focus = str(a["focus"])
    parts = [
        f"model {a.get('model', '?')}",
        f"focus {focus} ({country_name(ds, focus)})",
        f"top {int(a['top_k'])}",
        f"{int(a.get('draws', 0)):,} draws",
        f"seed {a.get('seed', '?')}",
        f"design {a.get('design', '?')}",
        f"created {a.get('created_utc', '?')}",
    ]
    return " · ".join(parts)


def _metrics(ds: xr.Dataset) -> list[str]:
    return [str(m) for m in ds["metric"].values]


def _headline(ds: xr.Dataset) -> str:
    a = ds.attrs
    focus = str(a["focus"])
    k = int(a["top_k"])
    sel = ds.sel(country=focus)
    metrics = _metrics(ds)
    head = "".join(f"<th>{escape_html(metric_label(ds, m))}</th>" for m in metrics)
    rows = []
    for y in ds["year"].values:
        cells = "".join(
            '<td class="headline">'
            + escape_html(
                interval(
                    float(sel["p_top"].sel(metric=m, year=y)),
                    float(sel["p_top_lower"].sel(metric=m, year=y)),
                    float(sel["p_top_upper"].sel(metric=m, year=y)),
                )
            )
            + "</td>"
            for m in metrics
        )
        rows.append(f'<tr><td class="text">{int(y)}</td>{cells}</tr>')
    note = (
        f"P({focus} rank ≤ {k}) by metric and year, with the 95% Wilson interval in brackets. "
        "The intervals are Monte Carlo error only: how precisely the model's probability is "
        "estimated, not how right the model is; model uncertainty is in the factors below."
    )
    if int(a.get("conditioned", 0) or 0):
        ess = float(ds["effective_sample_size"])
        note += (
            f" Conditioned on {int(a.get('observations', 0))} observations; effective sample "
            f"size {ess:,.0f} of {int(a['draws']):,} draws."
        )
    names = "; ".join(
        f"{metric_label(ds, m)}: {ds['metric_long_name'].sel(metric=m).item()!s}"
        + (f" [{metric_units(ds, m)}]" if metric_units(ds, m) not in ("", "1") else "")
        for m in metrics
        if "metric_long_name" in ds.coords
    )
    last = ds["year"].values[-1]
    parts = [
        f"{percent(float(sel['p_top'].sel(metric=m, year=last)))} by {metric_label(ds, m)}"
        for m in metrics
    ]
    lede = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    lede = (
        f"In {int(last)}, the chance that {country_name(ds, focus)} ranks in the top {k} is {lede}."
    )
    return (
        f'<p class="lede">{escape_html(lede)}</p>\n'
        '<div class="scroll"><table class="headline">\n'
        f'<thead><tr><th class="text">Year</th>{head}</tr></thead>\n'
        f"<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table></div>\n"
        f'<p class="note">{escape_html(note)}</p>\n'
        + (f'<p class="note">{escape_html(names)}</p>' if names else "")
    )


def _figures(ds: xr.Dataset, *, dpi: int, source: str) -> str:
    out = []
    for name in available_kinds(ds):
        fig = plot(ds, name, source=source or "the result")
        data = base64.b64encode(figure_bytes(fig, "png", dpi=dpi)).decode("ascii")
        width, height = (round(v * dpi) for v in fig.get_size_inches())
        summary = KINDS[name].summary
        out.append(
            f'<figure id="figure-{escape_html(name)}">\n'
            f'<img src="data:image/png;base64,{data}" width="{width}" height="{height}" '
            f'alt="{escape_html(name)}: {escape_html(summary)}">\n'
            f"<figcaption><b>{escape_html(name)}</b>: {escape_html(summary)}. Redraw it with "
            f"<code>g3sim plot RESULT --kind {escape_html(name)} -o {escape_html(name)}.svg</code>"
            ".</figcaption>\n"
            "</figure>"
        )
    return "\n".join(out) if out else '<p class="note">No figure can be drawn from this file.</p>'


HTML_RANK_COLUMNS = 11  # ranks shown before "N+": the table fits a 1280 px screen whole


def _rank_tables(ds: xr.Dataset) -> str:
    focus = str(ds.attrs["focus"])
    k = int(ds.attrs["top_k"])
    prob = ds["rank_probability"].sel(country=focus)
    out = [
        f'<p class="note">P(rank = r) of {escape_html(focus)} by year. Ranks are competition ranks '
        "(1 + the number of countries with a strictly higher score); shaded columns are the "
        f"top {k}.</p>"
    ]
    for m in _metrics(ds):
        p = prob.sel(metric=m).values  # (year, rank)
        shown = rank_rows(p, k, most=HTML_RANK_COLUMNS)
        heads = [str(r) for r in range(1, shown + 1)]
        tail = shown < p.shape[1]
        if tail:
            heads.append(f"{shown + 1}+")
        head = "".join(
            f'<th class="top">{h}</th>' if i < k else f"<th>{h}</th>" for i, h in enumerate(heads)
        )
        rows = []
        for j, y in enumerate(ds["year"].values):
            vals = list(p[j, :shown]) + ([p[j, shown:].sum()] if tail else [])
            cells = "".join(
                f'<td class="num{" top" if i < k else ""}">{escape_html(percent(float(v)))}</td>'
                for i, v in enumerate(vals)
            )
            cum = np.cumsum(p[j])
            median = int(np.argmax(cum >= 0.5 - 1e-12)) + 1 if cum[-1] > 0 else math.nan
            rows.append(
                f'<tr><td class="text">{int(y)}</td>{cells}'
                f'<td class="num">{escape_html(percent(float(p[j, :k].sum())))}</td>'
                f'<td class="num">{escape_html(median)}</td></tr>'
            )
        out.append(
            f"<h3>{escape_html(metric_label(ds, m))}</h3>\n"
            f'<div class="scroll"><table>\n<thead><tr><th class="text">Year</th>{head}'
            f"<th>P(top {k})</th><th>median rank</th></tr></thead>\n<tbody>\n"
            + "\n".join(rows)
            + "\n</tbody>\n</table></div>"
        )
    return "\n".join(out)


def scenario_dict(ds: xr.Dataset) -> dict[str, Any] | None:
    """The stored scenario (``scenario_toml``) as a dict, or None if absent or unreadable."""
    text = ds.attrs.get("scenario_toml")
    if not text:
        return None
    try:
        return tomllib.loads(str(text))
    except tomllib.TOMLDecodeError:
        return None


def distribution_text(spec: dict[str, Any]) -> str:
    """A factor's distribution as one line: ``pert(low = 0.4, mode = 0.8, high = 1)``."""
    params = ", ".join(
        f"{key} = {number_text(v)}" for key, v in spec.items() if key not in FACTOR_KEYS
    )
    return f"{spec.get('dist', '?')}({params})"


def number_text(v: Any) -> str:
    if isinstance(v, bool | int | float):
        return exact(v)
    if isinstance(v, list):
        return "[" + ", ".join(number_text(x) for x in v) + "]"
    return str(v)


def _assumptions(ds: xr.Dataset) -> str:
    scenario = scenario_dict(ds)
    toml_text = str(ds.attrs.get("scenario_toml", ""))
    if scenario is None:
        return '<p class="note">This file stores no readable scenario (scenario_toml).</p>'
    out = []
    factors = scenario.get("factors", {})
    if factors:
        rows = "\n".join(
            f'<tr><td class="text"><code>{escape_html(name)}</code></td>'
            f'<td class="text">{escape_html(distribution_text(spec))}</td>'
            f'<td class="text">{escape_html(spec.get("units", ""))}</td>'
            f'<td class="text">{escape_html(spec.get("description", ""))}</td>'
            f'<td class="text">{escape_html(spec.get("source", ""))}</td></tr>'
            for name, spec in factors.items()
            if isinstance(spec, dict)
        )
        out.append(
            f'<p class="note">The {len(factors)} uncertain inputs (factors) of the scenario, '
            "each sampled from its distribution in every draw.</p>\n"
            '<div class="scroll"><table>\n<thead><tr><th class="text">Factor</th>'
            '<th class="text">Distribution</th><th class="text">Units</th>'
            '<th class="text">Description</th><th class="text">Source or reasoning</th></tr>'
            f"</thead>\n<tbody>\n{rows}\n</tbody>\n</table></div>"
        )
    else:
        out.append('<p class="note">The scenario has no uncertain factors.</p>')
    out.append(_levers(scenario.get("levers")))
    out.append(_correlation(scenario.get("correlation")))
    out.append(_observations(scenario.get("observations")))
    out.append(
        "<details>\n<summary>The scenario file, fully resolved (TOML)</summary>\n"
        f"<pre>{escape_html(toml_text)}</pre>\n</details>"
    )
    return "\n".join(x for x in out if x)


def _levers(levers: Any) -> str:
    """The decisions ([levers]): each one's value in this run, default, allowed values and
    description (docs/levers.md)."""
    if not isinstance(levers, dict) or not levers:
        return ""
    rows = []
    for name, t in levers.items():
        if not isinstance(t, dict):
            continue
        allowed = (
            ", ".join(number_text(v) for v in t["values"])
            if isinstance(t.get("values"), list)
            else f"{number_text(t.get('low'))} – {number_text(t.get('high'))} by "
            f"{number_text(t.get('step'))}"
        )
        value = t.get("value", t.get("default"))
        rows.append(
            f'<tr><td class="text"><code>{escape_html(name)}</code></td>'
            f'<td class="num">{escape_html(number_text(value))}</td>'
            f'<td class="num">{escape_html(number_text(t.get("default")))}</td>'
            f'<td class="text">{escape_html(allowed)}</td>'
            f'<td class="text">{escape_html(t.get("units", ""))}</td>'
            f'<td class="text">{escape_html(t.get("description", ""))}</td></tr>'
        )
    return (
        f'<p class="note">The {len(rows)} decision{"s" if len(rows) > 1 else ""} (levers) of the '
        "scenario, at the value this run used; <code>g3sim sweep</code> runs other values.</p>\n"
        '<div class="scroll"><table>\n<thead><tr><th class="text">Lever</th><th>Value</th>'
        '<th>Default</th><th class="text">Allowed</th><th class="text">Units</th>'
        '<th class="text">Description</th></tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody>\n</table></div>"
    )


def _correlation(corr: Any) -> str:
    """The correlation matrix with numbered columns (names in the rows only), so that it fits a
    page: six long factor names as column heads were wider than 1,180 px."""
    if not isinstance(corr, dict) or not corr.get("factors"):
        return ""
    names = [str(f) for f in corr["factors"]]
    matrix = corr.get("matrix", [])
    head = "".join(f'<th title="{escape_html(n)}">{i}</th>' for i, n in enumerate(names, 1))
    rows = "\n".join(
        f'<tr><th class="text">{i}&nbsp;&nbsp;<code>{escape_html(n)}</code></th>'
        + "".join(f'<td class="num">{escape_html(number_text(v))}</td>' for v in row)
        + "</tr>"
        for i, (n, row) in enumerate(zip(names, matrix, strict=False), 1)
    )
    return (
        "<h3>Rank correlations (Spearman, Gaussian copula)</h3>\n"
        f'<div class="scroll"><table class="corr">\n<thead><tr><th class="text">factor</th>'
        f"{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table></div>\n"
        '<p class="note">Column n is the factor in row n.</p>'
    )


# What an observation means when it leaves a key out (engine/history.py's defaults).
OBSERVATION_DEFAULTS = {"rank_tolerance": 0}


def _observation_cell(o: dict[str, Any], key: str) -> str:
    if key in o:
        return number_text(o[key])
    if key in OBSERVATION_DEFAULTS and "rank" in o:
        return f"{OBSERVATION_DEFAULTS[key]} (exact)"
    if key == "ranking_is_top" and "ranking" in o:  # a published top-N list by default
        return "true (default)"
    return "–"


def _observations(obs: Any) -> str:
    if not isinstance(obs, list) or not obs:
        return ""
    keys = list(dict.fromkeys(key for o in obs if isinstance(o, dict) for key in o))
    head = "".join(f'<th class="text">{escape_html(key)}</th>' for key in keys)
    rows = "\n".join(
        "<tr>"
        + "".join(f'<td class="text">{escape_html(_observation_cell(o, key))}</td>' for key in keys)
        + "</tr>"
        for o in obs
        if isinstance(o, dict)
    )
    return (
        "<h3>Observations the run is conditioned on</h3>\n"
        f'<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{rows}\n</tbody>\n</table></div>"
    )


PROVENANCE = (
    ("scenario_name", "scenario"),
    ("scenario_source", "scenario file"),
    ("scenario_sha256", "scenario sha256"),
    ("model", "model"),
    ("focus", "focus country"),
    ("top_k", "top k"),
    ("seed", "seed"),
    ("design", "design"),
    ("draws", "draws"),
    ("block_size", "block size"),
    ("keep_draws", "per-draw data kept"),
    ("stop_reason", "stopping"),
    ("conditioned", "conditioned on observations"),
    ("confidence_level", "confidence level"),
    ("interval_method", "interval method"),
    ("simulator_version", "g3sim version"),
    ("python_version", "Python"),
    ("numpy_version", "numpy"),
    ("scipy_version", "scipy"),
    ("xarray_version", "xarray"),
    ("created_utc", "created (UTC)"),
    ("elapsed_s", "run time [s]"),
    ("command", "command"),
)


# Attributes that are flags (stored as 0/1 integers, as NetCDF has no booleans).
FLAG_ATTRS = ("keep_draws", "conditioned")


def provenance_text(key: str, value: Any) -> str:
    """An attribute as the report shows it: flags as yes/no, counts with thousands separators."""
    if key in FLAG_ATTRS:
        return "yes" if int(value) else "no"
    if key in ("draws", "block_size"):
        return f"{int(value):,}"
    if key == "confidence_level":
        return percent(float(value))
    if key == "elapsed_s":
        return f"{float(value):.1f}"
    return str(value) or "–"  # e.g. no command: a run from Python


def _provenance(ds: xr.Dataset, source: str) -> str:
    a = ds.attrs
    items = [("results file", source)] if source else []
    items.extend((label, provenance_text(key, a[key])) for key, label in PROVENANCE if key in a)
    if "effective_sample_size" in ds:
        items.append(("effective sample size", f"{float(ds['effective_sample_size']):,.0f}"))
    items.extend((key, a[key]) for key in a if key.startswith("model_"))
    items.append(("matplotlib (figures)", matplotlib.__version__))
    body = "\n".join(
        f"<dt>{escape_html(label)}</dt><dd>{escape_html(value)}</dd>" for label, value in items
    )
    return (
        f'<dl class="prov">\n{body}\n</dl>\n'
        '<p class="note">Re-run: the scenario above with this seed, draws and design, and the '
        "same library versions, gives the identical results.</p>"
    )
