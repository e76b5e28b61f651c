"""The figure of a lever sweep (``sweep``): P(top k) against a lever.

One panel per metric. With one swept lever, one line per year (the last four); with more, the
first lever on the x axis and one line per value of the second, in the last year, every other
lever at its default (or its first value). Bands are the 95% intervals of P.
"""

from __future__ import annotations

import textwrap

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from .kinds import KindRegistry, PlotOptions, needs_analysis
from .style import (
    METRIC_COLOURS,
    OKABE_ITO,
    TEXT,
    half_inches,
    metric_label,
    new_figure,
    percent_axis,
    style_axes,
    title,
)

REGISTRY = KindRegistry()
LINE_COLOURS = (*METRIC_COLOURS, *OKABE_ITO.values())
MAX_LINES = 6
SWEEP_VARIABLES = ("p_top", "p_top_lower", "p_top_upper")


def _levers(ds: xr.Dataset) -> list[str]:
    return [n for n in str(ds.attrs.get("levers", "")).split(", ") if n]


def _at_default(ds: xr.Dataset, name: str):
    values = ds[name].values
    default = ds[name].attrs.get("lever_default")
    hit = [v for v in values if default is not None and np.isclose(v, default)]
    return hit[0] if hit else values[0]


def _lines(ds: xr.Dataset, metric: str) -> tuple[list[tuple[str, xr.Dataset]], str]:
    """(label, Dataset along the first lever) per line, and what the lines are."""
    names = _levers(ds)
    sub = ds.sel(metric=metric)
    if len(names) == 1:
        years = [int(y) for y in ds["year"].values][-4:]
        return [(str(y), sub.sel(year=y)) for y in years], "year"
    last = int(ds["year"].values[-1])
    sub = sub.sel(year=last, **{n: _at_default(ds, n) for n in names[2:]})
    second = names[1]
    values = ds[second].values[:MAX_LINES]
    label = textwrap.fill(str(ds[second].attrs.get("long_name", second)), 30)
    return [(f"{v:g}", sub.sel(**{second: v})) for v in values], f"{label}\n(in {last})"


@REGISTRY.kind(
    "sweep",
    "P(top k) against a lever (a file of `g3sim sweep`)",
    lacks=needs_analysis(
        "sweep", "run `g3sim sweep SCENARIO` to make one", variables=SWEEP_VARIABLES
    ),
)
def sweep_figure(ds: xr.Dataset, opts: PlotOptions) -> Figure:
    names = _levers(ds)
    x_name = names[0]
    width = half_inches(6.4 * len(opts.metrics) + 0.5)
    fig, axes = new_figure(width, 4.5, ncols=len(opts.metrics))
    x = ds[x_name].values.astype(float)
    top = 0.0
    for ax, metric in zip(axes, opts.metrics, strict=True):
        lines, what = _lines(ds, metric)
        for i, (label, line) in enumerate(lines):
            colour = LINE_COLOURS[i % len(LINE_COLOURS)]
            ax.fill_between(
                x, line["p_top_lower"], line["p_top_upper"], color=colour, alpha=0.15, lw=0
            )
            ax.plot(x, line["p_top"], marker="o", ms=3.5, color=colour, lw=1.6, label=label)
            top = max(top, float(np.nanmax(line["p_top_upper"])))
        style_axes(ax)
        units = ds[x_name].attrs.get("units", "")
        unit = f" [{units}]" if units and units != "1" else ""
        ax.set_xlabel(f"{ds[x_name].attrs.get('long_name', x_name)}{unit}", color=TEXT)
        ax.set_title(metric_label(ds, metric), fontsize=10, color=TEXT, loc="left")
        ax.legend(
            title=what,
            fontsize=8,
            title_fontsize=8,
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            alignment="left",
        )
        default = ds[x_name].attrs.get("lever_default")
        if default is not None:
            ax.axvline(float(default), color="#888888", lw=0.8, ls="--")
    for ax in axes:
        percent_axis(ax, top)
    axes[0].set_ylabel(f"P({ds.attrs['focus']} rank ≤ {int(ds.attrs['top_k'])})", color=TEXT)
    n = int(ds.attrs.get("observations", 0))
    note = "common random numbers · dashed: default policy · bands: 95% intervals"
    if n:
        note += f" · conditioned on {n} observations"
    title(fig, ds, f"Chance of the top {int(ds.attrs['top_k'])} against the lever", note=note)
    return fig
