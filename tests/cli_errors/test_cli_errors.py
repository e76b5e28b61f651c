"""Every bad input, through the CLI (issue 2, item 8).

The contract: one line on stderr that names the file, the key path and the fix; exit code 2 for
usage and configuration errors, 1 for run-time failures; never a traceback, never a partial file.
Each case asserts the exit code, that stderr is exactly one line, and the essential words of
that line (the file, the key path and the fix); :func:`assert_error` holds the common checks.
"""

from __future__ import annotations

import copy
import errno
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import tomli_w
import xarray as xr

from simulator import __version__
from simulator.cli import main
from simulator.results import open_results
from simulator.scenario.distributions import DISTRIBUTIONS
from tests.helpers.cli import assert_error, invoke
from tests.helpers.scenarios import FIVE, gaussian_dict

BAD = "bad.toml"


def base() -> dict:
    return gaussian_dict(FIVE, draws=500)


def base_toml() -> str:
    return tomli_w.dumps(base())


def tmp_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob(".*.tmp"))


@pytest.fixture
def write(in_tmp):
    """Write a scenario file into the (current) temporary folder and return its name."""

    def _write(data: dict | None = None, *, text: str | None = None, name: str = BAD) -> str:
        if text is None:
            text = tomli_w.dumps(base() if data is None else data)
        (in_tmp / name).write_text(text, encoding="utf-8")
        return name

    return _write


def mutated(mutate) -> dict:
    d = base()
    mutate(d)
    return d


# ---------------------------------------------------------------------------------------------
# The scenario file itself


@pytest.mark.parametrize("command", ["validate", "run"])
def test_missing_scenario_file(in_tmp, command):
    res = invoke(command, "nope.toml")
    assert_error(res, 2, "nope.toml", "no such scenario file", "check the path")


@pytest.mark.parametrize("command", ["validate", "run"])
def test_directory_as_scenario_says_how_to_fix_it(in_tmp, command):
    (in_tmp / "somedir").mkdir()
    res = invoke(command, "somedir")
    assert_error(res, 2, "somedir", "a directory, not a scenario file; name a .toml file")


def test_toml_syntax_error_names_the_line(write):
    lines = base_toml().splitlines()
    lines.insert(4, "top_k = = 3")  # line 5
    write(text="\n".join(lines) + "\n")
    res = invoke("validate", BAD)
    assert_error(res, 2, BAD, "TOML syntax error", "line 5", "fix the file")


def test_not_utf8(write, in_tmp):
    (in_tmp / BAD).write_bytes(b'[scenario]\nname = "caf\xe9"\n')
    res = invoke("validate", BAD)
    assert_error(res, 2, BAD, "not UTF-8", "save the scenario as UTF-8")


def test_a_key_with_a_newline_still_gives_one_line(write):
    write(text='[scenario]\n"to\\npk" = 3\n')
    res = invoke("validate", BAD)
    assert_error(res, 2, BAD, 'scenario."to\\npk": unknown key')


# ---------------------------------------------------------------------------------------------
# Configuration errors: (mutation of the base scenario, the key path, the essential words)


def factor(spec):
    return lambda d: d.__setitem__("factors", {"x": spec})


def scenario(**kw):
    return lambda d: d["scenario"].update(kw)


def country(code="USA", *, drop=(), **kw):
    def mutate(d):
        spec = d["model"]["countries"][code]
        spec.update(kw)
        for k in drop:
            del spec[k]

    return mutate


def correlation(names, matrix, factors=("a", "b", "c")):
    def mutate(d):
        d["factors"] = {f: {"dist": "normal", "mean": 0, "sd": 1} for f in factors}
        d["correlation"] = {"factors": names, "matrix": matrix}

    return mutate


def normal(**kw):
    return {"dist": "normal", **kw}


