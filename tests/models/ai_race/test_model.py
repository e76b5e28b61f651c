"""The ai_race world model: contract, guards, validation, scenarios and lever directions."""

from __future__ import annotations

import copy
import math
import tomllib

import numpy as np
import pytest

from simulator.errors import ConfigError
from simulator.models import build_model
from simulator.models.ai_race import AiRace
from simulator.models.ai_race.calibration import observed_movements
from simulator.models.ai_race.tortoise import composite_index, read_table, tortoise_2021
from simulator.sampling import Streams, sample_factors
from simulator.scenario import load_scenario
from tests.helpers.scenarios import CONFIGS

BASELINE = CONFIGS / "baseline.toml"
VARIANTS = (
    "full-delivery",
    "delivery-delays",
    "investment-rebound",
    "investment-slump",
    "regulatory-reform",
    "export-controls",
    "gulf-buildout",
)


def simulate(scenario, n=300, seed=1, block=0):
    model = build_model(scenario)
    f = sample_factors(
        scenario.factors,
        scenario.correlation,
        design="mc",
        seed=seed,
        block=block,
        n=n,
        block_size=16384,
    )
    return model, model.simulate(f, Streams(seed, block).child("model"), n)


def ranks_of(x, j):
    """Competition rank of country ``j`` (1 + countries strictly higher), per draw and year."""
    return 1 + (x > x[..., j : j + 1]).sum(axis=-1)


# -- contract -------------------------------------------------------------------------------


def test_shapes_bounds_and_metadata():
    sc = load_scenario(BASELINE)
    model, out = simulate(sc)
    assert isinstance(model, AiRace)
    assert set(out) == set(model.metric_info) == {"ai_index", "gpu_stock"}
    assert model.metric_info["gpu_stock"][1] == "H100e"
    for x in out.values():
        assert x.shape == (300, len(sc.years), 62) and x.dtype == np.float64
        assert np.isfinite(x).all()
    idx = out["ai_index"]
    assert idx.min() >= 0 and idx.max() <= 100 + 1e-9
    np.testing.assert_allclose(idx.max(axis=2), 100.0)
    np.testing.assert_allclose(idx.min(axis=2), 0.0, atol=1e-9)
    assert (out["gpu_stock"] >= 1).all()
    assert model.bins("ai_index").n == model.bins("gpu_stock").n == 1000
    assert model.bins("gpu_stock").log
    assert model.countries[model.focus_index] == "KOR"
    assert set(model.required_factors) == set(sc.factor_names)
    # 7·62 drifts + (62 + 5)·9 yearly shocks + 2·62 GPU draws, for 2022..2030.
    assert model.normals_per_draw() == 1161 < 1500
    d = model.describe()
    assert d["ai_race_base_year"] == 2021 and len(d["ai_race_data_sha256"]) == 64


def test_same_seed_same_draws_and_growing_draws_keep_a_prefix():
    sc = load_scenario(BASELINE)
    _, a = simulate(sc, n=2500, seed=4)  # spans several internal chunks of draws
    _, b = simulate(sc, n=2500, seed=4)
    _, c = simulate(sc, n=40, seed=4)
    _, d = simulate(sc, n=40, seed=5)
    for m in a:
        np.testing.assert_array_equal(a[m], b[m])
        np.testing.assert_array_equal(a[m][:40], c[m])
        assert not np.array_equal(c[m][:, -1], d[m][:, -1])


@pytest.mark.parametrize("chunk", [1, 300, 4096])
def test_the_draws_do_not_depend_on_the_internal_chunk_size(monkeypatch, chunk):
    """CHUNK is a cache-size tuning knob: each component's generator hands out consecutive rows,
    so any chunking gives the numbers of one whole-block array."""
    import simulator.models.ai_race.model as ai_race

    sc = load_scenario(BASELINE)
    _, want = simulate(sc, n=1100, seed=6)
    monkeypatch.setattr(ai_race, "CHUNK", chunk)
    _, got = simulate(sc, n=1100, seed=6)
    for m in want:
        np.testing.assert_array_equal(got[m], want[m])


