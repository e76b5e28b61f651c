"""The early warning of a run that will stop short of its target half-width (issue 18)."""

from __future__ import annotations

import warnings

import pytest

import simulator as g3
from simulator.errors import G3simWarning
from tests.helpers.scenarios import FIVE, gaussian_scenario

# Five gaussian countries, KOR's P(top 3) in 2030 near 0.5: with n draws the 95% half-width is
# about 1.96 × sqrt(0.25 / n), 0.031 at 1,000 draws: 0.005 needs ~38,000 draws.
SC = gaussian_scenario(FIVE, seed=3, block_size=250)


def test_a_run_that_plainly_cannot_reach_its_target_warns_once_after_four_blocks():
    with pytest.warns(G3simWarning) as record:
        ds = g3.run(SC, target_halfwidth=0.005, max_draws=5_000, keep_draws=False)
    assert len(record) == 1
    text = str(record[0].message)
    assert text.startswith("after 1,000 draws the 95% half-width is ")
    assert "more than the cap of 5,000 (max_draws): this run will stop short" in text
    assert int(ds.attrs["draws"]) == 5_000 and ds.attrs["stop_reason"].startswith("maximum")


def test_no_warning_when_the_cap_is_within_reach_or_the_run_has_no_target():
    with warnings.catch_warnings():
        warnings.simplefilter("error", G3simWarning)
        # Needs ~38,000 draws; a cap of 60,000 is not "plainly" short (factor 2).
        ds = g3.run(SC, target_halfwidth=0.005, max_draws=60_000, keep_draws=False)
        assert ds.attrs["stop_reason"].startswith("target half-width 0.005 reached after ")
        g3.run(SC, draws=2_000, keep_draws=False)
