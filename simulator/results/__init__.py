"""The results dataset: assembly, atomic NetCDF write, and opening with clear errors.

The Dataset is the product's contract (README, "Results file"): fixed dimension names, every
variable with ``long_name`` and ``units``, the resolved scenario and provenance in the global
attributes. It is written to a temporary file beside the target and renamed into place, so a
results file is either complete or absent.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import numbers
import os
import platform
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import scipy
import xarray as xr

from .._faults import pause_point
from .._version import __version__
from ..engine import FoldedRun
from ..errors import (
    ConfigError,
    HistoryError,
    OutputError,
    ResultsError,
    check_encodable,
    os_failure,
)
from ..stats import histogram_quantiles, wilson_interval
from .locking import output_lock

FORMAT = "g3sim-results"
FORMAT_VERSION = 1
CONFIDENCE = 0.95
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _var(dims, data, long_name: str, units: str, **attrs):
    return (dims, data, {"long_name": long_name, "units": units, **attrs})


def build_dataset(run: FoldedRun, *, elapsed_s: float, command: str = "") -> xr.Dataset:
    """Turn a finished run's reducers into the results Dataset."""
    m = run.model
    sums = run.state
    n = run.draws
    sc = run.scenario
    if n != sc.draws:  # stopped early: record the draws that ran, so the TOML re-runs exactly
        sc = sc.with_updates(draws=n)
    wsum = sums.total_weight
    wsq = sums.total_sq_weight
    if wsum <= 0 or wsq <= 0:
        what = (
            "agrees with every observation"
            if wsum <= 0
            else "agrees with the observations by more than a weight of 1e-150 (they lie far "
            "outside what the model produces)"
        )
        raise HistoryError(
            f"{sc.source}: observations: no draw out of {n:,} {what}; loosen rank_tolerance or "
            "score_sd, or check the observations with `g3sim calibrate`"
        )
    ess = wsum**2 / wsq
    counts = sums.rank_count
    nc = len(m.countries)
    # Weighted counts and Σw are summed separately: clip the few-ulp excursions beyond [0, 1].
    prob = np.clip(counts / wsum, 0.0, 1.0)
    k = sc.top_k
    p_top = np.clip(prob[..., :k].sum(axis=-1), 0.0, 1.0)
    lower, upper = wilson_interval(p_top, ess)
    mean = sums.value_sum / wsum
    hist = sums.value_hist
    quant = np.empty((*hist.shape[:-1], len(QUANTILES)))
    for i, b in enumerate(run.bins):
        quant[i] = histogram_quantiles(hist[i], b.edges(), QUANTILES)
    weighted = run.weighted
    count_long = "sum of draw weights" if weighted else "number of draws"

    mdims = ("metric", "year", "country")
    data_vars = {
        "rank_count": _var(
            (*mdims, "rank"), counts, f"{count_long} in which the country has this rank", "1"
        ),
        "rank_probability": _var(
            (*mdims, "rank"), prob, "probability that the country has this rank", "1"
        ),
        "p_top": _var(mdims, p_top, f"probability of rank <= {k} (top_k)", "1"),
        "p_top_lower": _var(
            mdims,
            lower,
            "lower bound of the 95% Wilson interval of p_top",
            "1",
            method="wilson",
            confidence=CONFIDENCE,
        ),
        "p_top_upper": _var(
            mdims,
            upper,
            "upper bound of the 95% Wilson interval of p_top",
            "1",
            method="wilson",
            confidence=CONFIDENCE,
        ),
        "value_mean": _var(mdims, mean, "mean score of the metric", "see metric_units"),
        "value_sd": _var(
            mdims,
            _sd(sums.value_sum, sums.value_sq_sum, wsum, ess),
            "standard deviation of the score",
            "see metric_units",
        ),
        "value_quantile": _var(
            (*mdims, "quantile"),
            quant,
            "quantile of the score (histogram, 1 bin accuracy)",
            "see metric_units",
        ),
        "effective_sample_size": _var((), ess, "effective sample size (Kish)", "1"),
        "factor_prior_mean": _var(
            ("factor",), sums.factor_sum / n, "mean of the factor's draws", "see factor_units"
        ),
        "factor_prior_sd": _var(
            ("factor",),
            _sd(sums.factor_sum, sums.factor_sq_sum, n, n),
            "standard deviation of the factor's draws",
            "see factor_units",
        ),
    }
    if weighted:
        ws = sums.weighted
        wsd = _sd(ws.factor_wsum, ws.factor_wsq_sum, wsum, ess)
        data_vars["factor_posterior_mean"] = _var(
            ("factor",),
            ws.factor_wsum / wsum,
            "mean of the factor, weighted by agreement with the observations",
            "see factor_units",
        )
        data_vars["factor_posterior_sd"] = _var(
            ("factor",), wsd, "standard deviation of the factor, weighted", "see factor_units"
        )
        data_vars["observation_probability"] = _var(
            ("observation",),
            ws.observation_likelihood / n,
            "mean likelihood of the observation before conditioning (for a rank observation: "
            "the probability that the model reproduces it)",
            "1",
        )
    coords = {
        "metric": ("metric", list(m.metrics)),
        "year": ("year", np.array(run.report_years, dtype=np.int32)),
        "country": ("country", list(m.countries)),
        "rank": ("rank", np.arange(1, nc + 1, dtype=np.int16)),
        "quantile": ("quantile", np.array(QUANTILES)),
        "factor": ("factor", list(sc.factor_names)),
        "metric_long_name": ("metric", [m.metric_info[x][0] for x in m.metrics]),
        "metric_units": ("metric", [m.metric_info[x][1] for x in m.metrics]),
        "country_name": ("country", list(m.country_names)),
        "factor_units": ("factor", [f.units for f in sc.factors]),
        "factor_description": ("factor", [f.description for f in sc.factors]),
    }
    tr_draws, tr_p, tr_half = zip(*run.trace, strict=True)
    coords["trace"] = ("trace", np.arange(len(tr_draws), dtype=np.int32))
    data_vars["trace_draws"] = _var(("trace",), np.array(tr_draws), "draws after each block", "1")
    data_vars["trace_p_top"] = _var(
        ("trace", "metric"),
        np.array(tr_p),
        f"running estimate of p_top for {sc.focus} in {run.trace_year}",
        "1",
    )
    data_vars["trace_halfwidth"] = _var(
        ("trace", "metric"), np.array(tr_half), "running 95% Wilson half-width of p_top", "1"
    )
    if weighted:
        obs = run.observations
        coords["observation"] = ("observation", np.arange(len(obs), dtype=np.int32))
        coords["observation_label"] = ("observation", [o.label for o in obs])
        coords["observation_source"] = ("observation", [o.source for o in obs])
    if run.kept:  # in memory; a file run's kept draws go from its spool into the file
        coords["draw"] = ("draw", np.arange(n, dtype=np.int64))
        for name, (dims, attrs) in per_draw_specs(sc).items():
            if name in run.kept:
                data_vars[name] = (dims, run.kept[name][:n], attrs)
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs = {
        "title": f"g3sim results: {sc.name}",
        "Conventions": "CF-1.10",
        "g3sim_format": FORMAT,
        "g3sim_format_version": FORMAT_VERSION,
        "scenario_name": sc.name,
        "scenario_description": sc.description,
        "scenario_toml": sc.to_toml(),
        "scenario_sha256": sc.sha256,
        "scenario_source": str(sc.source),
        "model": m.name,
        "focus": sc.focus,
        "top_k": sc.top_k,
        "seed": np.int64(sc.seed),
        "design": sc.design,
        "draws": np.int64(n),
        "block_size": np.int64(sc.block_size),
        "keep_draws": int(bool(sc.keep_draws)),
        "conditioned": int(weighted),
        "stop_reason": run.stop_reason,
        "trace_year": int(run.trace_year),
        "target_halfwidth": float(run.stop.halfwidth) if run.stop else 0.0,
        "observations": len(run.observations),
        "confidence_level": CONFIDENCE,
        "interval_method": "wilson",
        "simulator_version": __version__,
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "xarray_version": xr.__version__,
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "elapsed_s": round(float(elapsed_s), 4),
        "command": command,
        **{f"model_{k}": v for k, v in m.describe().items()},
    }
    return ds


