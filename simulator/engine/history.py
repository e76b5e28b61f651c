"""Conditioning on observed history (history matching by likelihood weighting).

A scenario lists what is already known as ``[[observations]]``::

    [[observations]]
    year = 2025
    country = "KOR"
    metric = "ai_index"       # default: the model's first metric
    rank = 5                  # the observed rank ...
    rank_tolerance = 1        # ... accepted within ± this many places (default 0)
    # rank_range = [4, 6]     # or an explicit inclusive range instead of rank/rank_tolerance
    # score = 27.26           # and/or an observed score,
    # score_sd = 3.0          #    matched with a Gaussian kernel of this width
    source = "https://..."

Each draw gets the weight ``w = Π_j L_j``: ``L_j`` is 1 when the simulated rank lies in the
accepted range and 0 otherwise (rejection, as in approximate Bayesian computation), times
``exp(-½ ((score - observed) / score_sd)²)`` when a score is given. Every reported probability,
interval and quantile is then weighted: it is conditional on the observations. Intervals use
Kish's effective sample size ``(Σw)² / Σw²`` in place of the number of draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, did_you_mean
from ..scenario import MAX_YEAR, MIN_YEAR
from ..scenario.distributions import finite_number
from .ranks import focus_ranks

OBSERVATION_KEYS = (
    "year",
    "country",
    "metric",
    "rank",
    "rank_tolerance",
    "rank_range",
    "score",
    "score_sd",
    "source",
    "note",
)
MAX_OBSERVATIONS = 1_000  # each adds a likelihood per draw to every block
ESS_WARNING_FRACTION = 0.01  # warn when fewer than 1% of draws carry the weight ...
ESS_WARNING_MIN = 1_000  # ... or fewer than this many effective draws


@dataclass(frozen=True)
class Observation:
    year: int
    country: str
    metric: str
    rank_low: int | None
    rank_high: int | None
    score: float | None
    score_sd: float | None
    source: str
    label: str

    def likelihood(self, x: np.ndarray, country_index: int) -> np.ndarray:
        """``L`` for each draw, from the scores ``x`` (n, country) of this year and metric."""
        n = x.shape[0]
        lik = np.ones(n)
        if self.rank_low is not None:
            rank = focus_ranks(x, country_index)
            lik *= (rank >= self.rank_low) & (rank <= self.rank_high)
        if self.score is not None:
            # Far from the score (or with a tiny score_sd) z² overflows to inf: weight 0.
            with np.errstate(over="ignore"):
                z = (x[:, country_index] - self.score) / self.score_sd
                lik *= np.exp(-0.5 * z * z)
        return lik


def parse_observations(
    raw: Sequence[Mapping[str, Any]],
    *,
    source: str,
    countries: Sequence[str],
    metrics: Sequence[str],
) -> tuple[Observation, ...]:
    """Validate ``[[observations]]`` against the model's countries and metrics."""
    if len(raw) > MAX_OBSERVATIONS:
        raise ConfigError(
            f"{len(raw):,} observations, more than {MAX_OBSERVATIONS:,}; keep the informative "
            "ones (each is checked in every draw)",
            source=source,
            key="observations",
        )
    out = []
    for i, table in enumerate(raw):
        where = f"observations[{i}]"

        def err(key: str | None, msg: str, where: str = where) -> ConfigError:
            return ConfigError(msg, source=source, key=f"{where}.{key}" if key else where)

        out.append(_parse_one(table, err, countries, metrics))
    return tuple(out)


