"""How the engine bins a metric's values for streaming quantiles (a model only declares
:class:`~simulator.models.base.Bins`: the range, the count and whether they are logarithmic).

The compiled reduction (:func:`simulator.kernels.reduce_block`) bins with the same arithmetic as
:func:`bin_index`, the reference definition that tests check it against.
"""

from __future__ import annotations

import numpy as np

from ..models.base import Bins


def bin_scale(bins: Bins) -> tuple[float, float]:
    """``(lo, k)``: the bin of a (transformed) value ``v`` is ``clip((v - lo)·k, 0, n-1)``."""
    lo, hi = (np.log10(bins.low), np.log10(bins.high)) if bins.log else (bins.low, bins.high)
    return float(lo), float(bins.n / (hi - lo))


def binned_values(bins: Bins, x: np.ndarray) -> np.ndarray | None:
    """The values whose equal bins these are: log10(max(x, low)) for log bins, else None
    (the values themselves)."""
    return np.log10(np.maximum(x, bins.low)) if bins.log else None


def bin_index(bins: Bins, x: np.ndarray, offset: np.ndarray | int = 0) -> np.ndarray:
    """Bin index of each value (clipped to the range), plus ``offset`` (for bincount)."""
    lo, k = bin_scale(bins)
    y = binned_values(bins, x)
    y = x.astype(float, copy=True) if y is None else y
    y -= lo
    y *= k
    np.clip(y, 0, bins.n - 1, out=y)  # in float: cheaper than clipping the integers
    y += offset
    return y.astype(np.intp)
