"""Figures of an analysis's results (``tornado``, ``compare``).

Registered on this module's ``REGISTRY``; :mod:`.kinds` holds the contract of a kind.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .kinds import TORNADO_TOP, KindRegistry, PlotOptions, needs_analysis
from .style import (
    FOCUS,
    OKABE_ITO,
    SHORT_LABELS,
    TEXT,
    band,
    end_labels,
    half_inches,
    legend_columns,
    metric_label,
    new_figure,
    pct_label,
    percent_axis,
    si,
    style_axes,
    title,
    year_axis,
)

REGISTRY = KindRegistry()
kind = REGISTRY.kind

SOBOL_VARIABLES = tuple(
    f"{index}{part}"
    for index in ("first_order", "total_order")
    for part in ("", "_lower", "_upper")
)
RANK_VARIABLES = (
    "rank_correlation",
    "rank_correlation_lower",
    "rank_correlation_upper",
    "srrc",
    "srrc_r_squared",
)
NOISE_LABEL = "internal noise"
# Tornado bars: the sort key (total index, rank correlation) dark, the other light.
MAIN_BAR, SECOND_BAR = OKABE_ITO["blue"], OKABE_ITO["sky_blue"]
NOISE_BARS = ("#6f6f6f", "#b8b8b8")


GIVEN_VARIABLES = ("first_order", "first_order_lower", "first_order_upper")
GIVEN_ZERO = 0.0  # = views.sensitivity_given.ZERO: an index whose interval reaches 0 is zero


def _sensitivity_variables(ds: xr.Dataset) -> tuple[str, ...]:
    method = ds.attrs.get("method")
    if method == "given-data":
        return GIVEN_VARIABLES
    return RANK_VARIABLES if method == "rank" else SOBOL_VARIABLES


@dataclass(frozen=True)
class _Row:
    """One row of a tornado panel: a label and two bars, each (value, lower, upper)."""

    label: str
    main: tuple[float, float, float]
    second: tuple[float, float, float]
    style: str = "factor"  # or "noise", "rest"
    note: str = ""


def _tornado_rows(ds: xr.Dataset, outcome: str, *, top: int) -> list[_Row]:
    """One outcome's rows, most influential first: at most ``top`` factors (``top + 1`` rather
    than a summary of one), a row summing up the rest, and the internal-noise row."""
    sobol = ds.attrs.get("method") != "rank"
    main, second = ("total_order", "first_order") if sobol else ("rank_correlation", "srrc")
    if ds.attrs.get("method") == "given-data":  # one bar: the first-order index
        main, second = "first_order", None
    sel = ds.sel(outcome=outcome)

    def triple(var: str | None, factor: str | None = None) -> tuple[float, float, float]:
        if var is None:
            return (math.nan,) * 3
        cell = sel if factor is None else sel.sel(factor=factor)
        if f"{var}_lower" not in cell:
            return float(cell[var]), math.nan, math.nan
        return float(cell[var]), float(cell[f"{var}_lower"]), float(cell[f"{var}_upper"])

    names = [str(f) for f in ds["factor"].values]
    key = np.nan_to_num(np.abs(sel[main].values), nan=0.0)
    order = sorted(range(len(names)), key=lambda j: (-key[j], j))
    # A factor whose estimates and intervals are all exactly 0 does not move this outcome (the
    # model never reads it here, docs/analysis.md); one whose key rounds to 0.000 (as in the
    # table of `g3sim sensitivity`) hardly does: both go into the summary row.
    cols = [sel[v].values for v in _sensitivity_variables(ds) if "factor" in sel[v].dims]
    inert = np.all([np.nan_to_num(c, nan=0.0) == 0 for c in cols], axis=0)
    active = [j for j in order if key[j] >= 0.0005]
    if second is None:  # given data: only indices above zero within their interval are bars
        lower = np.nan_to_num(sel[f"{main}_lower"].values, nan=0.0)
        active = [j for j in order if lower[j] > GIVEN_ZERO and key[j] >= 0.0005]
    shown = active if len(active) == len(order) == top + 1 else active[:top]
    rest = [j for j in order if j not in shown]
    described = _descriptions(ds)
    rows = [
        _Row(described.get(names[j], names[j]), triple(main, names[j]), triple(second, names[j]))
        for j in shown
    ]
    if rest:
        n = len(rest)
        largest = max(key[j] for j in rest)
        if np.isnan(sel[main].values).all():
            note = "no index: the outcome never varies"
        elif all(inert[j] for j in rest):
            note = "indices all exactly 0: no effect"
        elif second is None:
            note = ("zero within their intervals" if n > 1 else "zero within its interval") + (
                " or below 0.001"
            )
        elif largest < 0.0005:
            note = "each " + ("total index" if sobol else "|ρ|") + " < 0.001"
        else:
            note = "each " + ("total index" if sobol else "|ρ|") + f" ≤ {largest:.3f}"
        plural = "s" if n > 1 else ""
        label = f"{n} other factor{plural}" if shown else f"{n} factor{plural}"
        listed = ", ".join(names[j] for j in rest)
        if len(listed) <= 24:  # a few short names say more than a count
            label = listed
        nan3 = (math.nan,) * 3
        rows.append(_Row(label, nan3, nan3, "rest", note))
    if sobol and "noise_total_order" in ds:
        rows.append(
            _Row(NOISE_LABEL, triple("noise_total_order"), triple("noise_first_order"), "noise")
        )
    return rows


DESCRIPTION_CHARS = 40  # of a factor's description under its name on a tornado row


def _descriptions(ds: xr.Dataset) -> dict[str, str]:
    """Factor name → its tornado label: the name, and its description (shortened) below."""
    if "factor_description" not in ds.coords and "factor_description" not in ds:
        return {}
    out = {}
    for name, text in zip(ds["factor"].values, ds["factor_description"].values, strict=True):
        text = " ".join(str(text).split())
        if len(text) > DESCRIPTION_CHARS:
            text = text[: DESCRIPTION_CHARS - 1].rsplit(" ", 1)[0] + "…"
        out[str(name)] = f"{name}\n{text}" if text else str(name)
    return out


def _index_text(v: float, *, signed: bool) -> str:
    """An index or correlation beside its bar: 0.139, <0.001, −0.11."""
    if not math.isfinite(v):
        return "n/a"
    if abs(v) < 0.0005:
        return "0" if v == 0 else "<0.001"
    text = f"{v:+.3f}" if signed else f"{v:.3f}"
    return text.replace("-", "−")


def _tornado_scale(rows: list[_Row], *, sobol: bool) -> tuple[float, float, bool]:
    """A panel's x range from its bars and intervals, with room for the value labels, and
    whether the noise bars are broken off it (when they would dwarf every factor's)."""

    def ends(rs):
        return [x for r in rs for x in (*r.main, *r.second) if math.isfinite(x)]

    factors = ends(r for r in rows if r.style == "factor")
    noise = ends(r for r in rows if r.style == "noise")
    reach = max([0.0, *map(abs, factors)])
    broken = bool(noise) and reach > 0 and max(noise) > 2.5 * reach
    values = factors if broken else factors + noise
    lo, hi = min([0.0, *values]), max([0.0, *values])
    if not sobol:  # correlations: symmetric about 0, so the sign reads at a glance
        hi = max(abs(lo), hi, 0.05)
        lo = -hi
    span = max(hi - lo, 0.01)
    return lo - (0.16 * span if lo < 0 else 0.0), hi + 0.16 * span, broken


def _draw_tornado(ax, rows: list[_Row], *, sobol: bool) -> bool:
    """Draw a panel's bars, the first row at the top and the noise row set apart below a line.

    Returns whether the noise bars were broken off the scale (their values are then printed).
    """
    lo_x, hi_x, broken = _tornado_scale(rows, sobol=sobol)
    span = hi_x - lo_x
    height = 0.38
    y = np.arange(len(rows), dtype=float)
    if rows[-1].style == "noise":
        y[-1] += 0.4  # a gap and a dashed line before the noise row
        ax.axhline(y[-1] - 0.7, color="#999999", linewidth=0.8, linestyle=(0, (4, 3)))
    for yi, row in zip(y, rows, strict=True):
        if row.style == "rest":
            ax.text(
                max(lo_x, 0.0) + 0.015 * span,
                yi,
                row.note,
                va="center",
                fontsize=8.5,
                fontstyle="italic",
                color="#666666",
            )
            continue
        noise = row.style == "noise"
        colours = NOISE_BARS if noise else (MAIN_BAR, SECOND_BAR)
        for bar, dy, colour in zip(
            (row.main, row.second), (-height / 2, height / 2), colours, strict=True
        ):
            if not math.isfinite(bar[0]):
                continue
            style = {"height": height, "color": colour, "linewidth": 0, "zorder": 2}
            if noise:
                style.update(edgecolor="#444444", hatch="////", linewidth=0.6)
            if noise and broken and bar[0] > hi_x:
                _broken_bar(ax, yi + dy, bar, style, hi_x=hi_x, span=span)
                continue
            _bar(ax, yi + dy, bar, style, span=span, main=bar is row.main, noise=noise, sobol=sobol)
    _tornado_axes(ax, y, rows, lo_x, hi_x)
    return broken


def _broken_bar(ax, y: float, bar, style: dict, *, hi_x: float, span: float) -> None:
    """A bar broken off the scale: a white gap near the axis end says it goes on; the value is
    printed inside, with its interval."""
    v, lo, hi = bar
    cut = hi_x - 0.1 * span
    ax.barh(y, cut - 0.03 * span, **style)
    ax.barh(y, hi_x - cut, left=cut, **style)
    interval = f" [{_index_text(lo, signed=False)}, {_index_text(hi, signed=False)}]"
    ax.text(
        cut - 0.05 * span,
        y,
        _index_text(v, signed=False) + (interval if math.isfinite(lo) else ""),
        va="center",
        ha="right",
        fontsize=7.5,
        color=TEXT,
        zorder=4,
        bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "linewidth": 0},
    )


