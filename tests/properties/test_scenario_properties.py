"""Property tests for config parsing (hypothesis, derandomized so that CI is deterministic).

1. Any valid spec of any distribution family builds, and its ``ppf`` on uniforms in (0, 1),
   the samplers' extreme uniforms included, gives finite values inside the support.
2. A valid scenario, randomly broken (a key deleted, a value replaced by any TOML value of any
   type, huge or non-finite numbers, unicode, nested tables), either validates or raises
   ``ConfigError`` naming the file and a key path: never another exception, never a warning.
3. ``--set`` overrides round-trip: ``KEY=<TOML text of v>`` parses back to the key parts and v.
"""

from __future__ import annotations

import copy
import math
import tomllib
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from simulator.errors import ConfigError, short_repr
from simulator.models import build_model
from simulator.scenario import (
    apply_overrides,
    parse_override,
    scenario_from_dict,
)
from simulator.scenario.distributions import DISTRIBUTIONS, TAIL_UNIFORMS, make_distribution
from tests.helpers.scenario_strategies import (
    SPECIAL,
    key_parts,
    keys,
    locations,
    override_values,
    real,
    rich_base,
    toml_text,
    toml_values,
)
from tests.helpers.scenarios import FIVE, gaussian_dict

BASE_SETTINGS = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def examples(n: int) -> settings:
    """Deterministic settings with ``n`` examples."""
    return settings(BASE_SETTINGS, max_examples=n)


# ---------------------------------------------------------------------------------------------
# 1. Valid specs of every family: finite quantiles inside the support


@st.composite
def ordered(draw, lo=-1e6, hi=1e6, min_gap=1e-3):
    """Two numbers ``a < b`` with a gap that a float can resolve."""
    a = draw(real(lo, hi))
    gap = draw(real(min_gap, 1e6))
    return a, a + max(gap, 1e-9 * abs(a))


@st.composite
def low_mode_high(draw):
    low, high = draw(ordered())
    mode = low + draw(real(0, 1)) * (high - low)
    return low, min(max(mode, low), high), high


@st.composite
def spec_for(draw, family: str):
    """A valid spec of ``family`` and its support ``(low, high)``."""
    inf = math.inf
    if family == "normal":
        if draw(st.booleans()):
            return {"dist": family, "mean": draw(real(-1e6, 1e6)), "sd": draw(real(1e-6, 1e6))}, (
                -inf,
                inf,
            )
        p5, p95 = draw(ordered())
        return {"dist": family, "p5": p5, "p95": p95}, (-inf, inf)
    if family == "lognormal":
        form = draw(st.sampled_from(["mu", "median", "p5"]))
        if form == "p5":
            p5, p95 = draw(ordered(lo=1e-6, hi=1e6))
            return {"dist": family, "p5": p5, "p95": p95}, (0, inf)
        sigma = draw(real(0.01, 3))
        centre = draw(real(-30, 30)) if form == "mu" else draw(real(1e-6, 1e6))
        return {"dist": family, form: centre, "sigma": sigma}, (0, inf)
    if family == "uniform":
        low, high = draw(ordered())
        return {"dist": family, "low": low, "high": high}, (low, high)
    if family in ("triangular", "pert"):
        low, mode, high = draw(low_mode_high())
        spec = {"dist": family, "low": low, "mode": mode, "high": high}
        if family == "pert" and draw(st.booleans()):
            spec["lambda"] = draw(real(0.1, 100))
        return spec, (low, high)
    if family == "beta":
        spec = {"dist": family, "a": draw(real(0.05, 50)), "b": draw(real(0.05, 50))}
        low, high = 0.0, 1.0
        if draw(st.booleans()):
            low, high = draw(ordered())
            spec.update(low=low, high=high)
        return spec, (low, high)
    if family == "truncnormal":
        mean, sd = draw(real(-1e4, 1e4)), draw(real(1e-3, 1e4))
        za = draw(real(-6, 5))
        zb = za + draw(real(0.05, 8))
        low, high = mean + za * sd, mean + zb * sd
        spec = {"dist": family, "mean": mean, "sd": sd}
        side = draw(st.sampled_from(["both", "low", "high"]))
        if side in ("both", "low"):
            spec["low"] = low
        if side in ("both", "high"):
            spec["high"] = high
        return spec, (spec.get("low", -inf), spec.get("high", inf))
    if family == "bernoulli":
        return {"dist": family, "p": draw(real(0, 1))}, (0, 1)
    if family == "discrete":
        n = draw(st.integers(1, 6))
        values = draw(st.lists(real(-1e6, 1e6), min_size=n, max_size=n))
        weights = draw(st.lists(real(0.01, 1), min_size=n, max_size=n))
        probs = [w / sum(weights) for w in weights]
        return {"dist": family, "values": values, "probabilities": probs}, (
            min(values),
            max(values),
        )
    if family == "constant":
        value = draw(real(-1e6, 1e6))
        return {"dist": family, "value": value}, (value, value)
    raise AssertionError(f"no strategy for {family}")  # pragma: no cover


