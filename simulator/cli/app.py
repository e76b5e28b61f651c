"""The ``g3sim`` group: one-line errors and exit codes, and every command added explicitly."""

from __future__ import annotations

import os
import sys
import warnings

import click

from .._version import __version__
from ..errors import G3simError, G3simWarning
from . import analysis, backtest, inspect, levers, plots, run
from .options import FLAGS

_default_showwarning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A :class:`G3simWarning` as one line on stderr; any other warning as Python shows it."""
    if isinstance(message, G3simWarning):
        click.echo(f"g3sim: warning: {message.message(FLAGS)}", err=True)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


class G3Group(click.Group):
    """A click group whose errors are one line on stderr and an exit code, never a traceback."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", G3simWarning)
                warnings.showwarning = _show_warning
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
            click.echo(f"g3sim: error: {exc.message(FLAGS)}", err=True)
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


@click.group(name="g3sim", cls=G3Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="g3sim")
def main() -> None:
    """g3sim: the probability that a country reaches a top-k AI rank, by year.

    \b
    Examples:
      g3sim run baseline                   # run the shipped baseline, print the headline
      g3sim inspect results/baseline.nc    # show a saved result in detail
      g3sim list                           # the scenarios: shipped, and local in configs/
    """


for command in (
    run.run,
    inspect.inspect,
    run.validate,
    run.list_,
    run.calibrate,
    run.compare,
    backtest.backtest,
    analysis.sensitivity,
    analysis.discover,
    levers.sweep,
    levers.target,
    plots.plot,
    plots.report,
):
    main.add_command(command)