def _bar(ax, y: float, bar, style: dict, *, span: float, main: bool, noise: bool, sobol: bool):
    """One bar with its interval; the sort key's (``main``) value beyond the interval's end."""
    v, lo, hi = bar
    ax.barh(y, v, **style)
    if math.isfinite(lo) and math.isfinite(hi):
        ax.errorbar(
            v,
            y,
            xerr=[[max(v - lo, 0.0)], [max(hi - v, 0.0)]],
            fmt="none",
            ecolor="#222222",
            elinewidth=0.9,
            capsize=2.2,
            capthick=0.9,
            zorder=3,
        )
    if main:
        left = v < 0
        end = np.nanmin([v, lo]) if left else np.nanmax([v, hi])
        ax.text(
            end + (-0.012 if left else 0.012) * span,
            y,
            _index_text(v, signed=not sobol),
            va="center",
            ha="right" if left else "left",
            fontsize=7.5,
            color="#444444" if noise else MAIN_BAR,
        )


def _tornado_axes(ax, y: np.ndarray, rows: list[_Row], lo_x: float, hi_x: float) -> None:
    ax.set_yticks(y, [r.label for r in rows])
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        if row.style != "factor":
            tick.set_fontstyle("italic")
            tick.set_color("#555555")
    ax.tick_params(axis="y", length=0, labelsize=9)
    ax.set_ylim(y[-1] + 0.6, -0.6)
    ax.set_xlim(lo_x, hi_x)
    ax.axvline(0, color="#444444", linewidth=0.9, zorder=1)
    style_axes(ax, grid="x")
    ax.spines["left"].set_visible(False)
    ax.xaxis.set_major_locator(MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]))


