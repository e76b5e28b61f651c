"""Shared fixtures (constants and builders live in tests/helpers/)."""

from __future__ import annotations

import os
import signal

import pytest
from click.testing import CliRunner

from tests.helpers.toy_models import LinearRace, register_model

# Fixtures of the plot, report and plot-CLI tests (results files made once per module or session).
pytest_plugins = ["tests.helpers.plot_fixtures"]


def pytest_configure(config):
    """A suite started in the background of a non-interactive shell (``make test &``) inherits
    SIGINT ignored, and so would every process it starts; the tests that press Ctrl-C need the
    disposition a terminal gives (Python's KeyboardInterrupt)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run a test inside tmp_path (so results/ is created there)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    return tmp_path


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch):
    monkeypatch.delenv("G3SIM_DEBUG", raising=False)
    yield
    assert "G3SIM_DEBUG" not in os.environ


@pytest.fixture
def linear_race(monkeypatch):
    """Register the test-only ``linear_race`` model (tests/helpers/toy_models.py)."""
    register_model(monkeypatch, "linear_race", LinearRace)


@pytest.fixture
def runner():
    """A click ``CliRunner`` for in-process ``g3sim`` commands."""
    return CliRunner()