def per_draw_specs(sc) -> dict[str, tuple[tuple[str, ...], dict[str, str]]]:
    """Dimensions and attributes of the per-draw variables (kept draws)."""
    return {
        "focus_rank": (
            ("draw", "metric", "year"),
            {"long_name": f"rank of the focus country {sc.focus}", "units": "1"},
        ),
        "focus_value": (
            ("draw", "metric", "year"),
            {"long_name": f"score of the focus country {sc.focus}", "units": "see metric_units"},
        ),
        "factor_value": (
            ("draw", "factor"),
            {"long_name": "sampled value of the factor", "units": "see factor_units"},
        ),
        "weight": (
            ("draw",),
            {"long_name": "weight of the draw (likelihood of the observations)", "units": "1"},
        ),
    }


def _sd(s1: np.ndarray, s2: np.ndarray, total: float, n_eff: float) -> np.ndarray:
    """Weighted sd from Σw·x, Σw·x², Σw, with the reliability-weights correction
    n_eff / (n_eff - 1) (= n / (n - 1) unweighted)."""
    mean = s1 / total
    var = np.maximum(s2 / total - mean**2, 0.0)
    return np.sqrt(var * (n_eff / (n_eff - 1) if n_eff > 1 else 0.0))


# ---------------------------------------------------------------------------------------------
# Files


