"""``g3sim backtest``: the rolling-origin back-test of an ai_race scenario."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..analysis.backtest import ORIGINS
from ..analysis.backtest import backtest as run_backtest
from ..engine.executors import parse_workers
from ..results import check_writable, save
from ..views.backtest import backtest_json, backtest_text
from .options import (
    command_line,
    format_option,
    load_with_warnings,
    quiet_option,
    set_option,
    workers_option,
)


@click.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("-n", "--draws", type=click.IntRange(min=1), help="Draws of each forecast run.")
@click.option(
    "--calibration-draws",
    type=click.IntRange(min=16),
    default=2048,
    show_default=True,
    help="Draws of each grid point of the per-origin re-calibration.",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Random seed.")
@click.option(
    "--origin",
    "origins",
    type=click.Choice([str(o) for o in ORIGINS]),
    multiple=True,
    help="Forecast origins (repeatable) [default: all].",
)
@click.option(
    "--no-recalibrate",
    is_flag=True,
    help="Keep the scenario's drift_sd/volatility (calibrated on every edition: leaks).",
)
@set_option()
@workers_option()
@format_option("table", "json")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Also save the back-test (NetCDF)."
)
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
@quiet_option
def backtest(
    scenario,
    draws,
    calibration_draws,
    seed,
    origins,
    no_recalibrate,
    overrides,
    workers,
    fmt,
    output,
    force,
    quiet,
):
    """Rolling-origin back-test of SCENARIO against the published editions.

    From each origin (after the 2021, 2023 and 2024 editions) the scenario is conditioned on
    what was published by then, its random walk re-calibrated on the same data, and its rank
    forecasts of the later editions scored (RPS, log score) beside persistence and a linear
    rank trend, for Korea and for each edition's published list.

    \b
    Example:
      g3sim backtest configs/baseline.toml -n 20000 --seed 1 -o results/backtest.nc
    """
    if output is not None:
        check_writable(output, force=force)
    sc = load_with_warnings(scenario, overrides)
    say = None if quiet or not sys.stderr.isatty() else (lambda m: click.echo(m, err=True))
    ds = run_backtest(
        sc,
        draws=draws,
        calibration_draws=calibration_draws,
        seed=seed,
        origins=tuple(int(o) for o in origins) or ORIGINS,
        recalibrate=not no_recalibrate,
        workers=parse_workers(workers),
        progress=say,
        command=command_line(),
    )
    click.echo((backtest_json(ds) if fmt == "json" else backtest_text(ds)).rstrip("\n"))
    if output is not None:
        save(ds, output, force=force)
        if fmt == "table":
            click.echo(f"saved {output}")
