"""The ``[model]`` table of the ``ai_race`` model: schema, defaults and validation.

Every parameter is either a number or, where the schema says so, the *name of a factor* of the
scenario (a string): the model then reads that factor's draws, one value per draw. A factor's
distribution must stay inside the parameter's allowed range (a delivered fraction needs a
distribution within [0, 1], say); this is checked here, from the distribution's support, so a
run never starts with an impossible value. docs/model.md documents every key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ConfigError, did_you_mean
from ...scenario.distributions import finite_number
from .tortoise import PILLARS

# Defaults: the values of configs/baseline.toml (docs/model.md gives their sources).
DEFAULT_PILLAR_OFFSETS = {  # the 2021 cross-country median of each pillar [points]
    "talent": 13.445,
    "infrastructure": 65.23,
    "operating_environment": 69.505,
    "research": 12.93,
    "development": 9.005,
    "government_strategy": 63.93,
    "commercial": 2.585,
}
MIN_YEAR, MAX_YEAR = 2022, 2100
LAST_DATA_YEAR = 2025  # GPU stock: the tracked data end (Oct 2025); programmes start after


@dataclass(frozen=True)
class Slot:
    """A parameter that is a fixed number or the name of a factor."""

    key: str
    value: float = math.nan
    factor: str | None = None
    low: float = -math.inf  # the allowed range (checked on the factor's support)
    high: float = math.inf
    guard: float = math.inf  # draws are also clipped to [-guard, guard] (overflow guard)

    def draw(self, factors: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """Shape (n,): the factor's draws (clipped to the allowed range) or the number."""
        if self.factor is None:
            return np.full(n, self.value)
        x = np.asarray(factors[self.factor], dtype=float)
        return np.clip(x, max(self.low, -self.guard), min(self.high, self.guard))


@dataclass(frozen=True)
class Programme:
    """An announced GPU programme of one country: an upper bound delivered on a schedule."""

    country: str
    name: str
    gpus: float  # upper bound [GPUs]
    h100e_per_gpu: float  # [H100e per GPU]
    start: float  # decimal year the deliveries start
    end: float  # decimal year the (undelayed) deliveries end
    fraction: Slot  # delivered share of the upper bound [1]
    delay: Slot  # shift of the whole schedule [years]


@dataclass(frozen=True)
class Regulation:
    reform_probability: Slot  # yearly chance of a regulatory/labour reform [1/year]
    reform_from: int  # first year a reform can pass
    reform_effect: Slot  # Operating Environment shift [points, 2021 scale]
    reform_talent_share: float  # Talent shift per point of reform effect [1]
    reform_investment_growth: Slot  # extra investment log-growth after a reform [1/year]
    burden: Slot  # Operating Environment loss from a compliance burden [points]
    burden_from: int  # year the burden starts (a law's entry into force)
    burden_investment_growth: Slot  # investment log-growth lost under the burden [1/year]


@dataclass(frozen=True)
class CountryLevers:
    iso3: str
    installed_h100e: Slot | None
    organic_growth: Slot | None
    investment_growth: Slot | None
    regulation: Regulation | None
    programmes: tuple[Programme, ...]


@dataclass(frozen=True)
class AiRaceParams:
    pillar_offsets: np.ndarray  # (pillar,) [points]
    drift_sd: Slot
    volatility: Slot
    regional_share: Slot
    coverage: Slot
    coverage_dispersion: float
    untracked_h100e: float
    organic_growth: Slot
    organic_growth_dispersion: float
    retirement_rate: Slot
    infrastructure_elasticity: Slot
    commercial_elasticity: Slot
    development_share: Slot
    peer_growth: Slot
    countries: tuple[CountryLevers, ...]
    # Latent dynamics chosen by the back-test (docs/model.md "Dynamics"); 0 switches one off.
    country_drift_sd: Slot = Slot("model.country_drift_sd", 0.0)
    mean_reversion: Slot = Slot("model.mean_reversion", 0.0)
    volatility_size_elasticity: float = 0.0
    methodology_sd: Slot = Slot("model.methodology_sd", 0.0)
    methodology_years: tuple[int, ...] = ()
    pillar_offset_scale: Slot = Slot("model.pillar_offset_scale", 1.0)
    rank_momentum: float = 0.0

    def slots(self) -> list[Slot]:
        out = [
            self.drift_sd,
            self.volatility,
            self.regional_share,
            self.country_drift_sd,
            self.mean_reversion,
            self.methodology_sd,
            self.pillar_offset_scale,
            self.coverage,
            self.organic_growth,
            self.retirement_rate,
            self.infrastructure_elasticity,
            self.commercial_elasticity,
            self.development_share,
            self.peer_growth,
        ]
        for c in self.countries:
            out += [s for s in (c.installed_h100e, c.organic_growth, c.investment_growth) if s]
            if c.regulation is not None:
                r = c.regulation
                out += [
                    r.reform_probability,
                    r.reform_effect,
                    r.reform_investment_growth,
                    r.burden,
                    r.burden_investment_growth,
                ]
            for p in c.programmes:
                out += [p.fraction, p.delay]
        return out

    @property
    def factor_names(self) -> tuple[str, ...]:
        """The factors the model reads, each once, in the order of the schema."""
        return tuple(dict.fromkeys(s.factor for s in self.slots() if s.factor is not None))


