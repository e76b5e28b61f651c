"""Global sensitivity analysis: Sobol indices of a vectorised function, and rank measures.

Pure numpy/scipy: arrays and distributions in, small frozen dataclasses out. The g3sim glue
(a scenario's model as a function, a result's per-draw data) is in :mod:`.runs`.

Sobol indices (:func:`sobol_indices`)
    The Saltelli et al. (2010) design: two independent sample matrices A and B of the factors
    (one scrambled Sobol sequence of dimension 2d, mapped through each factor's ``ppf``) and, for
    each factor j, the matrix AB_j = A with column j taken from B. From the function's values:

    * first order  S_j  = mean(f(B) · (f(AB_j) − f(A))) / V          (Saltelli 2010, table 2 b)
    * total order  ST_j = mean((f(A) − f(AB_j))²) / (2 V)            (Jansen 1999)

    with V the variance of f over A and B pooled, after centring on their mean — the estimator
    of ``scipy.stats.sobol_indices`` (``saltelli_2010``); the tests check that both give the same
    numbers. Intervals are percentile bootstrap intervals over the n design rows, drawn from a
    seeded generator (scipy's own bootstrap draws from fresh entropy, and its BCa jackknife costs
    n extra evaluations of the statistic).

Functions with internal noise (``noise=True``)
    A stochastic simulator is a function f(X, ε) of the factors X and of its internal random
    numbers ε. This module treats ε as one more input, independent of X, made controllable by
    common random numbers: the function is called as ``func(x, noise=k)`` and must give column i
    the same internal randomness whenever it is called with the same label k (draw it from
    generators keyed by (k, block) and fill arrays draw-major). A and every AB_j use label 0,
    B uses label 1, and one extra matrix (A's factors with label 1) gives the indices of ε itself.
    The indices are then the ordinary Sobol indices of f over the joint input (X, ε):

    * S_j  = Var(E[Y | X_j]) / Var(Y): the share of the outcome's variance explained by factor j
      alone, averaging over the other factors and over the internal noise;
    * ST_j = E[Var(Y | X_~j, ε)] / Var(Y): the share that would vanish if factor j were fixed,
      interactions with the noise included;
    * the noise's S and ST say how much of the variance is irreducible model chance.
      Σ S_j + S_ε ≤ 1; the rest is interactions.

Rank measures (:func:`rank_sensitivity`)
    Spearman rank correlations and standardised rank regression coefficients (SRRC) of each
    factor with each outcome, from any per-draw sample (weighted draws allowed: ranks are
    mid-ranks of the weighted empirical distribution, correlations are weighted). Intervals of
    the rank correlations use Fisher's z with the Bonett & Wright (2000) variance
    (1 + r²/2)/(n − 3), n the Kish effective sample size.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.stats import qmc

from ..errors import AnalysisError

NOISE = "internal noise"
MIN_SOBOL_N = 64  # fewer base rows make the bootstrap intervals meaningless
# The design's rows are held in memory, (len(inputs) + 3) of them per base row.
MAX_SOBOL_ROWS = 2**27
MIN_RANK_DRAWS = 20
# Uniforms are kept strictly inside (0, 1), as in simulator.sampling, so ppf stays finite.
_U_LOW = 2.0**-54
_U_HIGH = 1.0 - 2.0**-53
_BOOTSTRAP_CHUNK = 64  # resamples per matrix product (memory: chunk × n floats)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with the bounds of its confidence interval (arrays of one shape)."""

    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@dataclass(frozen=True)
class SobolIndices:
    """First-order and total Sobol indices with bootstrap intervals.

    Arrays are ``(outcome, input)``; ``names`` are the inputs, the factors asked for followed,
    when ``noise`` is true, by :data:`NOISE` (the function's internal randomness).
    """

    names: tuple[str, ...]
    first_order: Estimate
    total_order: Estimate
    mean: np.ndarray  # (outcome,) mean of the function over A and B
    variance: np.ndarray  # (outcome,) variance of the function over A and B
    n: int  # rows of the base matrices A and B
    evaluations: int  # function evaluations (rows) in all
    noise: bool
    confidence: float
    n_resamples: int


@dataclass(frozen=True)
class RankSensitivity:
    """Rank correlations and SRRC of each factor with each outcome: arrays ``(outcome, factor)``."""

    names: tuple[str, ...]
    rank_correlation: Estimate
    srrc: np.ndarray
    r_squared: np.ndarray  # (outcome,) of the rank regression
    n: int
    effective_sample_size: float
    confidence: float


