"""``g3sim sweep`` and ``g3sim target``: parse, call simulator.analysis, render."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from ..analysis import target_search
from ..analysis.sweep import sweep_to_file
from ..engine.executors import parse_workers
from ..errors import ConfigError
from ..results import default_path
from ..scenario import parse_lever_values
from ..views.sweep import sweep_json, sweep_text, target_json, target_text
from .options import (
    Progress,
    command_line,
    format_option,
    history_option,
    load_with_warnings,
    quiet_option,
    set_option,
    workers_option,
)

EPILOG_SWEEP = """\b
Examples:
  g3sim sweep configs/korea-levers.toml --lever kor_delivered_fraction=0.6,0.8,1.0 -n 20000
  g3sim sweep configs/korea-levers.toml --lever kor_delivered_fraction \\
      --lever kor_investment_growth_target=0,0.2,0.4 -o results/grid.nc
  g3sim sweep configs/korea-levers.toml --lever kor_reform_chance --resume
"""

EPILOG_TARGET = """\b
Examples:
  g3sim target configs/korea-levers.toml --lever kor_investment_growth_target --p 0.25 \\
      --year 2030 --metric ai_index -n 20000
  g3sim target configs/korea-levers.toml --lever kor_delivery_delay_years --p 0.06
"""


def _levers(texts) -> dict[str, tuple[float, ...]]:
    out: dict[str, tuple[float, ...]] = {}
    for text in texts:
        if "=" not in text:  # a name alone: the lever's grid
            name, values = text.strip(), ()
        else:
            name, values = parse_lever_values(text)
        if name in out:
            raise ConfigError(f"--lever {name} is given twice; give each lever once")
        out[name] = values
    return out


def _announce(enabled: bool):
    def on_combination(index: int, count: int, values) -> None:
        if enabled:
            which = "default policy" if index < 0 else f"combination {index + 1}/{count}"
            shown = ", ".join(f"{k} = {v:g}" for k, v in values.items())
            click.echo(f"g3sim: {which}: {shown}", err=True)

    return on_combination


@click.command(epilog=EPILOG_SWEEP)
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--lever",
    "levers",
    multiple=True,
    metavar="NAME[=V1,V2,...]",
    help="Sweep this lever over these values (a name alone: its grid, low..high by step); "
    "repeatable [default: every lever on its grid].",
)
@click.option("-n", "--draws", type=click.IntRange(min=1), help="Draws of every combination.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Seed of every combination.")
@set_option()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Sweep file [default: results/<scenario name>-sweep.nc].",
)
@click.option("--force", is_flag=True, help="Replace an existing sweep file (and its parts).")
@click.option("--resume", is_flag=True, help="Continue an interrupted sweep.")
@workers_option("Local worker processes of each run; results are identical for any count.")
@history_option("Condition every combination on the scenario's [[observations]].")
@click.option("--year", type=int, help="Year the table shows [default: the last].")
@click.option("--metric", help="Metric the table shows [default: every metric].")
@format_option("table", "json")
@quiet_option
def sweep(
    scenario, levers, draws, seed, overrides, output, force, resume, workers, history, year,
    metric, fmt, quiet,
):  # fmt: skip
    """Run every combination of SCENARIO's lever values on common random numbers.

    Every combination runs with the same seed and draws and the same history conditioning, so
    their differences are paired. Prints P(focus rank ≤ k) of each combination with its 95%
    interval and its difference from the default policy (every lever at its default) with a
    paired interval, and saves the sweep Dataset (read by inspect, plot --kind sweep, report).
    Each combination runs into OUTPUT.parts/ with checkpoints: --resume continues an
    interrupted sweep.
    """
    n_workers = parse_workers(workers)
    sc = load_with_warnings(scenario, overrides)
    out = output or default_path(f"{sc.name}-sweep")
    if output is None:
        with contextlib.suppress(OSError):  # an unwritable folder is reported by the sweep
            out.parent.mkdir(exist_ok=True)
    command = command_line()
    seeded = seed is not None or sc.seed is not None or resume
    with Progress(enabled=not quiet and sys.stderr.isatty()) as progress:
        ds = sweep_to_file(
            sc,
            out,
            _levers(levers),
            draws=draws,
            seed=seed,
            history=history,
            workers=n_workers,
            force=force,
            resume=resume,
            progress=progress,
            on_combination=_announce(not quiet),
            resume_hint=command.replace(" --resume", ""),
            command=command,
        )
    click.echo(sweep_json(ds) if fmt == "json" else sweep_text(ds, year=year, metric=metric))
    if not seeded:
        s = int(ds.attrs["seed"])
        click.echo(f"seed {s} drawn from fresh entropy; rerun with --seed {s}", err=fmt == "json")
    click.echo(f"saved {out}", err=fmt == "json")


@click.command(epilog=EPILOG_TARGET)
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--lever", "lever", required=True, metavar="NAME", help="The lever to search.")
@click.option(
    "--p",
    "p_target",
    required=True,
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Target probability of a top-k rank, e.g. 0.25.",
)
@click.option("--year", type=int, help="Year of the rank [default: the last].")
@click.option("--metric", help="Metric of the rank [default: the model's first].")
@click.option("-n", "--draws", type=click.IntRange(min=1), help="Draws of every evaluation.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Seed of every evaluation.")
@set_option("Override a scenario value, e.g. --set levers.OTHER.value=1.0 (repeatable).")
@click.option(
    "--resolution",
    type=click.FloatRange(min=0, min_open=True),
    help="Range levers: bisect between grid values down to this spacing [default: the step].",
)
@workers_option("Local worker processes of each run.")
@history_option("Condition every evaluation on the scenario's [[observations]].")
@format_option("table", "json")
@quiet_option
def target(
    scenario, lever, p_target, year, metric, draws, seed, overrides, resolution, workers, history,
    fmt, quiet,
):  # fmt: skip
    """The smallest (or largest) value of a lever at which P(focus rank ≤ k) reaches --p.

    Evaluates P on common random numbers (the same seed and draws at every value, so P moves
    only with the lever), finds the direction in which P grows, and bisects to the lever's step
    (a range) or over its listed values. The answer comes with a 95% interval of the lever
    value: the values whose P interval contains the target. If the target is beyond the best
    end of the range, it says so, with the best P found.
    """
    sc = load_with_warnings(scenario, overrides)
    with Progress(enabled=not quiet and sys.stderr.isatty()) as progress:
        t = target_search.target(
            sc,
            lever,
            p_target,
            year=year,
            metric=metric,
            draws=draws,
            seed=seed,
            history=history,
            workers=parse_workers(workers),
            resolution=resolution,
            progress=progress,
            command=command_line(),
        )
    click.echo(target_json(t) if fmt == "json" else target_text(t))
