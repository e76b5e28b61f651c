"""Robustness (issue 8): what the scenario fuzz found, numerical safety, the trust boundary.

1. Each bug benchmarks/fuzz_scenarios.py found, as a small CLI case: one line on stderr, exit 2,
   no traceback, no hang (deep nesting, non-UTF-8 overrides, devices and FIFOs as parents, over-
   long names, control characters in messages, degenerate histogram bins, far observations).
2. Extreme but valid scenarios give results files without NaN or inf; parameters that would
   overflow are refused when the scenario is validated, with a message that says so.
3. A scenario is data: loading one opens only the files it names and runs none of its text;
   a parent outside the scenario's folder is allowed and noted in ``Scenario.warnings``.
4. What the fuzz found outside the scenario/model layer (engine, results, CLI; fixed there).
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from simulator.errors import one_line
from simulator.results import open_results
from simulator.scenario import MAX_NESTING, load_scenario
from tests.helpers.cli import assert_error, invoke
from tests.helpers.fuzz_cases import check_results, time_limit
from tests.helpers.scenarios import CONFIGS, FIVE, gaussian_dict

FINITE_VARS = ("p_top", "p_top_lower", "p_top_upper", "rank_probability", "value_quantile")


def write(folder: Path, name: str, data: dict | str) -> str:
    text = data if isinstance(data, str) else tomli_w.dumps(data)
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return name


def gauss(**sc) -> dict:
    return gaussian_dict(FIVE, draws=300, **sc)


def run_ok(*args) -> Path:
    """``g3sim run`` that must succeed; the results file, checked for non-finite values."""
    res = invoke("run", *args, "-q", "--force", "-o", "out.nc")
    assert res.exit_code == 0, res.stderr
    assert check_results(Path("out.nc")) == ""
    return Path("out.nc")


def baseline() -> dict:
    return tomllib.loads((CONFIGS / "baseline.toml").read_text())


# ---------------------------------------------------------------------------------------------
# 1. What the fuzz found


@pytest.mark.parametrize(
    "extra",
    [
        "\n[model." + ".".join(f"k{i}" for i in range(3000)) + "]\nv = 1\n",
        "\n[model]\n" + ".".join(f"k{i}" for i in range(3000)) + " = 1\n",
        "\n[model." + ".".join(f"k{i}" for i in range(MAX_NESTING)) + "]\nv = 1\n",
    ],
    ids=["table-3000", "dotted-3000", "table-33"],
)
def test_deeply_nested_tables_are_one_line_errors(in_tmp, extra):
    """Was a RecursionError (internal error) in merging, key paths and TOML output."""
    write(in_tmp, "deep.toml", tomli_w.dumps(gauss()) + extra)
    for command in ("validate", "run"):
        assert_error(
            invoke(command, "deep.toml"),
            2,
            "deep.toml: model.k0.k1.…: nested more than 32 levels deep; flatten the tables",
        )


def test_nesting_up_to_the_limit_is_read(in_tmp):
    keys = ".".join(f"k{i}" for i in range(MAX_NESTING - 1))  # model + 31 parts: 32 levels
    write(in_tmp, "ok.toml", tomli_w.dumps(gauss()) + f"\n[model.{keys}]\nv = 1\n")
    assert_error(invoke("validate", "ok.toml"), 2, "ok.toml: model.k0: unknown key")


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("model." + ".".join(f"k{i}" for i in range(3000)) + "=1", ["a key of 3001 parts"]),
        ("scenario.name=caf\udce9", ["not UTF-8 text; retype it"]),  # a non-UTF-8 byte in argv
        ("extends=other.toml", ["extends cannot be overridden", "edit the file's extends line"]),
    ],
    ids=["deep-key", "not-utf8", "extends"],
)
def test_bad_overrides_are_one_line_errors(in_tmp, override, words):
    write(in_tmp, "s.toml", gauss())
    for command in ("validate", "run"):
        assert_error(invoke(command, "s.toml", "--set", override), 2, "--set '", *words)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("a" * 121, ["scenario.name: is too long for a file name (121 bytes", "at most 120"]),
        ("🦀" * 31, ["(124 bytes as UTF-8, at most 120); shorten it"]),
        ("a\u202eb", ["control or invisible characters"]),
        ("a\x1b[2Jb", ["control or invisible characters"]),
    ],
    ids=["long", "long-utf8", "bidi-override", "escape"],
)
def test_names_that_cannot_be_file_names_are_refused(in_tmp, name, words):
    """A 300-character name was an internal OSError (file name too long) when the run saved."""
    write(in_tmp, "s.toml", gauss(name=name))
    assert_error(invoke("run", "s.toml", "-q"), 2, "s.toml: scenario.name: ", *words)


def test_the_longest_name_allowed_runs(in_tmp):
    write(in_tmp, "s.toml", gauss(name="🦀" * 30))  # 120 bytes
    res = invoke("run", "s.toml", "-q", "-n", "50")
    assert res.exit_code == 0, res.stderr
    assert (in_tmp / "results" / ("🦀" * 30 + ".nc")).exists()


@pytest.mark.parametrize(
    ("parent", "words"),
    [
        ("/dev/zero", ["extends: /dev/zero: not a regular file (a device, pipe or socket)"]),
        ("pipe.toml", ["extends: pipe.toml: not a regular file"]),
        (".", ["extends: .: a directory, not a scenario file"]),
        ("x" * 5000, ["…: cannot read it (File name too long)", "fix the file name"]),
    ],
    ids=["device", "fifo", "directory", "name-too-long"],
)
def test_parents_that_are_not_regular_files_are_refused_at_once(in_tmp, parent, words):
    """/dev/zero filled the memory, a FIFO blocked forever, a long name was an OSError."""
    os.mkfifo(in_tmp / "pipe.toml")
    write(in_tmp, "child.toml", f'extends = "{parent}"\n')
    with time_limit(10):
        res = invoke("validate", "child.toml")
    assert_error(res, 2, "child.toml: ", *words)


def test_a_scenario_file_over_16_mb_is_refused(in_tmp):
    with open(in_tmp / "big.toml", "wb") as fh:
        fh.truncate(16 * 2**20 + 1)  # sparse: no time or disk spent
    assert_error(invoke("validate", "big.toml"), 2, "big.toml: larger than 16 MB")


def test_a_scenario_that_is_not_a_regular_file_is_refused(in_tmp):
    """`g3sim list` blocked forever on a FIFO named x.toml; /dev/zero filled the memory."""
    write(in_tmp, "a.toml", gauss())
    os.mkfifo(in_tmp / "pipe.toml")
    with time_limit(10):
        res = invoke("list", in_tmp)
        assert_error(invoke("validate", "/dev/zero"), 2, "/dev/zero: not a regular file")
    assert res.exit_code == 0, res.stderr
    pipe = res.stdout.splitlines()[2]
    assert pipe.startswith("pipe ") and "pipe.toml  INVALID: " in pipe
    assert "not a regular file (a device, pipe or socket)" in res.stdout


@pytest.mark.parametrize("char", [chr(c) for c in (*range(32), *range(127, 160), 0x2028, 0x2029)])
def test_one_line_escapes_every_line_break_and_control_character(char):
    text = one_line(f"key{char}value")
    if char == "\t":
        assert text == "key\tvalue"
    else:
        assert len(text.splitlines()) == 1 and text.isprintable(), repr(text)
        assert text.startswith("key\\") and text.endswith("value")


def test_a_line_separator_in_an_override_stays_on_one_line(in_tmp):
    """U+0085 and U+2028 split a message in two for str.splitlines (found by the fuzz)."""
    write(in_tmp, "s.toml", gauss())
    line = assert_error(invoke("validate", "s.toml", "--set", "x\x85y\u2028z=1"), 2)
    assert "x\\x85y\\u2028z" in line


def test_an_integer_of_more_than_4300_digits_is_a_one_line_error(in_tmp):
    """Python refuses to convert such an integer: tomllib raised a bare ValueError."""
    big = "1" + "0" * 5000
    write(in_tmp, "s.toml", tomli_w.dumps(gauss()).replace("top_k = 3", f"top_k = {big}"))
    assert_error(invoke("validate", "s.toml"), 2, "s.toml: TOML number with more than 4300 digits")
    write(in_tmp, "ok.toml", gauss())
    line = assert_error(invoke("validate", "ok.toml", "--set", f"scenario.top_k={big}"), 2)
    assert "scenario.top_k: must be a whole number" in line and len(line) < 400


@pytest.mark.parametrize("key", ["model.pillar_offsets.talent", "model.drift_sd"])
def test_an_integer_beyond_the_float_range_is_a_config_error(in_tmp, key):
    """math.isfinite(10**400) raises OverflowError: was an internal error in ai_race's table."""
    res = invoke("validate", CONFIGS / "baseline.toml", "--set", f"{key}=1{'0' * 400}")
    assert_error(res, 2, f"{key}: must be a finite number")


