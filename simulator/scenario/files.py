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
import importlib.resources
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


#: The folder of local scenarios that a bare name (``baseline``) is looked up in first.
LOCAL_DIR = Path("configs")
#: The package that holds the shipped scenarios (the repository's configs/, installed as data).
SHIPPED_PACKAGE = "simulator.configs"


def shipped_dir() -> Path | None:
    """The folder of the scenarios shipped with g3sim, or None if there is none.

    An installed g3sim holds them as the package data ``simulator/configs`` (pyproject.toml maps
    the repository's top-level configs/ there); a source checkout run without installing has
    them beside the package.
    """
    try:  # a folder without __init__.py: a namespace package, whose files() is no plain Path
        folder = Path(str(importlib.resources.files(SHIPPED_PACKAGE) / "baseline.toml")).parent
    except (ModuleNotFoundError, TypeError):  # not installed, or installed without its data
        folder = Path(__file__).resolve().parents[2] / "configs"
    return folder if (folder / "baseline.toml").is_file() else None


def _bare_name(path: str | os.PathLike) -> str | None:
    """``baseline`` or ``baseline.toml`` → ``baseline.toml``; a path with a folder → None."""
    text = os.fsdecode(path)
    if not text or os.sep in text or (os.altsep and os.altsep in text) or text in (".", ".."):
        return None
    return text if text.endswith(".toml") else f"{text}.toml"


def find_scenario(path: str | os.PathLike) -> Path:
    """The file a scenario argument names: the path itself if it exists; else, for a bare name
    (``baseline``, ``baseline.toml``), ``configs/NAME.toml`` in the working folder, then the
    shipped scenario of that name. Local files take precedence over shipped ones.

    Raises
    ------
    ConfigError
        If a bare name is neither a file nor a local or shipped scenario (the message lists the
        shipped names).
    """
    given = Path(path)
    name = _bare_name(path)
    if given.exists() or name is None:
        return given
    local = LOCAL_DIR / name
    if local.is_file():
        return local
    shipped = shipped_dir()
    if shipped is not None and (shipped / name).is_file():
        return shipped / name
    known = sorted(p.stem for p in shipped.glob("*.toml")) if shipped is not None else []
    raise ConfigError(
        "no such scenario file; check the path, or name a scenario of "
        f"{LOCAL_DIR}/ or one shipped with g3sim" + (f" ({', '.join(known)})" if known else ""),
        source=shown_path(path),
    )


def load_scenario(path: str | os.PathLike, overrides: Sequence[str] = ()) -> Scenario:
    """Read, merge (``extends``), override and validate a scenario file.

    ``path`` is a file, or the bare name of a local or shipped scenario (:func:`find_scenario`):
    ``load_scenario("baseline")`` works from any folder.

    Messages name the file that wrote the bad key: a parent file for an inherited key, or the
    ``--set`` override that set it. A parent read from outside the file's folder is allowed,
    and noted in the returned scenario's ``warnings``.
    """
    path = find_scenario(path)
    shown = shown_path(path)
    notes: list[str] = []
    data, layers = _resolve_extends(path, shown, notes=notes)
    data = apply_overrides(data, overrides, layers, shown)
    sc = scenario_from_dict(data, source=shown, origins=layer_origins(data, layers, shown))
    warnings = tuple(dict.fromkeys(f"{shown}: {note}" for note in notes))
    return dataclasses.replace(sc, warnings=warnings) if warnings else sc


@dataclass(frozen=True)
class ListedScenario:
    """One scenario file: its scenario, or why it does not load; and where it comes from.

    ``origin`` is ``"local"`` (a file in the folder listed, e.g. configs/ of the working
    folder) or ``"shipped"`` (installed with g3sim); ``shadows`` is True for a local file that
    takes the place of a different shipped scenario of the same name.
    """

    path: Path
    scenario: Scenario | None
    error: G3simError | None
    origin: str = "local"
    shadows: bool = False

    @property
    def name(self) -> str:
        """What a command takes to run it: ``baseline`` for ``configs/baseline.toml``."""
        return self.path.stem


def _load_listed(path: Path, origin: str, shadows: bool = False) -> ListedScenario:
    try:
        return ListedScenario(path, load_scenario(path), None, origin, shadows)
    except G3simError as exc:
        return ListedScenario(path, None, exc, origin, shadows)


def _same_text(a: Path, b: Path) -> bool:
    """Whether two scenario files are one file or hold the same bytes (a copy of the repo)."""
    try:
        return os.path.samefile(a, b) or a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def list_scenarios(directory: str | os.PathLike | None = None) -> list[ListedScenario]:
    """Load every ``*.toml`` file of ``directory`` (sorted by name); a bad file is listed with its
    error instead of stopping the listing.

    Without ``directory``: the local scenarios (configs/ of the working folder, if it exists)
    and the shipped ones, one entry per name, a local file taking the place of a shipped one.

    Raises
    ------
    ConfigError
        If ``directory`` is given and is not a folder.
    """
    if directory is not None:
        directory = Path(directory)
        if not directory.is_dir():
            raise ConfigError(f"{directory}: no such directory; name a folder of scenario files")
        return [_load_listed(path, "local") for path in sorted(directory.glob("*.toml"))]
    local = {p.name: p for p in LOCAL_DIR.glob("*.toml")} if LOCAL_DIR.is_dir() else {}
    shipped_folder = shipped_dir()
    shipped = {p.name: p for p in shipped_folder.glob("*.toml")} if shipped_folder else {}
    out = []
    for name in sorted({*local, *shipped}):
        if name not in local:
            out.append(_load_listed(shipped[name], "shipped"))
            continue
        shadows = name in shipped and not _same_text(local[name], shipped[name])
        out.append(_load_listed(local[name], "local", shadows))
    return out
