"""``gaussian_race``: independent normal scores, a model whose rank distribution is known.

Each country's score in each year is ``Normal(mean, sd)``, independent of every other country.
By default the years are independent too; with ``persistence = ρ`` (0 ≤ ρ < 1) a country's
standardised score follows a stationary AR(1) through the calendar years,
``u_t = ρ^Δ u_{t-Δ} + sqrt(1 − ρ^{2Δ}) ε_t``, so that the score of one year informs the next
(and conditioning on an earlier year matters). The focus country's rank is ``1 + #{rivals with a
strictly higher score}``; its distribution has the closed form :func:`exact_rank_distribution`,
which the tests use to validate the engine, and, conditioned on a Gaussian score observation of
the focus country, :func:`conditioned_rank_distribution`.

Scenario schema::

    [scenario]
    model = "gaussian_race"
    focus = "KOR"
    [model]
    persistence = 0.8         # optional, default 0: years independent
    [model.countries]
    USA = { mean = 100, sd = 2 }
    KOR = { mean = 30, sd = 6 }
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
from scipy import integrate, stats

from ..errors import ConfigError, did_you_mean, key_part
from ..errors import short_repr as _short
from ..scenario.distributions import MAX_MAGNITUDE, finite_number
from .base import Bins, Model, Stepper

BINS = 2000


class GaussianRace(Model):
    name = "gaussian_race"
    metric_info: ClassVar[Mapping[str, tuple[str, str]]] = {
        "score": ("score of the Gaussian race", "1")
    }
    required_factors = None

    def __init__(self, means: np.ndarray, sds: np.ndarray, persistence: float = 0.0, **kw):
        super().__init__(**kw)
        self.means = means
        self.sds = sds
        self.persistence = persistence

    @classmethod
    def from_scenario(cls, scenario) -> GaussianRace:
        try:
            return cls._from_scenario(scenario)
        except ConfigError as exc:  # name the file that wrote the key (a parent, or --set)
            raise scenario.attribute(exc) from None

    @classmethod
    def _from_scenario(cls, scenario) -> GaussianRace:
        src = scenario.source
        params = dict(scenario.model_params)
        extra = sorted(set(params) - {"countries", "persistence"})
        if extra:
            raise ConfigError(
                f"unknown key{did_you_mean(extra[0], ['countries', 'persistence'])}; "
                "gaussian_race takes [model.countries] and persistence",
                source=src,
                key=f"model.{extra[0]}",
            )
        rho = params.get("persistence", 0.0)
        if not finite_number(rho) or not 0 <= rho < 1:
            raise ConfigError(
                f"must be a number in [0, 1), got {_short(rho)}; e.g. persistence = 0.8",
                source=src,
                key="model.persistence",
            )
        table = params.get("countries")
        if not isinstance(table, Mapping) or not table:  # "countries = 3" or an empty table
            raise ConfigError(
                "gaussian_race needs [model.countries] with at least one country, "
                "e.g. KOR = { mean = 30, sd = 6 }",
                source=src,
                key="model.countries",
            )
        means_sds = [_read_country(code, spec, src) for code, spec in table.items()]
        countries = tuple(table)
        cls.check_focus(scenario, countries)
        cls.check_factors(scenario)
        return cls(
            np.array([mean for mean, _ in means_sds]),
            np.array([sd for _, sd in means_sds]),
            float(rho),
            countries=countries,
            country_names=countries,
            years=scenario.years,
            focus=scenario.focus,
            top_k=scenario.top_k,
        )

    def bins(self, metric: str) -> Bins:
        lo = float(np.min(self.means - 8 * self.sds))
        hi = float(np.max(self.means + 8 * self.sds))
        # Spreads below the floats' resolution (sd = 1e-300, or 1e-10 at mean = 1e100) leave
        # hi == lo: widen to a span whose bin width n / span is finite.
        least = max(1e-12 * max(abs(lo), abs(hi)), 1e-290)
        if not hi - lo >= least:
            mid = lo / 2 + hi / 2
            lo, hi = mid - least / 2, mid + least / 2
        return Bins(lo, hi, BINS)

    def simulate(
        self,
        factors: Mapping[str, np.ndarray],
        rngs: Callable[[str], np.random.Generator],
        n: int,
    ) -> dict[str, np.ndarray]:
        from ..kernels import scale_shift  # heavy: numba kernels (load cost)

        if self.persistence:
            return super().simulate(factors, rngs, n)
        z = rngs("scores").standard_normal((n, len(self.years), len(self.countries)))
        scale_shift(z, self.sds, self.means)  # z * sd + mean, in one pass
        return {"score": z}

    def start(self, factors, rngs, n: int) -> _GaussianStepper:
        return _GaussianStepper(self, rngs, n)

    def exact(self) -> np.ndarray:
        """Closed-form P(focus rank = r), r = 1..C (the same every year)."""
        return exact_rank_distribution(self.means, self.sds, self.focus_index)


class _GaussianStepper(Stepper):
    """The standardised scores ``u`` of the last year stepped to. Year ``t``'s innovations come
    from stream ``scores:<t>`` by particle position (a resampled particle gets its slot's
    future), so stepping uses other numbers than :meth:`GaussianRace.simulate` without
    persistence (one ``scores`` array); with persistence ``simulate`` steps too."""

    def __init__(self, model: GaussianRace, rngs, n: int):
        self.model, self.rngs, self.n = model, rngs, n
        self.u: np.ndarray | None = None
        self.year: int | None = None

    def advance(self, year: int) -> dict[str, np.ndarray]:
        m = self.model
        eps = self.rngs(f"scores:{year}").standard_normal((self.n, len(m.countries)))
        if self.u is None:
            self.u = eps
        else:
            a = m.persistence ** (year - self.year)
            self.u = a * self.u + np.sqrt(1.0 - a * a) * eps
        self.year = year
        return {"score": self.u * m.sds + m.means}

    def take(self, index: np.ndarray) -> None:
        if self.u is not None:
            self.u = self.u[index]

    def merge(self, other: _GaussianStepper, mask: np.ndarray) -> None:
        self.u = np.where(mask[:, None], other.u, self.u)


def conditioned_rank_distribution(
    means, sds, focus: int, *, persistence: float, years_ahead: int, score: float, score_sd: float
) -> np.ndarray:
    """P(focus rank = r), r = 1..C, ``years_ahead`` years after the focus country's score was
    observed as ``score`` with a Gaussian kernel of width ``score_sd`` (``[[observations]]``
    ``score``/``score_sd``), in a gaussian race with ``persistence``.

    The observation updates the focus's standardised score ``u ~ N(0, 1)`` to ``N(μ, v)`` with
    ``v = 1 / (1 + (sd/score_sd)²)`` and ``μ = v (sd/score_sd²)(score − mean)``; ``Δ`` years on,
    ``u ~ N(ρ^Δ μ, ρ^{2Δ} v + 1 − ρ^{2Δ})``. Rivals are independent of the focus, so the rank
    distribution is :func:`exact_rank_distribution` with the focus's updated mean and sd.
    """
    means = np.array(means, dtype=float)
    sds = np.array(sds, dtype=float)
    m, sd = means[focus], sds[focus]
    v = 1.0 / (1.0 + (sd / score_sd) ** 2)
    mu = v * sd * (score - m) / score_sd**2
    a = persistence**years_ahead
    means[focus] = m + sd * a * mu
    sds[focus] = sd * np.sqrt(a * a * v + 1.0 - a * a)
    return exact_rank_distribution(means, sds, focus)


def _read_country(code: str, spec: Any, src: str) -> tuple[float, float]:
    """``(mean, sd)`` of one ``[model.countries]`` entry, validated."""
    key = f"model.countries.{key_part(code)}"
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"must be a table {{ mean = ..., sd = ... }}, got {_short(spec)}",
            source=src,
            key=key,
        )
    bad = sorted(set(spec) - {"mean", "sd"})
    if bad:
        raise ConfigError(
            f"unknown key{did_you_mean(bad[0], ['mean', 'sd'])}; a country takes mean and sd",
            source=src,
            key=f"{key}.{key_part(bad[0])}",
        )
    for p in ("mean", "sd"):
        v = spec.get(p)
        if v is None:
            raise ConfigError(f"missing '{p}'; add {p} = <number>", source=src, key=key)
        if not finite_number(v):
            raise ConfigError(
                f"must be a finite number, got {_short(v)}", source=src, key=f"{key}.{p}"
            )
        if abs(v) > MAX_MAGNITUDE:
            raise ConfigError(
                f"{v:g} is too large to simulate safely; rescale the scores",
                source=src,
                key=f"{key}.{p}",
            )
    if not spec["sd"] > 0:
        raise ConfigError(
            f"sd must be > 0, got {spec['sd']!r}; use a positive spread",
            source=src,
            key=f"{key}.sd",
        )
    return float(spec["mean"]), float(spec["sd"])


def poisson_binomial(p: np.ndarray) -> np.ndarray:
    """P(K = k), k = 0..m, for K a sum of independent Bernoulli(p_j); ``p`` shape (m, ...)."""
    p = np.asarray(p, dtype=float)
    dist = np.zeros((p.shape[0] + 1, *p.shape[1:]))
    dist[0] = 1.0
    for j in range(p.shape[0]):
        dist[1:] = dist[1:] * (1 - p[j]) + dist[:-1] * p[j]
        dist[0] = dist[0] * (1 - p[j])
    return dist


def exact_rank_distribution(means, sds, focus: int) -> np.ndarray:
    """P(rank of country ``focus`` = r) for independent normal scores, r = 1..C.

    ``P(rank = r) = ∫ φ_f(x) · PoissonBinomial(r - 1; {P(X_j > x)}_{j≠f}) dx``, integrated with
    adaptive vector quadrature over ``mean_f ± 12 sd_f`` (the mass outside is < 1e-32).
    """
    means = np.asarray(means, dtype=float)
    sds = np.asarray(sds, dtype=float)
    others = np.arange(len(means)) != focus
    mf, sf = means[focus], sds[focus]

    def integrand(x: float) -> np.ndarray:
        p_above = stats.norm.sf(x, loc=means[others], scale=sds[others])
        return stats.norm.pdf(x, mf, sf) * poisson_binomial(p_above)

    # Integrate on a standardised grid with breakpoints so narrow rivals are not missed.
    lo, hi = mf - 12 * sf, mf + 12 * sf
    points = sorted({*np.clip(means[others], lo, hi), mf})
    edges = [lo, *[p for p in points if lo < p < hi], hi]
    total = np.zeros(len(means))
    for a, b in itertools.pairwise(edges):
        val, _ = integrate.quad_vec(integrand, a, b, epsabs=1e-13, epsrel=1e-10)
        total += val
    return total
