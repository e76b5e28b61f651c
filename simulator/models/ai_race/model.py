"""``ai_race``: the world model of the national AI race (docs/model.md has every equation).

Sixty-two countries start from the 2021 Tortoise Global AI Index sub-pillar table. Each
(country, pillar) score ``s`` lives on a shifted-log latent scale ``y = log(s + c_p)`` and moves
yearly as a random walk with an uncertain drift; policy levers (GPU deliveries, private
investment, regulation) add to the latent scores of the countries they concern. Every reported
year each pillar is min–max rescaled across countries and the seven pillars are combined and
rescaled exactly as Tortoise builds its index (:mod:`.tortoise`). A parallel account tracks every
country's AI-accelerator stock installed in the country, in H100-equivalents: a 2025 base drawn
from the country's sourced anchor interval (a default below every anchor for the others),
organic growth per country net of retirement, and the register's programmes delivered on
uncertain schedules with status-dependent priors.

Both outputs are "higher is better": ``ai_index`` (0–100) and ``gpu_stock`` (H100e).

Implementation notes. Only the latent score times ``exp`` matters to the ranks, so the state is
kept as ``X = exp(y) = s + c_p`` and updated by multiplication: the random walk and the levers
are multiplicative factors, and the offset ``c_p`` cancels in the min–max rescaling. A shock
common to every country of a pillar would cancel too, so the model draws none; countries'
fortunes are correlated through regional shocks instead. Random numbers per draw:
``7·62 + 62`` drifts, ``62 + 5`` shocks per simulated year (and 62 more in a methodology
year) and, for the GPU account, one per anchor, one per country and two per (programme +
country), plus one uniform per country with a regulation lever (see
:meth:`AiRace.normals_per_draw`).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
from scipy import stats
from scipy.special import ndtr

from ...errors import ConfigError
from ..base import Bins, Model, Stepper
from .config import (
    GROWTH_LIMIT,
    LAST_DATA_YEAR,
    MAX_YEAR,
    MIN_YEAR,
    STATUSES,
    AiRaceParams,
    CountryLevers,
    parse_params,
)
from .tortoise import (
    BASE_YEAR,
    COMMERCIAL,
    DEVELOPMENT,
    INFRASTRUCTURE,
    OPERATING_ENVIRONMENT,
    PILLAR_WEIGHTS,
    TALENT,
    countries,
    data_sha256,
    editions,
    gpu_anchors,
    gpu_growth_signals,
    investment_reference_growth,
    private_investment,
    tortoise_2021,
    tracked_gpus,
)

GPU_FLOOR, GPU_CAP = 1.0, 1e12  # guards on the GPU stock [H100e]
LEVER_STEP_LIMIT = 20.0  # guard on one year's lever increment [latent units]
RENORMALISE_EVERY = 10  # years between rescalings of the state (overflow guard)
CHUNK = 512  # draws simulated together (working arrays of ~2 MB: they stay in a core's L2)
MIN_FACTOR = 0.05  # a one-off lever never cuts a latent score below 5% of its value
PPF_POINTS = 1025  # grid of the tabulated PERT quantile functions (anchors, status priors)


def _pert_ppf(low: float, mode: float, high: float, lam: float = 4.0) -> np.ndarray:
    """The PERT(low, mode, high; λ) quantile function on ``PPF_POINTS`` equal steps of u
    (λ = 0: uniform on [low, high])."""
    span = high - low
    a = 1.0 + lam * (mode - low) / span
    b = 1.0 + lam * (high - mode) / span
    return low + span * stats.beta(a, b).ppf(np.linspace(0.0, 1.0, PPF_POINTS))


def _quantiles(table: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Column ``i`` of ``u`` (n, k) through the tabulated quantile function ``table[i]`` (k, G)."""
    pos = u * (table.shape[1] - 1)
    i0 = np.minimum(pos.astype(np.intp), table.shape[1] - 2)
    w = pos - i0
    cols = np.arange(table.shape[0])[None, :]
    return table[cols, i0] * (1.0 - w) + table[cols, i0 + 1] * w


