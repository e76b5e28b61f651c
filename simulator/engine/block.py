"""One block of a run: sample the factors, run the model, reduce to a :class:`BlockResult`.

A run is a sequence of blocks of ``block_size`` draws (the last one may be partial). Each block is
independent (its own random streams, see sampling.py) and reduces to integer rank counts,
integer histograms of scores, float sums, and, when draws are kept, the focus country's
per-draw ranks and scores and the factor values.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, ModelError
from ..models import Model, build_model
from ..models.base import Bins
from ..sampling import Streams, factors_from_uniforms, unit_draws
from ..scenario import Scenario
from .binning import bin_scale, binned_values
from .history import parse_observations
from .moves import MOVE_CORRELATION, MoveSpec
from .ranks import PAIRWISE_MAX_COUNTRIES, focus_ranks, rank_counts
from .smc import SmcBlock, eve_sums, run_smc
from .state import BlockResult, KeptRows, ReducerState, WeightedSums


def n_blocks(scenario: Scenario) -> int:
    return -(-scenario.draws // scenario.block_size)


# Memory guards, checked when a run is prepared (so `g3sim validate` refuses what cannot run):
MAX_BLOCK_VALUES = 2**27  # scores of one block and metric, plus its factor draws (1 GiB)
MAX_REDUCER_CELLS = 2**25  # rank counts and histogram bins of one metric (256 MiB)


def check_memory(scenario: Scenario, n_years: int, n_countries: int, n_bins: int) -> None:
    """Refuse a scenario whose blocks or reducers could not be held in memory.

    A block holds ``(draws in a block) × years × countries`` scores per metric, and the
    reducers ``years × countries × (countries + bins)`` counts per metric.
    """
    ny = n_years
    block = min(scenario.block_size, scenario.draws)
    per_draw = ny * n_countries + len(scenario.factors)
    if block * per_draw > MAX_BLOCK_VALUES:
        fit = max(1, MAX_BLOCK_VALUES // per_draw)
        raise ConfigError(
            f"a block of {block:,} draws holds {block * per_draw:,} values ({ny} years × "
            f"{n_countries} countries + {len(scenario.factors)} factors per draw), more than "
            f"{MAX_BLOCK_VALUES:,} in memory at once; set block_size ≤ {fit:,}, or report "
            "fewer years",
            source=scenario.source,
            key="scenario.block_size",
        )
    cells = ny * n_countries * (n_countries + n_bins)
    if cells > MAX_REDUCER_CELLS:
        raise ConfigError(
            f"{n_countries:,} countries × {ny} years need {cells:,} rank and histogram "
            f"counts, more than {MAX_REDUCER_CELLS:,}; use fewer countries or years",
            source=scenario.source,
            key="model.countries",
        )


def _check_model_memory(scenario: Scenario, model: Model) -> None:
    n_bins = max(model.bins(metric).n for metric in model.metrics)
    check_memory(scenario, len(model.years), len(model.countries), n_bins)


def block_length(scenario: Scenario, block: int) -> int:
    return min(scenario.block_size, scenario.draws - block * scenario.block_size)


class BlockRunner:
    """Runs one block of a resolved scenario; rebuilt from the scenario in worker processes."""

    def __init__(self, scenario: Scenario, model: Model | None = None):
        from ..kernels import MAX_COUNTRIES, reduce_block  # heavy: numba, loaded on first use

        self.reduce = reduce_block
        self.scenario = sc = scenario
        model = model if model is not None else build_model(sc)
        _check_model_memory(sc, model)
        try:
            self.observations = parse_observations(
                sc.observations,
                source=sc.source,
                countries=model.countries,
                metrics=model.metrics,
                noise_scale=sc.observation_noise_scale,
            )
        except ConfigError as exc:  # name the file (or --set) that wrote the observation
            raise sc.attribute(exc) from None
        # The model also simulates the observed years; results report the scenario's years.
        sim_years = sorted(set(sc.years) | {o.year for o in self.observations})
        if tuple(sim_years) != tuple(model.years):
            model = build_model(sc.with_updates(years=sim_years))
            _check_model_memory(sc, model)
        self.model = m = model
        self.report = [sim_years.index(y) for y in sc.years]
        # Reported years as a slice (a view, not a 50 MB copy a block) when they are consecutive.
        first = self.report[0]
        consecutive = self.report == list(range(first, first + len(self.report)))
        self._report_index = slice(first, first + len(self.report)) if consecutive else self.report
        self.report_years = tuple(sc.years)
        self.shape = (len(m.metrics), len(sc.years), len(m.countries))
        self.bins = [m.bins(metric) for metric in m.metrics]
        if len({b.n for b in self.bins}) > 1:
            raise ModelError(f"model {m.name}: every metric's Bins must have the same n")
        self.nbins = self.bins[0].n
        nc = len(m.countries)
        self.pairwise = nc <= min(PAIRWISE_MAX_COUNTRIES, MAX_COUNTRIES)
        self.weighted = bool(self.observations)
        self.obs_years = sorted({o.year for o in self.observations})
        #: How this run conditions: "smc", "rejection" (asked for, or the model cannot step),
        #: or "none" (no observations).
        self.conditioning = (
            "none"
            if not self.weighted
            else "smc"
            if sc.conditioning == "smc" and m.can_step
            else "rejection"
        )
        self.note = None
        if self.weighted and sc.conditioning == "smc" and not m.can_step:
            self.note = (
                f"model {m.name} has no stepping form: conditioning on the observations by "
                "rejection (whole trajectories weighted), not sequential Monte Carlo"
            )
        self._obs_index = [
            (sim_years.index(o.year), m.metrics.index(o.metric), m.countries.index(o.country))
            for o in self.observations
        ]

    def warm_up(self) -> None:
        """Load (or compile) the kernel variants this run uses, on a tiny block: done before
        forking workers, so that they inherit the machine code instead of each loading it."""
        nc = len(self.model.countries)
        w = np.ones(1) if self.weighted else None
        dtype = np.float64 if self.weighted else np.int64
        for b in self.bins:
            sums = [np.zeros((1, nc, nc), dtype), np.zeros((1, nc, b.n), dtype)]
            self._reduce(np.ones((1, 1, nc)), w, b, *sums, np.zeros((1, nc)), np.zeros((1, nc)))

    def _reduce(self, x, w, bins: Bins, counts, hist, s1, s2) -> bool:
        """:func:`.kernels.reduce_block` for one metric's ``(n, year, country)`` block;
        beyond the kernel's country limit, ranks come from :func:`.ranks.rank_counts`."""
        finite = self.reduce(
            x,
            binned_values(bins, x),
            w,
            *bin_scale(bins),
            bins.n,
            self.pairwise,
            counts,
            hist,
            s1,
            s2,
        )
        if not self.pairwise:
            counts[...] = rank_counts(x, w)
        return finite

    def check_finite(self, x: np.ndarray, metric: str, block: int) -> None:
        if not np.isfinite(x).all():
            raise ModelError(
                f"model {self.model.name} produced non-finite {metric} values in block {block}; "
                "check the scenario's factor and [model] ranges"
            )

    def weights(self, scores: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-draw weights (product of likelihoods) and each observation's likelihoods."""
        lik = np.empty((len(self.observations), n))
        for j, (obs, (yi, _, ci)) in enumerate(
            zip(self.observations, self._obs_index, strict=True)
        ):
            lik[j] = obs.likelihood(scores[obs.metric][:, yi, :], ci)
        return lik.prod(axis=0), lik

    def __call__(self, block: int) -> BlockResult:
        sc = self.scenario
        n = block_length(sc, block)
        u = unit_draws(
            sc.design, sc.factor_names, seed=sc.seed, block=block, n=n, block_size=sc.block_size
        )
        factors = factors_from_uniforms(sc.factors, sc.correlation, u)
        fv = np.empty((n, len(sc.factors)))
        for j, f in enumerate(sc.factors):
            fv[:, j] = factors[f.name]
        rngs = Streams(sc.seed, block)
        cond = None
        if self.conditioning == "smc":
            cond = run_smc(
                self.model,
                factors,
                rngs.child("model"),
                rngs.child("smc"),
                n,
                self.observations,
                self._moves(u),
            )
            scores, w, eve = cond.scores, cond.weight, cond.eve
        else:
            scores, w, eve = self.model.simulate(factors, rngs.child("model"), n), None, None
        self._check_shapes(scores, n, block)
        if self.conditioning == "rejection":
            w, lik = self.weights(scores, n)
            cond = self._rejection_diagnostics(lik, w)
        counts, hist, s1, s2, ranks, values = self._reduce_metrics(scores, w, n, block)
        # The factor values of the final particles (moved by rejuvenation, else their Eve's).
        post = fv if eve is None else cond.factors if cond.factors is not None else fv[eve]
        s_aa = s_ab = None
        s_bb = float(n)  # unweighted: Σ over draws of 1², the binomial case
        if w is not None:
            s_aa, s_ab, s_bb = eve_sums(self._reported(scores), w, eve, sc.top_k)
        sums = ReducerState(
            rank_count=counts,
            value_hist=hist,
            value_sum=s1,
            value_sq_sum=s2,
            weight_sum=np.array([float(n) if w is None else w.sum()]),
            weight_sq_sum=np.array([s_bb]),
            # Factor moments before (prior) and after (posterior) weighting, for calibration.
            factor_sum=fv.sum(axis=0),
            factor_sq_sum=np.einsum("ij,ij->j", fv, fv),
            weighted=None if w is None else _weighted_sums(post, w, cond, s_aa, s_ab),
        )
        kept = None
        if sc.keep_draws:
            anc = None if self.conditioning != "smc" else eve + block * sc.block_size
            kept = KeptRows.rounded(ranks, values, post, w, anc)
        return BlockResult(block, n, sums, kept)

    def _reported(self, scores: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Each metric's scores of the reported years, (n, year, country)."""
        if len(self.report) == len(self.model.years):
            return [scores[m] for m in self.model.metrics]
        return [scores[m][:, self._report_index, :] for m in self.model.metrics]

    def _rejection_diagnostics(self, lik: np.ndarray, w: np.ndarray) -> SmcBlock:
        """The per-year diagnostics of :class:`.smc.SmcBlock` for whole-trajectory weighting:
        weights accumulate year by year and are never resampled."""
        n = lik.shape[1]
        nyo = len(self.obs_years)
        obs_lik, obs_w = np.zeros(len(self.observations)), np.zeros(len(self.observations))
        ess, w_before, w_after = np.zeros(nyo), np.zeros(nyo), np.zeros(nyo)
        cum = np.ones(n)
        for t, year in enumerate(self.obs_years):
            prev = cum.copy()
            w_before[t] = prev.sum()
            for j, obs in enumerate(self.observations):
                if obs.year == year:
                    obs_lik[j], obs_w[j] = np.dot(prev, lik[j]), prev.sum()
                    cum *= lik[j]
            sq = np.dot(cum, cum)
            w_after[t] = cum.sum()
            ess[t] = w_after[t] ** 2 / sq if sq > 0 else 0.0
        unique = np.full(nyo, float(np.count_nonzero(w)))
        return SmcBlock(
            {},
            np.arange(n),
            None,
            w,
            obs_lik,
            obs_w,
            w_before,
            w_after,
            ess,
            ess.copy(),
            unique,
            np.zeros(0),
            np.zeros(0),
            np.ones(nyo),
        )

    def _moves(self, u: np.ndarray) -> MoveSpec | None:
        sc = self.scenario
        if not sc.smc_moves:
            return None
        return MoveSpec(
            sc.smc_moves,
            MOVE_CORRELATION,
            u,
            lambda v: factors_from_uniforms(sc.factors, sc.correlation, v),
            sc.factor_names,
            tuple(self.model.unobserved_streams(self.observations)),
        )

    def _check_shapes(self, scores: dict[str, np.ndarray], n: int, block: int) -> None:
        m = self.model
        expected = (n, len(m.years), len(m.countries))
        for metric in m.metrics:
            x = scores[metric]
            if x.shape != expected:
                raise ModelError(
                    f"model {m.name} returned {metric} with shape {x.shape}, expected {expected}"
                )
            # Without weights the reduction finds non-finite values on its way.
            if self.weighted:
                self.check_finite(x, metric, block)

    def _reduce_metrics(self, scores: dict[str, np.ndarray], w, n: int, block: int):
        """Rank counts, histograms and moments of every metric; the focus's ranks and scores
        per draw when draws are kept (else None)."""
        m = self.model
        nm, ny, nc = self.shape
        dtype = np.float64 if self.weighted else np.int64
        counts = np.zeros((nm, ny, nc, nc), dtype=dtype)
        hist = np.zeros((nm, ny, nc, self.nbins), dtype=dtype)
        s1, s2 = np.zeros((nm, ny, nc)), np.zeros((nm, ny, nc))
        keep = bool(self.scenario.keep_draws)
        ranks = np.empty((n, nm, ny), dtype=np.int16) if keep else None
        values = np.empty((n, nm, ny)) if keep else None
        fi = m.focus_index
        # Draws with zero weight (rejected by the observations) add nothing to any weighted
        # reducer: reduce only the others (with rank-range observations, a few percent).
        live = None if w is None else np.flatnonzero(w)
        if live is not None and len(live) == n:  # SMC: every particle carries weight
            live = None
        wl = w if live is None else w[live]
        for k, metric in enumerate(m.metrics):
            x = scores[metric]
            if len(self.report) != len(m.years):
                x = x[:, self._report_index, :]
            xl = np.ascontiguousarray(x if live is None else x[live], dtype=np.float64)
            if not self._reduce(xl, wl, self.bins[k], counts[k], hist[k], s1[k], s2[k]):
                self.check_finite(x, metric, block)  # NaN, ±inf, or only an overflowing square
            if keep:
                ranks[:, k] = focus_ranks(x, fi)
                values[:, k] = x[:, :, fi]
        return counts, hist, s1, s2, ranks, values


def _weighted_sums(fv: np.ndarray, w: np.ndarray, cond: SmcBlock, s_aa, s_ab) -> WeightedSums:
    return WeightedSums(
        factor_wsum=w @ fv,
        factor_wsq_sum=w @ (fv * fv),
        observation_likelihood=cond.obs_likelihood,
        observation_weight=cond.obs_weight,
        top_sq_sum=s_aa,
        top_cross_sum=s_ab,
        year_weight_before=cond.weight_before,
        year_weight_after=cond.weight_after,
        year_ess_before=cond.ess_before,
        year_ess_after=cond.ess_after,
        year_unique_ancestors=cond.unique_ancestors,
        move_acceptance=cond.move_acceptance,
        move_particles=cond.move_particles,
        year_temper_steps=cond.temper_steps,
    )
