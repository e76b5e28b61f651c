"""Conditioning one block on observations by sequential Monte Carlo (docs/conditioning.md).

Each block is an independent particle system of ``n`` particles (the block's draws): a
sequential importance resampling filter over the simulated years, in the form of Chopin &
Papaspiliopoulos (2020, *An Introduction to Sequential Monte Carlo*, Algorithm 10.1, the
"generic particle filter"; resampling when the ESS falls below a threshold, §10.2):

1. every particle starts from its own factor draws and the model's static per-draw quantities;
2. the model advances all particles to the next simulated year (:class:`~..models.Stepper`);
3. at a year with observations, each particle's weight is multiplied by the observations'
   likelihood (the same likelihoods as rejection: :mod:`.history`);
4. if the effective sample size ``(Σw)² / Σw²`` falls below :data:`RESAMPLE_ESS_FRACTION` × n,
   or some particle has weight 0 (a rank window it missed: stepping it on would be wasted work,
   and its place is better spent on a copy of a live one), the particles are resampled by
   systematic resampling (Chopin & Papaspiliopoulos, Algorithm 9.6): particle ``i`` is copied
   about ``n w_i / Σw`` times, with its history and static quantities, and every copy gets the
   mean weight ``Σw / n``.

Weights are not renormalised: a block's final weights sum to ``n`` × the block's estimate of the
observations' joint likelihood (the normalising constant ``Z``), which is unbiased (Del Moral,
2004, Theorem 7.4.2). Blocks therefore combine exactly like weighted draws of rejection: every
reducer sums ``w · f`` and ``w`` over blocks, and the ratio is consistent as blocks accumulate.

Intervals (:func:`eve_sums`). Copies of a particle are not independent. The variance of a
ratio ``Σw·h / Σw`` is estimated by grouping particles by their *Eve index*, their ancestor
among the block's initial draws (Chan & Lai, 2013, *Annals of Statistics* 41(6); Lee &
Whiteley, 2018, *Biometrika* 105(3)): ``V = Σ_e (a_e − p b_e)² / (Σw)²`` with ``a_e = Σ_{i∈e}
w_i h_i`` and ``b_e = Σ_{i∈e} w_i``, summed over the Eve groups of every block. Without
resampling each particle is its own Eve and ``V`` is the delta-method variance of a weighted
ratio.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..models import Model
from .history import Observation

#: Resample when the effective sample size falls below this fraction of the particles
#: (the common default; Chopin & Papaspiliopoulos 2020, §10.2).
RESAMPLE_ESS_FRACTION = 0.5
CONDITIONING_METHODS = ("smc", "rejection")


def systematic_resample(w: np.ndarray, u: float) -> np.ndarray:
    """Indices of ``len(w)`` particles drawn by systematic resampling with uniform ``u``.

    Particle ``i`` is chosen ``⌊n W_i⌋`` or ``⌈n W_i⌉`` times (``W = w / Σw``); a particle of
    weight 0 never is. Chopin & Papaspiliopoulos (2020), Algorithm 9.6.
    """
    n = len(w)
    cum = np.cumsum(w)
    cum /= cum[-1]
    cum[np.flatnonzero(w)[-1] :] = 1.0  # rounding must not leave the last live particle short
    return np.searchsorted(cum, (u + np.arange(n)) / n, side="right")


@dataclass(frozen=True)
class SmcBlock:
    """One block conditioned by SMC.

    ``scores`` are the particles' trajectories (metric → (n, model year, country)), each row
    the full history of the particle it ends as; ``eve`` the index of each final particle's
    ancestor among the initial draws (its factor values are ``factors[eve]``); ``weight`` the
    final unnormalised weights. The per-observation-year arrays feed ``calibrate``.
    """

    scores: dict[str, np.ndarray]
    eve: np.ndarray
    weight: np.ndarray
    obs_likelihood: np.ndarray  # (observation,) Σ w_prev · L_j
    obs_weight: np.ndarray  # (observation,) Σ w_prev (weight before the observation's year)
    weight_before: np.ndarray  # (observed year,) Σw before the year's observations
    weight_after: np.ndarray  # (observed year,) Σw after weighting by them
    ess_before: np.ndarray  # (observed year,) ESS after weighting, before resampling
    ess_after: np.ndarray  # (observed year,) ESS after resampling (the same if none)
    unique_ancestors: np.ndarray  # (observed year,) particles of that year with live descendants


def run_smc(
    model: Model,
    factors: Mapping[str, np.ndarray],
    rngs: Callable[[str], np.random.Generator],
    resample_rngs: Callable[[str], np.random.Generator],
    n: int,
    observations: Sequence[Observation],
) -> SmcBlock:
    """Simulate one block of ``n`` particles through the model's years, conditioning as it goes."""
    years = model.years
    obs_years = sorted({o.year for o in observations})
    stepper = model.start(factors, rngs, n)
    out = {m: np.empty((n, len(years), len(model.countries))) for m in model.metrics}
    w = np.ones(n)
    eve = np.arange(n)
    lineage = {}  # observed year → index (at that year) of each current particle's ancestor
    nobs, nyo = len(observations), len(obs_years)
    obs_lik, obs_w = np.zeros(nobs), np.zeros(nobs)
    ess_before, ess_after = np.zeros(nyo), np.zeros(nyo)
    w_before, w_after = np.zeros(nyo), np.zeros(nyo)
    for i, year in enumerate(years):
        scores = stepper.advance(year)
        for metric, x in scores.items():
            out[metric][:, i] = x
        if year not in obs_years:
            continue
        t = obs_years.index(year)
        w_prev = w.copy()
        w_before[t] = w_prev.sum()
        for j, obs in enumerate(observations):
            if obs.year == year:
                lik = obs.likelihood(scores[obs.metric], model.countries.index(obs.country))
                obs_lik[j] = np.dot(w_prev, lik)
                obs_w[j] = w_prev.sum()
                w *= lik
        lineage[year] = np.arange(n)
        total, sq = w.sum(), np.dot(w, w)
        w_after[t] = total
        ess_before[t] = ess_after[t] = total * total / sq if sq > 0 else 0.0
        if total <= 0 or sq <= 0:  # every particle of the block is dead: it adds nothing
            continue
        if not (ess_before[t] < RESAMPLE_ESS_FRACTION * n or (w <= 0).any()):
            continue
        idx = systematic_resample(w, resample_rngs(f"resample:{year}").random())
        stepper.take(idx)
        for metric in out:
            out[metric][:, : i + 1] = out[metric][idx, : i + 1]
        eve = eve[idx]
        for y in lineage:
            lineage[y] = lineage[y][idx]
        w = np.full(n, total / n)
        ess_after[t] = float(n)
    live = w > 0
    unique = np.array([len(np.unique(lineage[y][live])) for y in obs_years], dtype=np.float64)
    return SmcBlock(out, eve, w, obs_lik, obs_w, w_before, w_after, ess_before, ess_after, unique)


