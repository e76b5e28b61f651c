"""One writer per output: an exclusive lock held for a whole run, resume and final write.

``with output_lock(path):`` takes ``fcntl.flock(LOCK_EX | LOCK_NB)`` on a hidden lock file beside
``path`` (``.x.nc.lock`` for ``x.nc``) and records who holds it (pid, host, start time, command).
A second process that asks for the same output fails at once with one line naming the holder;
it never waits and never deletes the holder's checkpoint.

The lock is the kernel's, tied to the open file: it goes away with the process however it ends
(SIGKILL included), so a crash never leaves a stale lock behind. The holder removes the lock file
on release; a process that opened the file just before that removal checks, once it holds the
lock, that the path still names the file it locked, and starts over if not.

The lock is re-entrant within a process (a run that holds it may call the results writer, which
asks for it again). A forked worker closes its inherited copy of the descriptor at once, so
the lock lives exactly as long as the process that took it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import BusyError, os_failure

# Lock files this process holds: path → [descriptor, depth].
_HELD: dict[str, list[int]] = {}


def _forget_in_child() -> None:
    for fd, _ in _HELD.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_in_child)


def umask() -> int:
    """The process's umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def lock_path(output: str | os.PathLike) -> Path:
    """The lock file that guards ``output``: hidden, beside it."""
    output = Path(output)
    return output.with_name(f".{output.name}.lock")


def _holder(fd: int) -> str:
    """Who holds a lock file, as recorded in it (best effort: it may be mid-write)."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(info["started"])))
        return f"pid {int(info['pid'])} on {info['host']}, since {when}: {info['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _acquire(path: Path) -> int:
    mode = 0o666 & ~umask()
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
        except OSError as exc:
            raise os_failure(path.parent, exc, doing="create a lock file there") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _holder(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                output = path.with_name(path.name[1:].removesuffix(".lock"))
                raise BusyError(
                    f"{output} is being written by another g3sim run ({holder}); wait for it to "
                    "finish, or write to another path"
                ) from None
            raise os_failure(path, exc, doing="lock") from None
        try:  # the path must still name the file we locked (the last holder may have removed it)
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        if st is not None and (st.st_dev, st.st_ino) == _dev_ino(fd):
            return fd
        os.close(fd)


def _dev_ino(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


@contextlib.contextmanager
def output_lock(output: str | os.PathLike, *, command: str = "") -> Iterator[Path]:
    """Hold the exclusive lock on ``output`` for the duration of the ``with`` block.

    Raises
    ------
    BusyError
        Another live process holds it (the message names that process).
    OutputError
        The lock file cannot be created (a read-only or missing folder, a full disk).
    """
    path = lock_path(output)
    key = os.path.abspath(path)
    held = _HELD.get(key)
    if held is not None:  # re-entrant within this process
        held[1] += 1
        try:
            yield path
        finally:
            held[1] -= 1
        return
    fd = _acquire(path)
    _HELD[key] = [fd, 1]
    try:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
            "command": command or " ".join(sys.argv),
        }
        with contextlib.suppress(OSError):  # who holds it is information, not the lock itself
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        yield path
    finally:
        del _HELD[key]
        with contextlib.suppress(OSError):
            os.unlink(path)  # while still holding it: see the module docstring
        os.close(fd)
