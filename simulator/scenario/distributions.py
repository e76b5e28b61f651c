"""Distribution specs from a scenario file → frozen distributions.

A factor in a scenario is a TOML table with a ``dist`` key and that distribution's parameters::

    [factors.kor_delivered_fraction]
    dist = "pert"
    low = 0.4
    mode = 0.8
    high = 1.0

:func:`make_distribution` validates the table and returns a *frozen* distribution: a scipy.stats
frozen object, or one of the two small classes below for what scipy lacks (a constant and a
discrete distribution over arbitrary real values). Every returned object has ``ppf``, ``mean``,
``std`` and ``interval``; the engine only ever calls ``ppf`` on uniforms in (0, 1).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy import special, stats

from ..errors import ConfigError, did_you_mean, key_part
from ..errors import short_repr as _short

Z_P95 = stats.norm.ppf(0.95)  # 1.6449: the 95th percentile of the standard normal (one-sided)
# The most extreme uniforms the samplers pass to ``ppf`` (sampling uses these bounds): a
# distribution must give finite values there, or a run would produce inf or nan.
TAIL_UNIFORMS = (2.0**-54, 1.0 - 2.0**-53)
# The largest magnitude a factor may reach: its draws are squared and summed (moments over up to
# 10^10 draws), which must stay finite.
MAX_MAGNITUDE = 1e100


def finite_number(value: Any) -> bool:
    """True for an int or float (not a bool) that converts to a finite float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the float range (TOML allows 64-bit, Python more)
        return False


class Constant:
    """A degenerate distribution: every draw is ``value``."""

    def __init__(self, value: float):
        self.value = float(value)

    def ppf(self, q):
        return np.full(np.shape(q), self.value)

    def mean(self) -> float:
        return self.value

    def std(self) -> float:
        return 0.0

    def interval(self, confidence: float) -> tuple[float, float]:
        return (self.value, self.value)

    def __repr__(self) -> str:
        return f"Constant({self.value!r})"


class DiscreteValues:
    """A discrete distribution over arbitrary real ``values`` with ``probabilities``.

    ``ppf(q)`` returns the smallest value whose cumulative probability is ≥ q, the usual
    generalised inverse, so uniform draws map to values with the given probabilities.
    """

    def __init__(self, values, probabilities):
        order = np.argsort(values, kind="stable")
        self.values = np.asarray(values, dtype=float)[order]
        self.probabilities = np.asarray(probabilities, dtype=float)[order]
        self._cdf = np.cumsum(self.probabilities)
        self._cdf[-1] = 1.0

    def ppf(self, q):
        idx = np.searchsorted(self._cdf, np.asarray(q), side="left")
        return self.values[np.minimum(idx, len(self.values) - 1)]

    def mean(self) -> float:
        return float(np.dot(self.values, self.probabilities))

    def std(self) -> float:
        m = self.mean()
        return float(np.sqrt(np.dot((self.values - m) ** 2, self.probabilities)))

    def interval(self, confidence: float) -> tuple[float, float]:
        a = (1 - confidence) / 2
        return (float(self.ppf(a)), float(self.ppf(1 - a)))

    def __repr__(self) -> str:
        return f"DiscreteValues({self.values.tolist()!r}, {self.probabilities.tolist()!r})"