# ---------------------------------------------------------------------------------------------


def _interval_text(low: float, high: float) -> str:
    if high == math.inf:
        return f"≥ {low:g}"
    if low == -math.inf:
        return f"≤ {high:g}"
    return f"within [{low:g}, {high:g}]"


class _Table:
    """One table of ``[model]`` being read: known keys, typed values, messages with key paths."""

    def __init__(self, table: Any, key: str, ctx: _Context, allowed: tuple[str, ...]):
        self.key, self.ctx = key, ctx
        if not isinstance(table, Mapping):
            raise ctx.error(key, f"must be a table, got {table!r}")
        self.table = table
        for name in table:
            if name not in allowed:
                raise ctx.error(
                    f"{key}.{name}",
                    f"unknown key{did_you_mean(str(name), allowed)}; "
                    f"{key} takes {', '.join(allowed)}",
                )

    def path(self, name: str) -> str:
        return f"{self.key}.{name}"

    def has(self, name: str) -> bool:
        return name in self.table

    def number(
        self, name: str, default: float | None, low: float = -math.inf, high: float = math.inf
    ) -> float:
        if name not in self.table:
            if default is None:
                raise self.ctx.error(self.key, f"missing '{name}'; add {name} = <number>")
            return float(default)
        v = self.table[name]
        if not finite_number(v):  # an int beyond the float range too (TOML reads 10**400)
            raise self.ctx.error(self.path(name), f"must be a finite number, got {v!r}")
        if not low <= v <= high:
            raise self.ctx.error(
                self.path(name), f"must be {_interval_text(low, high)}, got {v:g}; change it"
            )
        return float(v)

    def year(self, name: str, default: int | None) -> int:
        v = self.number(name, default, MIN_YEAR, MAX_YEAR)
        if v != int(v):
            raise self.ctx.error(self.path(name), f"must be a whole year, got {v:g}")
        return int(v)

    def slot(
        self,
        name: str,
        default: float | str | None,
        low: float = -math.inf,
        high: float = math.inf,
        guard: float = math.inf,
    ) -> Slot:
        key = self.path(name)
        if name not in self.table:
            if default is None:
                raise self.ctx.error(
                    self.key, f"missing '{name}'; add {name} = <number or factor name>"
                )
            v = default
        else:
            v = self.table[name]
        if isinstance(v, str):
            return self.ctx.factor_slot(key, v, low, high, guard)
        if not finite_number(v):  # an int beyond the float range too (TOML reads 10**400)
            raise self.ctx.error(key, f"must be a finite number or the name of a factor, got {v!r}")
        if not low <= v <= high:
            raise self.ctx.error(key, f"must be {_interval_text(low, high)}, got {v:g}; change it")
        if abs(v) > guard:
            raise self.ctx.error(key, f"must be within ±{guard:g}, got {v:g}; change it")
        return Slot(key, float(v), None, low, high, guard)


