"""Drawing a figure of a Dataset: every registered kind, looked up by name.

Pure: a Dataset in, a :class:`matplotlib.figure.Figure` out (files: :mod:`.files`). pyplot is
never imported, so no global figure state leaks between figures: each figure is a ``Figure``
with its own Agg canvas and is freed when it goes out of scope.
"""

from __future__ import annotations

from collections.abc import Sequence

import xarray as xr
from matplotlib.figure import Figure

from ..errors import ConfigError, G3simError, ResultsError, did_you_mean, option
from ..results.kinds import ANALYSES
from . import analysis_kinds, run_kinds, sweep_kind
from .kinds import PlotKind, PlotOptions

# Every kind, the run's first (the order of `g3sim plot --help` and of the report's figures).
KINDS: dict[str, PlotKind] = {
    **run_kinds.REGISTRY.kinds,
    **analysis_kinds.REGISTRY.kinds,
    **sweep_kind.REGISTRY.kinds,
}


def missing(spec: PlotKind, ds: xr.Dataset) -> str | None:
    """What ``ds`` lacks for kind ``spec`` (the end of a sentence naming the file), or None."""
    analysis = ds.attrs.get("analysis")
    if spec.analysis is None and analysis in ANALYSES:
        for_it = [k.name for k in KINDS.values() if k.analysis == analysis]
        return (
            f"is a {analysis} result, not a `g3sim run` result; plot it with --kind "
            f"{' or '.join(for_it) or '(none yet)'}"
        )
    return spec.lacks(ds)


def plot(
    ds: xr.Dataset,
    kind: str,
    *,
    metric: str | Sequence[str] | None = None,
    country: str | None = None,
    top: int | None = None,
    source: str = "the result",
) -> Figure:
    """Draw figure ``kind`` of a results Dataset.

    Parameters
    ----------
    ds
        A results Dataset (:func:`simulator.results.open_results`), or an analysis Dataset for
        the kinds that draw one.
    kind
        One of :data:`KINDS` (``g3sim plot --help`` lists them).
    metric
        A metric or metrics to draw [default: every metric in ``ds``].
    country
        The country in focus (ISO alpha-3) [default: the run's focus country].
    top
        How many leading countries ``race`` shows (the focus is added if not among them)
        [default: 8], or how many factors ``tornado`` shows [default: 15].
    source
        The file's name, for error messages.

    Raises
    ------
    ConfigError
        An unknown kind, metric or country (exit code 2 on the command line).
    ResultsError
        ``ds`` lacks the data the kind needs; the message says what to run.
    """
    spec = plot_kind(kind)
    lacks = missing(spec, ds)
    if lacks:
        raise ResultsError(f"{source} {lacks}")
    if spec.draw is None:
        raise G3simError(
            f"{option('kind')} {kind}: drawing {source} is not implemented in this g3sim yet; see "
            "docs/plots.md"
        )
    return spec.draw(ds, _options(ds, metric=metric, country=country, top=top, source=source))


def plot_kind(name: str) -> PlotKind:
    """The registered kind ``name``, or a ConfigError listing the valid ones."""
    if name not in KINDS:
        raise ConfigError(
            f"unknown plot kind {name!r}{did_you_mean(name, KINDS)}; choose one of "
            f"{', '.join(KINDS)}"
        )
    return KINDS[name]


def available_kinds(ds: xr.Dataset) -> list[str]:
    """The kinds that can draw ``ds`` now (its data is there and the drawing is written)."""
    return [k.name for k in KINDS.values() if k.draw is not None and missing(k, ds) is None]


def _options(
    ds: xr.Dataset,
    *,
    metric: str | Sequence[str] | None,
    country: str | None,
    top: int | None,
    source,
) -> PlotOptions:
    if "metric" in ds.coords:
        metrics_in = [str(m) for m in ds["metric"].values]
    else:  # a sensitivity result is about one metric
        metrics_in = [str(ds.attrs["metric"])] if "metric" in ds.attrs else []
    if metric is None or (not isinstance(metric, str) and len(metric) == 0):
        metrics = tuple(metrics_in)
    else:
        metrics = (metric,) if isinstance(metric, str) else tuple(dict.fromkeys(metric))
        for m in metrics:
            if m not in metrics_in and "metric" not in ds.coords:
                raise ConfigError(
                    f"{option('metric')} {m!r}: {source} is a sensitivity of "
                    f"{', '.join(metrics_in)} only; run `g3sim sensitivity SCENARIO --metric {m}` "
                    f"for {m}"
                )
            if m not in metrics_in:
                raise ConfigError(
                    f"{option('metric')} {m!r} is not in {source}"
                    f"{did_you_mean(m, metrics_in)}; its metrics are {', '.join(metrics_in)}"
                )
    countries = [str(c) for c in ds["country"].values] if "country" in ds.coords else []
    analysis = ds.attrs.get("analysis")
    focus = str(ds.attrs.get("focus", ds.attrs.get("focus_a", "")))
    if country and analysis in ANALYSES and country != focus:
        raise ConfigError(
            f"{option('country')} {country!r}: {source} is a {analysis} result about {focus} only; "
            + (
                f"run `g3sim sensitivity SCENARIO --set scenario.focus={country}` for {country}"
                if analysis == "sensitivity"
                else f"compare scenarios whose scenario.focus is {country!r}"
            )
        )
    country = country or focus
    if countries and country not in countries:
        raise ConfigError(
            f"{option('country')} {country!r} is not in {source}"
            f"{did_you_mean(country, countries)}; use an ISO alpha-3 code of the results' countries"
        )
    if top is not None and top < 1:
        raise ConfigError(f"{option('top')} {top}: must be at least 1, e.g. {option('top')} 8")
    return PlotOptions(metrics=metrics, country=country, top=top)
