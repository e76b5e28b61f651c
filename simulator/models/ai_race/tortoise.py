"""Packaged data of the ``ai_race`` model and the Tortoise Global AI Index arithmetic.

Every table is read from ``simulator/data/`` with :mod:`importlib.resources`, so an installed
package finds it outside the repository. Countries are identified by ISO 3166 alpha-3 codes;
``countries.csv`` maps them to the names the source files use (``data_name``).

The index (Tortoise Media, 2021 methodology) is a weighted sum of seven sub-pillar scores,
weights 5, 3, 2, 5, 3, 1, 5 out of 24, min–max rescaled across the covered countries so that the
leader scores 100 and the last 0. :func:`composite_index` reproduces every published 2021 total
from the sub-pillars within 0.007 points (tests/models/ai_race/test_tortoise.py).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import itertools
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np

#: The seven sub-pillars, in the column order of the 2021 table; snake_case names are the keys
#: of ``[model.pillar_offsets]`` in a scenario.
PILLARS: tuple[str, ...] = (
    "talent",
    "infrastructure",
    "operating_environment",
    "research",
    "development",
    "government_strategy",
    "commercial",
)
PILLAR_COLUMNS: tuple[str, ...] = (
    "Talent",
    "Infrastructure",
    "Operating Environment",
    "Research",
    "Development",
    "Government Strategy",
    "Commercial",
)
#: Tortoise's sub-pillar weights (out of 24), 2021 methodology.
PILLAR_WEIGHTS = np.array([5.0, 3.0, 2.0, 5.0, 3.0, 1.0, 5.0])
TALENT, INFRASTRUCTURE, OPERATING_ENVIRONMENT, RESEARCH, DEVELOPMENT, GOVERNMENT, COMMERCIAL = (
    range(7)
)

BASE_YEAR = 2021  # the edition of the sub-pillar table

DATA_FILES: tuple[str, ...] = (
    "countries.csv",
    "tortoise_global_ai_index_2021.csv",
    "tortoise_editions.csv",
    "gpu_clusters_tracked_h100e.csv",
    "gpu_programs.csv",
    "gpu_anchors_2025.csv",
    "gpu_programmes.csv",
    "gpu_growth_signals.csv",
    "private_ai_investment_usd_bn.csv",
)


def _data_text(name: str) -> str:
    return resources.files("simulator").joinpath("data", name).read_text(encoding="utf-8")


def read_table(name: str) -> list[dict[str, str]]:
    """Rows of a packaged CSV file as dictionaries (column → text)."""
    return list(csv.DictReader(io.StringIO(_data_text(name))))


@functools.cache
def data_sha256() -> str:
    """One sha256 over the packaged data files, for the results' provenance."""
    h = hashlib.sha256()
    for name in DATA_FILES:
        h.update(name.encode())
        h.update(_data_text(name).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class Countries:
    """The 62 countries of the 2021 Tortoise table, in the table's (rank) order."""

    iso3: tuple[str, ...]
    names: tuple[str, ...]
    data_names: tuple[str, ...]

    def code(self, data_name: str) -> str:
        """ISO alpha-3 code of a country named as in the source files."""
        return self.iso3[self.data_names.index(data_name)]


@functools.cache
def countries() -> Countries:
    rows = read_table("countries.csv")
    by_name = {r["data_name"]: r for r in rows}
    order = [r["Country"] for r in read_table("tortoise_global_ai_index_2021.csv")]
    missing = sorted(set(order) - set(by_name))
    if missing or len(rows) != len(order):  # pragma: no cover - a packaging error
        raise RuntimeError(f"countries.csv does not map the Tortoise table: {missing}")
    return Countries(
        tuple(by_name[n]["iso3"] for n in order),
        tuple(by_name[n]["name"] for n in order),
        tuple(order),
    )


@dataclass(frozen=True)
class TortoiseTable:
    """The 2021 sub-pillar table: ``scores`` (country, pillar), published ``totals``."""

    countries: tuple[str, ...]
    regions: tuple[str, ...]
    scores: np.ndarray
    totals: np.ndarray


@functools.cache
def tortoise_2021() -> TortoiseTable:
    rows = read_table("tortoise_global_ai_index_2021.csv")
    c = countries()
    scores = np.array([[float(r[col]) for col in PILLAR_COLUMNS] for r in rows])
    totals = np.array([float(r["Total score"]) for r in rows])
    scores.flags.writeable = False
    totals.flags.writeable = False
    return TortoiseTable(
        tuple(c.code(r["Country"]) for r in rows), tuple(r["Region"] for r in rows), scores, totals
    )


def minmax_rescale(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``100 (x - min) / (max - min)`` along ``axis`` (the country axis); 0 where all are equal."""
    x = np.asarray(x, dtype=float)
    lo = x.min(axis=axis, keepdims=True)
    span = x.max(axis=axis, keepdims=True) - lo
    scale = np.divide(100.0, span, out=np.zeros_like(span), where=span > 0)
    return (x - lo) * scale


def composite_index(scores: np.ndarray) -> np.ndarray:
    """The Tortoise total from sub-pillar scores of shape (..., country, pillar).

    Weighted sum (weights 5, 3, 2, 5, 3, 1, 5 over 24), then min–max rescaled across countries.
    """
    weighted = np.asarray(scores, dtype=float) @ (PILLAR_WEIGHTS / PILLAR_WEIGHTS.sum())
    return minmax_rescale(weighted, axis=-1)


@functools.cache
def editions() -> tuple[tuple[int, str, int], ...]:
    """Published ranks: (edition, ISO code, rank) for every row of tortoise_editions.csv."""
    c = countries()
    return tuple(
        (int(r["edition"]), c.code(r["country"]), int(r["rank"]))
        for r in read_table("tortoise_editions.csv")
    )


@dataclass(frozen=True)
class TrackedGpus:
    """Epoch AI's tracked cluster capacity (H100e) by country, end of 2022, 2023, 2024, Oct 2025.

    ``years`` labels the columns by model year (2025 is the 31 Oct 2025 column). ``world`` is
    the tracked world total; ``by_country`` maps ISO codes to rows (every country of the model
    with tracked capacity). Superseded cluster phases are not counted (docs/build_gpu_data.py).
    """

    years: tuple[int, ...]
    world: np.ndarray
    by_country: dict[str, np.ndarray]


@functools.cache
def tracked_gpus() -> TrackedGpus:
    rows = read_table("gpu_clusters_tracked_h100e.csv")
    dates = [k for k in rows[0] if k != "country"]
    years = tuple(int(d[:4]) for d in dates)
    c = countries()
    world = None
    by_country = {}
    for r in rows:
        values = np.array([float(r[d]) for d in dates])
        if r["country"] == "World (tracked)":
            world = values
        else:
            by_country[c.code(r["country"])] = values
    assert world is not None
    return TrackedGpus(years, world, by_country)


@dataclass(frozen=True)
class GpuAnchor:
    """A 2025 anchor: AI accelerators installed in a country at the end of 2025 [H100e]."""

    iso3: str
    low: float
    central: float
    high: float
    basis: str  # reported | derived | estimate
    source: str  # the sources of the derivation's rows (URLs, " ; "-separated)
    derivation: str


@functools.cache
def gpu_anchors() -> dict[str, GpuAnchor]:
    """The 2025 anchors by ISO code (gpu_anchors_2025.csv); ``WLD`` is the world total."""
    return {
        r["iso3"]: GpuAnchor(
            r["iso3"],
            float(r["low"]),
            float(r["central"]),
            float(r["high"]),
            r["basis"],
            r["source"],
            r["derivation"],
        )
        for r in read_table("gpu_anchors_2025.csv")
    }


@dataclass(frozen=True)
class RegisterRow:
    """One row of the programme register (gpu_programmes.csv); NaN where the file is empty."""

    iso3: str
    id: str
    name: str
    gpus: float
    h100e_per_gpu: float
    start: float
    end: float
    status: str
    licence: bool  # needs a US export licence
    in_country: float
    counted: bool
    overlap: str
    basis: str
    source_url: str


def _float(text: str) -> float:
    return float(text) if text.strip() else math.nan


@functools.cache
def gpu_register() -> tuple[RegisterRow, ...]:
    """Every announced national or company GPU programme 2025–2030 (gpu_programmes.csv)."""
    return tuple(
        RegisterRow(
            r["iso3"],
            r["id"],
            r["name"],
            _float(r["gpus"]),
            _float(r["h100e_per_gpu"]),
            _float(r["start"]),
            _float(r["end"]),
            r["status"],
            r["licence"] == "US",
            _float(r["in_country"]),
            r["counted"] == "yes",
            r["overlap"],
            r["basis"],
            r["source_url"],
        )
        for r in read_table("gpu_programmes.csv")
    )


@functools.cache
def gpu_growth_signals() -> dict[str, float]:
    """Each country's data-centre growth signal: its yearly log growth less the world's.

    From gpu_growth_signals.csv: ``log(to / from) / (to_year − from_year)`` per row, minus the
    same for the ``WLD`` row (IEA world data-centre electricity, 0.137 a year).
    """
    rates = {
        r["iso3"]: math.log(float(r["to_value"]) / float(r["from_value"]))
        / (int(r["to_year"]) - int(r["from_year"]))
        for r in read_table("gpu_growth_signals.csv")
    }
    world = rates.pop("WLD")
    return {iso: rate - world for iso, rate in rates.items()}


@functools.cache
def private_investment() -> dict[str, dict[int, float]]:
    """Private AI investment [USD bn] by ISO code and year (Stanford AI Index / Quid)."""
    c = countries()
    out: dict[str, dict[int, float]] = {}
    for r in read_table("private_ai_investment_usd_bn.csv"):
        out.setdefault(c.code(r["country"]), {})[int(r["year"])] = float(r["usd_bn"])
    return out


def investment_reference_growth(data: dict[str, dict[int, float]]) -> dict[int, float]:
    """Median log growth of private investment across the countries reported in both years.

    The reference against which a country's investment growth is measured in the years of the
    data: a country without data is assumed to have grown like the median reported country.
    (2023: median of USA, CHN, KOR = −0.55; 2024: median of seven countries = +0.18.)
    """
    years = sorted({y for d in data.values() for y in d})
    out = {}
    for y0, y1 in itertools.pairwise(years):
        growth = [np.log(d[y1] / d[y0]) for d in data.values() if y0 in d and y1 in d]
        if growth:
            out[y1] = float(np.median(growth))
    return out