CONFIG_CASES = [
    # unknown keys, with "did you mean"
    ("top-level", lambda d: d.update(modle={}), "modle", ["did you mean 'model'", "allowed keys"]),
    (
        "scenario-key",
        lambda d: d["scenario"].update(topk=3),
        "scenario.topk",
        ["did you mean 'top_k'", "allowed keys"],
    ),
    (
        "dist-param",
        factor(normal(mean=0, sdd=1)),
        "factors.x.sdd",
        ["unknown parameter for normal", "did you mean 'sd'", "normal takes mean, sd, p5, p95"],
    ),
    # unknown distribution: did you mean, and the list of valid ones
    (
        "dist-typo",
        factor({"dist": "normall", "mean": 0, "sd": 1}),
        "factors.x.dist",
        ["unknown distribution 'normall'", "did you mean 'normal'", ", ".join(DISTRIBUTIONS)],
    ),
    (
        "dist-unknown",
        factor({"dist": "wibble"}),
        "factors.x.dist",
        ["unknown distribution 'wibble'; use one of " + ", ".join(DISTRIBUTIONS)],
    ),
    (
        "dist-not-text",
        factor({"dist": ["normal"], "mean": 0, "sd": 1}),
        "factors.x.dist",
        ["unknown distribution ['normal']", "use one of normal"],
    ),
    ("dist-missing", factor({"mean": 0, "sd": 1}), "factors.x", ["missing 'dist'", "add dist ="]),
    (
        "factor-not-table",
        factor("normal"),
        "factors.x",
        ["must be a table with 'dist'", 'write e.g. {dist = "normal"'],
    ),
    # impossible parameters, every family
    ("normal-sd0", factor(normal(mean=0, sd=0)), "factors.x.sd", ["normal needs sd > 0"]),
    ("normal-sd<0", factor(normal(mean=0, sd=-2)), "factors.x.sd", ["needs sd > 0", "sd = -2"]),
    (
        "normal-p5>=p95",
        factor(normal(p5=3, p95=3)),
        "factors.x.p95",
        ["needs p5 < p95", "p5 = 3, p95 = 3"],
    ),
    (
        "normal-both-forms",
        factor(normal(mean=0, sd=1, p5=0, p95=1)),
        "factors.x",
        ["give either mean and sd, or p5 and p95"],
    ),
    (
        "normal-missing-sd",
        factor(normal(mean=0)),
        "factors.x",
        ["normal needs 'sd'", "add sd = <number>"],
    ),
    (
        "lognormal-p5<=0",
        factor({"dist": "lognormal", "p5": 0, "p95": 10}),
        "factors.x.p5",
        ["lognormal needs p5 > 0", "p5 = 0"],
    ),
    (
        "lognormal-sigma0",
        factor({"dist": "lognormal", "median": 1, "sigma": 0}),
        "factors.x.sigma",
        ["lognormal needs sigma > 0"],
    ),
    (
        "lognormal-median<0",
        factor({"dist": "lognormal", "median": -1, "sigma": 1}),
        "factors.x.median",
        ["lognormal needs median > 0"],
    ),
    (
        "uniform-low>=high",
        factor({"dist": "uniform", "low": 2, "high": 1}),
        "factors.x.high",
        ["uniform needs low < high", "low = 2, high = 1"],
    ),
    (
        "triangular-mode>high",
        factor({"dist": "triangular", "low": 0, "mode": 2, "high": 1}),
        "factors.x.mode",
        ["triangular needs low ≤ mode ≤ high", "mode = 2"],
    ),
    (
        "pert-mode<low",
        factor({"dist": "pert", "low": 0, "mode": -1, "high": 1}),
        "factors.x.mode",
        ["pert needs low ≤ mode ≤ high", "mode = -1"],
    ),
    (
        "pert-lambda0",
        factor({"dist": "pert", "low": 0, "mode": 0.5, "high": 1, "lambda": 0}),
        "factors.x.lambda",
        ["pert needs lambda > 0"],
    ),
    (
        "beta-a0",
        factor({"dist": "beta", "a": 0, "b": 2}),
        "factors.x.a",
        ["beta needs a > 0 and b > 0", "a = 0"],
    ),
    (
        "beta-b<0",
        factor({"dist": "beta", "a": 2, "b": -1}),
        "factors.x.b",
        ["beta needs a > 0 and b > 0", "b = -1"],
    ),
    (
        "truncnormal-empty-window",
        factor({"dist": "truncnormal", "mean": 0, "sd": 1, "low": 50, "high": 51}),
        "factors.x.low",
        ["holds no probability", "move the window or the mean"],
    ),
    (
        "truncnormal-low>=high",
        factor({"dist": "truncnormal", "mean": 0, "sd": 1, "low": 1, "high": 0}),
        "factors.x.high",
        ["truncnormal needs low < high"],
    ),
    (
        "bernoulli-p>1",
        factor({"dist": "bernoulli", "p": 1.5}),
        "factors.x.p",
        ["bernoulli needs 0 ≤ p ≤ 1", "p = 1.5"],
    ),
    (
        "discrete-sum",
        factor({"dist": "discrete", "values": [1, 2], "probabilities": [0.5, 0.6]}),
        "factors.x.probabilities",
        ["must sum to 1", "got 1.1"],
    ),
    (
        "discrete-lengths",
        factor({"dist": "discrete", "values": [1, 2, 3], "probabilities": [0.5, 0.5]}),
        "factors.x.probabilities",
        ["as many probabilities as values", "got 2 for 3 values"],
    ),
    (
        "discrete-negative",
        factor({"dist": "discrete", "values": [1, 2], "probabilities": [1.5, -0.5]}),
        "factors.x.probabilities",
        ["must be ≥ 0", "item 1 = -0.5"],
    ),
    (
        "discrete-item-type",
        factor({"dist": "discrete", "values": [1, "2"], "probabilities": [0.5, 0.5]}),
        "factors.x.values",
        ["item 1 must be a finite number", "'2'"],
    ),
    # wrong types
    (
        "string-for-number",
        factor(normal(mean="1", sd=1)),
        "factors.x.mean",
        ["must be a number, got '1'"],
    ),
    ("bool-for-number", factor(normal(mean=0, sd=True)), "factors.x.sd", ["must be a number"]),
    # magnitudes a float cannot simulate
    (
        "normal-huge-sd",
        factor(normal(mean=0, sd=1e308)),
        "factors.x",
        ["non-finite quantiles", "rescale"],
    ),
    (
        "lognormal-huge-mu",
        factor({"dist": "lognormal", "mu": 1000, "sigma": 1}),
        "factors.x.mu",
        ["must lie in [-700, 700]", "mu = 1000", "did you mean median"],
    ),
    (
        "uniform-overflowing-width",
        factor({"dist": "uniform", "low": -1e308, "high": 1e308}),
        "factors.x",
        ["non-finite quantiles"],
    ),
    (
        "int-beyond-float",
        factor(normal(mean=10**400, sd=1)),
        "factors.x.mean",
        ["must be a finite number"],
    ),
    # correlation
    (
        "corr-not-psd",
        correlation(["a", "b", "c"], [[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]]),
        "correlation.matrix",
        ["not positive semi-definite", "weaken the largest"],
    ),
    (
        "corr-unknown-factor",
        correlation(["a", "bb"], [[1, 0.5], [0.5, 1]]),
        "correlation.factors",
        ["'bb' is not a factor", "did you mean 'b'", "declare [factors.bb] or remove it"],
    ),
    (
        "corr-not-symmetric",
        correlation(["a", "b"], [[1, 0.5], [0.4, 1]]),
        "correlation.matrix",
        ["must be symmetric", "[0][1] = 0.5 but [1][0] = 0.4"],
    ),
    (
        "corr-diagonal",
        correlation(["a", "b"], [[1, 0.5], [0.5, 0.9]]),
        "correlation.matrix",
        ["diagonal must be all 1", "got [1, 0.9]"],
    ),
    (
        "corr-size",
        correlation(["a", "b", "c"], [[1, 0.5], [0.5, 1]]),
        "correlation.matrix",
        ["must be 3×3 to match the 3 factors", "got 2 rows"],
    ),
    (
        "corr-row-length",
        correlation(["a", "b"], [[1, 0.5], [0.5]]),
        "correlation.matrix",
        ["row 1 must have 2 entries", "got 1 entries"],
    ),
    (
        "corr-out-of-range",
        correlation(["a", "b"], [[1, 1.5], [1.5, 1]]),
        "correlation.matrix",
        ["must lie in [-1, 1]", "[0][1] = 1.5"],
    ),
    (
        "corr-entry-type",
        correlation(["a", "b"], [[1, "x"], ["x", 1]]),
        "correlation.matrix",
        ["entries must be finite numbers", "'x'"],
    ),
    (
        "corr-factors-not-list",
        correlation("a", [[1]]),
        "correlation.factors",
        ["must be a list of factor names", "write e.g. factors = ["],
    ),
    # [scenario]
    ("draws-0", scenario(draws=0), "scenario.draws", ["must be between 1 and", "got 0"]),
    ("draws<0", scenario(draws=-5), "scenario.draws", ["must be between 1 and", "got -5"]),
    ("draws-float", scenario(draws=1.5), "scenario.draws", ["must be a whole number"]),
    (
        "years-text",
        scenario(years="2030"),
        "scenario.years",
        ["must be a list of whole years", "write e.g. years = ["],
    ),
    ("years-order", scenario(years=[2031, 2030]), "scenario.years", ["strictly increasing"]),
    (
        "design",
        scenario(design="sobl"),
        "scenario.design",
        ["unknown design 'sobl'", "did you mean 'sobol'", "use mc, lhs or sobol"],
    ),
    (
        "model-name",
        scenario(model="gaussian_rac"),
        "scenario.model",
        ["did you mean 'gaussian_race'", "use one of"],
    ),
    (
        "scenario-not-table",
        lambda d: d.update(scenario="x"),
        "scenario",
        ["needs a [scenario] table", "add [scenario]"],
    ),
    # the gaussian_race model
    ("gauss-sd0", country(sd=0), "model.countries.USA.sd", ["sd must be > 0", "got 0"]),
    ("gauss-sd<0", country(sd=-1), "model.countries.USA.sd", ["sd must be > 0", "got -1"]),
    (
        "gauss-missing-mean",
        country(drop=["mean"]),
        "model.countries.USA",
        ["missing 'mean'", "add mean = <number>"],
    ),
    (
        "gauss-unknown-country-key",
        country(mena=1),
        "model.countries.USA.mena",
        ["unknown key", "did you mean 'mean'", "a country takes mean and sd"],
    ),
    (
        "gauss-unknown-model-key",
        lambda d: d["model"].update(countrys={}),
        "model.countrys",
        ["did you mean 'countries'", "takes [model.countries] and persistence"],
    ),
    (
        "gauss-persistence-1",
        lambda d: d["model"].update(persistence=1.0),
        "model.persistence",
        ["must be a number in [0, 1)", "persistence = 0.8"],
    ),
    (
        "conditioning-unknown",
        lambda d: d["scenario"].update(conditioning="smcc"),
        "scenario.conditioning",
        ["unknown method", "did you mean 'smc'", '"rejection"'],
    ),
    (
        "smc-moves-negative",
        lambda d: d["scenario"].update(smc_moves=-1),
        "scenario.smc_moves",
        ["must be between 0 and 50", "got -1"],
    ),
    (
        "noise-scale-zero",
        lambda d: d["scenario"].update(observation_noise_scale=0),
        "scenario.observation_noise_scale",
        ["must be between 0.001 and 1000", "got 0", "1 keeps each observation's own noise sd"],
    ),
    (
        "noise-scale-text",
        lambda d: d["scenario"].update(observation_noise_scale="half"),
        "scenario.observation_noise_scale",
        ["must be a number > 0", "observation_noise_scale = 0.75"],
    ),
    (
        "gauss-mean-nonfinite",
        country(mean=float("inf")),
        "model.countries.USA.mean",
        ["must be a finite number", "inf"],
    ),
    (
        "gauss-no-countries",
        lambda d: d["model"].update(countries={}),
        "model.countries",
        ["at least one country", "e.g. KOR = { mean = 30, sd = 6 }"],
    ),
    (
        "gauss-focus",
        scenario(focus="KOO"),
        "scenario.focus",
        ["'KOO' is not a country of this model", "did you mean 'KOR'", "use one of USA, CHN"],
    ),
    (
        "gauss-top_k",
        scenario(top_k=6),
        "scenario.top_k",
        ["only 5 countries", "use top_k ≤ 5"],
    ),
]


