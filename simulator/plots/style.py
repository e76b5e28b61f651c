"""The house style of g3sim's figures: colours, labels, axes, titles.

Colours are Okabe & Ito's colour-blind-safe palette (Okabe, M. and Ito, K., 2008, "Color
Universal Design"): the focus country is vermillion and drawn thick; rivals are thin and grey;
metrics take blue, orange, bluish green, ... in the order of the result's ``metric`` coordinate,
so a metric has the same colour in every figure. Nothing here touches matplotlib's global state.
"""

from __future__ import annotations

import itertools
import math
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath
from matplotlib.ticker import (
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    PercentFormatter,
)

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
FOCUS = OKABE_ITO["vermillion"]
RIVAL = "#999999"
# Rivals in a race, in order (vermillion is the focus's; yellow is too pale on white).
RIVAL_COLOURS = tuple(
    OKABE_ITO[c] for c in ("blue", "bluish_green", "reddish_purple", "sky_blue", "orange", "black")
)
METRIC_COLOURS = tuple(
    OKABE_ITO[c] for c in ("blue", "orange", "bluish_green", "reddish_purple", "sky_blue", "black")
)
SHORT_LABELS = {"ai_index": "AI index", "gpu_stock": "AI GPU stock", "score": "Score"}
TEXT = "#222222"
HEADER = "g3sim-header"
_TEXT_PATH = TextToPath()  # measures text without a renderer


