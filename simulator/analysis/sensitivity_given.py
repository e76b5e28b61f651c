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
    Draws come in groups that share their inputs (particles descended from one initial draw;
    without resampling each draw is its own group): Var(ȳ_b) is the grouped (cluster) variance
    Σ_g (Σ_{i∈g} w_i (y_i − ȳ_b))² / W_b², and intervals are percentile intervals of a cluster
    bootstrap (groups drawn with replacement), so duplicates are never counted as independent,
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


def _indices(bins, m, c, bw, a, q) -> np.ndarray:
    """S (outcome, input) for group multiplicities ``c`` (1: the sample; counts: a resample)."""
    wb, ab, qb = c * bw, c[:, None] * a, c[:, None] * q  # (G,), (G, o), (G, o)
    total = wb.sum()
    mean = ab.sum(0) / total
    var = qb.sum(0) / total - mean**2
    out = np.empty((a.shape[1], bins.shape[1]))
    for j in range(bins.shape[1]):
        b = bins[:, j]
        w_bin = np.bincount(b, wb, minlength=m)
        held = w_bin > 0
        for k in range(a.shape[1]):
            m_bin = np.divide(
                np.bincount(b, ab[:, k], minlength=m), w_bin, where=held, out=np.zeros(m)
            )
            between = np.sum(w_bin * (m_bin - mean[k]) ** 2) / total
            resid = a[:, k] - m_bin[b] * bw  # per group: Σ w (y − ȳ_b)
            v_bin = np.bincount(b, c * resid**2, minlength=m)
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
    label = np.arange(n) if groups is None else np.asarray(groups)
    _, first, g = np.unique(label, return_index=True, return_inverse=True)
    bw = np.bincount(g, w)
    a = np.stack([np.bincount(g, w * y[:, k]) for k in range(y.shape[1])], axis=1)
    q = np.stack([np.bincount(g, w * y[:, k] ** 2) for k in range(y.shape[1])], axis=1)
    xg = x[first]
    keep = bw > 0
    bw, a, q, xg = bw[keep], a[keep], q[keep], xg[keep]
    ess = float(bw.sum() ** 2 / np.sum(bw**2)) if len(bw) else 0.0
    if len(bw) < MIN_GROUPS:
        raise AnalysisError(
            f"only {len(bw)} independent draws carry weight (at least {MIN_GROUPS} are needed "
            "for given-data indices); run more draws"
        )
    m = bins or default_bins(ess)
    binned = np.stack([_weighted_bins(xg[:, j], bw, m) for j in range(xg.shape[1])], axis=1)
    ones = np.ones(len(bw))
    value = _indices(binned, m, ones, bw, a, q)
    boot = np.stack(
        [
            _indices(binned, m, rng.multinomial(len(bw), ones / len(bw)).astype(float), bw, a, q)
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
    mean = a.sum(0) / bw.sum()
    constant = np.ptp(xg, axis=0) == 0
    value[:, constant] = lower[:, constant] = upper[:, constant] = 0.0
    return GivenDataIndices(
        value, lower, upper, mean, q.sum(0) / bw.sum() - mean**2, m, len(bw), ess, constant
    )