def _top_aligned(fig: Figure, ax, share: float):
    """Replace ``ax`` by an axes ``share`` of its cell's height, at the cell's top (every
    panel goes through this, so constrained layout gives them equal widths)."""
    spec = ax.get_subplotspec()
    ax.remove()
    cell = spec.subgridspec(2, 1, height_ratios=[share, max(1 - share, 1e-3)], hspace=0)
    return fig.add_subplot(cell[0])


@kind(
    "tornado",
    "which factors drive the headline (a sensitivity result)",
    lacks=needs_analysis(
        "sensitivity",
        "run `g3sim sensitivity SCENARIO --output FILE` and plot that file",
        variables=_sensitivity_variables,
    ),
)
def tornado(ds: xr.Dataset, opt: PlotOptions) -> Figure:
    a = ds.attrs
    sobol = a.get("method") != "rank"
    k, focus, metric, year = int(a["top_k"]), str(a["focus"]), str(a["metric"]), int(a["year"])
    outcomes = [str(o) for o in ds["outcome"].values]
    panels = [_tornado_rows(ds, o, top=opt.top or TORNADO_TOP) for o in outcomes]
    most = max(len(rows) + (0.4 if rows[-1].style == "noise" else 0) for rows in panels)
    fig, axes = new_figure(12.0, half_inches(2.9 + 0.36 * most), len(outcomes))
    mean = ds.get("outcome_mean")
    short = SHORT_LABELS.get(metric, metric.replace("_", " "))
    score = "score" if short.lower() == "score" else f"{short} score"
    broken = False
    for ax, outcome, rows in zip(axes, outcomes, panels, strict=True):
        # Equal row heights in every panel: a panel with fewer rows is shorter, top-aligned.
        n = len(rows) + (0.4 if rows[-1].style == "noise" else 0)
        ax = _top_aligned(fig, ax, (n + 1.2) / (most + 1.2))
        broken |= _draw_tornado(ax, rows, sobol=sobol)
        head = _tornado_heading(ds, outcome, mean, k=k, score=score, sobol=sobol)
        ax.set_title(head, fontsize=10.5, loc="left")
        ax.set_xlabel(
            ("First-order index" if a.get("method") == "given-data" else "Sobol index")
            + " (share of the outcome's variance)"
            if sobol
            else "Spearman rank correlation with the outcome"
        )
    given = a.get("method") == "given-data"
    level = f"{float(a.get('confidence_level', 0.95)):.0%}"
    note = (
        _given_legend(fig, level, a)
        if given
        else _tornado_legend(fig, sobol=sobol, level=level, broken=broken)
    )
    what = "conditioned first-order indices" if given else None
    what = what or ("Sobol indices" if sobol else "rank correlations")
    title(
        fig,
        ds,
        f"What drives {focus}'s top-{k} chance and {score} in {year}: {what} by factor",
        note=note,
    )
    return fig


