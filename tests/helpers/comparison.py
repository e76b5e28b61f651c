"""Two Gaussian races that differ in one rival, and the exact difference of KOR's P(top 3)."""

from __future__ import annotations

from simulator.models.gaussian_race import exact_rank_distribution
from tests.helpers.scenarios import FIVE

B_RACE = dict(FIVE, GBR=(29.0, 4.0))  # the policy: a rival weakens


def _exact(countries):
    ms = [m for m, _ in countries.values()]
    ss = [s for _, s in countries.values()]
    return exact_rank_distribution(ms, ss, list(countries).index("KOR"))[:3].sum()


TRUE_DIFF = _exact(B_RACE) - _exact(FIVE)
