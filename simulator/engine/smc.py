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
from dataclasses import dataclass, replace

import numpy as np

from ..models import Model
from .history import Observation
from .moves import Latents, MoveSpec, move_labels, rejuvenate

#: Resample when the effective sample size falls below this fraction of the particles
#: (the common default; Chopin & Papaspiliopoulos 2020, §10.2).
RESAMPLE_ESS_FRACTION = 0.5
#: Adaptive tempering: a year's likelihood is brought in as L^Δφ slices, each as large as keeps
#: the conditional ESS (Zhou, Johansen & Aston 2016) at this fraction of the live particles'.
#: Chosen on the baseline (docs/conditioning.md, "Tuning"): 0.9 instead of the common 0.5 takes
#: more, gentler slices, each followed by a move, and keeps more ancestors alive. With the
#: baseline's back-tested observation tolerance the 2030 index headline's variance-equivalent
#: ESS ÷ draws is about 0.4 at 0.9 against 0.2 at 0.8, for 1.3× the time.
TEMPER_ESS_FRACTION = 0.9
MAX_TEMPER_STEPS = 12  # per observed year; the last step takes what remains of the likelihood


def next_temperature(w: np.ndarray, ll: np.ndarray, phi: float) -> float:
    """The tempering increment Δφ ∈ (0, 1 − φ]: the largest whose conditional ESS
    ``(Σ w a)² / (Σw · Σ w a²)``, ``a = L^Δφ``, is at least :data:`TEMPER_ESS_FRACTION` of its
    value as Δφ → 0 (particles with L = 0 are dropped at once, whatever Δφ). Bisection."""
    rest = 1.0 - phi
    live = (w > 0) & ~np.isneginf(ll)
    if not live.any():
        return rest
    # Scale and shift cancel in the ratio; they keep tiny weights and likelihoods finite.
    wl, x = w[live] / w[live].max(), ll[live] - ll[live].max()

    def cess(d: float) -> float:
        a = np.exp(d * x)
        return (wl @ a) ** 2 / (wl.sum() * (wl @ (a * a)))

    if cess(rest) >= TEMPER_ESS_FRACTION:
        return rest
    lo, hi = 0.0, rest
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cess(mid) >= TEMPER_ESS_FRACTION else (lo, mid)
    return max(hi, 1e-9 * rest)


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
    ancestor among the initial draws; ``factors`` the final particles' factor values (n,
    factor), ``weight`` their unnormalised weights. The per-observation-year arrays feed
    ``calibrate``.
    """

    scores: dict[str, np.ndarray]
    eve: np.ndarray
    factors: np.ndarray
    weight: np.ndarray
    obs_likelihood: np.ndarray  # (observation,) Σ w_prev · L_j
    obs_weight: np.ndarray  # (observation,) Σ w_prev (weight before the observation's year)
    weight_before: np.ndarray  # (observed year,) Σw before the year's observations
    weight_after: np.ndarray  # (observed year,) Σw after weighting by them
    ess_before: np.ndarray  # (observed year,) ESS after weighting, before resampling
    ess_after: np.ndarray  # (observed year,) ESS after resampling (the same if none)
    unique_ancestors: np.ndarray  # (observed year,) particles of that year with live descendants
    move_acceptance: np.ndarray  # (move,) Σ over live particles of the acceptance probability
    move_particles: np.ndarray  # (move,) live particles moved
    temper_steps: np.ndarray  # (observed year,) tempering steps (1: the likelihood at once)


class ParticleSystem:
    """The particles of one block, filtered through the model's years (module docstring).

    ``latents`` (:class:`.moves.Latents`) are what a rejuvenation move perturbs: the block's
    factor uniforms and every random array the model drew (recorded), or None without moves.
    """

    def __init__(self, model: Model, stepper, n: int, observations, latents=None):
        self.model, self.stepper, self.n = model, stepper, n
        self.observations = observations
        self.obs_years = sorted({o.year for o in observations})
        nobs, nyo = len(observations), len(self.obs_years)
        self.out = {m: np.empty((n, len(model.years), len(model.countries))) for m in model.metrics}
        self.w = np.ones(n)
        # Log-likelihoods of each particle: of the observed years before the current one, and of
        # the current year's observations; the target is ll_prev + phi · ll_now (tempering).
        self.ll_prev, self.ll_now, self.phi = np.zeros(n), np.zeros(n), 1.0
        self.eve = np.arange(n)
        self.lineage: dict[int, np.ndarray] = {}  # observed year → ancestor index at that year
        self.latents = latents
        self.obs_lik, self.obs_w = np.zeros(nobs), np.zeros(nobs)
        self.ess_before, self.ess_after = np.full(nyo, float(n)), np.zeros(nyo)
        self.w_before, self.w_after = np.zeros(nyo), np.zeros(nyo)
        self.steps = np.zeros(nyo)  # tempering steps taken at each observed year

    def target(self, ll_prev: np.ndarray, ll_now: np.ndarray, phi: float) -> np.ndarray:
        """The log target density (up to the prior) at tempering ``phi``; −inf stays −inf."""
        if phi <= 0:
            return ll_prev
        return ll_prev + np.where(np.isneginf(ll_now), -np.inf, phi * ll_now)

    def start_year(self, year: int, scores: Mapping[str, np.ndarray]) -> None:
        """Compute the likelihood of ``year``'s observations for every particle (weights are
        multiplied in by :meth:`temper`)."""
        t = self.obs_years.index(year)
        self.ll_prev = self.ll_prev + self.ll_now
        self.ll_now = np.zeros(self.n)
        self.phi = 0.0
        self.w_before[t] = self.w.sum()
        with np.errstate(divide="ignore"):
            for j, obs in enumerate(self.observations):
                if obs.year == year:
                    lik = obs.likelihood(
                        scores[obs.metric], self.model.countries.index(obs.country)
                    )
                    self.obs_lik[j], self.obs_w[j] = np.dot(self.w, lik), self.w.sum()
                    self.ll_now += np.log(lik)
        self.lineage[year] = np.arange(self.n)

    def temper(self, year: int) -> None:
        """Multiply the weights by the next slice of the year's likelihood, ``L^(phi' − phi)``,
        with ``phi'`` chosen so the conditional ESS is :data:`TEMPER_ESS_FRACTION` (or 1)."""
        t = self.obs_years.index(year)
        dphi = next_temperature(self.w, self.ll_now, self.phi)
        if self.steps[t] + 1 >= MAX_TEMPER_STEPS:  # the last step takes what remains
            dphi = 1.0 - self.phi
        with np.errstate(invalid="ignore"):
            inc = np.where(np.isneginf(self.ll_now), 0.0, np.exp(dphi * self.ll_now))
        self.w = self.w * inc
        self.phi = 1.0 if self.phi + dphi >= 1.0 - 1e-12 else self.phi + dphi
        self.steps[t] += 1
        total, sq = self.w.sum(), np.dot(self.w, self.w)
        self.w_after[t] = total
        ess = total * total / sq if sq > 0 else 0.0
        self.ess_before[t] = min(self.ess_before[t], ess)
        self.ess_after[t] = ess

    def needs_resampling(self, year: int) -> bool:
        t = self.obs_years.index(year)
        if self.w_after[t] <= 0:  # every particle of the block is dead: it adds nothing
            return False
        return self.ess_after[t] < RESAMPLE_ESS_FRACTION * self.n or bool((self.w <= 0).any())

    def resample(self, year: int, upto: int, u: float) -> None:
        """Systematic resampling; histories up to model year index ``upto`` travel along."""
        idx = systematic_resample(self.w, u)
        self.stepper.take(idx)
        for metric in self.out:
            self.out[metric][:, : upto + 1] = self.out[metric][idx, : upto + 1]
        self.eve, self.ll_prev, self.ll_now = self.eve[idx], self.ll_prev[idx], self.ll_now[idx]
        for y in self.lineage:
            self.lineage[y] = self.lineage[y][idx]
        if self.latents is not None:
            self.latents.take(idx)
        self.w = np.full(self.n, self.w_after[self.obs_years.index(year)] / self.n)
        self.ess_after[self.obs_years.index(year)] = float(self.n)

    def unique_ancestors(self) -> np.ndarray:
        live = self.w > 0
        return np.array(
            [len(np.unique(self.lineage[y][live])) for y in self.obs_years], dtype=np.float64
        )


