"""First-order sensitivity indices from given data, valid for dependent, weighted inputs.

Pure numpy: per-draw inputs, outputs, weights and groups in, a small frozen dataclass out.

Why this estimator
    Conditioning on history (weights, or resampled particles) makes the inputs dependent: the
    draws that reproduce the observed ranks are a correlated subset of the prior. Sobol's
    pick-freeze designs assume independent inputs sampled afresh, so they explain the prior's P,
    not the headline's. The first-order index S_j = Var(E[Y | X_j]) / Var(Y) needs no
    independence: it is a property of the joint distribution of (X_j, Y), and the conditioned
    per-draw population of a run is a weighted sample of exactly that joint distribution. With
    dependent inputs S_j counts what X_j explains *including* through the inputs it is
    correlated with, so the indices of correlated inputs overlap and their sum is no share of
    anything; each one alone is meaningful (Da Veiga et al. 2021, ch. 5; Plischke 2010).

The estimator (binning, "given data": Plischke 2010; Strong & Oakley 2013)
    For input j, cut its range into M bins holding equal weight; E[Y | X_j] is estimated by the
    weighted mean of Y in each bin, and

        S_j = (Σ_b W_b (ȳ_b − ȳ)² − Σ_b W_b Var(ȳ_b)) / V,    W_b = the bin's share of the weight,

    with V the weighted variance of Y. The second term removes the bias of the binned means'
    own Monte Carlo noise (without it S_j of an input that does nothing is about M / n_eff).
    Draws come in groups (particles descended from one initial draw; without resampling each
    draw is its own group) whose members are not independent; their inputs may still differ
    (rejuvenation moves after the last observation change them). Var(ȳ_b) is the grouped
    (cluster) variance Σ_g (Σ_{i∈g, i in b} w_i (y_i − ȳ_b))² / W_b², and intervals are
    percentile intervals of a cluster bootstrap (groups drawn with replacement), so duplicates
    are never counted as independent,
    recentred on the estimate (a resample adds its own binning noise, which shifts the
    replicates up by about the noise term; the interval keeps their spread).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisError

MIN_BINS, MAX_BINS = 4, 50
MIN_GROUPS = 50


@dataclass(frozen=True)
class GivenDataIndices:
    """First-order indices (outcome, input) with bootstrap intervals, and the outcomes' moments."""

    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    mean: np.ndarray  # (outcome,) weighted means: the first is the headline P for an indicator
    variance: np.ndarray  # (outcome,)
    bins: int
    groups: int
    effective_sample_size: float  # Kish, over groups
    constant: np.ndarray  # (input,) bool: the input does not vary (its index is 0)


def default_bins(ess: float) -> int:
    """About sqrt(ESS) / 3 bins, between 4 and 50: enough draws per bin for stable means."""
    return int(np.clip(round(np.sqrt(max(ess, 1.0)) / 3), MIN_BINS, MAX_BINS))


def _weighted_bins(x: np.ndarray, w: np.ndarray, m: int) -> np.ndarray:
    """Bin index (0..m-1) of every value: equal-weight bins, or one bin per value if few."""
    values = np.unique(x)
    if len(values) <= m:
        return np.searchsorted(values, x)
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order])
    edges_at = np.searchsorted(cum, cum[-1] * np.arange(1, m) / m)
    edges = np.unique(x[order][np.minimum(edges_at, len(x) - 1)])
    return np.searchsorted(edges, x, side="right")


@dataclass(frozen=True)
class _Pairs:
    """One input's draws summed by (group, bin): what every resample needs, computed once."""

    group: np.ndarray  # (P,) the pair's group
    bin: np.ndarray  # (P,) the pair's bin
    w: np.ndarray  # (P,) Σ w
    a: np.ndarray  # (P, o) Σ w·y


