"""Scenario fuzzing through the real CLI: random broken scenarios, run, classified.

Shared by ``tests/properties/test_fuzz.py`` (CI-sized, derandomized) and
``benchmarks/fuzz_scenarios.py`` (long runs by hand). A :class:`Case` is a folder of files: an entry
scenario, the files it ``extends``, maybe a symlink or a FIFO, and ``--set`` overrides. Cases start
from valid scenarios (the gaussian-race example, the property tests' rich gaussian race,
``configs/baseline.toml`` and its ``extends`` variants) and break them: deleted keys, wrong types,
extreme and non-finite numbers, unicode, huge arrays and tables, long horizons, cyclic or outside
``extends``, deep nesting, damaged text. :func:`run_case` writes the folder, calls ``g3sim
validate`` (and ``g3sim run -n 200`` for every case that validates and a sample of the others)
in-process with ``click.testing.CliRunner``, and classifies each outcome (:data:`GOOD` or a failure
kind).
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import re
import shutil
import signal
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tomli_w
from click.testing import CliRunner
from hypothesis import assume
from hypothesis import strategies as st

from simulator.cli import main
from simulator.errors import key_part, short_repr
from tests.helpers.scenario_strategies import (
    KNOWN_KEYS,
    SPECIAL,
    locations,
    override_values,
    rich_base,
    toml_text,
    toml_values,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
VARIANTS = tuple(
    sorted(
        p.name
        for p in CONFIGS.glob("*.toml")
        if tomllib.loads(p.read_text()).get("extends") == "baseline.toml"
    )
)
RUN_ARGS = ("-n", "200", "--seed", "1", "-q", "--force")

# Outcomes that are fine: the scenario ran, or it was refused with one clean line (exit 2), or
# its observations rejected every draw (a result about the scenario, exit 1, one line).
OK, CONFIG_ERROR, NO_DRAW_AGREES = "ok", "config error", "no draw agrees"
GOOD = (OK, CONFIG_ERROR, NO_DRAW_AGREES)

EXTREMES = [
    0,
    -0.0,
    1,
    -1,
    1e-300,
    5e-324,
    -5e-324,
    1e16,
    2**53 + 1,
    1e100,
    1e150,
    1e300,
    1e308,
    -1e308,
    1.7976931348623157e308,
    2**63 - 1,
    -(2**63),
    10**400,
    math.inf,
    -math.inf,
    math.nan,
]
UNICODE = [
    "é",
    "\u202e",
    "🦀",
    "Ω≈ç√",
    "\u0000",
    "a\nb",
    "\t",
    "\x1b[31m",
    "ＫＯＲ",
    "\ufeff",
    "한국",
]
HUGE = (1_000, 10_000, 100_000)  # lengths of huge arrays and tables
MUTATIONS = (
    "delete",
    "replace",
    "extreme",
    "scale",
    "unicode",
    "huge",
    "years",
    "observe",
    "add",
    "key",
)
# Keys that the validators know, so that added keys often land on a meaningful name.
FUZZ_KEYS = [
    *KNOWN_KEYS,
    *("year", "country", "metric", "rank", "rank_tolerance", "rank_range", "score", "score_sd"),
    *("drift_sd", "volatility", "regional_share", "organic_growth", "retirement_rate"),
    *("installed_h100e", "investment_growth", "reform_probability", "fraction", "delay"),
]


class Hang(BaseException):
    """A CLI call took longer than its limit (BaseException: nothing in g3sim catches it)."""


@dataclass
class Case:
    """One fuzz case: files to write (path → text or bytes), the entry file, overrides."""

    files: dict[str, str | bytes]
    entry: str
    overrides: tuple[str, ...] = ()
    run: bool = False
    labels: list[str] = field(default_factory=list)
    symlinks: dict[str, str] = field(default_factory=dict)  # link → target (may be absolute)
    fifos: tuple[str, ...] = ()

    def describe(self, limit: int = 300) -> str:
        sets = "".join(f" --set {short_repr(o, 80)}" for o in self.overrides)
        return f"{self.entry}{sets}: " + "; ".join(short_repr(lb, limit) for lb in self.labels)


@dataclass
class Outcome:
    """How one CLI call ended: a kind (``GOOD`` or a failure) and what it printed."""

    command: str
    kind: str
    exit_code: int | None
    stderr: str
    detail: str = ""

    @property
    def good(self) -> bool:
        return self.kind in GOOD


# ---------------------------------------------------------------------------------------------
# The valid starting points


def _base_files(name: str) -> tuple[dict[str, dict], str]:
    """Parsed files (path → data) and the entry path of base ``name``."""
    if name == "gaussian":
        data = tomllib.loads((CONFIGS / "examples" / "gaussian-race.toml").read_text())
        return {"scen/gaussian.toml": data}, "scen/gaussian.toml"
    if name == "rich":
        return {"scen/rich.toml": rich_base()}, "scen/rich.toml"
    files = {"configs/baseline.toml": tomllib.loads((CONFIGS / "baseline.toml").read_text())}
    if name != "baseline.toml":
        files[f"configs/{name}"] = tomllib.loads((CONFIGS / name).read_text())
    return files, f"configs/{name}"


_BASES: dict[str, tuple[dict[str, dict], str]] = {}


def base_files(name: str) -> tuple[dict[str, dict], str]:
    if name not in _BASES:
        _BASES[name] = _base_files(name)
    files, entry = _BASES[name]
    return copy.deepcopy(files), entry


BASE_NAMES = ("gaussian", "rich", "baseline.toml", *VARIANTS)


def dotted(path: tuple) -> str:
    return ".".join(key_part(p) if isinstance(p, str) else f"[{p}]" for p in path)


# ---------------------------------------------------------------------------------------------
# Mutations of parsed data


def _huge_value(draw, sizes):
    n = draw(st.sampled_from(sizes))
    kind = draw(st.sampled_from(["ints", "floats", "tables", "countries", "text"]))
    if kind == "ints":
        return f"{n} ints", list(range(n))
    if kind == "floats":
        return f"{n} floats", [float(i) * 0.5 for i in range(n)]
    if kind == "tables":
        return f"{min(n, 10_000)} tables", [
            {"year": 2024, "rank": i} for i in range(min(n, 10_000))
        ]
    if kind == "countries":
        m = min(n, 10_000)
        return f"{m} countries", {f"C{i:05d}": {"mean": float(i), "sd": 1.0} for i in range(m)}
    return f"text of {n * 10} chars", "x" * (n * 10)


def mutate(draw, d: dict, where: str, *, huge: tuple[int, ...] = HUGE) -> str:
    """Apply one random mutation to ``d`` in place; return its description."""
    spots = list(locations(d))
    kind = draw(st.sampled_from([m for m in MUTATIONS if huge or m != "huge"]))
    if kind == "years":
        if not isinstance(d.get("scenario"), dict):
            d["scenario"] = {}
        sc = d["scenario"]
        hi = draw(st.sampled_from([2030, 2050, 2100, 2101, 2200]))
        lo = draw(st.sampled_from([1900, 2021, 2022, 2025, 2030]))
        step = draw(st.sampled_from([1, 5, 10]))
        sc["years"] = list(range(lo, hi + 1, step)) or [hi]
        return f"{where}: scenario.years = range({lo}, {hi + 1}, {step})"
    if kind == "observe":  # an observation, often one that few or no draws reproduce
        sc = d.get("scenario") if isinstance(d.get("scenario"), dict) else {}
        years = sc.get("years") if isinstance(sc.get("years"), list) and sc["years"] else [2030]
        obs = {
            "year": draw(st.sampled_from(years) | st.integers(1899, 2201)),
            "country": draw(st.sampled_from(["KOR", "USA", "CHN", "GBR", "XXX"])),
        }
        if draw(st.booleans()):
            obs["score"] = draw(
                st.sampled_from([0, 30, 900, 1000, -1e6, 1e300]) | st.floats(-1e3, 1e3)
            )
            obs["score_sd"] = draw(st.sampled_from([1e-300, 1e-3, 0.5, 25, 1e300]))
        if draw(st.booleans()) or "score" not in obs:
            obs["rank"] = draw(st.integers(-1, 70))
            obs["rank_tolerance"] = draw(st.integers(0, 3))
        if not isinstance(d.get("observations"), list):
            d["observations"] = []
        d["observations"].append(obs)
        return f"{where}: observe {obs}"
    if kind == "add" or not spots:
        containers = [((), d)] + [(p, c[k]) for c, k, p in spots if isinstance(c[k], dict | list)]
        path, box = draw(st.sampled_from(containers))
        value = draw(toml_values)
        if isinstance(box, dict):
            key = draw(st.sampled_from(FUZZ_KEYS) | st.text(max_size=8))
            box[key] = value
            return f"{where}: add {dotted((*path, key))} = {short_repr(value)}"
        box.insert(draw(st.integers(0, len(box))), value)
        return f"{where}: insert into {dotted(path)}: {short_repr(value)}"
    box, k, path = draw(st.sampled_from(spots))
    old = box[k]
    if kind == "delete":
        del box[k]
        return f"{where}: delete {dotted(path)}"
    if kind == "key" and isinstance(box, dict):  # rename a key (a factor, a country ...)
        new = draw(st.sampled_from(UNICODE) | st.text(max_size=6) | st.sampled_from(FUZZ_KEYS))
        value = box.pop(k)
        box[new] = value
        return f"{where}: rename {dotted(path)} to {new!r}"
    if kind == "extreme" or (kind == "scale" and not isinstance(old, int | float)):
        box[k] = draw(st.sampled_from(EXTREMES))
    elif kind == "scale":
        exponent = draw(st.integers(-320, 320))
        sign = draw(st.sampled_from([1, -1]))
        with contextlib.suppress(OverflowError):
            box[k] = sign * old * 10.0**exponent if exponent < 309 else sign * math.inf
    elif kind == "unicode":
        box[k] = draw(st.sampled_from(UNICODE) | st.text(min_size=1, max_size=12))
    elif kind == "huge":
        what, box[k] = _huge_value(draw, huge)
        return f"{where}: {dotted(path)} = <{what}>"
    else:  # replace by any TOML value, of any type
        box[k] = draw(toml_values | st.sampled_from(SPECIAL))
    new_value = box.get(k) if isinstance(box, dict) else box[k]
    return f"{where}: {kind} {dotted(path)} = {short_repr(new_value)}"


# ---------------------------------------------------------------------------------------------
# Mutations of files and links

LINKS = (
    "self",
    "cycle",
    "chain",
    "missing",
    "directory",
    "outside-relative",
    "outside-absolute",
    "symlink-outside",
    "dev-null",
    "dev-zero",
    "fifo",
)


def _link(draw, files: dict, entry: str, case: Case) -> None:
    kind = draw(st.sampled_from(LINKS))
    folder = str(Path(entry).parent)
    name = Path(entry).name
    data = files[entry]
    if kind == "self":
        data["extends"] = name
    elif kind == "cycle":
        files[f"{folder}/loop.toml"] = {"extends": name}
        data["extends"] = "loop.toml"
    elif kind == "chain":
        n = draw(st.integers(15, 20))
        parent = data.pop("extends", None)
        data["extends"] = "chain0.toml"
        for i in range(n):
            files[f"{folder}/chain{i}.toml"] = {"extends": f"chain{i + 1}.toml"}
        files[f"{folder}/chain{n}.toml"] = {"extends": parent} if parent else {}
        kind = f"chain of {n}"
    elif kind == "missing":
        data["extends"] = "nope.toml"
    elif kind == "directory":
        data["extends"] = draw(st.sampled_from([".", "..", "/"]))
    elif kind in ("outside-relative", "outside-absolute", "symlink-outside"):
        parent = data.get("extends")
        if isinstance(parent, str) and f"{folder}/{parent}" in files:  # move it out
            files[f"other/{parent}"] = files.pop(f"{folder}/{parent}")
        else:
            files["other/parent.toml"] = {}
            parent = "parent.toml"
        if kind == "outside-relative":
            data["extends"] = f"../other/{parent}"
        elif kind == "outside-absolute":
            data["extends"] = f"@ROOT@/other/{parent}"  # the case folder, filled in when written
        else:
            case.symlinks[f"{folder}/link.toml"] = f"../other/{parent}"
            data["extends"] = "link.toml"
    elif kind == "dev-null":
        data["extends"] = "/dev/null"
    elif kind == "dev-zero":
        data["extends"] = "/dev/zero"
    else:
        data["extends"] = "pipe.toml"
        case.fifos = (f"{folder}/pipe.toml",)
    case.labels.append(f"extends: {kind}")


def _deep(draw, text: str) -> tuple[str, str]:
    """Nesting ``depth`` levels deep: a table header, a top-level dotted key, inline tables."""
    depth = draw(st.sampled_from([40, 200, 1000, 3000]))
    keys = ".".join(f"k{i}" for i in range(depth))
    form = draw(st.sampled_from(["table", "dotted", "inline"]))
    if form == "table":
        prefix = draw(st.sampled_from(["model", "scenario", "factors", "x", "model.countries"]))
        return f"deep: [{prefix}.k0...] depth {depth}", f"{text}\n[{prefix}.{keys}]\nv = 1\n"
    if form == "dotted":
        return f"deep: dotted key depth {depth}", f"x.{keys} = 1\n{text}"
    inline = "{a = " * depth + "1" + "}" * depth
    return f"deep: inline tables depth {depth}", f"deep = {inline}\n{text}"


def _damage(draw, text: str) -> tuple[str, str | bytes]:
    kinds = ["truncate", "bytes", "bom", "crlf", "line", "duplicate", "digits"]
    kind = draw(st.sampled_from(kinds))
    raw = text.encode()
    if kind == "truncate":
        i = draw(st.integers(0, len(raw)))
        return f"text: truncated at byte {i}", raw[:i]
    if kind == "bytes":
        i = draw(st.integers(0, len(raw)))
        junk = draw(st.binary(min_size=1, max_size=8))
        return f"text: {junk!r} inserted at byte {i}", raw[:i] + junk + raw[i:]
    if kind == "bom":
        return "text: UTF-8 BOM", "\ufeff" + text
    if kind == "crlf":
        return "text: CRLF line ends", text.replace("\n", "\r\n")
    if kind == "digits":  # an integer Python refuses to parse (more than 4300 digits)
        n = draw(st.sampled_from([400, 4300, 4301, 10_000]))
        big = f"= 1{'0' * (n - 1)}"
        return f"text: first integer with {n} digits", re.sub(r"= \d+", big, text, count=1)
    lines = text.splitlines()
    i = draw(st.integers(0, max(len(lines) - 1, 0)))
    if kind == "duplicate" and lines:
        return f"text: line {i + 1} duplicated", "\n".join([*lines[: i + 1], *lines[i:]])
    new = draw(st.text(max_size=30))
    return f"text: line {i + 1} = {new!r}", "\n".join([*lines[:i], new, *lines[i + 1 :]])


def _override(draw, data: dict) -> str:
    spots = [p for _, _, p in locations(data) if all(isinstance(x, str) for x in p)]
    kind = draw(st.sampled_from(["spot", "spot", "known", "deep", "surrogate", "extends", "raw"]))
    if kind == "deep":
        return "model." + ".".join(f"k{i}" for i in range(draw(st.sampled_from([50, 3000])))) + "=1"
    if kind == "surrogate":  # what a non-UTF-8 byte on the command line becomes
        return draw(
            st.sampled_from(["scenario.name", "scenario.description", "factors.x.dist"])
        ) + ("=caf\udce9")
    if kind == "extends":
        return "extends=" + draw(st.sampled_from(["nope.toml", "/dev/zero", '"x.toml"']))
    key = (
        dotted(draw(st.sampled_from(spots)))
        if kind == "spot" and spots
        else ".".join(draw(st.lists(st.sampled_from(KNOWN_KEYS), min_size=1, max_size=3)))
    )
    if kind == "raw":
        return f"{key}={draw(st.text(max_size=20))}"
    value = draw(
        override_values
        | st.sampled_from([v for v in EXTREMES if not isinstance(v, int) or abs(v) < 2**63])
    )
    try:
        return f"{key}={toml_text(value)}"
    except (AssertionError, TypeError, ValueError):
        return f"{key}={value}"


@st.composite
def cases(draw, run_fraction: float = 0.2, huge: tuple[int, ...] = HUGE) -> Case:
    """A random broken (or intact) scenario case.

    Every case is validated; one that validates is also run, and so is ``run_fraction`` of the
    others (to check that ``run`` refuses them the same way).

    ``huge`` are the lengths of huge arrays and tables (none: no such mutation).
    """
    base = draw(st.sampled_from(BASE_NAMES))
    files, entry = base_files(base)
    case = Case(files={}, entry=entry, labels=[f"base {base}"])
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(sorted(files)))
        case.labels.append(mutate(draw, files[where], where, huge=huge))
    if draw(st.integers(0, 5)) == 0:
        _link(draw, files, entry, case)
    texts: dict[str, str | bytes] = {}
    for path, data in files.items():
        try:
            texts[path] = tomli_w.dumps(data)
        except (TypeError, ValueError, RecursionError):
            assume(False)
    if draw(st.integers(0, 9)) == 0:
        label, texts[entry] = _deep(draw, texts[entry])
        case.labels.append(label)
    if draw(st.integers(0, 9)) == 0:
        label, texts[entry] = _damage(draw, texts[entry])
        case.labels.append(label)
    case.files = texts
    case.overrides = tuple(_override(draw, files[entry]) for _ in range(draw(st.integers(0, 2))))
    case.run = draw(st.integers(0, 999)) < run_fraction * 1000
    return case


# ---------------------------------------------------------------------------------------------
# Running a case


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the main thread after ``seconds``."""

    def on_alarm(signum, frame):
        raise Hang(f"no answer after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def case_folder(case: Case) -> Iterator[Path]:
    """The case's files in a fresh temporary folder, which is the working directory."""
    folder = Path(tempfile.mkdtemp(prefix="g3fuzz-"))
    cwd = os.getcwd()
    try:
        for path, content in case.files.items():
            p = folder / path
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                content = content.replace("@ROOT@", str(folder)).encode()
            p.write_bytes(content)
        for link, target in case.symlinks.items():
            (folder / link).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, folder / link)
        for fifo in case.fifos:
            (folder / fifo).parent.mkdir(parents=True, exist_ok=True)
            os.mkfifo(folder / fifo)
        (folder / "results").mkdir()
        os.chdir(folder)
        yield folder
    finally:
        os.chdir(cwd)
        shutil.rmtree(folder, ignore_errors=True)


