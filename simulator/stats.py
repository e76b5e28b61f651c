"""Interval estimates for Monte Carlo probabilities.

All intervals are two-sided 95% by default. With importance weights (history matching) a
proportion's interval uses the Kish effective sample size ``n_eff = (Σw)² / Σw²`` in place of n.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

CONFIDENCE = 0.95  # the level of every interval g3sim reports
Z_TWO_SIDED_95 = float(stats.norm.ppf(0.975))  # 1.95996: two-sided 95% normal quantile


def wilson_interval(p_hat, n, *, z: float = Z_TWO_SIDED_95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion ``p_hat`` estimated from ``n`` trials.

    Works element-wise on arrays; ``n`` may be an effective sample size (not an integer).
    Where ``n`` is 0 the interval is [0, 1].
    """
    p_hat = np.asarray(p_hat, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = 1 + z**2 / n
        centre = (p_hat + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p_hat * (1 - p_hat) / n + z**2 / (4 * n**2)) / denom
        lower = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
        upper = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    # At p̂ = 0 or 1 the exact bound is 0 or 1; rounding can leave a few ulps.
    lower = np.where(p_hat <= 0, 0.0, lower)
    upper = np.where(p_hat >= 1, 1.0, upper)
    return lower, upper


def draws_for_halfwidth(draws: int, halfwidth: float, target: float) -> int:
    """The draws that bring a 95% half-width of ``halfwidth``, reached after ``draws``, down to
    ``target``: a half-width falls as 1/√draws (with conditioning, as 1/√ESS, and the effective
    sample size grows in proportion to the draws), so ``draws × (halfwidth / target)²``.

    An estimate: the probability itself, and so the half-width's constant, moves as draws grow.
    """
    if not (halfwidth > 0 and target > 0) or not np.isfinite(halfwidth):
        return int(draws)
    return int(np.ceil(draws * (halfwidth / target) ** 2 - 1e-9))


def round_draws(n: int) -> int:
    """A number of draws to two significant figures, for an estimate (2,854,764 → 2,900,000)."""
    return int(float(f"{n:.2g}")) if n > 0 else 0


def clopper_pearson_interval(k, n, *, confidence: float = 0.95):
    """Exact (conservative) binomial interval for ``k`` successes in ``n`` trials."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    a = (1 - confidence) / 2
    with np.errstate(invalid="ignore"):
        lower = np.where(k > 0, stats.beta.ppf(a, k, n - k + 1), 0.0)
        upper = np.where(k < n, stats.beta.ppf(1 - a, k + 1, n - k), 1.0)
    return lower, upper


def histogram_quantiles(counts: np.ndarray, edges: np.ndarray, qs) -> np.ndarray:
    """Quantiles from histogram ``counts`` (last axis = bins) with bin ``edges``.

    Linear interpolation inside the bin that holds each quantile; the error is at most one bin
    width. Returns an array with the quantile axis last; NaN where a histogram is empty.
    """
    counts = np.asarray(counts, dtype=float)
    cum = np.cumsum(counts, axis=-1)
    total = cum[..., -1:]
    out = np.empty((*counts.shape[:-1], len(qs)))
    flat_cum = cum.reshape(-1, counts.shape[-1])
    flat_tot = total.reshape(-1)
    flat_counts = counts.reshape(-1, counts.shape[-1])
    res = out.reshape(-1, len(qs))
    for i in range(flat_cum.shape[0]):
        if flat_tot[i] <= 0:
            res[i] = np.nan
            continue
        target = np.asarray(qs) * flat_tot[i]
        j = np.searchsorted(flat_cum[i], target, side="left")
        j = np.minimum(j, counts.shape[-1] - 1)
        before = np.where(j > 0, flat_cum[i][j - 1], 0.0)
        inside = flat_counts[i][j]
        frac = np.where(inside > 0, (target - before) / np.where(inside > 0, inside, 1), 0.5)
        res[i] = edges[j] + np.clip(frac, 0, 1) * (edges[j + 1] - edges[j])
    return out


def ratio_effective_size(p_hat, wsum, s_aa, s_ab, s_bb):
    """The sample size at which a binomial proportion would have the variance of the weighted
    ratio ``p̂ = Σw·h / Σw``: ``p̂(1 − p̂) / V``.

    ``V = (s_aa − 2 p̂ s_ab + p̂² s_bb) / (Σw)²`` is the delta-method variance of the ratio with
    the weights grouped by common ancestor (engine/smc.py): ``s_aa = Σ_e a_e²``, ``s_ab = Σ_e
    a_e b_e``, ``s_bb = Σ_e b_e²``. Where ``V`` is 0 (p̂ = 0 or 1) it is the Kish size
    ``(Σw)² / s_bb``. Element-wise; feed the result to :func:`wilson_interval`.
    """
    p_hat = np.asarray(p_hat, dtype=float)
    wsum = np.asarray(wsum, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (s_aa - 2 * p_hat * s_ab + p_hat * p_hat * s_bb) / (wsum * wsum)
        kish = np.where(s_bb > 0, wsum * wsum / s_bb, 0.0)
        n_eff = np.where(var > 0, p_hat * (1 - p_hat) / var, kish)
    return np.where((p_hat > 0) & (p_hat < 1), n_eff, kish)
