"""The contract of a plot kind, and the registries that hold them.

A kind is one drawing function, registered on a :class:`KindRegistry` with a name, a one-line
summary and what data it needs (a function returning what a file lacks, or ``None``):
:mod:`.run_kinds` and :mod:`.analysis_kinds` each hold one registry, which :mod:`.draw` joins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import xarray as xr
from matplotlib.figure import Figure

from ..results.kinds import ANALYSES


@dataclass(frozen=True)
class PlotOptions:
    """What a kind draws: the metrics, the country in focus, and how many countries (``race``)
    or factors (``tornado``) to show (``None``: the kind's default)."""

    metrics: tuple[str, ...]
    country: str
    top: int | None = None


RACE_TOP = 8  # countries in `race`
TORNADO_TOP = 15  # factors in `tornado`


Lacks = Callable[[xr.Dataset], str | None]
Draw = Callable[[xr.Dataset, PlotOptions], Figure]


@dataclass(frozen=True)
class PlotKind:
    """A registered kind: its name, a one-line summary, what it needs and how it draws."""

    name: str
    summary: str
    lacks: Lacks
    draw: Draw | None
    analysis: str | None = None  # the analysis whose results it draws; None: a run's


@dataclass
class KindRegistry:
    """Plot kinds in the order they were registered (the order of ``g3sim plot --help``)."""

    kinds: dict[str, PlotKind] = field(default_factory=dict)

    def kind(self, name: str, summary: str, *, lacks: Lacks) -> Callable[[Draw], Draw]:
        """Register a drawing function as plot kind ``name``.

        ``lacks(ds)`` returns what ``ds`` is missing for this kind, as the end of a sentence
        that starts with the file's name ("has no convergence trace; run ..."), or ``None``.
        A ``lacks`` made by :func:`needs_analysis` marks a kind that draws an analysis's
        results.
        """

        def register(draw: Draw) -> Draw:
            analysis = getattr(lacks, "analysis", None)
            self.kinds[name] = PlotKind(name, summary, lacks, draw, analysis)
            return draw

        return register


# ---------------------------------------------------------------------------------------------
# Data requirements


def needs_run(*variables: str) -> Lacks:
    """The kind draws a result of ``g3sim run`` holding ``variables``."""

    def lacks(ds: xr.Dataset) -> str | None:
        if ds.attrs.get("analysis") in ANALYSES:
            return "is not a `g3sim run` result"  # draw.missing says which kinds plot it
        missing = [v for v in variables if v not in ds.variables]
        if missing:
            return (
                f"lacks {', '.join(missing)}; re-run the scenario with this g3sim "
                "(`g3sim run SCENARIO`)"
            )
        return None

    return lacks


def needs_trace(ds: xr.Dataset) -> str | None:
    """The kind draws a result of ``g3sim run`` with its convergence trace."""
    if ds.attrs.get("analysis") in ANALYSES:
        return needs_run()(ds)
    if not all(v in ds.variables for v in ("trace_draws", "trace_p_top", "trace_halfwidth")):
        return (
            "has no convergence trace (trace_draws, trace_p_top, trace_halfwidth); re-run it "
            "with this g3sim, e.g. `g3sim run SCENARIO --target-halfwidth 0.005`"
        )
    return None


def needs_analysis(
    analysis: str,
    how: str,
    *,
    variables: Callable[[xr.Dataset], Sequence[str]] | Sequence[str] = (),
) -> Lacks:
    """The kind draws an analysis Dataset whose ``analysis`` attribute is ``analysis``, holding
    ``variables`` (a list, or a function of the Dataset giving one)."""

    def lacks(ds: xr.Dataset) -> str | None:
        found = ds.attrs.get("analysis")
        if found != analysis:
            what = f"a {found} result" if found else "a result of `g3sim run`"
            return f"is {what}, not a {analysis} result; {how}"
        needed = variables(ds) if callable(variables) else variables
        missing = [v for v in needed if v not in ds.variables]
        if missing:
            return (
                f"is a {analysis} result without {', '.join(missing)} (made by an older g3sim?); "
                f"{how}"
            )
        return None

    lacks.analysis = analysis
    return lacks