def _is_warning(line: str) -> bool:
    return line.startswith("g3sim: warning: ") or "extends reaches outside its folder" in line


def classify(res, command: str) -> Outcome:
    """The kind of outcome of one ``CliRunner`` result."""
    err = res.stderr
    lines = [ln for ln in err.splitlines() if not _is_warning(ln)]
    code = res.exit_code

    def out(kind: str, detail: str = "") -> Outcome:
        return Outcome(command, kind, code, err, detail)

    if res.exception is not None and not isinstance(res.exception, SystemExit):
        return out("uncaught exception", repr(res.exception))
    if "Traceback" in res.output:
        return out("traceback")
    if "internal error" in err:
        return out("internal error")
    if code == 0:
        return out("stderr noise on success") if lines else out(OK)
    if len(lines) != 1 or not err.endswith("\n"):
        return out("not one stderr line")
    if not lines[0].startswith("g3sim"):
        return out("stderr line not from g3sim")
    if code == 2:
        return out(CONFIG_ERROR)
    if code == 1 and re.search(r"observations: no draw out of [\d,]+ agrees with", lines[0]):
        return out(NO_DRAW_AGREES)
    return out(f"exit {code} (2 expected for a bad scenario)")


def check_results(path: Path) -> str:
    """Why the results file at ``path`` is wrong ("" if it is fine)."""
    from simulator.results import open_results

    ds = open_results(path)
    for name in ("p_top", "p_top_lower", "p_top_upper", "rank_probability", "value_quantile"):
        values = np.asarray(ds[name].values, dtype=float)
        if not np.isfinite(values).all():
            return f"non-finite {name}"
    for name in ("value_mean", "value_sd"):
        if not np.isfinite(np.asarray(ds[name].values, dtype=float)).all():
            return f"non-finite {name}"
    p = ds["p_top"].values
    if (p < 0).any() or (p > 1).any():
        return "p_top outside [0, 1]"
    total = ds["rank_probability"].sum("rank_position").values
    if not np.allclose(total, 1.0, atol=1e-9):
        return "rank probabilities do not sum to 1"
    return ""


