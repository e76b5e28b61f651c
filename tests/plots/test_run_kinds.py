"""Plot kinds of a run result: each draws a complete, uncluttered figure, the same bytes twice."""

from __future__ import annotations

import pytest

from simulator import plots
from simulator.plots import files as plot_files
from simulator.results import open_results
from tests.helpers.plot_data import (
    RUN_KINDS,
    assert_nothing_clipped,
    assert_png_of,
)


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_kind_renders_png_of_the_figure_size(result_nc, kind, tmp_path):
    ds = open_results(result_nc)
    assert kind in plots.available_kinds(ds)
    fig = plots.plot(ds, kind, source=str(result_nc))
    path = plot_files.save_figure(fig, tmp_path / f"{kind}.png", dpi=80)
    assert_png_of(fig, path, kind)


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_no_text_clipped_or_overlapping(result_nc, kind):
    """Constrained layout keeps every text inside the figure; line labels never collide."""
    ds = open_results(result_nc)
    assert_nothing_clipped(plots.plot(ds, kind), kind)


def test_focus_and_options(gauss_nc):
    ds = open_results(gauss_nc)
    fig = plots.plot(ds, "race", country="GBR", top=2)
    texts = sorted(t.get_text() for t in fig.axes[1].texts)
    # Top 2 by median (USA, CHN) and the focus (GBR, 4th) with its median value.
    assert texts[:2] == ["1. USA", "2. CHN"] and texts[2].startswith("4. GBR  3")
    assert len(texts) == 3
    header = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "gauss-test" in header and "3,000 draws" in header and "seed 3" in header


def test_gpu_stock_is_on_a_log_axis(baseline_nc):
    ds = open_results(baseline_nc)
    fig = plots.plot(ds, "fan")
    scales = {ax.get_title(): ax.get_yscale() for ax in fig.axes[1:]}
    assert sorted(scales.values()) == ["linear", "log"]
    assert any("H100e" in ax.get_ylabel() for ax in fig.axes)


def test_same_figure_twice_gives_the_same_bytes(gauss_nc):
    """No state leaks from one figure into the next."""
    ds = open_results(gauss_nc)
    first = plot_files.figure_bytes(plots.plot(ds, "probability"))
    plot_files.figure_bytes(plots.plot(ds, "ranks"))
    assert plot_files.figure_bytes(plots.plot(ds, "probability")) == first


def test_a_repeated_metric_is_drawn_once(baseline_nc):
    ds = open_results(baseline_nc)
    once = plots.plot(ds, "fan", metric=["gpu_stock"])
    twice = plots.plot(ds, "fan", metric=["gpu_stock", "gpu_stock"])
    assert twice.get_size_inches().tolist() == once.get_size_inches().tolist()
    assert len(twice.axes) == len(once.axes)