@pytest.mark.parametrize(
    ("mutate", "key", "words"),
    [pytest.param(m, k, w, id=i) for i, m, k, w in CONFIG_CASES],
)
def test_config_error(write, mutate, key, words):
    write(mutated(mutate))
    res = invoke("validate", BAD)
    assert_error(res, 2, f"g3sim: error: {BAD}: {key}: ", *words)


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        pytest.param(m, k, id=i)
        for i, m, k, _ in CONFIG_CASES
        if i in ("scenario-key", "normal-sd0", "corr-not-psd", "gauss-focus", "draws-0")
    ],
)
def test_run_reports_config_errors_the_same_and_writes_nothing(write, in_tmp, mutate, key):
    write(mutated(mutate))
    line = assert_error(invoke("validate", BAD), 2, key)
    res = invoke("run", BAD, "-q")
    assert assert_error(res, 2, key) == line
    assert list((in_tmp / "results").iterdir()) == []


@pytest.mark.parametrize(
    ("toml", "key", "got"),
    [
        ("mean = inf", "mean", "inf"),
        ("mean = -inf", "mean", "-inf"),
        ("mean = nan", "mean", "nan"),
        ("sd = +inf", "sd", "inf"),
        ('sd = "1"', "sd", "'1'"),
        ("sd = true", "sd", "True"),
    ],
)
def test_non_finite_and_wrong_type_parameters_in_toml(write, toml, key, got):
    params = {"mean": "mean = 0", "sd": "sd = 1"}
    params[key] = toml
    text = base_toml() + '\n[factors.x]\ndist = "normal"\n' + "\n".join(params.values()) + "\n"
    write(text=text)
    res = invoke("validate", BAD)
    assert_error(res, 2, f"{BAD}: factors.x.{key}: must be a", f"got {got}")


