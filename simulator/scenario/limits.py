"""TOML safety: the limits a scenario file must keep, and the one reader that enforces them.

A scenario file is data (docs/scenarios.md, "Trust boundary"): reading one parses TOML from a
regular file of at most ``MAX_FILE_BYTES``, refuses text that is not UTF-8 and tables nested
deeper than ``MAX_NESTING``, and never executes anything.
"""

from __future__ import annotations

import errno
import stat
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError, key_part
from ..errors import short_repr as _short

MAX_EXTENDS_DEPTH = 16
MAX_FILE_BYTES = 16 * 2**20  # a scenario is a small text file (configs/baseline.toml: 25 kB)
MAX_NESTING = 32  # tables and arrays within each other (configs/ nest at most 6 deep)


def read_toml(path: Path, shown: str, *, referrer: str | None = None) -> dict[str, Any]:
    """Read one TOML file; ``shown`` is its path as messages print it.

    Only a regular file is read, and only up to ``MAX_FILE_BYTES``: never a device, a pipe or
    a socket, which could block or never end (``g3sim list`` reads every ``*.toml``).
    """
    _refuse_non_file(path, shown, referrer)
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


def _refuse_non_file(path: Path, shown: str, referrer: str | None) -> None:
    """Refuse a missing path, a directory, a device, a pipe or a socket (before opening it)."""
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
            raise ConfigError(f"{problem}; {fix}", source=clip(shown))
        raise ConfigError(
            f"{clip(shown)}: {problem}; fix the file name (it is relative to {referrer}'s folder)",
            source=referrer,
            key="extends",
        )


def clip(text: str, limit: int = 120) -> str:
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
