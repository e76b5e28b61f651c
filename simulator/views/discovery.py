"""Text and JSON views of a scenario discovery (:class:`~.analysis.discovery_study.Discovery`)."""

from __future__ import annotations

import json
import math
from functools import partial
from typing import Any

from ..analysis.discovery_study import Discovery
from .format import finite_or_none, number, percent

# These views print exact 0 and 1 as "0.0%" and "100.0%" (views/format.py).
_pct = partial(percent, bare_ends=False)


def discovery_data(d: Discovery) -> dict[str, Any]:
    """A Discovery as plain data (the JSON document)."""
    r = d.prim
    tr = r.trajectory
    i = r.chosen
    restrictions = _restrictions(d)
    return {
        "analysis": "discovery",
        "verdict": verdict(d, restrictions),
        "method": "prim",
        "scenario": d.scenario_name,
        "result": d.source,
        "focus": d.focus,
        "top_k": d.top_k,
        "metric": d.metric,
        "year": d.year,
        "draws": r.n,
        "seed": d.seed,
        "weighted": d.weighted,
        "base_density": r.base_density,
        "peel_alpha": r.alpha,
        "min_mass": r.min_mass,
        "min_coverage": r.min_coverage,
        "threshold_density": r.threshold_density,
        "rule": r.rule,
        "note": r.note,
        "box": {
            "step": i,
            "coverage": float(tr.coverage[i]),
            "density": float(tr.density[i]),
            "mass": float(tr.mass[i]),
            "draws": int(tr.n[i]),
            "effective_sample_size": float(tr.ess[i]),
            "significant_restrictions": sum(
                r["quasi_p"] is not None and r["quasi_p"] <= 0.05 for r in restrictions
            ),
            "restrictions": restrictions,
        },
        "trajectory": [
            {
                "step": s,
                "coverage": float(tr.coverage[s]),
                "density": float(tr.density[s]),
                "mass": float(tr.mass[s]),
                "draws": int(tr.n[s]),
                "restricted": int(tr.restricted[s]),
                "peeled": tr.peeled[s],
            }
            for s in range(len(tr.coverage))
        ],
    }


def _restrictions(d: Discovery) -> list[dict[str, Any]]:
    """The chosen box's restricted factors, most significant first."""
    r = d.prim
    tr = r.trajectory
    i = r.chosen
    out = []
    for j in r.restricted:
        lo, hi = float(tr.lower[i, j]), float(tr.upper[i, j])
        out.append(
            {
                "factor": r.names[j],
                "lower": lo,
                "upper": hi,
                "restricts_lower": bool(lo > r.data_lower[j]),
                "restricts_upper": bool(hi < r.data_upper[j]),
                "data_lower": float(r.data_lower[j]),
                "data_upper": float(r.data_upper[j]),
                "quasi_p": finite_or_none(r.quasi_p[j]),
                "units": d.factor_units.get(r.names[j], ""),
                "description": d.factor_descriptions.get(r.names[j], ""),
            }
        )
    return out


def _significant(r: dict[str, Any]) -> bool:
    return r["quasi_p"] is not None and r["quasi_p"] <= 0.05


def verdict(d: Discovery, restrictions: list[dict[str, Any]] | None = None) -> str:
    """One sentence first: is there a significant box, and what does it do?"""
    r = d.prim
    rs = _restrictions(d) if restrictions is None else restrictions
    what = f"{d.focus}'s rank ≤ {d.top_k} in {d.metric} {d.year}"
    base = _pct(r.base_density)
    if not rs:
        return (
            f"No significant box: no factor range makes {what} clearly more likely than its "
            f"base rate ({base})."
        )
    sig = [x for x in rs if _significant(x)]
    if not sig:
        return (
            f"No significant box: the best box found ({len(rs)} restriction"
            f"{'s' if len(rs) > 1 else ''}) could be chance (every quasi-p > 0.05); the factors "
            f"do not delimit where {what} happens."
        )
    i = r.chosen
    tr = r.trajectory
    names = ", ".join(x["factor"] for x in sig)
    return (
        f"A box with {len(sig)} significant restriction{'s' if len(sig) > 1 else ''} ({names}) "
        f"raises the chance of {what} from {base} to {_pct(float(tr.density[i]))}, holding "
        f"{_pct(float(tr.coverage[i]))} of the draws where it happens."
    )


