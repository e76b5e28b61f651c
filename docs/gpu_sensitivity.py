"""One-at-a-time sensitivity of P(Korea in the top 3 GPU holders, 2030) (run by hand).

Each remaining assumption of the GPU account (a number of configs/baseline.toml or of the data
that is not sourced, or a sourced estimate) is set to a low and a high value, all else as in the
baseline, and the baseline is re-run with the same seed (common random numbers). A status prior
is changed for every programme of that status, Korea's included (their fractions and delay are
factors with the prior's distribution). Prints the Markdown table of docs/model.md (4.5):

    .venv/bin/python docs/gpu_sensitivity.py --draws 40000

History conditioning is off (``history=False``): the observations concern the index up to
2025 and the GPU account does not depend on the index, so the GPU answer is the same in
expectation (section 4.5 compares the baseline with and without history).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from simulator import run
from simulator.models.ai_race.tortoise import gpu_anchors
from simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "baseline.toml"
KOR_FRACTIONS = ("government", "samsung", "sk", "hyundai", "naver")
RIVALS = ("JPN", "GBR", "DEU", "FRA", "IND", "MYS", "NLD", "CAN", "SAU", "ARE", "SGP", "AUS")


def const(factor: str, value: float) -> str:
    return f'factors.{factor}={{dist = "constant", value = {value}}}'


def kor_fractions(value: float) -> list[str]:
    return [const(f"kor_fraction_{k}", value) for k in KOR_FRACTIONS]


def pert(factor: str, low: float, mode: float, high: float) -> str:
    return f'factors.{factor}={{dist = "pert", low = {low}, mode = {mode}, high = {high}}}'


def prior(status: str, key: str, v: tuple[float, float, float]) -> list[str]:
    """A status prior changed for every programme of that status, Korea's factors included."""
    out = [f"model.gpu.status.{status}.{key}=[{v[0]}, {v[1]}, {v[2]}]"]
    if key == "fraction":
        who = ("government",) if status == "contracted" else KOR_FRACTIONS[1:]
        out += [pert(f"kor_fraction_{k}", *v) for k in who if status in ("contracted", "announced")]
    elif status == "announced":
        out.append(pert("kor_delivery_delay", *v))
    return out


def rival_anchors(which: str) -> list[str]:
    a = gpu_anchors()
    return [f"model.countries.{c}.installed_h100e={getattr(a[c], which)}" for c in RIVALS]


