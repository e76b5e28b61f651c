"""Fixtures of the CLI tests: the gaussian-race example in a temporary folder."""

from __future__ import annotations

import shutil

import pytest

from tests.helpers.scenarios import CONFIGS


@pytest.fixture
def gauss_file(in_tmp):
    path = in_tmp / "gaussian-race.toml"
    shutil.copy(CONFIGS / "examples" / "gaussian-race.toml", path)
    return path