def _tornado_heading(ds, outcome: str, mean, *, k: int, score: str, sobol: bool) -> str:
    """A panel's title: the outcome and its mean (sd), and R² for rank measures."""
    m = float(mean.sel(outcome=outcome)) if mean is not None else math.nan
    if outcome == "in_top_k":
        head = f"In the top {k}: P(rank ≤ {k}) = {pct_label(m)}"
    elif outcome == "score":
        head = f"{score[:1].upper()}{score[1:]}: mean {si(m)}"
        if "outcome_variance" in ds:
            sd = math.sqrt(max(float(ds["outcome_variance"].sel(outcome=outcome)), 0.0))
            head += f", sd {si(sd)}"
    else:
        head = outcome.replace("_", " ")
    if not sobol:
        head += f" · R² {float(ds['srrc_r_squared'].sel(outcome=outcome)):.2f}"
    return head


def _tornado_legend(fig: Figure, *, sobol: bool, level: str, broken: bool) -> str:
    """The legend below the panels; returns the note for the title."""
    interval = Line2D([], [], color="#222222", linewidth=0.9, marker="|", markersize=6)
    if sobol:
        handles = [
            Patch(color=MAIN_BAR, linewidth=0),
            Patch(color=SECOND_BAR, linewidth=0),
            interval,
            Patch(facecolor=NOISE_BARS[0], edgecolor="#444444", hatch="////", linewidth=0.6),
        ]
        names = [
            "total index (with interactions)",
            "first-order index (alone)",
            f"{level} bootstrap interval",
            "internal noise: the model's own chance",
        ]
        note = "order: total index" + (
            "; noise bars are broken off the scale, their values printed" if broken else ""
        )
    else:
        handles = [Patch(color=MAIN_BAR, linewidth=0), Patch(color=SECOND_BAR, linewidth=0)]
        handles.append(interval)
        names = [
            "rank correlation ρ",
            "standardised rank regression coefficient",
            f"{level} Fisher-z interval of ρ",
        ]
        note = "order: |ρ|; R²: share of the outcome's rank variance the factors' ranks explain"
    fig.legend(
        handles, names, loc="outside lower center", ncols=legend_columns(fig, names), frameon=False
    )
    return note


def _given_legend(fig: Figure, level: str, a) -> str:
    """The legend of a given-data tornado; returns the note for the title (the headline P)."""
    interval = Line2D([], [], color="#222222", linewidth=0.9, marker="|", markersize=6)
    names = ["first-order index (the factor alone)", f"{level} cluster-bootstrap interval"]
    fig.legend(
        [Patch(color=MAIN_BAR, linewidth=0), interval],
        names,
        loc="outside lower center",
        ncols=2,
        frameon=False,
    )
    p = float(a.get("headline_p", math.nan))
    return f"explains the headline P = {pct_label(p)} (same draws and weights) · order: index"


