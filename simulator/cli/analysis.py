"""``g3sim sensitivity`` and ``g3sim discover``: parse, call simulator.analysis, render."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..analysis.discovery_study import discover as run_discover
from ..analysis.sensitivity_conditioned import (
    conditioned_sensitivity,
    given_data_sensitivity_of_result,
)
from ..analysis.sensitivity_study import (
    DEFAULT_SOBOL_N,
    rank_sensitivity_of_result,
    sobol_sensitivity,
)
from ..analysis.targets import scenario_of_result
from ..errors import ConfigError
from ..results import check_writable, open_results, save
from ..views.discovery import discovery_json, discovery_text
from ..views.sensitivity import sensitivity_json, sensitivity_text, sensitivity_warnings
from .options import (
    Progress,
    command_line,
    format_option,
    is_result_path,
    load_with_warnings,
    quiet_option,
    set_option,
)

EPILOG_SENSITIVITY = """\b
Examples:
  g3sim sensitivity configs/baseline.toml                  # explains the headline's P
  g3sim sensitivity results/baseline.nc                    # the same, from a saved run
  g3sim sensitivity configs/baseline.toml --method sobol -n 8192 --seed 7 --metric gpu_stock
  g3sim sensitivity results/baseline.nc --method rank      # from a saved run, no new runs
  g3sim sensitivity configs/baseline.toml --format json -o results/baseline-sobol.nc
"""

EPILOG_DISCOVER = """\b
Examples:
  g3sim discover results/baseline.nc
  g3sim discover results/baseline.nc --metric gpu_stock --year 2030 --min-coverage 0.3
  g3sim discover results/baseline.nc --threshold-density 0.5 --format json
"""


def _target_options(f):
    f = click.option(
        "--factor",
        "factors",
        multiple=True,
        metavar="NAME",
        help="Analyse only this factor (repeatable) [default: every factor].",
    )(f)
    f = click.option("--year", type=int, help="Year of the outcome [default: the last year].")(f)
    f = click.option(
        "--metric", help="Metric of the outcome, e.g. ai_index [default: the model's first]."
    )(f)
    return f


@click.command(epilog=EPILOG_SENSITIVITY)
@click.argument("target", metavar="SCENARIO|RESULT", type=click.Path(path_type=Path))
@click.option(
    "--method",
    type=click.Choice(["auto", "given-data", "sobol", "rank"]),
    default="auto",
    show_default=True,
    help="given-data: first-order indices of the conditioned per-draw population, explaining "
    "the headline's P (a SCENARIO is run as `g3sim run` runs it; a RESULT's draws are read); "
    "sobol: Saltelli design on the prior (unconditioned) factors; rank: rank correlations of "
    "a RESULT's draws; auto: given-data when the scenario has [[observations]], else sobol.",
)
@click.option(
    "-n",
    "--draws",
    type=click.IntRange(min=1),
    help=f"given-data: the run's draws [default: the scenario's]; sobol: base draws, a power of "
    f"two, the model runs N × (factors + 3) times [default: {DEFAULT_SOBOL_N}].",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Random seed (sobol).")
@_target_options
@set_option("Override a scenario value (sobol; repeatable).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Also save the indices as a NetCDF Dataset (docs/analysis.md).",
)
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
@format_option("table", "json")
@quiet_option
def sensitivity(
    target, method, draws, seed, metric, year, factors, overrides, output, force, fmt, quiet
):
    """Which factors drive P(focus rank ≤ k) and the focus score: a ranked table.

    --method given-data (the default for a scenario with [[observations]]) explains the
    headline's P, conditioned on history: it runs SCENARIO as `g3sim run` does (or reads a
    RESULT's per-draw data) and estimates each factor's first-order index from the weighted
    draws, which stays valid when conditioning makes the factors dependent. It leads with a
    one-line verdict and lists only the factors whose index is above zero.

    --method sobol runs SCENARIO's model on a Saltelli design and estimates first-order
    and total Sobol indices with 95% bootstrap intervals; the model's internal noise is one more
    input (common random numbers), reported on its own row. Factors are sampled independently
    (a [correlation] is ignored, with a warning). A RESULT (.nc) stands for the scenario it ran.

    --method rank reads a saved RESULT's per-draw data: Spearman rank correlations and
    standardised rank regression coefficients, weighted by history matching if the run was.
    """
    if output is not None:
        check_writable(output, force=force)
    if method == "rank":
        ds = _rank_of_result(target, draws, seed, overrides, metric, year, factors)
        seeded = True
    else:
        result = open_results(target) if is_result_path(target) else None
        if result is not None:
            sc = scenario_of_result(result, target, overrides)
        else:
            sc = load_with_warnings(target, overrides)
        if method == "auto":
            method = "given-data" if sc.observations else "sobol"
    if method == "given-data":
        ds, seeded = _given_data(
            target, result, sc, (draws, seed, overrides), quiet, metric, year, factors
        )
    elif method == "sobol":
        seeded = seed is not None or sc.seed is not None
        with Progress(enabled=not quiet and sys.stderr.isatty()) as progress:
            ds = sobol_sensitivity(
                sc,
                n=draws or DEFAULT_SOBOL_N,
                seed=seed,
                metric=metric,
                year=year,
                factors=factors,
                progress=progress,
                command=command_line(),
            )
    seed = int(ds.attrs["seed"])
    for line in sensitivity_warnings(ds):
        click.echo(f"g3sim: warning: {line}", err=True)
    click.echo(sensitivity_json(ds) if fmt == "json" else sensitivity_text(ds))
    if not seeded:
        click.echo(
            f"seed {seed} drawn from fresh entropy; rerun with --seed {seed}", err=fmt == "json"
        )
    if output is not None:
        save(ds, output, force=force)
        click.echo(f"saved {output}", err=fmt == "json")


def _given_data(target, result, sc, given, quiet, metric, year, factors):
    """``--method given-data``: a RESULT's draws as they are, or a run of SCENARIO."""
    draws, seed, overrides = given
    if result is not None:
        used = [o for o, v in (("-n", draws), ("--seed", seed), ("--set", overrides)) if v]
        if used:
            raise ConfigError(
                f"{', '.join(used)} apply to a scenario; --method given-data uses the draws of "
                f"{target} as they are (name the scenario file to run new draws)"
            )
        ds = given_data_sensitivity_of_result(
            result, metric=metric, year=year, factors=factors, source=str(target),
            command=command_line(),
        )  # fmt: skip
        return ds, True
    with Progress(enabled=not quiet and sys.stderr.isatty()) as progress:
        ds = conditioned_sensitivity(
            sc, draws=draws, seed=seed, metric=metric, year=year, factors=factors,
            progress=progress, command=command_line(),
        )  # fmt: skip
    return ds, seed is not None or sc.seed is not None