def test_any_years_from_2022_and_the_same_path_whatever_is_reported():
    sc = load_scenario(BASELINE, ["scenario.years=[2022, 2023, 2024, 2025, 2030]"])
    _, a = simulate(sc, n=200)
    sc2 = load_scenario(BASELINE, ["scenario.years=[2025, 2030]"])
    _, b = simulate(sc2, n=200)
    for m in a:
        np.testing.assert_array_equal(a[m][:, 3:], b[m])
    # History years: GPU stocks follow the tracked capacity, with no programme yet.
    kor = a["gpu_stock"][:, :3, 6]
    assert (np.diff(kor, axis=1) >= 0).all()


def test_without_noise_the_model_reproduces_the_2021_table_in_relative_terms():
    # With no random walk, no levers and no investment history the 2022 index equals 2021's.
    sc = load_scenario(
        BASELINE,
        [
            "scenario.years=[2022]",
            "model.volatility=0",
            "model.drift_sd=0",
        ],
    )
    _, out = simulate(sc, n=5)
    np.testing.assert_allclose(
        out["ai_index"][:, 0],
        np.broadcast_to(composite_index(tortoise_2021().scores), (5, 62)),
        atol=1e-9,
    )


def extreme_factors(sc, n, pick):
    """Every factor at the lowest or highest value of its support (finite), per ``pick``."""
    out = {}
    for f in sc.factors:
        lo, hi = (float(v) for v in f.dist.ppf([1e-12, 1 - 1e-12]))
        out[f.name] = np.full(n, lo if pick == "low" else hi)
    return out


@pytest.mark.parametrize("pick", ["low", "high"])
def test_extreme_but_valid_values_stay_finite_to_2100(pick):
    sc = load_scenario(
        BASELINE,
        [
            "scenario.years=[2022, 2030, 2060, 2100]",
            "model.volatility=1",
            "model.drift_sd=1",
            "model.regional_share=1",
            "model.gpu.coverage_dispersion=3",
            "model.gpu.organic_growth_dispersion=3",
            "model.gpu.untracked_h100e=0",
        ],
    )
    model = build_model(sc)
    f = extreme_factors(sc, 64, pick)
    f["gpu_organic_growth"][:] = 5.0 if pick == "high" else -5.0
    f["kor_investment_growth"][:] = 1e6 if pick == "high" else -1e6  # clipped by the guard
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = model.simulate(f, Streams(3, 0).child("model"), 64)
    for x in out.values():
        assert np.isfinite(x).all()
    assert out["gpu_stock"].max() <= 1e12


# -- levers inside the model ------------------------------------------------------------------


def paired(sc_a, sc_b, n=4000, seed=11):
    """Outputs of two scenarios with the same seed (common random numbers)."""
    return simulate(sc_a, n=n, seed=seed)[1], simulate(sc_b, n=n, seed=seed)[1]


def test_full_delivery_adds_exactly_the_programme_to_korea_and_no_one_else():
    base = load_scenario(BASELINE, ["scenario.years=[2031]"])
    full = load_scenario(CONFIGS / "full-delivery.toml", ["scenario.years=[2031]"])
    a, b = paired(base, full, n=500)
    j = 6  # KOR
    others = np.arange(62) != j
    np.testing.assert_array_equal(a["gpu_stock"][..., others], b["gpu_stock"][..., others])
    # Korea gains in almost every draw; not in all: GPUs delivered earlier also retire earlier,
    # so a nearly complete but late baseline delivery can leave more in 2031 than an early one.
    assert (b["gpu_stock"][..., j] >= a["gpu_stock"][..., j]).mean() > 0.9
    assert np.median(b["gpu_stock"][..., j] / a["gpu_stock"][..., j]) > 1.05


def test_reform_raises_korea_and_the_basic_act_lowers_it():
    sc = load_scenario(BASELINE, ["scenario.years=[2026]"])
    reform = load_scenario(CONFIGS / "regulatory-reform.toml", ["scenario.years=[2026]"])
    a, b = paired(sc, reform)
    j = 6
    assert (ranks_of(b["ai_index"], j) <= ranks_of(a["ai_index"], j)).all()
    assert b["ai_index"][..., j].mean() > a["ai_index"][..., j].mean()
    no_act = load_scenario(
        BASELINE, ["scenario.years=[2026]", "model.countries.KOR.regulation.burden=0"]
    )
    c = load_scenario(BASELINE, ["scenario.years=[2026]"])
    # burden as a factor is replaced by 0: the factor is then unused and must go.
    with pytest.raises(ConfigError, match="does not use factor 'kor_ai_act_burden'"):
        build_model(no_act)
    data = copy.deepcopy(dict(c.data))
    del data["factors"]["kor_ai_act_burden"]
    data["model"]["countries"]["KOR"]["regulation"]["burden"] = 0.0
    from simulator.scenario import scenario_from_dict

    d = scenario_from_dict(data, source="no-act")
    a2, b2 = paired(c, d)
    assert b2["ai_index"][..., j].mean() > a2["ai_index"][..., j].mean()


