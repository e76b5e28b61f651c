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

A scenario file is data (docs/scenarios.md, "Trust boundary"): loading one parses TOML and reads
only the files its ``extends`` chain names — regular files of at most ``MAX_FILE_BYTES`` — and
never executes anything. A parent outside the scenario's own folder is allowed but noted in
:attr:`Scenario.warnings`.
"""

from __future__ import annotations

import copy
import dataclasses
import errno
import hashlib
import itertools
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from ..errors import ConfigError, did_you_mean, key_part
from ..errors import short_repr as _short
from .distributions import finite_number, make_distribution

DESIGNS = ("mc", "lhs", "sobol")
DEFAULT_BLOCK_SIZE = 2**14
DEFAULT_DRAWS = 100_000
MAX_DRAWS = 10**10
MIN_YEAR, MAX_YEAR = 1900, 2200  # reported and observed years
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
MAX_FILE_BYTES = 16 * 2**20  # a scenario is a small text file (configs/baseline.toml: 25 kB)
MAX_NESTING = 32  # tables and arrays within each other (configs/ nest at most 6 deep)
MAX_NAME_BYTES = 120  # results/<name>.nc.checkpoint and temporary names stay below 255 bytes


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
        return _origin_of(key, self.origins) or self.source

    def attribute(self, exc: ConfigError) -> ConfigError:
        """``exc`` re-pointed at the file (or ``--set``) that wrote its key, if not ``source``."""
        return _attribute(exc, self.source, self.origins)


# ---------------------------------------------------------------------------------------------
# Reading files


def shown_path(path: str | os.PathLike) -> str:
    """``path`` as messages print it: bytes that are not UTF-8 (surrogate escapes) as ``\\xNN``.

    A file name on the command line may hold such bytes; the results file stores this text.
    """
    text = os.fsdecode(path)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _read_toml(path: Path, shown: str, *, referrer: str | None = None) -> dict[str, Any]:
    """Read one TOML file; ``shown`` is its path as messages print it.

    Only a regular file is read, and only up to ``MAX_FILE_BYTES``: never a device, a pipe or
    a socket, which could block or never end (``g3sim list`` reads every ``*.toml``).
    """
    problem = None
    try:
        mode: int | None = path.stat().st_mode
    except ValueError:  # an embedded NUL byte: no file has that name
        mode = None
    except OSError as exc:  # e.g. a name too long, a loop of symbolic links
        mode = None
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            problem, fix = f"cannot read it ({exc.strerror})", "check the path"
    if problem is not None:
        pass
    elif mode is None:
        problem, fix = "no such scenario file", "check the path"
    elif stat.S_ISDIR(mode):
        problem, fix = "a directory, not a scenario file", "name a .toml file"
    elif not stat.S_ISREG(mode):
        problem, fix = "not a regular file (a device, pipe or socket)", "name a .toml file"
    if problem is not None:
        if referrer is None:
            raise ConfigError(f"{problem}; {fix}", source=_clip(shown))
        raise ConfigError(
            f"{_clip(shown)}: {problem}; fix the file name (it is relative to {referrer}'s folder)",
            source=referrer,
            key="extends",
        )
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(
            f"cannot read: {exc.strerror}; check its permissions", source=shown
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(
            f"larger than {MAX_FILE_BYTES // 2**20} MB, too large for a scenario file; "
            "check that this is the right file",
            source=shown,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start}); save the scenario as UTF-8", source=shown
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"TOML syntax error: {exc}; fix the file", source=shown) from None
    except ValueError:  # Python refuses to convert an integer of more than 4300 digits
        raise ConfigError(
            "TOML number with more than 4300 digits; fix the file", source=shown
        ) from None
    except RecursionError:
        raise ConfigError("TOML nested too deeply; flatten the file", source=shown) from None
    check_tree(data, source=shown)
    return data


def _clip(text: str, limit: int = 120) -> str:
    """``text`` cut to ``limit`` characters (a file name in a one-line message)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _path_text(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{key_part(part)}"
    return out


def check_tree(data: Any, *, source: str | None) -> None:
    """Refuse data nested deeper than ``MAX_NESTING`` or holding text that is not UTF-8.

    Iterative, so that it cannot itself run out of stack: everything after it (merging, key
    paths, copies, TOML output) recurses, one level per table.
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_NESTING:
            raise ConfigError(
                f"nested more than {MAX_NESTING} levels deep; flatten the tables",
                source=source,
                key=_path_text(path[:3]) + ".…",
            )
        if isinstance(node, Mapping):
            items: Iterable[tuple[Any, Any]] = node.items()
        elif isinstance(node, list | tuple):
            items = enumerate(node)
        else:
            items = ()
        for k, v in items:
            for text in (k, v):
                if isinstance(text, str):
                    try:
                        text.encode("utf-8")
                    except UnicodeEncodeError:
                        raise ConfigError(
                            f"holds {_short(text)}, which is not UTF-8 text; retype it",
                            source=source,
                            key=_path_text((*path, k)).encode("utf-8", "backslashreplace").decode(),
                        ) from None
            if isinstance(v, Mapping | list | tuple):
                stack.append((v, (*path, k)))


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


def _resolve_extends(
    path: Path,
    shown: str,
    seen: tuple[Path, ...] = (),
    referrer: str | None = None,
    notes: list[str] | None = None,
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The merged data, and each file's own data (label, data), the farthest parent first.

    ``notes`` collects one line for every parent read from outside the folder of the first
    file, ``seen[0]`` (symbolic links resolved): the files a scenario reads beyond its folder.
    """
    real = Path(os.path.abspath(path))
    if real in seen:
        chain = " → ".join(p.name for p in (*seen, real))
        raise ConfigError(
            f"makes a cycle ({chain}); remove one link", source=referrer, key="extends"
        )
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise ConfigError(
            f"chain deeper than {MAX_EXTENDS_DEPTH} files; shorten it",
            source=referrer,
            key="extends",
        )
    data = _read_toml(path, shown, referrer=referrer)
    if seen and notes is not None:
        target = Path(os.path.realpath(path))
        if not target.is_relative_to(os.path.realpath(seen[0].parent)):
            notes.append(f"extends reaches outside its folder: {shown_path(target)}")
    label = shown if referrer is None else f"{shown} (extended by {referrer})"
    parent_name = data.pop("extends", None)
    if parent_name is None:
        return data, [(label, data)]
    if not isinstance(parent_name, str) or not parent_name.strip():
        raise ConfigError(
            f'must be a file name, got {_short(parent_name)}; write extends = "baseline.toml"',
            source=shown,
            key="extends",
        )
    parent_shown = str(Path(shown).parent / parent_name)
    parent, layers = _resolve_extends(
        path.parent / parent_name, parent_shown, (*seen, real), shown, notes
    )
    return _merge(parent, data), [*layers, (label, data)]


def _key_paths(data: Any, prefix: str = "") -> Iterable[str]:
    """Every dotted key path in nested tables (tables and values alike)."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            here = f"{prefix}.{key_part(key)}" if prefix else key_part(key)
            yield here
            yield from _key_paths(value, here)


def _origins(
    data: Mapping[str, Any], layers: Sequence[tuple[str, Mapping[str, Any]]], source: str
) -> dict[str, str]:
    """Key path → the last layer that wrote it, for paths not written by ``source``."""
    written = [(label, set(_key_paths(own))) for label, own in layers]
    out = {}
    for key in _key_paths(data):
        label = next((lbl for lbl, keys in reversed(written) if key in keys), source)
        if label != source:
            out[key] = label
    return out


def _origin_of(key: str, origins: Mapping[str, str]) -> str | None:
    # An array is written whole by one file: observations[2].rank comes from "observations".
    parts = re.sub(r"\[\d+\]", "", key).split(".")
    for n in range(len(parts), 0, -1):
        label = origins.get(".".join(parts[:n]))
        if label is not None:
            return label
    return None


def _attribute(exc: ConfigError, source: str, origins: Mapping[str, str]) -> ConfigError:
    if not exc.key or exc.source != source:
        return exc
    label = _origin_of(exc.key, origins)
    if label is None or label == source:
        return exc
    return ConfigError(exc.detail, source=label, key=exc.key)


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``a.b.c=value`` (value as a TOML value, else as a bare string)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a byte that is not UTF-8 on the command line
        raise ConfigError(f"--set {_short(text)}: not UTF-8 text; retype it") from None
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. --set scenario.draws=20000")
    key, raw = text.split("=", 1)
    key = key.strip()
    parts = [p.strip() for p in key.split(".")]
    if not all(parts):
        raise ConfigError(f"--set {text!r}: empty key part; write e.g. scenario.top_k=5")
    if len(parts) > MAX_NESTING:
        raise ConfigError(
            f"--set {_short(text)}: a key of {len(parts)} parts, more than {MAX_NESTING}; "
            "name an existing key, e.g. scenario.top_k=5"
        )
    if parts[0] == "extends":
        raise ConfigError(
            f"--set {text!r}: extends cannot be overridden (files are merged before --set "
            "applies); edit the file's extends line, or name the parent file instead"
        )
    raw = raw.strip()
    try:
        doc = tomllib.loads(f"v = {raw}")
    except (ValueError, RecursionError):  # not one TOML value (or > 4300 digits): a string
        return parts, raw
    # "1\nw = 2" parses as two keys: that is not one TOML value, so keep the text as it is.
    return parts, (doc["v"] if doc.keys() == {"v"} else raw)


def apply_overrides(
    data: dict[str, Any],
    overrides: Iterable[str],
    layers: list[tuple[str, dict[str, Any]]] | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Apply ``--set KEY=VALUE`` overrides; record each in ``layers`` (for messages)."""
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
                raise ConfigError(
                    f"--set {text!r}: {where} is a value, not a table, so it has no key "
                    f"'{parts[i + 1]}'; set {where} itself, e.g. --set {where}=<value>"
                )
            node = nxt
        node[parts[-1]] = value
        if layers is not None:
            own: dict[str, Any] = {}
            leaf = own
            for part in parts[:-1]:
                leaf = leaf.setdefault(part, {})
            leaf[parts[-1]] = value
            label = f"--set {_clip(text)}"
            layers.append((f"{source} ({label})" if source else label, own))
    return data


def load_scenario(path: str | os.PathLike, overrides: Sequence[str] = ()) -> Scenario:
    """Read, merge (``extends``), override and validate a scenario file.

    Messages name the file that wrote the bad key: a parent file for an inherited key, or the
    ``--set`` override that set it. A parent read from outside the file's folder is allowed,
    and noted in the returned scenario's ``warnings``.
    """
    shown = shown_path(path)
    notes: list[str] = []
    data, layers = _resolve_extends(Path(path), shown, notes=notes)
    data = apply_overrides(data, overrides, layers, shown)
    sc = scenario_from_dict(data, source=shown, origins=_origins(data, layers, shown))
    warnings = tuple(dict.fromkeys(f"{shown}: {note}" for note in notes))
    return dataclasses.replace(sc, warnings=warnings) if warnings else sc


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
        raise _attribute(exc, source, origins) from None


def _scenario_from_dict(data: Mapping[str, Any], source: str, origins: dict[str, str]) -> Scenario:
    from ..models import MODELS  # late import: models import this module's types

    data = copy.deepcopy(dict(data))
    data.pop("extends", None)
    _check_keys(data, TOP_LEVEL_KEYS, "", source)
    sc = data.get("scenario")
    if not isinstance(sc, dict):
        got = "" if sc is None else f", got {_short(sc)}"
        raise ConfigError(
            f"needs a [scenario] table{got}; add [scenario] with name, model and years",
            source=source,
            key="scenario",
        )
    _check_keys(sc, SCENARIO_KEYS, "scenario", source)
    r = _Reader(sc, "scenario", source)
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
    model = r.get("model", str, _REQUIRED, "a model name", f'"{next(iter(MODELS))}"')
    if model not in MODELS:
        raise r.error(
            "model",
            f"unknown model {_short(model)}{did_you_mean(model, MODELS)}; "
            f"use one of {', '.join(MODELS)}",
        )
    description = r.get("description", str, "", "a text")
    focus = r.get("focus", str, "KOR", 'an ISO 3166 alpha-3 code such as "KOR"')
    top_k = r.get("top_k", int, 3, "a whole number ≥ 1")
    if top_k < 1:
        raise r.error("top_k", f"must be ≥ 1, got {top_k}")
    years = r.get("years", list, _REQUIRED, "a list of whole years", "[2026, 2027, 2028]")
    if not years or any(isinstance(y, bool) or not isinstance(y, int) for y in years):
        raise r.error("years", f"must be a non-empty list of whole years, got {_short(years)}")
    if any(b <= a for a, b in itertools.pairwise(years)):
        raise r.error("years", f"must be strictly increasing, got {_short(years)}")
    if not all(MIN_YEAR <= y <= MAX_YEAR for y in years):
        raise r.error("years", f"must lie between {MIN_YEAR} and {MAX_YEAR}, got {_short(years)}")
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

    raw_factors = data.get("factors", {})
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
        origins=origins,
    )


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj
