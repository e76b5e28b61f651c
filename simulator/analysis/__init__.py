"""Analyses of a scenario or a saved result: which factors drive the outcome, and where.

* :mod:`.sensitivity` — variance-based (Sobol) indices of any vectorised function, and rank
  correlations / standardised rank regression coefficients of per-draw data. Pure numpy/scipy.
* :mod:`.discovery` — PRIM scenario discovery (the factor box where an outcome is likely).
  Pure numpy.
* :mod:`.runs` — the g3sim glue: a scenario's model as a vectorised function of its factors,
  a result's per-draw outcomes, and the labelled sensitivity Dataset.
* :mod:`.report` — text and JSON views (used by the CLI; no computation).

docs/analysis.md describes the methods, what the indices mean given the model's internal
noise, the Dataset's variables and the PRIM box-selection rule.
"""

from __future__ import annotations

from ..errors import AnalysisError

__all__ = ["AnalysisError"]
