"""History matching on the Gaussian race, against closed-form conditional probabilities.

Weighted estimates have standard error sqrt(p (1 - p) / ESS) (Kish effective sample size); each
check allows 4.5 of them.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import integrate, stats

from simulator import run
from simulator.engine.history import ess_warning
from simulator.errors import ConfigError, HistoryError
from simulator.models.gaussian_race import exact_rank_distribution, poisson_binomial
from tests.helpers.scenarios import FIVE, gaussian_scenario, strip_timing

MEANS = np.array([m for m, _ in FIVE.values()])
SDS = np.array([s for _, s in FIVE.values()])
KOR = 4


def _check(p_hat, p, ess):
    assert abs(p_hat - p) <= 4.5 * np.sqrt(p * (1 - p) / ess) + 1e-12, (p_hat, p, ess)


def test_conditioning_on_own_rank_range_truncates_the_distribution():
    """P(rank ≤ 2 | rank ≤ 3) = P(rank ≤ 2) / P(rank ≤ 3)."""
    obs = [{"year": 2030, "country": "KOR", "metric": "score", "rank_range": [1, 3]}]
    sc = gaussian_scenario(FIVE, draws=80_000, seed=21, top_k=2)
    ds = run(_with_obs(sc, obs))
    exact = exact_rank_distribution(MEANS, SDS, KOR)
    p = exact[:2].sum() / exact[:3].sum()
    ess = float(ds["effective_sample_size"])
    # Rejection weights are 0/1, so the ESS is the number of accepted draws ~ Binomial(n, q),
    # q = P(rank ≤ 3): relative standard error sqrt((1 - q) / (n q)); allow 4.5 of them.
    q = exact[:3].sum()
    assert ess == pytest.approx(80_000 * q, rel=4.5 * np.sqrt((1 - q) / (80_000 * q)))
    _check(float(ds["p_top"].sel(metric="score", year=2030, country="KOR")), p, ess)
    # The backtest probability of the observation is its unconditional probability: a
    # fraction of 80,000 draws, binomial SE √(q(1 − q)/80,000) = 0.0013; 4.5 SE.
    se_q = np.sqrt(q * (1 - q) / 80_000)
    assert float(ds["observation_probability"][0]) == pytest.approx(q, abs=4.5 * se_q)


def test_rank_tolerance_is_a_symmetric_range():
    obs = [{"year": 2030, "country": "KOR", "metric": "score", "rank": 4, "rank_tolerance": 1}]
    ds = run(_with_obs(gaussian_scenario(FIVE, draws=40_000, seed=3), obs))
    exact = exact_rank_distribution(MEANS, SDS, KOR)
    p = exact[2] / exact[2:5].sum()  # P(rank = 3 | 3 ≤ rank ≤ 5), top_k = 3
    _check(
        float(ds["p_top"].sel(metric="score", year=2030, country="KOR")),
        p,
        float(ds["effective_sample_size"]),
    )


def test_score_observation_matches_quadrature():
    """Gaussian-kernel weights on the focus score: a 1-D integral gives the exact answer."""
    obs_score, obs_sd = 36.0, 2.0
    obs = [
        {"year": 2030, "country": "KOR", "metric": "score", "score": obs_score, "score_sd": obs_sd}
    ]
    ds = run(_with_obs(gaussian_scenario(FIVE, draws=80_000, seed=8), obs))
    others = np.arange(5) != KOR

    def joint(x, with_event):
        dens = stats.norm.pdf(x, MEANS[KOR], SDS[KOR]) * np.exp(
            -0.5 * ((x - obs_score) / obs_sd) ** 2
        )
        if with_event:
            dens *= poisson_binomial(stats.norm.sf(x, MEANS[others], SDS[others]))[:3].sum()
        return dens

    lo, hi = MEANS[KOR] - 12 * SDS[KOR], MEANS[KOR] + 12 * SDS[KOR]
    num = integrate.quad(joint, lo, hi, args=(True,), points=[obs_score, 33, 35], limit=200)[0]
    den = integrate.quad(joint, lo, hi, args=(False,), points=[obs_score], limit=200)[0]
    _check(
        float(ds["p_top"].sel(metric="score", year=2030, country="KOR")),
        num / den,
        float(ds["effective_sample_size"]),
    )


def test_observation_in_an_independent_year_does_not_move_the_answer():
    obs = [{"year": 2025, "country": "KOR", "metric": "score", "rank_range": [3, 5]}]
    sc = _with_obs(gaussian_scenario(FIVE, draws=40_000, seed=5, years=(2030,)), obs)
    ds = run(sc)
    assert list(ds["year"].values) == [2030]  # the observed year is simulated, not reported
    exact = exact_rank_distribution(MEANS, SDS, KOR)[:3].sum()
    _check(
        float(ds["p_top"].sel(metric="score", country="KOR", year=2030)),
        exact,
        float(ds["effective_sample_size"]),
    )


def test_weights_and_ess_do_not_depend_on_the_block_layout():
    obs = [{"year": 2030, "country": "SGP", "metric": "score", "rank": 3}]  # p ≈ 0.4
    sc = _with_obs(gaussian_scenario(FIVE, draws=6_000, seed=2, block_size=1024), obs)
    one, two = run(sc, workers=1), run(sc, workers=2)
    xr.testing.assert_identical(strip_timing(one), strip_timing(two))
    assert "weight" in one and float(one["effective_sample_size"]) < 6_000


def test_no_history_ignores_observations():
    obs = [{"year": 2030, "country": "KOR", "metric": "score", "rank_range": [1, 3]}]
    sc = _with_obs(gaussian_scenario(FIVE, draws=2_000, seed=1), obs)
    ds = run(sc, history=False)
    assert float(ds["effective_sample_size"]) == 2_000
    assert ds.attrs["conditioned"] == 0 and "observations" not in ds.attrs["scenario_toml"]


@pytest.mark.parametrize(
    ("obs", "match"),
    [
        ({"year": 2030, "country": "XXX", "rank": 1}, r"observations\[0\]\.country"),
        ({"year": 2030, "country": "KOR", "rank": 9}, r"observations\[0\]\.rank: .*impossible"),
        ({"year": 2030, "country": "KOR", "rank": 0}, r"impossible"),
        ({"year": 2030, "country": "KOR", "metric": "gdp", "rank": 1}, r"unknown metric"),
        ({"year": 2030, "country": "KOR"}, r"observes nothing"),
        ({"year": 2030, "country": "KOR", "score": 3}, r"score_sd"),
        ({"year": 2030, "country": "KOR", "rank": 1, "rank_range": [1, 2]}, r"not both"),
        ({"country": "KOR", "rank": 1}, r"observations\[0\]\.year"),
        ({"year": 2030, "country": "KOR", "rank": 1, "rnak": 2}, r"did you mean 'rank'"),
    ],
)
def test_bad_observations_are_config_errors(obs, match):
    with pytest.raises(ConfigError, match=match):
        run(_with_obs(gaussian_scenario(FIVE, draws=100, seed=1), [obs]))


def test_an_observation_no_draw_reproduces_is_a_clear_error():
    # USA (mean 100, sd 2) ranked last: possible in principle, never in 1,000 draws.
    obs = [{"year": 2030, "country": "USA", "metric": "score", "rank": 5}]
    with pytest.raises(HistoryError, match="no draw out of 1,000 agrees"):
        run(_with_obs(gaussian_scenario(FIVE, draws=1_000, seed=1), obs))


def test_ess_warning_threshold():
    assert ess_warning(100_000, 100_000) is None
    assert "effective sample size 500" in ess_warning(500, 100_000)


def _with_obs(sc, observations):
    from simulator.scenario import scenario_from_dict

    data = dict(sc.data)
    data["observations"] = observations
    return scenario_from_dict(data, source="<test>")


def test_soft_rank_and_ranking_likelihoods():
    from simulator.engine.history import parse_observations

    raw = [
        {"year": 2030, "country": "KOR", "metric": "score", "rank": 2, "rank_sd": 1.0},
        {"year": 2030, "metric": "score", "ranking": ["USA", "CHN"], "ranking_sd": 1.0},
    ]
    countries = ("USA", "CHN", "KOR")
    soft, ranking = parse_observations(raw, source="<t>", countries=countries, metrics=("score",))
    x = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])  # KOR 3rd, then 1st
    # A rank one place from the observed one: exp(-1/2) of the weight of an exact one.
    np.testing.assert_allclose(soft.likelihood(x, 2), [np.exp(-0.5), np.exp(-0.5)])
    assert ranking.country == "USA" and "USA>CHN" in ranking.label
    lik = ranking.likelihood(x, 0)
    z = 1 / np.sqrt(2)  # score gaps of 1 with noise sd 1 on each score
    # Row 0: USA > CHN (gap 1) and CHN beats the rest (gap 1); row 1: both reversed by 1.
    np.testing.assert_allclose(lik, [stats.norm.cdf(z) ** 2, stats.norm.cdf(-z) ** 2])


@pytest.mark.parametrize(
    ("obs", "match"),
    [
        ({"year": 2030, "ranking": ["KOR"], "ranking_sd": 1.0}, r"two or more"),
        ({"year": 2030, "ranking": ["KOR", "XXX"], "ranking_sd": 1.0}, r"'XXX' is not"),
        ({"year": 2030, "ranking": ["KOR", "KOR"], "ranking_sd": 1.0}, r"twice"),
        ({"year": 2030, "ranking": ["KOR", "USA"]}, r"ranking_sd"),
        ({"year": 2030, "country": "KOR", "rank": 1, "rank_sd": 0}, r"rank_sd"),
        ({"year": 2030, "country": "KOR", "rank_sd": 1}, r"needs rank"),
    ],
)
def test_bad_soft_observations_are_config_errors(obs, match):
    with pytest.raises(ConfigError, match=match):
        run(_with_obs(gaussian_scenario(FIVE, draws=100, seed=1), [obs]))


def test_ranking_scores_are_matched_on_the_editions_own_affine_scale():
    from simulator.engine.history import parse_observations

    raw = [
        {
            "year": 2030,
            "metric": "score",
            "ranking": ["USA", "CHN", "KOR"],
            "ranking_sd": 1.0,
            "ranking_is_top": False,
            "scores": [100.0, 60.0, 40.0],
            "score_sd": 2.0,
        }
    ]
    (obs,) = parse_observations(
        raw, source="<t>", countries=("USA", "CHN", "KOR"), metrics=("score",)
    )
    # Row 0 is an affine image of the published scores (p = 2x − 100): residuals 0. Row 1 puts
    # CHN midway, where the best affine fit leaves residuals (−10/3, 20/3, −10/3)/2 sd units.
    x = np.array([[100.0, 80.0, 70.0], [100.0, 70.0, 40.0]])
    ll = obs.score_log_likelihood(x)
    assert ll[0] == pytest.approx(0.0, abs=1e-12)
    assert ll[1] == pytest.approx(-0.5 * (100 / 9 + 400 / 9 + 100 / 9) / 4)


def test_observation_noise_scale_multiplies_every_noise_sd():
    """``[scenario] observation_noise_scale = s`` is the same run as every sd written × s."""
    base = gaussian_scenario(FIVE, draws=2048, seed=3)
    obs = [
        {"year": 2030, "country": "KOR", "rank": 2, "rank_sd": 1.0},
        {
            "year": 2030,
            "ranking": ["USA", "CHN"],
            "ranking_sd": 2.0,
            "scores": [90, 80],
            "score_sd": 4.0,
        },
    ]
    halved = [
        {**obs[0], "rank_sd": 0.5},
        {**obs[1], "ranking_sd": 1.0, "score_sd": 2.0},
    ]
    scaled = run(_with_obs(base, obs).with_updates(observation_noise_scale=0.5))
    written = run(_with_obs(base, halved))
    plain = run(_with_obs(base, obs))
    np.testing.assert_array_equal(scaled["p_top"].values, written["p_top"].values)
    assert not np.array_equal(scaled["p_top"].values, plain["p_top"].values)
    assert scaled.attrs["observation_noise_scale"] == 0.5
    assert plain.attrs["observation_noise_scale"] == 1.0


def test_a_scaled_sd_that_overflows_is_a_config_error():
    sc = _with_obs(
        gaussian_scenario(FIVE, draws=100, seed=1),
        [{"year": 2030, "country": "KOR", "rank": 1, "rank_sd": 1e306}],
    ).with_updates(observation_noise_scale=1000)
    with pytest.raises(
        ConfigError, match=r"rank_sd: 1e\+306 times \[scenario\] observation_noise_scale"
    ):
        run(sc)
