"""CF-1.10 conformance of every file g3sim writes (README, "Results file").

One place for what makes a g3sim NetCDF file CF-clean and easy to read with plain xarray:

* every coordinate has a ``long_name`` (and ``units`` where a unit means something):
  :data:`COORDINATES`;
* a variable whose entries have different units along ``metric``, ``factor`` or ``outcome``
  (``value_mean``, ``factor_prior_mean``, ``outcome_mean`` ...) has ``units = "1"`` and a
  ``g3sim_units_coordinate`` attribute naming the coordinate that holds each entry's own unit
  (``metric_units``, ``factor_units``, ``outcome_units``): CF has no per-entry units, and labels
  such as "H100e" (a count of H100-equivalent accelerators) or "points" are not UDUNITS units
  (:func:`units_from`);
* ``Conventions`` and a ``history`` line (ISO time and the command line);
* no ``_FillValue`` on coordinates (:func:`encoding`).

:func:`conform` applies all of it; :func:`~simulator.results.files.write_results` calls it on
every file it writes (runs and analyses alike), so a new file kind is CF-clean without help.
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from .._version import __version__

CONVENTIONS = "CF-1.10"
#: The attribute naming the coordinate that holds each entry's own units (see module docstring).
UNITS_COORDINATE = "g3sim_units_coordinate"

#: Attributes of every coordinate a g3sim file can have. String coordinates have no units.
COORDINATES: dict[str, dict[str, str]] = {
    "metric": {"long_name": "metric the countries are ranked by"},
    "metric_long_name": {"long_name": "description of the metric"},
    "metric_units": {"long_name": "units of the metric (a label; see g3sim_units_coordinate)"},
    "year": {"long_name": "calendar year of the state"},
    "country": {"long_name": "country (ISO 3166-1 alpha-3 code)"},
    "country_name": {"long_name": "English name of the country"},
    "rank_position": {
        "long_name": "rank of a country (1 = highest score; competition ranking)",
        "units": "1",
    },
    "quantile_level": {"long_name": "probability level of the quantile", "units": "1"},
    "factor": {"long_name": "uncertain factor of the scenario"},
    "factor_units": {"long_name": "units of the factor (a label; see g3sim_units_coordinate)"},
    "factor_description": {"long_name": "description of the factor"},
    "draw": {"long_name": "index of the Monte Carlo draw", "units": "1"},
    "trace": {"long_name": "index of the convergence check (one per block)", "units": "1"},
    "observation": {"long_name": "index of the scenario's [[observations]] entry", "units": "1"},
    "observation_label": {"long_name": "label of the observation"},
    "observation_source": {"long_name": "source of the observation"},
    "observed_year": {"long_name": "calendar year with observations (a conditioning step)"},
    "move": {"long_name": "rejuvenating Metropolis-Hastings move after conditioning (sweep:group)"},
    "outcome": {"long_name": "headline outcome of the focus country"},
    "outcome_long_name": {"long_name": "description of the outcome"},
    "outcome_units": {"long_name": "units of the outcome (a label; see g3sim_units_coordinate)"},
}


def units_from(coordinate: str) -> dict[str, str]:
    """The ``units`` attributes of a variable whose entries take their units from ``coordinate``
    (``"metric_units"``, ``"factor_units"`` or ``"outcome_units"``)."""
    return {"units": "1", UNITS_COORDINATE: coordinate}


def history_line(created_utc: str, command: str) -> str:
    """One CF ``history`` line: ``"<ISO time>: <command line>"``."""
    return f"{created_utc}: {command or f'g3sim {__version__} (Python API)'}"


def conform(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with CF attributes filled in where missing (a shallow copy; values untouched).

    Adds each known coordinate's attributes (:data:`COORDINATES`), ``Conventions``, and a
    ``history`` line built from the ``created_utc`` and ``command`` attributes. Attributes
    already present are kept, so it is idempotent.
    """
    out = ds.copy(deep=False)
    for name, attrs in COORDINATES.items():
        var = out.variables.get(name)
        if var is not None:
            var.attrs = {**attrs, **var.attrs}
    out.attrs = dict(ds.attrs)
    out.attrs.setdefault("Conventions", CONVENTIONS)
    if "history" not in out.attrs:
        created = str(out.attrs.get("created_utc", ""))
        out.attrs["history"] = history_line(created, str(out.attrs.get("command", "")))
    return out


def encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    """NetCDF encoding: numeric arrays compressed; no ``_FillValue`` on any coordinate."""
    enc: dict[str, dict[str, Any]] = {}
    for name, var in ds.variables.items():
        e: dict[str, Any] = {}
        if var.dtype.kind in "fiu" and var.ndim > 0:
            e.update(zlib=True, complevel=4, shuffle=True)
        if name in ds.coords:
            e["_FillValue"] = None
        if e:
            enc[str(name)] = e
    return enc
