"""Scenario discovery (PRIM): a known box, invariants, the choice rules, the binomial tail."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.analysis.discovery import binomial_upper_tail, prim
from simulator.errors import AnalysisError


def synthetic(seed: int = 2026, n: int = 10_000):
    """3 uniform factors; outcome 1 inside [0.6, 1] × [0, 0.3] on the first two, 5% flipped.

    Truth: density 0.95 inside (0.12 of the draws), 0.05 outside; base rate 0.158; the true
    box's coverage is 0.114 / 0.158 = 0.72.
    """
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3))
    y = ((x[:, 0] >= 0.6) & (x[:, 1] <= 0.3)).astype(float)
    flip = rng.random(n) < 0.05
    y[flip] = 1 - y[flip]
    return x, y


def test_prim_recovers_a_known_box():
    x, y = synthetic()
    res = prim(x=x, y=y, names=["a", "b", "c"])
    tr, i = res.trajectory, res.chosen
    # Tolerances: one peel moves a limit by alpha × the box's width along that factor (0.05 ×
    # 0.4 = 0.02 on a, 0.05 × 0.3 = 0.015 on b near the truth); allow two peels plus the
    # sampling noise of the rule's choice, i.e. 0.05 on a and 0.04 on b. Over 100 replicates
    # (seeds 0–99) the largest errors were 0.043 and 0.022.
    assert tr.lower[i, 0] == pytest.approx(0.6, abs=0.05)
    assert tr.upper[i, 1] == pytest.approx(0.3, abs=0.04)
    assert tr.upper[i, 0] > 0.95 and tr.lower[i, 1] < 0.05
    # c is irrelevant: unrestricted, or restricted only by chance (large quasi-p-value).
    assert (tr.lower[i, 2] < 0.05 and tr.upper[i, 2] > 0.95) or res.quasi_p[2] > 0.05
    assert res.restricted[:2] == (0, 1) or res.restricted[:2] == (1, 0)
    assert res.quasi_p[0] < 1e-6 and res.quasi_p[1] < 1e-6
    # Density ≈ 0.95 (binomial sd at ~1,100 draws ≈ 0.007; 4.5 sd = 0.03). The chosen box's
    # coverage sits a little under the true box's 0.72: over seeds 0–39 its mean was 0.696 and
    # its sd 0.019, so 4.5 sd around the mean is [0.61, 0.78].
    assert tr.density[i] == pytest.approx(0.95, abs=0.03)
    assert 0.61 < tr.coverage[i] < 0.78
    assert res.base_density == pytest.approx(y.mean())


def test_trajectory_invariants():
    x, y = synthetic(seed=1, n=3000)
    res = prim(x=x, y=y, alpha=0.1, min_mass=0.1)
    tr = res.trajectory
    assert tr.n[0] == 3000 and tr.mass[0] == 1 and tr.coverage[0] == 1 and tr.restricted[0] == 0
    assert tr.peeled[0] == "" and all(p.split()[1] in ("low", "high") for p in tr.peeled[1:])
    assert np.all(np.diff(tr.coverage) <= 1e-12) and np.all(np.diff(tr.mass) < 0)
    assert tr.mass[-1] >= 0.1
    assert np.all(np.diff(tr.lower, axis=0) >= 0) and np.all(np.diff(tr.upper, axis=0) <= 0)
    # Each peel removes about alpha of the box (ties aside): mass ratio 0.9 ± 1 draw.
    ratio = tr.mass[1:] / tr.mass[:-1]
    assert np.all(np.abs(ratio - 0.9) < 1.5 / tr.n[:-1] + 1e-12)
    # Each box holds exactly the draws inside its limits.
    for s in (0, len(tr.n) // 2, len(tr.n) - 1):
        inside = np.all((x >= tr.lower[s]) & (x <= tr.upper[s]), axis=1)
        assert inside.sum() == tr.n[s]
        assert y[inside].mean() == pytest.approx(tr.density[s])


def test_integer_weights_act_as_copies():
    x, y = synthetic(seed=3, n=2000)
    w = np.random.default_rng(0).integers(1, 4, size=len(y))
    a = prim(x=x, y=y, weights=w.astype(float))
    b = prim(x=np.repeat(x, w, axis=0), y=np.repeat(y, w))
    for name in ("coverage", "density", "mass"):
        np.testing.assert_allclose(getattr(a.trajectory, name), getattr(b.trajectory, name))
    np.testing.assert_array_equal(a.trajectory.lower, b.trajectory.lower)


def test_threshold_rule_and_its_fallback():
    x, y = synthetic()
    res = prim(x=x, y=y, threshold_density=0.5)
    first = np.flatnonzero(res.trajectory.density >= 0.5)[0]
    assert res.chosen == first and res.note == ""
    assert res.rule.startswith("the least restricted box with density ≥ 0.5")
    res = prim(x=x, y=y, threshold_density=0.999)
    assert res.note.startswith("no box with coverage ≥ 0.5 reaches density 0.999")
    assert res.rule.startswith("the least restricted box whose density is within 2 standard")
    # min_coverage = 1 leaves only the first box.
    assert prim(x=x, y=y, min_coverage=1.0).chosen == 0


def test_binomial_upper_tail_is_the_binomial_survival_function():
    from scipy import stats

    k = np.arange(0, 21)
    np.testing.assert_allclose(
        binomial_upper_tail(k, 20, 0.3), stats.binom.sf(k - 1, 20, 0.3), rtol=1e-10
    )


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"n": 50}, "50 draws are too few for PRIM; it needs ≥ 100"),
        ({"none": True}, "only 0 of 500 draws have the outcome; PRIM needs ≥ 5"),
        ({"alpha": 0.6}, "peel alpha must lie in \\(0, 0.5\\)"),
    ],
)
def test_prim_refuses_bad_input(kw, message):
    x, y = synthetic(n=kw.get("n", 500))
    if kw.get("none"):
        y[:] = 0
    with pytest.raises(AnalysisError, match=message):
        prim(x=x, y=y, alpha=kw.get("alpha", 0.05))


def test_copies_of_one_draw_count_once_in_the_effective_sample_size():
    # 500 independent draws, each copied 20 times (an SMC population before moves separate the
    # copies): grouped by ancestor, the box's effective size is that of the 500, not 10,000.
    from simulator.analysis.discovery import effective_size, prim

    rng = np.random.default_rng(5)
    x0 = rng.random((500, 2))
    y0 = (rng.random(500) < 0.3 + 0.4 * (x0[:, 0] > 0.5)).astype(float)
    groups = np.repeat(np.arange(500), 20)
    x, y = x0[groups], y0[groups]
    w = np.ones(len(groups))
    assert effective_size(w, groups) == pytest.approx(500)
    assert effective_size(w, None) == pytest.approx(10_000)
    grouped = prim(x=x, y=y, weights=w, groups=groups)
    naive = prim(x=x, y=y, weights=w)
    assert grouped.trajectory.ess[0] == pytest.approx(500)
    # The copies no longer make a restriction look 20 times better supported than it is.
    j = int(np.nanargmin(naive.quasi_p))
    assert grouped.quasi_p[j] >= naive.quasi_p[j] or np.isnan(grouped.quasi_p[j])
