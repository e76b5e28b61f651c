"""Number and percent formatting shared by the text views: the one place numbers get their
look in text, tables and the HTML report.

:func:`number` is the one formatter of measured quantities (scores, GPU stocks, factor values,
quantiles): three significant digits, thousands as k, M, B, T ("33.5k", "1.20M"), never an
exponent such as "3.35e+04" for a number a reader would write out. :func:`exact` prints a value
as configured (a scenario parameter), with every digit that matters.

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


# Thousands suffixes of :func:`number` (short scale: B = 10^9).
_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def number(v: Any, *, digits: int = 3) -> str:
    """A measured quantity for a reader: ``digits`` significant digits, k/M/B/T for thousands.

    ``33456 → "33.5k"``, ``1.2e6 → "1.20M"``, ``20.32 → "20.3"``, ``0.05 → "0.0500"``,
    ``0 → "0"``; below 0.001 (and from 10^15) an exponent without padding, ``"1.20e-5"``;
    "n/a" if not finite.
    """
    v = float(v)
    if not math.isfinite(v):
        return "n/a"
    if v == 0:
        return "0"
    r = float(f"{v:.{digits}g}")  # round first: 999,950 is "1.00M", not "1000k"
    a = abs(r)
    if a >= 1e15 or a < 1e-3:
        mantissa, exponent = f"{r:.{digits - 1}e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    for scale, suffix in _SUFFIXES:
        if a >= scale:
            return _sig(r / scale, digits) + suffix
    return _sig(r, digits)


def _sig(v: float, digits: int) -> str:
    """``digits`` significant digits, trailing zeros kept ("2.00"), no trailing point."""
    return f"{v:#.{digits}g}".rstrip(".")


def exact(v: Any) -> str:
    """A configured value as a reader writes it (a scenario parameter): 6 significant digits,
    thousands separated from 10,000 ("12,500", "0.4", "2.5e-5"), an exponent only below
    10^-4 or from 10^15, "true"/"false" for booleans."""
    if isinstance(v, bool):
        return str(v).lower()
    v = float(v) if not isinstance(v, int) else v
    if isinstance(v, float) and not math.isfinite(v):
        return "n/a"
    if v == 0:
        return "0"
    if abs(v) < 1e-4 or abs(v) >= 1e15:
        mantissa, exponent = f"{float(v):.5e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    if abs(v) < 10_000:
        return f"{v:.6g}" if isinstance(v, float) else str(v)
    decimals = max(0, 6 - len(str(int(abs(v)))))
    text = f"{v:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