def test_an_observed_score_beyond_the_float_range_is_a_config_error(in_tmp):
    d = gauss()
    d["observations"] = [{"year": 2030, "country": "KOR", "score": 10**400, "score_sd": 1}]
    write(in_tmp, "s.toml", d)
    assert_error(invoke("run", "s.toml", "-q"), 2, "observations[0].score: needs a finite number")


@pytest.mark.parametrize(
    "countries",
    [
        {"USA": (1e100, 1e-200), "KOR": (1e100, 1e-200)},  # the spread is below float resolution
        {"USA": (0, 5e-324), "KOR": (0, 5e-324), "GBR": (0, 5e-324)},  # subnormal spreads
        {"USA": (1e100, 1e-10), "KOR": (-1e100, 1e100)},
    ],
    ids=["below-resolution", "subnormal", "mixed"],
)
def test_spreads_below_float_resolution_run(in_tmp, countries):
    """Were a ZeroDivisionError: the histogram's span was 0."""
    write(in_tmp, "s.toml", gaussian_dict(countries, top_k=1, draws=300))
    run_ok("s.toml")


def test_an_observation_far_from_every_draw_is_a_clean_result_error(in_tmp):
    """z² overflowed with a tiny score_sd: a RuntimeWarning on stderr before the error line."""
    d = gauss()
    d["observations"] = [{"year": 2030, "country": "KOR", "score": 900, "score_sd": 1e-300}]
    write(in_tmp, "s.toml", d)
    res = invoke("run", "s.toml", "-q")
    assert_error(res, 1, "s.toml: observations: no draw out of 300 agrees with every observation")


