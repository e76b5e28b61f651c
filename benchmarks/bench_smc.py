"""Sequential Monte Carlo against rejection, on this machine (run by hand; figures in README).

For a scenario (default: the baseline) and both conditioning methods, in one run:

* wall time, draws/s, the effective sample size (Kish, weights grouped by initial ancestor)
  and, for the headline P(focus top k) of each metric in the last year, the *variance-equivalent*
  sample size ``p(1-p)/V`` (engine/smc.py) and effective draws per second;
* ``--seeds K``: an empirical check that does not trust any variance estimator: K independent
  seeds of each method, each given the same wall-time budget (the draws rejection needs for
  the budget are scaled by the measured speed ratio), and the ratio of the variances of the
  headline between seeds (rejection ÷ SMC: the efficiency at equal wall time);
* ``--reference-draws N``: a rejection run of N draws (10^7 for the issue's check) and the
  distance of the SMC headline from it in combined standard errors.

Example::

    python benchmarks/bench_smc.py --draws 200000 --seeds 8 --json results/bench_smc.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

import simulator as g3
from simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
Z95 = 1.959964


def headline(ds, year: int) -> dict[str, dict[str, float]]:
    """Per metric: p_top of the focus in ``year``, its standard error and effective sizes."""
    out = {}
    focus = ds.attrs["focus"]
    for metric in ds["metric"].values:
        sel = ds.sel(metric=metric, year=year, country=focus)
        se = float(sel["p_top_upper"] - sel["p_top_lower"]) / 2 / Z95
        out[str(metric)] = {
            "p": float(sel["p_top"]),
            "se": se,
            "variance_ess": float(sel["p_top_effective_sample_size"]),
        }
    return out


def one_run(sc, method: str, draws: int, seed: int, workers: int) -> dict:
    t = time.perf_counter()
    ds = g3.run(sc, draws=draws, seed=seed, conditioning=method, keep_draws=False, workers=workers)
    wall = time.perf_counter() - t
    year = int(ds["year"].values[-1])
    h = headline(ds, year)
    ess = float(ds["effective_sample_size"])
    return {
        "method": method,
        "draws": draws,
        "seed": seed,
        "wall_s": wall,
        "draws_per_s": draws / wall,
        "ess": ess,
        "ess_fraction": ess / draws,
        "year": year,
        "headline": h,
        "effective_draws_per_s": {m: v["variance_ess"] / wall for m, v in h.items()},
    }


def equal_time_variance(sc, speed: dict[str, float], draws: int, seeds: int, workers: int):
    """Variance of the headline between seeds, each method given the same wall time."""
    budget = draws / speed["smc"]  # the SMC run's time
    plan = {"smc": draws, "rejection": int(budget * speed["rejection"])}
    runs = {
        m: [one_run(sc, m, n, 1000 + s, workers) for s in range(seeds)] for m, n in plan.items()
    }
    out = {"draws": plan, "seeds": seeds}
    for metric in runs["smc"][0]["headline"]:
        var = {
            m: float(np.var([r["headline"][metric]["p"] for r in rs], ddof=1))
            for m, rs in runs.items()
        }
        mean_se = {
            m: float(np.sqrt(np.mean([r["headline"][metric]["se"] ** 2 for r in rs])))
            for m, rs in runs.items()
        }
        out[metric] = {
            "between_seed_sd": {m: v**0.5 for m, v in var.items()},
            "mean_reported_se": mean_se,
            "efficiency_at_equal_time": var["rejection"] / var["smc"] if var["smc"] > 0 else None,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "configs" / "baseline.toml"))
    ap.add_argument("--draws", type=int, default=200_000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=0, help="equal-time seeds per method")
    ap.add_argument("--reference-draws", type=int, default=0)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    sc = load_scenario(a.scenario)
    g3.run(sc, draws=2048, seed=1, keep_draws=False)  # load the compiled kernels
    res = {m: one_run(sc, m, a.draws, 7, a.workers) for m in ("smc", "rejection")}
    report = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "scenario": a.scenario,
        "runs": res,
        "ratios": {
            m: res["smc"]["effective_draws_per_s"][m] / res["rejection"]["effective_draws_per_s"][m]
            for m in res["smc"]["headline"]
        },
    }
    if a.seeds:
        speed = {m: r["draws_per_s"] for m, r in res.items()}
        report["equal_time"] = equal_time_variance(sc, speed, a.draws, a.seeds, a.workers)
    if a.reference_draws:
        ref = one_run(sc, "rejection", a.reference_draws, 99, a.workers)
        report["reference"] = ref
        report["smc_vs_reference_in_se"] = {
            m: (res["smc"]["headline"][m]["p"] - ref["headline"][m]["p"])
            / float(np.hypot(res["smc"]["headline"][m]["se"], ref["headline"][m]["se"]))
            for m in ref["headline"]
        }
    text = json.dumps(report, indent=1)
    print(text)
    if a.json:
        a.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
