"""Random streams, sampling designs and the Gaussian copula.

The randomness contract (docs/reproducibility.md):

* One integer seed per run. Draws are grouped in fixed-size *blocks* (``scenario.block_size``,
  2^14 by default). Every (stream name, block) pair has its own generator,
  ``PCG64(SeedSequence(seed, spawn_key=(stable_hash(name), block)))``.
* Factor ``x`` draws from stream ``factor:x``; a model component ``c`` from ``model:c``
  (:class:`Streams` is that naming: ``Streams(seed, block).child("model")("c")``).
  Hence: the same seed gives the same draws whatever the number of workers or the order in which
  blocks run; growing ``draws`` keeps the earlier draws (the last, partial block is a prefix of
  the full one, because every generator fills arrays draw-major); adding an uncorrelated factor
  leaves every other factor's draws unchanged.
* QMC designs trade that extensibility for lower variance: ``lhs`` stratifies each block on its
  own (a Latin hypercube of the block's size), ``sobol`` takes consecutive points of one
  scrambled Sobol sequence over all factors (use a power of two for ``draws`` and ``block_size``).
  Only factors follow the design; a model's internal shocks are always plain Monte Carlo.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special, stats
from scipy.interpolate import CubicHermiteSpline
from scipy.stats import qmc

from .scenario import Correlation, Factor
from .scenario.distributions import TAIL_UNIFORMS

# Uniforms are kept strictly inside (0, 1) so that ppf never returns ±inf; every distribution is
# checked to be finite there when a scenario is read.
_U_LOW, _U_HIGH = TAIL_UNIFORMS


def stable_hash(name: str) -> int:
    """A 63-bit integer from ``name`` that is the same on every machine and Python run."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


@dataclass(frozen=True)
class Streams:
    """The named random streams of one block of a run seeded with ``seed``.

    ``streams(name)`` is the generator of stream ``prefix + name``:
    ``PCG64(SeedSequence(seed, spawn_key=(stable_hash(prefix + name), block)))``, so every
    (name, block) pair has its own generator. ``streams.child("model")`` are the streams named
    ``model:…`` — what a model receives as ``rngs`` (``rngs("shocks")`` is stream
    ``model:shocks``); factors draw from ``child("factor")``, designs from ``child("design")``.
    """

    seed: int
    block: int = 0
    prefix: str = ""

    def child(self, name: str) -> Streams:
        """The streams named ``name:…`` under this one (same seed and block)."""
        return Streams(self.seed, self.block, f"{self.prefix}{name}:")

    def __call__(self, name: str) -> np.random.Generator:
        """The generator of stream ``prefix + name`` in this block."""
        key = (stable_hash(self.prefix + name), self.block)
        return np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=key))
        )


def unit_draws(
    design: str, names: Sequence[str], *, seed: int, block: int, n: int, block_size: int
) -> np.ndarray:
    """Uniform draws in (0, 1), shape ``(n, len(names))``, for one block of a design."""
    d = len(names)
    if d == 0:
        return np.empty((n, 0))
    streams = Streams(seed, block)
    if design == "mc":
        u = np.empty((n, d))
        factor = streams.child("factor")
        for j, name in enumerate(names):
            u[:, j] = factor(name).random(n)
        u += _U_LOW  # random() gives multiples of 2**-53 in [0, 1): shift half a step up
        np.minimum(u, _U_HIGH, out=u)  # 1 - 2**-53 + 2**-54 rounds to 1.0
        return u
    if design == "lhs":
        engine = qmc.LatinHypercube(d, rng=streams.child("design")("lhs"))
        u = engine.random(n)
    elif design == "sobol":
        # one sequence over all blocks: block 0's stream, fast-forwarded to this block
        engine = qmc.Sobol(d, scramble=True, rng=Streams(seed).child("design")("sobol"))
        if block:
            engine.fast_forward(block * block_size)
        u = engine.random(n)
    else:  # pragma: no cover - the scenario validator rejects other designs
        raise ValueError(f"unknown design {design!r}")
    return np.clip(u, _U_LOW, _U_HIGH)


def copula_factor(corr: np.ndarray) -> np.ndarray:
    """A matrix ``L`` with ``L @ L.T == corr``, for a positive semi-definite ``corr``."""
    try:
        return np.linalg.cholesky(corr)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(corr)
        return v * np.sqrt(np.clip(w, 0.0, None))


