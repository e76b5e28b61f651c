"""Shared constants and builders: small scenarios built in memory."""

from __future__ import annotations

from pathlib import Path

from simulator.models.gaussian_race import exact_rank_distribution
from simulator.scenario import scenario_from_dict

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"

# Attributes that legitimately differ between two otherwise identical runs.
TIMING_ATTRS = ("created_utc", "elapsed_s", "command", "history")


def gaussian_dict(countries, *, focus="KOR", top_k=3, years=(2030,), draws=20_000, seed=1, **sc):
    """A gaussian_race scenario as a dict: ``countries`` maps code → (mean, sd)."""
    return {
        "scenario": {
            "name": "gauss-test",
            "model": "gaussian_race",
            "focus": focus,
            "top_k": top_k,
            "years": list(years),
            "draws": draws,
            "seed": seed,
            **sc,
        },
        "model": {"countries": {c: {"mean": m, "sd": s} for c, (m, s) in countries.items()}},
    }


def gaussian_scenario(countries, **kw):
    factors = kw.pop("factors", None)
    correlation = kw.pop("correlation", None)
    d = gaussian_dict(countries, **kw)
    if factors:
        d["factors"] = factors
    if correlation:
        d["correlation"] = correlation
    return scenario_from_dict(d, source="<test>")


FIVE = {
    "USA": (100, 2),
    "CHN": (60, 5),
    "SGP": (35, 5),
    "GBR": (33, 4),
    "KOR": (30, 6),
}


def strip_timing(ds):
    ds = ds.copy()
    for a in TIMING_ATTRS:
        ds.attrs.pop(a, None)
    return ds


#: Three factors of different families, for tests of the randomness contract.
FACTORS = {
    "alpha": {"dist": "normal", "mean": 0, "sd": 1},
    "beta_f": {"dist": "pert", "low": 0, "mode": 0.3, "high": 1},
    "gamma": {"dist": "lognormal", "p5": 1, "p95": 10},
}


def five_with_factors(**kw):
    """The FIVE race with :data:`FACTORS` and blocks of 1,000 draws (overridable)."""
    kw.setdefault("factors", dict(FACTORS))
    kw.setdefault("block_size", 1000)
    return gaussian_scenario(FIVE, **kw)


def gaussian_lever_scenario(*, low=20.0, high=50.0, step=5.0, default=30.0, rival=None, **kw):
    """The FIVE race whose KOR mean is the lever ``kor_mean`` (and, with ``rival``, SGP's mean
    the lever ``sgp_mean`` over ``rival`` = (low, high, step, default))."""
    d = gaussian_dict(FIVE, **kw)
    d["levers"] = {
        "kor_mean": {
            "low": low,
            "high": high,
            "step": step,
            "default": default,
            "description": "Korea's mean score",
        }
    }
    d["model"]["countries"]["KOR"]["mean"] = "kor_mean"
    if rival is not None:
        lo, hi, st, de = rival
        d["levers"]["sgp_mean"] = {"low": lo, "high": hi, "step": st, "default": de}
        d["model"]["countries"]["SGP"]["mean"] = "sgp_mean"
    return scenario_from_dict(d, source="<test>")


def exact_p_top(kor_mean: float, *, sgp_mean: float = 35.0, k: int = 3) -> float:
    """The closed-form P(KOR rank ≤ k) of the FIVE race with these means."""
    means = [FIVE[c][0] for c in FIVE]
    means[2], means[4] = sgp_mean, kor_mean
    return float(exact_rank_distribution(means, [FIVE[c][1] for c in FIVE], 4)[:k].sum())