@pytest.mark.parametrize("year", [1899, 2201])
def test_an_observed_year_out_of_range_names_the_observation(in_tmp, year):
    """Was reported as a bad scenario.years, which the user had not written."""
    d = gauss()
    d["observations"] = [{"year": year, "country": "KOR", "rank": 3}]
    write(in_tmp, "s.toml", d)
    assert_error(
        invoke("run", "s.toml", "-q"),
        2,
        f"s.toml: observations[0].year: must lie between 1900 and 2200, got {year}",
    )


def test_an_ai_race_observation_out_of_its_years_names_the_observation_and_its_file(in_tmp):
    parent = baseline()
    parent["observations"][2]["year"] = 2150
    write(in_tmp, "parent.toml", parent)
    write(in_tmp, "child.toml", 'extends = "parent.toml"\n[scenario]\nname = "child"\n')
    assert_error(
        invoke("run", "child.toml", "-q", "-n", "50"),
        2,
        "parent.toml (extended by child.toml): observations[2].year: ai_race reports years "
        "2022..2100",
        "got 2150; observe a year in that range",
    )


def test_too_many_observations_are_refused(in_tmp):
    d = gauss()
    d["observations"] = [{"year": 2030, "country": "KOR", "rank_range": [1, 5]}] * 1001
    write(in_tmp, "s.toml", d)
    assert_error(invoke("run", "s.toml", "-q"), 2, "s.toml: observations: 1,001 observations")


