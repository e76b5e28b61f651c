"""Fuzzed scenarios through the real CLI end cleanly (issue 8): the CI-sized fuzz run.

``benchmarks/fuzz_scenarios.py`` runs the same cases (tests/helpers/fuzz_cases.py) for minutes by
hand; this is its deterministic version: derandomized hypothesis, a fixed number of cases, huge
arrays and tables of at most 10,000 entries. Each case is validated with ``g3sim validate`` and, if
it validates (or for a tenth of the others), run with ``g3sim run -n 200``. Every outcome must be
good: the run succeeds with finite results, or the scenario is refused with exit 2 and one line on
stderr, or its observations reject every draw — never a traceback, an internal error, a warning,
exit 1 where 2 is due, a hang, or a run refusing what ``validate`` accepted.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.helpers.fuzz_cases import GOOD, cases, run_case

FUZZ_SETTINGS = settings(
    derandomize=True,
    max_examples=160,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.slow
@FUZZ_SETTINGS
@given(case=cases(run_fraction=0.1, huge=(1_000, 10_000)))
def test_fuzzed_scenarios_end_cleanly_through_the_cli(case):
    for o in run_case(case, hang_s=20):
        assert o.kind in GOOD, (
            f"g3sim {o.command} {case.describe()}: {o.kind} (exit {o.exit_code}) {o.detail}\n"
            f"stderr: {o.stderr}"
        )
