"""Figures of a run's results (``probability``, ``ranks``, ``fan``, ``race``, ``convergence``).

Adding a kind is one function decorated with ``REGISTRY.kind``, which names the kind, says
what it shows and what data it needs (:mod:`.kinds`). The drawing helpers (colours, axes,
labels) live in :mod:`.style`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullFormatter, PercentFormatter

from ..errors import ConfigError, option
from .kinds import RACE_TOP, KindRegistry, PlotOptions, needs_run, needs_trace
from .style import (
    FOCUS,
    RIVAL,
    RIVAL_COLOURS,
    band,
    country_name,
    end_labels,
    metric_colour,
    metric_label,
    new_figure,
    pct_label,
    percent_axis,
    rank_rows,
    si,
    style_axes,
    title,
    value_axis,
    year_axis,
)

REGISTRY = KindRegistry()
kind = REGISTRY.kind


@kind(
    "probability",
    "P(rank ≤ k) by year per metric, with 95% interval bands",
    lacks=needs_run("p_top", "p_top_lower", "p_top_upper"),
)
def probability(ds: xr.Dataset, opt: PlotOptions) -> Figure:
    k = int(ds.attrs["top_k"])
    years = ds["year"].values.astype(int)
    fig, (ax,) = new_figure(8.0, 4.6)
    sel = ds.sel(country=opt.country)
    top = 0.0
    labels = []
    for m in opt.metrics:
        colour = metric_colour(ds, m)
        p = sel["p_top"].sel(metric=m).values
        lo = sel["p_top_lower"].sel(metric=m).values
        hi = sel["p_top_upper"].sel(metric=m).values
        band(ax, years, lo, hi, color=colour, alpha=0.25)
        ax.plot(years, p, color=colour, linewidth=2.6, marker="o", markersize=5)
        top = max(top, float(np.nanmax(hi)))
        labels.append((p[-1], f"{metric_label(ds, m)}  {pct_label(p[-1])}", colour, "bold"))
    percent_axis(ax, top)
    year_axis(ax, years)
    style_axes(ax)
    ax.set_ylabel(f"P(rank ≤ {k})")
    end_labels(ax, labels, x=years[-1])
    title(
        fig,
        ds,
        f"Chance that {country_name(ds, opt.country)} ranks in the top {k}, by year",
        note="bands: 95% Wilson interval (Monte Carlo error only)",
    )
    return fig


@kind(
    "ranks",
    "rank distribution by year: heatmap of P(rank = r)",
    lacks=needs_run("rank_probability"),
)
def ranks(ds: xr.Dataset, opt: PlotOptions) -> Figure:
    k = int(ds.attrs["top_k"])
    years = ds["year"].values.astype(int)
    nm = len(opt.metrics)
    fig, axes = new_figure(1.3 + 4.4 * nm + 0.25 * max(len(years) - 5, 0) * nm, 5.6, nm)
    prob = ds["rank_probability"].sel(country=opt.country)
    tables = [(m, *_rank_grid(prob.sel(metric=m).values, k)) for m in opt.metrics]
    vmax = max(float(np.nanmax(t[1])) for t in tables)
    vmax = min(1.0, max(vmax, 0.05))
    image = None
    for ax, (m, rows, labels) in zip(axes, tables, strict=True):
        image = ax.imshow(
            rows, aspect="auto", cmap="Blues", vmin=0, vmax=vmax, interpolation="nearest"
        )
        for (i, j), v in np.ndenumerate(rows):
            text = _cell(v)
            if text:
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if v > 0.55 * vmax else "#1a1a1a",
                )
        if k < len(labels):
            ax.axhline(k - 0.5, color=FOCUS, linewidth=2.2)
        ax.set_xticks(range(len(years)), [str(y) for y in years])
        ax.set_yticks(range(len(labels)), labels)
        for tick in ax.get_yticklabels()[:k]:
            tick.set_color(FOCUS)
            tick.set_fontweight("bold")
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_xlabel("Year")
        ax.set_ylabel("Rank (1 = first)")
        p_top = rows[:k].sum(axis=0)
        ax.set_title(
            f"{metric_label(ds, m)} · P(top {k}) {pct_label(p_top[0])} → {pct_label(p_top[-1])}"
            if len(years) > 1
            else f"{metric_label(ds, m)} · P(top {k}) {pct_label(p_top[0])}",
            fontsize=10.5,
        )
    bar = fig.colorbar(image, ax=list(axes), shrink=0.85, aspect=30, pad=0.02)
    bar.ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    bar.set_label("P(rank = r)")
    bar.outline.set_visible(False)
    title(
        fig,
        ds,
        f"{country_name(ds, opt.country)}'s rank: probability of each rank, by year",
        note=f"line: the top-{k} cut-off",
    )
    return fig


def _rank_grid(p: np.ndarray, k: int) -> tuple[np.ndarray, list[str]]:
    """The heat map's rows (rank, year) of ``p`` (year, rank) and their labels: the ranks
    :func:`rank_rows` shows, the rest summed in one row "N+"."""
    shown = rank_rows(p, k)
    rows = p[:, :shown].T
    labels = [str(r) for r in range(1, shown + 1)]
    if shown < p.shape[1]:
        rows = np.vstack([rows, p[:, shown:].sum(axis=1)])
        labels.append(f"{shown + 1}+")
    return rows, labels


def _cell(v: float) -> str:
    if not v >= 0.0005:
        return ""
    if v < 0.01:
        return "<1%"
    return f"{v * 100:.0f}%"


@kind(
    "fan",
    "score fan chart (5–95%, 25–75%, median) with rivals' medians",
    lacks=needs_run("value_quantile"),
)
def fan(ds: xr.Dataset, opt: PlotOptions) -> Figure:
    years = ds["year"].values.astype(int)
    nm = len(opt.metrics)
    fig, axes = new_figure(0.8 + 5.2 * nm, 5.2, nm)
    q = ds["value_quantile"]
    qs = [float(x) for x in ds["quantile_level"].values]
    for ax, m in zip(axes, opt.metrics, strict=True):
        qm = q.sel(metric=m)
        focus = qm.sel(country=opt.country)
        bands = {x: focus.sel(quantile_level=x).values for x in qs}
        lo, hi = min(qs), max(qs)
        inner = [x for x in qs if 0.2 <= x <= 0.3], [x for x in qs if 0.7 <= x <= 0.8]
        band(ax, years, bands[lo], bands[hi], color=FOCUS, alpha=0.15)
        if inner[0] and inner[1]:
            band(ax, years, bands[inner[0][0]], bands[inner[1][0]], color=FOCUS, alpha=0.3)
        median = qm.sel(quantile_level=0.5, method="nearest")
        rivals = _fan_rivals(median, opt.country, k=int(ds.attrs["top_k"]))
        labels = []
        for c in rivals:
            y = median.sel(country=c).values
            ax.plot(years, y, color=RIVAL, linewidth=1.2, marker="o", markersize=2.5, zorder=2)
            labels.append((y[-1], c, RIVAL, "normal"))
        fm = median.sel(country=opt.country).values
        ax.plot(years, fm, color=FOCUS, linewidth=2.8, marker="o", markersize=4.5, zorder=3)
        labels.append((fm[-1], f"{opt.country}  {si(fm[-1])}", FOCUS, "bold"))
        values = np.concatenate([bands[lo], bands[hi], *(median.sel(country=c) for c in rivals)])
        value_axis(ax, ds, m, values)
        year_axis(ax, years)
        style_axes(ax)
        ax.set_title(metric_label(ds, m, long=True, units=False), fontsize=10.5)
        end_labels(ax, labels, x=years[-1])
    handles = [
        Line2D([], [], color=FOCUS, linewidth=2.8, marker="o", markersize=4.5),
        Patch(color=FOCUS, alpha=0.45, linewidth=0),
        Patch(color=FOCUS, alpha=0.15, linewidth=0),
        Line2D([], [], color=RIVAL, linewidth=1.2, marker="o", markersize=2.5),
    ]
    fig.legend(
        handles,
        [
            f"{country_name(ds, opt.country)}: median",
            "25–75%",
            f"{lo * 100:g}–{hi * 100:g}%",
            "rivals' medians",
        ],
        loc="outside lower center",
        ncols=4,
        frameon=False,
        fontsize=9,
    )
    title(fig, ds, f"{country_name(ds, opt.country)}'s score by year: median and uncertainty")
    return fig


def _fan_rivals(median: xr.DataArray, focus: str, *, k: int) -> list[str]:
    """The top k by final-year median, and the countries just above and below the focus."""
    final = median.isel(year=-1).to_series().sort_values(ascending=False)
    order = [str(c) for c in final.index]
    i = order.index(focus)
    chosen = order[:k] + order[max(i - 1, 0) : i] + order[i + 1 : i + 2]
    return [c for c in dict.fromkeys(chosen) if c != focus]


@kind(
    "race",
    "median score of the top N countries, interquartile bands",
    lacks=needs_run("value_quantile"),
)
def race(ds: xr.Dataset, opt: PlotOptions) -> Figure:
    top = opt.top or RACE_TOP
    years = ds["year"].values.astype(int)
    nm = len(opt.metrics)
    fig, axes = new_figure(0.8 + 5.4 * nm, 5.6, nm)
    q = ds["value_quantile"]
    for ax, m in zip(axes, opt.metrics, strict=True):
        qm = q.sel(metric=m)
        median = qm.sel(quantile_level=0.5, method="nearest")
        final = median.isel(year=-1).to_series().sort_values(ascending=False)
        leaders = [str(c) for c in final.index[:top]]
        shown = leaders if opt.country in leaders else [*leaders, opt.country]
        labels = []
        rivals = iter(RIVAL_COLOURS)
        for c in shown:
            is_focus = c == opt.country
            colour = FOCUS if is_focus else next(rivals, RIVAL)
            y25 = qm.sel(quantile_level=0.25, method="nearest").sel(country=c).values
            y75 = qm.sel(quantile_level=0.75, method="nearest").sel(country=c).values
            y50 = median.sel(country=c).values
            band(ax, years, y25, y75, color=colour, alpha=0.3 if is_focus else 0.07)
            ax.plot(
                years,
                y50,
                color=colour,
                linewidth=3.0 if is_focus else 1.4,
                marker="o",
                markersize=4.5 if is_focus else 2.5,
                zorder=3 if is_focus else 2,
            )
            place = leaders.index(c) + 1 if c in leaders else int((final > final[c]).sum()) + 1
            text = f"{place}. {c}" + (f"  {si(y50[-1])}" if is_focus else "")
            labels.append((y50[-1], text, colour, "bold" if is_focus else "normal"))
        values = qm.sel(quantile_level=[0.25, 0.75], method="nearest").sel(country=shown).values
        value_axis(ax, ds, m, values.ravel())
        year_axis(ax, years)
        style_axes(ax)
        ax.set_title(metric_label(ds, m, long=True, units=False), fontsize=10.5)
        end_labels(ax, labels, x=years[-1])
    n = min(top, ds.sizes["country"])
    title(
        fig,
        ds,
        f"The race: top {n} countries by median score, {country_name(ds, opt.country)} highlighted",
        note=f"lines: median; bands: 25–75%; order: median in {years[-1]}",
    )
    return fig


@kind(
    "convergence",
    "running P(rank ≤ k) and its 95% half-width against draws",
    lacks=needs_trace,
)
def convergence(ds: xr.Dataset, opt: PlotOptions) -> Figure:
    focus = opt_focus(ds)
    if opt.country != focus:
        raise ConfigError(
            f"{option('country')} {opt.country!r}: the convergence trace follows the focus "
            f"{focus} only; drop {option('country')}, or run with --set "
            f"scenario.focus={opt.country}"
        )
    k = int(ds.attrs["top_k"])
    year = ds.attrs.get("trace_year", int(ds["year"].values[-1]))
    target = float(ds.attrs.get("target_halfwidth", 0.0) or 0.0)
    n = ds["trace_draws"].values.astype(float)
    fig, (left, right) = new_figure(11.0, 4.8, 2)
    top = 0.0
    for m in opt.metrics:
        colour = metric_colour(ds, m)
        p = ds["trace_p_top"].sel(metric=m).values
        h = ds["trace_halfwidth"].sel(metric=m).values
        left.fill_between(n, p - h, p + h, color=colour, alpha=0.25, linewidth=0)
        left.plot(n, p, color=colour, linewidth=2, marker="o", markersize=3.5)
        right.plot(n, h, color=colour, linewidth=2, marker="o", markersize=3.5)
        top = max(top, float(np.nanmax(p + h)))
        # Reference: the half-width falls as 1/sqrt(draws) from the first point.
        right.plot(n, h[0] * np.sqrt(n[0] / n), color=colour, linewidth=1, linestyle=":")

    percent_axis(left, top)
    left.set_ylabel(f"P({focus} rank ≤ {k}) in {year}")
    left.set_title("Running estimate ± 95% half-width", fontsize=10.5)
    if n[-1] >= 10 * n[0]:  # a power law is a straight line on log–log axes
        right.set_xscale("log")
        right.set_yscale("log")
    for axis in (right.xaxis, right.yaxis, left.xaxis):
        axis.set_minor_formatter(NullFormatter())
    right.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 100:.3g}%"))
    right.set_ylabel("95% half-width of P")
    right.set_title("Precision against draws", fontsize=10.5)
    handles = [Line2D([], [], color=metric_colour(ds, m), linewidth=2) for m in opt.metrics]
    names = [metric_label(ds, m) for m in opt.metrics]
    handles.append(Line2D([], [], color="0.3", linewidth=1, linestyle=":"))
    names.append("∝ 1/√draws")
    if target > 0:
        right.axhline(target, color="0.2", linewidth=1.2, linestyle="--")
        handles.append(Line2D([], [], color="0.2", linewidth=1.2, linestyle="--"))
        names.append(f"target {target * 100:g}%")
    for ax in (left, right):
        ax.set_xlabel("Draws")
        ax.xaxis.set_major_formatter(FuncFormatter(si))
        style_axes(ax)
    fig.legend(handles, names, loc="outside lower center", ncols=len(names), frameon=False)
    title(
        fig,
        ds,
        f"Convergence of P({focus} in the top {k}) in {year}",
        note=str(ds.attrs.get("stop_reason", "")),
    )
    return fig


def opt_focus(ds: xr.Dataset) -> str:
    return str(ds.attrs.get("focus", "focus"))