# ---------------------------------------------------------------------------------------------
# Command-line values


def test_draws_zero_on_the_command_line(write):
    res = invoke("run", write(), "-n", "0")
    assert_error(res, 2, "'-n' / '--draws'", "0 is not in the range x>=1", "g3sim run --help")


def test_negative_seed(write):
    res = invoke("run", write(), "--seed", "-1")
    assert_error(res, 2, "'--seed'", "-1 is not in the range 0<=x<=")


def test_unknown_design(write):
    res = invoke("run", write(), "--design", "foo")
    assert_error(res, 2, "'--design'", "'foo' is not one of 'mc', 'lhs', 'sobol'")


@pytest.mark.parametrize("command", ["validate", "run"])
def test_set_without_equals(write, command):
    res = invoke(command, write(), "--set", "scenario.draws")
    assert_error(res, 2, "--set 'scenario.draws'", "expected KEY=VALUE", "e.g. --set")


def test_set_with_empty_key_part(write):
    res = invoke("validate", write(), "--set", "scenario..draws=5")
    assert_error(res, 2, "--set 'scenario..draws=5'", "empty key part", "e.g. scenario.top_k=5")


def test_set_through_a_value(write):
    res = invoke("validate", write(), "--set", "scenario.name.x=1")
    assert_error(
        res,
        2,
        "--set 'scenario.name.x=1'",
        "scenario.name is a value, not a table",
        "set scenario.name itself",
    )


