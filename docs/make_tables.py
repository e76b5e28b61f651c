"""Regenerate the scenario tables of docs/model.md (run by hand; prints Markdown).

Every scenario in configs/ runs with the same seed and draws (common random numbers), with and
without history, and the table gives P(focus rank ≤ top_k) with 95% intervals for the chosen years.

    python docs/make_tables.py --draws 200000 --workers 2 --years 2027 2030
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from simulator import run
from simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
ORDER = [
    "baseline",
    "full-delivery",
    "delivery-delays",
    "investment-rebound",
    "investment-slump",
    "regulatory-reform",
    "export-controls",
    "gulf-buildout",
]


def cell(ds, metric, year):
    sel = ds.sel(metric=metric, year=year, country=ds.attrs["focus"])
    p, lo, hi = (float(sel[v]) for v in ("p_top", "p_top_lower", "p_top_upper"))
    return f"{p:.1%} [{lo:.1%}, {hi:.1%}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=20260122)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--years", type=int, nargs="+", default=[2027, 2030])
    args = ap.parse_args()
    for history in (True, False):
        cols = [f"{m} {y}" for m in ("ai_index", "gpu_stock") for y in args.years]
        label = "with history (conditioned on 2023–2025)" if history else "without history"
        print(
            f"\n{label}: {args.draws:,} draws, seed {args.seed}, P(KOR rank ≤ 3) [95% interval]\n"
        )
        print("| scenario | " + " | ".join(cols) + " | ESS | s |")
        print("|---" * (len(cols) + 3) + "|")
        for stem in ORDER:
            sc = load_scenario(ROOT / "configs" / f"{stem}.toml")
            t0 = time.perf_counter()
            ds = run(
                sc,
                draws=args.draws,
                seed=args.seed,
                keep_draws=False,
                workers=args.workers,
                history=history,
            )
            dt = time.perf_counter() - t0
            cells = [cell(ds, m, y) for m in ("ai_index", "gpu_stock") for y in args.years]
            ess = float(ds["effective_sample_size"])
            print(f"| {stem} | " + " | ".join(cells) + f" | {ess:,.0f} | {dt:.1f} |", flush=True)


if __name__ == "__main__":
    main()
