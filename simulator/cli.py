"""The ``g3sim`` command line: parse, call the Python API, render. No model logic here."""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

import click

from ._version import __version__
from .errors import ConfigError, G3simError

EPILOG_RUN = """\b
Examples:
  g3sim run configs/baseline.toml
  g3sim run configs/baseline.toml -n 200000 --seed 7 --set scenario.focus=JPN -o results/jpn.nc
"""


class G3Group(click.Group):
    """A click group whose errors are one line on stderr and an exit code, never a traceback."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(
                args=args,
                prog_name=prog_name or "g3sim",
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else "g3sim --help")
            sys.exit(0)
        except click.exceptions.UsageError as exc:
            path = exc.ctx.command_path if exc.ctx else "g3sim"
            click.echo(f"{path}: error: {exc.format_message()} (see '{path} --help')", err=True)
            sys.exit(2)
        except click.exceptions.ClickException as exc:
            click.echo(f"g3sim: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except G3simError as exc:
            click.echo(f"g3sim: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except (KeyboardInterrupt, click.exceptions.Abort):
            click.echo("g3sim: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(1)
        except Exception as exc:  # a bug: still one line, with a way to see the traceback
            if os.environ.get("G3SIM_DEBUG"):
                raise
            click.echo(
                f"g3sim: internal error: {type(exc).__name__}: {exc} "
                "(set G3SIM_DEBUG=1 for the traceback and please report it)",
                err=True,
            )
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


class Progress:
    """A one-line progress bar on stderr, shown only on a terminal and after one second."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.t0 = time.perf_counter()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        if elapsed < 1.0 and not self.shown:
            return
        self.shown = True
        frac = done / total
        bar = "█" * int(30 * frac) + "·" * (30 - int(30 * frac))
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        sys.stderr.write(f"\r{bar} {done:,}/{total:,} draws  {rate:,.0f}/s  ETA {eta:,.0f} s ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def load_scenario_noting(path, overrides=()):
    """Load a scenario and print its warnings (e.g. ``extends`` leaving its folder) on stderr."""
    from .scenario import load_scenario

    sc = load_scenario(path, overrides)
    for note in sc.warnings:
        click.echo(f"g3sim: warning: {note}", err=True)
    return sc


def _command_line() -> str:
    # argv bytes that are not UTF-8 arrive as surrogates; keep them visible but encodable.
    args = [os.fsencode(a).decode("utf-8", "backslashreplace") for a in sys.argv[1:]]
    return shlex.join(["g3sim", *args])


RESULT_SUFFIXES = (".nc", ".nc4", ".netcdf")


def is_result_path(path: Path) -> bool:
    """Whether a command's argument names a results file (by its extension), not a scenario."""
    return path.suffix.lower() in RESULT_SUFFIXES


# Options that several commands share (each command words its help for what it does).
def set_option(help_: str = "Override a scenario value (repeatable)."):
    return click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=help_)


def workers_option(help_: str = "Local worker processes."):
    return click.option(
        "-w", "--workers", default="1", show_default=True, metavar="N|auto", help=help_
    )


def format_option(*choices: str):
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def history_option(help_: str):
    return click.option("--history/--no-history", default=True, show_default=True, help=help_)


quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bar.")


@click.group(name="g3sim", cls=G3Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="g3sim")
def main() -> None:
    """g3sim: the probability that a country reaches a top-k AI rank, by year.

    \b
    Examples:
      g3sim run configs/baseline.toml      # run the baseline, print the headline
      g3sim inspect results/baseline.nc    # show a saved result in detail
      g3sim list                           # the scenarios in configs/
    """


