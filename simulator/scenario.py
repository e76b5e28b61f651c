"""Scenario files: TOML → a validated, frozen :class:`Scenario`.

A scenario file has these top-level entries (docs/scenarios.md is the reference)::

    extends = "baseline.toml"      # optional: inherit another scenario, then override it
    [scenario]                     # what to run: name, model, focus, top_k, years, draws, seed ...
    [model]                        # the model's own parameters (each model validates its table)
    [factors.NAME]                 # uncertain inputs: a distribution each (see distributions.py)
    [correlation]                  # optional rank correlations between factors (Gaussian copula)

``extends`` merges tables key by key, the child winning; a factor table and the ``correlation``
table are replaced whole, so a child never mixes its parameters with its parent's. Overrides from
the command line (``--set scenario.draws=2000``) are applied last. The resolved scenario is kept as
TOML text so that a results file records exactly what ran.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import math
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from .distributions import make_distribution
from .errors import ConfigError, did_you_mean

DESIGNS = ("mc", "lhs", "sobol")
DEFAULT_BLOCK_SIZE = 2**14
DEFAULT_DRAWS = 100_000
MAX_DRAWS = 10**10
TOP_LEVEL_KEYS = ("extends", "scenario", "model", "factors", "correlation", "observations")
SCENARIO_KEYS = (
    "name",
    "description",
    "model",
    "focus",
    "top_k",
    "years",
    "draws",
    "seed",
    "design",
    "block_size",
    "keep_draws",
)
FACTOR_META_KEYS = ("description", "units", "source")
MAX_EXTENDS_DEPTH = 16


@dataclass(frozen=True)
class Factor:
    """One uncertain input: a name, a frozen distribution and its documentation."""

    name: str
    dist: Any
    spec: Mapping[str, Any]
    description: str = ""
    units: str = ""
    source: str = ""


@dataclass(frozen=True)
class Correlation:
    """Spearman rank correlations between named factors, and the normal-copula matrix."""

    factors: tuple[str, ...]
    rank_matrix: np.ndarray
    normal_matrix: np.ndarray


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. Build it with :func:`load_scenario` or :func:`scenario_from_dict`."""

    name: str
    model: str
    focus: str
    top_k: int
    years: tuple[int, ...]
    draws: int
    seed: int | None
    design: str
    block_size: int
    keep_draws: bool | None
    description: str
    model_params: Mapping[str, Any]
    factors: tuple[Factor, ...]
    correlation: Correlation | None
    observations: tuple[Mapping[str, Any], ...]
    source: str
    data: Mapping[str, Any] = field(repr=False)

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.factors)

    def to_toml(self) -> str:
        """The resolved scenario as TOML text (what a results file stores)."""
        return tomli_w.dumps(_plain(self.data))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.to_toml().encode()).hexdigest()

    def with_updates(self, **scenario_keys: Any) -> Scenario:
        """A copy with ``[scenario]`` keys replaced (``draws=``, ``seed=``, ``design=`` ...)."""
        data = copy.deepcopy(dict(self.data))
        for k, v in scenario_keys.items():
            if v is not None:
                data.setdefault("scenario", {})[k] = v
        return scenario_from_dict(data, source=self.source)


# ---------------------------------------------------------------------------------------------
# Reading files


def _read_toml(path: Path, *, referrer: str | None = None) -> dict[str, Any]:
    where = f"{referrer}: extends" if referrer else None
    if not path.exists():
        msg = f"{path}: no such scenario file"
        raise ConfigError(f"{msg}; check the path" if where is None else msg, source=where)
    if path.is_dir():
        raise ConfigError(f"{path} is a directory, not a scenario file; name a .toml file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start}); save the scenario as UTF-8", source=str(path)
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"TOML syntax error: {exc}; fix the file", source=str(path)) from None
    except RecursionError:
        raise ConfigError("TOML nested too deeply; flatten the file", source=str(path)) from None


