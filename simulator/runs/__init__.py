"""Running a scenario: options, the one run assembler, and the checkpoint of a run into a file.

:func:`run` returns the results Dataset; :func:`run_to_file` writes it, checkpointing as it goes
(resumable). Both assemble the run the same way (:mod:`.assemble`).
"""

from .assemble import Prepared, execute, prepare, run, run_to_file
from .checkpoint import CHECKPOINT_VERSION, checkpoint_dir
from .options import (
    DEFAULT_MAX_DRAWS,
    KEEP_DRAWS_LIMIT,
    FileOptions,
    RunOptions,
    StopTarget,
    fresh_seed,
    resolve_scenario,
    without_history,
)

__all__ = [
    "CHECKPOINT_VERSION",
    "DEFAULT_MAX_DRAWS",
    "KEEP_DRAWS_LIMIT",
    "FileOptions",
    "Prepared",
    "RunOptions",
    "StopTarget",
    "checkpoint_dir",
    "execute",
    "fresh_seed",
    "prepare",
    "resolve_scenario",
    "run",
    "run_to_file",
    "without_history",
]
