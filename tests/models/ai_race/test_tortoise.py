"""The packaged Tortoise data and the index arithmetic reproduce the published 2021 table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.engine import ranks_min
from simulator.models.ai_race.calibration import competition_ranks
from simulator.models.ai_race.config import STATUSES
from simulator.models.ai_race.tortoise import (
    PILLAR_WEIGHTS,
    composite_index,
    countries,
    editions,
    gpu_anchors,
    gpu_growth_signals,
    gpu_register,
    minmax_rescale,
    private_investment,
    read_table,
    tortoise_2021,
    tracked_gpus,
)


def test_every_published_2021_total_is_reproduced_within_001():
    table = tortoise_2021()
    total = composite_index(table.scores)
    assert table.scores.shape == (62, 7)
    # The published table reproduces to 0.0064 points: rounding of the sub-pillars.
    np.testing.assert_allclose(total, table.totals, rtol=0, atol=0.0065)


def test_ranks_match_the_published_table():
    table = tortoise_2021()
    ours = ranks_min(composite_index(table.scores))
    published = ranks_min(table.totals)
    np.testing.assert_array_equal(ours, published)
    assert np.array_equal(published, np.arange(1, 63))  # the file is in rank order, no ties
    assert table.countries[:7] == ("USA", "CHN", "GBR", "CAN", "ISR", "SGP", "KOR")


def test_calibration_ranks_as_the_engine_does():
    # The calibration keeps its own copy of the rank definition (models do not import the engine).
    x = np.random.default_rng(0).integers(0, 4, size=(50, 3, 7)).astype(float)  # many ties
    np.testing.assert_array_equal(competition_ranks(x), ranks_min(x))
    np.testing.assert_array_equal(competition_ranks(x[0, 0]), ranks_min(x[0, 0]))


def test_weights_and_rescaling():
    assert PILLAR_WEIGHTS.tolist() == [5, 3, 2, 5, 3, 1, 5] and PILLAR_WEIGHTS.sum() == 24
    x = np.array([[3.0, 1.0, 2.0], [5.0, 5.0, 5.0]])
    np.testing.assert_array_equal(minmax_rescale(x), [[100.0, 0.0, 50.0], [0.0, 0.0, 0.0]])
    # Rescaling ignores a common shift and a common positive scale: why the model needs no
    # global shock.
    table = tortoise_2021()
    np.testing.assert_allclose(
        composite_index(3.0 * table.scores + 7.0), composite_index(table.scores), atol=1e-9
    )


def test_countries_are_iso3_and_map_every_source_name():
    c = countries()
    assert len(c.iso3) == len(set(c.iso3)) == 62
    assert all(len(code) == 3 and code.isupper() for code in c.iso3)
    for data_name, code in [
        ("The Netherlands", "NLD"),
        ("Hong Kong", "HKG"),
        ("Taiwan", "TWN"),
        ("South Korea", "KOR"),
        ("United States of America", "USA"),
        ("United Arab Emirates", "ARE"),
        ("Czech Republic", "CZE"),
    ]:
        assert c.code(data_name) == code
    # Every country named in the other files (but aggregates) maps to a code.
    assert len(tracked_gpus().by_country) == 31
    assert {"KOR", "USA", "CHN", "SWE", "AUT"} <= set(private_investment())
    assert {iso for _, iso, _ in editions()} <= set(c.iso3)
    names = {r["country"] for r in read_table("gpu_programs.csv")} - {"Saudi Arabia + UAE"}
    assert all(c.code(n) for n in names)


def test_tracked_gpus_and_investment_values():
    tg = tracked_gpus()
    assert tg.years == (2022, 2023, 2024, 2025)
    assert tg.by_country["KOR"].tolist() == [1509, 3793, 4113, 6609]
    # Superseded cluster phases are not counted (the shared data's README: US 1.38M → 1.07M,
    # CHE 17.2k → 10.8k, FRA 18.4k → 16.1k, ISR 3.1k → 2.0k at Oct 2025).
    assert tg.world[-1] == 1560497
    got = {iso: tg.by_country[iso][-1] for iso in ("USA", "CHE", "FRA", "ISR")}
    assert got == {"USA": 1068905, "CHE": 10807, "FRA": 16119, "ISR": 2048}
    # Before Alps' second phase (2025) its first phase counts: Switzerland is not zero in 2024.
    assert tg.by_country["CHE"][2] == 10807 and tg.by_country["ISR"][1] == 1024
    kor = private_investment()["KOR"]
    assert kor == {2022: 3.10, 2023: 1.39, 2024: 1.33}


@pytest.mark.parametrize(
    "name",
    [
        "countries.csv",
        "tortoise_global_ai_index_2021.csv",
        "tortoise_editions.csv",
        "gpu_clusters_tracked_h100e.csv",
        "gpu_programs.csv",
        "gpu_anchors_2025.csv",
        "gpu_programmes.csv",
        "gpu_growth_signals.csv",
        "private_ai_investment_usd_bn.csv",
    ],
)
def test_packaged_files_are_read_through_importlib_resources(name):
    assert read_table(name)


def test_every_anchor_has_a_source_a_basis_and_an_ordered_interval():
    anchors = gpu_anchors()
    assert len(anchors) == 26  # 25 countries and the world
    for a in anchors.values():
        assert a.source.startswith("http") and a.derivation, a.iso3
        assert a.basis in {"reported", "derived", "estimate"}, a.iso3
        assert 0 < a.low <= a.central <= a.high, a.iso3
        # Estimates say so in their derivation, not only in the basis column.
        assert a.basis != "estimate" or a.derivation.startswith("Estimate"), a.iso3
    assert set(anchors) - {"WLD"} <= set(countries().iso3)


def test_world_total_and_split_check_the_anchors():
    # Epoch's chip sales: ~19.7M H100e shipped by end-2025; by location the US ~14M and China
    # ~1.1M (gpu_stock_anchors_2025.csv). The anchors must respect that split: the US and China
    # centrals are those figures, and all anchors together fit inside the world total, leaving
    # 2.5-8M H100e in hyperscaler regions of no published country.
    a = gpu_anchors()
    assert (a["WLD"].low, a["WLD"].central, a["WLD"].high) == (17.0e6, 19.7e6, 22.7e6)
    assert a["USA"].central == 14.0e6 and a["CHN"].central == 1.1e6
    countries_only = [x for k, x in a.items() if k != "WLD"]
    central = sum(x.central for x in countries_only)
    assert a["WLD"].central - 8.0e6 <= central <= a["WLD"].central - 2.5e6 + 1e6
    assert sum(x.low for x in countries_only) <= a["WLD"].low
    assert 0.65 <= a["USA"].central / a["WLD"].central <= 0.75  # ~71% (US hyperscalers' share)


def test_every_programme_row_has_a_source_a_status_and_a_reason_when_not_counted():
    rows = gpu_register()
    ids = [(r.iso3, r.id) for r in rows]
    assert len(ids) == len(set(ids)) == 60
    for r in rows:
        assert r.source_url.startswith("http"), r.id
        assert r.status in STATUSES and r.basis in {"reported", "estimate"}, r.id
        if r.counted:
            assert r.iso3 in countries().iso3, r.id
            assert r.gpus > 0 and r.h100e_per_gpu > 0 and 2026.0 <= r.start < r.end, r.id
            assert 0 < r.in_country <= 1, r.id
        else:
            assert r.overlap, f"{r.id}: an uncounted row must say why (overlap column)"
    # Estimates are marked: every row whose count is derived rather than published.
    est = {r.id for r in rows if r.basis == "estimate"}
    assert {"stargate_uae", "reliance_jamnagar", "meti_cloud_programme"} <= est
    # Overlaps within a country are netted: the subsets of the UK's 120k are not counted.
    uk = {r.id: r for r in rows if r.iso3 == "GBR"}
    assert uk["nscale_coreweave"].counted and not uk["nscale_uk"].counted
    assert not uk["stargate_uk"].counted
    # Licence-gated programmes are the Gulf's, beyond what is already licensed.
    gated = {r.id for r in rows if r.counted and r.licence}
    assert gated == {"humain", "stargate_uae_phase1", "stargate_uae"}


def test_growth_signals_are_relative_to_the_world():
    g = gpu_growth_signals()
    assert "WLD" not in g and set(g) <= set(countries().iso3)
    assert g["USA"] == pytest.approx(math.log(426 / 183) / 6 - math.log(945 / 415) / 6)


def test_every_published_rank_has_a_source_and_each_edition_ranks_once():
    rows = read_table("tortoise_editions.csv")
    for r in rows:
        # Every row names its source: a URL, except the 2021 table's own row (the Kaggle file).
        assert r["source"].startswith("http") or r["edition"] == "2021", r
    by_edition: dict[str, list[int]] = {}
    for r in rows:
        by_edition.setdefault(r["edition"], []).append(int(r["rank"]))
    for ranks in by_edition.values():
        assert len(ranks) == len(set(ranks))  # no rank twice in one edition
    # The 2019 edition (54 countries): its top ten without the 9th, which no source names.
    assert sorted(by_edition["2019"]) == [1, 2, 3, 4, 5, 6, 7, 8, 10]
    assert {e for e, _, _ in editions() if e < 2021} == {2019, 2020}
