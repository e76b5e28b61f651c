"""The house style of g3sim's figures: colours, labels, axes, titles.

Colours are Okabe & Ito's colour-blind-safe palette (Okabe, M. and Ito, K., 2008, "Color
Universal Design"): the focus country is vermillion and drawn thick; rivals are thin and grey;
metrics take blue, orange, bluish green, ... in the order of the result's ``metric`` coordinate,
so a metric has the same colour in every figure. Nothing here touches matplotlib's global state.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
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


def new_figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, list]:
    """A white figure [inches] with constrained layout, its own Agg canvas, a header row for
    :func:`title` and ``ncols`` axes side by side."""
    fig = Figure(figsize=(width, height), layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    fig.get_layout_engine().set(w_pad=0.1, h_pad=0.1, wspace=0.04)
    grid = fig.add_gridspec(2, ncols, height_ratios=[0.001, 1])
    header = fig.add_subplot(grid[0, :], label=HEADER)
    header.set_axis_off()
    return fig, [fig.add_subplot(grid[1, i]) for i in range(ncols)]


def run_info(ds: xr.Dataset) -> list[str]:
    """Scenario, model, draws, seed and design of a run, as parts of a subtitle."""
    a = ds.attrs
    parts = [
        f"scenario “{a.get('scenario_name', '?')}”",
        f"model {a.get('model', '?')}",
        f"{int(a.get('draws', 0)):,} draws",
        f"seed {a.get('seed', '?')}",
        f"design {a.get('design', '?')}",
    ]
    if int(a.get("conditioned", 0) or 0):
        ess = float(ds["effective_sample_size"]) if "effective_sample_size" in ds else math.nan
        nobs = int(a.get("observations", 0))
        parts.append(f"conditioned on {nobs} observations (ESS {ess:,.0f})")
    return parts


def title(fig: Figure, ds: xr.Dataset, headline: str, *, note: str = "") -> None:
    """The headline in bold and under it, in grey, the run's identity and a note.

    Both sit in the header row of :func:`new_figure`, aligned with the left edge of the plots,
    and are wrapped to the figure's width, so constrained layout keeps them whole.
    """
    header = next(ax for ax in fig.get_axes() if ax.get_label() == HEADER)
    width_pt = fig.get_figwidth() * 72 * 0.9
    sub = _wrap([*run_info(ds), *([note] if note else [])], int(width_pt / (9 * 0.58)))
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
    lines = [parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines.append(part)
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


def pct(p: float) -> str:
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


def style_axes(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#888888")
    ax.grid(True, axis="y", color="#e6e6e6", linewidth=0.8)
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