def _parse_one(table, err, countries: Sequence[str], metrics: Sequence[str]) -> Observation:
    """One ``[[observations]]`` table; ``err(key, message)`` makes its ConfigError."""
    for key in table:
        if key not in OBSERVATION_KEYS:
            raise err(
                key,
                f"unknown key{did_you_mean(key, OBSERVATION_KEYS)}; allowed: "
                + ", ".join(OBSERVATION_KEYS),
            )
    year = table.get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        raise err("year", f"needs a whole year, got {year!r}; add year = 2025")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise err("year", f"must lie between {MIN_YEAR} and {MAX_YEAR}, got {year}")
    country = table.get("country")
    if country not in countries:
        raise err(
            "country",
            f"{country!r} is not a country of the model{did_you_mean(str(country), countries)}"
            "; use an ISO alpha-3 code of the model's countries",
        )
    metric = table.get("metric", metrics[0])
    if metric not in metrics:
        raise err(
            "metric",
            f"unknown metric {metric!r}{did_you_mean(str(metric), metrics)}; use one of "
            + ", ".join(metrics),
        )
    low, high = _rank_window(table, err, len(countries))
    score, sd = _score_kernel(table, err)
    if low is None and score is None:
        raise err(None, "observes nothing; give rank (or rank_range) and/or score")
    src = table.get("source", "")
    if not isinstance(src, str):
        raise err("source", f"must be a text, got {src!r}")
    what = []
    if low is not None:
        what.append(f"rank {low}" if low == high else f"rank {low}–{high}")
    if score is not None:
        what.append(f"score {score:g}±{sd:g}")
    label = f"{country} {metric} {year}: {' & '.join(what)}"
    return Observation(year, country, metric, low, high, score, sd, src, label)


def _rank_window(table, err, nc: int) -> tuple[int | None, int | None]:
    """The accepted ranks (lowest, highest) within 1..nc, or (None, None) without a rank."""
    low = high = None
    if "rank_range" in table:
        if "rank" in table or "rank_tolerance" in table:
            raise err("rank_range", "give rank (with rank_tolerance) or rank_range, not both")
        rr = table["rank_range"]
        if (
            not isinstance(rr, list)
            or len(rr) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in rr)
        ):
            raise err("rank_range", f"must be [lowest, highest] whole ranks, got {rr!r}")
        low, high = rr
    elif "rank" in table:
        rank = table["rank"]
        tol = table.get("rank_tolerance", 0)
        if isinstance(rank, bool) or not isinstance(rank, int):
            raise err("rank", f"must be a whole rank, got {rank!r}")
        if isinstance(tol, bool) or not isinstance(tol, int) or tol < 0:
            raise err("rank_tolerance", f"must be a whole number ≥ 0, got {tol!r}")
        low, high = rank - tol, rank + tol
    elif "rank_tolerance" in table:
        raise err("rank_tolerance", "needs rank; add rank = <observed rank>")
    if low is not None:
        if high < low or high < 1 or low > nc:
            raise err(
                "rank",
                f"accepts ranks {low}–{high}, impossible among the model's {nc} countries; "
                f"use ranks within 1–{nc}",
            )
        low, high = max(low, 1), min(high, nc)
    return low, high


def _score_kernel(table, err) -> tuple[float | None, float | None]:
    """The observed score and the width of its Gaussian kernel, or (None, None)."""
    if "score" not in table and "score_sd" not in table:
        return None, None
    score, sd = table.get("score"), table.get("score_sd")
    for key, v in (("score", score), ("score_sd", sd)):
        if not finite_number(v):
            raise err(key, f"needs a finite number, got {v!r}; give score and score_sd")
    if not sd > 0:
        raise err("score_sd", f"must be > 0, got {sd!r}")
    return float(score), float(sd)


def ess_warning(ess: float, draws: int) -> str | None:
    """A warning text when the effective sample size is too small to trust, else None."""
    if ess < max(ESS_WARNING_MIN, ESS_WARNING_FRACTION * draws) and ess < draws:
        return (
            f"effective sample size {ess:,.0f} of {draws:,} draws is small: the conditioned "
            "probabilities are imprecise; run more draws (-n), loosen rank_tolerance/score_sd, "
            "or drop observations the model cannot reproduce (see `g3sim calibrate`)"
        )
    return None