@pytest.mark.parametrize("family", DISTRIBUTIONS)
@examples(40)
@given(data=st.data())
def test_valid_specs_give_finite_quantiles_inside_the_support(family, data):
    spec, (low, high) = data.draw(spec_for(family))
    dist = make_distribution(spec, key="factors.x", source="prop.toml")
    inner = data.draw(st.lists(real(1e-12, 1 - 1e-12), min_size=1, max_size=20))
    u = np.sort(np.array([TAIL_UNIFORMS[0], *inner, TAIL_UNIFORMS[1]]))
    x = np.asarray(dist.ppf(u), dtype=float)
    assert np.isfinite(x).all(), (spec, u[~np.isfinite(x)])
    tol = 1e-9 * max([1.0, *(abs(b) for b in (low, high) if math.isfinite(b))])
    assert (x >= low - tol).all() and (x <= high + tol).all(), (spec, x.min(), x.max())
    assert (np.diff(x) >= -tol).all(), "ppf must be non-decreasing"
    if family == "discrete":
        assert set(x.tolist()) <= set(spec["values"])


@pytest.mark.parametrize(
    ("low", "high"), [(-0.0625, math.inf), (-0.0625, 8.3), (-math.inf, 0.0625), (4.99, 5.04)]
)
def test_truncnormal_tails_are_finite_and_inside_the_window(low, high):
    """Regression: scipy's truncnorm.ppf(1 - 2**-53) is inf for these windows (scipy 1.17)."""
    spec = {"dist": "truncnormal", "mean": 0, "sd": 1}
    spec.update({k: v for k, v in (("low", low), ("high", high)) if math.isfinite(v)})
    dist = make_distribution(spec)
    x = dist.ppf(np.array(TAIL_UNIFORMS))
    assert np.isfinite(x).all() and low <= x[0] <= x[1] <= high
    q = np.linspace(0.01, 0.99, 99)  # where scipy is accurate, the two agree to rounding
    np.testing.assert_allclose(dist.ppf(q), stats.truncnorm(low, high).ppf(q), rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# 2. Broken scenarios: validate, or ConfigError naming the file and a key, nothing else

SOURCE = "prop.toml"


@st.composite
def broken_scenarios(draw):
    d = rich_base()
    for _ in range(draw(st.integers(1, 3))):
        spots = list(locations(d))
        containers = [d] + [c[k] for c, k, _ in spots if isinstance(c[k], dict | list)]
        kind = draw(st.sampled_from(["delete", "replace", "perturb", "perturb", "add"]))
        if kind == "add":
            box = draw(st.sampled_from(containers))
            if isinstance(box, dict):
                box[draw(keys)] = draw(toml_values)
            else:
                box.insert(draw(st.integers(0, len(box))), draw(toml_values))
            continue
        if not spots:
            continue
        box, k, _ = draw(st.sampled_from(spots))
        if kind == "perturb":  # a number of the same type: sign, scale, zero, huge
            old = box[k]
            if isinstance(old, bool) or not isinstance(old, int | float):
                continue
            if isinstance(old, int):
                box[k] = draw(st.integers(-10, 10) | st.integers(-(2**63), 2**63 - 1))
            else:
                box[k] = old * draw(st.sampled_from([-1, 0, 0.5, 2, 1e300])) + draw(real(-2, 2))
        elif kind == "delete":
            del box[k]
        else:
            box[k] = draw(toml_values)
    return d


def check_scenario(d: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would be a second line on stderr
        try:
            sc = scenario_from_dict(copy.deepcopy(d), source=SOURCE)
            build_model(sc)
        except ConfigError as exc:
            assert exc.source == SOURCE, str(exc)
            assert exc.key, f"no key path in {exc}"
            assert "\n" not in str(exc)
            return
    u = np.array([TAIL_UNIFORMS[0], 0.5, TAIL_UNIFORMS[1]])
    for f in sc.factors:  # a scenario that validates must be safe to sample
        assert np.isfinite(np.asarray(f.dist.ppf(u), dtype=float)).all(), f
    tomllib.loads(sc.to_toml())  # and its resolved TOML (stored in the results) must parse


@examples(600)
@given(d=broken_scenarios())
def test_broken_scenarios_raise_config_error_or_validate(d):
    check_scenario(d)


@examples(150)
@given(key=keys, value=toml_values)
def test_any_value_anywhere_in_a_factor(key, value):
    d = rich_base()
    d["factors"]["a"][key] = value
    check_scenario(d)


@pytest.mark.parametrize("special", SPECIAL, ids=lambda v: short_repr(v, 16))
def test_special_values_in_every_place(special):
    """Each special value in every location of the base scenario (exhaustive, not random)."""
    n = len(list(locations(rich_base())))
    for i in range(n):
        d = rich_base()
        box, k, _ = list(locations(d))[i]
        box[k] = copy.deepcopy(special)
        check_scenario(d)


def test_the_base_is_valid():
    scenario_from_dict(rich_base(), source=SOURCE)


# ---------------------------------------------------------------------------------------------
# 3. --set overrides round-trip


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@examples(300)
@given(parts=key_parts, value=override_values, pad=st.sampled_from(["", " ", "  "]))
def test_set_round_trips_a_toml_value(parts, value, pad):
    text = f"{pad}{'.'.join(parts)}{pad}={pad}{toml_text(value)}{pad}"
    got_parts, got = parse_override(text)
    assert got_parts == parts
    assert same(got, value), (text, got, value)


@examples(200)
@given(parts=key_parts, raw=st.text(max_size=20))
def test_set_value_that_is_not_toml_is_kept_as_text(parts, raw):
    try:
        doc = tomllib.loads(f"v = {raw.strip()}")
    except tomllib.TOMLDecodeError:
        doc = None
    assume(doc is None or doc.keys() != {"v"})
    assert parse_override(f"{'.'.join(parts)}={raw}") == (parts, raw.strip())


@examples(200)
@given(parts=key_parts, value=override_values)
def test_apply_overrides_sets_exactly_that_key(parts, value):
    base = {"scenario": {"name": "x"}, "untouched": {"k": [1, 2]}}
    assume(parts[0] not in base)
    out = apply_overrides(base, [f"{'.'.join(parts)}={toml_text(value)}"])
    node = out
    for p in parts[:-1]:
        node = node[p]
    assert same(node[parts[-1]], value)
    assert out["scenario"] == {"name": "x"} and out["untouched"] == {"k": [1, 2]}
    assert base == {"scenario": {"name": "x"}, "untouched": {"k": [1, 2]}}  # input not mutated


@examples(50)
@given(top_k=st.integers(1, 5), draws=st.integers(1, 10**10))
def test_set_reaches_the_scenario(top_k, draws):
    d = apply_overrides(gaussian_dict(FIVE), [f"scenario.top_k={top_k}", f"scenario.draws={draws}"])
    sc = scenario_from_dict(d, source=SOURCE)
    assert (sc.top_k, sc.draws) == (top_k, draws)