def run_smc(
    model: Model,
    factors: Mapping[str, np.ndarray],
    rngs: Callable[[str], np.random.Generator],
    smc_rngs: Callable[[str], np.random.Generator],
    n: int,
    observations: Sequence[Observation],
    moves: MoveSpec | None = None,
) -> SmcBlock:
    """Simulate one block of ``n`` particles through the model's years, conditioning as it
    goes; with ``moves``, rejuvenate the particles after the last observed year."""
    latents = None
    if moves is not None:
        rngs = latents = Latents(rngs, moves.uniforms, factors)
    ps = ParticleSystem(model, model.start(factors, rngs, n), n, observations, latents)
    if latents is not None and not ps.stepper.can_merge:  # the model cannot take moves
        latents.stop()
        latents = ps.latents = None
    nmoves = 0 if moves is None else len(move_labels(moves.count))
    acceptance = np.zeros(nmoves)
    moved = np.zeros(nmoves)
    for i, year in enumerate(model.years):
        scores = ps.stepper.advance(year)
        for metric, x in scores.items():
            ps.out[metric][:, i] = x
        if year not in ps.obs_years:
            continue
        ps.start_year(year, scores)
        while ps.phi < 1.0:
            ps.temper(year)
            step = int(ps.steps[ps.obs_years.index(year)])
            if ps.needs_resampling(year):
                # The first step's stream keeps the name of the untempered filter's.
                name = f"resample:{year}" if step == 1 else f"resample:{year}:{step}"
                ps.resample(year, i, smc_rngs(name).random())
            # One sweep after every slice (at its temperature), also after a year's last one
            # (resample-move, Gilks & Berzuini 2001) except in the last observed year, whose
            # moves follow below.
            if latents is not None and (ps.phi < 1.0 or year != ps.obs_years[-1]):
                rejuvenate(ps, replace(moves, count=1), i, smc_rngs, label=f"{year}:{step}:")
        if latents is not None and year == ps.obs_years[-1]:
            acceptance = rejuvenate(ps, moves, i, smc_rngs)
            moved[:] = np.count_nonzero(ps.w > 0)
            latents.stop()
    fv = latents.factor_values(moves) if latents is not None else None
    return SmcBlock(
        ps.out,
        ps.eve,
        fv,
        ps.w,
        ps.obs_lik,
        ps.obs_w,
        ps.w_before,
        ps.w_after,
        ps.ess_before,
        ps.ess_after,
        ps.unique_ancestors(),
        acceptance,
        moved,
        ps.steps,
    )


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
        a = top_indicator(x[groups], k).reshape(len(groups), ny * nc) * wl[:, None]
        if starts is not None:
            a = np.add.reduceat(a, starts, axis=0)
        s_aa[m] = np.einsum("ec,ec->c", a, a).reshape(ny, nc)
        s_ab[m] = (b @ a).reshape(ny, nc)
    return s_aa, s_ab, float(np.dot(b, b))
