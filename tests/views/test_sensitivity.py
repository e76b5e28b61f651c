"""The sensitivity JSON names each outcome's and each factor's units (issue 18, item 3)."""

from __future__ import annotations

import json

from simulator.views.sensitivity import sensitivity_json


def test_sensitivity_json_carries_units(files):
    for name in ("baseline_sobol", "baseline_rank"):
        ds = files.open(name)
        doc = json.loads(sensitivity_json(ds))
        assert doc["outcome_units"] == {"in_top_k": "1", "score": "1"}, name  # ai_index
        pairs = zip(ds["factor"].values, ds["factor_units"].values, strict=True)
        units = {str(f): str(u) for f, u in pairs}
        assert doc["factor_units"] == units and "points" in units.values(), name
        assert {f["factor"] for f in doc["factors"]} == set(units), name