def _pairs(g: np.ndarray, b: np.ndarray, m: int, w: np.ndarray, y: np.ndarray) -> _Pairs:
    keys, index = np.unique(g * m + b, return_inverse=True)
    a = np.stack([np.bincount(index, w * y[:, k]) for k in range(y.shape[1])], axis=1)
    return _Pairs(keys // m, keys % m, np.bincount(index, w), a)


def _indices(pairs: list[_Pairs], m: int, c: np.ndarray, moments) -> np.ndarray:
    """S (outcome, input) for group multiplicities ``c`` (1: the sample; counts: a resample)."""
    gw, ga, gq = moments  # per group: Σw, Σw·y, Σw·y²
    total = c @ gw
    mean = c @ ga / total
    var = c @ gq / total - mean**2
    out = np.empty((ga.shape[1], len(pairs)))
    for j, pr in enumerate(pairs):
        cp = c[pr.group]
        w_bin = np.bincount(pr.bin, cp * pr.w, minlength=m)
        held = w_bin > 0
        for k in range(ga.shape[1]):
            sums = np.bincount(pr.bin, cp * pr.a[:, k], minlength=m)
            m_bin = np.divide(sums, w_bin, where=held, out=np.zeros(m))
            between = np.sum(w_bin * (m_bin - mean[k]) ** 2) / total
            resid = pr.a[:, k] - m_bin[pr.bin] * pr.w  # per (group, bin): Σ w (y − ȳ_b)
            v_bin = np.bincount(pr.bin, cp * resid**2, minlength=m)
            noise = np.sum(np.divide(v_bin, w_bin, where=held, out=np.zeros(m))) / total
            out[k, j] = (between - noise) / var[k] if var[k] > 0 else np.nan
    return out


def given_data_indices(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    *,
    bins: int | None = None,
    n_resamples: int = 199,
    confidence: float = 0.95,
    rng: np.random.Generator,
) -> GivenDataIndices:
    """First-order indices of every input for every outcome, from a weighted per-draw sample.

    Parameters
    ----------
    x, y
        Inputs ``(n, d)`` and outcomes ``(n, o)``.
    weights
        Per-draw weights (default: equal).
    groups
        Per-draw group labels; draws of a group share their inputs (default: each its own).
    bins
        Bins per input (default :func:`default_bins` of the groups' effective sample size).
    rng
        The bootstrap's generator.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    keep = w > 0
    x, y, w = x[keep], y[keep], w[keep]
    label = np.arange(n)[keep] if groups is None else np.asarray(groups)[keep]
    _, g = np.unique(label, return_inverse=True)
    moments = (
        np.bincount(g, w),
        np.stack([np.bincount(g, w * y[:, k]) for k in range(y.shape[1])], axis=1),
        np.stack([np.bincount(g, w * y[:, k] ** 2) for k in range(y.shape[1])], axis=1),
    )
    n_groups = len(moments[0])
    ess = float(moments[0].sum() ** 2 / np.sum(moments[0] ** 2)) if n_groups else 0.0
    if n_groups < MIN_GROUPS:
        raise AnalysisError(
            f"only {n_groups} independent draws carry weight (at least {MIN_GROUPS} are needed "
            "for given-data indices); run more draws"
        )
    m = bins or default_bins(ess)
    pairs = [_pairs(g, _weighted_bins(x[:, j], w, m), m, w, y) for j in range(x.shape[1])]
    ones = np.ones(n_groups)
    value = _indices(pairs, m, ones, moments)
    draw = rng.multinomial
    boot = np.stack(
        [
            _indices(pairs, m, draw(n_groups, ones / n_groups).astype(float), moments)
            for _ in range(n_resamples)
        ]
    )
    alpha = (1 - confidence) / 2
    with np.errstate(invalid="ignore"):
        # Centred on the estimate: a resample's binned means carry the sample's noise and their
        # own, so the replicates sit above the estimate by about the noise term; the interval
        # keeps their spread, not that shift.
        shift = np.nanmean(boot, axis=0) - value
        lower, upper = np.nanquantile(boot, [alpha, 1 - alpha], axis=0) - shift
    gw, ga, gq = moments
    mean = ga.sum(0) / gw.sum()
    constant = np.ptp(x, axis=0) == 0
    value[:, constant] = lower[:, constant] = upper[:, constant] = 0.0
    return GivenDataIndices(
        value, lower, upper, mean, gq.sum(0) / gw.sum() - mean**2, m, n_groups, ess, constant
    )
