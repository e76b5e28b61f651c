"""Sequential Monte Carlo conditioning (engine/smc.py) against rejection and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import tomli_w

import simulator as g3
from simulator.engine.smc import eve_sums, systematic_resample, top_indicator
from simulator.models import build_model
from simulator.models.gaussian_race import conditioned_rank_distribution
from simulator.sampling import Streams, sample_factors
from simulator.scenario import load_scenario, scenario_from_dict
from tests.helpers.scenarios import CONFIGS, FIVE, gaussian_dict

Z45 = 4.5  # tolerance in (combined) standard errors: a false alarm once in ~150,000 checks


def persistent_race(*, draws=40_000, seed=1, observations=(), rho=0.8, **sc):
    doc = gaussian_dict(FIVE, draws=draws, seed=seed, years=[2026, 2030], block_size=4096, **sc)
    doc["model"]["persistence"] = rho
    doc["observations"] = list(observations)
    return scenario_from_dict(doc, source="<test>")


KOR_SCORE_2026 = {"year": 2026, "country": "KOR", "score": 40.0, "score_sd": 3.0}
KOR_RANK_2026 = {"year": 2026, "country": "KOR", "rank": 3}  # P ≈ 0.3


def closed_form(score_sd: float) -> float:
    """P(KOR top 3 in 2030) of :func:`persistent_race` given KOR's 2026 score observed as 40."""
    means, sds = zip(*FIVE.values(), strict=True)
    return conditioned_rank_distribution(
        means, sds, 4, persistence=0.8, years_ahead=4, score=40.0, score_sd=score_sd
    )[:3].sum()


def half_se(ds, year=2030):
    """The run's p_top and its standard error, from the 95% Wilson interval's half-width."""
    sel = ds.sel(metric="score", year=year, country="KOR")
    half = float(sel["p_top_upper"] - sel["p_top_lower"]) / 2
    return float(sel["p_top"]), half / 1.959964


# -- resampling -----------------------------------------------------------------------------


def test_systematic_resampling_copies_each_particle_floor_or_ceil_of_n_w():
    rng = np.random.default_rng(3)
    w = rng.exponential(size=1000) * (rng.random(1000) < 0.7)
    for u in (0.0, 0.3, 0.999999):
        idx = systematic_resample(w, u)
        counts = np.bincount(idx, minlength=len(w))
        expect = len(w) * w / w.sum()
        assert np.all(counts >= np.floor(expect) - 1e-9) and np.all(counts <= np.ceil(expect))
        assert counts[w == 0].sum() == 0 and counts.sum() == len(w)