class AiRace(Model):
    name = "ai_race"
    metric_info: ClassVar[Mapping[str, tuple[str, str]]] = {
        "ai_index": ("Global AI Index total score (Tortoise 2021 method)", "1"),
        "gpu_stock": ("national AI accelerator stock", "H100e"),
    }
    #: Set per instance: the factors named in the scenario's [model] table.
    required_factors: tuple[str, ...] = ()

    def __init__(self, params: AiRaceParams, **kw):
        super().__init__(**kw)
        self.params = params
        self.required_factors = params.factor_names
        table = tortoise_2021()
        self.n_countries = len(self.countries)
        self.pillar_weights = PILLAR_WEIGHTS / PILLAR_WEIGHTS.sum()
        # Initial state X = s + c (pillar, country).
        self.x0 = np.ascontiguousarray(table.scores.T + params.pillar_offsets[:, None])
        regions = sorted(set(table.regions))
        self.region_index = np.array([regions.index(r) for r in table.regions])
        self.n_regions = len(regions)
        self.last_year = max(self.years)
        self.steps = tuple(range(BASE_YEAR + 1, self.last_year + 1))
        self._setup_gpus(table)
        self._setup_investment()
        self.lever_index = {c.iso3: self.countries.index(c.iso3) for c in params.countries}
        # Size-dependent volatility: a country's shock sd × (2021 total / median)^(−elasticity).
        totals = np.maximum(table.totals, 1.0)
        self.size_scale = (totals / np.median(totals)) ** (-params.volatility_size_elasticity)
        self.methodology_steps = tuple(y for y in params.methodology_years if y in self.steps)
        self.momentum = np.exp(params.rank_momentum * _rank_gain_per_year(self.countries))

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_scenario(cls, scenario) -> AiRace:
        c = countries()
        cls.check_focus(scenario, c.iso3)
        bad = [y for y in scenario.years if not MIN_YEAR <= y <= MAX_YEAR]
        if bad:
            # An observed year is simulated too: name the observation if it brought the year.
            seen = [i for i, o in enumerate(scenario.observations) if o.get("year") in bad]
            raise ConfigError(
                f"ai_race reports years {MIN_YEAR}..{MAX_YEAR} (its base year {BASE_YEAR} is "
                f"data), got {scenario.observations[seen[0]]['year'] if seen else bad[0]}; "
                + ("observe a year in that range" if seen else "remove it from the list"),
                source=scenario.source,
                key=f"observations[{seen[0]}].year" if seen else "scenario.years",
            )
        factors = {f.name: f for f in scenario.factors}
        params = parse_params(
            scenario.model_params, source=scenario.source, factors=factors, countries=c.iso3
        )
        used = set(params.factor_names)
        for name in scenario.factor_names:
            if name not in used:
                raise ConfigError(
                    f"model ai_race does not use factor '{name}'; "
                    + _unused_factor_fix(name, scenario.origins),
                    source=scenario.source,
                    key=f"factors.{name}",
                )
        return cls(
            params,
            countries=c.iso3,
            country_names=c.names,
            years=scenario.years,
            focus=scenario.focus,
            top_k=scenario.top_k,
        )

    def _setup_gpus(self, table) -> None:
        """The 2025 anchors and unanchored default, history ratios, growth signals, programmes."""
        tg = tracked_gpus()
        p, n_c = self.params, self.n_countries
        i25 = tg.years.index(LAST_DATA_YEAR)
        anchors = [a for iso, a in gpu_anchors().items() if iso in self.countries]
        self.anchor_index = np.array([self.countries.index(a.iso3) for a in anchors], dtype=np.intp)
        lam = p.anchor_lambda
        self.anchor_ppf = np.stack([_pert_ppf(a.low, a.central, a.high, lam) for a in anchors])
        # Unanchored countries: their tracked capacity or unanchored_h100e scaled by the 2021
        # Infrastructure score, whichever is larger, capped at the smallest anchored low: no
        # unanchored country can outrank an anchored one in 2025.
        tracked25 = np.zeros(n_c)
        ratios = np.tile((tg.world / tg.world[i25])[:i25, None], (1, n_c))
        for iso, values in tg.by_country.items():
            j = self.countries.index(iso)
            tracked25[j] = values[i25]
            if values[i25] > 0:
                ratios[:, j] = values[:i25] / values[i25]
        self.unanchored_cap = min(a.low for a in anchors)
        default = np.maximum(p.unanchored_h100e * table.scores[:, INFRASTRUCTURE] / 100, tracked25)
        self.gpu_base_default = np.clip(default, GPU_FLOOR, self.unanchored_cap)
        self.gpu_hist_years = tg.years[:i25]
        self.gpu_hist_ratio = ratios  # (history year, country): stock over the 2025 stock
        signals = gpu_growth_signals()
        self.gpu_has_signal = np.array([c in signals for c in self.countries])
        self.gpu_signal = np.array([signals.get(c, 0.0) for c in self.countries])
        self._setup_programmes()

    def _setup_programmes(self) -> None:
        progs = self.params.programmes
        self.prog_country = np.array(
            [self.countries.index(q.country) for q in progs], dtype=np.intp
        )
        self.prog_cap = np.array([q.gpus * q.h100e_per_gpu * q.in_country for q in progs])
        self.prog_start = np.array([q.start for q in progs])
        self.prog_length = np.array([q.end - q.start for q in progs])
        self.prog_licence = np.array([q.licence for q in progs], dtype=bool)
        priors = self.params.status
        tables = {
            s: [_pert_ppf(*getattr(priors[s], k)) for k in ("fraction", "delay")] for s in STATUSES
        }
        empty = np.zeros((0, PPF_POINTS))
        self.prog_fraction_ppf = np.stack([tables[q.status][0] for q in progs]) if progs else empty
        self.prog_delay_ppf = np.stack([tables[q.status][1] for q in progs]) if progs else empty

    def _setup_investment(self) -> None:
        """Latent Commercial increments implied by the investment data, relative to peers."""
        data = private_investment()
        self.investment_data_end = max(y for d in data.values() for y in d)
        until = self.params.investment_data_until  # a data vintage (the back-test's origin)
        data = {iso: {y: v for y, v in s.items() if y <= until} for iso, s in data.items()}
        ref = investment_reference_growth(data)
        self.investment_history: dict[int, list[tuple[int, float]]] = {}
        for iso, series in data.items():
            j = self.countries.index(iso)
            for y in sorted(series):
                if y - 1 in series and y in ref:
                    rel = math.log(series[y] / series[y - 1]) - ref[y]
                    self.investment_history.setdefault(y, []).append((j, rel))

    # -- contract --------------------------------------------------------------------------

    def bins(self, metric: str) -> Bins:
        if metric == "ai_index":
            return Bins(0.0, 100.0, 1000)
        if metric == "gpu_stock":
            return Bins(1.0, 1e9, 1000, log=True)  # 1 H100e to 10^9: 2.1% bins
        raise KeyError(metric)

    def describe(self) -> dict[str, Any]:
        return {
            "ai_race_base_year": BASE_YEAR,
            "ai_race_data_sha256": data_sha256(),
            "ai_race_normals_per_draw": self.normals_per_draw(),
        }

    def normals_per_draw(self) -> int:
        c, t, q = self.n_countries, len(self.steps), len(self.params.programmes)
        gpu = len(self.anchor_index) + c + 2 * (q + c)
        return 7 * c + (c + self.n_regions) * t + gpu + c + c * len(self.methodology_steps)

    def unobserved_streams(self, observations) -> tuple[str, ...]:
        # The GPU account acts on the index only after LAST_DATA_YEAR (the infrastructure
        # elasticity): index observations up to then cannot see the GPU draws.
        if all(o.metric == "ai_index" and o.year <= LAST_DATA_YEAR for o in observations):
            return ("gpu_anchor", "gpu_growth", "gpu_programmes")
        return ()

    def start(
        self,
        factors: Mapping[str, np.ndarray],
        rngs: Callable[[str], np.random.Generator],
        n: int,
    ) -> _RaceStepper:
        # One generator per named component; chunks of draws take consecutive rows from each,
        # so the numbers are those of one (n, ...) array per component, draw axis first.
        gens = {k: rngs(k) for k in ("pillar_drift", "gpu_anchor", "gpu_growth", "gpu_programmes")}
        gens["country_drift"] = rngs("country_drift")
        for year in self.methodology_steps:
            gens[f"methodology:{year}"] = rngs(f"methodology:{year}")
        for year in self.steps:
            gens[f"country_shocks:{year}"] = rngs(f"country_shocks:{year}")
            gens[f"regional_shocks:{year}"] = rngs(f"regional_shocks:{year}")
        for lev in self.params.countries:
            if lev.regulation is not None:
                gens[f"reform:{lev.iso3}"] = rngs(f"reform:{lev.iso3}")
        return _RaceStepper(self, factors, gens, n)

    def _index(self, x: np.ndarray) -> np.ndarray:
        """Tortoise total (country, draw) from the state: pillar min–max, weighted sum, min–max."""
        tiny = 1e-300  # a floor on spans: 100 / tiny stays finite
        lo = x.min(axis=1)  # (pillar, draw)
        span = x.max(axis=1)
        span -= lo
        np.maximum(span, tiny, out=span)
        coef = self.pillar_weights[:, None] / span
        total = np.einsum("pcn,pn->cn", x, coef)
        total -= total.min(axis=0)
        span_t = total.max(axis=0)
        np.maximum(span_t, tiny, out=span_t)
        total *= 100.0 / span_t
        return total