def _rank_of_result(target, draws, seed, overrides, metric, year, factors):
    """``--method rank``: the rank measures of a saved result (no sobol-only option given)."""
    if not is_result_path(target):
        raise ConfigError(
            f"{target}: --method rank reads a saved result's per-draw data; run "
            f"`g3sim run {target}` first and pass its results/<name>.nc"
        )
    used = [o for o, v in (("-n", draws), ("--seed", seed), ("--set", overrides)) if v]
    if used:
        raise ConfigError(
            f"{', '.join(used)} apply to --method sobol; --method rank uses the result's "
            "draws as they are"
        )
    return rank_sensitivity_of_result(
        open_results(target),
        metric=metric,
        year=year,
        factors=factors,
        source=str(target),
        command=command_line(),
    )


@click.command(epilog=EPILOG_DISCOVER)
@click.argument("result", type=click.Path(path_type=Path))
@_target_options
@click.option(
    "--threshold-density",
    type=click.FloatRange(0, 1),
    help="Choose the least restricted box whose density (share of its draws in the top k) "
    "reaches D [default: the one-standard-error rule, docs/analysis.md].",
)
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Only boxes holding at least this share of the top-k draws are candidates.",
)
@click.option(
    "--peel-alpha",
    type=click.FloatRange(0, 0.5, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Share of the box's draws one peel removes.",
)
@format_option("table", "json")
def discover(result, metric, year, factors, threshold_density, min_coverage, peel_alpha, fmt):
    """Find the factor ranges under which the focus reaches the top k (PRIM).

    Reads a saved RESULT's per-draw data, peels a box from the factor space, 5% of its draws
    at a time from the side of the factor that most raises the box's density (the share of its
    draws where the focus rank ≤ k, weighted if the run was conditioned on observations), and
    prints the chosen box, its coverage and density, and the peeling trajectory.
    """
    if not is_result_path(result):
        raise ConfigError(
            f"{result}: discover reads a saved result's per-draw data; run "
            f"`g3sim run {result}` first and pass its results/<name>.nc"
        )
    d = run_discover(
        open_results(result),
        metric=metric,
        year=year,
        factors=factors,
        threshold_density=threshold_density,
        min_coverage=min_coverage,
        alpha=peel_alpha,
        source=str(result),
    )
    if d.prim.note:
        click.echo(f"g3sim: warning: {d.prim.note}", err=True)
    click.echo(discovery_json(d) if fmt == "json" else discovery_text(d))
