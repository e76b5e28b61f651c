"""Results files for the plot and report tests: a gaussian race and (when it exists) the baseline.

tests/test_plots.py and tests/test_report.py wrap these in module-scoped fixtures. Small runs:
the figures need every variable to be there, not precise numbers.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

import simulator.cli_plots  # noqa: F401  (registers `g3sim plot` and `g3sim report`)
from simulator.engine import run
from simulator.results import save
from simulator.scenario import load_scenario

from .conftest import CONFIGS, FIVE, gaussian_scenario

BASELINE = CONFIGS / "baseline.toml"
YEARS = (2026, 2027, 2028, 2029, 2030)


def gauss_result(tmp_path_factory) -> Path:
    """A gaussian race, five countries, five years, 3,000 draws in three blocks."""
    sc = gaussian_scenario(FIVE, years=YEARS, draws=3000, seed=3, block_size=1024)
    path = tmp_path_factory.mktemp("gauss") / "gauss.nc"
    save(run(sc), path)
    return path


def baseline_result(tmp_path_factory) -> Path:
    """configs/baseline.toml with 2,000 draws (skips the test while the file does not exist)."""
    if not BASELINE.exists():
        pytest.skip("configs/baseline.toml does not exist yet")
    path = tmp_path_factory.mktemp("baseline") / "baseline.nc"
    save(run(load_scenario(BASELINE), draws=2000, seed=1), path)
    return path


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk [pixels]."""
    assert data[:8] == PNG_MAGIC, "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])