class _RaceStepper(Stepper):
    """One block's draws, stepped a year at a time in chunks of :data:`CHUNK` draws.

    Chunks keep the working arrays in cache (and out of fresh, page-faulted memory). Year after
    year, chunk after chunk, each chunk takes its consecutive rows of every generator: the
    numbers are those of one ``(n, ...)`` array per component, whatever the stepping.
    """

    def __init__(self, model: AiRace, factors, gens, n: int):
        self.model, self.gens, self.n = model, gens, n
        self.bounds = [*range(0, n, CHUNK), n]
        self.chunks = [
            _Chunk(model, {k: np.asarray(v)[lo:hi] for k, v in factors.items()}, gens, hi - lo)
            for lo, hi in itertools.pairwise(self.bounds)
        ]
        self.year = BASE_YEAR

    def advance(self, year: int) -> dict[str, np.ndarray]:
        if year < self.year or year > self.model.last_year:
            raise ValueError(f"cannot step from {self.year} to {year}")
        m = self.model
        out = {"ai_index": np.empty((self.n, m.n_countries)), "gpu_stock": None}
        out["gpu_stock"] = np.empty_like(out["ai_index"])
        for (lo, hi), chunk in zip(itertools.pairwise(self.bounds), self.chunks, strict=True):
            for y in range(self.year + 1, year + 1):
                chunk.step(y, self.gens)
            out["ai_index"][lo:hi] = m._index(chunk.x).T
            out["gpu_stock"][lo:hi] = chunk.gpu_now(year)
        self.year = year
        return out

    def merge(self, other: _RaceStepper, mask: np.ndarray) -> None:
        for (lo, hi), mine, theirs in zip(
            itertools.pairwise(self.bounds), self.chunks, other.chunks, strict=True
        ):
            m = mask[lo:hi]
            if not m.any():
                continue
            new = theirs.per_draw()
            for name, (x, axis) in mine.per_draw().items():
                if x is not None:
                    shape = [1] * x.ndim
                    shape[axis] = len(m)
                    mine.set_per_draw(name, np.where(m.reshape(shape), new[name][0], x))

    def take(self, index: np.ndarray) -> None:
        pieces = [c.per_draw() for c in self.chunks]
        bounds = self.bounds
        new: list[dict[str, np.ndarray]] = [{} for _ in self.chunks]
        for c, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            # The chunks holding this chunk's sources: resampling indices are sorted, so
            # usually one or two (a general index falls back to every chunk).
            rows = index[lo:hi]
            first = bisect.bisect_right(bounds, int(rows.min())) - 1
            last = bisect.bisect_right(bounds, int(rows.max())) - 1
            local = rows - bounds[first]
            for name, (x, axis) in pieces[0].items():
                if x is None:
                    continue
                parts = [pieces[k][name][0] for k in range(first, last + 1)]
                src = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)
                new[c][name] = np.take(src, local, axis=axis)
        for chunk, arrays in zip(self.chunks, new, strict=True):
            for name, x in arrays.items():
                chunk.set_per_draw(name, x)