def test_a_block_too_large_for_memory_is_refused_at_validation(in_tmp):
    """4194304 draws × 6 years × 62 countries: 12.5 GB of scores per metric."""
    d = baseline()
    d["scenario"]["block_size"] = 4_194_304
    d["scenario"]["draws"] = 10_000_000
    write(in_tmp, "s.toml", d)
    assert_error(
        invoke("validate", "s.toml"),
        2,
        "s.toml: scenario.block_size: a block of 4,194,304 draws holds 1,639,972,864 values "
        "(6 years × 62 countries + 19 factors per draw), more than 134,217,728",
        "set block_size ≤ 343,267, or report fewer years",
    )


def test_too_many_countries_for_the_reducers_are_refused(in_tmp):
    countries = {f"C{i:04d}": (float(i), 1.0) for i in range(5000)}
    countries["KOR"] = (0.0, 1.0)
    write(in_tmp, "s.toml", gaussian_dict(countries, draws=100))
    assert_error(
        invoke("validate", "s.toml"),
        2,
        "s.toml: model.countries: 5,001 countries × 1 years need",
        "use fewer countries or years",
    )


# ---------------------------------------------------------------------------------------------
# 2. Numerical safety


@pytest.mark.parametrize(
    ("countries", "top_k"),
    [
        ({"USA": (1e100, 1e100), "CHN": (-1e100, 1e100), "KOR": (0.0, 1e100)}, 2),
        ({"USA": (1e-300, 1e-300), "CHN": (-1e-300, 1e-300), "KOR": (0.0, 1e-300)}, 1),
        ({"USA": (1e100, 1.0), "CHN": (-1e100, 1.0), "KOR": (0.0, 1e-100)}, 3),
        ({"USA": (5.0, 1.0), "CHN": (5.0, 1.0), "KOR": (5.0, 1.0)}, 3),  # p_top = 1 exactly
    ],
    ids=["huge", "tiny", "mixed", "top-k-all"],
)
def test_extreme_gaussian_scales_give_finite_results(in_tmp, countries, top_k):
    write(in_tmp, "s.toml", gaussian_dict(countries, top_k=top_k, draws=400))
    ds = open_results(run_ok("s.toml", "--seed", "3"))
    p = ds["p_top"].values
    assert ((p >= 0) & (p <= 1)).all()
    if top_k == len(countries):
        assert (p == 1).all() and (ds["p_top_upper"].values == 1).all()


def test_probabilities_of_exactly_0_and_1(in_tmp):
    d = gauss()
    d["factors"] = {
        "never": {"dist": "bernoulli", "p": 0},
        "always": {"dist": "bernoulli", "p": 1},
        "first": {"dist": "discrete", "values": [7, 9], "probabilities": [1, 0]},
        "last": {"dist": "discrete", "values": [7, 9], "probabilities": [0, 1]},
        "fixed": 2.5,
    }
    write(in_tmp, "s.toml", d)
    for design in ("mc", "lhs", "sobol"):
        ds = open_results(run_ok("s.toml", "--design", design, "-n", "256"))
        means = dict(zip(ds["factor"].values, ds["factor_prior_mean"].values, strict=True))
        assert means == {"never": 0, "always": 1, "first": 7, "last": 9, "fixed": 2.5}
        assert (ds["factor_prior_sd"].values == 0).all()


def _strings(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, str):
        yield node


