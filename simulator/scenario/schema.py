"""The scenario schema: a merged scenario mapping → a validated, frozen :class:`Scenario`.

A scenario has these top-level entries (docs/scenarios.md is the reference)::

    [scenario]                     # what to run: name, model, focus, top_k, years, draws, seed ...
    [model]                        # the model's own parameters (each model validates its table)
    [factors.NAME]                 # uncertain inputs: a distribution each (see distributions.py)
    [correlation]                  # optional rank correlations between factors (Gaussian copula)
    [[observations]]               # optional observed ranks (history matching)
    [levers.NAME]                  # optional decisions: allowed values and a default (levers.py)

The resolved scenario is kept as TOML text so that a results file records exactly what ran.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tomli_w

from ..errors import ConfigError, did_you_mean, key_part
from ..errors import short_repr as _short
from .distributions import finite_number, make_distribution
from .levers import Lever, check_used, read_levers, substitute, substitute_factors
from .limits import check_tree
from .origins import attribute, origin_of

DESIGNS = ("mc", "lhs", "sobol")
DEFAULT_BLOCK_SIZE = 2**14
DEFAULT_DRAWS = 100_000
MAX_DRAWS = 10**10
MIN_YEAR, MAX_YEAR = 1900, 2200  # reported and observed years
TOP_LEVEL_KEYS = (
    "extends",
    "scenario",
    "model",
    "factors",
    "correlation",
    "observations",
    "levers",
)
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
    "conditioning",
    "smc_moves",
    "observation_noise_scale",
)
#: Rejuvenating MCMC moves of the SMC particles after the last observed year (engine/moves.py).
DEFAULT_SMC_MOVES = 2
MAX_SMC_MOVES = 50
#: Bounds of ``observation_noise_scale``, the factor on every observation's noise sd.
NOISE_SCALE_RANGE = (1e-3, 1e3)
#: How a run conditions on [[observations]]: sequential Monte Carlo (particles weighted and
#: resampled year by year) or rejection (whole trajectories weighted); docs/conditioning.md.
CONDITIONING = ("smc", "rejection")
FACTOR_META_KEYS = ("description", "units", "source")
MAX_NAME_BYTES = 120  # results/<name>.nc.checkpoint and temporary names stay below 255 bytes
#: The models a scenario may name, in the order messages list them. simulator.models checks at
#: import that its registry holds exactly these (the scenario layer does not import the models).
MODEL_NAMES = ("gaussian_race", "ai_race")


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
    #: Key path → where its value came from, when that is not ``source``: a parent file
    #: (``extends``) or a ``--set`` override. Used only to name the right place in messages.
    origins: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    #: One-line notes for the user that do not stop a run, e.g. ``"configs/x.toml: extends
    #: reaches outside its folder: /abs/path/y.toml"``. The CLI prints each on stderr.
    warnings: tuple[str, ...] = field(default=(), repr=False, compare=False)
    #: How [[observations]] condition the run (:data:`CONDITIONING`).
    conditioning: str = "smc"
    #: MCMC moves rejuvenating the SMC particles after the last observed year.
    smc_moves: int = DEFAULT_SMC_MOVES
    #: Factor on every observation's noise sd (``ranking_sd``, ``score_sd``, ``rank_sd``).
    observation_noise_scale: float = 1.0
    #: The decisions (``[levers.NAME]``); ``model_params`` and the factors hold their values.
    levers: tuple[Lever, ...] = ()

    @property
    def lever_names(self) -> tuple[str, ...]:
        return tuple(lv.name for lv in self.levers)

    def lever(self, name: str) -> Lever:
        """The lever called ``name`` (a :class:`ConfigError` naming the levers if none)."""
        for lv in self.levers:
            if lv.name == name:
                return lv
        names = self.lever_names
        have = f"its levers are {', '.join(names)}" if names else "it declares no [levers]"
        raise ConfigError(
            f"'{name}' is not a lever of this scenario{did_you_mean(name, names)}; {have}",
            source=self.source,
            key="levers",
        )

    def with_levers(self, values: Mapping[str, float]) -> Scenario:
        """A copy whose levers take ``values`` (name → value; the others keep theirs)."""
        if not values:
            return self
        data = copy.deepcopy(dict(self.data))
        for name, v in values.items():
            lv = self.lever(name)
            data["levers"][name]["value"] = int(v) if lv.integer and v == int(v) else float(v)
        new = scenario_from_dict(data, source=self.source, origins=self.origins)
        return dataclasses.replace(new, warnings=self.warnings) if self.warnings else new

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
        new = scenario_from_dict(data, source=self.source, origins=self.origins)
        return dataclasses.replace(new, warnings=self.warnings) if self.warnings else new

    def source_of(self, key: str) -> str:
        """Where the value at dotted ``key`` was written: this file, a parent, or ``--set``."""
        return origin_of(key, self.origins) or self.source

    def attribute(self, exc: ConfigError) -> ConfigError:
        """``exc`` re-pointed at the file (or ``--set``) that wrote its key, if not ``source``."""
        return attribute(exc, self.source, self.origins)


# ---------------------------------------------------------------------------------------------
# Validation


class _Reader:
    def __init__(self, table: Mapping[str, Any], key: str, source: str):
        self.table, self.key, self.source = table, key, source

    def error(self, name: str | None, message: str) -> ConfigError:
        key = f"{self.key}.{name}" if name else self.key
        return ConfigError(message, source=self.source, key=key)

    def get(
        self,
        name: str,
        kind: type | tuple[type, ...],
        default: Any,
        what: str,
        example: str | None = None,
    ) -> Any:
        """``table[name]`` if it is a ``kind`` (described as ``what``), else an error."""
        if name not in self.table:
            if default is _REQUIRED:
                raise self.error(None, f"missing '{name}'; add {name} = {example or what}")
            return default
        value = self.table[name]
        wrong = (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind)
        if wrong:
            hint = f"; write e.g. {name} = {example}" if example else ""
            raise self.error(name, f"must be {what}, got {_short(value)}{hint}")
        return value


_REQUIRED = object()


def _check_keys(table: Mapping[str, Any], allowed: Sequence[str], key: str, source: str) -> None:
    for name in table:
        if name not in allowed:
            where = f"{key}.{key_part(name)}" if key else key_part(name)
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
    names = r.get("factors", list, _REQUIRED, "a list of factor names", '["f_a", "f_b"]')
    for i, name in enumerate(names):
        if not isinstance(name, str) or name not in factors:
            raise r.error(
                "factors",
                f"item {i}: {_short(name)} is not a factor of this scenario"
                f"{did_you_mean(str(name), factors)}; declare [factors.{name}] or remove it",
            )
    if len(set(names)) != len(names):
        raise r.error("factors", "names a factor twice; list each factor once")
    if len(names) < 2:
        raise r.error("factors", "needs at least two factors")
    rows = r.get("matrix", list, _REQUIRED, "a list of rows", "[[1, 0.5], [0.5, 1]]")
    k = len(names)
    if len(rows) != k:
        raise r.error("matrix", f"must be {k}×{k} to match the {k} factors, got {len(rows)} rows")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != k:
            got = f"{len(row)} entries" if isinstance(row, list) else _short(row)
            raise r.error("matrix", f"row {i} must have {k} entries (one per factor), got {got}")
        for v in row:
            if not finite_number(v):
                raise r.error("matrix", f"entries must be finite numbers, got {_short(v)}")
    m = np.array(rows, dtype=float)
    if not np.allclose(np.diag(m), 1.0):
        raise r.error(
            "matrix",
            "diagonal must be all 1 (a factor's correlation with itself), got "
            f"[{', '.join(f'{d:g}' for d in np.diag(m))}]",
        )
    if not np.allclose(m, m.T, atol=1e-12):
        i, j = np.argwhere(~np.isclose(m, m.T, atol=1e-12))[0]
        raise r.error(
            "matrix",
            f"must be symmetric: [{i}][{j}] = {m[i, j]:g} but [{j}][{i}] = {m[j, i]:g}",
        )
    if np.any(np.abs(m) > 1):
        i, j = np.argwhere(np.abs(m) > 1)[0]
        raise r.error("matrix", f"correlations must lie in [-1, 1], got [{i}][{j}] = {m[i, j]:g}")
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


def scenario_from_dict(
    data: Mapping[str, Any],
    *,
    source: str = "<scenario>",
    origins: Mapping[str, str] | None = None,
) -> Scenario:
    """Validate a merged scenario mapping into a :class:`Scenario`.

    Parameters
    ----------
    data
        The scenario's tables, as read from TOML (``extends`` already resolved).
    source
        The scenario file, for messages.
    origins
        Key path → the file (or ``--set``) that wrote it, where that is not ``source``.

    Raises
    ------
    ConfigError
        Naming the file, the key path and the fix.
    """
    origins = dict(origins or {})
    try:
        check_tree(data, source=source)
        return _scenario_from_dict(data, source, origins)
    except ConfigError as exc:
        raise attribute(exc, source, origins) from None


def _scenario_from_dict(data: Mapping[str, Any], source: str, origins: dict[str, str]) -> Scenario:
    data = copy.deepcopy(dict(data))
    data.pop("extends", None)
    _check_keys(data, TOP_LEVEL_KEYS, "", source)
    run = _read_scenario_table(data.get("scenario"), source)
    raw_factors = data.get("factors", {})
    known = raw_factors if isinstance(raw_factors, Mapping) else {}
    levers = read_levers(data.get("levers", {}), source, known)
    values = {lv.name: lv.value for lv in levers.values()}
    raw_factors, used = substitute_factors(raw_factors, values)
    factors = _read_factors(raw_factors, source)
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
    model_params, used_in_model = substitute(model_params, values)
    check_used(levers, used | used_in_model, source)

    return Scenario(
        **run,
        model_params=model_params,
        factors=tuple(factors.values()),
        correlation=correlation,
        observations=tuple(observations),
        source=source,
        data=data,
        origins=origins,
        levers=tuple(levers.values()),
    )


def _read_scenario_table(sc: Any, source: str) -> dict[str, Any]:
    """The ``[scenario]`` table's values, as :class:`Scenario` keyword arguments."""
    if not isinstance(sc, dict):
        got = "" if sc is None else f", got {_short(sc)}"
        raise ConfigError(
            f"needs a [scenario] table{got}; add [scenario] with name, model and years",
            source=source,
            key="scenario",
        )
    _check_keys(sc, SCENARIO_KEYS, "scenario", source)
    r = _Reader(sc, "scenario", source)
    name = _read_name(r)
    model = r.get("model", str, _REQUIRED, "a model name", f'"{MODEL_NAMES[0]}"')
    if model not in MODEL_NAMES:
        raise r.error(
            "model",
            f"unknown model {_short(model)}{did_you_mean(model, MODEL_NAMES)}; "
            f"use one of {', '.join(MODEL_NAMES)}",
        )
    description = r.get("description", str, "", "a text")
    focus = r.get("focus", str, "KOR", 'an ISO 3166 alpha-3 code such as "KOR"')
    top_k = r.get("top_k", int, 3, "a whole number ≥ 1")
    if top_k < 1:
        raise r.error("top_k", f"must be ≥ 1, got {top_k}")
    years = _read_years(r)
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
            f"unknown design {_short(design)}{did_you_mean(design, DESIGNS)}; use mc, lhs or sobol",
        )
    block_size = r.get("block_size", int, DEFAULT_BLOCK_SIZE, "a whole number ≥ 1")
    if not 1 <= block_size <= 2**22:
        raise r.error("block_size", f"must be between 1 and 4194304, got {block_size}")
    keep_draws = r.get("keep_draws", bool, None, "true or false")
    conditioning, smc_moves, noise_scale = _read_conditioning(r)
    return dict(
        name=name,
        model=model,
        focus=focus,
        top_k=top_k,
        years=years,
        draws=draws,
        seed=seed,
        design=design,
        block_size=block_size,
        keep_draws=keep_draws,
        conditioning=conditioning,
        smc_moves=smc_moves,
        observation_noise_scale=noise_scale,
        description=description,
    )


