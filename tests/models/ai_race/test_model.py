"""The ai_race world model: contract, guards and the effects of its levers on one block."""

from __future__ import annotations

import copy
import re
import tomllib

import numpy as np
import pytest

from simulator.errors import ConfigError
from simulator.models import build_model
from simulator.models.ai_race import AiRace
from simulator.models.ai_race.tortoise import (
    composite_index,
    gpu_anchors,
    gpu_register,
    read_table,
    tortoise_2021,
)
from simulator.sampling import Streams
from simulator.scenario import load_scenario
from tests.helpers.ai_race import BASELINE, simulate
from tests.helpers.scenarios import CONFIGS


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
    # 7·62 drifts + 62 country drifts + (62 + 5)·9 yearly shocks + 62 methodology shocks
    # (2023), for 2022..2030, and for the GPU account one per anchor (25), one per country and
    # two per (programme + country) (30 programmes).
    q = len(model.params.programmes)
    assert len(model.anchor_index) == 25 and q == 30
    gpu = 25 + 62 + 2 * (q + 62)
    assert model.normals_per_draw() == 7 * 62 + 62 + 67 * 9 + 62 + gpu == 1432
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
            'factors.regional_share={dist = "constant", value = 1}',
            "model.mean_reversion=1",
            "model.methodology_sd=1",
            "model.methodology_years=[2023, 2050]",
            "model.gpu.signal_dispersion=3",
            "model.gpu.organic_growth_dispersion=3",
            "model.gpu.unanchored_h100e=0",
            "model.gpu.programme_correlation=1",
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
    with pytest.raises(ConfigError, match="does not use factor 'kor_ai_act_burden'") as err:
        build_model(no_act)
    # The message gives the --set that does what was meant: hold the factor at a value.
    fix = re.search(r"--set (factors\.kor_ai_act_burden)='(.*?)'", str(err.value))
    assert fix is not None, str(err.value)
    held = load_scenario(BASELINE, ["scenario.years=[2026]", f"{fix[1]}={fix[2]}"])
    build_model(held)  # accepted
    assert str({f.name: f.dist for f in held.factors}["kor_ai_act_burden"]) == "Constant(0.0)"
    data = copy.deepcopy(dict(c.data))
    del data["factors"]["kor_ai_act_burden"]
    data["model"]["countries"]["KOR"]["regulation"]["burden"] = 0.0
    from simulator.scenario import scenario_from_dict

    d = scenario_from_dict(data, source="no-act")
    a2, b2 = paired(c, d)
    assert b2["ai_index"][..., j].mean() > a2["ai_index"][..., j].mean()


def test_korea_register_rows_match_the_sourced_supply_deal():
    rows = {r["program"]: r for r in read_table("gpu_programs.csv")}
    reg = {r.id: r for r in gpu_register() if r.iso3 == "KOR"}
    for key, label in [
        ("nvidia_samsung", "Nvidia Blackwell supply: Samsung Electronics"),
        ("nvidia_sk", "Nvidia Blackwell supply: SK Group"),
        ("nvidia_hyundai", "Nvidia Blackwell supply: Hyundai Motor Group"),
        ("nvidia_naver", "Nvidia Blackwell supply: NAVER Cloud"),
        ("kisti_supercomputer", "KISTI 6th national supercomputer (GH200)"),
    ]:
        assert reg[key].gpus == float(rows[label]["gpus"]) and reg[key].counted
    # The government's 50,000 less the 13,000 delivered in Dec 2025, which the anchor holds.
    gov = float(rows["Nvidia Blackwell supply: government (MSIT)"]["gpus"])
    assert reg["nvidia_government"].gpus == gov - reg["kor_first_tranche"].gpus == 37_000
    assert not reg["kor_first_tranche"].counted
    nvidia = [r.gpus for k, r in reg.items() if k.startswith("nvidia_") and r.counted]
    assert sum(nvidia) == 260_000 - 13_000
    # The baseline keeps the programme names the levers use, with factors for fraction/delay.
    kor = tomllib.loads(BASELINE.read_text())["model"]["countries"]["KOR"]["programmes"]
    assert set(kor) == {k for k in reg if k.startswith("nvidia_") and reg[k].counted}
    assert {v["fraction"] for v in kor.values()} == {f"kor_fraction_{k[7:]}" for k in kor}


