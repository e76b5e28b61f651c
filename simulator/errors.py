"""The package's own exceptions.

Every error a user can cause is a :class:`G3simError`. Its message is one line that names the
file, the key path and the fix; the CLI prints it on stderr and exits with ``exit_code`` (2 for
usage and configuration errors, 1 for run-time failures), never with a traceback.
"""

from __future__ import annotations

import difflib
import errno
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping


class G3simError(Exception):
    """Base class of every error g3sim reports to a user."""

    exit_code = 1

    def __str__(self) -> str:
        return self.message()

    def message(self, flags: Mapping[str, str] | None = None) -> str:
        """The message on one line, with each :func:`option` spelled by ``flags`` (the command
        line's flags, ``{"force": "--force"}``) or, without them, as the Python API spells it."""
        return one_line(render_options(super().__str__(), flags))


# A parameter named in a message, spelled by whoever shows the message: the command line as its
# flag (simulator.cli.options.FLAGS), the Python API as its keyword. Library code never spells
# a command-line flag itself.
_OPTION = re.compile("\ue000([a-z_]+)\ue001([^\ue002]*)\ue002")


def option(name: str, python: str | None = None) -> str:
    """Name the parameter ``name`` in a message (``python``: its Python spelling, if not the
    name itself, e.g. ``"force=True"``)."""
    return f"\ue000{name}\ue001{name if python is None else python}\ue002"


#: Parameters that many messages name.
FORCE = option("force", "force=True")
RESUME = option("resume", "resume=True")
OUTPUT = option("output")


def render_options(text: str, flags: Mapping[str, str] | None = None) -> str:
    """Spell the :func:`option` marks of ``text`` with ``flags``, else in their Python form."""
    flags = flags or {}
    return _OPTION.sub(lambda m: flags.get(m.group(1), m.group(2)), text)


class G3simWarning(UserWarning):
    """Something a user should know about a run that goes on regardless (the command line
    prints it as one line on stderr; from Python it is an ordinary warning)."""

    def __str__(self) -> str:
        return self.message()

    def message(self, flags: Mapping[str, str] | None = None) -> str:
        """The warning on one line, each :func:`option` spelled as :meth:`G3simError.message`."""
        return one_line(render_options(str(self.args[0]) if self.args else "", flags))


class ConfigError(G3simError, ValueError):
    """A scenario file, an override or a command-line value is wrong (exit code 2)."""

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None):
        self.source = source
        self.key = key
        self.detail = message
        prefix = ": ".join(p for p in (source, key) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ResultsError(G3simError, ValueError):
    """A results file is missing, unreadable or not a g3sim results file (exit code 2)."""

    exit_code = 2


class OutputError(G3simError, OSError):
    """The results could not be written (exit code 1)."""

    exit_code = 1


class ClusterError(G3simError):
    """The Dask cluster was lost during a run: no workers, or no scheduler (exit code 1)."""

    exit_code = 1


# Every character that ``str.splitlines`` breaks at or a terminal acts on: C0 and C1 controls
# (escape sequences included) and the Unicode line and paragraph separators. Tab stays.
_CONTROLS = {
    c: c.encode("unicode_escape").decode("ascii")
    for c in map(chr, [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029])
    if c != "\t"
}
_ESCAPES = str.maketrans(_CONTROLS)


def one_line(text: str) -> str:
    """Escape line breaks and control characters in ``text``, so a message stays one line.

    A message may quote a TOML key or value, an override or an OS error text that holds a
    newline, a ``\\x85`` (a line break to ``str.splitlines``) or a terminal escape sequence.
    """
    return text.translate(_ESCAPES)


def key_part(name: str) -> str:
    """One part of a key path as TOML writes it: bare (``top_k``) or quoted (``"my key"``)."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def short_repr(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, so that a message stays one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class BusyError(OutputError):
    """Another live g3sim process is writing the same output (exit code 1)."""


class ModelError(G3simError):
    """The model produced something the engine cannot rank (NaN or inf)."""


class HistoryError(G3simError):
    """No draw is consistent with the observations."""


class WorkerError(G3simError):
    """A worker process died or failed while running a block."""


class Interrupted(G3simError):
    """The run was stopped by a signal; its checkpoint was saved."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class SpoolDamaged(G3simError):
    """A spool file does not hold the rows its checkpoint recorded (missing, short or garbled)."""


# What an expected OS failure means to a user, and what to do about it.
_OS_FIXES = {
    errno.ENOSPC: ("no space left on the device", "free space or write elsewhere"),
    errno.EDQUOT: ("disk quota exceeded", "free space or raise the quota"),
    errno.EACCES: ("permission denied", "choose a folder you can write to"),
    errno.EPERM: ("operation not permitted", "choose a folder you can write to"),
    errno.EROFS: ("read-only file system", "choose a folder on a writable file system"),
    errno.ENOENT: ("no such file or directory", "check that the folder exists"),
    errno.EIO: ("input/output error", "check the disk"),
}


def os_failure(path: object, exc: OSError, *, doing: str) -> OutputError:
    """One-line :class:`OutputError` for an OS failure while ``doing`` something to ``path``.

    ``"results/x.nc: cannot write results: no space left on the device; free space"``.
    """
    what, fix = _OS_FIXES.get(exc.errno, (exc.strerror or type(exc).__name__, "check the path"))
    err = OutputError(f"{path}: cannot {doing}: {what}; {fix}")
    err.errno = exc.errno
    return err


def check_encodable(path: object) -> None:
    """Refuse a path that the file-system encoding cannot represent (NetCDF needs to encode it).

    Under ``LC_ALL=C`` without UTF-8 mode, Python's file-system encoding is ASCII and a path such
    as ``résumé.nc`` reaches the NetCDF library as text it cannot encode.
    """
    encoding = sys.getfilesystemencoding()
    try:
        os.fspath(path).encode(encoding)
    except UnicodeEncodeError:
        shown = os.fspath(path).encode(encoding, "backslashreplace").decode(encoding)
        raise OutputError(
            f"{shown}: this path cannot be encoded in the file-system encoding ({encoding}); "
            "use an ASCII path, or a UTF-8 locale (e.g. LC_ALL=C.UTF-8)"
        ) from None


class AnalysisError(G3simError, ValueError):
    """An analysis cannot run on this input (no per-draw data, too few draws ...): exit code 2."""

    exit_code = 2