def test_programme_sizes_match_the_sourced_rows():
    rows = {r["program"]: r for r in read_table("gpu_programs.csv")}
    cfg = tomllib.loads(BASELINE.read_text())["model"]["countries"]
    kor = cfg["KOR"]["programmes"]
    for key, label in [
        ("nvidia_government", "Nvidia Blackwell supply: government (MSIT)"),
        ("nvidia_samsung", "Nvidia Blackwell supply: Samsung Electronics"),
        ("nvidia_sk", "Nvidia Blackwell supply: SK Group"),
        ("nvidia_hyundai", "Nvidia Blackwell supply: Hyundai Motor Group"),
        ("nvidia_naver", "Nvidia Blackwell supply: NAVER Cloud"),
        ("kisti_supercomputer", "KISTI 6th national supercomputer (GH200)"),
    ]:
        assert kor[key]["gpus"] == float(rows[label]["gpus"])
    assert sum(kor[k]["gpus"] for k in kor if k.startswith("nvidia")) == 260_000
    assert cfg["GBR"]["programmes"]["nscale_coreweave"]["gpus"] == float(
        rows["Blackwell Ultra GPUs (Nscale + CoreWeave)"]["gpus"]
    )
    assert cfg["SAU"]["programmes"]["humain"]["gpus"] == float(
        rows["Humain build-out (Saudi and US sites)"]["gpus"]
    )
    india = rows["IndiaAI Mission GPUs empanelled"]
    assert cfg["IND"]["programmes"]["indiaai_mission"]["gpus"] == 38_000 - 17_300
    assert india["gpus"] == "38000" and "17300" in india["note"]
    # The UAE campus has no published GPU count: the file must say so and the config must
    # state its number as an assumption.
    assert rows["Stargate UAE / UAE-US AI campus"]["gpus"] == ""
    assert "NO GPU COUNT IS PUBLISHED" in BASELINE.read_text()
    installed = float(rows["installed AI GPUs before the Nvidia deal"]["gpus"])
    kor_dist = load_scenario(BASELINE).factors
    f = next(f for f in kor_dist if f.name == "kor_installed_h100e")
    assert f.dist.ppf(1.0) == pytest.approx(installed)  # ≤ 1 H100e per reported GPU


# -- scenarios --------------------------------------------------------------------------------


@pytest.mark.parametrize("stem", ("baseline", *VARIANTS))
def test_scenario_files_are_documented(stem):
    path = CONFIGS / f"{stem}.toml"
    sc = load_scenario(path)
    assert sc.name == stem and sc.description and "\n" not in sc.description
    assert sc.model == "ai_race"
    if stem != "baseline":
        assert tomllib.loads(path.read_text())["extends"] == "baseline.toml"
    model = build_model(sc)
    for f in sc.factors:
        assert f.description and f.units and f.source, f.name
    assert model.required_factors


