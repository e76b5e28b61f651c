"""The one number formatter of text output (views/format.py): readers never see an exponent
such as 3.35e+04 for a number they would write out (issue 18, item 3)."""

from __future__ import annotations

import math
import re

import pytest

from simulator.views.format import exact, number

# A number with an exponent, as Python's "g" format prints it: "3.35e+04", "1.768e+04".
EXPONENT = re.compile(r"\d[eE][+-]?\d")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (33_456, "33.5k"),
        (1_234_567, "1.23M"),
        (1.2e6, "1.20M"),
        (6_200, "6.20k"),
        (17_680, "17.7k"),
        (37_830, "37.8k"),
        (999_950, "1.00M"),  # rounded before the suffix is chosen: not "1000k"
        (999.96, "1.00k"),
        (2.5e9, "2.50B"),
        (4.2e12, "4.20T"),
        (-4_321, "-4.32k"),
        (20.324, "20.3"),
        (33.9652, "34.0"),
        (100.0, "100"),
        (0.05, "0.0500"),
        (0.0012345, "0.00123"),
        (0, "0"),
        (1.2e-5, "1.20e-5"),
        (math.nan, "n/a"),
        (math.inf, "n/a"),
    ],
)
def test_number(value, text):
    assert number(value) == text


def test_number_never_prints_an_exponent_from_a_thousandth_to_1e14():
    for k in range(-3, 14):
        for mantissa in (1.0, 3.35, 9.999):
            v = mantissa * 10.0**k
            assert not EXPONENT.search(number(v)), v
            assert not EXPONENT.search(number(-v)), -v


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12_345_678, "12,345,678"),
        (2e7, "20,000,000"),
        (0.4, "0.4"),
        (12_345.678, "12,345.7"),
        (2.5e-5, "2.5e-5"),
        (3, "3"),
        (2.0, "2"),
        (True, "true"),
        (0.0, "0"),
    ],
)
def test_exact(value, text):
    assert exact(value) == text
