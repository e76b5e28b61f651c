"""The packaged Tortoise data and the index arithmetic reproduce the published 2021 table."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.engine import ranks_min
from simulator.models.ai_race.calibration import competition_ranks
from simulator.models.ai_race.tortoise import (
    PILLAR_WEIGHTS,
    composite_index,
    countries,
    editions,
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