def new_figure(
    width: float,
    height: float,
    ncols: int = 1,
    *,
    nrows: int = 1,
    height_ratios: Sequence[float] | None = None,
) -> tuple[Figure, list]:
    """A white figure [inches] with constrained layout, its own Agg canvas, a header row for
    :func:`title` and ``nrows`` × ``ncols`` axes (a flat list, row by row)."""
    fig = Figure(figsize=(width, height), layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    fig.get_layout_engine().set(w_pad=0.1, h_pad=0.1, wspace=0.04)
    ratios = [0.001, *(height_ratios or [1] * nrows)]
    grid = fig.add_gridspec(1 + nrows, ncols, height_ratios=ratios)
    header = fig.add_subplot(grid[0, :], label=HEADER)
    header.set_axis_off()
    return fig, [fig.add_subplot(grid[1 + r, c]) for r in range(nrows) for c in range(ncols)]


def half_inches(size: float) -> float:
    """``size`` [inches] rounded up to a half inch: a whole number of pixels at any dpi."""
    return math.ceil(size * 2 - 1e-9) / 2


def run_info(ds: xr.Dataset) -> list[str]:
    """Scenario, model, draws, seed and design of a run (or of an analysis), as parts of a
    subtitle."""
    a = ds.attrs
    if a.get("analysis") == "sensitivity":
        return _sensitivity_info(a)
    if a.get("analysis") == "comparison":
        return _comparison_info(a)
    parts = [
        f"scenario “{a.get('scenario_name', '?')}”",
        f"model {a.get('model', '?')}",
        f"{int(a.get('draws', 0)):,} draws",
        f"seed {a.get('seed', '?')}",
        f"design {a.get('design', '?')}",
    ]
    if int(a.get("conditioned", 0) or 0):
        parts.append(_conditioning_info(ds))
    return parts


def _conditioning_info(ds: xr.Dataset) -> str:
    """The run's conditioning with the sizes the headline leads with: for SMC the
    variance-equivalent ESS of the last year's P (what the bands rest on) and the lineages
    (the Kish size of the weights grouped by initial draw); otherwise the weights' Kish size."""
    a = ds.attrs
    ess = float(ds["effective_sample_size"]) if "effective_sample_size" in ds else math.nan
    how = f"conditioned on {int(a.get('observations', 0))} observations"
    if a.get("conditioning") != "smc" or "p_top_effective_sample_size" not in ds:
        return f"{how} (ESS {ess:,.0f})"
    y = int(ds["year"].values[-1])
    sizes = ds["p_top_effective_sample_size"].sel(year=y, country=a.get("focus"))
    each = ", ".join(
        f"{m} {float(v):,.0f}" for m, v in zip(sizes["metric"].values, sizes.values, strict=True)
    )
    return f"{how} by SMC (ESS of the {y} P: {each}; lineages {ess:,.0f})"


def _sensitivity_info(a) -> list[str]:
    parts = [f"scenario “{a.get('scenario_name', '?')}”", f"model {a.get('model', '?')}"]
    draws = int(a.get("draws", 0))
    if a.get("method") == "given-data":
        parts.append(f"{draws:,} draws of the run, weighted as its headline")
        parts.append(f"ESS {float(a.get('effective_sample_size', math.nan)):,.0f}")
        parts.append(f"seed {a.get('seed', '?')}")
    elif a.get("method") == "rank":
        source = Path(str(a.get("result_source", ""))).name or "a result"
        parts.append(f"{draws:,} draws of {source}")
        if int(a.get("weighted", 0) or 0):
            ess = float(a.get("effective_sample_size", math.nan))
            parts.append(f"weighted by history matching (ESS {ess:,.0f})")
        parts.append(f"seed {a.get('seed', '?')}")
    else:
        runs = int(a.get("model_evaluations", 0))
        parts.append(f"{draws:,} base draws ({runs:,} model runs)")
        parts.append(f"seed {a.get('seed', '?')}")
        parts.append("Saltelli design")
    return parts


def _comparison_info(a) -> list[str]:
    def both(key: str, fmt=str) -> str:
        va, vb = a.get(f"{key}_a", "?"), a.get(f"{key}_b", "?")
        return fmt(va) if va == vb else f"{fmt(va)} (A) / {fmt(vb)} (B)"

    return [
        f"A “{a.get('scenario_name_a', '?')}” vs B “{a.get('scenario_name_b', '?')}”",
        f"{both('draws', lambda v: f'{int(v):,}')} draws",
        f"seed {both('seed')}",
    ]


def title(fig: Figure, ds: xr.Dataset, headline: str, *, note: str = "") -> None:
    """The headline in bold and under it, in grey, the run's identity and a note.

    Both sit in the header row of :func:`new_figure`, aligned with the left edge of the plots,
    and are wrapped to the figure's width, so constrained layout keeps them whole.
    """
    header = next(ax for ax in fig.get_axes() if ax.get_label() == HEADER)
    width_pt = fig.get_figwidth() * 72 * 0.9
    notes = note.split(" · ") if note else []
    sub = _wrap([*run_info(ds), *notes], int(width_pt / (9 * 0.58)))
    head = textwrap.wrap(headline, int(width_pt / (13.5 * 0.62))) or [""]
    header.text(
        0,
        0,
        "\n".join(sub),
        transform=header.transAxes,
        ha="left",
        va="bottom",
        fontsize=9,
        color="#555555",
        linespacing=1.35,
    )
    header.annotate(
        "\n".join(head),
        xy=(0, 0),
        xycoords="axes fraction",
        xytext=(0, 9 * 1.35 * len(sub) + 6),
        textcoords="offset points",
        ha="left",
        va="bottom",
        fontsize=13.5,
        fontweight="bold",
        color=TEXT,
    )


def _wrap(parts: list[str], width: int) -> list[str]:
    """Join ``parts`` with " · " into lines of at most ``width`` characters; a part longer
    than a line is wrapped at spaces."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines.extend(textwrap.wrap(part, width) or [part])
    return lines


def country_name(ds: xr.Dataset, code: str) -> str:
    if "country_name" in ds.coords:
        name = str(ds["country_name"].sel(country=code).item())
        if name and name != code:
            return name
    return code


def metric_colour(ds: xr.Dataset, metric: str) -> str:
    metrics = [str(m) for m in ds["metric"].values]
    return METRIC_COLOURS[metrics.index(metric) % len(METRIC_COLOURS)]


def metric_units(ds: xr.Dataset, metric: str) -> str:
    if "metric_units" in ds.coords:
        return str(ds["metric_units"].sel(metric=metric).item())
    return ""


def metric_label(ds: xr.Dataset, metric: str, *, long: bool = False, units: bool = True) -> str:
    """A metric's short name ("AI GPU stock"), or with ``long`` its description and units."""
    short = SHORT_LABELS.get(metric, metric.replace("_", " "))
    if not long:
        return short
    text = short
    if "metric_long_name" in ds.coords:
        name = str(ds["metric_long_name"].sel(metric=metric).item())
        text = name[:1].upper() + name[1:] if name else short
    unit = metric_units(ds, metric) if units else ""
    return f"{text} [{unit}]" if unit not in ("", "1") else text


def pct_label(p: float) -> str:
    """A probability as a short percentage for labels: 0%, <0.1%, 4.0%, 17%, >99.9%, 100%."""
    if not math.isfinite(p):
        return "n/a"
    if p <= 0:
        return "0%"
    if p >= 1:
        return "100%"
    if p < 0.001:
        return "<0.1%"
    if p > 0.999:
        return ">99.9%"
    return f"{p * 100:.1f}%"


def si(value: float, _pos=None) -> str:
    """A number with a k/M/G suffix (3 significant figures): 45.5k, 1.2M, 35.2."""
    if not math.isfinite(value):
        return ""
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.3g}"