def invoke(args: list[str], seconds: float):
    runner = CliRunner()
    with time_limit(seconds):
        return runner.invoke(main, args, prog_name="g3sim")


def run_case(case: Case, *, hang_s: float = 30.0) -> list[Outcome]:
    """Validate the case, and run it if it validates or ``case.run``; each command's outcome."""
    sets = [a for o in case.overrides for a in ("--set", o)]
    outcomes = []
    with case_folder(case):
        try:
            res = invoke(["validate", case.entry, *sets], hang_s)
            outcomes.append(classify(res, "validate"))
        except Hang as exc:
            return [Outcome("validate", "hang", None, "", str(exc))]
        if not (case.run or outcomes[0].kind == OK):
            return outcomes
        try:
            res = invoke(["run", case.entry, *RUN_ARGS, *sets], hang_s)
        except Hang as exc:
            return [*outcomes, Outcome("run", "hang", None, "", str(exc))]
        ran = classify(res, "run")
        if ran.kind == OK:
            saved = [ln for ln in res.stdout.splitlines() if ln.startswith("saved ")]
            try:
                problem = check_results(Path(saved[-1][6:])) if saved else "no 'saved' line"
            except Exception as exc:  # a file that cannot be read back is a failure too
                problem = f"unreadable results: {exc}"
            if problem:
                ran = Outcome("run", "bad results file", 0, res.stderr, problem)
        elif ran.kind == CONFIG_ERROR and outcomes[0].kind == OK:
            ran = Outcome("run", "run refused what validate accepted", 2, res.stderr)
        outcomes.append(ran)
    return outcomes