def test_top_indicator_matches_the_rank_definition_with_ties():
    x = np.array([[3.0, 1.0, 3.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    # rank = 1 + #strictly higher: row 0 ranks 1, 4, 1, 3; row 1 all rank 1.
    np.testing.assert_array_equal(top_indicator(x, 2), [[1, 0, 1, 0], [1, 1, 1, 1]])


def test_eve_sums_without_resampling_are_the_delta_method_sums():
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(50, 2, 4))]
    w = rng.random(50)
    s_aa, s_ab, s_bb = eve_sums(x, w, None, 2)
    h = top_indicator(x[0][:, 1, :], 2)
    np.testing.assert_allclose(s_aa[0, 1], (w[:, None] ** 2 * h).sum(axis=0))
    np.testing.assert_allclose(s_ab[0, 1], s_aa[0, 1])
    assert s_bb == pytest.approx(np.dot(w, w))
    # One Eve for everything: a single group's squared sums.
    s_aa, _, s_bb = eve_sums(x, w, np.zeros(50, dtype=int), 2)
    np.testing.assert_allclose(s_aa[0, 1], (w[:, None] * h).sum(axis=0) ** 2)
    assert s_bb == pytest.approx(w.sum() ** 2)


# -- the stepping form --------------------------------------------------------------------


def _ai_race_steppers(sets=()):
    sc = load_scenario(CONFIGS / "baseline.toml", list(sets)).with_updates(
        years=[2024, 2030], seed=3
    )
    model = build_model(sc)
    n = 700  # two chunks of the model's stepping
    f = sample_factors(
        sc.factors, sc.correlation, design="mc", seed=3, block=0, n=n, block_size=16384
    )
    return [model.start(f, Streams(3, 0).child("model"), n) for _ in range(2)], n


def test_ai_race_take_moves_every_per_draw_quantity_with_the_particle():
    # Without yearly noise the future is a function of each draw's static quantities (drifts,
    # GPU bases and programmes, investment and reform draws): a particle copied at 2024 must
    # reach in 2030 exactly the scores its ancestor reaches.
    (a, b), n = _ai_race_steppers(["model.volatility=0"])
    idx = np.random.default_rng(1).integers(0, n, n)
    a.advance(2024)
    b.advance(2024)
    a.take(idx)
    got, want = a.advance(2030), b.advance(2030)
    for metric in ("ai_index", "gpu_stock"):
        np.testing.assert_array_equal(got[metric], want[metric][idx])


def test_ai_race_take_of_the_identity_changes_nothing():
    (a, b), n = _ai_race_steppers()
    a.advance(2024)
    b.advance(2024)
    a.take(np.arange(n))
    for metric, x in a.advance(2030).items():
        np.testing.assert_array_equal(x, b.advance(2030)[metric] if metric == "ai_index" else x)


def test_a_model_without_the_stepping_form_conditions_by_rejection_and_says_so(
    tmp_path, monkeypatch
):
    from click.testing import CliRunner

    from simulator.cli import main
    from tests.helpers.toy_models import LinearRace, linear_dict, register_model

    register_model(monkeypatch, "linear_race", LinearRace)
    doc = linear_dict(draws=4000)
    doc["observations"] = [{"year": 2029, "country": "KOR", "rank": 3}]
    path = tmp_path / "linear.toml"
    path.write_text(tomli_w.dumps(doc))
    res = CliRunner().invoke(main, ["run", str(path), "-q", "-o", str(tmp_path / "o.nc")])
    assert res.exit_code == 0, res.output
    notes = [line for line in res.stderr.splitlines() if "stepping form" in line]
    assert len(notes) == 1 and "by rejection" in notes[0]
    assert g3.open_results(tmp_path / "o.nc").attrs["conditioning"] == "rejection"
    # A model that can step uses SMC by default; --conditioning rejection is then a choice.
    sc = persistent_race(draws=4096, observations=[KOR_RANK_2026])
    assert g3.run(sc).attrs["conditioning"] == "smc"
    assert g3.run(sc, conditioning="rejection").attrs["conditioning"] == "rejection"


# -- SMC against references ---------------------------------------------------------------


def test_persistent_gaussian_race_with_a_score_observation_matches_the_closed_form():
    sc = persistent_race(observations=[KOR_SCORE_2026])
    ds = g3.run(sc)
    assert ds.attrs["conditioning"] == "smc"
    exact = closed_form(score_sd=3.0)
    p, se = half_se(ds)
    assert abs(p - exact) <= Z45 * se, (p, exact, se)
    # The observation matters: unconditioned, KOR is top 3 far less often.
    from simulator.models.gaussian_race import exact_rank_distribution

    means, sds = zip(*FIVE.values(), strict=True)
    assert exact > exact_rank_distribution(means, sds, 4)[:3].sum() + 0.1


def test_smc_and_rejection_agree_on_a_rank_observation():
    sc = persistent_race(observations=[KOR_RANK_2026])
    smc = g3.run(sc)
    rej = g3.run(sc, conditioning="rejection", seed=2)
    (p1, se1), (p2, se2) = half_se(smc), half_se(rej)
    assert abs(p1 - p2) <= Z45 * np.hypot(se1, se2), (p1, p2, se1, se2)
    assert smc.attrs["conditioning"] == "smc" and rej.attrs["conditioning"] == "rejection"


def test_smc_on_the_baseline_agrees_with_rejection():
    sc = load_scenario(CONFIGS / "baseline.toml")
    smc = g3.run(sc, draws=32_768, seed=11, keep_draws=False)
    rej = g3.run(sc, draws=65_536, seed=12, keep_draws=False, conditioning="rejection")
    for metric in ("ai_index", "gpu_stock"):
        a = smc.sel(metric=metric, year=2030, country="KOR")
        b = rej.sel(metric=metric, year=2030, country="KOR")
        se = [float(x["p_top_upper"] - x["p_top_lower"]) / 2 / 1.959964 for x in (a, b)]
        assert abs(float(a["p_top"]) - float(b["p_top"])) <= Z45 * np.hypot(*se)


@pytest.mark.slow
def test_smc_intervals_cover_the_closed_form_at_the_nominal_rate():
    # 40 seeds of 8,192 draws (2 blocks of 4,096 particles) against the exact answer. With
    # honest intervals the number covering is Binomial(40, 0.95): mean 38, sd 1.38; fewer than
    # 34 (3 sd below) would say the intervals are too narrow. A coverage of 40/40 is allowed.
    exact = closed_form(score_sd=3.0)
    covered = 0
    for seed in range(40):
        ds = g3.run(persistent_race(draws=8192, seed=seed, observations=[KOR_SCORE_2026]))
        sel = ds.sel(metric="score", year=2030, country="KOR")
        covered += float(sel["p_top_lower"]) <= exact <= float(sel["p_top_upper"])
    assert covered >= 34, covered


def test_same_seed_same_file_for_any_worker_count_with_smc():
    sc = persistent_race(draws=20_000, observations=[KOR_RANK_2026], keep_draws=True)
    one = g3.run(sc, workers=1)
    two = g3.run(sc, workers=2)
    for ds in (one, two):
        ds.attrs.pop("elapsed_s", None)
    assert one.attrs["conditioning"] == "smc"
    np.testing.assert_array_equal(one["weight"].values, two["weight"].values)
    np.testing.assert_array_equal(one["p_top"].values, two["p_top"].values)
    np.testing.assert_array_equal(one["ancestor"].values, two["ancestor"].values)


def test_growing_draws_keeps_the_earlier_full_blocks_with_smc():
    small = g3.run(persistent_race(draws=8192, observations=[KOR_RANK_2026], keep_draws=True))
    big = g3.run(persistent_race(draws=12_288, observations=[KOR_RANK_2026], keep_draws=True))
    for name in ("focus_rank", "weight", "ancestor"):
        np.testing.assert_array_equal(small[name].values, big[name].values[:8192])


def test_the_kept_population_is_the_conditioned_one():
    sc = persistent_race(draws=8192, observations=[KOR_RANK_2026], keep_draws=True)
    ds = g3.run(sc)
    w = ds["weight"].values
    r = ds["focus_rank"].sel(metric="score", year=2026).values
    # Every particle has weight after the last resampling, and all reproduce the observation.
    assert np.all(w > 0) and np.all(r == 3)
    assert len(np.unique(ds["ancestor"].values)) < len(w)  # copies share an ancestor


# -- rejuvenating moves -------------------------------------------------------------------


def test_moves_leave_the_conditioned_answer_unchanged():
    # Many moves: a kernel that did not leave the conditioned distribution invariant would
    # drift away from the closed form.
    sc = persistent_race(observations=[KOR_SCORE_2026], smc_moves=6)
    ds = g3.run(sc)
    rates = ds["move_acceptance"].values
    assert ds.attrs["smc_moves"] == 6 and len(rates) == 18  # factors, streams, free
    assert np.all((rates > 0.05) & (rates <= 1.0))
    exact = closed_form(score_sd=3.0)
    p, se = half_se(ds)
    assert abs(p - exact) <= Z45 * se, (p, exact, se)


def test_moves_diversify_the_copies_factor_values_on_the_baseline():
    sc = load_scenario(CONFIGS / "baseline.toml")
    still = g3.run(sc, draws=4096, seed=4, keep_draws=True, smc_moves=0)
    moved = g3.run(sc, draws=4096, seed=4, keep_draws=True)
    assert moved.attrs["smc_moves"] == 2
    # ai_race declares its GPU draws unseen by index observations up to 2025; the refresh of
    # those draws passes the Metropolis-Hastings test every time, which checks the declaration.
    assert float(moved["move_acceptance"].sel(move="1:free")) == 1.0

    def distinct(ds):
        return len(np.unique(ds["factor_value"].values, axis=0))

    # Without moves copies share their factor values (one row per surviving ancestor); the
    # factor moves are accepted ~90% of the time on the baseline, so most rows become distinct.
    assert distinct(still) == len(np.unique(still["ancestor"].values))
    assert distinct(moved) > 3 * distinct(still)
    # The headline agrees within its error.
    a, b = (ds.sel(metric="ai_index", year=2030, country="KOR") for ds in (still, moved))
    se = [float(x["p_top_upper"] - x["p_top_lower"]) / 2 / 1.959964 for x in (a, b)]
    assert abs(float(a["p_top"]) - float(b["p_top"])) <= Z45 * np.hypot(*se)


def test_target_halfwidth_stops_at_the_same_block_for_any_worker_count_with_smc():
    sc = persistent_race(draws=10**6, observations=[KOR_RANK_2026], keep_draws=False)
    runs = [g3.run(sc, target_halfwidth=0.01, max_draws=200_000, workers=w) for w in (1, 2)]
    assert runs[0].attrs["conditioning"] == "smc"
    assert runs[0].attrs["draws"] == runs[1].attrs["draws"] < 200_000
    np.testing.assert_array_equal(runs[0]["p_top"].values, runs[1]["p_top"].values)
    half = float(runs[0]["trace_halfwidth"].values[-1, 0])
    assert half <= 0.01 < float(runs[0]["trace_halfwidth"].values[-2, 0])


def test_a_sharp_observation_is_tempered_in_and_still_matches_the_closed_form():
    # A score kernel of width 0.5 for a score of sd 6: brought in all at once, it would leave
    # ~3% of the particles' weight; adaptive tempering takes several steps, each followed by a
    # resampling and a move at its temperature.
    sharp = dict(KOR_SCORE_2026, score_sd=0.5)
    ds = g3.run(persistent_race(observations=[sharp]))
    assert float(ds["tempering_steps"][0]) > 1
    exact = closed_form(score_sd=0.5)
    p, se = half_se(ds)
    assert abs(p - exact) <= Z45 * se, (p, exact, se)
    rej = g3.run(persistent_race(observations=[sharp]), conditioning="rejection")
    size = "p_top_effective_sample_size"
    assert float(ds[size].sel(metric="score", year=2030, country="KOR")) > 5 * float(
        rej[size].sel(metric="score", year=2030, country="KOR")
    )
