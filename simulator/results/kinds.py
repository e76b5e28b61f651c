"""The kinds of file g3sim writes, with their format names and versions.

A file's kind is its ``g3sim_format`` attribute (a run's results) or its ``analysis`` attribute
(a comparison, sensitivity, discovery study or back-test); a checkpoint is a folder beside
its output.
"""

from __future__ import annotations

from dataclasses import dataclass

FORMAT = "g3sim-results"  # the g3sim_format attribute of a run's results file
#: 1: the first format. 2: the ``rank`` and ``quantile`` dimensions renamed ``rank_position``
#: and ``quantile_level`` (the old names shadow Dataset methods: ``ds.quantile.attrs`` failed),
#: CF attributes on every coordinate, UDUNITS units, a ``history`` attribute, no ``_FillValue``
#: on coordinates. :func:`simulator.results.open_results` reads both (:data:`RENAMED_DIMS`).
FORMAT_VERSION = 2
#: Dimensions renamed since a format version: {version that renamed them: {old: new}}.
RENAMED_DIMS = {2: {"rank": "rank_position", "quantile": "quantile_level"}}


@dataclass(frozen=True)
class FileKind:
    """One kind of file: its name, the format string that identifies it, its version."""

    name: str
    format: str
    version: int
    suffix: str


RESULTS = FileKind("results", FORMAT, FORMAT_VERSION, ".nc")
CHECKPOINT = FileKind("checkpoint", "g3sim-checkpoint", 3, ".checkpoint")  # 3: SMC sums

#: A lever sweep (simulator.analysis.sweep): P(top k) over lever combinations, with paired
#: differences from the default policy; its ``analysis`` attribute is "sweep".
SWEEP = FileKind("sweep", "g3sim-sweep", 1, ".nc")
#: A sweep's per-combination runs while it is unfinished (``OUTPUT.parts/``, resumable).
SWEEP_PARTS = FileKind("sweep-parts", "g3sim-sweep-parts", 1, ".parts")

KINDS = {k.name: k for k in (RESULTS, CHECKPOINT, SWEEP, SWEEP_PARTS)}

#: Analysis files (an ``analysis`` attribute names which): read by `g3sim plot` and the Python
#: API through :func:`simulator.results.open_result`.
ANALYSES = ("sensitivity", "comparison", "discovery", "sweep", "backtest")