def _read_conditioning(r: _Reader) -> tuple[str, int, float]:
    """``conditioning``, ``smc_moves`` and ``observation_noise_scale`` of ``[scenario]``."""
    conditioning = r.get("conditioning", str, "smc", '"smc" or "rejection"')
    if conditioning not in CONDITIONING:
        raise r.error(
            "conditioning",
            f"unknown method {_short(conditioning)}{did_you_mean(conditioning, CONDITIONING)}; "
            'use "smc" (sequential Monte Carlo) or "rejection"',
        )
    smc_moves = r.get("smc_moves", int, DEFAULT_SMC_MOVES, "a whole number ≥ 0")
    if not 0 <= smc_moves <= MAX_SMC_MOVES:
        raise r.error("smc_moves", f"must be between 0 and {MAX_SMC_MOVES}, got {smc_moves}")
    scale = r.get("observation_noise_scale", (int, float), 1.0, "a number > 0", "0.75")
    lo, hi = NOISE_SCALE_RANGE
    if not lo <= scale <= hi:  # also NaN
        raise r.error(
            "observation_noise_scale",
            f"must be between {lo:g} and {hi:g}, got {_short(scale)}; 1 keeps each "
            "observation's own noise sd",
        )
    return conditioning, smc_moves, float(scale)


