"""``ai_race``: the world model of the national AI race (docs/model.md has every equation).

Sixty-two countries start from the 2021 Tortoise Global AI Index sub-pillar table. Each
(country, pillar) score ``s`` lives on a shifted-log latent scale ``y = log(s + c_p)`` and moves
yearly as a random walk with an uncertain drift; policy levers (GPU deliveries, private
investment, regulation) add to the latent scores of the countries they concern. Every reported
year each pillar is min–max rescaled across countries and the seven pillars are combined and
rescaled exactly as Tortoise builds its index (:mod:`.tortoise`). A parallel account tracks every
country's AI-accelerator stock in H100-equivalents: a 2025 base (Epoch AI's tracked capacity
times an uncertain coverage multiplier, or a reported national total), organic growth net of
retirement, and announced programmes delivered on uncertain schedules.

Both outputs are "higher is better": ``ai_index`` (0–100) and ``gpu_stock`` (H100e).

Implementation notes. Only the latent score times ``exp`` matters to the ranks, so the state is
kept as ``X = exp(y) = s + c_p`` and updated by multiplication: the random walk and the levers
are multiplicative factors, and the offset ``c_p`` cancels in the min–max rescaling. A shock
common to every country of a pillar would cancel too, so the model draws none; countries'
fortunes are correlated through regional shocks instead. Random numbers per draw:
``7·62`` drifts, ``62 + 5`` shocks per simulated year and ``2·62`` GPU draws, plus one uniform
per country with a regulation lever (1,161 normals for a 2030 horizon).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from ...errors import ConfigError
from ..base import Bins, Model, Stepper
from .config import (
    GROWTH_LIMIT,
    LAST_DATA_YEAR,
    MAX_YEAR,
    MIN_YEAR,
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
                    f"model ai_race does not use factor '{name}'; remove it, or name it in "
                    "[model] (any number parameter of [model] may name a factor instead)",
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
        """The 2025 base (tracked-equivalent, before coverage) and the 2022–2024 ratios."""
        tg = tracked_gpus()
        p = self.params
        i25 = tg.years.index(LAST_DATA_YEAR)
        infra = table.scores[:, INFRASTRUCTURE]
        # Untracked countries: untracked_h100e scaled by the 2021 Infrastructure score.
        untracked = np.maximum(p.untracked_h100e * infra / 100.0, GPU_FLOOR)
        base = untracked.copy()
        world_ratio = tg.world / tg.world[i25]
        hist_years = [y for y in tg.years if y < LAST_DATA_YEAR]
        ratios = np.tile(world_ratio[: len(hist_years), None], (1, self.n_countries))
        floors = untracked[None, :] * ratios
        for iso, values in tg.by_country.items():
            j = self.countries.index(iso)
            base[j] = max(values[i25], GPU_FLOOR)
            ratios[:, j] = values[: len(hist_years)] / base[j]
        self.gpu_base_tracked = base  # (country,) [tracked H100e]
        self.gpu_hist_years = tuple(hist_years)
        self.gpu_hist_ratio = ratios  # (hist year, country)
        self.gpu_hist_floor = floors / base[None, :]  # floor as a ratio of the base

    def _setup_investment(self) -> None:
        """Latent Commercial increments implied by the investment data, relative to peers."""
        data = private_investment()
        ref = investment_reference_growth(data)
        self.investment_data_end = max(y for d in data.values() for y in d)
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
        c, t = self.n_countries, len(self.steps)
        return 7 * c + (c + self.n_regions) * t + 2 * c

    def start(
        self,
        factors: Mapping[str, np.ndarray],
        rngs: Callable[[str], np.random.Generator],
        n: int,
    ) -> _RaceStepper:
        # One generator per named component; chunks of draws take consecutive rows from each,
        # so the numbers are those of one (n, ...) array per component, draw axis first.
        gens = {"pillar_drift": rngs("pillar_drift"), "gpu_country": rngs("gpu_country")}
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
        np.exp(z, out=z)
        self.drift = np.ascontiguousarray(z.transpose(1, 2, 0))
        vol = p.volatility.draw(factors, n)
        share = p.regional_share.draw(factors, n)
        self.own_sd = (vol * np.sqrt(1.0 - share))[:, None].T
        self.reg_sd = (vol * np.sqrt(share))[:, None].T
        self.x = np.empty((7, model.n_countries, n))
        self.x[:] = model.x0[:, :, None]
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


def _apply(target: np.ndarray, inc: np.ndarray) -> None:
    """Add a latent increment: ``target *= exp(clip(inc))`` in place."""
    np.clip(inc, -LEVER_STEP_LIMIT, LEVER_STEP_LIMIT, out=inc)
    np.exp(inc, out=inc)
    target *= inc


class _GpuAccount:
    """Every country's GPU stock [H100e] through the years, for one block of draws."""

    def __init__(self, model: AiRace, factors, gens, n: int):
        p = model.params
        self.model = model
        z = gens["gpu_country"].standard_normal((n, 2, model.n_countries))
        coverage = p.coverage.draw(factors, n)[:, None] * np.exp(p.coverage_dispersion * z[:, 0])
        self.base = model.gpu_base_tracked * coverage
        self.growth = (
            p.organic_growth.draw(factors, n)[:, None] + p.organic_growth_dispersion * z[:, 1]
        )
        self.retire = p.retirement_rate.draw(factors, n)
        # Programme q: country prog_country[q], delivering prog_total[:, q] H100e linearly over
        # prog_length[q] years from prog_start[:, q].
        self.prog_country: list[int] = []
        self.prog_length: list[float] = []
        totals, starts = [], []
        for lev in p.countries:
            j = model.lever_index[lev.iso3]
            if lev.installed_h100e is not None:
                self.base[:, j] = lev.installed_h100e.draw(factors, n)
            if lev.organic_growth is not None:
                self.growth[:, j] = lev.organic_growth.draw(factors, n)
            for prog in lev.programmes:
                totals.append(prog.gpus * prog.h100e_per_gpu * prog.fraction.draw(factors, n))
                starts.append(prog.start + prog.delay.draw(factors, n))
                self.prog_country.append(j)
                self.prog_length.append(prog.end - prog.start)
        self.prog_total = np.stack(totals, axis=1) if totals else np.zeros((n, 0))
        self.prog_start = np.stack(starts, axis=1) if starts else np.zeros((n, 0))
        np.maximum(self.base, GPU_FLOOR, out=self.base)
        net = self.growth - self.retire[:, None]
        self.yearly = np.exp(np.clip(net, -2 * GROWTH_LIMIT, 2 * GROWTH_LIMIT))
        self.organic = self.base.copy()
        self.prog_stock = np.zeros((n, len(self.prog_country)))
        self.decay = np.exp(-self.retire)

    def per_draw(self) -> dict[str, np.ndarray]:
        """The account's per-draw arrays (draw axis first), for resampling."""
        names = ("base", "retire", "yearly", "organic", "prog_total", "prog_start", "prog_stock")
        return {k: getattr(self, k) for k in (*names, "decay")}

    def history(self, year: int) -> np.ndarray:
        m = self.model
        i = m.gpu_hist_years.index(year)
        ratio = np.maximum(m.gpu_hist_ratio[i], m.gpu_hist_floor[i])
        return np.clip(self.base * ratio, GPU_FLOOR, GPU_CAP)

    def step(self, year: int) -> np.ndarray | None:
        """Stock at the end of ``year`` from 2025 on; ``None`` before (see :meth:`history`)."""
        if year < LAST_DATA_YEAR:
            return None
        if year > LAST_DATA_YEAR:
            self.organic *= self.yearly
            np.clip(self.organic, 1e-6, GPU_CAP, out=self.organic)
        stock = self.organic.copy()
        if self.prog_country:
            self.prog_stock *= self.decay[:, None]
            for q, (j, length) in enumerate(zip(self.prog_country, self.prog_length, strict=True)):
                start = self.prog_start[:, q]
                done = _delivered(year + 1, start, length) - _delivered(year, start, length)
                self.prog_stock[:, q] += self.prog_total[:, q] * done
                stock[:, j] += self.prog_stock[:, q]
        return np.clip(stock, GPU_FLOOR, GPU_CAP, out=stock)


def _delivered(t: float, start: np.ndarray, length: float) -> np.ndarray:
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