class _Chunk:
    """The state of up to :data:`CHUNK` draws, laid out (pillar, country, draw) for speed."""

    def __init__(self, model: AiRace, factors, gens, n: int):
        p = model.params
        self.model = model
        # Random-walk components: per-(country, pillar) drift, per-(country, year) shocks
        # shared by the country's pillars, per-(region, year) shocks.
        z = gens["pillar_drift"].standard_normal((n, 7, model.n_countries))
        z *= p.drift_sd.draw(factors, n)[:, None, None]
        # Hierarchical drift (momentum): a country's own drift, shared by its seven pillars.
        zc = gens["country_drift"].standard_normal((n, model.n_countries))
        z += (zc * p.country_drift_sd.draw(factors, n)[:, None])[:, None, :]
        np.exp(z, out=z)
        self.drift = np.ascontiguousarray(z.transpose(1, 2, 0))
        self.drift *= model.momentum[None, :, None]
        vol = p.volatility.draw(factors, n)
        share = p.regional_share.draw(factors, n)
        self.own_sd = (vol * np.sqrt(1.0 - share))[:, None].T * model.size_scale[:, None]
        self.reg_sd = (vol * np.sqrt(share))[:, None].T
        # Mean reversion: the country shocks are an AR(1) deviation ``dev`` around the drifting
        # path (θ = 0: a random walk, the shocks persist), and methodology shocks at editions.
        self.theta = p.mean_reversion.draw(factors, n)[:, None].T
        self.dev = np.zeros((model.n_countries, n))
        self.meth_sd = p.methodology_sd.draw(factors, n)[:, None].T
        self.x = np.empty((7, model.n_countries, n))
        self.x[:] = model.x0[:, :, None]
        # An uncertain scale of the latent offsets c_p (pillar_offset_scale × the table's c_p).
        scale = p.pillar_offset_scale.draw(factors, n)
        if (scale != 1.0).any():
            self.x += ((scale - 1.0)[None, :] * p.pillar_offsets[:, None])[:, None, :]
        self.gpu = _GpuAccount(model, factors, gens, n)
        self.inv = _Investment(model, factors, gens, n)
        self.eta = p.infrastructure_elasticity.draw(factors, n)[:, None]
        self.log_gpu_prev = None
        self.stock = None
        self.n = n

    def step(self, year: int, gens) -> None:
        """Advance the state from the end of ``year - 1`` to the end of ``year``."""
        m, x = self.model, self.x
        eps = gens[f"country_shocks:{year}"].standard_normal((self.n, m.n_countries))
        reg = gens[f"regional_shocks:{year}"].standard_normal((self.n, m.n_regions)).T
        mult = eps.T * self.own_sd
        if m.params.mean_reversion.factor is not None or m.params.mean_reversion.value > 0:
            new = self.dev * (1.0 - self.theta) + mult
            mult = new - self.dev
            self.dev = new
        if year in m.methodology_steps:  # persistent: a re-weighted index stays re-weighted
            meth = gens[f"methodology:{year}"].standard_normal((self.n, m.n_countries)).T
            mult += meth * self.meth_sd
        reg *= self.reg_sd
        mult += reg[m.region_index]
        np.exp(mult, out=mult)
        x *= self.drift
        x *= mult
        self.stock = stock = self.gpu.step(year)
        if stock is not None:
            log_gpu = np.log(stock)
            if self.log_gpu_prev is not None and year > LAST_DATA_YEAR:
                inc = log_gpu - self.log_gpu_prev
                inc *= self.eta
                _apply(x[INFRASTRUCTURE], inc.T)
            self.log_gpu_prev = log_gpu
        self.inv.step(year, x)
        if (year - BASE_YEAR) % RENORMALISE_EVERY == 0:  # scale-free: keeps X far from overflow
            x /= x.max(axis=1, keepdims=True)

    def gpu_now(self, year: int) -> np.ndarray:
        """GPU stocks (draw, country) at the end of ``year`` (the year last stepped to)."""
        return self.stock if self.stock is not None else self.gpu.history(year)

    def per_draw(self) -> dict[str, tuple[np.ndarray | None, int]]:
        """Every per-draw array of the state: name → (array, draw axis)."""
        out = {
            "x": (self.x, 2),
            "drift": (self.drift, 2),
            "own_sd": (self.own_sd, 1),
            "reg_sd": (self.reg_sd, 1),
            "theta": (self.theta, 1),
            "dev": (self.dev, 1),
            "meth_sd": (self.meth_sd, 1),
            "eta": (self.eta, 0),
            "log_gpu_prev": (self.log_gpu_prev, 0),
            "stock": (self.stock, 0),
        }
        out.update({f"gpu.{k}": (v, 0) for k, v in self.gpu.per_draw().items()})
        out.update({f"inv.{k}": (v, 0) for k, v in self.inv.per_draw().items()})
        return out

    def set_per_draw(self, name: str, value: np.ndarray) -> None:
        part, _, key = name.rpartition(".")
        target = {"": self, "gpu": self.gpu, "inv": self.inv}[part]
        if part == "inv":
            target.set_per_draw(key, value)
        else:
            setattr(target, key, value)