def discovery_json(d: Discovery) -> str:
    return json.dumps(discovery_data(d), indent=2, allow_nan=False, ensure_ascii=False)


def _range(r: dict[str, Any]) -> str:
    lo, hi = number(r["lower"]), number(r["upper"])
    if r["restricts_lower"] and r["restricts_upper"]:
        return f"{lo} – {hi}"
    return f"≥ {lo}" if r["restricts_lower"] else f"≤ {hi}"


def discovery_text(d: Discovery, *, rows: int = 12) -> str:
    doc = discovery_data(d)
    box = doc["box"]
    weighted = " · weighted (history matching)" if d.weighted else ""
    lines = [
        doc["verdict"],
        "",
        f"Scenario discovery (PRIM) · {d.scenario_name} · {d.focus} rank ≤ {d.top_k} in "
        f"{d.metric} {d.year} · {d.source}",
        f"{doc['draws']:,} draws · seed {d.seed} · base rate {_pct(doc['base_density'])} · "
        f"peel alpha {doc['peel_alpha']:g}{weighted}",
        "",
        f"chosen box (step {box['step']} of {len(doc['trajectory']) - 1}): {doc['rule']}",
        f"  coverage {_pct(box['coverage'])} · density {_pct(box['density'])} "
        f"(base {_pct(doc['base_density'])}) · mass {_pct(box['mass'])} · "
        f"{box['draws']:,} draws",
    ]
    if doc["note"]:
        lines.append(f"  note: {doc['note']}")
    if box["restrictions"]:
        rs = box["restrictions"]
        fw = max(len("factor"), *(len(r["factor"]) for r in rs))
        lines.append(
            f"  {'factor':<{fw}}  {'in the box':<22}{'full range':<24}{'quasi-p':>9}  "
            "units  description"
        )
        for r in rs:
            full = f"{number(r['data_lower'])} – {number(r['data_upper'])}"
            qp = "n/a" if r["quasi_p"] is None else number(r["quasi_p"], digits=2)
            lines.append(
                f"  {r['factor']:<{fw}}  {_range(r):<22}{full:<24}{qp:>9}  "
                f"{r['units'] or '-':<5}  {r['description']}".rstrip()
            )
        lines.append(
            "  (most significant first; a quasi-p-value above 0.05 marks a restriction that may "
            "be chance)"
        )
        if not doc["box"]["significant_restrictions"]:
            lines.append(
                "  no restriction is significant (every quasi-p > 0.05): the factors do not "
                "delimit where the outcome happens; compare `g3sim sensitivity`"
            )
    else:
        lines.append(
            "  no restriction: no factor range makes the outcome clearly more likely than the "
            "base rate"
        )
    lines += _trajectory_lines(doc, rows)
    return "\n".join(line.rstrip() for line in lines)


def _trajectory_lines(doc: dict[str, Any], rows: int) -> list[str]:
    """The peeling trajectory, at most about ``rows`` steps (the chosen box always)."""
    box = doc["box"]
    tr = doc["trajectory"]
    step = max(1, math.ceil(len(tr) / rows))
    shown = sorted({*range(0, len(tr), step), len(tr) - 1, box["step"]})
    lines = [
        "",
        f"peeling trajectory ({len(tr) - 1} peels; every {step}th shown, * = chosen)"
        if step > 1
        else f"peeling trajectory ({len(tr) - 1} peels, * = chosen)",
        f"  {'step':>5}  {'coverage':>8}  {'density':>8}  {'mass':>7}  {'draws':>8}  "
        f"{'restricted':>10}  peeled",
    ]
    for s in shown:
        t = tr[s]
        mark = "*" if s == box["step"] else " "
        lines.append(
            f" {mark}{s:>5}  {_pct(t['coverage']):>8}  {_pct(t['density']):>8}  "
            f"{_pct(t['mass']):>7}  {t['draws']:>8,}  {t['restricted']:>10}  {t['peeled']}"
        )
    return lines
