"""The plot registry: every kind, in order, and the kinds available for a file."""

from __future__ import annotations

import xarray as xr

from simulator import plots
from tests.helpers.plot_data import ANALYSIS_KINDS, RUN_KINDS, SWEEP_KINDS

# ---------------------------------------------------------------------------------------------
# Every kind, on a gaussian race and on the baseline


def test_registry_lists_every_kind():
    assert list(plots.KINDS) == [*RUN_KINDS, *ANALYSIS_KINDS, *SWEEP_KINDS]
    assert plots.available_kinds(xr.Dataset(attrs={"analysis": "sensitivity"})) == []