def _unused_factor_fix(name: str, origins: Mapping[str, str]) -> str:
    """The fix for an unused factor. After a ``--set`` of a [model] key (which may have replaced
    the factor's name by a number) the likelier intent, holding the factor at a value, comes
    first; the origins cannot tell which key named the factor before."""
    if any(k.startswith("model.") and "--set " in v for k, v in origins.items()):
        return (
            "if a --set of a [model] key was meant to hold it at one value, --set "
            f"factors.{name}='{{dist = \"constant\", value = 0}}' (your value) instead; "
            "otherwise remove it"
        )
    return (
        "remove it, or name it in [model] (any number parameter of [model] may name a factor "
        "instead)"
    )


def _rank_gain_per_year(iso3: tuple[str, ...]) -> np.ndarray:
    """Places gained a year (−least-squares slope of the published rank) up to the base year,
    per country: its published ranks before the 2021 table (tortoise_editions.csv: the 2019
    edition's top ten, Korea's 2020 rank) and its rank in the table; 0 for a country with no
    published rank before the table."""
    table = tortoise_2021()
    table_rank = 1 + (table.totals[None, :] > table.totals[:, None]).sum(axis=1)
    hist: dict[str, list[tuple[int, int]]] = {}
    for edition, iso, rank in editions():
        if edition < BASE_YEAR:
            hist.setdefault(iso, []).append((edition, rank))
    out = np.zeros(len(iso3))
    for iso, pts in hist.items():
        if iso in iso3:
            pts.append((BASE_YEAR, int(table_rank[table.countries.index(iso)])))
            t, r = np.array(pts, dtype=float).T
            out[iso3.index(iso)] = round(-np.polyfit(t, r, 1)[0], 9)  # flat: exactly 0
    return out