def ai_race_extreme(growth: float, retire: float, share: float, reform: float) -> dict:
    """The baseline with the growth rates and levers at the ends of their allowed ranges."""
    d = baseline()
    d["scenario"].update(years=[2022, 2030, 2050, 2075, 2100], draws=200, seed=5)
    m = d["model"]
    m.update(drift_sd=1.0, volatility=1.0, regional_share=share)
    m["gpu"].update(
        unanchored_h100e=1e9,
        signal_dispersion=3.0,
        signal_passthrough=10.0,
        export_licence=1.0,
        programme_correlation=1.0,
        organic_growth=growth,
        organic_growth_dispersion=3.0,
        retirement_rate=retire,
        infrastructure_elasticity=10.0,
    )
    m["investment"].update(commercial_elasticity=10.0, development_share=10.0, peer_growth=growth)
    kor = m["countries"]["KOR"]
    kor.update(installed_h100e=1e12, investment_growth=-growth)
    kor["regulation"].update(
        reform_probability=reform,
        reform_effect=100.0,
        reform_talent_share=10.0,
        reform_investment_growth=5.0,
        burden=-100.0,
        burden_investment_growth=-5.0,
    )
    for prog in kor["programmes"].values():
        prog.update(gpus=1e10, h100e_per_gpu=1e3)
    kor["programmes"]["nvidia_samsung"].update(fraction="always", delay=50.0)
    kor["programmes"]["nvidia_sk"].update(fraction="never")
    used = set(_strings(m))
    d["factors"] = {k: v for k, v in d["factors"].items() if k in used}
    d["factors"]["always"] = {"dist": "bernoulli", "p": 1}
    d["factors"]["never"] = {"dist": "bernoulli", "p": 0}
    del d["correlation"], d["observations"]
    return d


@pytest.mark.slow
@pytest.mark.parametrize(
    ("growth", "retire", "share", "reform"),
    [(5.0, 0.0, 0.0, 1.0), (-5.0, 5.0, 1.0, 0.0), (5.0, 5.0, 0.5, 1.0)],
    ids=["boom", "bust", "churn"],
)
def test_ai_race_to_2100_at_the_allowed_extremes_gives_finite_results(
    in_tmp, growth, retire, share, reform
):
    write(in_tmp, "s.toml", ai_race_extreme(growth, retire, share, reform))
    ds = open_results(run_ok("s.toml"))
    assert ds["year"].values.tolist() == [2022, 2030, 2050, 2075, 2100]
    assert np.isfinite(ds["value_mean"].values).all()


@pytest.mark.parametrize(
    ("mutate", "key", "words"),
    [
        (
            lambda d: d.update(factors={"x": {"dist": "normal", "mean": 0, "sd": 1e200}}),
            "factors.x",
            ["normal with these parameters reaches", "beyond ±1e+100", "rescale"],
        ),
        (
            lambda d: d.update(factors={"x": {"dist": "uniform", "low": -1e150, "high": 1e150}}),
            "factors.x",
            ["beyond ±1e+100"],
        ),
        (lambda d: d.update(factors={"x": 1e101}), "factors.x", ["beyond ±1e+100"]),
        (
            lambda d: d.update(factors={"x": {"dist": "lognormal", "mu": 300, "sigma": 1}}),
            "factors.x",
            ["beyond ±1e+100"],
        ),
        (
            lambda d: d["model"]["countries"]["USA"].update(mean=1e101),
            "model.countries.USA.mean",
            ["too large to simulate safely; rescale the scores"],
        ),
        (
            lambda d: d["model"]["countries"]["USA"].update(sd=2e100),
            "model.countries.USA.sd",
            ["too large to simulate safely"],
        ),
    ],
    ids=["normal-sd", "uniform-width", "constant", "lognormal-mu", "gauss-mean", "gauss-sd"],
)
def test_parameters_that_would_overflow_are_refused_at_validation(in_tmp, mutate, key, words):
    d = gauss()
    mutate(d)
    write(in_tmp, "s.toml", d)
    assert_error(invoke("validate", "s.toml"), 2, f"s.toml: {key}: ", *words)


@pytest.mark.parametrize(
    ("override", "key", "words"),
    [
        ("model.drift_sd=1.5", "model.drift_sd", ["must be within [0, 1], got 1.5"]),
        ("model.gpu.organic_growth=6", "model.gpu.organic_growth", ["must be within ±5"]),
        (
            "model.gpu.export_licence=1.5",
            "model.gpu.export_licence",
            ["must be within [0, 1], got 1.5"],
        ),
        (
            "model.countries.KOR.regulation.reform_probability=1.01",
            "model.countries.KOR.regulation.reform_probability",
            ["must be within [0, 1], got 1.01"],
        ),
    ],
    ids=["drift", "growth", "licence", "probability"],
)
def test_ai_race_rates_beyond_their_range_are_refused(override, key, words):
    res = invoke("validate", CONFIGS / "baseline.toml", "--set", override)
    assert_error(res, 2, f": {key}: ", *words)