def test_observed_rank_movements_used_by_the_calibration():
    obs = observed_movements()
    assert obs[(2021, 2023)] == (14, pytest.approx(34 / 14))
    assert obs[(2024, 2025)] == (5, pytest.approx(0.2))


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("model.volatilty=0.1", r"model\.volatilty: unknown key \(did you mean 'volatility'\?\)"),
        ("model.volatility=-0.1", r"model\.volatility: must be within \[0, 1\], got -0\.1"),
        ("model.regional_share=1.5", r"model\.regional_share: must be within \[0, 1\]"),
        ("model.gpu.coverage_dispersion=-1", r"model\.gpu\.coverage_dispersion: must be within"),
        ("model.gpu.retirement_rate=-0.1", r"model\.gpu\.retirement_rate: must be ≥ 0"),
        ("model.gpu.infrastructur_elasticity=1", r"did you mean 'infrastructure_elasticity'"),
        ("model.countries.KOR.regulation.reform_probability=1.2", r"reform_probability: must be"),
        ("model.countries.KOR.regulation.burden_from=2019", r"burden_from: must be within"),
        ("model.countries.KOR.programmes.nvidia_sk.fraction=2", r"nvidia_sk\.fraction: must be"),
        ("model.countries.KOR.programmes.nvidia_sk.start=2024", r"nvidia_sk\.start: must be"),
        ("model.countries.KOR.programmes.nvidia_sk.end=2025.5", r"nvidia_sk\.end: must be"),
        (
            "model.countries.KOR.programmes.nvidia_sk.delay=-1",
            r"nvidia_sk\.delay: must be within \[0, 50\]",
        ),
        ('model.countries.KOR.installed_h100e="kor_instaled_h100e"', r"did you mean"),
        ("model.countries.XKR.installed_h100e=1", r"'XKR' is not a country of the model"),
        ("model.countries.KOR.programmes.x.gpus=1", r"programmes\.x: missing 'start'"),
        ("model.drift_sd=true", r"model\.drift_sd: must be a finite number or the name"),
        ("model.pillar_offsets.talent=0", r"pillar_offsets\.talent: must be within"),
        ("model.pillar_offsets.talnet=1", r"did you mean 'talent'"),
        ("scenario.years=[2021, 2030]", r"scenario\.years: ai_race reports years 2022\.\.2100"),
        ('scenario.focus="XYZ"', r"scenario\.focus"),
    ],
)
def test_model_table_errors_name_the_key_and_the_fix(override, match):
    with pytest.raises(ConfigError, match=match):
        build_model(load_scenario(BASELINE, [override]))


def test_factor_outside_its_parameter_range_is_rejected():
    over = [
        'factors.kor_fraction_sk={dist = "normal", mean = 0.8, sd = 0.1}',
    ]
    with pytest.raises(
        ConfigError,
        match=r"factors\.kor_fraction_sk: is used by model\.countries\.KOR\.programmes\.nvidia_sk"
        r"\.fraction, which must be within \[0, 1\]",
    ):
        build_model(load_scenario(BASELINE, over))


def test_unused_and_missing_factors():
    with pytest.raises(ConfigError, match=r"factors\.extra: model ai_race does not use factor"):
        build_model(
            load_scenario(BASELINE, ['factors.extra={dist = "uniform", low = 0, high = 1}'])
        )
    with pytest.raises(ConfigError, match=r"model\.gpu\.coverage: 'nope' is not a factor"):
        build_model(load_scenario(BASELINE, ['model.gpu.coverage="nope"']))


def test_a_number_can_replace_a_factor_and_any_country_can_have_levers():
    text = BASELINE.read_text()
    sc = load_scenario(
        BASELINE,
        [
            "model.countries.JPN.organic_growth=0.6",
            "model.countries.JPN.investment_growth=0.3",
            "model.countries.JPN.regulation.reform_probability=0.5",
            "model.countries.JPN.regulation.reform_effect=4",
            "model.countries.JPN.programmes.abci.gpus=10000",
            "model.countries.JPN.programmes.abci.h100e_per_gpu=2.27",
            "model.countries.JPN.programmes.abci.start=2026",
            "model.countries.JPN.programmes.abci.end=2028",
            'scenario.focus="JPN"',
        ],
    )
    assert "JPN" not in text.split("[factors")[0]
    model, out = simulate(sc, n=100)
    assert model.focus == "JPN" and model.countries[model.focus_index] == "JPN"
    assert all(np.isfinite(x).all() for x in out.values())


# -- the engine: lever directions with paired draws -----------------------------------------

g3 = pytest.importorskip("simulator")

DRAWS = 16_384
SEED = 20260122


def focus_top(ds, metric, year, k=3):
    """Per-draw indicator of the focus country's rank ≤ k."""
    r = ds["focus_rank"].sel(metric=metric, year=year).values
    return (r <= k).astype(float)


