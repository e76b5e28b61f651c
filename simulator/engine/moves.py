"""Rejuvenating SMC particles by MCMC moves that leave the conditioned distribution invariant.

Resampling copies particles; copies share their whole past, including static quantities drawn
once per draw (factor values, drifts, GPU bases). A resample-move step (Gilks & Berzuini, 2001;
Chopin & Papaspiliopoulos, 2020, §17.2) diversifies them: after the last observed year, each
particle's *latent randomness* is moved by a Metropolis–Hastings kernel whose stationary
distribution is the prior conditioned on the observations, and the particle is re-simulated.

Latents. Everything random in a particle comes from two places: the block's factor uniforms
(independent, before the copula; :func:`..sampling.factors_from_uniforms`) and the arrays the
model draws from its named generators, which :class:`Latents` records as the model draws them
(the model contract allows ``standard_normal`` and ``random``, draw axis first). In standard
normal coordinates (``Φ⁻¹`` of the uniforms) the prior of all of them is N(0, I).

Kernel. The preconditioned Crank–Nicolson proposal ``z' = ρ z + sqrt(1 − ρ²) ξ`` (Cotter,
Roberts, Stuart & White, 2013, *Statistical Science* 28(3)) is reversible with respect to
N(0, I), so the Metropolis–Hastings acceptance probability is the likelihood ratio alone:
``min(1, L(z') / L(z))``, where ``L`` is the product of the likelihoods of every observation up
to the move's year (for rank windows: 1 if the re-simulated path reproduces all of them, else
0). The kernel leaves the conditioned distribution invariant, so weights are unchanged. Random
numbers of later years are drawn afterwards, by particle position, as without moves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import special

from ..errors import ModelError

#: pCN correlation of a move: each latent keeps this much of its current value. Chosen on the
#: baseline (docs/conditioning.md, "Moves"): the acceptance stays near 0.3 while every move
#: decorrelates the copies' futures.
MOVE_CORRELATION = 0.9
#: pCN correlation of the factor uniforms' move. Factors act mostly on what the observations do
#: not see (GPU programmes, future investment): their moves are accepted far more often.
FACTOR_MOVE_CORRELATION = 0.5
#: A sweep moves the factor uniforms, then the model's draws, then the draws the model declares
#: unobserved (:meth:`~..models.Model.unobserved_streams`): one Metropolis-within-Gibbs block
#: each, so that latents the observations hardly constrain are not held back by those they do.
MOVE_GROUPS = ("factors", "streams", "free")
#: pCN correlation of the "free" group: fresh draws from the prior. When the model's
#: declaration is right the likelihood does not change and the move is always accepted; when
#: it is wrong the Metropolis-Hastings test still keeps the move exact.
FREE_MOVE_CORRELATION = 0.0
_U_FLOOR = 2.0**-54  # uniforms are kept inside (0, 1) so that Φ⁻¹ stays finite


@dataclass(frozen=True)
class MoveSpec:
    """How to rejuvenate one block: ``count`` moves of correlation ``rho`` after the last
    observed year. ``uniforms`` are the block's factor uniforms (n, factor) and
    ``factors_of(u)`` turns uniforms into factor values ``{name: (n,)}``."""

    count: int
    rho: float
    uniforms: np.ndarray
    factors_of: Callable[[np.ndarray], Mapping[str, np.ndarray]]
    names: tuple[str, ...]
    #: Stream-name prefixes (before ":") the model declares the observations cannot see.
    free: tuple[str, ...] = ()

    def is_free(self, stream: str) -> bool:
        return stream.split(":", 1)[0] in self.free


class _Recording:
    """A generator of one named stream whose draws :class:`Latents` records."""

    def __init__(self, latents: Latents, name: str, gen: np.random.Generator):
        self.latents, self.name, self.gen = latents, name, gen

    def standard_normal(self, size):
        return self.latents.record(self.name, "normal", self.gen.standard_normal(size))

    def random(self, size):
        return self.latents.record(self.name, "uniform", self.gen.random(size))

    def __getattr__(self, method: str):
        raise ModelError(
            f"the model drew stream {self.name!r} with Generator.{method}; a model whose "
            "particles take SMC moves draws only with standard_normal and random (set "
            "[scenario] smc_moves = 0 to run it without moves)"
        )


class Latents:
    """The model's ``rngs`` with a memory: every array drawn while recording, by stream name
    (rows = particles), and the block's factor uniforms; both follow the particles."""

    def __init__(self, rngs, uniforms: np.ndarray, factors: Mapping[str, np.ndarray]):
        self.rngs = rngs
        self.u = uniforms.copy()
        self._factors = {k: np.asarray(v) for k, v in factors.items()}  # the values of ``u``
        self.parts: dict[str, list[np.ndarray]] = {}
        self.kinds: dict[str, str] = {}
        self.recording = True

    def __call__(self, name: str) -> _Recording:
        return _Recording(self, name, self.rngs(name))

    def record(self, name: str, kind: str, x: np.ndarray) -> np.ndarray:
        if self.recording:
            self.parts.setdefault(name, []).append(x.copy())  # models scale draws in place
            self.kinds[name] = kind
        return x

    def arrays(self) -> dict[str, np.ndarray]:
        """Every recorded stream as one (n, ...) array, by name (sorted: a fixed order)."""
        for name, parts in self.parts.items():
            if len(parts) > 1:
                self.parts[name] = [np.concatenate(parts)]
        return {name: self.parts[name][0] for name in sorted(self.parts)}

    def factors(self, spec: MoveSpec) -> Mapping[str, np.ndarray]:
        """The factor values of the current uniforms ``{name: (n,)}``."""
        return self._factors

    def take(self, index: np.ndarray) -> None:
        self.u = self.u[index]
        self._factors = {k: v[index] for k, v in self._factors.items()}
        for name, x in self.arrays().items():
            self.parts[name] = [x[index]]

    def merge(self, arrays, u: np.ndarray, factors, mask: np.ndarray) -> None:
        """Install the proposal's latents (and factor values) where ``mask`` is true."""
        self._factors = {k: np.where(mask, factors[k], v) for k, v in self._factors.items()}
        self.u = np.where(mask[:, None], u, self.u)
        for name, x in self.arrays().items():
            m = mask.reshape((-1,) + (1,) * (x.ndim - 1))
            self.parts[name] = [np.where(m, arrays[name], x)]

    def stop(self) -> None:
        """Stop recording (no move follows): later draws pass straight through."""
        self.recording = False
        self.parts.clear()

    def factor_values(self, spec: MoveSpec) -> np.ndarray:
        f = self.factors(spec)
        out = np.empty((len(self.u), len(spec.names)))
        for j, name in enumerate(spec.names):
            out[:, j] = f[name]
        return out