# ---------------------------------------------------------------------------------------------
# 3. Trust boundary


@pytest.fixture
def tree(tmp_path):
    """configs/child.toml and other/parent.toml: a parent outside the child's folder."""
    write(tmp_path, "other/parent.toml", gauss())
    write(tmp_path, "configs/inside.toml", gauss())
    return tmp_path


@pytest.mark.parametrize("how", ["relative", "absolute", "symlink"])
def test_a_parent_outside_the_folder_is_allowed_and_noted(tree, how):
    parent = tree / "other" / "parent.toml"
    if how == "symlink":
        os.symlink("../other/parent.toml", tree / "configs" / "link.toml")
    target = {"relative": "../other/parent.toml", "absolute": str(parent), "symlink": "link.toml"}
    child = tree / "configs" / "child.toml"
    write(tree, "configs/child.toml", f'extends = "{target[how]}"\n[scenario]\ntop_k = 2\n')
    sc = load_scenario(child)
    assert sc.top_k == 2
    assert sc.warnings == (f"{child}: extends reaches outside its folder: {parent.resolve()}",)
    assert sc.with_updates(draws=10).warnings == sc.warnings  # kept through resolve()


def test_each_file_read_outside_the_folder_is_noted_once(tree):
    write(tree, "other/middle.toml", 'extends = "parent.toml"\n')
    write(tree, "configs/child.toml", 'extends = "../other/middle.toml"\n')
    sc = load_scenario(tree / "configs" / "child.toml")
    child = tree / "configs" / "child.toml"
    other = (tree / "other").resolve()
    assert sc.warnings == (
        f"{child}: extends reaches outside its folder: {other / 'middle.toml'}",
        f"{child}: extends reaches outside its folder: {other / 'parent.toml'}",
    )


def test_parents_inside_the_folder_give_no_warning(tree):
    write(tree, "configs/sub/deeper.toml", 'extends = "../inside.toml"\n')
    write(tree, "configs/child.toml", 'extends = "./sub/deeper.toml"\n')
    assert load_scenario(tree / "configs" / "child.toml").warnings == ()
    for variant in CONFIGS.glob("*.toml"):
        assert load_scenario(variant).warnings == (), variant


@pytest.mark.parametrize("command", ["validate", "run"])
def test_the_cli_prints_the_outside_folder_warning(tree, monkeypatch, command):
    monkeypatch.chdir(tree)
    write(tree, "configs/child.toml", 'extends = "../other/parent.toml"\n')
    res = invoke(
        command, "configs/child.toml", *(["-q", "-o", "out.nc"] if command == "run" else [])
    )
    assert res.exit_code == 0, res.stderr
    parent = (tree / "other" / "parent.toml").resolve()
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0] == (
        f"g3sim: warning: configs/child.toml: extends reaches outside its folder: {parent}"
    )


_AUDIT: list[tuple[str, tuple]] | None = None


def _audit(event: str, args: tuple) -> None:
    if _AUDIT is not None:
        _AUDIT.append((event, args))


