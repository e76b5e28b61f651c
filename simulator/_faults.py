"""Named points at which a test can freeze a run to inject a fault (a SIGKILL, a damaged file).

A run passes ``pause_point("final-write")`` and the like at the moments where a crash is
interesting. Outside tests nothing is set and a pause point costs one environment look-up.

``G3SIM_PAUSE_AT="name"`` (or ``"name:N"``, the N-th time the point is reached) makes the process
write ``"<pid> <name>"`` to the file named by ``G3SIM_PAUSE_FILE`` and sleep until that file is
removed (then it goes on) or the process is killed, so a test can act on a process frozen at a
known point of its work: kill it, or damage its files and let it continue.
"""

from __future__ import annotations

import os
import time

_SEEN: dict[str, int] = {}


def pause_point(name: str) -> None:
    """Freeze here if the environment asks for the point ``name`` (see the module docstring)."""
    spec = os.environ.get("G3SIM_PAUSE_AT")
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point != name:
        return
    _SEEN[name] = _SEEN.get(name, 0) + 1
    if _SEEN[name] != int(nth or 1):
        return
    marker = os.environ.get("G3SIM_PAUSE_FILE")
    if not marker:
        return
    with open(marker + ".tmp", "w") as fh:
        fh.write(f"{os.getpid()} {name}\n")
    os.replace(marker + ".tmp", marker)
    while os.path.exists(marker):  # until the test removes it, or kills this process
        time.sleep(0.02)