# ---------------------------------------------------------------------------------------------
# Sobol indices


def sample_matrices(
    dists: Sequence[Any], *, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Independent design matrices A and B, each ``(d, n)``: one scrambled Sobol sequence of
    dimension 2d (Saltelli 2010, section 5), mapped through each distribution's ``ppf``."""
    d = len(dists)
    u = qmc.Sobol(2 * d, scramble=True, rng=rng).random(n)
    np.clip(u, _U_LOW, _U_HIGH, out=u)
    ab = u.T.reshape(2, d, n)
    out = np.empty_like(ab)
    for j, dist in enumerate(dists):
        out[:, j] = np.asarray(dist.ppf(ab[:, j]), dtype=float)
    return out[0], out[1]


def _as_outputs(y: Any, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    y = y.reshape(1, -1) if y.ndim == 1 else y
    if y.ndim != 2 or y.shape[1] != n:
        raise AnalysisError(
            f"the function must return shape (n,) or (outcomes, n) with n = {n}, got {y.shape}"
        )
    if not np.isfinite(y).all():
        raise AnalysisError("the function returned non-finite values; check its inputs' ranges")
    return y


def sobol_indices(
    *,
    func: Callable[..., Any],
    dists: Sequence[Any],
    n: int,
    rng: np.random.Generator,
    names: Sequence[str] | None = None,
    which: Sequence[int] | None = None,
    noise: bool = False,
    confidence: float = 0.95,
    n_resamples: int = 999,
    progress: Callable[[int, int], None] | None = None,
) -> SobolIndices:
    """First-order and total Sobol indices of ``func`` with percentile-bootstrap intervals.

    Parameters
    ----------
    func
        Vectorised: ``func(x)`` with ``x`` of shape ``(d, n)`` returns ``(n,)`` or
        ``(outcomes, n)``. With ``noise=True`` it is called as ``func(x, noise=k)``, k ∈ {0, 1},
        and must follow the common-random-numbers contract of the module docstring.
    dists
        One distribution per input, each with a ``ppf`` (e.g. frozen ``scipy.stats``);
        inputs are independent.
    n
        Rows of A and B: a power of two ≥ 64. ``func`` sees ``n · (len(which) + 2)`` rows in all,
        ``n`` more with ``noise``.
    rng
        Generator for the Sobol scrambling and the bootstrap resamples.
    names
        Input names (default ``x1``, ``x2`` ...).
    which
        Indices of the inputs whose indices to estimate (default all); the others still vary.
    noise
        ``func`` has internal randomness; also estimate its indices (name :data:`NOISE`).
    confidence, n_resamples
        Level and size of the bootstrap.
    progress
        Called as ``progress(rows_done, rows_total)`` after each matrix.

    Returns
    -------
    SobolIndices
        Arrays ``(outcome, input)`` over ``which`` (then the noise).
    """
    d = len(dists)
    _check_design(d, n, confidence)
    names = tuple(names) if names is not None else tuple(f"x{j + 1}" for j in range(d))
    which = list(range(d)) if which is None else [int(j) for j in which]
    pages = len(which) + int(noise)
    total = n * (pages + 2)
    done = 0

    def call(x: np.ndarray, label: int) -> np.ndarray:
        nonlocal done
        y = _as_outputs(func(x, noise=label) if noise else func(x), n)
        done += n
        if progress is not None:
            progress(done, total)
        return y

    a, b = sample_matrices(dists, n=n, rng=rng)
    f_a = call(a, 0)
    f_b = call(b, 1)
    f_ab = np.empty((pages, *f_a.shape))
    for p, j in enumerate(which):
        ab = a.copy()
        ab[j] = b[j]
        f_ab[p] = call(ab, 0)
    if noise:
        f_ab[-1] = call(a, 1)  # A's factors, B's noise

    value, boot, mean, var = _saltelli_bootstrap(f_a, f_b, f_ab, rng=rng, n_resamples=n_resamples)
    bounds = _percentile_bounds(value, boot, confidence, n_resamples)
    first = Estimate(value[0], bounds[0, 0], bounds[1, 0])
    total_ = Estimate(value[1], bounds[0, 1], bounds[1, 1])
    return SobolIndices(
        names=tuple(names[j] for j in which) + ((NOISE,) if noise else ()),
        first_order=first,
        total_order=total_,
        mean=mean,
        variance=var,
        n=n,
        evaluations=total,
        noise=noise,
        confidence=confidence,
        n_resamples=n_resamples,
    )


def _check_design(d: int, n: int, confidence: float) -> None:
    if d == 0:
        raise AnalysisError("no inputs: Sobol indices need at least one factor")
    if n < MIN_SOBOL_N or n & (n - 1):
        raise AnalysisError(
            f"n = {n}: Sobol indices need a power of two ≥ {MIN_SOBOL_N} base rows "
            f"(e.g. {max(MIN_SOBOL_N, 1 << max(int(n).bit_length(), 1))})"
        )
    if n * (d + 3) > MAX_SOBOL_ROWS:
        fit = 1 << ((MAX_SOBOL_ROWS // (d + 3)).bit_length() - 1)
        raise AnalysisError(
            f"n = {n}: {n:,} base rows × ({d} inputs + 3) exceed the {MAX_SOBOL_ROWS:,} rows "
            f"held in memory; use n ≤ {fit:,}"
        )
    if not 0 < confidence < 1:
        raise AnalysisError(f"confidence must lie in (0, 1), got {confidence}")


def _percentile_bounds(
    value: np.ndarray, boot: np.ndarray, confidence: float, n_resamples: int
) -> np.ndarray:
    """Lower and upper percentile-bootstrap bounds, ``(2, *value.shape)``; NaN where value is."""
    q = [(1 - confidence) / 2, (1 + confidence) / 2]
    if n_resamples:
        with warnings.catch_warnings():  # an index whose every resample is NaN stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            bounds = np.nanquantile(boot, q, axis=0)
    else:
        bounds = np.full((2, *value.shape), np.nan)
    bounds[:, np.isnan(value)] = np.nan
    return bounds


def _saltelli_bootstrap(
    f_a: np.ndarray,
    f_b: np.ndarray,
    f_ab: np.ndarray,
    *,
    rng: np.random.Generator,
    n_resamples: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Point estimates ``(2, s, k)`` (first, total), their bootstrap replicates
    ``(n_resamples, 2, s, k)``, and the outcome means and variances ``(s,)``.

    Every statistic is a ratio of means over the n rows, so a resample is a vector of
    multinomial counts and its means are one matrix product.
    """
    s, n = f_a.shape
    k = f_ab.shape[0]
    centre = 0.5 * (f_a.mean(axis=1) + f_b.mean(axis=1))
    a = f_a - centre[:, None]  # centring first avoids cancellation in mean(f²) − mean(f)²
    b = f_b - centre[:, None]
    diff = f_ab - centre[None, :, None] - a[None]  # f(AB) − f(A), shape (k, s, n)
    columns = np.concatenate(
        [a, b, a * a, b * b, *(v.reshape(k * s, n) for v in (b * diff, diff, diff * diff))]
    ).T  # (n, 4s + 3ks)

    def indices(means: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r = means.shape[0]
        ma, mb, ma2, mb2 = (means[:, i * s : (i + 1) * s] for i in range(4))
        rest = means[:, 4 * s :].reshape(r, 3, k, s)
        m = 0.5 * (ma + mb)
        var = 0.5 * (ma2 + mb2) - m * m
        with np.errstate(divide="ignore", invalid="ignore"):
            var_ok = np.where(var > 0, var, np.nan)[:, None, :]
            first = (rest[:, 0] - m[:, None, :] * rest[:, 1]) / var_ok
            total = 0.5 * rest[:, 2] / var_ok
        out = np.stack([first, total], axis=1).transpose(0, 1, 3, 2)  # (r, 2, s, k)
        return out, m, var

    point, m, var = indices(columns.mean(axis=0, keepdims=True))
    boot = np.empty((n_resamples, 2, s, k))
    for lo in range(0, n_resamples, _BOOTSTRAP_CHUNK):
        r = min(_BOOTSTRAP_CHUNK, n_resamples - lo)
        rows = rng.integers(0, n, size=(r, n))
        rows += (np.arange(r) * n)[:, None]
        counts = np.bincount(rows.ravel(), minlength=r * n).reshape(r, n).astype(float)
        boot[lo : lo + r] = indices(counts @ columns / n)[0]
    mean = centre + m[0]
    return point[0], boot, mean, var[0]


# ---------------------------------------------------------------------------------------------
# Rank measures


def weighted_ranks(x: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Mid-ranks of each column as fractions in (0, 1): ``(W(x < xᵢ) + W(x = xᵢ)/2) / W``.

    Unweighted, this is ``(average rank − 1/2) / n``, an affine map of the ranks that
    ``scipy.stats.spearmanr`` uses (ties share their average rank).
    """
    x = np.asarray(x, dtype=float)
    one_d = x.ndim == 1
    x = x.reshape(len(x), -1)
    n = x.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    out = np.empty_like(x)
    total = w.sum()
    for j in range(x.shape[1]):
        order = np.argsort(x[:, j], kind="stable")
        xs = x[order, j]
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(xs[1:], xs[:-1], out=new[1:])
        start = np.flatnonzero(new)
        group_w = np.add.reduceat(w[order], start)
        mid = (np.cumsum(group_w) - 0.5 * group_w) / total
        out[order, j] = mid[np.cumsum(new) - 1]
    return out[:, 0] if one_d else out


def _standardise(z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted z-scores of each column; columns with zero spread become 0 (flagged False)."""
    mean = w @ z / w.sum()
    z = z - mean
    sd = np.sqrt(w @ (z * z) / w.sum())
    ok = sd > 1e-12
    z[:, ok] /= sd[ok]
    z[:, ~ok] = 0.0
    return z, ok


def _srrc(zx, zy, w, okx, oky) -> tuple[np.ndarray, np.ndarray]:
    """Standardised rank regression coefficients ``(outcome, factor)`` and each outcome's R²,
    from the standardised ranks ``zx`` ``(n, d)`` and ``zy`` ``(n, s)`` (weighted least squares
    on the factors that vary, ``okx``, for the outcomes that vary, ``oky``)."""
    s, d = zy.shape[1], zx.shape[1]
    wsum = w.sum()
    srrc = np.full((s, d), np.nan)
    r2 = np.full(s, np.nan)
    cols = np.flatnonzero(okx)
    sw = np.sqrt(w)[:, None]
    for i in np.flatnonzero(oky):
        if cols.size == 0:
            break
        beta, *_ = np.linalg.lstsq(zx[:, cols] * sw, zy[:, i] * sw[:, 0], rcond=None)
        srrc[i, cols] = beta
        resid = zy[:, i] - zx[:, cols] @ beta
        r2[i] = 1 - (w @ (resid * resid)) / wsum
    return srrc, r2


def rank_sensitivity(
    *,
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> RankSensitivity:
    """Spearman rank correlations and SRRC of each factor with each outcome.

    Parameters
    ----------
    x
        Factor values, ``(n, d)`` (draws along the first axis).
    y
        Outcomes, ``(n,)`` or ``(n, s)``.
    weights
        Optional non-negative draw weights (e.g. history-matching likelihoods).
    names
        Factor names.
    confidence
        Level of the rank correlations' intervals.

    Returns
    -------
    RankSensitivity
        Arrays ``(outcome, factor)``; NaN where a factor or an outcome does not vary.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    y = y.reshape(len(y), -1)
    n, d = x.shape
    if d == 0:
        raise AnalysisError("no factors: rank sensitivity needs at least one factor")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    wsum = w.sum()
    ess = float(wsum**2 / np.dot(w, w)) if wsum > 0 else 0.0
    if n < MIN_RANK_DRAWS or ess < d + 3:
        raise AnalysisError(
            f"{n:,} draws (effective sample size {ess:,.0f}) are too few for rank "
            f"sensitivity of {d} factors; it needs ≥ {MIN_RANK_DRAWS} draws and an effective "
            f"sample size ≥ {d + 3}: run more draws"
        )
    zx, okx = _standardise(weighted_ranks(x, w), w)
    zy, oky = _standardise(weighted_ranks(y, w), w)
    corr = (zy * w[:, None]).T @ zx / wsum  # (s, d)
    corr[:, ~okx] = np.nan
    corr[~oky, :] = np.nan
    np.clip(corr, -1.0, 1.0, out=corr)
    # Fisher z with the Bonett–Wright variance for Spearman's rho.
    zcrit = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt((1 + corr**2 / 2) / max(ess - 3, 1e-12))
        zc = np.arctanh(np.clip(corr, -1 + 1e-15, 1 - 1e-15))
        lower, upper = np.tanh(zc - zcrit * se), np.tanh(zc + zcrit * se)
    srrc, r2 = _srrc(zx, zy, w, okx, oky)
    return RankSensitivity(
        names=tuple(names) if names is not None else tuple(f"x{j + 1}" for j in range(d)),
        rank_correlation=Estimate(corr, lower, upper),
        srrc=srrc,
        r_squared=r2,
        n=n,
        effective_sample_size=ess,
        confidence=confidence,
    )