class _Replay:
    """``rngs`` that hand out given arrays, in consecutive rows, instead of random draws."""

    def __init__(self, arrays: Mapping[str, np.ndarray], kinds: Mapping[str, str]):
        self.arrays, self.kinds = arrays, kinds

    def __call__(self, name: str) -> _ReplayStream:
        return _ReplayStream(name, self.arrays.get(name), self.kinds.get(name))


class _ReplayStream:
    def __init__(self, name: str, x: np.ndarray | None, kind: str | None):
        self.name, self.x, self.kind, self.offset = name, x, kind, 0

    def _rows(self, kind: str, size) -> np.ndarray:
        shape = (size,) if np.isscalar(size) else tuple(size)
        if self.x is None or kind != self.kind or self.x.shape[1:] != shape[1:]:
            raise ModelError(
                f"a move re-simulated stream {self.name!r} differently from the first time "
                "(the model must draw the same arrays for the same particles)"
            )
        out = self.x[self.offset : self.offset + shape[0]]
        self.offset += shape[0]
        return out.copy()

    def standard_normal(self, size):
        return self._rows("normal", size)

    def random(self, size):
        return self._rows("uniform", size)


def _pcn(x: np.ndarray, kind: str, rho: float, rng: np.random.Generator) -> np.ndarray:
    """The pCN proposal for one array of latents (uniforms move in normal coordinates)."""
    s = np.sqrt(1.0 - rho * rho)
    if kind == "normal":
        return rho * x + s * rng.standard_normal(x.shape)
    z = special.ndtri(np.clip(x, _U_FLOOR, 1.0 - _U_FLOOR))
    u = special.ndtr(rho * z + s * rng.standard_normal(x.shape))
    # Factor uniforms stay inside (0, 1) (as unit_draws makes them); a model's random() draws
    # stay in [0, 1), the generator's range.
    return np.clip(u, _U_FLOOR, 1.0 - _U_FLOOR) if kind == "factor" else np.minimum(u, 1 - 2**-53)


