"""Results files for the plot and report tests: a gaussian race and (when it exists) the baseline,
and the analysis files drawn by ``tornado`` and ``compare`` (sensitivity and comparison results).

tests/helpers/plot_fixtures.py wraps these in fixtures; helpers for the plot tests follow.
Small runs: the figures need every variable to be there, not precise numbers.
"""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import pytest
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text

from simulator import run
from simulator.analysis.backtest import backtest
from simulator.analysis.comparison import compare_results
from simulator.analysis.sensitivity_study import rank_sensitivity_of_result, sobol_sensitivity
from simulator.cli import main
from simulator.results import open_result, save
from simulator.scenario import load_scenario
from tests.helpers.scenarios import CONFIGS, FIVE, gaussian_scenario

# The plot kinds, in registry order: those of a run, and those of an analysis (→ its kind of file).
RUN_KINDS = ["probability", "ranks", "fan", "race", "convergence"]
ANALYSIS_KINDS = {"tornado": "sensitivity", "compare": "comparison", "backtest": "backtest"}
SWEEP_KINDS = ["sweep"]  # the file of `g3sim sweep` (tests/cli/test_levers.py draws it)
# The analysis files (functions below) that each analysis kind draws, and every (kind, file).
ANALYSIS_SOURCES = {
    "tornado": ("baseline_sobol", "baseline_rank", "gauss_sobol", "gauss_rank"),
    "compare": ("baseline_comparison", "gauss_comparison"),
    "backtest": ("baseline_backtest",),
}
ANALYSIS_CASES = [(kind, name) for kind, names in ANALYSIS_SOURCES.items() for name in names]

BASELINE = CONFIGS / "baseline.toml"
REFORM = CONFIGS / "regulatory-reform.toml"
YEARS = (2026, 2027, 2028, 2029, 2030)
# Two factors the gaussian race never reads: their indices are exactly 0.
UNREAD = {
    "u": {"dist": "uniform", "low": 0, "high": 1},
    "v": {"dist": "normal", "mean": 0, "sd": 1},
}


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


def _needs(*paths: Path) -> None:
    for path in paths:
        if not path.exists():
            pytest.skip(f"{path.relative_to(CONFIGS.parent)} does not exist yet")


def baseline_sobol(folder: Path) -> Path:
    """Sobol indices of configs/baseline.toml with 64 base draws (1,792 model runs)."""
    _needs(BASELINE)
    return save(sobol_sensitivity(load_scenario(BASELINE), n=64, seed=1), folder / "sobol.nc")


def baseline_rank(folder: Path) -> Path:
    """Rank measures from 3,000 unweighted draws of configs/baseline.toml."""
    _needs(BASELINE)
    ds = run(load_scenario(BASELINE), draws=3000, seed=1, history=False)
    return save(rank_sensitivity_of_result(ds, source="baseline.nc"), folder / "rank.nc")


def gauss_sobol(folder: Path) -> Path:
    """Sobol indices of a gaussian race whose two factors enter nowhere (all indices 0)."""
    sc = gaussian_scenario(FIVE, years=(2030,), factors=UNREAD)
    return save(sobol_sensitivity(sc, n=256, seed=2), folder / "gauss-sobol.nc")


def gauss_rank(folder: Path) -> Path:
    """Rank measures from 2,000 draws of that gaussian race (correlations near 0)."""
    sc = gaussian_scenario(FIVE, years=YEARS, factors=UNREAD, draws=2000, seed=4)
    return save(rank_sensitivity_of_result(run(sc), source="gauss.nc"), folder / "gauss-rank.nc")


def baseline_comparison(folder: Path) -> Path:
    """configs/baseline.toml against configs/regulatory-reform.toml, 1,000 paired draws."""
    _needs(BASELINE, REFORM)
    a, b = (run(load_scenario(p), draws=1000, seed=1, keep_draws=True) for p in (BASELINE, REFORM))
    return save(compare_results(a, b), folder / "compare.nc")