def apply_copula(u: np.ndarray, columns: Sequence[int], chol: np.ndarray) -> np.ndarray:
    """Correlate ``u[:, columns]`` through a Gaussian copula with factor ``chol``; in place."""
    z = special.ndtri(u[:, columns])
    u[:, columns] = np.clip(special.ndtr(z @ chol.T), _U_LOW, _U_HIGH)
    return u


# ---------------------------------------------------------------------------------------------
# Fast inverse CDFs
#
# scipy's beta ppf (boost's inverse incomplete beta) costs ~2 µs a value, which made PERT factors
# the largest cost of an ai_race block. For the beta family (beta, PERT; truncnormal has its own
# exact inversion, distributions.TruncNormal) we tabulate the ppf once per distribution: cubic
# Hermite interpolation in t = logit(u) on 2049 nodes, with the exact derivative
# dx/dt = u (1 - u) / pdf(x). The table covers u in [1e-9, 1 - 1e-9]; draws outside it
# (probability 2e-9) use the exact ppf. It is checked at every interval midpoint against the
# exact ppf when built and used only if the error is below TABLE_TOLERANCE standard deviations;
# otherwise the exact ppf is used throughout.

TABLE_FAMILIES = ("beta",)
TABLE_NODES = 2049
TABLE_TOLERANCE = 1e-8  # in units of the distribution's standard deviation
_T_MAX = float(special.logit(1 - 1e-9))


def _table_key(dist) -> tuple | None:
    inner = getattr(dist, "dist", None)
    if getattr(inner, "name", None) not in TABLE_FAMILIES:
        return None
    return (inner.name, tuple(map(float, dist.args)), tuple(sorted(dist.kwds.items())))


@functools.lru_cache(maxsize=512)
def _tabulated_ppf(key: tuple) -> Callable[[np.ndarray], np.ndarray] | None:
    name, args, kwds = key
    dist = getattr(stats, name)(*args, **dict(kwds))
    t = np.linspace(-_T_MAX, _T_MAX, TABLE_NODES)
    u = special.expit(t)
    x = dist.ppf(u)
    pdf = dist.pdf(x)
    if not (np.all(np.isfinite(x)) and np.all(np.diff(x) >= 0) and np.all(pdf > 0)):
        return None
    spline = CubicHermiteSpline(t, x, u * (1 - u) / pdf)
    mid = (t[1:] + t[:-1]) / 2
    err = np.max(np.abs(spline(mid) - dist.ppf(special.expit(mid))))
    if not err <= TABLE_TOLERANCE * dist.std():
        return None

    def ppf(q: np.ndarray) -> np.ndarray:
        tq = special.logit(q)
        out = spline(np.clip(tq, -_T_MAX, _T_MAX))
        tails = np.abs(tq) > _T_MAX
        if tails.any():  # probability 2e-9 a draw; boost may warn about precision out there
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                exact = dist.ppf(q[tails])
            lo, hi = dist.support()
            out[tails] = np.clip(np.where(np.isfinite(exact), exact, out[tails]), lo, hi)
        return out

    return ppf


def ppf(dist, u: np.ndarray) -> np.ndarray:
    """``dist.ppf(u)``, through a verified interpolation table where the exact one is slow."""
    key = _table_key(dist)
    fast = _tabulated_ppf(key) if key is not None else None
    return fast(u) if fast is not None else np.asarray(dist.ppf(u), dtype=float)


def sample_factors(
    factors: Sequence[Factor],
    correlation: Correlation | None,
    *,
    design: str,
    seed: int,
    block: int,
    n: int,
    block_size: int,
) -> dict[str, np.ndarray]:
    """Draw every factor for one block: ``{name: array of n values}``."""
    names = [f.name for f in factors]
    u = unit_draws(design, names, seed=seed, block=block, n=n, block_size=block_size)
    return factors_from_uniforms(factors, correlation, u)


def factors_from_uniforms(
    factors: Sequence[Factor], correlation: Correlation | None, u: np.ndarray
) -> dict[str, np.ndarray]:
    """The factor values of independent uniforms ``u`` (n, factor): the copula, then each
    factor's inverse CDF. ``u`` is not changed."""
    names = [f.name for f in factors]
    if correlation is not None:
        cols = [names.index(name) for name in correlation.factors]
        u = apply_copula(u.copy(), cols, copula_factor(correlation.normal_matrix))
    return {f.name: ppf(f.dist, u[:, j]) for j, f in enumerate(factors)}