class TruncNormal:
    """``Normal(mean, sd)`` truncated to ``[low, high]``, with a ``ppf`` accurate in both tails.

    ``scipy.stats.truncnorm`` serves ``mean``, ``std`` and ``interval``, but its ``ppf`` is not
    used: within about 1e-16 of q = 1 it returns inf even for a finite upper bound (scipy 1.17:
    ``truncnorm(-0.0625, 8.3).ppf(1 - 2**-53)`` is ``inf``), and the samplers do pass such q.
    Here each half of the distribution is inverted from its own tail, where ``ndtri`` is exact:
    ``z = ndtri(Φ(a) + q·m)`` for the lower half and ``z = -ndtri(Φ(-b) + (1 - q)·m)`` for the
    upper, with ``m = Φ(b) - Φ(a)`` the mass of the window in standard units ``a``, ``b``.
    """

    def __init__(self, mean: float, sd: float, low: float, high: float):
        self.loc, self.scale, self.low, self.high = mean, sd, low, high
        self.a, self.b = (low - mean) / sd, (high - mean) / sd
        self._cdf_a = special.ndtr(self.a)  # Φ(a)
        self._sf_b = special.ndtr(-self.b)  # 1 - Φ(b)
        # Each term below is the smaller tail, so the mass keeps its precision far out.
        if self.a >= 0:
            self.mass = special.ndtr(-self.a) - self._sf_b
        elif self.b <= 0:
            self.mass = special.ndtr(self.b) - self._cdf_a
        else:
            self.mass = 1.0 - self._cdf_a - self._sf_b
        self._frozen = stats.truncnorm(self.a, self.b, loc=mean, scale=sd)

    def ppf(self, q):
        q = np.asarray(q, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            lower = special.ndtri(self._cdf_a + q * self.mass)
            upper = -special.ndtri(self._sf_b + (1.0 - q) * self.mass)
        # The lower formula is exact where Φ(a) + q·m is small, the upper where 1 - that is.
        use_upper = (self._cdf_a + q * self.mass) > 0.5
        z = np.where(use_upper, upper, lower)
        return np.clip(self.loc + self.scale * z, self.low, self.high)

    def mean(self) -> float:
        return float(self._frozen.mean())

    def std(self) -> float:
        return float(self._frozen.std())

    def interval(self, confidence: float) -> tuple[float, float]:
        a = (1 - confidence) / 2
        return (float(self.ppf(a)), float(self.ppf(1 - a)))

    def __repr__(self) -> str:
        return f"TruncNormal({self.loc!r}, {self.scale!r}, {self.low!r}, {self.high!r})"


# ---------------------------------------------------------------------------------------------
# Parameter checking


class _Spec:
    """A distribution table being read, with error messages that name the key."""

    def __init__(self, table: Mapping[str, Any], key: str, source: str | None):
        self.table = table
        self.key = key
        self.source = source

    def error(self, message: str, param: str | None = None) -> ConfigError:
        key = f"{self.key}.{key_part(param)}" if param else self.key
        return ConfigError(message, source=self.source, key=key)

    def has(self, name: str) -> bool:
        return name in self.table

    def number(self, name: str, default: float | None = None) -> float:
        if name not in self.table:
            if default is not None:
                return default
            raise self.error(f"{self.dist_name} needs '{name}'; add {name} = <number>")
        value = self.table[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(f"must be a number, got {value!r}", name)
        if not finite_number(value):
            raise self.error(f"must be a finite number, got {_short(value)}", name)
        return float(value)

    def numbers(self, name: str) -> list[float]:
        if name not in self.table:
            raise self.error(f"{self.dist_name} needs '{name}'; add {name} = [<numbers>]")
        value = self.table[name]
        if not isinstance(value, list) or not value:
            raise self.error(f"must be a non-empty list of numbers, got {value!r}", name)
        out = []
        for i, v in enumerate(value):
            if not finite_number(v):
                raise self.error(f"item {i} must be a finite number, got {_short(v)}", name)
            out.append(float(v))
        return out

    @property
    def dist_name(self) -> str:
        return str(self.table.get("dist"))

    def check_keys(self) -> None:
        """Refuse a parameter the distribution does not take (before a typo reads as missing)."""
        extra = sorted(set(self.table) - {"dist", *_PARAMS[self.dist_name]})
        if extra:
            name = extra[0]
            raise self.error(
                f"unknown parameter for {self.dist_name}"
                f"{did_you_mean(name, _PARAMS[self.dist_name])}; "
                f"{self.dist_name} takes {', '.join(_PARAMS[self.dist_name])}",
                name,
            )


def _p5_p95(spec: _Spec) -> tuple[float, float] | None:
    if not (spec.has("p5") or spec.has("p95")):
        return None
    p5, p95 = spec.number("p5"), spec.number("p95")
    if not p5 < p95:
        raise spec.error(f"needs p5 < p95, got p5 = {p5:g}, p95 = {p95:g}", "p95")
    return p5, p95


def _normal(s: _Spec):
    q = _p5_p95(s)
    if q is not None:
        if s.has("mean") or s.has("sd"):
            raise s.error("give either mean and sd, or p5 and p95, not both")
        mean, sd = (q[0] + q[1]) / 2, (q[1] - q[0]) / (2 * Z_P95)
    else:
        mean, sd = s.number("mean"), s.number("sd")
    if not sd > 0:
        raise s.error(f"normal needs sd > 0, got sd = {sd:g}", "sd")
    return stats.norm(loc=mean, scale=sd)


def _lognormal(s: _Spec):
    q = _p5_p95(s)
    if q is not None:
        if s.has("mu") or s.has("sigma") or s.has("median"):
            raise s.error("give either (mu or median) and sigma, or p5 and p95, not both")
        if not q[0] > 0:
            raise s.error(f"lognormal needs p5 > 0, got p5 = {q[0]:g}", "p5")
        mu = (math.log(q[0]) + math.log(q[1])) / 2
        sigma = (math.log(q[1]) - math.log(q[0])) / (2 * Z_P95)
    else:
        if s.has("median") and s.has("mu"):
            raise s.error("give mu (the mean of the log) or median, not both")
        if s.has("median"):
            median = s.number("median")
            if not median > 0:
                raise s.error(f"lognormal needs median > 0, got {median:g}", "median")
            mu = math.log(median)
        else:
            mu = s.number("mu")
            if abs(mu) > 700:  # exp(mu), the median, would overflow or underflow a float
                raise s.error(
                    f"mu is the log of the median and must lie in [-700, 700], got mu = {mu:g}; "
                    "did you mean median?",
                    "mu",
                )
        sigma = s.number("sigma")
    if not sigma > 0:
        raise s.error(f"lognormal needs sigma > 0, got sigma = {sigma:g}", "sigma")
    return stats.lognorm(s=sigma, scale=math.exp(mu))


def _uniform(s: _Spec):
    low, high = s.number("low"), s.number("high")
    if not low < high:
        raise s.error(f"uniform needs low < high, got low = {low:g}, high = {high:g}", "high")
    return stats.uniform(loc=low, scale=high - low)


def _low_mode_high(s: _Spec) -> tuple[float, float, float]:
    low, mode, high = s.number("low"), s.number("mode"), s.number("high")
    if not (low <= mode <= high and low < high):
        raise s.error(
            f"{s.dist_name} needs low ≤ mode ≤ high and low < high, "
            f"got low = {low:g}, mode = {mode:g}, high = {high:g}",
            "mode",
        )
    return low, mode, high


def _triangular(s: _Spec):
    low, mode, high = _low_mode_high(s)
    return stats.triang(c=(mode - low) / (high - low), loc=low, scale=high - low)


def _pert(s: _Spec):
    low, mode, high = _low_mode_high(s)
    lam = s.number("lambda", 4.0)
    if not lam > 0:
        raise s.error(f"pert needs lambda > 0, got {lam:g}", "lambda")
    a = 1 + lam * (mode - low) / (high - low)
    b = 1 + lam * (high - mode) / (high - low)
    return stats.beta(a, b, loc=low, scale=high - low)


def _beta(s: _Spec):
    a, b = s.number("a"), s.number("b")
    low, high = s.number("low", 0.0), s.number("high", 1.0)
    if not (a > 0 and b > 0):
        raise s.error(
            f"beta needs a > 0 and b > 0, got a = {a:g}, b = {b:g}", "a" if a <= 0 else "b"
        )
    if not low < high:
        raise s.error(f"beta needs low < high, got low = {low:g}, high = {high:g}", "high")
    return stats.beta(a, b, loc=low, scale=high - low)


def _truncnormal(s: _Spec):
    mean, sd = s.number("mean"), s.number("sd")
    low = s.number("low") if s.has("low") else -math.inf
    high = s.number("high") if s.has("high") else math.inf
    if not sd > 0:
        raise s.error(f"truncnormal needs sd > 0, got sd = {sd:g}", "sd")
    if not low < high:
        raise s.error(f"truncnormal needs low < high, got low = {low:g}, high = {high:g}", "high")
    dist = TruncNormal(mean, sd, low, high)
    # Mass of the window: if it is vanishingly small, ppf is numerically meaningless.
    if not dist.mass > 1e-12:
        raise s.error(
            f"truncnormal window [{low:g}, {high:g}] holds no probability for mean = {mean:g}, "
            f"sd = {sd:g}; move the window or the mean",
            "low",
        )
    return dist


def _bernoulli(s: _Spec):
    p = s.number("p")
    if not 0 <= p <= 1:
        raise s.error(f"bernoulli needs 0 ≤ p ≤ 1, got p = {p:g}", "p")
    return DiscreteValues([0.0, 1.0], [1 - p, p])


def _discrete(s: _Spec):
    values = s.numbers("values")
    probs = s.numbers("probabilities")
    if len(values) != len(probs):
        raise s.error(
            f"needs as many probabilities as values, got {len(probs)} for {len(values)} values",
            "probabilities",
        )
    negative = [i for i, p in enumerate(probs) if p < 0]
    if negative:
        i = negative[0]
        raise s.error(f"probabilities must be ≥ 0, got item {i} = {probs[i]:g}", "probabilities")
    if not math.isclose(sum(probs), 1.0, abs_tol=1e-9):
        raise s.error(f"probabilities must sum to 1, got {sum(probs):.12g}", "probabilities")
    return DiscreteValues(values, probs)


def _constant(s: _Spec):
    return Constant(s.number("value"))


_BUILDERS: dict[str, Callable[[_Spec], Any]] = {
    "normal": _normal,
    "lognormal": _lognormal,
    "uniform": _uniform,
    "triangular": _triangular,
    "pert": _pert,
    "beta": _beta,
    "truncnormal": _truncnormal,
    "bernoulli": _bernoulli,
    "discrete": _discrete,
    "constant": _constant,
}

_PARAMS: dict[str, tuple[str, ...]] = {
    "normal": ("mean", "sd", "p5", "p95"),
    "lognormal": ("mu", "median", "sigma", "p5", "p95"),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "pert": ("low", "mode", "high", "lambda"),
    "beta": ("a", "b", "low", "high"),
    "truncnormal": ("mean", "sd", "low", "high"),
    "bernoulli": ("p",),
    "discrete": ("values", "probabilities"),
    "constant": ("value",),
}

DISTRIBUTIONS: tuple[str, ...] = tuple(_BUILDERS)


def make_distribution(table: Mapping[str, Any], *, key: str = "", source: str | None = None):
    """Validate a distribution table and return the frozen distribution.

    Parameters
    ----------
    table
        The factor's TOML table: ``dist`` and that distribution's parameters. A bare number is
        accepted as ``{dist = "constant", value = <number>}``.
    key
        The table's key path in the scenario (``factors.kor_delivered_fraction``), for messages.
    source
        The scenario file, for messages.

    Raises
    ------
    ConfigError
        Naming the file, the key and the fix.
    """
    if isinstance(table, int | float) and not isinstance(table, bool):
        table = {"dist": "constant", "value": table}
    if not isinstance(table, Mapping):
        raise ConfigError(
            f"a factor must be a table with 'dist', got {table!r}; "
            'write e.g. {dist = "normal", mean = 0, sd = 1}',
            source=source,
            key=key,
        )
    dist = table.get("dist")
    if dist is None:
        raise ConfigError(
            f"missing 'dist'; add dist = one of {', '.join(DISTRIBUTIONS)}", source=source, key=key
        )
    if not isinstance(dist, str) or dist not in _BUILDERS:
        raise ConfigError(
            f"unknown distribution {_short(dist)}{did_you_mean(str(dist), DISTRIBUTIONS)}; "
            f"use one of {', '.join(DISTRIBUTIONS)}",
            source=source,
            key=f"{key}.dist",
        )
    spec = _Spec(table, key, source)
    spec.check_keys()
    frozen = _BUILDERS[dist](spec)
    _check_tails(frozen, spec)
    return frozen


def _check_tails(frozen: Any, spec: _Spec) -> None:
    """Refuse parameters whose extreme quantiles overflow (e.g. sd = 1e308)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tails = np.asarray(frozen.ppf(np.array(TAIL_UNIFORMS)), dtype=float)
    if not np.isfinite(tails).all():
        raise spec.error(
            f"{spec.dist_name} with these parameters has non-finite quantiles "
            f"(ppf at the extremes gives {tails[0]:g} and {tails[1]:g}); "
            "use smaller magnitudes, e.g. rescale the factor's units"
        )
    if np.abs(tails).max() > MAX_MAGNITUDE:
        raise spec.error(
            f"{spec.dist_name} with these parameters reaches {tails[0]:g} to {tails[1]:g} "
            f"(ppf at the extremes), beyond ±{MAX_MAGNITUDE:g}; use smaller magnitudes, e.g. "
            "rescale the factor's units"
        )