def test_set_names_the_override_that_is_wrong(write):
    res = invoke("validate", write(), "--set", "scenario.topk=5")
    assert_error(res, 2, f"{BAD} (--set scenario.topk=5): scenario.topk: ", "did you mean 'top_k'")


def test_set_bad_value(write):
    res = invoke("validate", write(), "--set", "model.countries.KOR.sd=-3")
    assert_error(res, 2, "(--set model.countries.KOR.sd=-3): model.countries.KOR.sd: ", "> 0")


def test_inspect_year_not_an_integer(results_file):
    res = invoke("inspect", results_file, "--year", "abc")
    assert_error(res, 2, "'--year'", "'abc' is not a valid integer")


def test_unknown_command_suggests_one():
    res = invoke("rn")
    assert_error(res, 2, "No such command 'rn'", "Did you mean 'run'")


def test_no_command_prints_the_help():
    res = invoke()
    assert res.exit_code == 0
    assert res.stderr == ""
    assert res.stdout.startswith("Usage: g3sim") and "Examples:" in res.stdout


# ---------------------------------------------------------------------------------------------
# extends


def test_extends_missing_parent(write):
    write(text='extends = "nope.toml"\n' + base_toml(), name="child.toml")
    res = invoke("validate", "child.toml")
    assert_error(
        res, 2, "child.toml: extends: nope.toml: no such scenario file", "fix the file name"
    )


