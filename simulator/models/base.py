"""The model contract.

A model turns one block of factor draws into scores: for every metric, an array of shape
``(n, len(years), len(countries))``. A higher score is a better rank: the engine ranks countries
(rank = 1 + the number of countries with a strictly higher score) and reduces ranks and scores
into probabilities and quantiles. Models are pure numpy: arrays in, arrays out, no I/O.

Randomness a model needs beyond the factors (yearly shocks, say) comes from ``rngs(name)``, a
generator per named component and block. Generate arrays with the draw axis first, so that a
partial block's draws are a prefix of the full block's (the "growing draws" guarantee).

A model may also offer the stepping form (:meth:`Model.start` returning a :class:`Stepper`):
all draws of a block advanced one year at a time, which the engine needs to condition on
observations by sequential Monte Carlo. :meth:`Model.simulate` then comes for free.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError, did_you_mean
from ..scenario import Scenario


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

    def edges(self) -> np.ndarray:
        if self.log:
            return np.logspace(np.log10(self.low), np.log10(self.high), self.n + 1)
        return np.linspace(self.low, self.high, self.n + 1)


class Stepper(abc.ABC):
    """One block of draws ("particles") of a model, advanced one year at a time.

    The stepping form of the model contract, used by sequential Monte Carlo conditioning
    (docs/conditioning.md): the engine advances every particle to a year, reads the scores of
    that year, weights the particles by the observations of that year, and may resample them
    with :meth:`take` before advancing further.

    Randomness: a stepper draws the random numbers of year ``t`` by particle position, from the
    same named generators ``rngs(name)`` as :meth:`Model.simulate`, draw axis first; so the
    numbers do not depend on how the years are stepped, and a particle copied by :meth:`take`
    receives fresh future noise at its new position (its past and its static per-draw
    quantities, such as factor values, drifts and GPU bases, travel with it).
    """

    @abc.abstractmethod
    def advance(self, year: int) -> dict[str, np.ndarray]:
        """Step every particle to the end of ``year`` (one of the model's years, not before the
        last year stepped to) and return that year's scores ``{metric: (n, countries)}``."""

    @abc.abstractmethod
    def take(self, index: np.ndarray) -> None:
        """Replace the particles by ``particles[index]`` (a resampling), in place.

        ``index`` has the block's length ``n``; every per-draw quantity of the state follows.
        """

    def merge(self, other: Stepper, mask: np.ndarray) -> None:
        """Replace the particles where ``mask`` is true by those of ``other`` (a stepper of the
        same model and block, at the same year), in place: an accepted MCMC move.

        Optional: without it the engine does not rejuvenate particles (docs/conditioning.md).
        A model that implements it must draw its random numbers only with ``standard_normal``
        and ``random`` (the engine records and replays them), and a particle's state must be
        a function of its factor values and its own draws only.
        """
        raise NotImplementedError

    @property
    def can_merge(self) -> bool:
        return type(self).merge is not Stepper.merge


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

    def simulate(
        self,
        factors: Mapping[str, np.ndarray],
        rngs: Callable[[str], np.random.Generator],
        n: int,
    ) -> dict[str, np.ndarray]:
        """Scores for one block: ``{metric: array (n, years, countries)}``.

        A model with the stepping form (:meth:`start`) gets this for free; a model without it
        must override this method.
        """
        stepper = self.start(factors, rngs, n)
        if stepper is None:
            raise NotImplementedError(f"model {self.name} defines neither simulate nor start")
        out = {m: np.empty((n, len(self.years), len(self.countries))) for m in self.metrics}
        for i, year in enumerate(self.years):
            for metric, x in stepper.advance(year).items():
                out[metric][:, i, :] = x
        return out

    def start(
        self,
        factors: Mapping[str, np.ndarray],
        rngs: Callable[[str], np.random.Generator],
        n: int,
    ) -> Stepper | None:
        """The stepping form: a :class:`Stepper` for one block's ``n`` draws, at the start.

        ``None`` (the default) means the model has no stepping form: the engine then conditions
        on observations by weighting whole trajectories (rejection), not sequentially.
        """
        return None

    def unobserved_streams(self, observations) -> tuple[str, ...]:
        """Names (before any ``:``) of random streams that cannot change the scores these
        ``observations`` see (objects with ``year`` and ``metric``).

        Optional, for efficiency only: SMC refreshes such streams from the prior after the
        last observed year, and its Metropolis-Hastings test keeps the move exact even if the
        declaration is wrong. Default: none.
        """
        return ()

    @property
    def can_step(self) -> bool:
        return type(self).start is not Model.start

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