def _merge(parent: Mapping[str, Any], child: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    """Deep-merge ``child`` into ``parent``; factor tables and ``correlation`` replace whole."""
    out = copy.deepcopy(dict(parent))
    for key, value in child.items():
        here = f"{path}.{key}" if path else key
        whole = here == "correlation" or (path == "factors")
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and not whole:
            out[key] = _merge(out[key], value, here)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve_extends(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = Path(os.path.abspath(path))
    if path in seen:
        chain = " → ".join(p.name for p in (*seen, path))
        raise ConfigError(f"extends makes a cycle ({chain}); remove one link", source=str(seen[0]))
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise ConfigError(
            f"extends chain deeper than {MAX_EXTENDS_DEPTH}; shorten it", source=str(seen[0])
        )
    data = _read_toml(path, referrer=str(seen[-1]) if seen else None)
    parent_name = data.pop("extends", None)
    if parent_name is None:
        return data
    if not isinstance(parent_name, str) or not parent_name:
        raise ConfigError(
            f'must be a file name, got {parent_name!r}; write extends = "baseline.toml"',
            source=str(path),
            key="extends",
        )
    parent = _resolve_extends(path.parent / parent_name, (*seen, path))
    return _merge(parent, data)


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``a.b.c=value`` (value as a TOML value, else as a bare string)."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. --set scenario.draws=20000")
    key, raw = text.split("=", 1)
    key = key.strip()
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise ConfigError(f"--set {text!r}: empty key part; write e.g. scenario.top_k=5")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return parts, value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    for text in overrides:
        parts, value = parse_override(text)
        node = data
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            elif not isinstance(nxt, dict):
                where = ".".join(parts[: i + 1])
                raise ConfigError(f"--set {text!r}: {where} is a value, not a table")
            node = nxt
        node[parts[-1]] = value
    return data


def load_scenario(path: str | os.PathLike, overrides: Sequence[str] = ()) -> Scenario:
    """Read, merge (``extends``), override and validate a scenario file."""
    path = Path(path)
    data = _resolve_extends(path)
    data = apply_overrides(data, overrides)
    return scenario_from_dict(data, source=str(path))


# ---------------------------------------------------------------------------------------------
# Validation


class _Reader:
    def __init__(self, table: Mapping[str, Any], key: str, source: str):
        self.table, self.key, self.source = table, key, source

    def error(self, name: str | None, message: str) -> ConfigError:
        key = f"{self.key}.{name}" if name else self.key
        return ConfigError(message, source=self.source, key=key)

    def get(self, name: str, kind: type | tuple[type, ...], default: Any, what: str) -> Any:
        if name not in self.table:
            if default is _REQUIRED:
                raise self.error(None, f"missing '{name}'; add {name} = {what}")
            return default
        value = self.table[name]
        if isinstance(value, bool) and kind is not bool:
            raise self.error(name, f"must be {what}, got {value!r}")
        if not isinstance(value, kind):
            raise self.error(name, f"must be {what}, got {value!r}")
        return value


_REQUIRED = object()


def _check_keys(table: Mapping[str, Any], allowed: Sequence[str], key: str, source: str) -> None:
    for name in table:
        if name not in allowed:
            where = f"{key}.{name}" if key else name
            raise ConfigError(
                f"unknown key{did_you_mean(name, allowed)}; allowed keys: {', '.join(allowed)}",
                source=source,
                key=where,
            )


def _spearman_to_normal(rho: np.ndarray) -> np.ndarray:
    """Pearson correlation of the normal copula that gives Spearman correlation ``rho``."""
    out = 2 * np.sin(np.pi * rho / 6)
    np.fill_diagonal(out, 1.0)
    return out


def _read_correlation(table: Any, factors: Mapping[str, Factor], source: str) -> Correlation:
    r = _Reader(table if isinstance(table, Mapping) else {}, "correlation", source)
    if not isinstance(table, Mapping):
        raise r.error(None, "must be a table with 'factors' and 'matrix'")
    _check_keys(table, ("factors", "matrix"), "correlation", source)
    names = r.get("factors", list, _REQUIRED, '["factor_a", "factor_b"]')
    for i, name in enumerate(names):
        if not isinstance(name, str) or name not in factors:
            raise r.error(
                "factors",
                f"item {i}: {name!r} is not a factor of this scenario"
                f"{did_you_mean(str(name), factors)}; declare [factors.{name}] or remove it",
            )
    if len(set(names)) != len(names):
        raise r.error("factors", "names a factor twice; list each factor once")
    if len(names) < 2:
        raise r.error("factors", "needs at least two factors")
    rows = r.get("matrix", list, _REQUIRED, "[[1, 0.5], [0.5, 1]]")
    k = len(names)
    if len(rows) != k or any(not isinstance(row, list) or len(row) != k for row in rows):
        raise r.error("matrix", f"must be {k}×{k} to match {k} factors")
    for row in rows:
        for v in row:
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise r.error("matrix", f"entries must be finite numbers, got {v!r}")
    m = np.array(rows, dtype=float)
    if not np.allclose(np.diag(m), 1.0):
        raise r.error("matrix", "diagonal must be all 1 (a factor's correlation with itself)")
    if not np.allclose(m, m.T, atol=1e-12):
        i, j = np.argwhere(~np.isclose(m, m.T, atol=1e-12))[0]
        raise r.error(
            "matrix",
            f"must be symmetric: [{i}][{j}] = {m[i, j]:g} but [{j}][{i}] = {m[j, i]:g}",
        )
    if np.any(np.abs(m) > 1):
        raise r.error("matrix", "correlations must lie in [-1, 1]")
    eig = np.linalg.eigvalsh(m)
    if eig[0] < -1e-10:
        raise r.error(
            "matrix",
            f"is not positive semi-definite (smallest eigenvalue {eig[0]:.3g}); "
            "these correlations cannot hold together: weaken the largest ones",
        )
    normal = _spearman_to_normal(m)
    if np.linalg.eigvalsh(normal)[0] < -1e-10:
        raise r.error(
            "matrix",
            "has no Gaussian-copula equivalent (not positive semi-definite after the "
            "Spearman → Pearson conversion); weaken the largest correlations",
        )
    return Correlation(tuple(names), m, normal)


def scenario_from_dict(data: Mapping[str, Any], *, source: str = "<scenario>") -> Scenario:
    """Validate a merged scenario mapping into a :class:`Scenario`."""
    from .models import MODELS  # late import: models import this module's types

    data = copy.deepcopy(dict(data))
    data.pop("extends", None)
    _check_keys(data, TOP_LEVEL_KEYS, "", source)
    sc = data.get("scenario")
    if not isinstance(sc, dict):
        raise ConfigError(
            "missing [scenario] table; add [scenario] with name and model",
            source=source,
            key="scenario",
        )
    _check_keys(sc, SCENARIO_KEYS, "scenario", source)
    r = _Reader(sc, "scenario", source)
    name = r.get("name", str, _REQUIRED, '"my-scenario"')
    if not name.strip() or any(c in name for c in "/\\\0") or name.startswith("."):
        raise r.error("name", f"must be a plain file-name-like text, got {name!r}")
    model = r.get("model", str, _REQUIRED, '"ai_race"')
    if model not in MODELS:
        raise r.error(
            "model",
            f"unknown model {model!r}{did_you_mean(model, MODELS)}; use one of {', '.join(MODELS)}",
        )
    description = r.get("description", str, "", "a text")
    focus = r.get("focus", str, "KOR", 'an ISO 3166 alpha-3 code such as "KOR"')
    top_k = r.get("top_k", int, 3, "a whole number ≥ 1")
    if top_k < 1:
        raise r.error("top_k", f"must be ≥ 1, got {top_k}")
    years = r.get("years", list, _REQUIRED, "[2026, 2027, 2028]")
    if not years or any(isinstance(y, bool) or not isinstance(y, int) for y in years):
        raise r.error("years", f"must be a non-empty list of whole years, got {years!r}")
    if any(b <= a for a, b in itertools.pairwise(years)):
        raise r.error("years", f"must be strictly increasing, got {years!r}")
    if not all(1900 <= y <= 2200 for y in years):
        raise r.error("years", f"must lie between 1900 and 2200, got {years!r}")
    draws = r.get("draws", int, DEFAULT_DRAWS, "a whole number ≥ 1")
    if not 1 <= draws <= MAX_DRAWS:
        raise r.error("draws", f"must be between 1 and {MAX_DRAWS:.0e}, got {draws}")
    seed = r.get("seed", int, None, "a whole number ≥ 0")
    if seed is not None and not 0 <= seed < 2**63:
        raise r.error("seed", f"must be between 0 and 2**63 - 1, got {seed}")
    design = r.get("design", str, "mc", '"mc", "lhs" or "sobol"')
    if design not in DESIGNS:
        raise r.error(
            "design",
            f"unknown design {design!r}{did_you_mean(design, DESIGNS)}; use mc, lhs or sobol",
        )
    block_size = r.get("block_size", int, DEFAULT_BLOCK_SIZE, "a whole number ≥ 1")
    if not 1 <= block_size <= 2**22:
        raise r.error("block_size", f"must be between 1 and 4194304, got {block_size}")
    keep_draws = r.get("keep_draws", bool, None, "true or false")

    raw_factors = data.get("factors", {})
    if not isinstance(raw_factors, dict):
        raise ConfigError("must be a table of factors", source=source, key="factors")
    factors: dict[str, Factor] = {}
    for fname, table in raw_factors.items():
        key = f"factors.{fname}"
        if not fname.replace("_", "").replace("-", "").isalnum() or not fname.isascii():
            raise ConfigError(
                "factor names use letters, digits, '_' and '-' only", source=source, key=key
            )
        meta = {}
        if isinstance(table, dict):
            meta = {k: table[k] for k in FACTOR_META_KEYS if k in table}
            for k, v in meta.items():
                if not isinstance(v, str):
                    raise ConfigError(f"must be a text, got {v!r}", source=source, key=f"{key}.{k}")
            table = {k: v for k, v in table.items() if k not in FACTOR_META_KEYS}
        dist = make_distribution(table, key=key, source=source)
        factors[fname] = Factor(fname, dist, table, **meta)

    correlation = None
    if "correlation" in data:
        correlation = _read_correlation(data["correlation"], factors, source)

    observations = data.get("observations", [])
    if not isinstance(observations, list) or not all(isinstance(o, dict) for o in observations):
        raise ConfigError(
            "must be an array of tables ([[observations]])", source=source, key="observations"
        )

    model_params = data.get("model", {})
    if not isinstance(model_params, dict):
        raise ConfigError("must be a table ([model])", source=source, key="model")

    return Scenario(
        name=name,
        model=model,
        focus=focus,
        top_k=top_k,
        years=tuple(years),
        draws=draws,
        seed=seed,
        design=design,
        block_size=block_size,
        keep_draws=keep_draws,
        description=description,
        model_params=model_params,
        factors=tuple(factors.values()),
        correlation=correlation,
        observations=tuple(observations),
        source=source,
        data=data,
    )


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj
