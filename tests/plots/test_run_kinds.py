"""g3sim plot: every kind draws a complete, uncluttered figure; formats; clear errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from simulator import plots
from simulator.cli import main
from simulator.errors import ConfigError, ResultsError
from simulator.plots import files as plot_files
from simulator.plots.style import _spread, rank_rows
from simulator.results import open_results
from tests.helpers.plot_data import (
    PNG_MAGIC,
    assert_nothing_clipped,
    assert_png_of,
    invoke_plot,
    one_line_error,
    png_size,
)

RUN_KINDS = ["probability", "ranks", "fan", "race", "convergence"]
ANALYSIS_KINDS = {"tornado": "sensitivity", "compare": "comparison"}  # tests/test_plots_analysis.py


# ---------------------------------------------------------------------------------------------
# Every kind, on a gaussian race and on the baseline


def test_registry_lists_every_kind():
    assert list(plots.KINDS) == [*RUN_KINDS, *ANALYSIS_KINDS]
    assert plots.available_kinds(xr.Dataset(attrs={"analysis": "sensitivity"})) == []


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


def test_plots_never_import_pyplot_and_the_cli_starts_without_matplotlib():
    code = (
        "import sys; import simulator.cli, simulator.cli.plots; "
        "assert 'matplotlib' not in sys.modules, 'g3sim startup imports matplotlib'; "
        "from simulator import plots; from simulator.views import html; "
        "from simulator.plots import files as plot_files; "
        "assert plot_files.DPI == simulator.cli.plots.DPI; "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------------------------
# The command line: formats by extension


@pytest.mark.parametrize(
    ("suffix", "magic"),
    [(".png", PNG_MAGIC), (".svg", b"<svg"), (".pdf", b"%PDF-"), (".PDF", b"%PDF-")],
)
def test_cli_writes_the_format_of_the_extension(runner, gauss_nc, tmp_path, suffix, magic):
    out = tmp_path / f"fan{suffix}"
    res = invoke_plot(runner, gauss_nc, "--kind", "fan", "-o", out)
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == f"saved {out}"
    data = out.read_bytes()
    if suffix == ".svg":
        assert (
            data.startswith(b"<?xml") and magic in data[:1000] and data.rstrip().endswith(b"</svg>")
        )
    else:
        assert data.startswith(magic)
    if suffix.lower() == ".pdf":
        assert data.rstrip().endswith(b"%%EOF")


def test_cli_metric_country_dpi(runner, baseline_nc, tmp_path):
    out = tmp_path / "r.png"
    args = ["--kind", "ranks", "--metric", "gpu_stock", "--country", "JPN", "--dpi", "60"]
    res = invoke_plot(runner, baseline_nc, *args, "-o", out)
    assert res.exit_code == 0, res.output
    _, height = png_size(out.read_bytes())
    assert height == round(5.6 * 60)


def test_cli_replaces_an_existing_image(runner, gauss_nc, tmp_path):
    out = tmp_path / "p.png"
    out.write_bytes(b"old")
    assert invoke_plot(runner, gauss_nc, "--kind", "probability", "-o", out).exit_code == 0
    assert out.read_bytes().startswith(PNG_MAGIC)


# ---------------------------------------------------------------------------------------------
# Errors: one line, exit 2 for bad input


def test_unknown_kind_lists_the_valid_ones(runner, gauss_nc, tmp_path):
    res = invoke_plot(runner, gauss_nc, "--kind", "fann", "-o", tmp_path / "x.png")
    assert res.exit_code == 2
    line = one_line_error(res)
    assert "unknown plot kind 'fann' (did you mean 'fan'?)" in line
    assert "choose one of " + ", ".join(plots.KINDS) in line
    with pytest.raises(ConfigError, match="unknown plot kind 'pie'; choose one of probability"):
        plots.plot(open_results(gauss_nc), "pie")


@pytest.mark.parametrize(("kind", "analysis"), ANALYSIS_KINDS.items())
def test_analysis_kind_on_a_run_result_says_what_to_run(runner, gauss_nc, tmp_path, kind, analysis):
    res = invoke_plot(runner, gauss_nc, "--kind", kind, "-o", tmp_path / "x.png")
    assert res.exit_code == 2
    line = one_line_error(res)
    assert f"{gauss_nc} is a result of `g3sim run`, not a {analysis} result" in line
    assert f"g3sim {'compare' if kind == 'compare' else 'sensitivity'} " in line
    assert "--output FILE" in line
    assert not (tmp_path / "x.png").exists()


def test_convergence_without_a_trace_says_how_to_get_one(runner, gauss_nc, tmp_path):
    ds = open_results(gauss_nc).drop_vars(["trace_draws", "trace_p_top", "trace_halfwidth"])
    old = tmp_path / "old.nc"
    ds.to_netcdf(old)
    res = invoke_plot(runner, old, "--kind", "convergence", "-o", tmp_path / "c.png")
    assert res.exit_code == 2
    line = one_line_error(res)
    assert f"{old} has no convergence trace" in line and "--target-halfwidth" in line
    # The other kinds still draw it.
    assert (
        invoke_plot(runner, old, "--kind", "probability", "-o", tmp_path / "p.png").exit_code == 0
    )


def test_run_kind_on_an_analysis_file_names_the_kinds_for_it(runner, tmp_path):
    cmp = xr.Dataset(
        {"difference": (("metric", "year"), np.zeros((1, 1)))},
        coords={"metric": ["score"], "year": [2030]},
        attrs={"analysis": "comparison", "g3sim_format": "g3sim-comparison"},
    )
    path = tmp_path / "cmp.nc"
    cmp.to_netcdf(path)
    res = invoke_plot(runner, path, "--kind", "fan", "-o", tmp_path / "f.png")
    assert res.exit_code == 2
    assert "is a comparison result, not a `g3sim run` result; plot it with --kind compare" in (
        one_line_error(res)
    )
    with pytest.raises(ResultsError, match="is a comparison result"):
        plots.plot(cmp, "probability")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--kind", "fan", "-o", "fan.jpg"],
            2,
            "fan.jpg: cannot tell the image format from '.jpg'",
        ),
        (["--kind", "fan", "-o", "fan"], 2, "from no extension; name a .png, .svg or .pdf file"),
        (["--kind", "fan", "--metric", "gpu", "-o", "f.png"], 2, "--metric 'gpu' is not in"),
        (["--kind", "fan", "--country", "KORR", "-o", "f.png"], 2, "(did you mean 'KOR'?)"),
        (["--kind", "race", "--top", "0", "-o", "f.png"], 2, "--top 0: must be at least 1"),
        (["--kind", "fan", "-o", "nowhere/f.png"], 1, "nowhere: no such directory"),
    ],
)
def test_bad_options(runner, gauss_nc, in_tmp, args, code, message):
    res = invoke_plot(runner, gauss_nc, *args)
    assert res.exit_code == code
    assert message in one_line_error(res)


def test_missing_result_file(runner, in_tmp):
    res = invoke_plot(runner, "nope.nc", "--kind", "fan", "-o", "f.png")
    assert res.exit_code == 2
    assert "nope.nc: no such results file" in one_line_error(res)


def test_missing_kind_is_a_usage_error(runner, gauss_nc):
    res = invoke_plot(runner, gauss_nc, "-o", "f.png")
    assert res.exit_code == 2
    assert "Missing option '-k' / '--kind'" in res.stderr


def test_help_lists_every_kind(runner):
    res = runner.invoke(main, ["plot", "--help"])
    assert res.exit_code == 0
    for name, spec in plots.KINDS.items():
        assert f"{name:<12} {spec.summary}" in res.stdout


# ---------------------------------------------------------------------------------------------
# Helpers


def test_rank_rows_covers_the_distribution():
    p = np.zeros((2, 62))
    p[0, [3, 5, 9]] = [0.5, 0.497, 0.003]
    p[1, 2:5] = 1 / 3
    assert rank_rows(p, 3) == 6  # 99.7% by rank 6 in year 0; the rest is summed
    assert rank_rows(p[:, :5], 3) == 5  # few ranks: all shown
    assert rank_rows(np.full((1, 62), 1 / 62), 3) == 15  # at most 15


def test_spread_keeps_the_gap_and_the_order():
    pos = _spread(np.array([0.5, 0.5, 0.51, 0.99, 1.0]), 0.05, low=0.0, high=1.0)
    assert np.all(np.diff(pos) >= 0.05 - 1e-12)
    assert pos[-1] <= 1.0


def test_convergence_of_another_country_is_refused_not_drawn_for_the_focus(
    runner, gauss_nc, tmp_path
):
    res = invoke_plot(
        runner, gauss_nc, "--kind", "convergence", "--country", "USA", "-o", tmp_path / "c.png"
    )
    assert res.exit_code == 2
    assert "the convergence trace follows the focus KOR only" in one_line_error(res)
    assert not (tmp_path / "c.png").exists()


def test_a_repeated_metric_is_drawn_once(baseline_nc):
    ds = open_results(baseline_nc)
    once = plots.plot(ds, "fan", metric=["gpu_stock"])
    twice = plots.plot(ds, "fan", metric=["gpu_stock", "gpu_stock"])
    assert twice.get_size_inches().tolist() == once.get_size_inches().tolist()
    assert len(twice.axes) == len(once.axes)


@pytest.mark.parametrize("target", [".", "./", "/"])
def test_report_of_a_folder_is_one_line(runner, target):
    res = runner.invoke(main, ["report", target])
    assert res.exit_code == 2, res.output
    assert "internal error" not in one_line_error(res)
