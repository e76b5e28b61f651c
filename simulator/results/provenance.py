"""Provenance attributes: which software made a file, when, how long it took, by what command."""

from __future__ import annotations

import platform
from datetime import UTC, datetime

import numpy as np
import scipy
import xarray as xr

from .._version import __version__


def provenance(*, elapsed_s: float | None = None, command: str | None = None) -> dict[str, object]:
    """The software versions and the creation time, plus ``elapsed_s`` and the ``command`` line
    when given: the attributes every file g3sim writes carries."""
    out: dict[str, object] = {
        "simulator_version": __version__,
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "xarray_version": xr.__version__,
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if elapsed_s is not None:
        out["elapsed_s"] = round(float(elapsed_s), 4)
    if command is not None:
        out["command"] = command
    return out
