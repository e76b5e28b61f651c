"""Scenario files: read a file and its ``extends`` chain, merge, override, validate.

``extends`` merges tables key by key, the child winning; a factor table and the ``correlation``
table are replaced whole, so a child never mixes its parameters with its parent's. Overrides from
the command line (``--set scenario.draws=2000``) are applied last.

A scenario file is data (docs/scenarios.md, "Trust boundary"): loading one parses TOML and reads
only the files its ``extends`` chain names — regular files of at most ``MAX_FILE_BYTES`` — and
never executes anything. A parent outside the scenario's own folder is allowed but noted in
:attr:`Scenario.warnings`.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, G3simError
from ..errors import short_repr as _short
from .limits import MAX_EXTENDS_DEPTH, read_toml
from .origins import layer_origins
from .overrides import apply_overrides
from .schema import Scenario, scenario_from_dict


def shown_path(path: str | os.PathLike) -> str:
    """``path`` as messages print it: bytes that are not UTF-8 (surrogate escapes) as ``\\xNN``.

    A file name on the command line may hold such bytes; the results file stores this text.
    """
    text = os.fsdecode(path)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def merge(parent: Mapping[str, Any], child: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    """Deep-merge ``child`` into ``parent``; factor and lever tables and ``correlation`` replace
    whole."""
    out = copy.deepcopy(dict(parent))
    for key, value in child.items():
        here = f"{path}.{key}" if path else key
        whole = here == "correlation" or path in ("factors", "levers")
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and not whole:
            out[key] = merge(out[key], value, here)
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
    data = read_toml(path, shown, referrer=referrer)
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
    return merge(parent, data), [*layers, (label, data)]


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
    sc = scenario_from_dict(data, source=shown, origins=layer_origins(data, layers, shown))
    warnings = tuple(dict.fromkeys(f"{shown}: {note}" for note in notes))
    return dataclasses.replace(sc, warnings=warnings) if warnings else sc


@dataclass(frozen=True)
class ListedScenario:
    """One file of a folder of scenarios: its scenario, or why it does not load."""

    path: Path
    scenario: Scenario | None
    error: G3simError | None


def list_scenarios(directory: str | os.PathLike) -> list[ListedScenario]:
    """Load every ``*.toml`` file of ``directory`` (sorted by name); a bad file is listed with its
    error instead of stopping the listing.

    Raises
    ------
    ConfigError
        If ``directory`` is not a folder.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: no such directory; name a folder of scenario files")
    out = []
    for path in sorted(directory.glob("*.toml")):
        try:
            out.append(ListedScenario(path, load_scenario(path), None))
        except G3simError as exc:
            out.append(ListedScenario(path, None, exc))
    return out
