"""Long fuzz run of scenario files through the real CLI (run by hand; CI runs a short version).

Random mutations of valid scenarios — the gaussian-race example, the property tests' rich
gaussian race, configs/baseline.toml and its ``extends`` variants — are written to a temporary
folder and checked with ``g3sim validate``; those that validate, and a sample of the others,
are also run with ``g3sim run -n 200``. The
mutations: deleted keys, wrong types, extreme and non-finite numbers, unicode, huge arrays and
tables, long horizons, observations few draws reproduce, cyclic, long, missing and outside
``extends``, devices and FIFOs as parents, deep nesting, damaged text, ``--set`` overrides (deep
keys, non-UTF-8 bytes). tests/helpers/fuzz_cases.py builds the cases and classifies the outcomes:

* good: ``ok``; ``config error`` (exit 2, one stderr line); ``no draw agrees`` (the observations
  rejected every draw: exit 1, one line);
* failures: an uncaught exception or traceback, an internal error, exit 1 where 2 is due, more
  than one stderr line, a hang (no answer after ``--hang`` seconds), a results file with NaN or
  inf in p_top, its interval, rank_probability, value_quantile, value_mean or value_sd, and a
  run refused where ``validate`` accepted the same scenario.

Usage (from the repository root; ``timeout`` guards against a hang inside C code)::

    timeout 900 .venv/bin/python benchmarks/fuzz_scenarios.py --seconds 600 --seed 1 \\
        --save /tmp/g3fuzz-failures

It prints the number of cases, the outcome counts per command, and the first examples of each
kind of failure; ``--save`` writes each failing case's files (replay them with the printed
command). Exit status 1 if anything failed.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import re
import resource
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/ holds the case generator shared with CI

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from tests.helpers.fuzz_cases import Case, Outcome, cases, run_case  # noqa: E402


class _Stop(BaseException):
    """Time is up (a BaseException, so that hypothesis does not take it for a failure)."""


def _signature(o: Outcome) -> str:
    """A failure's kind and message with numbers and quoted values blurred (for grouping)."""
    text = re.sub(
        r"'[^']*'|\"[^\"]*\"", "'…'", o.stderr.strip().splitlines()[-1] if o.stderr else ""
    )
    text = re.sub(r"\b[0-9]+\b", "N", text)
    return f"{o.command}: {o.kind}: {text[:100]}"


def _save(case: Case, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path, content in case.files.items():
        p = folder / path
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.replace("@ROOT@", str(folder)).encode()
        p.write_bytes(content)
    for link, target in case.symlinks.items():
        os.symlink(target, folder / link)
    for fifo in case.fifos:
        os.mkfifo(folder / fifo)
    sets = " ".join(f"--set {o!r}" for o in case.overrides)
    (folder / "README.txt").write_text(
        f"cd {folder} && g3sim validate {case.entry} {sets}\n{case.describe(2000)}\n",
        errors="backslashreplace",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="stop after this long")
    ap.add_argument("--examples", type=int, default=None, help="stop after this many cases")
    ap.add_argument("--seed", type=int, default=0, help="hypothesis seed (same seed, same cases)")
    ap.add_argument(
        "--run-fraction", type=float, default=0.2, help="share of invalid cases also run"
    )
    ap.add_argument("--hang", type=float, default=30.0, help="seconds before a call is a hang")
    ap.add_argument("--show", type=int, default=3, help="examples shown per kind of failure")
    ap.add_argument("--save", type=Path, help="folder for the failing cases' files")
    ap.add_argument(
        "--memory-gb", type=float, default=8.0, help="address-space limit (MemoryError, not OOM)"
    )
    args = ap.parse_args(argv)

    limit = int(args.memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    warnings.simplefilter("always")  # every warning is printed, so it shows as a stderr line
    os.environ.pop("G3SIM_DEBUG", None)

    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    failures: dict[str, list[tuple[Outcome, Case]]] = collections.defaultdict(list)
    tried = 0
    t0 = time.monotonic()
    last_report = t0

    @settings(
        max_examples=args.examples or 10**9,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @seed(args.seed)
    @given(case=cases(run_fraction=args.run_fraction))
    def fuzz(case: Case) -> None:
        nonlocal tried, last_report
        if time.monotonic() - t0 > args.seconds:
            raise _Stop
        tried += 1
        for o in run_case(case, hang_s=args.hang):
            counts[(o.command, o.kind)] += 1
            if not o.good:
                failures[_signature(o)].append((o, case))
                if args.save:
                    _save(case, args.save / f"{sum(map(len, failures.values())):05d}")
        if time.monotonic() - last_report > 60:
            last_report = time.monotonic()
            bad = sum(map(len, failures.values()))
            print(f"  {tried:,} cases, {bad:,} failures, {last_report - t0:,.0f} s", flush=True)

    with contextlib.suppress(_Stop):
        fuzz()
    elapsed = time.monotonic() - t0

    print(f"\n{tried:,} cases in {elapsed:,.0f} s ({tried / elapsed:,.1f}/s), seed {args.seed}")
    for command in ("validate", "run"):
        row = {k: v for (c, k), v in counts.items() if c == command}
        total = sum(row.values())
        print(f"  {command} ({total:,}):")
        for kind, n in sorted(row.items(), key=lambda kv: -kv[1]):
            print(f"    {kind:<40} {n:>7,}")
    n_fail = sum(map(len, failures.values()))
    print(f"\n{n_fail:,} failures in {len(failures)} kinds")
    for sig, items in sorted(failures.items(), key=lambda kv: -len(kv[1])):
        print(f"\n[{len(items):,}×] {sig}")
        for o, case in items[: args.show]:
            print(f"    case: {case.describe(160)}")
            print(f"    stderr: {o.stderr.strip()[:400]!s}")
            if o.detail:
                print(f"    detail: {o.detail[:300]}")
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