@pytest.fixture(scope="module")
def runs():
    out = {}
    for stem in (
        "baseline",
        "full-delivery",
        "delivery-delays",
        "regulatory-reform",
        "investment-slump",
    ):
        sc = load_scenario(CONFIGS / f"{stem}.toml")
        # Lever directions are a property of the dynamics: test them without history weights
        # (tests/test_history.py and test_history_conditioning_respects_the_observations below
        # cover the conditioning).
        out[stem] = g3.run(sc, draws=DRAWS, seed=SEED, keep_draws=True, history=False)
    return out


@pytest.mark.parametrize(
    ("better", "worse", "metric", "year"),
    [
        ("full-delivery", "delivery-delays", "gpu_stock", 2028),
        ("full-delivery", "delivery-delays", "gpu_stock", 2030),
        ("regulatory-reform", "baseline", "ai_index", 2026),
        ("regulatory-reform", "baseline", "ai_index", 2030),
        ("baseline", "investment-slump", "ai_index", 2030),
    ],
)
def test_levers_move_p_top3_in_the_expected_direction(runs, better, worse, metric, year):
    # Same seed ⇒ common random numbers: the per-draw difference of the top-3 indicators has a
    # small variance. Its mean must exceed 4.5 paired standard errors (a false alarm has
    # probability ~3e-6 if the lever did nothing).
    d = focus_top(runs[better], metric, year) - focus_top(runs[worse], metric, year)
    se = d.std(ddof=1) / math.sqrt(len(d))
    assert d.mean() > 4.5 * se > 0, (d.mean(), se)
    p_b = float(runs[better]["p_top"].sel(metric=metric, year=year, country="KOR"))
    p_w = float(runs[worse]["p_top"].sel(metric=metric, year=year, country="KOR"))
    assert p_b - p_w == pytest.approx(d.mean())


def test_focus_japan_reports_japan_and_leaves_the_world_unchanged(runs):
    sc = load_scenario(BASELINE, ['scenario.focus="JPN"'])
    ds = g3.run(sc, draws=4096, seed=SEED, keep_draws=True, history=False)
    kor = g3.run(load_scenario(BASELINE), draws=4096, seed=SEED, keep_draws=True, history=False)
    # The model does not depend on the focus: every country's probabilities are identical.
    np.testing.assert_array_equal(ds["p_top"].values, kor["p_top"].values)
    p = ds["p_top"].sel(country="JPN")
    r = ds["focus_rank"].values
    np.testing.assert_allclose(p.values, (r <= 3).mean(axis=0))


def test_the_baseline_headline_is_plausible(runs):
    # Korea (7th in 2021, 5th in the 2025 edition) is a top-3 country in a minority of draws;
    # the United States and China are first and second in GPU stock in almost every draw.
    ds = runs["baseline"]
    p = ds["p_top"].sel(country="KOR")
    assert 0.02 < float(p.sel(metric="ai_index", year=2030)) < 0.4
    assert float(p.sel(metric="gpu_stock", year=2030)) < 0.3
    top2 = ds["rank_probability"].sel(metric="gpu_stock", year=2030, rank=[1, 2])
    assert float(top2.sel(country="USA", rank=1)) > 0.97
    assert float(top2.sel(country=["USA", "CHN"]).sum()) > 0.97 * 2


def test_history_conditioning_respects_the_observations():
    """With the baseline's observations, every draw with weight keeps Korea 4th–6th in 2025."""
    ds = g3.run(load_scenario(BASELINE), draws=DRAWS, seed=SEED, keep_draws=True)
    assert ds.attrs["conditioned"] == 1 and ds.sizes["observation"] == 6
    w = ds["weight"].values
    r2025 = ds["focus_rank"].sel(metric="ai_index", year=2025).values
    assert w.sum() > 0 and np.all((r2025[w > 0] >= 4) & (r2025[w > 0] <= 6))
    assert float(ds["p_top"].sel(metric="ai_index", year=2025, country="KOR")) == 0.0
    ess = float(ds["effective_sample_size"])
    assert ess == pytest.approx(w.sum() ** 2 / (w**2).sum())
    # The weighted headline is the weighted mean of the per-draw indicators.
    r2030 = ds["focus_rank"].sel(metric="ai_index", year=2030).values
    p = float(ds["p_top"].sel(metric="ai_index", year=2030, country="KOR"))
    assert p == pytest.approx(np.sum(w * (r2030 <= 3)) / w.sum())
