"""Number and percent formatting shared by the text views.

:func:`percent` is the one percent formatter of text output. Two of its callers printed
probabilities of exactly 0 and 1 differently before the views were gathered here, and still
do (their outputs are pinned by tests): the run, calibration and comparison views print "0%"
and "100%", the sensitivity and discovery views "0.0%" and "100.0%" (``bare_ends=False``).
Figures label their axes with :func:`simulator.plots.style.pct_label` instead.
"""

from __future__ import annotations

import math
from typing import Any


def percent(p: float, *, bare_ends: bool = True) -> str:
    """A probability as a percentage: 1 decimal, 3 within 0.1% of 0 or 1, "n/a" if not finite.

    ``bare_ends``: exactly 0 and 1 print as "0%" and "100%" (else "0.0%" and "100.0%").
    """
    if not math.isfinite(p):
        return "n/a"
    if p == 0 or p == 1:
        return f"{p * 100:.0f}%" if bare_ends else f"{p * 100:.1f}%"
    if p < 0.001 or p > 0.999:
        return f"{p * 100:.3f}%"
    return f"{p * 100:.1f}%"


def interval(p: float, lo: float, hi: float) -> str:
    """``"12.3% [10.1, 14.6%]"``: a probability and its interval."""
    return f"{percent(p)} [{percent(lo).rstrip('%')}, {percent(hi)}]"


def finite_or_none(x: Any) -> float | None:
    """``float(x)``, or None (JSON null) if it is not finite."""
    v = float(x)
    return v if math.isfinite(v) else None


def fixed3(v: float) -> str:
    """Three decimals, without a "-0.000"."""
    return f"{0.0 if abs(v) < 5e-4 else v:.3f}"


def index_interval(v: float, lo: float, hi: float) -> str:
    """An index and its interval, ``"0.412 [0.380, 0.447]"`` ("n/a" if the index is not finite)."""
    if not math.isfinite(v):
        return "n/a"
    bounds = f" [{fixed3(lo)}, {fixed3(hi)}]" if math.isfinite(lo) and math.isfinite(hi) else ""
    return f"{fixed3(v)}{bounds}"
