"""Figures of a results or analysis Dataset, one function per kind, found through a registry.

* :mod:`.kinds` — the contract of a kind (:class:`PlotKind`, :class:`KindRegistry`, ``needs_*``).
* :mod:`.run_kinds`, :mod:`.analysis_kinds` — the kinds of a run's and an analysis's results.
* :mod:`.draw` — :func:`plot`, :data:`KINDS` (every kind), :func:`available_kinds`.
* :mod:`.style` — colours, axes and labels; :mod:`.files` — image files, written atomically.

Importing this package imports matplotlib (never pyplot).
"""

from __future__ import annotations

from .draw import KINDS, available_kinds, plot, plot_kind
from .files import DPI, figure_bytes, save_figure
from .kinds import RACE_TOP, TORNADO_TOP, KindRegistry, PlotKind, PlotOptions

__all__ = [
    "DPI",
    "KINDS",
    "RACE_TOP",
    "TORNADO_TOP",
    "KindRegistry",
    "PlotKind",
    "PlotOptions",
    "available_kinds",
    "figure_bytes",
    "plot",
    "plot_kind",
    "save_figure",
]
