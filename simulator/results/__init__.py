"""The results layer: the results Dataset of a run, and the files g3sim writes and reads.

* :mod:`.dataset`: a finished run (:class:`~simulator.engine.FoldedRun`) → the results Dataset;
* :mod:`.files`: the one atomic writer, checks before a write, ``save``/``write_results``;
* :mod:`.open`: ``open_results`` (a run's results) and ``open_result`` (any file g3sim writes),
  with clear errors;
* :mod:`.kinds`: file formats and versions; :mod:`.provenance`; :mod:`.locking` (output lock).
"""

from .dataset import CONFIDENCE, QUANTILES, build_dataset, per_draw_specs
from .files import (
    ROW_CHUNK,
    PerDraw,
    RowSource,
    check_writable,
    default_path,
    remove_stale_temps,
    save,
    split_per_draw,
    write_atomic,
    write_results,
)
from .kinds import FORMAT, FORMAT_VERSION
from .open import open_result, open_results

__all__ = [
    "CONFIDENCE",
    "FORMAT",
    "FORMAT_VERSION",
    "QUANTILES",
    "ROW_CHUNK",
    "PerDraw",
    "RowSource",
    "build_dataset",
    "check_writable",
    "default_path",
    "open_result",
    "open_results",
    "per_draw_specs",
    "remove_stale_temps",
    "save",
    "split_per_draw",
    "write_atomic",
    "write_results",
]
