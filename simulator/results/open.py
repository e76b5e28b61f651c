"""Opening a results file, with a clear error for anything that is not one."""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import xarray as xr

from ..errors import OutputError, ResultsError, check_encodable
from .kinds import ANALYSES, FORMAT, FORMAT_VERSION, RENAMED_DIMS


def open_result(path: str | os.PathLike) -> xr.Dataset:
    """Open any file g3sim writes: a run's results, or an analysis (sensitivity, comparison).

    A run's results go through :func:`open_results` and its checks; a file that fails them is
    accepted only if it is an analysis Dataset (its ``analysis`` attribute is one of
    :data:`~simulator.results.kinds.ANALYSES`); otherwise the run file's error stands.
    """
    try:
        return open_results(path)
    except ResultsError:
        ds = _open_analysis(Path(path))
        if ds is None:
            raise
        return ds


def _open_analysis(path: Path) -> xr.Dataset | None:
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            if ds.attrs.get("analysis") not in ANALYSES:
                return None
            return ds.load()
    except Exception:  # not readable: open_results's message says so
        return None


def open_results(path: str | os.PathLike) -> xr.Dataset:
    """Open a g3sim results file fully into memory, with a clear error for a bad file.

    A file of an older format version comes back with today's dimension names
    (:data:`~simulator.results.kinds.RENAMED_DIMS`); its ``g3sim_format_version`` attribute
    still says which version it was written in.
    """
    path = Path(path)
    try:
        check_encodable(path)
    except OutputError as exc:
        raise ResultsError(str(exc)) from None
    if not path.exists():
        raise ResultsError(f"{path}: no such results file; run `g3sim run SCENARIO` first")
    if path.is_dir():
        raise ResultsError(f"{path} is a directory; name a .nc results file")
    ds = _read(path)
    _check_kind(path, ds)
    _check_attributes(path, ds)
    missing = [v for v in ("rank_probability", "p_top") if v not in ds]
    if missing:
        raise ResultsError(f"{path}: g3sim file lacks {', '.join(missing)}; it is damaged: re-run")
    return upgrade(ds)


def upgrade(ds: xr.Dataset) -> xr.Dataset:
    """A results Dataset of an older format version with today's dimension names."""
    version = int(ds.attrs.get("g3sim_format_version", FORMAT_VERSION))
    renames = {
        old: new
        for since, names in sorted(RENAMED_DIMS.items())
        if version < since
        for old, new in names.items()
        if old in ds.dims and new not in ds.dims
    }
    return ds.rename(renames) if renames else ds


def _read(path: Path) -> xr.Dataset:
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            ds.load()
    except Exception as exc:  # netCDF4 raises OSError, RuntimeError, ValueError, KeyError ...
        raise ResultsError(
            f"{path}: not a readable NetCDF file ({type(exc).__name__}: {str(exc)[:80]}); "
            "re-run the scenario to recreate it"
        ) from None
    return ds


def _check_kind(path: Path, ds: xr.Dataset) -> None:
    """A run's results file, not an analysis result or a foreign NetCDF file."""
    analysis = ds.attrs.get("analysis")
    if analysis and ds.attrs.get("g3sim_format") != FORMAT:
        raise ResultsError(
            f"{path}: a g3sim {analysis} result, not the result of `g3sim run`; name a run's "
            "results file (a comparison or sensitivity file is read by `g3sim plot`)"
        )
    if ds.attrs.get("g3sim_format") != FORMAT:
        raise ResultsError(
            f"{path}: a NetCDF file, but not written by g3sim (no g3sim_format attribute); "
            "name a file made by `g3sim run`"
        )


def _check_attributes(path: Path, ds: xr.Dataset) -> None:
    """The attributes the commands read are there, of their types and in range."""
    # Attributes the commands read, with their types (numbers may come back as numpy scalars).
    required = {
        "g3sim_format_version": numbers.Integral,
        "focus": str,
        "top_k": numbers.Integral,
        "draws": numbers.Integral,
        "seed": numbers.Integral,
        "model": str,
        "scenario_toml": str,
    }
    bad = [k for k, t in required.items() if not isinstance(ds.attrs.get(k), t)]
    if bad:
        raise ResultsError(
            f"{path}: g3sim file with missing or malformed attributes ({', '.join(bad)}); it is "
            "damaged: re-run the scenario to recreate it"
        )
    version = int(ds.attrs["g3sim_format_version"])
    if version < 1:
        raise ResultsError(
            f"{path}: results format version {version} is not valid (≥ 1); it is damaged: "
            "re-run the scenario to recreate it"
        )
    countries = ds.sizes.get("country", 0)
    if not 1 <= int(ds.attrs["top_k"]) <= countries:
        raise ResultsError(
            f"{path}: top_k = {int(ds.attrs['top_k'])} is outside 1..{countries} (the countries "
            "in the file); it is damaged: re-run the scenario to recreate it"
        )
    if version > FORMAT_VERSION:
        raise ResultsError(
            f"{path}: written in results format {version} by a newer g3sim; this g3sim reads "
            f"up to {FORMAT_VERSION}: upgrade g3sim"
        )
