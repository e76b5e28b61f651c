"""g3sim plot and g3sim report: formats by extension, options, and one-line errors for the wrong
kind of file."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from simulator import plots
from simulator.cli import main
from simulator.errors import ConfigError, ResultsError
from simulator.results import open_results
from tests.helpers.plot_data import (
    ANALYSIS_KINDS,
    PNG_MAGIC,
    invoke_plot,
    one_line_error,
    png_size,
)

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
    command = {"compare": "compare", "tornado": "sensitivity", "backtest": "backtest"}[kind]
    assert f"g3sim {command} " in line
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


def test_convergence_of_another_country_is_refused_not_drawn_for_the_focus(
    runner, gauss_nc, tmp_path
):
    res = invoke_plot(
        runner, gauss_nc, "--kind", "convergence", "--country", "USA", "-o", tmp_path / "c.png"
    )
    assert res.exit_code == 2
    assert "the convergence trace follows the focus KOR only" in one_line_error(res)
    assert not (tmp_path / "c.png").exists()


@pytest.mark.parametrize("target", [".", "./", "/"])
def test_report_of_a_folder_is_one_line(runner, target):
    res = runner.invoke(main, ["report", target])
    assert res.exit_code == 2, res.output
    assert "internal error" not in one_line_error(res)


def test_the_cli_draws_both_kinds(runner, files, tmp_path):
    for kind, name in (("tornado", "gauss_sobol"), ("compare", "gauss_comparison")):
        out = tmp_path / f"{kind}.svg"
        res = invoke_plot(runner, files.path(name), "--kind", kind, "-o", out)
        assert res.exit_code == 0, res.output
        assert res.stdout.strip() == f"saved {out}"
        assert out.read_bytes().rstrip().endswith(b"</svg>")


# ---------------------------------------------------------------------------------------------
# The wrong kind of file: one line, exit 2, what to run


@pytest.mark.parametrize(
    ("kind", "analysis", "command"),
    [("tornado", "sensitivity", "g3sim sensitivity"), ("compare", "comparison", "g3sim compare")],
)
def test_a_run_result_says_what_to_run(runner, run_nc, tmp_path, kind, analysis, command):
    res = invoke_plot(runner, run_nc, "--kind", kind, "-o", tmp_path / "x.png")
    assert res.exit_code == 2
    line = one_line_error(res)
    assert f"{run_nc} is a result of `g3sim run`, not a {analysis} result; run `{command} " in line
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [
        ("gauss_sobol", "compare", "is a sensitivity result, not a comparison result"),
        ("gauss_comparison", "tornado", "is a comparison result, not a sensitivity result"),
        ("gauss_sobol", "fan", "is a sensitivity result, not a `g3sim run` result; plot it with "),
        ("gauss_comparison", "ranks", "plot it with --kind compare"),
    ],
)
def test_an_analysis_for_another_kind_says_which(runner, files, tmp_path, name, kind, message):
    res = invoke_plot(runner, files.path(name), "--kind", kind, "-o", tmp_path / "x.png")
    assert res.exit_code == 2
    assert message in one_line_error(res)
