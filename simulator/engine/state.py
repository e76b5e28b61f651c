"""Typed state that crosses module boundaries: what a block reduces to, and the folded sums.

:class:`ReducerState` replaces the string-keyed ``sums`` dict of earlier versions. Its fields are
additive: a run's state is the sum of its blocks' states, folded in block order by in-place
addition (:meth:`ReducerState.add_`), so floating-point sums are bit-identical for any number of
workers. In a checkpoint it is stored as plain arrays under the names of format 2
(:data:`ARRAY_NAMES`), so checkpoints written before this type existed stay readable.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields

import numpy as np

# Field → array name in a checkpoint (checkpoint format 2's names, kept for compatibility).
ARRAY_NAMES = {
    "rank_count": "rank_count",
    "value_hist": "hist",
    "value_sum": "sum1",
    "value_sq_sum": "sum2",
    "weight_sum": "weight_sum",
    "weight_sq_sum": "weight_sq_sum",
    "factor_sum": "factor_sum1",
    "factor_sq_sum": "factor_sum2",
}
WEIGHTED_ARRAY_NAMES = {
    "factor_wsum": "factor_wsum1",
    "factor_wsq_sum": "factor_wsum2",
    "observation_likelihood": "observation_likelihood",
    "observation_weight": "observation_weight",
    "top_sq_sum": "top_sq_sum",
    "top_cross_sum": "top_cross_sum",
    "year_weight_before": "year_weight_before",
    "year_weight_after": "year_weight_after",
    "year_ess_before": "year_ess_before",
    "year_ess_after": "year_ess_after",
    "year_unique_ancestors": "year_unique_ancestors",
    "move_acceptance": "move_acceptance",
    "move_particles": "move_particles",
    "year_temper_steps": "year_temper_steps",
}
ARRAY_PREFIX = "sum:"


@dataclass(frozen=True, slots=True)
class WeightedSums:
    """The sums only a run conditioned on observations has (float64).

    Weights ``w`` are the final (unnormalised) weights; ``w_prev`` the weights just before an
    observation's year; Eve groups are the particles descended from one initial draw
    (engine/smc.py). ``ReducerState.weight_sq_sum`` is then ``Σ_e b_e²``.
    """

    factor_wsum: np.ndarray  # (factor,) Σw·x
    factor_wsq_sum: np.ndarray  # (factor,) Σw·x²
    observation_likelihood: np.ndarray  # (observation,) Σ w_prev·L_j
    observation_weight: np.ndarray  # (observation,) Σ w_prev
    top_sq_sum: np.ndarray  # (metric, year, country) Σ_e a_e², a_e = Σ_{i∈e} w_i·1[rank ≤ k]
    top_cross_sum: np.ndarray  # (metric, year, country) Σ_e a_e·b_e, b_e = Σ_{i∈e} w_i
    year_weight_before: np.ndarray  # (observed year,) Σw before the year's observations
    year_weight_after: np.ndarray  # (observed year,) Σw after weighting by them
    year_ess_before: np.ndarray  # (observed year,) Σ over blocks of the ESS before resampling
    year_ess_after: np.ndarray  # (observed year,) ... and after resampling
    year_unique_ancestors: np.ndarray  # (observed year,) Σ over blocks of surviving ancestors
    move_acceptance: np.ndarray  # (move,) Σ acceptance probabilities of the rejuvenating moves
    move_particles: np.ndarray  # (move,) Σ particles moved
    year_temper_steps: np.ndarray  # (observed year,) Σ over blocks of the tempering steps

    def arrays(self) -> Iterator[tuple[str, np.ndarray]]:
        for f, name in WEIGHTED_ARRAY_NAMES.items():
            yield name, getattr(self, f)


@dataclass(frozen=True, slots=True)
class ReducerState:
    """Additive sums of a run's blocks; folded by addition in block order (bit-identical).

    Counts and histograms are int64, or float64 sums of weights when the run is weighted.
    """

    rank_count: np.ndarray  # (metric, year, country, rank)
    value_hist: np.ndarray  # (metric, year, country, bin)
    value_sum: np.ndarray  # (metric, year, country) float64 Σw·x
    value_sq_sum: np.ndarray  # (metric, year, country) float64 Σw·x²
    weight_sum: np.ndarray  # (1,) float64 Σw (the draws, unweighted)
    weight_sq_sum: np.ndarray  # (1,) float64 Σw², or Σ_e b_e² over Eve groups (WeightedSums)
    factor_sum: np.ndarray  # (factor,) float64 Σx of the prior draws
    factor_sq_sum: np.ndarray  # (factor,) float64 Σx²
    weighted: WeightedSums | None = None

    def arrays(self) -> Iterator[tuple[str, np.ndarray]]:
        """(checkpoint name, array) of every sum, in the order of checkpoint format 2."""
        for f, name in ARRAY_NAMES.items():
            yield name, getattr(self, f)
        if self.weighted is not None:
            yield from self.weighted.arrays()

    def copy(self) -> ReducerState:
        return _from_names({name: a.copy() for name, a in self.arrays()})

    def add_(self, other: ReducerState) -> None:
        """Add ``other`` into this state's arrays, in place (the fold of one block)."""
        for (_, mine), (_, theirs) in zip(self.arrays(), other.arrays(), strict=True):
            mine += theirs

    @property
    def total_weight(self) -> float:
        return float(self.weight_sum[0])

    @property
    def total_sq_weight(self) -> float:
        return float(self.weight_sq_sum[0])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The state as ``{"sum:<name>": array}`` (a checkpoint's plain arrays, no pickle)."""
        return {ARRAY_PREFIX + name: a for name, a in self.arrays()}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> ReducerState | None:
        """The state of :meth:`to_arrays` (None if it holds no sums: saved before any block).

        Raises KeyError if a sum is missing.
        """
        named = {
            k[len(ARRAY_PREFIX) :]: np.array(v)
            for k, v in arrays.items()
            if k.startswith(ARRAY_PREFIX)
        }
        return _from_names(named) if named else None


def _from_names(named: Mapping[str, np.ndarray]) -> ReducerState:
    weighted = None
    if WEIGHTED_ARRAY_NAMES["observation_likelihood"] in named:
        weighted = WeightedSums(**{f: named[n] for f, n in WEIGHTED_ARRAY_NAMES.items()})
    return ReducerState(**{f: named[n] for f, n in ARRAY_NAMES.items()}, weighted=weighted)


#: Mantissa bits kept of the per-draw floating-point rows (the focus's scores and stocks, the
#: factor values): each value is rounded to the nearest number with this many significant bits
#: ("bit rounding", Klöwer et al. 2021, *Nature Computational Science* 1), a relative error of at
#: most 2^-25 ≈ 3e-8, far below any Monte Carlo error an analysis of the rows can reach; the
#: zeroed low bits let the results file's zlib store the rows in about half the space. Weights
#: and ancestors are kept exactly, and every summary is reduced from the unrounded values.
PER_DRAW_MANTISSA_BITS = 24


def bit_round(x: np.ndarray, bits: int = PER_DRAW_MANTISSA_BITS) -> np.ndarray:
    """``x`` as float64 rounded to ``bits`` significant mantissa bits (ties away from zero in
    magnitude); non-finite values, and finite ones that would round to ±inf, unchanged."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    drop = 52 - bits
    u = x.view(np.uint64)
    r = ((u + np.uint64(1 << (drop - 1))) & ~np.uint64((1 << drop) - 1)).view(np.float64)
    return np.where(np.isfinite(x) & np.isfinite(r), r, x)


@dataclass(frozen=True, slots=True)
class KeptRows:
    """Per-draw rows of one block (only when draws are kept)."""

    focus_rank: np.ndarray  # (n, metric, year) int16
    focus_value: np.ndarray  # (n, metric, year) float64
    factor_value: np.ndarray  # (n, factor) float64
    weight: np.ndarray | None = None  # (n,) float64, weighted runs only
    ancestor: np.ndarray | None = None  # (n,) int64 global draw index of the Eve, SMC runs only

    @classmethod
    def rounded(cls, focus_rank, focus_value, factor_value, weight=None, ancestor=None):
        """The rows as kept: floating-point values bit-rounded (:data:`PER_DRAW_MANTISSA_BITS`)."""
        return cls(focus_rank, bit_round(focus_value), bit_round(factor_value), weight, ancestor)

    def as_dict(self) -> dict[str, np.ndarray]:
        """The rows by variable name (the names of the results file), without absent ones."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


@dataclass(frozen=True, slots=True)
class BlockResult:
    """What one block reduces to: additive ``sums``, and per-draw rows when draws are kept."""

    block: int
    n: int
    sums: ReducerState
    kept: KeptRows | None = None
