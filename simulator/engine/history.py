"""Conditioning on observed history (history matching by likelihood weighting).

A scenario lists what is already known as ``[[observations]]``::

    [[observations]]
    year = 2025
    country = "KOR"
    metric = "ai_index"       # default: the model's first metric
    rank = 5                  # the observed rank ...
    rank_tolerance = 1        # ... accepted within ± this many places (default 0)
    # rank_range = [4, 6]     # or an explicit inclusive range instead of rank/rank_tolerance
    # rank_sd = 1.0           # or a soft rank: observed = simulated rank + noise of this sd
    # score = 27.26           # and/or an observed score,
    # score_sd = 3.0          #    matched with a Gaussian kernel of this width
    source = "https://..."

    [[observations]]          # a published ordering (an edition's top-N list), best first
    year = 2024
    ranking = ["USA", "CHN", "SGP", "GBR", "FRA", "KOR"]
    ranking_sd = 2.0          # edition noise on each published score [the metric's units]
    ranking_is_top = true     # the list is the edition's top N (default): it outranks the rest
    scores = [100, 53.88, 32.32, 29.85, 28.09, 27.26]   # optional: the first countries' scores
    score_sd = 1.0            # ... = a + b · model score + noise, (a, b) the edition's own map

Each draw gets the weight ``w = Π_j L_j``. A rank window gives ``L_j`` 1 when the simulated
rank lies in the accepted range and 0 otherwise (rejection, as in approximate Bayesian
computation); a soft rank ``exp(-½ ((rank - observed) / rank_sd)²)``; a score
``exp(-½ ((score - observed) / score_sd)²)`` (published score = model score + edition noise).

A ranking is the published order of countries ``c_1, …, c_m`` whose published scores are the
model's scores plus independent edition noise ``N(0, ranking_sd²)``. Its likelihood is the
composite (pairwise) likelihood of the adjacent orderings,
``Π_i Φ((x_{c_i} − x_{c_{i+1}}) / (√2 σ))``, times, for a top-N list, the probability that its
last country beats the best unlisted one, ``Φ((x_{c_m} − max_{other} x) / (√2 σ))``. It
tolerates methodology change: two countries a point apart are ordered either way with
comparable weight, while a country ten points out of place is all but excluded. Published
``scores`` of its first countries add ``Π_i exp(-½ (r_i / score_sd)²)`` with residuals
``r_i = p_i − (a + b x_{c_i})``: each edition rescales its index among its own countries (62
in 2021, 83 in 2024) and re-weights it, so the affine map ``(a, b)`` is the edition's own,
fitted per draw by least squares (a profile likelihood); the pattern of the gaps between the
published scores is what counts.

Every reported probability, interval and quantile is then weighted: it is conditional on the
observations. Intervals use Kish's effective sample size ``(Σw)² / Σw²`` in place of the number
of draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import log_ndtr

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
    "rank_sd",
    "score",
    "score_sd",
    "source",
    "note",
)
RANKING_KEYS = (
    "year",
    "metric",
    "ranking",
    "ranking_sd",
    "ranking_is_top",
    "scores",
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
    rank_sd: float | None = None  # a soft rank: rank_low == rank_high is the observed rank

    def likelihood(self, x: np.ndarray, country_index: int) -> np.ndarray:
        """``L`` for each draw, from the scores ``x`` (n, country) of this year and metric."""
        n = x.shape[0]
        lik = np.ones(n)
        if self.rank_low is not None:
            rank = focus_ranks(x, country_index)
            if self.rank_sd is None:
                lik *= (rank >= self.rank_low) & (rank <= self.rank_high)
            else:
                z = (rank - self.rank_low) / self.rank_sd
                lik *= np.exp(-0.5 * z * z)
        if self.score is not None:
            # Far from the score (or with a tiny score_sd) z² overflows to inf: weight 0.
            with np.errstate(over="ignore"):
                z = (x[:, country_index] - self.score) / self.score_sd
                lik *= np.exp(-0.5 * z * z)
        return lik


@dataclass(frozen=True)
class RankingObservation:
    """A published ordering of ``countries`` (best first) with edition noise ``sd`` on scores.

    ``country`` is the first listed country (the engine passes its index, which is not used).
    """

    year: int
    metric: str
    countries: tuple[str, ...]
    indices: tuple[int, ...]
    sd: float
    is_top: bool
    source: str
    label: str
    scores: tuple[float, ...] = ()  # published scores of the first len(scores) countries
    score_sd: float | None = None

    @property
    def country(self) -> str:
        return self.countries[0]

    def score_log_likelihood(self, x: np.ndarray) -> np.ndarray:
        """Published scores ``p = a + b x + noise``, ``(a, b)`` the edition's own affine map
        (fitted per draw by least squares: later editions rescale among more countries and
        re-weight), the noise ``N(0, score_sd²)``; the log-likelihood at the fitted map (a
        profile likelihood: only the pattern of the gaps counts)."""
        k = len(self.scores)
        xm = x[:, list(self.indices[:k])]
        pub = np.asarray(self.scores)
        xc = xm - xm.mean(axis=1, keepdims=True)
        pc = pub - pub.mean()
        b = (xc @ pc) / np.maximum(np.einsum("nk,nk->n", xc, xc), 1e-12)
        r = (pc[None, :] - b[:, None] * xc) / self.score_sd
        return -0.5 * np.einsum("nk,nk->n", r, r)

    def likelihood(self, x: np.ndarray, country_index: int) -> np.ndarray:
        """``L`` for each draw from the scores ``x`` (n, country); ``country_index`` unused."""
        del country_index
        listed = x[:, list(self.indices)]
        scale = np.sqrt(2.0) * self.sd
        log_l = log_ndtr((listed[:, :-1] - listed[:, 1:]) / scale).sum(axis=1)
        if self.is_top and x.shape[1] > len(self.indices):
            rest = np.delete(x, list(self.indices), axis=1).max(axis=1)
            log_l += log_ndtr((listed[:, -1] - rest) / scale)
        if self.scores:
            log_l += self.score_log_likelihood(x)
        return np.exp(log_l)


def parse_observations(
    raw: Sequence[Mapping[str, Any]],
    *,
    source: str,
    countries: Sequence[str],
    metrics: Sequence[str],
    noise_scale: float = 1.0,
) -> tuple[Observation, ...]:
    """Validate ``[[observations]]`` against the model's countries and metrics.

    ``noise_scale`` (the scenario's ``observation_noise_scale``) multiplies every noise sd
    (:data:`NOISE_SDS`); hard rank windows are unchanged.
    """
    if len(raw) > MAX_OBSERVATIONS:
        raise ConfigError(
            f"{len(raw):,} observations, more than {MAX_OBSERVATIONS:,}; keep the informative "
            "ones (each is checked in every draw)",
            source=source,
            key="observations",
        )
    out: list[Observation | RankingObservation] = []
    for i, table in enumerate(raw):
        where = f"observations[{i}]"

        def err(key: str | None, msg: str, where: str = where) -> ConfigError:
            return ConfigError(msg, source=source, key=f"{where}.{key}" if key else where)

        if noise_scale != 1.0:
            table = _scaled(table, noise_scale, err)
        parse = _parse_ranking if "ranking" in table else _parse_one
        out.append(parse(table, err, countries, metrics))
    return tuple(out)


#: The noise sds of an observation, multiplied by the scenario's ``observation_noise_scale``.
NOISE_SDS = ("ranking_sd", "score_sd", "rank_sd")


def _scaled(table: Mapping[str, Any], scale: float, err) -> Mapping[str, Any]:
    """``table`` with its positive, finite noise sds times ``scale`` (anything else is left for
    the parser to report, in the user's own words)."""
    out = dict(table)
    for key in NOISE_SDS:
        v = table.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < np.inf:
            continue
        scaled = float(v) * scale
        if not 0 < scaled < np.inf:
            raise err(
                key,
                f"{v!r} times [scenario] observation_noise_scale {scale:g} is {scaled!r}, not "
                "a usable sd; use a value nearer 1 for either",
            )
        out[key] = scaled
    return out


def _year_and_metric(table, err, metrics: Sequence[str]) -> tuple[int, str]:
    year = table.get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        raise err("year", f"needs a whole year, got {year!r}; add year = 2025")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise err("year", f"must lie between {MIN_YEAR} and {MAX_YEAR}, got {year}")
    metric = table.get("metric", metrics[0])
    if metric not in metrics:
        raise err(
            "metric",
            f"unknown metric {metric!r}{did_you_mean(str(metric), metrics)}; use one of "
            + ", ".join(metrics),
        )
    return year, metric


def _parse_ranking(table, err, countries: Sequence[str], metrics: Sequence[str]):
    """One ``[[observations]]`` table with ``ranking`` (a published ordering)."""
    for key in table:
        if key not in RANKING_KEYS:
            raise err(
                key,
                f"unknown key of a ranking{did_you_mean(key, RANKING_KEYS)}; allowed: "
                + ", ".join(RANKING_KEYS),
            )
    year, metric = _year_and_metric(table, err, metrics)
    ranking = table["ranking"]
    if not isinstance(ranking, list) or len(ranking) < 2:
        raise err("ranking", f"must list two or more countries, best first, got {ranking!r}")
    for c in ranking:
        if c not in countries:
            raise err(
                "ranking",
                f"{c!r} is not a country of the model{did_you_mean(str(c), countries)}; use "
                "ISO alpha-3 codes of the model's countries",
            )
    if len(set(ranking)) != len(ranking):
        raise err("ranking", "lists a country twice; list each once, best first")
    sd = table.get("ranking_sd")
    if not finite_number(sd) or not sd > 0:
        raise err("ranking_sd", f"needs a number > 0 (edition noise on scores), got {sd!r}")
    is_top = table.get("ranking_is_top", True)
    if not isinstance(is_top, bool):
        raise err("ranking_is_top", f"must be true or false, got {is_top!r}")
    src = table.get("source", "")
    if not isinstance(src, str):
        raise err("source", f"must be a text, got {src!r}")
    scores, score_sd = _ranking_scores(table, err, len(ranking))
    what = "top" if is_top else "order"
    label = f"{metric} {year}: {what} {'>'.join(ranking)} (sd {float(sd):g})"
    if scores:
        label += f", {len(scores)} scores (sd {score_sd:g})"
    idx = tuple(list(countries).index(c) for c in ranking)
    return RankingObservation(
        year, metric, tuple(ranking), idx, float(sd), is_top, src, label, scores, score_sd
    )


def _ranking_scores(table, err, m: int) -> tuple[tuple[float, ...], float | None]:
    """A ranking's published ``scores`` (of its first countries) and their ``score_sd``."""
    if "scores" not in table:
        if "score_sd" in table:
            raise err("score_sd", "needs scores; add scores = [the published scores, best first]")
        return (), None
    scores = table["scores"]
    if (
        not isinstance(scores, list)
        or not 2 <= len(scores) <= m
        or not all(finite_number(v) for v in scores)
    ):
        raise err("scores", f"must list 2 to {m} numbers (the first countries' scores)")
    sd = table.get("score_sd")
    if not finite_number(sd) or not sd > 0:
        raise err("score_sd", f"needs a number > 0 (edition noise on scores), got {sd!r}")
    return tuple(float(v) for v in scores), float(sd)


def _parse_one(table, err, countries: Sequence[str], metrics: Sequence[str]) -> Observation:
    """One ``[[observations]]`` table; ``err(key, message)`` makes its ConfigError."""
    for key in table:
        if key not in OBSERVATION_KEYS:
            raise err(
                key,
                f"unknown key{did_you_mean(key, OBSERVATION_KEYS)}; allowed: "
                + ", ".join(OBSERVATION_KEYS),
            )
    year, metric = _year_and_metric(table, err, metrics)
    country = table.get("country")
    if country not in countries:
        raise err(
            "country",
            f"{country!r} is not a country of the model{did_you_mean(str(country), countries)}"
            "; use an ISO alpha-3 code of the model's countries",
        )
    low, high, rank_sd = _rank_window(table, err, len(countries))
    score, sd = _score_kernel(table, err)
    if low is None and score is None:
        raise err(None, "observes nothing; give rank (or rank_range) and/or score")
    src = table.get("source", "")
    if not isinstance(src, str):
        raise err("source", f"must be a text, got {src!r}")
    what = []
    if rank_sd is not None:
        what.append(f"rank {low}±{rank_sd:g} (soft)")
    elif low is not None:
        what.append(f"rank {low}" if low == high else f"rank {low}–{high}")
    if score is not None:
        what.append(f"score {score:g}±{sd:g}")
    label = f"{country} {metric} {year}: {' & '.join(what)}"
    return Observation(year, country, metric, low, high, score, sd, src, label, rank_sd)


def _rank_window(table, err, nc: int) -> tuple[int | None, int | None, float | None]:
    """The accepted ranks (lowest, highest) within 1..nc, or (None, None) without a rank; and
    ``rank_sd`` for a soft rank (lowest == highest == the observed rank)."""
    low = high = None
    if "rank_range" in table:
        if "rank" in table or "rank_tolerance" in table or "rank_sd" in table:
            raise err(
                "rank_range", "give rank (with rank_tolerance or rank_sd) or rank_range, not both"
            )
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
    elif "rank_tolerance" in table or "rank_sd" in table:
        key = "rank_tolerance" if "rank_tolerance" in table else "rank_sd"
        raise err(key, "needs rank; add rank = <observed rank>")
    rank_sd = _rank_sd(table, err)
    if low is not None:
        if high < low or high < 1 or low > nc:
            raise err(
                "rank",
                f"accepts ranks {low}–{high}, impossible among the model's {nc} countries; "
                f"use ranks within 1–{nc}",
            )
        if rank_sd is None:
            low, high = max(low, 1), min(high, nc)
    return low, high, rank_sd


def _rank_sd(table, err) -> float | None:
    if "rank_sd" not in table:
        return None
    if "rank_tolerance" in table:
        raise err("rank_sd", "give rank_tolerance (a hard window) or rank_sd (soft), not both")
    sd = table["rank_sd"]
    if not finite_number(sd) or not sd > 0:
        raise err("rank_sd", f"needs a number > 0 (the sd of the observed rank), got {sd!r}")
    return float(sd)


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
