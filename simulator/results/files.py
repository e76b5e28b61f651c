"""Writing files: one atomic writer, the checks before a write, and the results file itself.

A results file is written to a temporary file beside the target and renamed into place, so it is
either complete or absent; a checkpoint's state and metadata are replaced the same way
(:func:`write_atomic`).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import xarray as xr

from .._faults import pause_point
from ..errors import FORCE, OUTPUT, ConfigError, OutputError, check_encodable, os_failure
from .cf import COORDINATES, conform, encoding
from .locking import output_lock, umask


def default_path(name: str) -> Path:
    return Path("results") / f"{name}.nc"


def check_writable(path: Path, *, force: bool) -> None:
    """Refuse before a run starts, not after: an existing file or an unwritable folder."""
    check_encodable(path)
    if path.is_dir():
        raise ConfigError(
            f"{path} is a directory; name a .nc file with {OUTPUT}, e.g. {OUTPUT} {path}/run.nc"
        )
    if path.exists() and not force:
        raise ConfigError(
            f"{path} exists; pass {FORCE} to replace it, or {OUTPUT} to write elsewhere"
        )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"{parent}: no such directory; create it or choose another {OUTPUT} path")
    if not parent.is_dir():
        raise OutputError(f"{parent} is not a directory; choose another {OUTPUT} path")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{parent}: not writable; choose another {OUTPUT} path")


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def remove_stale_temps(path: Path) -> None:
    """Remove temporary files that a killed write of ``path`` left beside it.

    Call with the output's lock held (:func:`simulator.results.locking.output_lock`): then no live
    process is writing them.
    """
    # Exactly mkstemp's names for this output: ".x.nc.<8 random characters>.tmp", so that the
    # temporaries of another output ("x.nc.old", with its own lock) are left alone.
    ours = re.compile(re.escape(_temp_prefix(path)) + r"[a-z0-9_]{8}\.tmp")
    for tmp in path.parent.glob(f"{glob.escape(_temp_prefix(path))}*.tmp"):
        if ours.fullmatch(tmp.name):
            with contextlib.suppress(OSError):
                tmp.unlink()


class RowSource(Protocol):
    """Per-draw rows readable in chunks: a numpy array, or a spool file on disk."""

    dtype: np.dtype
    shape: tuple[int, ...]

    def __getitem__(self, key: slice) -> np.ndarray: ...


PerDraw = Mapping[str, tuple[tuple[str, ...], RowSource, Mapping[str, Any]]]
ROW_CHUNK = 2**16  # draws per chunk on disk and per copy step


def split_per_draw(ds: xr.Dataset) -> tuple[xr.Dataset, dict]:
    """Split ``ds`` into its summary (no ``draw`` dimension) and its per-draw variables."""
    names = [v for v in ds.data_vars if "draw" in ds[v].dims]
    per_draw = {v: (ds[v].dims, ds[v].values, dict(ds[v].attrs)) for v in names}
    return ds.drop_vars([*names, "draw"], errors="ignore"), per_draw


def save(ds: xr.Dataset, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write ``ds`` to ``path`` atomically (temporary file, then rename)."""
    summary, per_draw = split_per_draw(ds)
    return write_results(summary, per_draw, path, force=force)


def write_results(
    summary: xr.Dataset, per_draw: PerDraw, path: str | os.PathLike, *, force: bool = False
) -> Path:
    """Write a results file: the summary through xarray, then per-draw variables in chunks.

    Per-draw variables are copied ``ROW_CHUNK`` draws at a time from their sources, so a run
    with 10^7 kept draws is written without holding them in memory. The file is written to a
    temporary name beside ``path``, synced, and renamed into place. Every file is made CF-clean
    on the way (:func:`simulator.results.cf.conform`).
    """
    path = Path(path)
    check_writable(path, force=force)
    summary = conform(summary)

    def write(tmp: Path) -> None:
        summary.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding(summary))
        if per_draw:
            _append_per_draw(tmp, per_draw)

    with output_lock(path):
        remove_stale_temps(path)
        try:
            write_atomic(path, write)
        except (OSError, RuntimeError) as exc:  # the NetCDF library reports a full disk
            raise _write_failure(path, exc) from None  # as EACCES or "HDF error"
    return path


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Replace ``path`` as one unit: ``write(tmp)`` fills a temporary file beside it, which is
    synced and renamed into place (and removed if anything fails). Every file g3sim writes goes
    through here: results files and a checkpoint's state and metadata.

    The temporary's name is ``.<name>.<random>.tmp``, so :func:`remove_stale_temps` finds one a
    killed process left behind. The file gets normal permissions (0666 less the umask).
    """
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes 0600; a results file is normal
        write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)  # the rename itself is durable
    except (OSError, RuntimeError) as exc:
        if _misreported_full_disk(exc, path.parent):  # checked before the temporary goes
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) from exc
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _misreported_full_disk(exc: Exception, folder: Path) -> bool:
    """Whether ``exc`` is a full disk that the NetCDF/HDF5 library reported as something else
    ("HDF error", EACCES, EIO): the failure is of that kind and the disk is (nearly) full."""
    if isinstance(exc, OSError) and exc.errno not in (errno.EACCES, errno.EPERM, errno.EIO):
        return False
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 4 * 2**20


def fsync_dir(folder: Path) -> None:
    """Make the renames in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_failure(path: Path, exc: Exception) -> Exception:
    """The one-line error for a failed results write (an OSError); anything else is a bug."""
    if isinstance(exc, OSError):
        return os_failure(path, exc, doing="write results")
    return exc  # not a file-system failure: reported as an internal error


def _append_per_draw(tmp: Path, per_draw: PerDraw) -> None:
    """Copy per-draw variables into the NetCDF file ``tmp``, ``ROW_CHUNK`` draws at a time."""
    import netCDF4  # heavy: only a write with per-draw variables needs it

    n = next(iter(per_draw.values()))[1].shape[0]
    with netCDF4.Dataset(tmp, "a") as nc:
        nc.set_auto_mask(False)
        nc.createDimension("draw", n)
        chunk = (min(n, ROW_CHUNK),)
        var = nc.createVariable(
            "draw", "i8", ("draw",), zlib=True, complevel=4, shuffle=True, chunksizes=chunk
        )
        for lo in range(0, n, ROW_CHUNK):
            var[lo : lo + ROW_CHUNK] = np.arange(lo, min(n, lo + ROW_CHUNK))
        var.setncatts(COORDINATES["draw"])
        for name, (dims, src, attrs) in per_draw.items():
            dt = np.dtype(src.dtype).newbyteorder("=")  # netCDF4 wants native order
            chunks = chunk + tuple(nc.dimensions[d].size for d in dims[1:])
            var = nc.createVariable(
                name,
                dt,
                dims,
                zlib=True,
                complevel=4,
                shuffle=True,
                chunksizes=chunks,
                fill_value=np.nan if dt.kind == "f" else False,
            )
            for lo in range(0, n, ROW_CHUNK):
                var[lo : lo + ROW_CHUNK] = np.asarray(src[lo : lo + ROW_CHUNK])
                pause_point("per-draw-chunk-written")
            var.setncatts(dict(attrs))