def _read_name(r: _Reader) -> str:
    name = r.get("name", str, _REQUIRED, "a text", '"my-scenario"')
    plain = all(c.isprintable() and c not in "/\\" for c in name)
    if not name.strip() or not plain or name.startswith("."):
        raise r.error(
            "name",
            "must be a plain file-name-like text (no '/', '\\', control or invisible "
            f"characters, or leading '.'), got {_short(name)}",
        )
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise r.error(
            "name",
            f"is too long for a file name ({len(name.encode('utf-8'))} bytes as UTF-8, at most "
            f"{MAX_NAME_BYTES}); shorten it",
        )
    return name


def _read_years(r: _Reader) -> tuple[int, ...]:
    years = r.get("years", list, _REQUIRED, "a list of whole years", "[2026, 2027, 2028]")
    if not years or any(isinstance(y, bool) or not isinstance(y, int) for y in years):
        raise r.error("years", f"must be a non-empty list of whole years, got {_short(years)}")
    if any(b <= a for a, b in itertools.pairwise(years)):
        raise r.error("years", f"must be strictly increasing, got {_short(years)}")
    if not all(MIN_YEAR <= y <= MAX_YEAR for y in years):
        raise r.error("years", f"must lie between {MIN_YEAR} and {MAX_YEAR}, got {_short(years)}")
    return tuple(years)


def _read_factors(raw_factors: Any, source: str) -> dict[str, Factor]:
    """The ``[factors.NAME]`` tables, by name (in file order)."""
    if not isinstance(raw_factors, dict):
        raise ConfigError("must be a table of factors", source=source, key="factors")
    factors: dict[str, Factor] = {}
    for fname, table in raw_factors.items():
        key = f"factors.{key_part(fname)}"
        if not fname.replace("_", "").replace("-", "").isalnum() or not fname.isascii():
            raise ConfigError(
                "factor names use letters, digits, '_' and '-' only", source=source, key=key
            )
        meta = {}
        if isinstance(table, dict):
            meta = {k: table[k] for k in FACTOR_META_KEYS if k in table}
            for k, v in meta.items():
                if not isinstance(v, str):
                    raise ConfigError(
                        f"must be a text, got {_short(v)}", source=source, key=f"{key}.{k}"
                    )
            table = {k: v for k, v in table.items() if k not in FACTOR_META_KEYS}
        dist = make_distribution(table, key=key, source=source)
        factors[fname] = Factor(fname, dist, table, **meta)
    return factors


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj
