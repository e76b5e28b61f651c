"""Regenerate the README's example figure and example headline from the baseline scenario.

Run from the repository root::

    .venv/bin/python docs/make_figures.py            # the scenario's own draws and seed
    .venv/bin/python docs/make_figures.py --draws 20000   # the figure only

It runs configs/baseline.toml (falling back to the gaussian-race example if the baseline is
missing, and saying so) and writes docs/figures/baseline-probability.png. With the scenario's
own draws and seed the figure shows the numbers `make run` prints, and the README's example
headline (the ``text`` block after the ``HEADLINE_MARK`` comment) is rewritten with exactly what
`make run` prints, its timing from this machine; tests/integration/test_readme.py checks that
block against a real `make run`. The PNG carries no date, so the same seed, scenario and
library versions give the same file.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from simulator import run
from simulator.plots import plot
from simulator.plots.files import figure_bytes, write_bytes
from simulator.scenario import load_scenario
from simulator.views.run import headline

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "baseline.toml"
FALLBACK = ROOT / "configs" / "examples" / "gaussian-race.toml"
OUT = ROOT / "docs" / "figures" / "baseline-probability.png"
LIMIT = 150_000  # [bytes]: keep the repository small
DPI = 120
README = ROOT / "README.md"
HEADLINE_MARK = "<!-- the headline of `make run`, written by docs/make_figures.py -->"


def readme_headline(text: str) -> str:
    """The README's example headline block (between its mark and the closing fence)."""
    after = text.split(HEADLINE_MARK, 1)[1]
    return after.split("```text\n", 1)[1].split("\n```", 1)[0]


def write_readme_headline(block: str) -> None:
    """Replace the README's example headline block with ``block``."""
    text = README.read_text(encoding="utf-8")
    old = readme_headline(text)
    head, tail = text.split(HEADLINE_MARK, 1)
    README.write_text(head + HEADLINE_MARK + tail.replace(old, block, 1), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, help="draws [default: the scenario's]")
    args = parser.parse_args(argv)
    scenario = BASELINE if BASELINE.exists() else FALLBACK
    if scenario is FALLBACK:
        print(f"note: {BASELINE} is missing; drawing {FALLBACK.name} instead", file=sys.stderr)
    # As `make run` (--workers auto), so that the headline's timing is the one it prints.
    ds = run(load_scenario(scenario), draws=args.draws, workers=max(1, os.cpu_count() or 1))
    data = figure_bytes(plot(ds, "probability"), "png", dpi=DPI)
    if len(data) > LIMIT:
        print(f"error: the PNG is {len(data):,} bytes, over {LIMIT:,}", file=sys.stderr)
        return 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(OUT, data)
    print(f"saved {OUT.relative_to(ROOT)} ({len(data) / 1000:.0f} kB) from {scenario.name}")
    if args.draws is None and scenario is BASELINE:
        lines = [line.rstrip() for line in headline(ds).splitlines()]
        write_readme_headline("\n".join([*lines, "saved results/baseline.nc"]))
        print(f"rewrote the example headline of {README.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
