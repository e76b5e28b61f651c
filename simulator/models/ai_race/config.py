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
from .tortoise import PILLARS, gpu_register

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
LAST_DATA_YEAR = 2025  # GPU stock: the 2025 anchors (end of 2025); programmes deliver after
ANCHOR_DATE = 2026.0  # decimal year of the anchors: everything delivered before is in them
#: A programme's status, from the firmest to the loosest.
STATUSES = ("delivered", "contracted", "announced", "mou")
#: Default status priors: (low, mode, high) of a PERT for the delivered fraction [1] and the
#: delay [years] (the values of configs/baseline.toml, assumptions documented there).
DEFAULT_STATUS = {
    "delivered": {"fraction": (0.9, 1.0, 1.0), "delay": (0.0, 0.0, 0.5)},
    "contracted": {"fraction": (0.5, 0.9, 1.0), "delay": (0.0, 0.5, 2.0)},
    "announced": {"fraction": (0.2, 0.6, 1.0), "delay": (0.0, 1.0, 3.0)},
    "mou": {"fraction": (0.0, 0.25, 0.8), "delay": (0.0, 1.5, 4.0)},
}


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
    """A GPU programme of one country: an upper bound delivered on a schedule.

    ``fraction`` and ``delay`` are ``None`` when they follow the status prior of ``status``
    (drawn per programme by the model); a scenario may give a number or a factor instead.
    """

    country: str
    name: str
    gpus: float  # upper bound [GPUs]
    h100e_per_gpu: float  # [H100e per GPU]
    start: float  # decimal year the deliveries start
    end: float  # decimal year the (undelayed) deliveries end
    fraction: Slot | None  # delivered share of the upper bound [1]
    delay: Slot | None  # shift of the whole schedule [years]
    status: str = "announced"  # one of STATUSES
    licence: bool = False  # needs a US export licence (gated by model.gpu.export_licence)
    in_country: float = 1.0  # share of the delivered GPUs installed in this country [1]


@dataclass(frozen=True)
class StatusPrior:
    """PERT (low, mode, high) of the delivered fraction and of the delay of one status."""

    fraction: tuple[float, float, float]
    delay: tuple[float, float, float]


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
    anchor_lambda: float
    unanchored_h100e: float
    organic_growth: Slot
    organic_growth_dispersion: float
    signal_dispersion: float
    signal_passthrough: Slot
    retirement_rate: Slot
    export_licence: Slot
    programme_correlation: float
    status: Mapping[str, StatusPrior]
    infrastructure_elasticity: Slot
    commercial_elasticity: Slot
    development_share: Slot
    peer_growth: Slot
    countries: tuple[CountryLevers, ...]
    programmes: tuple[Programme, ...]  # every counted programme: the register's and the scenario's
    # Latent dynamics chosen by the back-test (docs/model.md "Dynamics"); 0 switches one off.
    country_drift_sd: Slot = Slot("model.country_drift_sd", 0.0)
    mean_reversion: Slot = Slot("model.mean_reversion", 0.0)
    volatility_size_elasticity: float = 0.0
    methodology_sd: Slot = Slot("model.methodology_sd", 0.0)
    methodology_years: tuple[int, ...] = ()
    pillar_offset_scale: Slot = Slot("model.pillar_offset_scale", 1.0)
    rank_momentum: float = 0.0
    # Use the investment data of years up to this one only (the back-test: what was published by
    # its origin); later years grow like their peers until the projection starts.
    investment_data_until: int = MAX_YEAR

    def slots(self) -> list[Slot]:
        out = [
            self.drift_sd,
            self.volatility,
            self.regional_share,
            self.country_drift_sd,
            self.mean_reversion,
            self.methodology_sd,
            self.pillar_offset_scale,
            self.organic_growth,
            self.signal_passthrough,
            self.retirement_rate,
            self.export_licence,
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
        for p in self.programmes:
            out += [s for s in (p.fraction, p.delay) if s is not None]
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
    "anchor_lambda",
    "unanchored_h100e",
    "organic_growth",
    "organic_growth_dispersion",
    "signal_dispersion",
    "signal_passthrough",
    "retirement_rate",
    "infrastructure_elasticity",
    "export_licence",
    "programme_correlation",
    "status",
)
PRIOR_KEYS = ("fraction", "delay")
INVESTMENT_KEYS = ("commercial_elasticity", "development_share", "peer_growth", "data_until")
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
PROGRAMME_KEYS = (
    "gpus",
    "h100e_per_gpu",
    "start",
    "end",
    "fraction",
    "delay",
    "status",
    "licence",
    "in_country",
    "counted",
)

GROWTH_LIMIT = 5.0  # |log growth| per year beyond which a rate is certainly a mistake


