"""Rebuild the packaged GPU data of ``ai_race`` from the project's shared data (run by hand).

    .venv/bin/python docs/build_gpu_data.py /work/shared/data

Writes two files of simulator/data/ (SOURCES.md records their provenance):

* ``gpu_clusters_tracked_h100e.csv``: Epoch AI's tracked, operational cluster capacity [H100e]
  by country at 31 Dec 2022, 2023, 2024 and 31 Oct 2025, summed from the GPU-clusters export
  (``gpu_anchors_work/gpu_clusters.csv``, CC BY). A record whose ``Superseded by`` names a later
  phase is dropped from the date that later phase is operational (the later record describes the
  enlarged cluster): the earlier sum double-counted them (US 1.38M → 1.07M at Oct 2025).
* ``gpu_anchors_2025.csv``: one row per country (and WLD, the world): the recommended 2025
  anchor of ``gpu_stock_anchors_2025.csv`` (low, central, high H100e installed in the country),
  its basis, the sources of its supporting rows and its derivation.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "simulator" / "data"
DATES = ("2022-12-31", "2023-12-31", "2024-12-31", "2025-10-31")
EPOCH_NAMES = {  # Epoch's country names that differ from countries.csv's data_name
    "Korea (Republic of)": "South Korea",
    "United Kingdom of Great Britain and Northern Ireland": "United Kingdom",
    "Czechia": "Czech Republic",
}
ANCHOR = "recommended 2025 anchor"
#: Anchors added by this project (the shared file has none for these countries): each an
#: estimate, low/central/high in H100e, with its sources and derivation.
EXTENSIONS = (
    {
        "iso3": "DNK",
        "low": "2000",
        "central": "4000",
        "high": "10000",
        "basis": "estimate",
        "source": "https://byteseu.com/517320 ; " + "https://github.com/cnyke/cnyke.github.io/"
        "blob/a64f15ae5aeaad54cb242e17952fbcfedface04d/dist/data/EpochAI/gpu_clusters/gpu_clusters.csv",
        "derivation": "Estimate (this project): Gefion, 1,528 H100 (Novo Nordisk Foundation/EIFO, "
        "Oct 2024; Epoch lists 3,032 H100e) + hyperscaler Copenhagen regions (unknown). "
        "Low: Gefion alone; high allows ~3x the tracked capacity.",
    },
    {
        "iso3": "ISL",
        "low": "5000",
        "central": "7000",
        "high": "15000",
        "basis": "estimate",
        "source": "https://github.com/cnyke/cnyke.github.io/blob/a64f15ae5aeaad54cb242e17952fbcfed"
        "face04d/dist/data/EpochAI/gpu_clusters/gpu_clusters.csv",
        "derivation": "Estimate (this project): Epoch tracks Nebius ISEG2 (4,992 H100e, Jun 2025) "
        "and Opera KEF-1 (248); other neocloud hosts (atNorth, Verne) unknown. Coverage 1-3x.",
    },
    {
        "iso3": "AUS",
        "low": "3000",
        "central": "10000",
        "high": "30000",
        "basis": "estimate",
        "source": "https://www.aicerts.ai/news/australias-sovereign-cluster-deployment-momentum-"
        "explained ; https://futuronetwork.info/blog/2026-03-14-australia-sovereign-ai-compute-"
        "capacity ; https://github.com/cnyke/cnyke.github.io/blob/a64f15ae5aeaad54cb242e17952fb"
        "cfedface04d/dist/data/EpochAI/gpu_clusters/gpu_clusters.csv",
        "derivation": "Estimate (this project, low confidence): Epoch tracks 0.6k (CSIRO Virga, "
        "Setonix); Sharon AI 1,016 GPUs (Mar 2025), ResetData 'thousands of H200', plus the AWS, "
        "Azure and GCP Sydney/Melbourne regions (AI content unknown). Firmus/Sharon AI Blackwell "
        "fleets arrive from 2026 (gpu_programmes.csv).",
    },
)
WORLD = "World AI accelerator stock, sum of Epoch vendor medians"


def _date(s: str) -> dt.date | None:
    s = s[:10]
    return dt.date.fromisoformat(s) if s.count("-") == 2 else None


def tracked(export: Path) -> dict[str, list[float]]:
    """Operational H100e by Epoch country name at each of DATES, superseded phases dropped."""
    rows = list(csv.DictReader(export.open(encoding="utf-8")))
    first = {r["Name"].strip(): _date(r["First Operational Date"]) for r in rows}
    out: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(DATES))
    for r in rows:
        if r["Status"] not in ("Existing", "Decommissioned") or not r["H100 equivalents"]:
            continue
        start = _date(r["First Operational Date"])
        end = _date(r["Decommissioned Date (if applicable)"])
        later = first.get(r["Superseded by"].strip()) if r["Superseded by"].strip() else None
        for i, d in enumerate(map(dt.date.fromisoformat, DATES)):
            if start is None or start > d or (end and end <= d) or (later and later <= d):
                continue
            out[r["Country"] or "(none)"][i] += float(r["H100 equivalents"])
    return out


def write_tracked(export: Path) -> None:
    names = {r["data_name"] for r in csv.DictReader((DATA / "countries.csv").open())}
    sums = tracked(export)
    world = [sum(v[i] for v in sums.values()) for i in range(len(DATES))]
    rows = []
    for epoch_name, values in sums.items():
        name = EPOCH_NAMES.get(epoch_name, epoch_name)
        if name in names and values[-1] > 0:
            rows.append((name, values))
    rows.sort(key=lambda r: -r[1][-1])
    with (DATA / "gpu_clusters_tracked_h100e.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["country", *DATES])
        w.writerow(["World (tracked)", *(round(v) for v in world)])
        for name, values in rows:
            w.writerow([name, *(round(v) for v in values)])


def write_anchors(shared: Path) -> None:
    rows = list(csv.DictReader((shared / "gpu_stock_anchors_2025.csv").open(encoding="utf-8")))
    sources: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["source_url"] and r["source_url"] not in sources[r["iso3"]]:
            sources[r["iso3"]].append(r["source_url"])
    out = []
    for r in rows:
        if ANCHOR in r["quantity"] or (r["iso3"] == "WLD" and r["quantity"].startswith(WORLD)):
            out.append(
                {
                    "iso3": r["iso3"],
                    "low": r["low"],
                    "central": r["central"],
                    "high": r["high"],
                    "basis": r["basis"],
                    "source": " ; ".join(sources[r["iso3"]]),
                    "derivation": r["note"],
                }
            )
    out += EXTENSIONS
    with (DATA / "gpu_anchors_2025.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(out[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("shared", type=Path, help="the shared data folder (gpu_stock_anchors_2025.csv)")
    args = ap.parse_args()
    write_tracked(args.shared / "gpu_anchors_work" / "gpu_clusters.csv")
    write_anchors(args.shared)


if __name__ == "__main__":
    main()