@main.command(epilog=EPILOG_RUN)
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "-n", "--draws", type=click.IntRange(min=1), help="Number of draws (overrides the file)."
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Random seed (overrides the file).")
@click.option("--design", type=click.Choice(["mc", "lhs", "sobol"]), help="Sampling design.")
@set_option("Override a scenario value, e.g. --set scenario.top_k=5 (repeatable).")
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
    help="Add blocks until the 95%% half-width of P(rank ≤ k) is ≤ H (e.g. 0.005) for every "
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
@quiet_option
def run(
    scenario,
    draws,
    seed,
    design,
    overrides,
    output,
    force,
    keep_draws,
    workers,
    scheduler,
    target_halfwidth,
    max_draws,
    target_year,
    history,
    resume,
    checkpoint_every,
    quiet,
):
    """Run SCENARIO and print P(focus rank ≤ k) by metric and year.

    The run checkpoints next to its output (OUTPUT.checkpoint/) every few seconds; if it is
    interrupted (Ctrl-C, SIGTERM, a crash), the same command with --resume continues it and
    produces the same file an uninterrupted run would.
    """
    from .engine.executors import parse_workers, scheduler_address
    from .engine.history import ess_warning
    from .render import headline
    from .results import default_path
    from .runs import run_to_file

    n_workers = parse_workers(workers)
    sc = load_scenario_noting(scenario, overrides)
    seeded = seed is not None or sc.seed is not None
    out = output or default_path(sc.name)
    command = _command_line()
    progress = Progress(enabled=not quiet and sys.stderr.isatty())
    try:
        ds = run_to_file(
            sc,
            out,
            force=force,
            resume=resume,
            draws=draws,
            seed=seed,
            design=design,
            keep_draws=keep_draws,
            workers=n_workers,
            history=history,
            target_halfwidth=target_halfwidth,
            max_draws=max_draws,
            target_year=target_year,
            progress=progress,
            command=command,
            resume_hint=command.replace(" --resume", ""),
            every_s=checkpoint_every,
            scheduler=scheduler_address(scheduler),
        )
    finally:
        progress.close()
    seeded = seeded or resume
    click.echo(headline(ds))
    warning = ess_warning(float(ds["effective_sample_size"]), int(ds.attrs["draws"]))
    if warning:
        click.echo(f"g3sim: warning: {warning}", err=True)
    if not seeded:
        seed_used = int(ds.attrs["seed"])
        click.echo(f"seed {seed_used} drawn from fresh entropy; rerun with --seed {seed_used}")
    click.echo(f"saved {out}")


@main.command()
@click.argument("result", type=click.Path(path_type=Path))
@click.option("--year", type=int, help="Show one year only.")
@click.option("--country", help="Country (ISO alpha-3) to show [default: the focus].")
@format_option("table", "json", "csv")
def inspect(result, year, country, fmt):
    """Show a saved RESULT: headline, rank distribution, score quantiles, provenance.

    \b
    Examples:
      g3sim inspect results/baseline.nc
      g3sim inspect results/baseline.nc --year 2030 --country JPN --format json
    """
    from .render import details, to_csv, to_json
    from .results import open_results

    ds = open_results(result)
    if year is not None and year not in ds["year"].values:
        years = ", ".join(str(int(y)) for y in ds["year"].values)
        raise ConfigError(f"--year {year} is not in {result} (years: {years})")
    if country is not None and country not in ds["country"].values:
        from .errors import did_you_mean

        raise ConfigError(
            f"--country {country!r} is not in {result}"
            f"{did_you_mean(country, [str(c) for c in ds['country'].values])}; use an ISO "
            "alpha-3 code of the results' countries"
        )
    render = {"table": details, "json": to_json, "csv": to_csv}[fmt]
    click.echo(render(ds, country=country, year=year).rstrip("\n"))


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@set_option()
def validate(scenario, overrides):
    """Check SCENARIO (and the files it extends) and print it resolved.

    \b
    Example:
      g3sim validate configs/full-delivery.toml --set scenario.draws=5000
    """
    from .engine import BlockRunner

    sc = load_scenario_noting(scenario, overrides)
    model = BlockRunner(sc).model  # validates [model] and [[observations]] as a run would
    click.echo(
        f"# OK: {scenario}: model {sc.model}, focus {sc.focus}, top {sc.top_k}, "
        f"{len(model.countries)} countries, {len(sc.factors)} factors, years "
        f"{sc.years[0]}–{sc.years[-1]}, {sc.draws:,} draws"
    )
    click.echo(sc.to_toml().rstrip("\n"))


