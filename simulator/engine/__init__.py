"""The block engine: sample → model → ranks → streaming reducers.

A run is a sequence of blocks of ``block_size`` draws, each reduced independently
(:mod:`.block`) to typed additive state (:mod:`.state`) and folded in block order
(:mod:`.fold`), locally or on a cluster (:mod:`.executors`), so that results are bit-identical for
any number of workers. This module is the engine's face: it re-exports the names other layers use.
"""

from __future__ import annotations

from ..errors import ModelError
from .block import BlockRunner, block_length, n_blocks
from .fold import (
    Accumulator,
    FoldedRun,
    KeptSink,
    MemorySink,
    ProgressFn,
    StopRule,
    deferred_signals,
    fold_blocks,
)
from .ranks import PAIRWISE_MAX_COUNTRIES, focus_ranks, rank_counts, ranks_min
from .state import (
    PER_DRAW_MANTISSA_BITS,
    BlockResult,
    KeptRows,
    ReducerState,
    WeightedSums,
    bit_round,
)

__all__ = [
    "PAIRWISE_MAX_COUNTRIES",
    "PER_DRAW_MANTISSA_BITS",
    "Accumulator",
    "BlockResult",
    "BlockRunner",
    "FoldedRun",
    "KeptRows",
    "KeptSink",
    "MemorySink",
    "ModelError",
    "ProgressFn",
    "ReducerState",
    "StopRule",
    "WeightedSums",
    "bit_round",
    "block_length",
    "deferred_signals",
    "focus_ranks",
    "fold_blocks",
    "n_blocks",
    "rank_counts",
    "ranks_min",
]
