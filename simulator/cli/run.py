"""``g3sim run``, ``validate``, ``list``, ``calibrate`` and ``compare``: parse, call, render."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from ..analysis.calibration import calibrate as run_calibration
from ..analysis.comparison import compare_results
from ..analysis.comparison_study import compare_scenarios
from ..engine import BlockRunner
from ..engine.executors import parse_workers, scheduler_address
from ..engine.history import ess_warning
from ..errors import ConfigError
from ..results import check_writable, default_path, open_results, save
from ..runs import run_to_file
from ..scenario import list_scenarios
from ..views.calibration import calibration_text
from ..views.comparison import comparison_csv, comparison_json, comparison_text
from ..views.run import headline, headline_ess, headline_json
from .options import (
    FLAGS,
    Progress,
    command_line,
    conditioning_option,
    format_option,
    history_option,
    is_result_path,
    lever_option,
    lever_overrides,
    load_with_warnings,
    quiet_option,
    set_option,
    workers_option,
)

EPILOG_RUN = """\b
Examples:
  g3sim run configs/baseline.toml
  g3sim run configs/baseline.toml -n 200000 --seed 7 --set scenario.focus=JPN -o results/jpn.nc
  g3sim run configs/korea-levers.toml --lever kor_delivered_fraction=1.0