#: (assumption, baseline value, (low label, overrides), (high label, overrides))
CASES = [
    (
        "world organic growth `gpu_organic_growth` [1/yr]",
        "TN(0.45, 0.2)",
        ("0.25", [const("gpu_organic_growth", 0.25)]),
        ("0.65", [const("gpu_organic_growth", 0.65)]),
    ),
    (
        "retirement `gpu_retirement_rate` [1/yr]",
        "PERT(0.08, 0.15, 0.25)",
        ("0.08", [const("gpu_retirement_rate", 0.08)]),
        ("0.25", [const("gpu_retirement_rate", 0.25)]),
    ),
    (
        "growth-signal pass-through `gpu_signal_passthrough`",
        "PERT(0, 0.5, 1)",
        ("0", [const("gpu_signal_passthrough", 0.0)]),
        ("1", [const("gpu_signal_passthrough", 1.0)]),
    ),
    (
        "`organic_growth_dispersion` (no signal) [1/yr]",
        "0.10",
        ("0.05", ["model.gpu.organic_growth_dispersion=0.05"]),
        ("0.20", ["model.gpu.organic_growth_dispersion=0.2"]),
    ),
    (
        "`signal_dispersion` [1/yr]",
        "0.05",
        ("0.02", ["model.gpu.signal_dispersion=0.02"]),
        ("0.10", ["model.gpu.signal_dispersion=0.1"]),
    ),
    (
        "`programme_correlation`",
        "0.5",
        ("0", ["model.gpu.programme_correlation=0"]),
        ("1", ["model.gpu.programme_correlation=1"]),
    ),
    (
        "export licences `gpu_export_licence`",
        "PERT(0.1, 0.4, 0.9)",
        ("0.1", [const("gpu_export_licence", 0.1)]),
        ("0.9", [const("gpu_export_licence", 0.9)]),
    ),
    (
        "announced prior, fraction",
        "[0.2, 0.6, 1.0]",
        ("[0.1, 0.4, 0.8]", prior("announced", "fraction", (0.1, 0.4, 0.8))),
        ("[0.4, 0.8, 1.0]", prior("announced", "fraction", (0.4, 0.8, 1.0))),
    ),
    (
        "MoU prior, fraction",
        "[0, 0.25, 0.8]",
        ("[0, 0.1, 0.5]", prior("mou", "fraction", (0.0, 0.1, 0.5))),
        ("[0.1, 0.5, 1.0]", prior("mou", "fraction", (0.1, 0.5, 1.0))),
    ),
    (
        "contracted prior, fraction",
        "[0.5, 0.9, 1.0]",
        ("[0.3, 0.7, 1.0]", prior("contracted", "fraction", (0.3, 0.7, 1.0))),
        ("[0.8, 0.95, 1.0]", prior("contracted", "fraction", (0.8, 0.95, 1.0))),
    ),
    (
        "announced and MoU priors, delay [yr]",
        "[0, 1, 3]; [0, 1.5, 4]",
        (
            "shorter",
            prior("announced", "delay", (0.0, 0.5, 2.0)) + prior("mou", "delay", (0.0, 1.0, 3.0)),
        ),
        (
            "longer",
            prior("announced", "delay", (0.5, 2.0, 4.0)) + prior("mou", "delay", (0.5, 2.5, 5.0)),
        ),
    ),
    (
        "Korea's delivered fractions `kor_fraction_*` (all five)",
        "status priors",
        ("0.3", kor_fractions(0.3)),
        ("1.0", kor_fractions(1.0)),
    ),
    (
        "Korea's delay `kor_delivery_delay` [yr]",
        "PERT(0, 1, 3)",
        ("0", [const("kor_delivery_delay", 0.0)]),
        ("3", [const("kor_delivery_delay", 3.0)]),
    ),
    (
        "H100e per Korean Nvidia GPU (B200 2.27; GB300 2.53; Rubin-class, assumption)",
        "2.27",
        (
            "2.0",
            [f"model.countries.KOR.programmes.nvidia_{k}.h100e_per_gpu=2.0" for k in KOR_FRACTIONS],
        ),
        (
            "3.5",
            [f"model.countries.KOR.programmes.nvidia_{k}.h100e_per_gpu=3.5" for k in KOR_FRACTIONS],
        ),
    ),
    (
        "Korea's 260k schedule: a linear ramp to the end of (year)",
        "2030",
        ("2032", [f"model.countries.KOR.programmes.nvidia_{k}.end=2033.0" for k in KOR_FRACTIONS]),
        ("2028", [f"model.countries.KOR.programmes.nvidia_{k}.end=2029.0" for k in KOR_FRACTIONS]),
    ),
    (
        "SK–AWS Ulsan (overlap with SK's 50k stated, not counted)",
        "not counted",
        ("not counted", []),
        ("counted in full", ["model.countries.KOR.programmes.sk_aws_ulsan.counted=true"]),
    ),
    (
        "Korea's 2025 anchor (estimate)",
        "PERT(45k, 70k, 100k)",
        ("45k", ["model.countries.KOR.installed_h100e=45000"]),
        ("100k", ["model.countries.KOR.installed_h100e=100000"]),
    ),
    (
        "rivals' 2025 anchors (estimates; 12 countries together)",
        "PERT per country",
        ("all at low", rival_anchors("low")),
        ("all at high", rival_anchors("high")),
    ),
    (
        "Reliance Jamnagar GPU count (estimate from 1 GW)",
        "450k",
        ("225k", ["model.countries.IND.programmes.reliance_jamnagar.gpus=225000"]),
        ("450k", []),
    ),
    (
        "Fluidstack France (MoU, 500k)",
        "status mou",
        ("not counted", ["model.countries.FRA.programmes.fluidstack.counted=false"]),
        ("status announced", ['model.countries.FRA.programmes.fluidstack.status="announced"']),
    ),
    (
        "Humain share installed in Saudi Arabia `in_country`",
        "0.5",
        ("0.2", ["model.countries.SAU.programmes.humain.in_country=0.2"]),
        ("0.8", ["model.countries.SAU.programmes.humain.in_country=0.8"]),
    ),
    (
        "Stargate UAE beyond 200 MW: GPUs (500 per MW, assumption)",
        "400k",
        ("200k", ["model.countries.ARE.programmes.stargate_uae.gpus=200000"]),
        ("600k", ["model.countries.ARE.programmes.stargate_uae.gpus=600000"]),
    ),
    (
        "delivered prior, fraction",
        "[0.9, 1.0, 1.0]",
        ("[0.6, 0.9, 1.0]", prior("delivered", "fraction", (0.6, 0.9, 1.0))),
        ("[1.0, 1.0, 1.0]", prior("delivered", "fraction", (0.99, 1.0, 1.0))),
    ),
    (
        "anchor draw shape `anchor_lambda` (PERT λ)",
        "4",
        ("0 (uniform)", ["model.gpu.anchor_lambda=0"]),
        ("16 (near the central)", ["model.gpu.anchor_lambda=16"]),
    ),
    (
        "`unanchored_h100e` [H100e]",
        "1,000",
        ("0", ["model.gpu.unanchored_h100e=0"]),
        ("2,000", ["model.gpu.unanchored_h100e=2000"]),
    ),
]


def p_kor(overrides: list[str], draws: int, seed: int) -> tuple[float, float, float]:
    sc = load_scenario(BASELINE, ["scenario.years=[2030]", *overrides])
    ds = run(sc, draws=draws, seed=seed, history=False)
    sel = ds.sel(metric="gpu_stock", year=2030, country="KOR")
    return tuple(float(sel[v]) for v in ("p_top", "p_top_lower", "p_top_upper"))


def fmt(p: tuple[float, float, float]) -> str:
    return f"{p[0]:.1%} [{p[1]:.1%}, {p[2]:.1%}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=40_000)
    ap.add_argument("--seed", type=int, default=20260122)
    args = ap.parse_args()
    t0 = time.time()
    base = p_kor([], args.draws, args.seed)
    print(
        f"Baseline: P(KOR top 3 GPU holders, 2030) = {fmt(base)}; {args.draws:,} draws, seed "
        f"{args.seed}, no history.\n"
    )
    print("| assumption | baseline | low | P at low | high | P at high | max/min |")
    print("|---|---|---|---|---|---|---|")
    for name, value, (lo_label, lo), (hi_label, hi) in CASES:
        p_lo = p_kor(lo, args.draws, args.seed) if lo else base
        p_hi = p_kor(hi, args.draws, args.seed) if hi else base
        ps = [p_lo[0], base[0], p_hi[0]]
        ratio = max(ps) / min(ps) if min(ps) > 0 else float("inf")
        flag = " **>2×**" if ratio > 2 else ""
        print(
            f"| {name} | {value} | {lo_label} | {fmt(p_lo)} | {hi_label} | {fmt(p_hi)} | "
            f"{ratio:.2f}{flag} |"
        )
    print(f"\n({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
