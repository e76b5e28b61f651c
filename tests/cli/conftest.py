"""Fixtures of the CLI tests: a CliRunner, and the gaussian-race example in a temporary folder."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from tests.helpers.scenarios import CONFIGS


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def gauss_file(in_tmp):
    path = in_tmp / "gaussian-race.toml"
    shutil.copy(CONFIGS / "examples" / "gaussian-race.toml", path)
    return path