class _Context:
    def __init__(self, source: str, factors: Mapping[str, Any]):
        self.source, self.factors = source, factors

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, source=self.source, key=key)

    def factor_slot(self, key: str, name: str, low: float, high: float, guard: float) -> Slot:
        if name not in self.factors:
            raise self.error(
                key,
                f"{name!r} is not a factor of this scenario{did_you_mean(name, self.factors)}; "
                f"declare [factors.{name}] or give a number",
            )
        dist = self.factors[name].dist
        with np.errstate(all="ignore"):
            lo, hi = (float(v) for v in np.asarray(dist.ppf([0.0, 1.0]), dtype=float))
        if math.isnan(lo) or math.isnan(hi) or lo < low or hi > high:
            raise self.error(
                f"factors.{name}",
                f"is used by {key}, which must be {_interval_text(low, high)}, but its "
                f"distribution reaches [{lo:g}, {hi:g}]; use a distribution bounded to that range "
                "(beta, pert, uniform, triangular, truncnormal with low/high, or a constant)",
            )
        return Slot(key, math.nan, name, low, high, guard)


TOP_KEYS = (
    "pillar_offsets",
    "drift_sd",
    "volatility",
    "regional_share",
    "country_drift_sd",
    "mean_reversion",
    "volatility_size_elasticity",
    "methodology_sd",
    "methodology_years",
    "pillar_offset_scale",
    "rank_momentum",
    "gpu",
    "investment",
    "countries",
)
GPU_KEYS = (
    "coverage",
    "coverage_dispersion",
    "untracked_h100e",
    "organic_growth",
    "organic_growth_dispersion",
    "retirement_rate",
    "infrastructure_elasticity",
)
INVESTMENT_KEYS = ("commercial_elasticity", "development_share", "peer_growth")
COUNTRY_KEYS = (
    "installed_h100e",
    "organic_growth",
    "investment_growth",
    "regulation",
    "programmes",
)
REGULATION_KEYS = (
    "reform_probability",
    "reform_from",
    "reform_effect",
    "reform_talent_share",
    "reform_investment_growth",
    "burden",
    "burden_from",
    "burden_investment_growth",
)
PROGRAMME_KEYS = ("gpus", "h100e_per_gpu", "start", "end", "fraction", "delay")

GROWTH_LIMIT = 5.0  # |log growth| per year beyond which a rate is certainly a mistake


def _dynamics(top: _Table, ctx: _Context) -> dict[str, Any]:
    """The switchable latent dynamics of ``[model]`` (0 or an empty list: off)."""
    years = top.table.get("methodology_years", [])
    if not isinstance(years, list) or any(
        isinstance(y, bool) or not isinstance(y, int) or not MIN_YEAR <= y <= MAX_YEAR
        for y in years
    ):
        raise ctx.error(
            "model.methodology_years",
            f"must be a list of whole years within {MIN_YEAR}..{MAX_YEAR}, got {years!r}",
        )
    return dict(
        country_drift_sd=top.slot("country_drift_sd", 0.0, 0.0, 1.0),
        mean_reversion=top.slot("mean_reversion", 0.0, 0.0, 1.0),
        volatility_size_elasticity=top.number("volatility_size_elasticity", 0.0, -3.0, 3.0),
        methodology_sd=top.slot("methodology_sd", 0.0, 0.0, 1.0),
        methodology_years=tuple(sorted(set(years))),
        pillar_offset_scale=top.slot("pillar_offset_scale", 1.0, 0.01, 100.0),
        rank_momentum=top.number("rank_momentum", 0.0, 0.0, 1.0),
    )


