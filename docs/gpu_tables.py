"""Print the anchor and programme tables of docs/model.md (section 4) from the packaged data.

.venv/bin/python docs/gpu_tables.py
"""

from __future__ import annotations

from simulator.models.ai_race.tortoise import gpu_anchors, gpu_register


def _k(x: float) -> str:
    return f"{x / 1e6:.1f}M" if x >= 1e6 else f"{x / 1e3:.0f}k"


def _links(source: str) -> str:
    urls = [u.strip() for u in source.split(";") if u.strip()]
    return ", ".join(f"[{i + 1}]({u})" for i, u in enumerate(urls))


def anchors_table() -> str:
    lines = [
        "| country | low | central | high | basis | sources |",
        "|---|---|---|---|---|---|",
    ]
    for a in sorted(gpu_anchors().values(), key=lambda a: -a.central):
        cells = [a.iso3, _k(a.low), _k(a.central), _k(a.high), a.basis, _links(a.source)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def programmes_table() -> str:
    lines = [
        "| country | id | GPUs (cap) | H100e/GPU | schedule | status | licence | in country "
        "| counted | basis | source |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in gpu_register():
        gpus = f"{r.gpus:,.0f}" if r.gpus == r.gpus else "—"
        h = f"{r.h100e_per_gpu:g}" if r.h100e_per_gpu == r.h100e_per_gpu else "—"
        end = f"{r.end:g}" if r.end == r.end else "—"
        counted = "yes" if r.counted else f"no: {r.overlap}"
        cells = [
            r.iso3,
            f"`{r.id}`",
            gpus,
            h,
            f"{r.start:g}–{end}",
            r.status,
            "US" if r.licence else "",
            f"{r.in_country:g}",
            counted,
            r.basis,
            f"[link]({r.source_url})",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(anchors_table())
    print()
    print(programmes_table())
