"""``g3sim plot`` and ``g3sim report``: figures and a self-contained HTML report of a result.

They parse and call the Python API (:mod:`simulator.plots`, :mod:`simulator.views.html`) only,
imported when a command runs: they import matplotlib, which ``g3sim`` start-up must not.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..results import open_result

DPI = 150  # = plots.files.DPI; that module (and matplotlib) loads only when a command runs


class PlotCommand(click.Command):
    """``g3sim plot``, whose help lists the registered kinds, read when help is shown."""

    def format_help_text(self, ctx, formatter):
        from ..plots import KINDS  # heavy: matplotlib

        super().format_help_text(ctx, formatter)
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text("Kinds:")
            with formatter.indentation():
                formatter.write_dl([(name, spec.summary) for name, spec in KINDS.items()])


@click.command(
    cls=PlotCommand,
    epilog="""\b
Examples:
  g3sim plot results/baseline.nc --kind probability -o figures/probability.png
  g3sim plot results/baseline.nc --kind fan --metric gpu_stock -o fan.svg
  g3sim plot results/baseline.nc --kind race --top 10 --country JPN -o race.pdf
  g3sim plot results/baseline-sobol.nc --kind tornado -o tornado.png
  g3sim plot results/reform-vs-baseline.nc --kind compare -o compare.png
  g3sim plot results/korea-levers-sweep.nc --kind sweep -o sweep.png
""",
)
@click.argument("result", type=click.Path(path_type=Path))
@click.option(
    "-k",
    "--kind",
    required=True,
    metavar="KIND",
    help="What to draw: one of the kinds above.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Image file: .png, .svg or .pdf, by its extension (replaced if it exists).",
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    metavar="M",
    help="Draw this metric only (repeatable) [default: every metric].",
)
@click.option("--country", metavar="C", help="Country in focus (ISO alpha-3) [default: the run's].")
@click.option(
    "--top",
    type=int,
    metavar="N",
    help="race: how many leading countries to draw [default: 8]; tornado: how many factors "
    "[default: 15].",
)
@click.option(
    "--dpi",
    type=click.IntRange(50, 600),
    default=DPI,
    show_default=True,
    help="Resolution of a PNG [dots per inch].",
)
def plot(result, kind, output, metrics, country, top, dpi):
    """Draw a figure of RESULT and save it as PNG, SVG or PDF.

    RESULT is a results file of `g3sim run`, or for `tornado` a file of `g3sim sensitivity
    --output`, for `compare` a file of `g3sim compare --output`, for `sweep` a file of
    `g3sim sweep`.
    """
    from ..plots import plot as draw  # heavy: matplotlib
    from ..plots import plot_kind  # heavy: matplotlib
    from ..plots.files import check_output, save_figure  # heavy: matplotlib

    plot_kind(kind)  # an unknown kind fails before the file is read
    check_output(output)
    ds = open_result(result)
    fig = draw(ds, kind, metric=metrics or None, country=country, top=top, source=str(result))
    save_figure(fig, output, dpi=dpi)
    click.echo(f"saved {output}")


@click.command(
    epilog="""\b
Examples:
  g3sim report results/baseline.nc              # writes results/baseline.html
  g3sim report results/baseline.nc -o ~/baseline-report.html
  g3sim report results/korea-levers-sweep.nc    # a sweep: levers, P by combination, figure
"""
)
@click.argument("result", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="HTML file [default: beside RESULT, same name, .html] (replaced if it exists).",
)
def report(result, output):
    """Write a self-contained HTML report of RESULT: headline, assumptions, figures, provenance.

    The page embeds its figures and style and loads nothing from the network: it opens offline
    in any browser and can be mailed as one file.
    """
    from ..views.html import default_report_path, write_report  # heavy: matplotlib
    from ..views.sweep_report import write_sweep_report  # heavy: matplotlib

    ds = open_result(result)  # first: a missing file or a folder is the error to report
    out = output or default_report_path(result)
    if ds.attrs.get("analysis") == "sweep":
        write_sweep_report(ds, out, source=str(result))
    else:
        write_report(ds, out, source=str(result))
    click.echo(f"saved {out}")