def test_extends_cycle(write):
    write(text='extends = "b.toml"\n' + base_toml(), name="a.toml")
    write(text='extends = "a.toml"\n', name="b.toml")
    res = invoke("validate", "a.toml")
    assert_error(res, 2, "b.toml: extends: ", "cycle (a.toml → b.toml → a.toml)", "remove one link")


def test_extends_itself(write):
    write(text='extends = "a.toml"\n' + base_toml(), name="a.toml")
    res = invoke("validate", "a.toml")
    assert_error(res, 2, "a.toml: extends: ", "cycle (a.toml → a.toml)", "remove one link")


@pytest.mark.parametrize("value", ["3", '["base.toml"]', '""', "true"])
def test_extends_not_a_file_name(write, value):
    write(text=f"extends = {value}\n" + base_toml())
    res = invoke("validate", BAD)
    assert_error(res, 2, f"{BAD}: extends: must be a file name", 'write extends = "baseline.toml"')


def test_extends_parent_with_a_syntax_error_is_named(write):
    write(text="[scenario\n", name="parent.toml")
    write(text='extends = "parent.toml"\n' + base_toml(), name="child.toml")
    res = invoke("validate", "child.toml")
    assert_error(res, 2, "parent.toml: TOML syntax error", "line 1", "fix the file")


def test_an_error_inherited_from_the_parent_names_the_parent(write):
    parent = mutated(country("GBR", sd=0))
    write(parent, name="parent.toml")
    write(text='extends = "parent.toml"\n[scenario]\ntop_k = 2\n', name="child.toml")
    res = invoke("validate", "child.toml")
    assert_error(
        res, 2, "parent.toml (extended by child.toml): model.countries.GBR.sd: ", "sd must be > 0"
    )


def test_an_error_in_the_child_names_the_child(write):
    write(base(), name="parent.toml")
    write(text='extends = "parent.toml"\n[scenario]\ntopk = 2\n', name="child.toml")
    res = invoke("validate", "child.toml")
    assert_error(res, 2, "error: child.toml: scenario.topk: ", "did you mean 'top_k'")


# ---------------------------------------------------------------------------------------------
# The results file being written


@pytest.fixture
def scenario_file(write):
    return write(base(), name="ok.toml")


def test_existing_output_is_not_replaced_without_force(scenario_file, in_tmp):
    out = in_tmp / "results" / "old.nc"
    before = b"precious bytes\x00\x01"
    out.write_bytes(before)
    res = invoke("run", scenario_file, "-q", "-o", out)
    assert_error(res, 2, "old.nc exists", "pass --force to replace it, or -o to write elsewhere")
    assert out.read_bytes() == before
    assert tmp_files(in_tmp) == []


