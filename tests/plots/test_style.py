"""Plot style helpers: how many rank rows to show, labels spread apart."""

from __future__ import annotations

import numpy as np

from simulator.plots.style import _spread, rank_rows

# ---------------------------------------------------------------------------------------------
# Helpers


def test_rank_rows_covers_the_distribution():
    p = np.zeros((2, 62))
    p[0, [3, 5, 9]] = [0.5, 0.497, 0.003]
    p[1, 2:5] = 1 / 3
    assert rank_rows(p, 3) == 6  # 99.7% by rank 6 in year 0; the rest is summed
    assert rank_rows(p[:, :5], 3) == 5  # few ranks: all shown
    assert rank_rows(np.full((1, 62), 1 / 62), 3) == 15  # at most 15


def test_spread_keeps_the_gap_and_the_order():
    pos = _spread(np.array([0.5, 0.5, 0.51, 0.99, 1.0]), 0.05, low=0.0, high=1.0)
    assert np.all(np.diff(pos) >= 0.05 - 1e-12)
    assert pos[-1] <= 1.0


def test_the_subtitle_of_an_smc_run_gives_the_sizes_its_headline_leads_with():
    """The subtitle names the variance-equivalent ESS of the last year's P for each metric (what
    the bands rest on) and the lineages, with the numbers of the run itself."""
    from simulator import run
    from simulator.plots.style import run_info
    from simulator.scenario import scenario_from_dict
    from tests.helpers.scenarios import FIVE, gaussian_dict

    doc = gaussian_dict(FIVE, draws=2048, seed=5, years=[2026, 2030])
    doc["observations"] = [{"year": 2026, "country": "KOR", "score": 40.0, "score_sd": 3.0}]
    ds = run(scenario_from_dict(doc, source="<test>"))
    assert ds.attrs["conditioning"] == "smc"
    text = " · ".join(run_info(ds))
    size = float(ds["p_top_effective_sample_size"].sel(year=2030, country="KOR").item())
    lineages = float(ds["effective_sample_size"])
    assert f"by SMC (ESS of the 2030 P: score {size:,.0f}; lineages {lineages:,.0f})" in text
    rejection = run(scenario_from_dict(doc, source="<test>"), conditioning="rejection")
    assert f"(ESS {float(rejection['effective_sample_size']):,.0f})" in " ".join(
        run_info(rejection)
    )