def gauss_comparison(folder: Path) -> Path:
    """A gaussian race against one whose GBR is slower (KOR's third place gets easier)."""
    slower = {**FIVE, "GBR": (28, 4)}
    a, b = (
        run(gaussian_scenario(c, years=(2030,), draws=4000, seed=5), keep_draws=True)
        for c in (FIVE, slower)
    )
    return save(compare_results(a, b), folder / "gauss-compare.nc")


def baseline_backtest(folder: Path) -> Path:
    """The back-test of configs/baseline.toml from 2023 and 2024, 256 draws a forecast."""
    _needs(BASELINE)
    ds = backtest(
        load_scenario(BASELINE), draws=256, calibration_draws=32, seed=1, origins=(2023, 2024)
    )
    return save(ds, folder / "backtest.nc")


def assert_nothing_clipped(fig: Figure, what: str) -> None:
    """Constrained layout keeps every text inside the figure; line labels never collide."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ink = fig.get_tightbbox(renderer)  # [inches]: everything drawn, texts included
    width, height = fig.get_size_inches()
    assert ink.x0 >= -0.01 and ink.y0 >= -0.01, f"{what}: clipped at the left or bottom"
    assert ink.x1 <= width + 0.01 and ink.y1 <= height + 0.01, f"{what}: clipped at right/top"
    # End-of-line labels (annotations in the right margin of an axes) must not overlap.
    for ax in fig.axes:
        labels = [c for c in ax.texts if isinstance(c, Annotation) and c.xyann[0] >= 1.0]
        boxes = [Text.get_window_extent(c, renderer) for c in labels]  # text, no leader
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b), f"{what}: end labels overlap"


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk [pixels]."""
    assert data[:8] == PNG_MAGIC, "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _ink(fig: Figure, dpi: int) -> float:
    """Share of the figure's pixels that are not near-white, rendered at ``dpi``."""
    import io

    import matplotlib.image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    pixels = matplotlib.image.imread(io.BytesIO(buf.getvalue()))
    return float((pixels[..., :3] < 0.9).any(axis=-1).mean())


def assert_png_of(fig: Figure, path: Path, what: str, *, dpi: int = 80) -> None:
    """``path`` is a PNG of ``fig`` at ``dpi``, and the figure's data draw something: hiding
    its lines, patches, collections and images removes ink. (A check of total ink cannot tell:
    axes, ticks and titles alone ink 2.9–5.2% of these figures; a one-point convergence trace
    adds only 0.03%.)"""
    data = path.read_bytes()
    width, height = (round(v * dpi) for v in fig.get_size_inches())
    assert png_size(data) == (width, height), what
    with_data = _ink(fig, dpi)
    artists = [
        a
        for ax in fig.axes
        for a in (*ax.lines, *ax.patches, *ax.collections, *ax.images)
        if a.get_visible()
    ]
    assert artists, f"{what}: no data drawn"
    for a in artists:
        a.set_visible(False)
    try:
        without = _ink(fig, dpi)
    finally:
        for a in artists:
            a.set_visible(True)
    assert with_data > without, f"{what}: its data ink nothing"


def invoke_plot(runner, *args):
    """``g3sim plot ARGS`` through a click ``CliRunner``."""
    return runner.invoke(main, ["plot", *map(str, args)])


def one_line_error(res) -> str:
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("g3sim: error: ")
    assert "Traceback" not in res.output
    return lines[0]


class AnalysisFiles:
    """The analysis files of this module, each made the first time a test asks for it."""

    def __init__(self, folder):
        self.folder = folder
        self.paths = {}

    def path(self, name: str):
        if name not in self.paths:
            self.paths[name] = globals()[name](self.folder)  # may skip: no baseline
        return self.paths[name]

    def open(self, name: str) -> xr.Dataset:
        return open_result(self.path(name))
