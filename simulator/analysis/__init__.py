"""Analyses of a scenario or a saved result: which factors drive the outcome, and where.

* :mod:`.sensitivity` — variance-based (Sobol) indices of any vectorised function, and rank
  correlations / standardised rank regression coefficients of per-draw data. Pure numpy/scipy.
* :mod:`.discovery` — PRIM scenario discovery (the factor box where an outcome is likely).
  Pure numpy.
* :mod:`.comparison` — two results compared: P_A, P_B and the paired difference. Pure.
* :mod:`.targets` — what an analysis looks at (metric, year, factors) and a result's per-draw
  data; the scenario a result ran.
* :mod:`.sensitivity_study` — a scenario's model as a vectorised function, Sobol and rank
  sensitivity studies as labelled Datasets.
* :mod:`.discovery_study` — PRIM on a result's per-draw data (:class:`Discovery`).
* :mod:`.comparison_study` — two scenarios run on common random numbers and compared.
* :mod:`.calibration` — back-testing a scenario against its observations.

docs/analysis.md describes the methods, what the indices mean given the model's internal
noise, the Dataset's variables and the PRIM box-selection rule.
"""

from __future__ import annotations

from ..errors import AnalysisError

__all__ = ["AnalysisError"]
