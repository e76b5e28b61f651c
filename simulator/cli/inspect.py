"""``g3sim inspect``: a saved result in detail."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError, did_you_mean
from ..results import open_result, open_results
from ..views.run import details, to_csv, to_json
from ..views.sweep import sweep_json, sweep_text
from .options import format_option


@click.command()
@click.argument("result", type=click.Path(path_type=Path))
@click.option("--year", type=int, help="Show one year only.")
@click.option("--country", help="Country (ISO alpha-3) to show [default: the focus].")
@format_option("table", "json", "csv")
def inspect(result, year, country, fmt):
    """Show a saved RESULT: headline, rank distribution, score quantiles, provenance.

    A sweep file (`g3sim sweep`) shows P(focus rank ≤ k) for every lever combination.

    \b
    Examples:
      g3sim inspect results/baseline.nc
      g3sim inspect results/baseline.nc --year 2030 --country JPN --format json
    """
    ds = open_result(result)
    if ds.attrs.get("analysis") == "sweep":
        _inspect_sweep(ds, result, year, fmt)
        return
    if ds.attrs.get("analysis"):  # the file of another analysis: the run file's message
        open_results(result)
    if year is not None and year not in ds["year"].values:
        years = ", ".join(str(int(y)) for y in ds["year"].values)
        raise ConfigError(f"--year {year} is not in {result} (years: {years})")
    if country is not None and country not in ds["country"].values:
        raise ConfigError(
            f"--country {country!r} is not in {result}"
            f"{did_you_mean(country, [str(c) for c in ds['country'].values])}; use an ISO "
            "alpha-3 code of the results' countries"
        )
    render = {"table": details, "json": to_json, "csv": to_csv}[fmt]
    click.echo(render(ds, country=country, year=year).rstrip("\n"))


def _inspect_sweep(ds, result, year, fmt) -> None:
    """A sweep file (`g3sim sweep`): its table, or JSON."""
    if year is not None and year not in ds["year"].values:
        years = ", ".join(str(int(y)) for y in ds["year"].values)
        raise ConfigError(f"--year {year} is not in {result} (years: {years})")
    if fmt == "csv":
        raise ConfigError(f"{result} is a sweep; inspect it as a table or with --format json")
    click.echo(sweep_json(ds) if fmt == "json" else sweep_text(ds, year=year))
