"""Hypothesis strategies and a rich base scenario for the scenario property and fuzz tests."""

from __future__ import annotations

import math

import tomli_w
from hypothesis import strategies as st

from tests.helpers.scenarios import FIVE, gaussian_dict


def real(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


SPECIAL = [
    0,
    -1,
    1,
    2**63 - 1,
    -(2**63),
    10**400,
    1e308,
    -1e308,
    5e-324,
    1e-300,
    math.inf,
    -math.inf,
    math.nan,
    "",
    " ",
    "normal",
    "KOR",
    "é\u202e🦀",
    "a\nb",
    "../x",
    [],
    {},
]

scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.text(max_size=12),
    st.dates(),
    st.datetimes(),
    st.times(),
    st.sampled_from(SPECIAL),
)
toml_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
# Keys that the validators know, so that added keys often land on a meaningful name.
KNOWN_KEYS = [
    "scenario",
    "model",
    "factors",
    "correlation",
    "observations",
    "extends",
    "name",
    "focus",
    "top_k",
    "years",
    "draws",
    "seed",
    "design",
    "block_size",
    "keep_draws",
    "conditioning",
    "smc_moves",
    "observation_noise_scale",
    "countries",
    "mean",
    "sd",
    "dist",
    "low",
    "mode",
    "high",
    "values",
    "probabilities",
    "matrix",
    "p5",
    "p95",
    "units",
]
keys = st.sampled_from(KNOWN_KEYS) | st.text(max_size=8)


def rich_base() -> dict:
    """The gaussian race with a factor of several families and a correlation."""
    d = gaussian_dict(FIVE, draws=1000)
    d["factors"] = {
        "a": {"dist": "normal", "mean": 0, "sd": 1, "units": "1"},
        "b": {"dist": "pert", "low": 0, "mode": 0.7, "high": 1},
        "c": {"dist": "discrete", "values": [1, 2, 3], "probabilities": [0.2, 0.3, 0.5]},
        "d": {"dist": "lognormal", "p5": 1, "p95": 50},
        "e": 3.5,
    }
    d["correlation"] = {
        "factors": ["a", "b", "d"],
        "matrix": [[1, 0.3, 0], [0.3, 1, 0.2], [0, 0.2, 1]],
    }
    return d


def locations(node, path=()):
    """Every (container, key or index) in nested tables and arrays."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for k, v in list(items):
        yield node, k, (*path, k)
        if isinstance(v, dict | list):
            yield from locations(v, (*path, k))


key_parts = st.lists(st.from_regex(r"[A-Za-z0-9_-]{1,10}", fullmatch=True), min_size=1, max_size=4)
override_values = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.booleans(),
    st.text(max_size=20),
    st.dates(),
    st.times(),
    st.datetimes(),
    st.lists(st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5) | st.floats(), max_size=5),
)


def toml_text(value) -> str:
    """``value`` written as a TOML value on one line (what a user types after ``=``)."""
    if isinstance(value, list):
        return "[" + ", ".join(toml_text(x) for x in value) + "]"
    line = tomli_w.dumps({"v": value})
    assert line.startswith("v = ") and line.endswith("\n") and line.count("\n") == 1, line
    return line[4:-1]