def _pp(v: float, _pos=None) -> str:
    """A difference of probabilities in percentage points: +2, 0, −1.5."""
    text = f"{v * 100:+.3g}" if abs(v) >= 5e-5 else "0"
    return text.replace("-", "−")


def _variance_reduction(ds: xr.Dataset, metrics: Sequence[str]) -> str:
    """What pairing bought, per metric: the range of independent ÷ paired variance."""
    if not int(ds.attrs.get("paired", 0)):
        return "intervals assume independent runs"
    parts = []
    for m in metrics:
        vrf = ds["variance_reduction"].sel(metric=m).values
        diff = ds["difference"].sel(metric=m).values
        finite = vrf[np.isfinite(vrf)]
        if finite.size == 0:
            same = np.all(diff == 0)
            parts.append(f"{metric_label(ds, m)}: " + ("B = A in every draw" if same else "n/a"))
            continue
        lo, hi = float(finite.min()), float(finite.max())
        span = f"{lo:.2g}×" if hi < 1.05 * lo else f"{lo:.2g}–{hi:.2g}×"
        parts.append(f"{metric_label(ds, m)} {span}")
    return "pairing cuts the variance of B − A: " + ", ".join(parts)


@kind(
    "compare",
    "P(top k) of two scenarios and B − A (a comparison result)",
    lacks=needs_analysis(
        "comparison",
        "run `g3sim compare A B --output FILE` and plot that file",
        variables=("p_a", "p_b", "difference", "difference_lower", "difference_upper"),
    ),
)
def compare(ds: xr.Dataset, opt: PlotOptions) -> Figure:
    a = ds.attrs
    k, focus = int(a["top_k_a"]), str(a["focus_a"])
    name_a, name_b = str(a.get("scenario_name_a", "A")), str(a.get("scenario_name_b", "B"))
    years = ds["year"].values.astype(int)
    nm = len(opt.metrics)
    fig, axes = new_figure(
        half_inches(max(7.0, 0.9 + 5.0 * nm + 0.25 * max(len(years) - 6, 0) * nm)),
        7.5,
        nm,
        nrows=2,
        height_ratios=[1.25, 1],
    )
    colours = OKABE_ITO["blue"], FOCUS, "#222222"  # A, B, B − A
    for i, m in enumerate(opt.metrics):
        sel = ds.sel(metric=m)
        _compare_probabilities(axes[i], ds, sel, m, years, colours, focus=focus, k=k)
        _compare_difference(axes[nm + i], sel, years, colours[2])
    _compare_legend(fig, colours, name_a, name_b, one_year=len(years) == 1)
    title(
        fig,
        ds,
        f"{focus}'s chance of the top {k}: “{name_b}” against “{name_a}”",
        note=f"{a.get('pairing', '')} · {_variance_reduction(ds, opt.metrics)}",
    )
    return fig


def _compare_probabilities(ax, ds, sel, m, years, colours, *, focus: str, k: int) -> None:
    """Top panel of ``compare``: P_A and P_B by year."""
    colour_a, colour_b, _ = colours
    pa, pb = sel["p_a"].values, sel["p_b"].values
    ax.plot(years, pa, color=colour_a, linewidth=2.2, marker="o", markersize=4.5)
    ax.plot(years, pb, color=colour_b, linewidth=2.2, marker="s", markersize=4.5)
    percent_axis(ax, float(np.nanmax([pa, pb])))
    year_axis(ax, years)
    ax.set_xlabel("")
    ax.set_ylabel(f"P({focus} rank ≤ {k})")
    style_axes(ax)
    ax.set_title(metric_label(ds, m, long=True, units=False), fontsize=10.5)
    end_labels(
        ax,
        [
            (pa[-1], f"A  {pct_label(pa[-1])}", colour_a, "bold"),
            (pb[-1], f"B  {pct_label(pb[-1])}", colour_b, "bold"),
        ],
        x=years[-1],
    )