# -- GPU holdings: anchors, programmes, licences ------------------------------------------------


def _stock(out, model, year, sc):
    return out["gpu_stock"][:, sc.years.index(year)]


def test_2025_stocks_are_drawn_from_the_anchor_intervals():
    sc = load_scenario(BASELINE, ["scenario.years=[2025]"])
    n = 4000
    model, out = simulate(sc, n=n)
    x = _stock(out, model, 2025, sc)
    for iso, a in gpu_anchors().items():
        if iso == "WLD":
            continue
        v = x[:, model.countries.index(iso)]
        assert a.low <= v.min() and v.max() <= a.high, iso
        # PERT(low, central, high): mean (low + 4 central + high) / 6, sd ≤ (high − low) / 4;
        # 5 standard errors, fixed seed.
        mean = (a.low + 4 * a.central + a.high) / 6
        assert abs(v.mean() - mean) < 5 * (a.high - a.low) / 4 / np.sqrt(n), iso
    # The world split: the US holds ~14M of ~19.7M, China ~1.1M; the 62 countries together
    # hold less than the world total (the rest sits in countries of no published location).
    total = x.sum(axis=1)
    w = gpu_anchors()["WLD"]
    assert (total <= w.high).all() and np.median(total) > w.low - 8.0e6
    assert 11e6 <= np.median(x[:, 0]) <= 17e6 and 0.8e6 <= np.median(x[:, 1]) <= 1.6e6


def test_an_unanchored_country_never_outranks_an_anchored_one_in_2025():
    # However large the default, it is capped at the smallest anchored low.
    sc = load_scenario(BASELINE, ["scenario.years=[2025]", "model.gpu.unanchored_h100e=1e9"])
    model, out = simulate(sc, n=500)
    x = _stock(out, model, 2025, sc)
    anchored = np.zeros(62, dtype=bool)
    anchored[model.anchor_index] = True
    assert x[:, ~anchored].max() <= x[:, anchored].min(axis=1).min()
    assert model.unanchored_cap == min(a.low for k, a in gpu_anchors().items() if k != "WLD")


def test_programmes_of_one_status_get_the_same_prior():
    """Treated alike: every register programme without a factor of its own draws its fraction
    from its status's PERT prior (licence-gated ones are then multiplied by the licence share)."""
    sc = load_scenario(BASELINE, ["scenario.years=[2026]"])
    model = build_model(sc)
    n = 4000
    from simulator.sampling import sample_factors

    f = sample_factors(
        sc.factors, sc.correlation, design="mc", seed=2, block=0, n=n, block_size=16384
    )
    stepper = model.start(f, Streams(2, 0).child("model"), n)
    gpu = stepper.chunks[0].gpu
    progs = model.params.programmes
    for status, prior in model.params.status.items():
        qs = [
            q
            for q, p in enumerate(progs)
            if p.status == status and p.fraction is None and not p.licence
        ]
        if not qs:
            continue
        frac = gpu.prog_total[:, qs] / model.prog_cap[qs]  # first chunk: CHUNK draws
        lo, mode, hi = prior.fraction
        mean = (lo + 4 * mode + hi) / 6
        # Each column is an independent-enough sample of CHUNK draws: 5 SE of a PERT (sd ≤
        # (hi − lo) / 4) per column.
        se = (hi - lo) / 4 / np.sqrt(frac.shape[0])
        np.testing.assert_allclose(frac.mean(axis=0), mean, atol=5 * se)
        assert frac.min() >= lo - 1e-12 and frac.max() <= hi + 1e-12


def _without_factor(sc, name, **gpu):
    from simulator.scenario import scenario_from_dict

    data = copy.deepcopy(dict(sc.data))
    del data["factors"][name]
    data["model"]["gpu"].update(gpu)
    return scenario_from_dict(data, source=f"{name}={gpu}")