@main.command("list")
@click.argument("directory", default="configs", type=click.Path(path_type=Path))
def list_(directory):
    """List the scenarios in DIRECTORY (default: configs/) with their descriptions.

    \b
    Example:
      g3sim list configs
    """
    from .scenario import load_scenario

    if not directory.is_dir():
        raise ConfigError(f"{directory}: no such directory; name a folder of scenario files")
    files = sorted(directory.glob("*.toml"))
    if not files:
        click.echo(f"no scenario files (*.toml) in {directory}")
        return
    width = max(len(f.name) for f in files)
    for f in files:
        try:
            sc = load_scenario(f)
            click.echo(f"{f.name:<{width}}  {sc.description or '(no description)'}")
        except G3simError as exc:
            click.echo(f"{f.name:<{width}}  INVALID: {exc}")


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("-n", "--draws", type=click.IntRange(min=1), help="Number of draws.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Random seed.")
@set_option()
@workers_option()
@format_option("table", "json")
@quiet_option
def calibrate(scenario, draws, seed, overrides, workers, fmt, quiet):
    """Back-test SCENARIO against its [[observations]] and show what they teach.

    Prints how often the unconditioned model reproduces each observation, the effective sample
    size after conditioning, and the factors whose distributions the observations move most
    (prior vs posterior mean, in prior standard deviations).

    \b
    Example:
      g3sim calibrate configs/baseline.toml -n 50000 --seed 1
    """
    import json

    from .engine import Accumulator, BlockRunner, fold_blocks
    from .engine.executors import parse_workers
    from .engine.history import HistoryError
    from .render import backtest_only, calibration, calibration_text
    from .results import build_dataset
    from .runs import resolve

    n_workers = parse_workers(workers)
    sc = load_scenario_noting(scenario, overrides)
    if not sc.observations:
        raise ConfigError(
            f"{scenario}: no [[observations]] to calibrate against; add some (docs/model.md)"
        )
    sc = resolve(sc, draws=draws, seed=seed, keep_draws=False)
    runner = BlockRunner(sc)
    acc = Accumulator(runner)
    progress = Progress(enabled=not quiet and sys.stderr.isatty())
    try:
        fold_blocks(acc, workers=n_workers, progress=progress)
    finally:
        progress.close()
    folded = acc.result()
    try:
        c = calibration(build_dataset(folded, elapsed_s=0.0, command=_command_line()))
    except HistoryError:  # no draw agrees with all of them: the back-test says which fail
        c = backtest_only(folded)
    click.echo(json.dumps(c, indent=2) if fmt == "json" else calibration_text(c))


@main.command()
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
@format_option("table", "json", "csv")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Also save the comparison Dataset (NetCDF).",
)
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
@quiet_option
def compare(a, b, draws, seed, workers, history, fmt, output, force, quiet):
    """What B changes against A: P_A, P_B and B − A with a 95% interval, per metric and year.

    A and B are two scenario files (run here on common random numbers: same seed and draws,
    so the difference is estimated from paired draws) or two results files (paired when they
    share seed, draws, design and block size and kept per-draw data; otherwise unpaired).

    \b
    Examples:
      g3sim compare configs/baseline.toml configs/regulatory-reform.toml -n 50000 --seed 1
      g3sim compare results/baseline.nc results/full-delivery.nc --format json
    """
    from .compare import compare_results
    from .engine.executors import parse_workers
    from .render import comparison_csv, comparison_json, comparison_text
    from .results import check_writable, open_results, save
    from .runs import resolve
    from .runs import run as run_engine

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
        ds_a, ds_b = open_results(a), open_results(b)
    else:
        n_workers = parse_workers(workers)
        sa = load_scenario_noting(a)
        sa = resolve(sa, draws=draws, seed=seed, keep_draws=True)
        sb = resolve(load_scenario_noting(b), draws=sa.draws, seed=sa.seed, keep_draws=True)
        runs = []
        for sc in (sa, sb):
            progress = Progress(enabled=not quiet and sys.stderr.isatty())
            try:
                runs.append(
                    run_engine(
                        sc,
                        progress=progress,
                        command=_command_line(),
                        workers=n_workers,
                        history=history,
                    )
                )
            finally:
                progress.close()
        ds_a, ds_b = runs
    cmp = compare_results(ds_a, ds_b)
    render = {"table": comparison_text, "json": comparison_json, "csv": comparison_csv}[fmt]
    click.echo(render(cmp).rstrip("\n"))
    if output is not None:
        save(cmp, output, force=force)
        if fmt == "table":
            click.echo(f"saved {output}")


# Commands defined in their own modules register themselves on `main` when imported.
from . import cli_analysis, cli_plots  # noqa: E402, F401