def _apply(target: np.ndarray, inc: np.ndarray) -> None:
    """Add a latent increment: ``target *= exp(clip(inc))`` in place."""
    np.clip(inc, -LEVER_STEP_LIMIT, LEVER_STEP_LIMIT, out=inc)
    np.exp(inc, out=inc)
    target *= inc


class _GpuAccount:
    """Every country's GPU stock [H100e] through the years, for one block of draws.

    The stock is AI accelerators installed in the country, in H100-equivalents: a 2025 base
    (the anchors), organic growth net of retirement from 2026, and the programmes' deliveries
    after the anchor date (everything delivered before it is in the anchors).
    """

    def __init__(self, model: AiRace, factors, gens, n: int):
        p = model.params
        self.model = model
        base = np.tile(model.gpu_base_default, (n, 1))
        u = ndtr(gens["gpu_anchor"].standard_normal((n, len(model.anchor_index))))
        base[:, model.anchor_index] = _quantiles(model.anchor_ppf, u)
        z = gens["gpu_growth"].standard_normal((n, model.n_countries))
        z *= np.where(model.gpu_has_signal, p.signal_dispersion, p.organic_growth_dispersion)
        growth = z
        growth += p.organic_growth.draw(factors, n)[:, None]
        growth += p.signal_passthrough.draw(factors, n)[:, None] * model.gpu_signal
        for lev in p.countries:
            j = model.lever_index[lev.iso3]
            if lev.installed_h100e is not None:
                base[:, j] = lev.installed_h100e.draw(factors, n)
            if lev.organic_growth is not None:
                growth[:, j] = lev.organic_growth.draw(factors, n)
        self.base = np.maximum(base, GPU_FLOOR)
        self.retire = p.retirement_rate.draw(factors, n)
        net = growth - self.retire[:, None]
        self.yearly = np.exp(np.clip(net, -2 * GROWTH_LIMIT, 2 * GROWTH_LIMIT))
        self.organic = self.base.copy()
        self.decay = np.exp(-self.retire)
        self._draw_programmes(factors, gens, n)

    def _draw_programmes(self, factors, gens, n: int) -> None:
        """Programme q delivers ``prog_total[:, q]`` H100e linearly from ``prog_start[:, q]``."""
        m, p = self.model, self.model.params
        q_n = len(p.programmes)
        z = gens["gpu_programmes"].standard_normal((n, 2, q_n + m.n_countries))
        rho = p.programme_correlation  # within a country: a common part of the draws
        u = ndtr(
            math.sqrt(rho) * z[:, :, q_n + m.prog_country] + math.sqrt(1 - rho) * z[:, :, :q_n]
        )
        fraction = _quantiles(m.prog_fraction_ppf, u[:, 0])
        delay = _quantiles(m.prog_delay_ppf, u[:, 1])
        for q, prog in enumerate(p.programmes):
            if prog.fraction is not None:
                fraction[:, q] = prog.fraction.draw(factors, n)
            if prog.delay is not None:
                delay[:, q] = prog.delay.draw(factors, n)
        licensed = p.export_licence.draw(factors, n)
        fraction *= np.where(m.prog_licence, licensed[:, None], 1.0)
        self.prog_total = m.prog_cap * fraction
        self.prog_start = m.prog_start + delay
        self.prog_stock = np.zeros((n, q_n))

    def per_draw(self) -> dict[str, np.ndarray]:
        """The account's per-draw arrays (draw axis first), for resampling."""
        names = ("base", "retire", "yearly", "organic", "prog_total", "prog_start", "prog_stock")
        return {k: getattr(self, k) for k in (*names, "decay")}

    def history(self, year: int) -> np.ndarray:
        m = self.model
        ratio = m.gpu_hist_ratio[m.gpu_hist_years.index(year)]
        return np.clip(self.base * ratio, GPU_FLOOR, GPU_CAP)

    def step(self, year: int) -> np.ndarray | None:
        """Stock at the end of ``year`` from 2025 on; ``None`` before (see :meth:`history`)."""
        if year < LAST_DATA_YEAR:
            return None
        if year > LAST_DATA_YEAR:
            self.organic *= self.yearly
            np.clip(self.organic, 1e-6, GPU_CAP, out=self.organic)
        stock = self.organic.copy()
        if self.prog_stock.shape[1]:
            m = self.model
            # Programmes start at the anchor date or later (config.py checks): nothing delivered
            # before the anchors is counted twice.
            done = _delivered(year + 1, self.prog_start, m.prog_length)
            done -= _delivered(year, self.prog_start, m.prog_length)
            self.prog_stock *= self.decay[:, None]
            self.prog_stock += self.prog_total * done
            for q, j in enumerate(m.prog_country):  # exact sums, in the same order for any chunk
                stock[:, j] += self.prog_stock[:, q]
        return np.clip(stock, GPU_FLOOR, GPU_CAP, out=stock)