def test_export_licences_gate_only_the_programmes_that_need_them():
    sc = load_scenario(BASELINE, ["scenario.years=[2030]"])
    shut = _without_factor(sc, "gpu_export_licence", export_licence=0.0)
    free = _without_factor(sc, "gpu_export_licence", export_licence=1.0)
    a, b = paired(shut, free, n=500)
    gated = sorted({p.country for p in build_model(sc).params.programmes if p.licence})
    assert gated == ["ARE", "SAU"]
    idx = [build_model(sc).countries.index(c) for c in gated]
    others = np.setdiff1d(np.arange(62), idx)
    np.testing.assert_array_equal(a["gpu_stock"][..., others], b["gpu_stock"][..., others])
    assert (a["gpu_stock"][..., idx] < b["gpu_stock"][..., idx]).all()
    # The export-controls scenario uses the factor: it lowers the Gulf's median 2030 stock.
    ec = load_scenario(CONFIGS / "export-controls.toml", ["scenario.years=[2030]"])
    c, d = paired(sc, ec, n=500)
    for j in idx:
        assert np.median(d["gpu_stock"][..., j]) < 0.8 * np.median(c["gpu_stock"][..., j])


def test_the_2025_gpu_ranking_with_history_agrees_with_the_anchors():
    """With history conditioning (SMC on the index observations of 2023-2025), each anchored
    country's 2025 GPU rank stays within the ranks its interval permits among the anchors
    (best: 1 + anchors whose low exceeds its high; worst: 1 + other anchors whose high exceeds
    its low), and the model's median order follows the anchors' central order."""
    from simulator import run

    sc = load_scenario(BASELINE, ["scenario.years=[2025]"])
    ds = run(sc, draws=4096, seed=3)
    assert ds.attrs["conditioning"] == "smc"
    a = {k: v for k, v in gpu_anchors().items() if k != "WLD"}
    counts = ds["rank_count"].sel(metric="gpu_stock", year=2025)
    # (results format 2 renames the dimensions rank/quantile to rank_position/quantile_level)
    rank_dim = next(d for d in counts.dims if d.startswith("rank"))
    q = ds["value_quantile"].sel(metric="gpu_stock", year=2025)
    q = q.sel({next(d for d in q.dims if d.startswith("quantile")): 0.5})
    ranks = counts[rank_dim].values
    medians = []
    for iso, x in a.items():
        best = 1 + sum(o.low > x.high for o in a.values())
        worst = 1 + sum(o.high > x.low for k, o in a.items() if k != iso)
        c = counts.sel(country=iso).values
        assert c.sum() > 0
        outside = c[(ranks < best) | (ranks > worst)].sum()
        assert outside == 0, f"{iso}: ranks outside [{best}, {worst}]"
        medians.append(float(q.sel(country=iso)))
    central = [x.central for x in a.values()]
    from scipy.stats import spearmanr

    assert spearmanr(medians, central).statistic > 0.95


def test_every_gpu_assumption_of_the_baseline_is_in_the_sensitivity_table():
    """docs/model.md section 4.5 lists every unsourced number of the GPU account (so that none
    moves Korea's answer unseen): each [model.gpu] key and factor, each status prior, and the
    factors of Korea's programmes. Regenerated by docs/gpu_sensitivity.py."""
    text = (CONFIGS.parent / "docs" / "model.md").read_text(encoding="utf-8")
    table = text[text.index("### 4.5") : text.index("### 4.6")]
    gpu = tomllib.loads(BASELINE.read_text())["model"]["gpu"]
    index_only = {"infrastructure_elasticity", "gpu_infrastructure_elasticity"}
    # A key set to a number appears by its key, one that names a factor by the factor.
    names = [v if isinstance(v, str) else k for k, v in gpu.items() if k not in index_only]
    for name in (n for n in names if n != "status"):
        assert f"`{name}`" in table, name
    for status in ("delivered", "announced", "contracted", "MoU"):
        assert f"{status} prior" in table or f"{status} and" in table, status
    for factor in ("kor_fraction_*", "kor_delivery_delay"):
        assert f"`{factor}`" in table, factor
