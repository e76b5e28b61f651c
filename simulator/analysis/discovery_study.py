"""Scenario discovery on a saved result: PRIM on its per-draw data (:func:`discover`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import xarray as xr

from .discovery import PrimResult, prim
from .targets import factor_attribute, per_draw


@dataclass(frozen=True)
class Discovery:
    """A PRIM box for the focus reaching the top k, with what it was computed from."""

    prim: PrimResult
    metric: str
    year: int
    focus: str
    top_k: int
    scenario_name: str
    seed: int
    weighted: bool
    source: str
    factor_units: dict
    #: Factor name → its description (from the result's ``factor_description``).
    factor_descriptions: dict = field(default_factory=dict)


def discover(
    ds: xr.Dataset,
    *,
    metric: str | None = None,
    year: int | None = None,
    factors: Sequence[str] | None = None,
    threshold_density: float | None = None,
    min_coverage: float = 0.5,
    alpha: float = 0.05,
    min_mass: float = 0.05,
    source: str = "the result",
) -> Discovery:
    """PRIM on a result's per-draw data: the factor box where the focus reaches the top k."""
    pd_ = per_draw(ds, metric=metric, year=year, factors=factors, source=source)
    res = prim(
        x=pd_.x,
        y=pd_.y[:, 0],
        weights=pd_.weights,
        names=pd_.names,
        alpha=alpha,
        min_mass=min_mass,
        min_coverage=min_coverage,
        threshold_density=threshold_density,
        groups=pd_.groups,
    )
    a = ds.attrs
    return Discovery(
        prim=res,
        metric=pd_.metric,
        year=pd_.year,
        focus=str(a["focus"]),
        top_k=int(a["top_k"]),
        scenario_name=str(a.get("scenario_name", "")),
        seed=int(a.get("seed", -1)),
        weighted=pd_.weights is not None,
        source=source,
        factor_units=factor_attribute(ds, "factor_units"),
        factor_descriptions=factor_attribute(ds, "factor_description"),
    )


__all__ = ["Discovery", "discover"]