def _propose(ps, spec: MoveSpec, group: str, upto: int, rng: np.random.Generator):
    """Re-simulate every particle from proposed latents of ``group`` ("factors": the factor
    uniforms; "streams": the model's draws) up to model year index ``upto``."""
    lat = ps.latents
    arrays = lat.arrays()
    if group in ("streams", "free"):
        free = group == "free"
        rho = FREE_MOVE_CORRELATION if free else spec.rho
        arrays = {
            name: _pcn(x, lat.kinds[name], rho, rng) if spec.is_free(name) == free else x
            for name, x in arrays.items()
        }
    if group == "factors":
        u = _pcn(lat.u, "factor", FACTOR_MOVE_CORRELATION, rng)
        factors = spec.factors_of(u)
    else:
        u, factors = lat.u, lat.factors(spec)
    model = ps.model
    prop = model.start(factors, _Replay(arrays, lat.kinds), ps.n)
    path = {m: np.empty((ps.n, upto + 1, len(model.countries))) for m in model.metrics}
    ll_prev, ll_now = np.zeros(ps.n), np.zeros(ps.n)
    with np.errstate(divide="ignore"):
        for i, year in enumerate(model.years[: upto + 1]):
            scores = prop.advance(year)
            for metric, x in scores.items():
                path[metric][:, i] = x
            for obs in ps.observations:
                if obs.year == year:
                    ci = model.countries.index(obs.country)
                    ll = np.log(obs.likelihood(scores[obs.metric], ci))
                    if i == upto:
                        ll_now += ll
                    else:
                        ll_prev += ll
    return prop, arrays, u, factors, path, (ll_prev, ll_now)


def move_labels(count: int) -> list[str]:
    """The moves of ``count`` sweeps, in order: ``"<sweep>:<group>"``."""
    return [f"{k + 1}:{group}" for k in range(count) for group in MOVE_GROUPS]


def rejuvenate(ps, spec: MoveSpec, upto: int, smc_rngs, label: str = "") -> np.ndarray:
    """``spec.count`` sweeps of pCN moves of the live particles of ``ps`` (a ParticleSystem) at
    model year index ``upto``, one move per group of :data:`MOVE_GROUPS` in each sweep, each
    leaving ``ps``'s current (tempered) target invariant; returns each move's summed
    acceptance probability. ``label`` names the moves' random streams."""
    live = ps.w > 0
    # At an intermediate temperature the free streams wait for the final sweep (refreshing
    # them then would be undone by the next resampling's copies anyway).
    groups = MOVE_GROUPS if not label else tuple(g for g in MOVE_GROUPS if g != "free")
    moves = [(k, group) for k in range(spec.count) for group in groups]
    rates = np.zeros(len(moves))
    for i, (k, group) in enumerate(moves):
        empty = (group == "factors" and ps.latents.u.shape[1] == 0) or (
            group == "free" and not any(map(spec.is_free, ps.latents.arrays()))
        )
        if empty:  # nothing in this group to move
            rates[i] = float(np.count_nonzero(live))
            continue
        rng = smc_rngs(f"move:{label}{k}:{group}")
        prop, arrays, u, factors, path, (ll_prev, ll_now) = _propose(ps, spec, group, upto, rng)
        with np.errstate(invalid="ignore"):
            new = ps.target(ll_prev, ll_now, ps.phi)
            log_alpha = np.where(live, new - ps.target(ps.ll_prev, ps.ll_now, ps.phi), -np.inf)
        log_alpha = np.nan_to_num(log_alpha, nan=-np.inf, posinf=0.0)
        accept = np.log(rng.random(ps.n)) < log_alpha
        rates[i] = float(np.exp(np.minimum(log_alpha, 0.0))[live].sum())  # Σ acceptance prob.
        ps.stepper.merge(prop, accept)
        ps.latents.merge(arrays, u, factors, accept)
        ps.ll_prev = np.where(accept, ll_prev, ps.ll_prev)
        ps.ll_now = np.where(accept, ll_now, ps.ll_now)
        for metric, x in path.items():
            ps.out[metric][:, : upto + 1] = np.where(
                accept[:, None, None], x, ps.out[metric][:, : upto + 1]
            )
        # Let the proposal go before the next one is built: a block's proposal (its latents,
        # model state and path) is as large as the particles themselves.
        del prop, arrays, u, factors, path
    return rates