def _whole(t: _Table, name: str, default: int, low: int) -> int:
    """A whole year in ``low..MAX_YEAR`` (a data vintage may precede the model's first year)."""
    v = t.number(name, default, low, MAX_YEAR)
    if v != int(v):
        raise t.ctx.error(t.path(name), f"must be a whole year, got {v:g}")
    return int(v)


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
        anchor_lambda=g.number("anchor_lambda", 4.0, 0.0, 100.0),
        unanchored_h100e=g.number("unanchored_h100e", None, 0.0, 1e9),
        organic_growth=g.slot("organic_growth", None, guard=GROWTH_LIMIT),
        organic_growth_dispersion=g.number("organic_growth_dispersion", 0.0, 0.0, 3.0),
        signal_dispersion=g.number("signal_dispersion", 0.0, 0.0, 3.0),
        signal_passthrough=g.slot("signal_passthrough", 0.0, 0.0, 10.0),
        retirement_rate=g.slot("retirement_rate", None, 0.0, guard=GROWTH_LIMIT),
        export_licence=g.slot("export_licence", 1.0, 0.0, 1.0),
        programme_correlation=g.number("programme_correlation", 0.0, 0.0, 1.0),
        status=_parse_status(table.get("gpu", {}).get("status", {}), ctx),
        infrastructure_elasticity=g.slot("infrastructure_elasticity", None, 0.0, guard=10.0),
        commercial_elasticity=inv.slot("commercial_elasticity", None, 0.0, guard=10.0),
        development_share=inv.slot("development_share", 0.0, 0.0, guard=10.0),
        peer_growth=inv.slot("peer_growth", None, guard=GROWTH_LIMIT),
        investment_data_until=_whole(inv, "data_until", MAX_YEAR, 1900),
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
    # Countries with register programmes and no table of their own: the register as it is.
    programmes = [p for lev in levers for p in lev.programmes]
    for iso in dict.fromkeys(r.iso3 for r in gpu_register() if r.counted):
        if iso not in ctab:
            programmes += _parse_programmes(iso, {}, f"model.countries.{iso}.programmes", ctx)
    return AiRaceParams(**params, countries=tuple(levers), programmes=tuple(programmes))


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
    programmes = _parse_programmes(iso, spec.get("programmes", {}), f"{key}.programmes", ctx)
    return CountryLevers(iso, installed, organic, investment, regulation, programmes)


def _parse_status(spec: Any, ctx: _Context) -> dict[str, StatusPrior]:
    """``[model.gpu.status.<status>]``: PERT (low, mode, high) of fraction and delay."""
    t = _Table(spec, "model.gpu.status", ctx, STATUSES)
    out = {}
    for status in STATUSES:
        key = f"model.gpu.status.{status}"
        given = _Table(spec.get(status, {}), key, ctx, PRIOR_KEYS) if t.has(status) else None
        prior = {}
        for name, high in (("fraction", 1.0), ("delay", 50.0)):
            v = DEFAULT_STATUS[status][name]
            if given is not None and given.has(name):
                v = given.table[name]
            ok = (
                isinstance(v, (list, tuple))
                and len(v) == 3
                and all(finite_number(x) for x in v)
                and 0.0 <= v[0] <= v[1] <= v[2] <= high
                and v[2] > v[0]
            )
            if not ok:
                raise ctx.error(
                    f"{key}.{name}",
                    f"must be [low, mode, high] with 0 ≤ low ≤ mode ≤ high ≤ {high:g} and "
                    f"low < high, got {v!r}",
                )
            prior[name] = (float(v[0]), float(v[1]), float(v[2]))
        out[status] = StatusPrior(**prior)
    return out


def _parse_programmes(iso: str, ptab: Any, key: str, ctx: _Context) -> tuple[Programme, ...]:
    """The register's programmes of ``iso`` (gpu_programmes.csv), with the scenario's changes.

    A table ``[model.countries.<iso>.programmes.<id>]`` changes the register's programme ``id``
    key by key (``counted = true`` adds one the register does not count); another name adds a
    programme, which then needs gpus, h100e_per_gpu, start and end.
    """
    if not isinstance(ptab, Mapping):
        raise ctx.error(key, "must be a table of programmes keyed by a name")
    register = {r.id: r for r in gpu_register() if r.iso3 == iso}
    names = [r.id for r in register.values() if r.counted]
    names += [n for n in ptab if n not in names]
    out = []
    for name in names:
        row = register.get(name)
        spec = ptab.get(name, {})
        p = _Table(spec, f"{key}.{name}", ctx, PROGRAMME_KEYS)
        counted = spec.get("counted", row.counted if row else True)
        if not isinstance(counted, bool):
            raise ctx.error(p.path("counted"), f"must be true or false, got {counted!r}")
        if not counted:
            if set(spec) - {"counted"}:
                why = f" ({row.overlap})" if row is not None and row.overlap else ""
                raise ctx.error(
                    p.key,
                    f"the register does not count this programme{why}; "
                    "add counted = true to count it, or remove the table",
                )
            continue
        out.append(_programme(iso, str(name), p, row, ctx))
    return tuple(out)


def _programme(iso: str, name: str, p: _Table, row: Any, ctx: _Context) -> Programme:
    def default(field: str) -> Any:
        value = getattr(row, field, None) if row is not None else None
        return None if value is None or value != value else value  # NaN: not in the register

    start = p.number("start", default("start"), ANCHOR_DATE, float(MAX_YEAR))
    end = p.number("end", default("end"), start, float(MAX_YEAR + 1))
    if not end > start:
        raise ctx.error(p.path("end"), f"must be after start = {start:g}, got {end:g}; fix it")
    status = p.table.get("status", default("status") or "announced")
    if status not in STATUSES:
        raise ctx.error(
            p.path("status"),
            f"must be one of {', '.join(STATUSES)}, got {status!r}"
            + did_you_mean(str(status), STATUSES),
        )
    licence = p.table.get("licence", bool(default("licence")))
    if not isinstance(licence, bool):
        raise ctx.error(p.path("licence"), f"must be true or false, got {licence!r}")
    return Programme(
        country=iso,
        name=name,
        gpus=p.number("gpus", default("gpus"), 0.0, 1e10),
        h100e_per_gpu=p.number("h100e_per_gpu", default("h100e_per_gpu"), 1e-3, 1e3),
        start=start,
        end=end,
        fraction=p.slot("fraction", None, 0.0, 1.0) if p.has("fraction") else None,
        delay=p.slot("delay", None, 0.0, 50.0) if p.has("delay") else None,
        status=status,
        licence=licence,
        in_country=p.number("in_country", default("in_country") if row else 1.0, 0.0, 1.0),
    )