"""


@click.command(epilog=EPILOG_RUN)
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "-n", "--draws", type=click.IntRange(min=1), help="Number of draws (overrides the file)."
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Random seed (overrides the file).")
@click.option("--design", type=click.Choice(["mc", "lhs", "sobol"]), help="Sampling design.")
@set_option("Override a scenario value, e.g. --set scenario.top_k=5 (repeatable).")
@lever_option("Run with this value of a [levers] lever, e.g. --lever kor_delivered_fraction=0.9.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Results file [default: results/<scenario name>.nc].",
)
@click.option(
    "--force", is_flag=True, help="Replace an existing results file (and discard a checkpoint)."
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its checkpoint.")
@click.option(
    "--checkpoint-every",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="How often the run's checkpoint is saved.",
)
@click.option(
    "--keep-draws/--no-keep-draws",
    default=None,
    help="Store per-draw data [default: yes up to 1,000,000 draws].",
)
@workers_option("Local worker processes; results are identical for any count.")
@click.option(
    "--scheduler",
    metavar="tcp://HOST:PORT",
    help="Run blocks on an existing Dask cluster [default: $DASK_SCHEDULER_ADDRESS, else local].",
)
@click.option(
    "--target-halfwidth",
    type=float,
    metavar="H",
    help="Add blocks until the 95% half-width of P(rank ≤ k) is ≤ H (e.g. 0.005) for every "
    "metric; ignores -n.",
)
@click.option(
    "--max-draws",
    type=click.IntRange(min=1),
    metavar="N",
    help="Cap for --target-halfwidth [default: 10,000,000].",
)
@click.option(
    "--target-year",
    type=int,
    metavar="YEAR",
    help="Year whose half-width --target-halfwidth watches [default: the last].",
)
@history_option("Condition on the scenario's [[observations]] (history matching).")
@conditioning_option
@format_option("table", "json")
@quiet_option
def run(
    scenario,
    overrides,
    levers,
    output,
    workers,
    scheduler,
    checkpoint_every,
    fmt,
    quiet,
    **run_options,
):
    """Run SCENARIO and print P(focus rank ≤ k) by metric and year.

    --format json prints the headline as one JSON document on stdout (its keys: README,
    "Machine-readable output"); the other lines (seed note, "saved ...") then go to stderr.

    The run checkpoints next to its output (OUTPUT.checkpoint/) every few seconds; if it is
    interrupted (Ctrl-C, SIGTERM, a crash), the same command with --resume continues it and
    produces the same file an uninterrupted run would.
    """
    n_workers = parse_workers(workers)
    sc = load_with_warnings(scenario, [*overrides, *lever_overrides(levers)])
    # run_options: draws, seed, design, force, resume, keep_draws, history, target_halfwidth,
    # max_draws, target_year, passed on as they are
    seeded = run_options["seed"] is not None or sc.seed is not None or run_options["resume"]
    out = output or default_path(sc.name)
    if output is None:
        with contextlib.suppress(OSError):  # an unwritable folder is reported by the run
            out.parent.mkdir(exist_ok=True)
    command = command_line()
    with Progress(enabled=not quiet and sys.stderr.isatty()) as progress:
        ds = run_to_file(
            sc,
            out,
            workers=n_workers,
            progress=progress,
            command=command,
            resume_hint=command.replace(" --resume", ""),
            every_s=checkpoint_every,
            scheduler=scheduler_address(scheduler),
            **run_options,
        )
    as_json = fmt == "json"
    click.echo(headline_json(ds, output=str(out)) if as_json else headline(ds))
    asked = run_options.get("conditioning") or sc.conditioning
    if ds.attrs.get("conditioning") == "rejection" and asked == "smc":
        click.echo(
            f"g3sim: note: model {ds.attrs['model']} has no stepping form: conditioned on the "
            "observations by rejection, not sequential Monte Carlo",
            err=True,
        )
    warning = ess_warning(headline_ess(ds), int(ds.attrs["draws"]))
    if warning:
        click.echo(f"g3sim: warning: {warning}", err=True)
    if not seeded:
        seed_used = int(ds.attrs["seed"])
        click.echo(
            f"seed {seed_used} drawn from fresh entropy; rerun with --seed {seed_used}",
            err=as_json,
        )
    click.echo(f"saved {out}", err=as_json)


@click.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@set_option()
def validate(scenario, overrides):
    """Check SCENARIO (and the files it extends) and print it resolved.

    \b
    Example:
      g3sim validate configs/full-delivery.toml --set scenario.draws=5000
    """
    sc = load_with_warnings(scenario, overrides)
    model = BlockRunner(sc).model  # validates [model] and [[observations]] as a run would
    click.echo(
        f"# OK: {scenario}: model {sc.model}, focus {sc.focus}, top {sc.top_k}, "
        f"{len(model.countries)} countries, {len(sc.factors)} factors, "
        + (f"{len(sc.levers)} levers ({', '.join(sc.lever_names)}), " if sc.levers else "")
        + "years "
        f"{sc.years[0]}–{sc.years[-1]}, {sc.draws:,} draws"
    )
    click.echo(sc.to_toml().rstrip("\n"))


@click.command("list")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def list_(directory):
    """List the scenarios, where each comes from, and their descriptions.

    Without DIRECTORY: the scenarios shipped with g3sim and those in configs/ of the working
    folder ("local"), which take precedence over a shipped one of the same name. Run one by its
    name (g3sim run baseline) or its file.

    \b
    Examples:
      g3sim list
      g3sim list my-scenarios/
    """
    listed = list_scenarios(directory)
    if not listed:
        click.echo(f"no scenario files (*.toml) in {directory}")
        return
    rows = [(e.name, _origin(e), _description(e)) for e in listed]
    widths = [max(len(r[i]) for r in [("scenario", "from", ""), *rows]) for i in (0, 1)]
    click.echo(f"{'scenario':<{widths[0]}}  {'from':<{widths[1]}}  description")
    for name, origin, text in rows:
        click.echo(f"{name:<{widths[0]}}  {origin:<{widths[1]}}  {text}")


def _origin(entry) -> str:
    if entry.origin == "shipped":
        return "shipped"
    return f"local {entry.path}" + (" (before the shipped one)" if entry.shadows else "")


def _description(entry) -> str:
    if entry.error is not None:
        return f"INVALID: {entry.error.message(FLAGS)}"
    return entry.scenario.description or "(no description)"


@click.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("-n", "--draws", type=click.IntRange(min=1), help="Number of draws.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Random seed.")
@set_option()
@workers_option()
@format_option("table", "json")
@conditioning_option
@quiet_option
def calibrate(scenario, draws, seed, overrides, workers, fmt, conditioning, quiet):
    """Back-test SCENARIO against its [[observations]] and show what they teach.

    Prints how often the model reproduces each observation (given the earlier years'), per
    observed year the conditional acceptance, the effective sample size before and after
    resampling and the ancestors surviving to the end, and the factors whose distributions the
    observations move most (prior vs posterior mean, in prior standard deviations).

    \b
    Example:
      g3sim calibrate configs/baseline.toml -n 50000 --seed 1
    """
    n_workers = parse_workers(workers)
    sc = load_with_warnings(scenario, overrides)
    if conditioning is not None:
        sc = sc.with_updates(conditioning=conditioning)
    with Progress(enabled=not quiet and sys.stderr.isatty()) as progress:
        c = run_calibration(
            sc,
            draws=draws,
            seed=seed,
            workers=n_workers,
            progress=progress,
            command=command_line(),
        )
    click.echo(json.dumps(c.to_dict(), indent=2) if fmt == "json" else calibration_text(c))


@click.command()
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@click.option(
    "-n", "--draws", type=click.IntRange(min=1), help="Draws for both scenarios [default: A's]."
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    help="Seed for both scenarios [default: A's, else fresh entropy].",
)
@workers_option()
@history_option("Condition both on their [[observations]].")
@conditioning_option
@format_option("table", "json", "csv")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Also save the comparison Dataset (NetCDF).",
)
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
@quiet_option
def compare(a, b, draws, seed, workers, history, conditioning, fmt, output, force, quiet):
    """What B changes against A: P_A, P_B and B − A with a 95% interval, per metric and year.

    A and B are two scenario files (run here on common random numbers: same seed and draws,
    so the difference is estimated from paired draws) or two results files (paired when they
    share seed, draws, design and block size and kept per-draw data; otherwise unpaired).

    \b
    Examples:
      g3sim compare configs/baseline.toml configs/regulatory-reform.toml -n 50000 --seed 1
      g3sim compare results/baseline.nc results/full-delivery.nc --format json
    """
    kinds = {is_result_path(p) for p in (a, b)}
    if len(kinds) != 1:
        raise ConfigError(
            "compare two scenario files (.toml) or two results files (.nc), not one of each"
        )
    if output is not None:
        check_writable(output, force=force)
    if kinds == {True}:
        if draws is not None or seed is not None:
            raise ConfigError("-n/--seed apply to scenario files; results files ran already")
        cmp = compare_results(open_results(a), open_results(b))
    else:
        n_workers = parse_workers(workers)
        sa = load_with_warnings(a)
        sb = load_with_warnings(b)
        if conditioning is not None:
            sa, sb = (s.with_updates(conditioning=conditioning) for s in (sa, sb))
        cmp = compare_scenarios(
            sa,
            sb,
            draws=draws,
            seed=seed,
            workers=n_workers,
            history=history,
            progress=lambda: Progress(enabled=not quiet and sys.stderr.isatty()),
            command=command_line(),
        )
    render = {"table": comparison_text, "json": comparison_json, "csv": comparison_csv}[fmt]
    click.echo(render(cmp).rstrip("\n"))
    if output is not None:
        cmp.attrs.setdefault("command", command_line())  # the file's history line
        save(cmp, output, force=force)
        if fmt == "table":
            click.echo(f"saved {output}")
