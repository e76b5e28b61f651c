"""Scenario discovery on g3sim results: no box for a gaussian race, the driving factor for the
linear race."""

from __future__ import annotations

from simulator import run
from simulator.analysis.discovery_study import discover
from simulator.scenario import scenario_from_dict
from tests.helpers.scenarios import FIVE, gaussian_scenario
from tests.helpers.toy_models import linear_dict

# ---------------------------------------------------------------------------------------------
# g3sim results


def test_gaussian_race_result_has_no_box():
    """Factors that enter nowhere: the chosen box's density is the base rate within noise."""
    sc = gaussian_scenario(
        FIVE,
        factors={
            "u": {"dist": "uniform", "low": 0, "high": 1},
            "v": {"dist": "normal", "mean": 0, "sd": 1},
        },
    )
    d = discover(run(sc, draws=5000))
    # The standard-error rule keeps the first box: no factor is restricted, and the box's
    # density is the base rate itself.
    assert d.prim.chosen == 0
    assert d.prim.restricted == ()
    assert d.prim.trajectory.density[0] == d.prim.base_density


def test_linear_race_box_restricts_the_driving_factor(linear_race):
    # KOR reaches the top 3 iff 3a + b + 2z − z' > 3: high a (and high b) make it likely.
    sc = scenario_from_dict(linear_dict(), source="<linear>")
    d = discover(run(sc, draws=6000), threshold_density=0.6, min_coverage=0.3)
    r = d.prim
    box = r.trajectory
    assert r.names[r.restricted[0]] == "a"
    assert box.lower[r.chosen, 0] > 0.3 and box.upper[r.chosen, 0] == r.data_upper[0]
    assert box.density[r.chosen] >= 0.6 and box.coverage[r.chosen] >= 0.3
    assert "c" not in [r.names[j] for j in r.restricted if r.quasi_p[j] < 0.01]
