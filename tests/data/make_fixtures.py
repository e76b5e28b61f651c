"""Write tests/data/results_v<FORMAT_VERSION>.nc, a results file of today's format (run by hand).

results_v1.nc (format 1, with the `rank` and `quantile` dimension names) was written by this
script before format 2; it is committed and never regenerated when the format changes: it is how
tests/results/test_open.py and tests/cli/test_inspect.py check that a newer g3sim still
reads files written by this one.
Regenerate it only to replace it deliberately (then update the numbers in that test, which
this script prints). Usage, from the repository root::

    .venv/bin/python tests/data/make_fixtures.py
"""

from __future__ import annotations

import json
from pathlib import Path

from simulator import run
from simulator.results import FORMAT_VERSION, open_results, save
from simulator.scenario import scenario_from_dict

HERE = Path(__file__).resolve().parent
OUT = HERE / f"results_v{FORMAT_VERSION}.nc"

SCENARIO = {
    "scenario": {
        "name": "gaussian-race-v1",
        "description": "Format fixture: five countries with independent normal scores",
        "model": "gaussian_race",
        "focus": "KOR",
        "top_k": 3,
        "years": [2030],
        "draws": 500,
        "seed": 20240801,
        "design": "mc",
        "keep_draws": True,
    },
    "model": {
        "countries": {
            "USA": {"mean": 100, "sd": 2},
            "CHN": {"mean": 60, "sd": 5},
            "SGP": {"mean": 35, "sd": 5},
            "GBR": {"mean": 33, "sd": 4},
            "KOR": {"mean": 30, "sd": 6},
        }
    },
}
COMMAND = "g3sim run gaussian-race-v1.toml -o tests/data/results_v1.nc"


def main() -> None:
    sc = scenario_from_dict(SCENARIO, source="gaussian-race-v1.toml")
    ds = run(sc, command=COMMAND)
    save(ds, OUT, force=True)
    back = open_results(OUT)
    kor = back.sel(country="KOR", metric="score")
    summary = {
        "size_bytes": OUT.stat().st_size,
        "rank_count_KOR": {
            str(int(y)): [int(c) for c in kor["rank_count"].sel(year=y).values]
            for y in back["year"].values
        },
        "p_top_KOR": {str(int(y)): float(kor["p_top"].sel(year=y)) for y in back["year"].values},
        "p_top_bounds_KOR": {
            str(int(y)): [
                float(kor["p_top_lower"].sel(year=y)),
                float(kor["p_top_upper"].sel(year=y)),
            ]
            for y in back["year"].values
        },
        "median_KOR": {
            str(int(y)): float(kor["value_quantile"].sel(year=y, quantile_level=0.5))
            for y in back["year"].values
        },
        "focus_rank_first_5": back["focus_rank"].sel(metric="score", year=2030).values[:5].tolist(),
    }
    print(f"wrote {OUT.relative_to(HERE.parent.parent)}")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
