"""What several commands share: options, the progress bar, the command line, scenario loading."""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

import click

from ..errors import ConfigError
from ..scenario import load_scenario, parse_lever_values


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
        """Clear the bar (if it was shown)."""
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load_with_warnings(path, overrides=()):
    """Load a scenario and print its warnings (e.g. ``extends`` leaving its folder) on stderr."""
    sc = load_scenario(path, overrides)
    for note in sc.warnings:
        click.echo(f"g3sim: warning: {note}", err=True)
    return sc


def command_line() -> str:
    """The command line as typed (for provenance), quoted so it can be re-run."""
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


def lever_option(help_: str):
    return click.option("--lever", "levers", multiple=True, metavar="NAME=VALUE", help=help_)


def lever_overrides(levers) -> list[str]:
    """``--lever NAME=VALUE`` choices as ``--set levers.NAME.value=VALUE`` overrides."""
    out = []
    for text in levers:
        name, values = parse_lever_values(text)
        if len(values) != 1:
            raise ConfigError(
                f"--lever {text}: a run takes one value per lever; `g3sim sweep` runs several"
            )
        out.append(f"levers.{name}.value={values[0]!r}")
    return out


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


conditioning_option = click.option(
    "--conditioning",
    type=click.Choice(["smc", "rejection"]),
    help="How to condition on [[observations]]: sequential Monte Carlo or rejection "
    "[default: the scenario's, smc].",
)


quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bar.")


#: How the command line spells the parameters that library messages name
#: (:func:`simulator.errors.option`); a parameter not listed keeps its Python spelling.
FLAGS = {
    "force": "--force",
    "resume": "--resume",
    "output": "-o",
    "draws": "-n",
    "target_halfwidth": "--target-halfwidth",
    "target_year": "--target-year",
    "max_draws": "--max-draws",
    "workers": "--workers",
    "scheduler": "--scheduler",
    "keep_draws": "--keep-draws",
    "no_keep_draws": "--no-keep-draws",
    "metric": "--metric",
    "year": "--year",
    "factor": "--factor",
    "min_coverage": "--min-coverage",
    "threshold_density": "--threshold-density",
    "kind": "--kind",
    "country": "--country",
    "top": "--top",
    "lever": "--lever",
    "p": "--p",
}