def test_existing_output_is_replaced_with_force(scenario_file, in_tmp):
    out = in_tmp / "results" / "old.nc"
    out.write_bytes(b"precious bytes")
    res = invoke("run", scenario_file, "-q", "-o", out, "--force")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == ""
    assert int(open_results(out).attrs["draws"]) == 500
    assert tmp_files(in_tmp) == []


def test_output_that_is_a_directory(scenario_file, in_tmp):
    res = invoke("run", scenario_file, "-q", "-o", in_tmp / "results")
    assert_error(res, 2, "results is a directory", "name a .nc file with -o")


def test_output_in_a_missing_directory(scenario_file, in_tmp):
    res = invoke("run", scenario_file, "-q", "-o", "nodir/r.nc")
    assert_error(res, 1, "nodir: no such directory", "create it or choose another -o path")
    assert not (in_tmp / "nodir").exists()
    assert tmp_files(in_tmp) == []


def test_output_whose_parent_is_a_regular_file(scenario_file, in_tmp):
    (in_tmp / "afile").write_text("not a folder")
    res = invoke("run", scenario_file, "-q", "-o", "afile/r.nc")
    assert_error(res, 1, "afile", "not a directory", "choose another -o path")
    assert tmp_files(in_tmp) == []


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root writes into a read-only directory, so chmod cannot make one unwritable",
)
def test_output_in_a_read_only_directory(scenario_file, in_tmp):
    ro = in_tmp / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        res = invoke("run", scenario_file, "-q", "-o", ro / "r.nc")
        assert_error(res, 1, "ro: not writable", "choose another -o path")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(stat.S_IRWXU)


@pytest.mark.parametrize("existing", [False, True])
def test_write_failure_leaves_no_partial_file(scenario_file, in_tmp, monkeypatch, existing):
    """A disk that fills up mid-write: exit 1, no temporary file, the old file untouched."""
    out = in_tmp / "results" / "r.nc"
    if existing:
        out.write_bytes(b"old results")

    def full_disk(self, path, *args, **kwargs):
        Path(path).write_bytes(b"CDF\x01 half a file")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(xr.Dataset, "to_netcdf", full_disk)
    args = ["run", scenario_file, "-q", "-o", out] + (["--force"] if existing else [])
    res = invoke(*args)
    assert_error(res, 1, "r.nc: cannot write results", "no space left on the device", "free space")
    assert tmp_files(in_tmp) == []
    if existing:
        assert out.read_bytes() == b"old results"
    else:
        assert not out.exists()


# ---------------------------------------------------------------------------------------------
# The results file being read


@pytest.fixture(scope="module")
def results_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("results")
    (folder / "ok.toml").write_text(tomli_w.dumps(gaussian_dict(FIVE, draws=300)))
    out = folder / "r.nc"
    res = invoke("run", folder / "ok.toml", "-q", "-o", out)
    assert res.exit_code == 0, res.stderr
    return out


def test_inspect_missing_file(in_tmp):
    res = invoke("inspect", "nope.nc")
    assert_error(res, 2, "nope.nc: no such results file", "run `g3sim run SCENARIO` first")


def test_inspect_directory(in_tmp):
    res = invoke("inspect", "results")
    assert_error(res, 2, "results is a directory", "name a .nc results file")


def test_inspect_text_file(in_tmp):
    (in_tmp / "notes.nc").write_text("these are not results\n")
    res = invoke("inspect", "notes.nc")
    assert_error(res, 2, "notes.nc: not a readable NetCDF file", "re-run the scenario")


def test_inspect_netcdf_not_written_by_g3sim(in_tmp):
    xr.Dataset({"t": ("x", np.arange(3.0))}).to_netcdf(in_tmp / "other.nc", engine="netcdf4")
    res = invoke("inspect", "other.nc")
    assert_error(res, 2, "other.nc: a NetCDF file, but not written by g3sim", "`g3sim run`")


