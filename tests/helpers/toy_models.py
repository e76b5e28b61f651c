"""A test-only model whose scores depend on factors: ``linear_race``.

Each country's score is ``mean + Σ_f shift[f] · factor_f + sd · z`` with z standard normal from
``rngs("scores")``: a factor-driven Gaussian race, so that sensitivity and discovery have known
answers. Registered only inside tests (the ``linear_race`` fixture)::

    [model.countries]
    KOR = { mean = 30, sd = 2 }
    [model.shifts]
    KOR = { a = 3.0, b = 1.0 }     # KOR's score += 3·a + 1·b
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

import numpy as np

from simulator.models import MODELS
from simulator.models.base import Bins, Model
from simulator.scenario import schema


class LinearRace(Model):
    name = "linear_race"
    metric_info: ClassVar[Mapping[str, tuple[str, str]]] = {"score": ("score", "1")}
    required_factors = None

    def __init__(self, means, sds, shifts, **kw):
        super().__init__(**kw)
        self.means = np.asarray(means, dtype=float)
        self.sds = np.asarray(sds, dtype=float)
        self.shifts = shifts  # country index → {factor: coefficient}

    @classmethod
    def from_scenario(cls, scenario) -> LinearRace:
        table = scenario.model_params["countries"]
        countries = tuple(table)
        shifts = {
            countries.index(c): dict(v) for c, v in scenario.model_params.get("shifts", {}).items()
        }
        cls.check_focus(scenario, countries)
        return cls(
            [table[c]["mean"] for c in countries],
            [table[c]["sd"] for c in countries],
            shifts,
            countries=countries,
            country_names=countries,
            years=scenario.years,
            focus=scenario.focus,
            top_k=scenario.top_k,
        )

    def bins(self, metric: str) -> Bins:
        return Bins(float(self.means.min() - 50), float(self.means.max() + 50), 500)

    def simulate(
        self,
        factors: Mapping[str, np.ndarray],
        rngs: Callable[[str], np.random.Generator],
        n: int,
    ) -> dict[str, np.ndarray]:
        z = rngs("scores").standard_normal((n, len(self.years), len(self.countries)))
        z *= self.sds
        z += self.means
        for c, coefs in self.shifts.items():
            for f, coef in coefs.items():
                z[:, :, c] += coef * np.asarray(factors[f])[:, None]
        return {"score": z}


def linear_dict(*, draws=4000, seed=3, factors=None, shifts=None, correlation=None, **sc):
    """A linear_race scenario as a dict: KOR chases SGP and GBR for the third place."""
    d = {
        "scenario": {
            "name": "linear-test",
            "model": "linear_race",
            "focus": "KOR",
            "top_k": 3,
            "years": [2029, 2030],
            "draws": draws,
            "seed": seed,
            **sc,
        },
        "model": {
            "countries": {
                "USA": {"mean": 100, "sd": 1},
                "CHN": {"mean": 60, "sd": 1},
                "SGP": {"mean": 33, "sd": 1},
                "KOR": {"mean": 30, "sd": 2},
            },
            "shifts": shifts if shifts is not None else {"KOR": {"a": 3.0, "b": 1.0}},
        },
        "factors": factors
        if factors is not None
        else {
            "a": {"dist": "normal", "mean": 0, "sd": 1, "units": "1"},
            "b": {"dist": "normal", "mean": 0, "sd": 1},
            "c": {"dist": "uniform", "low": 0, "high": 1},
        },
    }
    if correlation:
        d["correlation"] = correlation
    return d


def register_model(monkeypatch, name: str, cls: type[Model]) -> None:
    """Register a test model for one test: in the model registry, and among the model names a
    scenario may give (``simulator.scenario.schema.MODEL_NAMES``, which the scenario layer checks
    without importing the registry)."""
    monkeypatch.setitem(MODELS, name, cls)
    if name not in schema.MODEL_NAMES:
        monkeypatch.setattr(schema, "MODEL_NAMES", (*schema.MODEL_NAMES, name))


class Poisoned(LinearRace):
    """linear_race whose block 1 has one bad value (NaN, ±inf) or only huge finite values."""

    poison: float = np.nan

    def simulate(self, factors, rngs, n):
        out = super().simulate(factors, rngs, n)
        if rngs.block == 1:
            if np.isfinite(self.poison):
                out["score"][:] = self.poison
            else:
                out["score"][n // 2, -1, 1] = self.poison
        return out

    def bins(self, metric):
        return Bins(-1e201, 1e201, 100) if np.isfinite(self.poison) else super().bins(metric)