def test_loading_a_scenario_opens_only_the_files_it_names_and_runs_none_of_its_text(tree):
    """Python's audit hooks see every open(), exec(), compile(), process and socket."""
    global _AUDIT
    code = "__import__('os').system('touch PWNED')"
    child = tree / "configs" / "child.toml"
    text = f'extends = "../other/parent.toml"\n[scenario]\ndescription = "{code}"\n'
    factor = f'[factors.x]\ndist = "normal"\nmean = 0\nsd = 1\ndescription = "{code}"\n'
    write(tree, "configs/child.toml", text + factor)
    load_scenario(child)  # warm up: every lazy import done
    sys.addaudithook(_audit)  # cannot be removed: it records only while _AUDIT is a list
    _AUDIT = []
    try:
        sc = load_scenario(child)
        events, _AUDIT = _AUDIT, None
    finally:
        _AUDIT = None
    assert sc.description == code
    opened = [Path(args[0]).resolve() for ev, args in events if ev == "open"]
    assert opened == [child.resolve(), (tree / "other" / "parent.toml").resolve()]
    forbidden = ("subprocess", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "socket")
    assert not [ev for ev, _ in events if ev.startswith(forbidden)]
    # scipy.stats compiles its own argument parsers from a fixed template; nothing else runs.
    compiled = [args[0] for ev, args in events if ev == "compile"]
    sources = [src if isinstance(src, bytes) else str(src).encode() for src in compiled]
    assert all(src.lstrip().startswith(b"def _parse_args(self") for src in sources), sources
    assert not (tree / "PWNED").exists() and not Path("PWNED").exists()


# ---------------------------------------------------------------------------------------------
# 4. Outside the scenario layer (engine.py, results.py, cli.py)


def test_weights_whose_squares_underflow_do_not_crash(in_tmp):
    d = gauss()  # KOR ~ N(30, 6): z ≈ 35 for every draw, so w ≈ exp(-610) ≈ 1e-265
    d["observations"] = [{"year": 2030, "country": "KOR", "score": 900, "score_sd": 25}]
    write(in_tmp, "s.toml", d)
    res = invoke("run", "s.toml", "-q", "--force", "-o", "out.nc")
    if res.exit_code == 0:
        assert check_results(Path("out.nc")) == ""
    else:
        assert_error(res, 1, "no draw out of 300 agrees")


def test_weighted_probabilities_stay_within_0_and_1(in_tmp):
    d = gauss()
    d["factors"] = {"a": {"dist": "normal", "mean": 0, "sd": 1}}
    d["observations"] = [{"year": 2030, "country": "GBR", "score": 0, "score_sd": 25}]
    write(in_tmp, "s.toml", d)
    res = invoke("run", "s.toml", "-q", "-n", "200", "--force", "-o", "out.nc")
    ds = open_results(Path("out.nc"))
    assert res.exit_code == 0
    for name in ("p_top", "p_top_lower", "p_top_upper", "rank_probability"):
        assert ((ds[name] >= 0) & (ds[name] <= 1)).all(), (name, float(ds[name].max()) - 1)


def test_validate_checks_the_observations(in_tmp):
    d = gauss()
    d["observations"] = [{"year": 2030, "country": "XXX", "rank": 1}]
    write(in_tmp, "s.toml", d)
    assert_error(invoke("run", "s.toml", "-q"), 2, "observations[0].country")
    assert_error(invoke("validate", "s.toml"), 2, "observations[0].country")


def test_an_observation_error_names_the_parent_that_wrote_it(in_tmp):
    parent = gauss()
    parent["observations"] = [{"year": 2030, "country": "XXX", "rank": 1}]
    write(in_tmp, "parent.toml", parent)
    write(in_tmp, "child.toml", 'extends = "parent.toml"\n[scenario]\ntop_k = 2\n')
    assert_error(
        invoke("run", "child.toml", "-q"),
        2,
        "parent.toml (extended by child.toml): observations[0].country",
    )


def test_a_scenario_path_that_is_not_utf8_runs(in_tmp, monkeypatch):
    name = os.fsdecode(b"caf\xe9.toml")  # 'caf\udce9.toml': what Python makes of the byte
    (in_tmp / name).write_text(tomli_w.dumps(gauss()))
    monkeypatch.setattr(sys, "argv", ["g3sim", "run", name, "-q"])
    res = invoke("run", name, "-q", "-o", "out.nc")
    assert res.exit_code == 0, res.stderr


def test_results_files_follow_the_umask(in_tmp):
    write(in_tmp, "s.toml", gauss())
    old = os.umask(0o022)
    try:
        run_ok("s.toml")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat("out.nc").st_mode) == 0o644