def _delivered(t: float, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Share of a programme delivered by time ``t``: linear from ``start`` over ``length``."""
    return np.clip((t - start) / length, 0.0, 1.0)


class _Investment:
    """Private-investment and regulation levers: latent increments by year."""

    def __init__(self, model: AiRace, factors, gens, n: int):
        p = model.params
        self.model, self.n = model, n
        self.beta = p.commercial_elasticity.draw(factors, n)
        self.dev_share = p.development_share.draw(factors, n)
        self.peer = p.peer_growth.draw(factors, n)
        x0 = model.x0
        self.countries: list[tuple[int, CountryLevers, dict[str, Any]]] = []
        for lev in p.countries:
            j = model.lever_index[lev.iso3]
            d: dict[str, Any] = {}
            d["growth"] = (
                lev.investment_growth.draw(factors, n)
                if lev.investment_growth is not None
                else self.peer
            )
            r = lev.regulation
            if r is not None:
                prob = r.reform_probability.draw(factors, n)
                u = 1.0 - gens[f"reform:{lev.iso3}"].random(n)  # in (0, 1]
                with np.errstate(divide="ignore", invalid="ignore"):
                    fails = np.floor(np.log(u) / np.log1p(-prob))
                fails = np.where(prob <= 0.0, np.inf, np.nan_to_num(fails, nan=np.inf))
                d["reform_year"] = r.reform_from + fails
                effect = r.reform_effect.draw(factors, n)
                d["reform_openv"] = np.maximum(
                    1.0 + effect / x0[OPERATING_ENVIRONMENT, j], MIN_FACTOR
                )
                d["reform_talent"] = np.maximum(
                    1.0 + r.reform_talent_share * effect / x0[TALENT, j], MIN_FACTOR
                )
                d["reform_growth"] = r.reform_investment_growth.draw(factors, n)
                burden = r.burden.draw(factors, n)
                d["burden_openv"] = np.maximum(
                    1.0 - burden / x0[OPERATING_ENVIRONMENT, j], MIN_FACTOR
                )
                d["burden_growth"] = r.burden_investment_growth.draw(factors, n)
            self.countries.append((j, lev, d))

    def per_draw(self) -> dict[str, np.ndarray]:
        """The per-draw arrays (draw axis first), for resampling: ``<q>:<key>`` for country q."""
        out = {"beta": self.beta, "dev_share": self.dev_share, "peer": self.peer}
        for q, (_, _, d) in enumerate(self.countries):
            out.update({f"{q}:{k}": v for k, v in d.items()})
        return out

    def set_per_draw(self, name: str, value: np.ndarray) -> None:
        q, _, key = name.partition(":")
        if key:
            self.countries[int(q)][2][key] = value
        else:
            setattr(self, name, value)

    def step(self, year: int, x: np.ndarray) -> None:
        m = self.model
        # Years of the investment data: every country with two consecutive observations.
        for j, rel in m.investment_history.get(year, ()):
            self._invest(x, j, np.full(self.n, rel))
        for j, lev, d in self.countries:
            r = lev.regulation
            growth = None
            if year > m.investment_data_end:
                growth = d["growth"] - self.peer
            if r is not None:
                if year >= r.reform_from:
                    now = d["reform_year"] == year
                    if now.any():
                        x[OPERATING_ENVIRONMENT, j] *= np.where(now, d["reform_openv"], 1.0)
                        x[TALENT, j] *= np.where(now, d["reform_talent"], 1.0)
                if year == r.burden_from:
                    x[OPERATING_ENVIRONMENT, j] *= d["burden_openv"]
                if growth is not None:
                    growth = growth + np.where(d["reform_year"] < year, d["reform_growth"], 0.0)
                    if year >= r.burden_from:
                        growth = growth - d["burden_growth"]
            if growth is not None:
                self._invest(x, j, growth)

    def _invest(self, x: np.ndarray, j: int, rel_growth: np.ndarray) -> None:
        inc = self.beta * rel_growth
        _apply(x[COMMERCIAL, j], inc.copy())
        inc *= self.dev_share
        _apply(x[DEVELOPMENT, j], inc)
