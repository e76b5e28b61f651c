"""The model contract.

A model turns one block of factor draws into scores: for every metric, an array of shape
``(n, len(years), len(countries))``. A higher score is a better rank: the engine ranks countries
(rank = 1 + the number of countries with a strictly higher score) and reduces ranks and scores
into probabilities and quantiles. Models are pure numpy: arrays in, arrays out, no I/O.

Randomness a model needs beyond the factors (yearly shocks, say) comes from ``rngs(name)``, a
generator per named component and block. Generate arrays with the draw axis first, so that a
partial block's draws are a prefix of the full block's (the "growing draws" guarantee).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError, did_you_mean
from ..scenario import Scenario

# Memory guards, checked when a model is built (so `g3sim validate` refuses what cannot run):
MAX_BLOCK_VALUES = 2**27  # scores of one block and metric, plus its factor draws (1 GiB)
MAX_REDUCER_CELLS = 2**25  # rank counts and histogram bins of one metric (256 MiB)


@dataclass(frozen=True)
class Bins:
    """Histogram bins for streaming quantiles: ``n`` equal bins from ``low`` to ``high``.

    With ``log=True`` the bins are equal in log10 space. Values outside the range fall in the
    first or last bin, so quantiles beyond the range are reported at the range's edge.
    """

    low: float
    high: float
    n: int = 1000
    log: bool = False

    def scale(self) -> tuple[float, float]:
        """``(lo, k)``: the bin of a (transformed) value ``v`` is ``clip((v - lo)·k, 0, n-1)``."""
        lo, hi = (np.log10(self.low), np.log10(self.high)) if self.log else (self.low, self.high)
        return float(lo), float(self.n / (hi - lo))

    def transform(self, x: np.ndarray) -> np.ndarray | None:
        """The values whose equal bins these are: log10(max(x, low)) for log bins, else None
        (the values themselves)."""
        return np.log10(np.maximum(x, self.low)) if self.log else None

    def index(self, x: np.ndarray, offset: np.ndarray | int = 0) -> np.ndarray:
        """Bin index of each value (clipped to the range), plus ``offset`` (for bincount).

        The reference definition; the engine bins with
        :func:`simulator.kernels.reduce_block`, which tests check against this.
        """
        lo, k = self.scale()
        y = self.transform(x)
        y = x.astype(float, copy=True) if y is None else y
        y -= lo
        y *= k
        np.clip(y, 0, self.n - 1, out=y)  # in float: cheaper than clipping the integers
        y += offset
        return y.astype(np.intp)

    def edges(self) -> np.ndarray:
        if self.log:
            return np.logspace(np.log10(self.low), np.log10(self.high), self.n + 1)
        return np.linspace(self.low, self.high, self.n + 1)


class Model(abc.ABC):
    """Base class of the world models; see the module docstring for the contract."""

    name: ClassVar[str]
    #: metric name → (long name, units)
    metric_info: ClassVar[Mapping[str, tuple[str, str]]]

    def __init__(
        self,
        *,
        countries: tuple[str, ...],
        country_names: tuple[str, ...],
        years: tuple[int, ...],
        focus: str,
        top_k: int,
    ):
        self.countries = countries
        self.country_names = country_names
        self.years = years
        self.focus = focus
        self.top_k = top_k
        self.focus_index = countries.index(focus)

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.metric_info)

    #: Factors the model reads. ``None``: the model reads none and accepts any (they are sampled
    #: and stored, e.g. for testing designs); otherwise every name here must be a factor.
    required_factors: ClassVar[tuple[str, ...] | None] = None

    @classmethod
    @abc.abstractmethod
    def from_scenario(cls, scenario: Scenario) -> Model:
        """Validate ``scenario.model_params`` and build the model."""

    @abc.abstractmethod
    def bins(self, metric: str) -> Bins:
        """Histogram bins for the quantiles of ``metric``."""

    @abc.abstractmethod
    def simulate(
        self,
        factors: Mapping[str, np.ndarray],
        rngs: Callable[[str], np.random.Generator],
        n: int,
    ) -> dict[str, np.ndarray]:
        """Scores for one block: ``{metric: array (n, years, countries)}``."""

    def describe(self) -> dict[str, Any]:
        """Extra run metadata for the results' attributes (strings and numbers)."""
        return {}

    # -- helpers for subclasses ------------------------------------------------------------

    @staticmethod
    def check_focus(scenario: Scenario, countries: tuple[str, ...]) -> None:
        if scenario.focus not in countries:
            raise ConfigError(
                f"{scenario.focus!r} is not a country of this model"
                f"{did_you_mean(scenario.focus, countries)}; use one of {', '.join(countries[:12])}"
                + (" ..." if len(countries) > 12 else ""),
                source=scenario.source,
                key="scenario.focus",
            )
        if scenario.top_k > len(countries):
            raise ConfigError(
                f"top_k = {scenario.top_k} but the model has only {len(countries)} countries; "
                f"use top_k ≤ {len(countries)}",
                source=scenario.source,
                key="scenario.top_k",
            )

    @staticmethod
    def check_size(scenario: Scenario, n_countries: int, n_bins: int) -> None:
        """Refuse a scenario whose blocks or reducers could not be held in memory.

        A block holds ``(draws in a block) × years × countries`` scores per metric, and the
        reducers ``years × countries × (countries + bins)`` counts per metric.
        """
        ny = len(scenario.years)
        block = min(scenario.block_size, scenario.draws)
        per_draw = ny * n_countries + len(scenario.factors)
        if block * per_draw > MAX_BLOCK_VALUES:
            fit = max(1, MAX_BLOCK_VALUES // per_draw)
            raise ConfigError(
                f"a block of {block:,} draws holds {block * per_draw:,} values ({ny} years × "
                f"{n_countries} countries + {len(scenario.factors)} factors per draw), more than "
                f"{MAX_BLOCK_VALUES:,} in memory at once; set block_size ≤ {fit:,}, or report "
                "fewer years",
                source=scenario.source,
                key="scenario.block_size",
            )
        cells = ny * n_countries * (n_countries + n_bins)
        if cells > MAX_REDUCER_CELLS:
            raise ConfigError(
                f"{n_countries:,} countries × {ny} years need {cells:,} rank and histogram "
                f"counts, more than {MAX_REDUCER_CELLS:,}; use fewer countries or years",
                source=scenario.source,
                key="model.countries",
            )

    @classmethod
    def check_factors(cls, scenario: Scenario) -> None:
        if cls.required_factors is None:
            return
        have = set(scenario.factor_names)
        for name in cls.required_factors:
            if name not in have:
                raise ConfigError(
                    f"model {cls.name} needs factor '{name}'; add [factors.{name}] with a "
                    "distribution (see configs/baseline.toml)",
                    source=scenario.source,
                    key=f"factors.{name}",
                )
        for name in scenario.factor_names:
            if name not in cls.required_factors:
                raise ConfigError(
                    f"model {cls.name} does not use factor '{name}'"
                    f"{did_you_mean(name, cls.required_factors)}; remove it or fix its name",
                    source=scenario.source,
                    key=f"factors.{name}",
                )