def style_axes(ax, *, grid: str = "y") -> None:
    """Light frame (left and bottom spines only), grey grid lines along ``grid`` ("x" or "y")."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#888888")
    ax.grid(True, axis=grid, color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(colors="#444444", labelsize=9, labelcolor=TEXT)


def year_axis(ax, years: np.ndarray) -> None:
    ax.set_xticks(years, [str(int(y)) for y in years])
    pad = 0.25 if len(years) > 1 else 0.6
    ax.set_xlim(years[0] - pad, years[-1] + pad)
    ax.set_xlabel("Year")


def percent_axis(ax, top: float) -> None:
    """A probability axis from 0 in percent, up to a round value above ``top``."""
    if top >= 0.6:
        upper = 1.0
    else:
        step = 0.01 if top < 0.04 else 0.05 if top < 0.3 else 0.1
        upper = min(1.0, step * math.ceil(top * 1.15 / step + 1e-9))
        upper = max(upper, 0.02)
    ax.set_ylim(0, upper * 1.02 if upper == 1.0 else upper)
    ax.yaxis.set_major_locator(MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]))
    decimals = 0 if upper >= 0.1 else 1
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=decimals))


def value_axis(ax, ds: xr.Dataset, metric: str, values: Iterable[float]) -> None:
    """The score axis: units from ``metric_units``; a log scale when values span > 30×."""
    v = np.asarray(list(np.ravel(values)) if not isinstance(values, np.ndarray) else values)
    v = v[np.isfinite(v)]
    units = metric_units(ds, metric)
    short = SHORT_LABELS.get(metric, metric.replace("_", " "))
    label = f"{short} [{units}]" if units not in ("", "1") else f"{short} (unitless)"
    if v.size and v.min() > 0 and v.max() / v.min() > 30:
        ax.set_yscale("log")
        decades = math.log10(v.max() / v.min())
        subs = (1.0,) if decades > 2.5 else (1.0, 2.0, 5.0)
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=subs))
        ax.yaxis.set_minor_formatter(NullFormatter())
        label += ", log scale"
    ax.yaxis.set_major_formatter(FuncFormatter(si))
    ax.set_ylabel(label)


def rank_rows(prob: np.ndarray, k: int, *, cover: float = 0.995, most: int = 15) -> int:
    """How many ranks to show from rank 1: enough to cover ``cover`` of every row of ``prob``.

    ``prob`` is (year, rank). At least k + 1 ranks (so the top-k boundary shows), at most
    ``most``; the ranks beyond are summed into one row by the caller.
    """
    n = prob.shape[-1]
    cum = np.cumsum(prob, axis=-1)
    reach = np.argmax(cum >= cover - 1e-12, axis=-1) + 1
    reach = np.where(cum[..., -1] >= cover - 1e-12, reach, n)
    shown = int(np.max(reach))
    shown = max(shown, min(k + 1, n))
    if shown >= n - 1:  # one leftover rank is clearer shown than summed
        return n if n <= most + 1 else most
    return min(shown, most)


def legend_columns(fig: Figure, names: Sequence[str], *, fontsize: float = 10) -> int:
    """The most columns in which a legend of ``names`` fits the figure's width, among those
    that fill the columns evenly (matplotlib puts the extra entries in the first columns)."""
    font = FontProperties(size=fontsize)
    text_in = [
        _TEXT_PATH.get_text_width_height_descent(n, font, ismath=False)[0] / 72 for n in names
    ]
    # + handle (2 em), its padding (0.8 em) and the column spacing (2 em) [inches]
    entry = [w + fontsize / 72 * 5.0 for w in text_in]
    width = fig.get_figwidth() - 0.3
    n = len(names)
    for ncols in range(n, 1, -1):
        rows, extra = divmod(n, ncols)
        if extra not in (0, ncols - 1):
            continue  # e.g. 4 entries as 2 + 1 + 1 look unbalanced
        sizes = [rows + 1] * extra + [rows] * (ncols - extra)
        starts = np.cumsum([0, *sizes])
        if sum(max(entry[a:b]) for a, b in itertools.pairwise(starts)) <= width:
            return ncols
    return 1


def end_labels(ax, items: list[tuple[float, str, str, str]], *, x: float, fontsize=9) -> None:
    """Label lines at their right end, outside the axes, spaced so labels never overlap.

    ``items`` are (y in data units, text, colour, font weight). Call after the axis limits and
    scales are final: positions are computed in axes fractions, which layout does not change.
    """
    items = [it for it in items if np.isfinite(it[0])]
    if not items:
        return
    ax.autoscale_view()
    ax.set_ylim(ax.get_ylim())  # freeze, so the labels' positions stay right
    to_axes = ax.transScale + ax.transLimits
    ys = [to_axes.transform((x, y))[1] for y, *_ in items]
    fig = ax.get_figure()
    height_in = ax.get_position().height * fig.get_figheight() * 0.85
    gap = fontsize * 1.3 / 72 / max(height_in, 0.5)
    order = np.argsort(ys)
    pos = np.array(ys, dtype=float)[order]
    pos = _spread(pos, gap, low=-0.02, high=1.02)
    for p, i, y0 in zip(pos, order, np.sort(ys), strict=True):
        _, text, colour, weight = items[i]
        moved = abs(p - y0) > gap * 0.4
        ax.annotate(
            text,
            xy=(1.0, y0),
            xycoords="axes fraction",
            xytext=(1.045 if moved else 1.012, p),
            textcoords="axes fraction",
            va="center",
            ha="left",
            fontsize=fontsize,
            color=colour,
            fontweight=weight,
            annotation_clip=False,
            arrowprops=(
                {
                    "arrowstyle": "-",
                    "color": colour,
                    "linewidth": 0.7,
                    "relpos": (0, 0.5),
                    "shrinkA": 2,
                    "shrinkB": 1,
                }
                if moved
                else None
            ),
        )


def _spread(pos: np.ndarray, gap: float, *, low: float, high: float) -> np.ndarray:
    """Push sorted positions apart to at least ``gap``, within [low, high] when they fit."""
    pos = pos.copy()
    for i in range(1, len(pos)):
        pos[i] = max(pos[i], pos[i - 1] + gap)
    if len(pos) and pos[-1] > high:
        pos[-1] = high
        for i in range(len(pos) - 2, -1, -1):
            pos[i] = min(pos[i], pos[i + 1] - gap)
    if len(pos) and pos[0] < low:
        shift = low - pos[0]
        pos = pos + shift  # too many to fit: keep the spacing, overflow at the top
    return pos


def band(ax, years: np.ndarray, lo: np.ndarray, hi: np.ndarray, **style) -> None:
    """Shade between ``lo`` and ``hi`` by year; a single year gets a short bar, not nothing."""
    if len(years) == 1:
        years = np.array([years[0] - 0.12, years[0] + 0.12])
        lo, hi = np.repeat(lo, 2), np.repeat(hi, 2)
    ax.fill_between(years, lo, hi, linewidth=0, **style)