def parse_params(
    table: Mapping[str, Any],
    *,
    source: str,
    factors: Mapping[str, Any],
    countries: tuple[str, ...],
) -> AiRaceParams:
    """Validate ``[model]`` of an ``ai_race`` scenario; ``factors`` maps names to Factor objects."""
    ctx = _Context(source, factors)
    top = _Table(table, "model", ctx, TOP_KEYS)

    offsets = dict(DEFAULT_PILLAR_OFFSETS)
    if top.has("pillar_offsets"):
        t = _Table(table["pillar_offsets"], "model.pillar_offsets", ctx, PILLARS)
        for p in PILLARS:
            offsets[p] = t.number(p, offsets[p], 1e-6, 1e6)

    g = _Table(table.get("gpu", {}), "model.gpu", ctx, GPU_KEYS)
    inv = _Table(table.get("investment", {}), "model.investment", ctx, INVESTMENT_KEYS)
    params = dict(
        pillar_offsets=np.array([offsets[p] for p in PILLARS]),
        drift_sd=top.slot("drift_sd", None, 0.0, 1.0),
        volatility=top.slot("volatility", None, 0.0, 1.0),
        regional_share=top.slot("regional_share", 0.0, 0.0, 1.0),
        coverage=g.slot("coverage", None, 0.0, guard=1e4),
        coverage_dispersion=g.number("coverage_dispersion", 0.0, 0.0, 3.0),
        untracked_h100e=g.number("untracked_h100e", None, 0.0, 1e9),
        organic_growth=g.slot("organic_growth", None, guard=GROWTH_LIMIT),
        organic_growth_dispersion=g.number("organic_growth_dispersion", 0.0, 0.0, 3.0),
        retirement_rate=g.slot("retirement_rate", None, 0.0, guard=GROWTH_LIMIT),
        infrastructure_elasticity=g.slot("infrastructure_elasticity", None, 0.0, guard=10.0),
        commercial_elasticity=inv.slot("commercial_elasticity", None, 0.0, guard=10.0),
        development_share=inv.slot("development_share", 0.0, 0.0, guard=10.0),
        peer_growth=inv.slot("peer_growth", None, guard=GROWTH_LIMIT),
        **_dynamics(top, ctx),
    )

    levers = []
    ctab = table.get("countries", {})
    if not isinstance(ctab, Mapping):
        raise ctx.error("model.countries", "must be a table of countries keyed by ISO code")
    for iso, spec in ctab.items():
        key = f"model.countries.{iso}"
        if iso not in countries:
            raise ctx.error(
                key,
                f"{iso!r} is not a country of the model{did_you_mean(str(iso), countries)}; "
                "use an ISO 3166 alpha-3 code of the 62 countries (simulator/data/countries.csv)",
            )
        levers.append(_parse_country(iso, spec, key, ctx))
    return AiRaceParams(**params, countries=tuple(levers))


def _parse_country(iso: str, spec: Any, key: str, ctx: _Context) -> CountryLevers:
    t = _Table(spec, key, ctx, COUNTRY_KEYS)
    installed = (
        t.slot("installed_h100e", None, 0.0, guard=1e12) if t.has("installed_h100e") else None
    )
    organic = (
        t.slot("organic_growth", None, guard=GROWTH_LIMIT) if t.has("organic_growth") else None
    )
    investment = (
        t.slot("investment_growth", None, guard=GROWTH_LIMIT)
        if t.has("investment_growth")
        else None
    )
    regulation = None
    if t.has("regulation"):
        r = _Table(spec["regulation"], f"{key}.regulation", ctx, REGULATION_KEYS)
        regulation = Regulation(
            reform_probability=r.slot("reform_probability", 0.0, 0.0, 1.0),
            reform_from=r.year("reform_from", MIN_YEAR),
            reform_effect=r.slot("reform_effect", 0.0, guard=100.0),
            reform_talent_share=r.number("reform_talent_share", 0.0, 0.0, 10.0),
            reform_investment_growth=r.slot("reform_investment_growth", 0.0, guard=GROWTH_LIMIT),
            burden=r.slot("burden", 0.0, guard=100.0),
            burden_from=r.year("burden_from", MIN_YEAR),
            burden_investment_growth=r.slot("burden_investment_growth", 0.0, guard=GROWTH_LIMIT),
        )
    programmes = []
    if t.has("programmes"):
        ptab = spec["programmes"]
        if not isinstance(ptab, Mapping):
            raise ctx.error(f"{key}.programmes", "must be a table of programmes keyed by a name")
        for name, pspec in ptab.items():
            pkey = f"{key}.programmes.{name}"
            p = _Table(pspec, pkey, ctx, PROGRAMME_KEYS)
            start = p.number("start", None, float(LAST_DATA_YEAR), float(MAX_YEAR))
            end = p.number("end", None, start, float(MAX_YEAR + 1))
            if not end > start:
                raise ctx.error(
                    f"{pkey}.end", f"must be after start = {start:g}, got {end:g}; fix the schedule"
                )
            programmes.append(
                Programme(
                    country=iso,
                    name=str(name),
                    gpus=p.number("gpus", None, 0.0, 1e10),
                    h100e_per_gpu=p.number("h100e_per_gpu", None, 1e-3, 1e3),
                    start=start,
                    end=end,
                    fraction=p.slot("fraction", 1.0, 0.0, 1.0),
                    delay=p.slot("delay", 0.0, 0.0, 50.0),
                )
            )
    return CountryLevers(iso, installed, organic, investment, regulation, tuple(programmes))
