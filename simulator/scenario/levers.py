"""Levers: the decisions of a scenario (``[levers.NAME]``), distinct from its uncertain factors.

A lever is a number the decision-maker chooses, with its allowed values and a default (the
policy as announced)::

    [levers.kor_delivered_fraction]
    low = 0.5                  # a range: any value in [low, high]; sweeps use the grid of step
    high = 1.0
    step = 0.1
    default = 0.8              # the default policy (what `sweep` compares against)
    value = 0.9                # optional: the value this run uses (default: the default)
    description = "share of the 260,000 Nvidia GPUs Korea secures"
    units = "1"

    [levers.reform_year]
    values = [2026, 2027, 2028]   # or a list of the allowed values
    default = 2027

A parameter of ``[model]``, or of a ``[factors.NAME]`` table (``mean = "growth_target"``),
names a lever by writing its name where a number goes. Levers resolve here, at the scenario
layer: :func:`substitute` puts each lever's value in place of its name before the model or the
factor's distribution is built, so every model accepts lever names. The stored scenario keeps
the names and the ``[levers]`` table, so it re-runs exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, did_you_mean, key_part, option
from ..errors import short_repr as _short
from .distributions import MAX_MAGNITUDE, finite_number

LEVER_KEYS = ("values", "low", "high", "step", "default", "value", "description", "units", "source")
LEVER_TEXT_KEYS = ("description", "units", "source")
MAX_GRID = 10_000  # values of one lever's grid
#: Names a lever cannot take: the other dimensions of a sweep's Dataset.
RESERVED = ("metric", "year", "country", "draw", "factor", "lever", "outcome", "combination")


@dataclass(frozen=True)
class Lever:
    """One decision variable: its allowed values, its default and the value this run uses."""

    name: str
    default: float
    value: float
    values: tuple[float, ...] | None = None  # a list of allowed values, or None for a range
    low: float = math.nan
    high: float = math.nan
    step: float = math.nan
    integer: bool = False
    description: str = ""
    units: str = ""
    source: str = ""

    @property
    def grid(self) -> tuple[float, ...]:
        """The values a sweep tries by default: the list, or low..high by step."""
        if self.values is not None:
            return self.values
        n = round((self.high - self.low) / self.step)
        return tuple(_clean(self.low + i * self.step, self.integer) for i in range(n + 1))

    @property
    def bounds(self) -> tuple[float, float]:
        """The smallest and largest allowed value."""
        if self.values is not None:
            return min(self.values), max(self.values)
        return self.low, self.high

    @property
    def continuous(self) -> bool:
        """Whether any value between ``low`` and ``high`` is allowed (a range, not a list)."""
        return self.values is None

    def allows(self, v: float) -> bool:
        """Whether ``v`` is an allowed value."""
        if not finite_number(v):
            return False
        if self.values is not None:
            return any(math.isclose(v, a, rel_tol=1e-12, abs_tol=1e-12) for a in self.values)
        if self.integer and v != int(v):
            return False
        return self.low - 1e-12 <= v <= self.high + 1e-12

    def allowed_text(self) -> str:
        """The allowed values, as a message says them."""
        if self.values is not None:
            return "one of " + ", ".join(f"{v:g}" for v in self.values)
        whole = " (whole numbers)" if self.integer else ""
        return f"a number in [{self.low:g}, {self.high:g}]{whole}"

    @property
    def label(self) -> str:
        """The lever's description (or its name), as tables and plots show it."""
        return self.description or self.name


def _clean(v: float, integer: bool) -> float:
    return round(v) if integer else float(f"{v:.12g}")


def read_levers(raw: Any, source: str, factor_names: Any) -> dict[str, Lever]:
    """The ``[levers.NAME]`` tables, by name (in file order), validated."""
    if not isinstance(raw, Mapping):
        raise ConfigError("must be a table of levers ([levers.NAME])", source=source, key="levers")
    out = {}
    for name, table in raw.items():
        key = f"levers.{key_part(name)}"
        if not name.replace("_", "").replace("-", "").isalnum() or not name.isascii():
            raise ConfigError(
                "lever names use letters, digits, '_' and '-' only", source=source, key=key
            )
        if name in factor_names:
            raise ConfigError(
                f"'{name}' is also a factor; a name is a lever (a decision) or a factor (an "
                "uncertainty), not both: rename one",
                source=source,
                key=key,
            )
        if name in RESERVED:
            raise ConfigError(
                f"'{name}' is a reserved name ({', '.join(RESERVED)}); rename the lever",
                source=source,
                key=key,
            )
        if isinstance(table, Mapping) and set(table) <= {"value", "default"}:
            declared = [n for n in raw if n != name]
            raise ConfigError(
                f"'{name}' is not a declared lever{did_you_mean(name, declared)}; fix the name, "
                "or declare it with values = [...] or low/high/step",
                source=source,
                key=key,
            )
        out[name] = _read_lever(name, table, key, source)
    return out