def _compare_difference(ax, sel, years, colour_d: str) -> None:
    """Bottom panel of ``compare``: B − A with its 95% interval, filled where it excludes 0."""
    d = sel["difference"].values
    lo, hi = sel["difference_lower"].values, sel["difference_upper"].values
    if len(years) > 1:
        band(ax, years, lo, hi, color="#999999", alpha=0.35)
    else:  # one year: an error bar reads better than a patch
        ax.errorbar(
            years, d, yerr=[d - lo, hi - d], fmt="none", ecolor="#777777", capsize=6, zorder=2
        )
    ax.axhline(0, color="#444444", linewidth=1.0, zorder=1)
    ax.plot(years, d, color=colour_d, linewidth=1.8, zorder=3)
    clear = (lo > 0) | (hi < 0)  # the 95% interval excludes 0
    ax.scatter(
        years,
        d,
        s=30,
        marker="o",
        facecolors=np.where(clear, colour_d, "white"),
        edgecolors=colour_d,
        linewidths=1.2,
        zorder=4,
    )
    values = np.concatenate([lo, hi, d, [0.0]])
    values = values[np.isfinite(values)]
    low, high = float(values.min()), float(values.max())
    if high - low < 0.01:  # at least ±0.5 pp, so "no difference" looks like it
        mid = (high + low) / 2
        low, high = mid - 0.005, mid + 0.005
    pad = (high - low) * 0.12
    ax.set_ylim(low - pad, high + pad)
    ax.yaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_formatter(FuncFormatter(_pp))
    ax.set_ylabel("B − A [percentage points]")
    year_axis(ax, years)
    style_axes(ax)
    last = f"{d[-1] * 100:+.2f} pp".replace("-", "−") if d[-1] != 0 else "0 pp"
    end_labels(ax, [(d[-1], last, colour_d, "bold")], x=years[-1])


def _compare_legend(fig, colours, name_a: str, name_b: str, *, one_year: bool) -> None:
    colour_a, colour_b, colour_d = colours
    handles = [
        Line2D([], [], color=colour_a, linewidth=2.2, marker="o", markersize=4.5),
        Line2D([], [], color=colour_b, linewidth=2.2, marker="s", markersize=4.5),
        Line2D([], [], color=colour_d, linewidth=1.8, marker="o", markersize=5),
        Patch(color="#999999", alpha=0.35, linewidth=0)
        if not one_year
        else Line2D([], [], color="#777777", linewidth=0, marker="|", markersize=9),
    ]
    names = [
        f"A: {name_a}",
        f"B: {name_b}",
        "B − A (filled: 95% interval excludes 0)",
        "95% interval",
    ]
    fig.legend(
        handles,
        names,
        loc="outside lower center",
        ncols=legend_columns(fig, names, fontsize=9),
        frameon=False,
        fontsize=9,
    )


BACKTEST_COLOURS = {"model": FOCUS, "persistence": OKABE_ITO["blue"], "trend": "#8a8a8a"}


@kind(
    "backtest",
    "RPS of model, persistence, trend (a back-test result)",
    lacks=needs_analysis(
        "backtest",
        "run `g3sim backtest SCENARIO --output FILE` and plot that file",
        variables=("rps", "log_score", "forecast_origin", "forecast_country"),
    ),
)
def backtest(ds: xr.Dataset, opt: PlotOptions) -> Figure:
    del opt
    origin = ds["forecast_origin"].values
    focus = str(ds.attrs["focus"])
    groups = {focus: ds["forecast_country"].values == focus, "published lists": None}
    periods = [str(o) for o in ds["origin"].values] + ["all"]
    forecasters = [str(m) for m in ds["forecaster"].values]
    fig, axes = new_figure(half_inches(3.0 + 2.2 * len(periods)), 4.5, 2)
    width = 0.8 / len(forecasters)
    for ax, (name, mask) in zip(axes, groups.items(), strict=True):
        for j, m in enumerate(forecasters):
            score = ds["rps"].sel(forecaster=m).values
            vals = []
            for period in periods:
                sel = np.ones(len(origin), bool) if period == "all" else origin == int(period)
                if mask is not None:
                    sel &= mask
                vals.append(float(score[sel].mean()) if sel.any() else math.nan)
            x = np.arange(len(periods)) + (j - (len(forecasters) - 1) / 2) * width
            ax.bar(x, vals, width, color=BACKTEST_COLOURS.get(m, TEXT), label=m)
        ax.set_xticks(np.arange(len(periods)), [f"from {p}" if p != "all" else p for p in periods])
        ax.set_ylabel("mean RPS (lower is better)")
        ax.set_title(name, loc="left", fontsize=10)
        style_axes(ax)
    axes[0].legend(frameon=False, fontsize=8)
    title(fig, ds, "Rolling-origin back-test: ranked probability score of the later editions")
    return fig