def test_inspect_truncated_results_file(in_tmp, results_file):
    data = results_file.read_bytes()
    (in_tmp / "half.nc").write_bytes(data[: len(data) // 2])
    res = invoke("inspect", "half.nc")
    assert_error(res, 2, "half.nc: not a readable NetCDF file", "re-run the scenario")


@pytest.mark.parametrize(
    ("attr", "value"),
    [("focus", None), ("draws", "abc"), ("g3sim_format_version", "x"), ("top_k", None)],
)
@pytest.mark.parametrize("command", ["inspect", "plot", "report"])
def test_results_with_damaged_attributes_are_one_line(in_tmp, results_file, attr, value, command):
    with xr.open_dataset(results_file, engine="netcdf4") as ds:
        ds = ds.load()
    if value is None:
        del ds.attrs[attr]
    else:
        ds.attrs[attr] = value
    ds.to_netcdf(in_tmp / "damaged.nc", engine="netcdf4")
    plot_args = ["--kind", "probability", "-o", "x.png"] if command == "plot" else []
    res = invoke(command, "damaged.nc", *plot_args)
    assert_error(res, 2, "damaged.nc: g3sim file with missing or malformed attributes", attr)


def test_inspect_year_not_in_file(results_file):
    res = invoke("inspect", results_file, "--year", "1999")
    assert_error(res, 2, "--year 1999 is not in", "r.nc", "(years: 2030)")


def test_inspect_unknown_country(results_file):
    res = invoke("inspect", results_file, "--country", "KOO")
    assert_error(
        res, 2, "--country 'KOO' is not in", "r.nc", "did you mean 'KOR'", "ISO alpha-3 code"
    )


# ---------------------------------------------------------------------------------------------
# Version and help


def test_version():
    res = invoke("--version")
    assert res.exit_code == 0
    assert res.stdout.strip() == f"g3sim, version {__version__}"


@pytest.mark.parametrize("command", [[], *([c] for c in sorted(main.commands))], ids=str)
def test_every_help_has_an_example(command):
    res = invoke(*command, "--help")
    assert res.exit_code == 0
    assert res.stderr == ""
    assert "Example" in res.stdout


def test_list_with_a_missing_directory(in_tmp):
    res = invoke("list", "nodir")
    assert_error(res, 2, "nodir: no such directory", "name a folder of scenario files")


def test_list_marks_invalid_scenarios_and_keeps_going(write, in_tmp):
    write(mutated(scenario(topk=3)), name="bad.toml")
    write(base(), name="good.toml")
    res = invoke("list", in_tmp)
    assert res.exit_code == 0
    header, bad, good = res.stdout.splitlines()
    assert header.split() == ["scenario", "from", "description"]
    assert bad.startswith("bad ") and "INVALID" in bad and "scenario.topk" in bad
    assert good.startswith("good ") and "INVALID" not in good


def test_base_scenario_is_valid(write):
    """The cases above fail because of their one mutation, not because the base is wrong."""
    res = invoke("validate", write(copy.deepcopy(base())))
    assert res.exit_code == 0, res.stderr


@pytest.mark.parametrize(("option", "value"), [("--max-draws", "5000"), ("--target-year", "1999")])
def test_stopping_options_without_a_target_halfwidth_are_refused(write, option, value):
    res = invoke("run", write(), option, value, "-o", "x.nc")
    assert_error(res, 2, option, "--target-halfwidth")


def test_compare_knows_every_results_extension(write, results_file, in_tmp):
    (in_tmp / "r.nc4").write_bytes(results_file.read_bytes())
    res = invoke("compare", "r.nc4", write())  # a results file and a scenario
    assert_error(res, 2, "not one of each")
    res = invoke("compare", "r.nc4", results_file, "-q")  # two results files: compared
    assert res.exit_code == 0, res.stderr