def default_path(name: str) -> Path:
    return Path("results") / f"{name}.nc"


def _encoding(ds: xr.Dataset) -> dict:
    enc = {}
    for name, var in ds.variables.items():
        if var.dtype.kind in "fiu" and var.ndim > 0:
            enc[name] = {"zlib": True, "complevel": 4, "shuffle": True}
    return enc


def check_writable(path: Path, *, force: bool) -> None:
    """Refuse before a run starts, not after: an existing file or an unwritable folder."""
    check_encodable(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a directory; name a .nc file with -o, e.g. -o {path}/run.nc")
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; pass --force to replace it, or -o to write elsewhere")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"{parent}: no such directory; create it or choose another -o path")
    if not parent.is_dir():
        raise OutputError(f"{parent} is not a directory; choose another -o path")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{parent}: not writable; choose another -o path")


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def remove_stale_temps(path: Path) -> None:
    """Remove temporary files that a killed write of ``path`` left beside it.

    Call with the output's lock held (:func:`simulator.results.locking.output_lock`): then no live
    process is writing them.
    """
    for tmp in path.parent.glob(f"{glob.escape(_temp_prefix(path))}*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()


class RowSource(Protocol):
    """Per-draw rows readable in chunks: a numpy array, or a spool file on disk."""

    dtype: np.dtype
    shape: tuple[int, ...]

    def __getitem__(self, key: slice) -> np.ndarray: ...


PerDraw = Mapping[str, tuple[tuple[str, ...], RowSource, Mapping[str, Any]]]
ROW_CHUNK = 2**16  # draws per chunk on disk and per copy step


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
    temporary name beside ``path``, synced, and renamed into place.
    """
    path = Path(path)
    check_writable(path, force=force)
    with output_lock(path):
        remove_stale_temps(path)
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
            os.close(fd)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a results file is normal
            summary.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=_encoding(summary))
            if per_draw:
                _append_per_draw(tmp, per_draw)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except (OSError, RuntimeError) as exc:  # the NetCDF library reports a full disk
            raise _write_failure(path, exc) from None  # as EACCES or "HDF error"
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
    return path


def _write_failure(path: Path, exc: Exception) -> Exception:
    """The one-line error for a failed results write: a full disk is named as such."""
    try:
        st = os.statvfs(path.parent)
        full = st.f_bavail * st.f_frsize < 4 * 2**20
    except OSError:
        full = False
    if full:
        exc = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if isinstance(exc, OSError):
        return os_failure(path, exc, doing="write results")
    return exc  # not a file-system failure: a bug, reported as such


def _append_per_draw(tmp: str, per_draw: PerDraw) -> None:
    """Copy per-draw variables into the NetCDF file ``tmp``, ``ROW_CHUNK`` draws at a time."""
    import netCDF4

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


def open_results(path: str | os.PathLike) -> xr.Dataset:
    """Open a g3sim results file fully into memory, with a clear error for a bad file."""
    path = Path(path)
    try:
        check_encodable(path)
    except OutputError as exc:
        raise ResultsError(str(exc)) from None
    if not path.exists():
        raise ResultsError(f"{path}: no such results file; run `g3sim run SCENARIO` first")
    if path.is_dir():
        raise ResultsError(f"{path} is a directory; name a .nc results file")
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            ds.load()
    except Exception as exc:  # netCDF4 raises OSError, RuntimeError, ValueError, KeyError ...
        raise ResultsError(
            f"{path}: not a readable NetCDF file ({type(exc).__name__}: {str(exc)[:80]}); "
            "re-run the scenario to recreate it"
        ) from None
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
    missing = [v for v in ("rank_probability", "p_top") if v not in ds]
    if missing:
        raise ResultsError(f"{path}: g3sim file lacks {', '.join(missing)}; it is damaged: re-run")
    return ds