def _read_lever(name: str, table: Any, key: str, source: str) -> Lever:
    if not isinstance(table, Mapping):
        raise ConfigError(
            f"must be a table, got {_short(table)}; write [levers.{name}] with values = [...] "
            "or low/high/step, and default",
            source=source,
            key=key,
        )
    for k in table:
        if k not in LEVER_KEYS:
            raise ConfigError(
                f"unknown key{did_you_mean(k, LEVER_KEYS)}; allowed keys: {', '.join(LEVER_KEYS)}",
                source=source,
                key=f"{key}.{key_part(k)}",
            )
    text = {}
    for k in LEVER_TEXT_KEYS:
        if k in table and not isinstance(table[k], str):
            raise ConfigError(
                f"must be a text, got {_short(table[k])}", source=source, key=f"{key}.{k}"
            )
        text[k] = table.get(k, "")
    shape = _read_allowed(table, key, source)
    lever = Lever(name, math.nan, math.nan, **shape, **text)
    if "default" not in table:
        raise ConfigError(
            f"missing 'default' (the default policy); add default = {lever.grid[0]:g}",
            source=source,
            key=key,
        )
    default = _read_choice(lever, table["default"], f"{key}.default", source)
    value = _read_choice(lever, table.get("value", default), f"{key}.value", source)
    return Lever(name, default, value, **shape, **text)


def _read_choice(lever: Lever, v: Any, key: str, source: str) -> float:
    if not lever.allows(v):
        raise ConfigError(
            f"{_short(v)} is not an allowed value of lever '{lever.name}'; use "
            f"{lever.allowed_text()}",
            source=source,
            key=key,
        )
    return int(v) if lever.integer else float(v)


def _read_allowed(table: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    """``values`` (a list) or ``low``/``high``/``step`` (a range), as :class:`Lever` fields."""
    ranged = [k for k in ("low", "high", "step") if k in table]
    if ("values" in table) == bool(ranged):
        raise ConfigError(
            "give either values = [...] (the allowed values) or low, high and step (a range)",
            source=source,
            key=key,
        )
    if "values" in table:
        values = table["values"]
        if not isinstance(values, list) or not values or not all(map(_number, values)):
            raise ConfigError(
                f"must be a non-empty list of finite numbers, got {_short(values)}",
                source=source,
                key=f"{key}.values",
            )
        if len(set(values)) != len(values):
            raise ConfigError("lists a value twice; list each once", source=source, key=key)
        integer = all(isinstance(v, int) for v in values)
        return {
            "values": tuple(int(v) if integer else float(v) for v in values),
            "integer": integer,
        }
    for k in ("low", "high", "step"):
        if k not in table or not _number(table[k]):
            got = f", got {_short(table[k])}" if k in table else ""
            raise ConfigError(
                f"a range needs low, high and step, finite numbers{got}",
                source=source,
                key=f"{key}.{k}",
            )
    low, high, step = (table[k] for k in ("low", "high", "step"))
    if not high > low or not step > 0:
        raise ConfigError(
            f"needs low < high and step > 0, got low = {low:g}, high = {high:g}, step = {step:g}",
            source=source,
            key=key,
        )
    n = (high - low) / step
    if abs(n - round(n)) > 1e-9 * max(1.0, n) or n > MAX_GRID:
        raise ConfigError(
            f"step {step:g} must divide high − low = {high - low:g} into at most {MAX_GRID} "
            "steps; change step",
            source=source,
            key=f"{key}.step",
        )
    integer = all(isinstance(v, int) for v in (low, high, step))
    return {"low": low, "high": high, "step": step, "integer": integer}


def _number(v: Any) -> bool:
    return finite_number(v) and abs(v) <= MAX_MAGNITUDE


def substitute(tree: Any, values: Mapping[str, float]) -> tuple[Any, set[str]]:
    """``tree`` with every string that names a lever replaced by its value; the names used."""
    used: set[str] = set()

    def walk(node: Any) -> Any:
        if isinstance(node, str) and node in values:
            used.add(node)
            return values[node]
        if isinstance(node, Mapping):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(tree), used


def substitute_factors(raw: Any, values: Mapping[str, float]) -> tuple[Any, set[str]]:
    """The ``[factors]`` tables with lever names replaced in their parameters (not ``dist``)."""
    if not isinstance(raw, Mapping):
        return raw, set()
    used: set[str] = set()
    out = {}
    for name, table in raw.items():
        if isinstance(table, Mapping):
            params = {k: v for k, v in table.items() if k not in ("dist", *LEVER_TEXT_KEYS)}
            new, names = substitute(params, values)
            used |= names
            table = {**table, **new}
        out[name] = table
    return out, used


def check_used(levers: Mapping[str, Lever], used: set[str], source: str) -> None:
    """Every lever is named by a parameter (a lever nothing reads is a typo or a leftover)."""
    for name in levers:
        if name not in used:
            raise ConfigError(
                f"lever '{name}' is named by no [model] or [factors] parameter; write "
                f'"{name}" where a number goes (e.g. fraction = "{name}"), or remove the lever',
                source=source,
                key=f"levers.{key_part(name)}",
            )


def parse_lever_values(text: str) -> tuple[str, tuple[float, ...]]:
    """``NAME=V1,V2,...`` → (name, values), as a sweep's or a run's lever choice."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name or not raw.strip():
        raise ConfigError(
            f"{option('lever')} {_short(text)}: expected NAME=VALUE or NAME=V1,V2,..., e.g. "
            "kor_delivered_fraction=0.6,0.8,1.0"
        )
    values = []
    for part in raw.split(","):
        try:
            v = float(part)
        except ValueError:
            v = math.nan
        if not math.isfinite(v):
            raise ConfigError(
                f"{option('lever')} {_short(text)}: {_short(part.strip())} is not a finite "
                "number; give numbers separated by commas"
            )
        values.append(int(v) if v == int(v) and "." not in part and "e" not in part.lower() else v)
    return name, tuple(values)
