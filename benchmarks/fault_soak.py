"""Random SIGKILLs of a run (the parent, or one local worker), then ``--resume``: count outcomes.

Every trial must end "identical to the uninterrupted run" or "one clear line, non-zero exit,
nothing lost" (then a further ``--resume`` must give the identical file). Anything else is
printed and counted as a failure; the exit status is the number of failures (capped at 100).

    python benchmarks/fault_soak.py --trials 20 --seed 1
    python benchmarks/fault_soak.py --scenario configs/baseline.toml --draws 150000 --trials 5

Kill times are drawn uniformly between 0.5 s and the uninterrupted run's wall time, from a
seeded generator, so a soak can be repeated.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tomli_w
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.results import open_results  # noqa: E402

TIMING = ("created_utc", "elapsed_s", "command", "history")


def _race(folder: Path, draws: int) -> Path:
    countries = {f"C{i:02d}": {"mean": float(i), "sd": 3.0} for i in range(30)}
    countries["KOR"] = {"mean": 25.0, "sd": 5.0}
    doc = {
        "scenario": {
            "name": "soak",
            "model": "gaussian_race",
            "focus": "KOR",
            "top_k": 3,
            "years": list(range(2026, 2041)),
            "draws": draws,
            "seed": 5,
            "block_size": 4096,
        },
        "model": {"countries": countries},
        "factors": {"a": {"dist": "pert", "low": 0, "mode": 1, "high": 3}},
    }
    path = folder / "soak.toml"
    path.write_text(tomli_w.dumps(doc))
    return path


def _strip(ds):
    ds = ds.copy()
    for a in TIMING:
        ds.attrs.pop(a, None)
    return ds


def _cmd(scenario: Path, out: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "simulator", "run", str(scenario), "-q", "-o", str(out), *extra]


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scenario", type=Path, help="a scenario file (default: a 31-country race)")
    ap.add_argument("--draws", type=int, default=400_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    work = Path(tempfile.mkdtemp(prefix="g3sim-soak-"))
    scen = args.scenario.resolve() if args.scenario else _race(work, args.draws)
    extra = ["-n", str(args.draws), "--workers", str(args.workers), "--checkpoint-every", "0.5"]
    t0 = time.perf_counter()
    subprocess.run(_cmd(scen, work / "ref.nc", extra), check=True, cwd=work)
    wall = time.perf_counter() - t0
    ref = _strip(open_results(work / "ref.nc"))
    print(f"reference run: {wall:.1f} s; {args.trials} trials, kills in [0.5, {wall:.1f}] s")
    outcomes = {"identical": 0, "one-line error, then identical": 0, "FAILED": 0}
    for trial in range(args.trials):
        out = work / f"t{trial}.nc"
        victim_is_worker = bool(rng.integers(2)) and args.workers > 1
        delay = float(rng.uniform(0.5, wall))
        proc = subprocess.Popen(_cmd(scen, out, extra), cwd=work, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        kids = _children(proc.pid)
        if victim_is_worker and kids:
            os.kill(kids[0], signal.SIGKILL)
        elif proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=600)
        code = proc.returncode
        lines = err.strip().splitlines()
        what = "worker" if victim_is_worker and kids else "parent"
        first_ok = code == 0 or code == -9 or (len(lines) == 1 and "Traceback" not in err)
        if not out.exists() or code != 0:
            # Killed before its first checkpoint: nothing to resume, so the plain command again.
            again = ["--resume"] if (work / f"{out.name}.checkpoint").exists() else []
            res = subprocess.run(
                _cmd(scen, out, [*extra, *again]), cwd=work, capture_output=True, text=True
            )
            if res.returncode != 0:
                print(
                    f"  trial {trial}: kill at {delay:.2f} s, exit {code}, then {again}: "
                    f"failed ({res.returncode}): {res.stderr.strip()}"
                )
                outcomes["FAILED"] += 1
                continue
        try:
            xr.testing.assert_identical(_strip(open_results(out)), ref)
            same = True
        except AssertionError:
            same = False
        left = [p.name for p in work.iterdir() if p.name.startswith(f".{out.name}")]
        ok = same and first_ok and not left and not (work / f"{out.name}.checkpoint").exists()
        kind = "identical" if code in (0, -9) else "one-line error, then identical"
        outcomes[kind if ok else "FAILED"] += 1
        said = f" ({lines[0][:90]})" if code not in (0, -9) and lines else ""
        verdict = "identical after resume" if ok else f"FAILED: same={same} left={left} {err}"
        print(f"  trial {trial}: kill {what} at {delay:.2f} s → exit {code}{said}; {verdict}")
        out.unlink(missing_ok=True)
    print("outcomes:", ", ".join(f"{k} {v}" for k, v in outcomes.items()))
    shutil.rmtree(work, ignore_errors=True)
    return min(outcomes["FAILED"], 100)


if __name__ == "__main__":
    sys.exit(main())