def top_indicator(x: np.ndarray, k: int) -> np.ndarray:
    """Whether each country ranks within the top ``k`` (rank = 1 + #strictly higher scores),
    for scores ``x`` of shape (n, country): ``x ≥`` the k-th largest score of its row."""
    k = min(k, x.shape[-1])
    kth = np.partition(x, -k, axis=-1)[..., -k]
    return x >= kth[..., None]


def eve_sums(
    scores: Sequence[np.ndarray], w: np.ndarray, eve: np.ndarray | None, k: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """``Σ_e a_e²``, ``Σ_e a_e b_e`` (metric, year, country) and ``Σ_e b_e²`` of one block.

    ``a_e`` sums ``w · 1[rank ≤ k]`` over the particles of Eve group ``e``, ``b_e`` sums ``w``
    (module docstring). ``scores`` are the reported years' scores per metric, (n, year,
    country); ``eve=None`` means each particle is its own group (rejection).
    """
    live = np.flatnonzero(w > 0)
    nm, ny, nc = len(scores), scores[0].shape[1], scores[0].shape[2]
    s_aa, s_ab = np.zeros((nm, ny, nc)), np.zeros((nm, ny, nc))
    if len(live) == 0:
        return s_aa, s_ab, 0.0
    if eve is None:
        groups, starts = live, None
    else:
        groups = live[np.argsort(eve[live], kind="stable")]
        e = eve[groups]
        starts = np.flatnonzero(np.r_[True, e[1:] != e[:-1]])
    wl = w[groups]
    b = wl if starts is None else np.add.reduceat(wl, starts)
    for m, x in enumerate(scores):
        for y in range(ny):
            a = top_indicator(x[groups, y, :], k) * wl[:, None]
            if starts is not None:
                a = np.add.reduceat(a, starts, axis=0)
            s_aa[m, y] = np.einsum("ec,ec->c", a, a)
            s_ab[m, y] = b @ a
    return s_aa, s_ab, float(np.dot(b, b))
