"""Fixtures of the plot, report and plot-CLI tests (registered by tests/conftest.py as a plugin).

Results files made by tests/helpers/plot_data.py: a gaussian race and the baseline (once per test
module), and the analysis files drawn by ``tornado`` and ``compare`` (once per session).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def gauss_nc(tmp_path_factory):
    from tests.helpers.plot_data import gauss_result

    return gauss_result(tmp_path_factory)


@pytest.fixture(scope="module")
def baseline_nc(tmp_path_factory):
    from tests.helpers.plot_data import baseline_result

    return baseline_result(tmp_path_factory)


@pytest.fixture(params=["gauss", "baseline"])
def result_nc(request):
    """Each results file in turn."""
    return request.getfixturevalue(f"{request.param}_nc")


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    """The analysis files of tests/helpers/plot_data.py, each made when a test first asks."""
    from tests.helpers.plot_data import AnalysisFiles

    return AnalysisFiles(tmp_path_factory.mktemp("analyses"))


@pytest.fixture(scope="session")
def run_nc(tmp_path_factory):
    """A result of `g3sim run` (a gaussian race), for the wrong-file errors."""
    from tests.helpers.plot_data import gauss_result

    return gauss_result(tmp_path_factory)
