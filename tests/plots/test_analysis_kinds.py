"""Plot kinds of analysis results: tornado (sensitivity) and compare (comparison).

Inputs (tests/helpers/plot_data.py) are small analyses of configs/baseline.toml and of gaussian
races, made once per session: Sobol indices and rank measures for tornado, paired comparisons for
compare."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import plots, run
from simulator.analysis.comparison import compare_results
from simulator.errors import ConfigError, ResultsError
from simulator.plots import analysis_kinds as plot_analysis
from simulator.plots import files as plot_files
from tests.helpers.plot_data import (
    ANALYSIS_CASES,
    assert_nothing_clipped,
    assert_png_of,
    invoke_plot,
    one_line_error,
)
from tests.helpers.scenarios import FIVE, gaussian_scenario

NOISE = plot_analysis.NOISE_LABEL


def header_text(fig) -> str:
    return " ".join(t.get_text() for t in fig.axes[0].texts)


def panels(fig) -> list:
    """The drawing axes, left to right and top to bottom (not the header)."""
    return [ax for ax in fig.axes if ax.get_label() != "g3sim-header"]


def row_labels(ax) -> list[str]:
    """Each row's name (a factor row's label is its name, then its description below)."""
    return [t.get_text().split("\n")[0] for t in ax.get_yticklabels()]


# ---------------------------------------------------------------------------------------------
# Every input renders a complete figure


@pytest.mark.parametrize(("kind", "name"), ANALYSIS_CASES)
def test_kind_renders_png_of_the_figure_size(files, kind, name, tmp_path):
    ds = files.open(name)
    assert plots.available_kinds(ds) == [kind]
    fig = plots.plot(ds, kind, source=name)
    path = plot_files.save_figure(fig, tmp_path / f"{kind}.png", dpi=80)
    assert_png_of(fig, path, f"{kind} of {name}")


@pytest.mark.parametrize(("kind", "name"), ANALYSIS_CASES)
def test_no_text_clipped_or_overlapping(files, kind, name):
    assert_nothing_clipped(plots.plot(files.open(name), kind), f"{kind} of {name}")


# ---------------------------------------------------------------------------------------------
# tornado


def test_tornado_ranks_factors_by_total_index_and_sets_noise_apart(files):
    ds = files.open("baseline_sobol")
    fig = plots.plot(ds, "tornado")
    assert [ax.get_title(loc="left").split(":")[0] for ax in panels(fig)] == [
        "In the top 3",
        "AI index score",
    ]
    for ax, outcome in zip(panels(fig), ["in_top_k", "score"], strict=True):
        labels = row_labels(ax)
        assert labels[-1] == NOISE
        assert ax.get_yticklabels()[-1].get_fontstyle() == "italic"
        factors = [f for f in labels if f in ds["factor"].values]
        # A factor row shows its description (shortened) under its name.
        full = [t.get_text() for t in ax.get_yticklabels()][: len(factors)]
        described = dict(zip(ds["factor"].values, ds["factor_description"].values, strict=True))
        for f, text in zip(factors, full, strict=True):
            if described[f]:
                assert text.split("\n")[1].rstrip("…") in " ".join(str(described[f]).split())
        total = ds["total_order"].sel(outcome=outcome)
        values = [float(total.sel(factor=f)) for f in factors]
        assert values == sorted(values, reverse=True) and len(factors) <= plots.TORNADO_TOP
        others = [f for f in labels if f not in factors and f != NOISE]
        # The factors not shown are summed up in one row, each below the last one shown.
        assert len(others) == 1 and others[0].endswith("other factors")
        n = int(others[0].split()[0])
        assert n == ds.sizes["factor"] - len(factors)
        rest = total.drop_sel(factor=factors).values
        assert np.nanmax(rest) <= values[-1]
    header = header_text(fig)
    assert "What drives KOR's top-3 chance and AI index score in 2030: Sobol indices" in header
    assert "scenario “baseline”" in header and "64 base draws" in header and "seed 1" in header
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [
        "total index (with interactions)",
        "first-order index (alone)",
        "95% bootstrap interval",
        "internal noise: the model's own chance",
    ]


def test_tornado_top_sets_how_many_factors(files):
    ds = files.open("baseline_sobol")
    fig = plots.plot(ds, "tornado", top=2)  # every panel of the baseline has ≥ 2 active factors
    for ax in panels(fig):
        labels = row_labels(ax)
        assert len(labels) == 4 and labels[2].endswith("other factors") and labels[3] == NOISE


def test_tornado_of_factors_that_enter_nowhere(files):
    """The gaussian race never reads u and v: one row says so; the noise explains it all."""
    fig = plots.plot(files.open("gauss_sobol"), "tornado")
    for ax in panels(fig):
        assert row_labels(ax) == ["u, v", NOISE]
        notes = [t.get_text() for t in ax.texts]
        assert "indices all exactly 0: no effect" in notes
        assert ax.get_xlim()[1] > 1.0  # the noise's total index ≈ 1 is on the scale
    assert "and score in 2030" in header_text(fig)


def test_tornado_of_an_outcome_that_never_varies(files):
    """Its indices are NaN (docs/analysis.md): one row says why, and nothing is drawn."""
    ds = files.open("gauss_sobol")
    top = ds["outcome"] == "in_top_k"
    for name, var in ds.data_vars.items():
        if "outcome" in var.dims and name.startswith(("first", "total", "noise")):
            ds[name] = var.where(~top)
    fig = plots.plot(ds, "tornado")
    ax = panels(fig)[0]
    assert "no index: the outcome never varies" in [t.get_text() for t in ax.texts]
    assert not ax.patches
    assert_nothing_clipped(fig, "tornado of NaN indices")


def test_tornado_of_rank_measures(files):
    ds = files.open("baseline_rank")
    fig = plots.plot(ds, "tornado")
    for ax, outcome in zip(panels(fig), ["in_top_k", "score"], strict=True):
        labels = row_labels(ax)
        assert NOISE not in labels
        rho = ds["rank_correlation"].sel(outcome=outcome)
        shown = [abs(float(rho.sel(factor=f))) for f in labels if f in ds["factor"].values]
        assert shown == sorted(shown, reverse=True)
        lo, hi = ax.get_xlim()
        assert lo == pytest.approx(-hi)  # correlations: symmetric about 0
        r2 = float(ds["srrc_r_squared"].sel(outcome=outcome))
        assert ax.get_title(loc="left").endswith(f"R² {r2:.2f}")
    header = header_text(fig)
    assert "rank correlations by factor" in header and "3,000 draws of baseline.nc" in header


def test_tornado_options_that_do_not_apply(files, runner, tmp_path):
    path = files.path("gauss_sobol")
    res = invoke_plot(
        runner, path, "--kind", "tornado", "--country", "GBR", "-o", tmp_path / "t.png"
    )
    assert res.exit_code == 2
    assert (
        f"--country 'GBR': {path} is a sensitivity result about KOR only; run `g3sim "
        "sensitivity SCENARIO --set scenario.focus=GBR`" in one_line_error(res)
    )
    with pytest.raises(ConfigError, match=r"is a sensitivity of score only; run `g3sim sens"):
        plots.plot(files.open("gauss_sobol"), "tornado", metric="ai_index")
    assert plots.plot(files.open("gauss_sobol"), "tornado", metric="score", country="KOR")


def test_tornado_of_a_file_without_the_indices_says_so(files):
    ds = files.open("gauss_sobol").drop_vars(["total_order_lower", "total_order_upper"])
    with pytest.raises(
        ResultsError,
        match=r"^s.nc is a sensitivity result without total_order_lower, total_order_upper "
        r"\(made by an older g3sim\?\); run `g3sim sensitivity SCENARIO --output FILE`",
    ):
        plots.plot(ds, "tornado", source="s.nc")


# ---------------------------------------------------------------------------------------------
# compare


def test_compare_draws_both_scenarios_and_their_difference(files):
    ds = files.open("baseline_comparison")
    fig = plots.plot(ds, "compare")
    axes = panels(fig)
    metrics = [str(m) for m in ds["metric"].values]
    assert len(axes) == 2 * len(metrics)
    for i, m in enumerate(metrics):
        top, diff = axes[i], axes[len(metrics) + i]
        sel = ds.sel(metric=m)
        lines = [ln.get_ydata() for ln in top.get_lines()]
        assert np.array_equal(lines[0], sel["p_a"].values)
        assert np.array_equal(lines[1], sel["p_b"].values)
        ys = [np.asarray(ln.get_ydata(), dtype=float) for ln in diff.get_lines()]
        assert any(np.array_equal(y, sel["difference"].values) for y in ys)
        assert any(len(y) == 2 and np.all(y == 0) for y in ys), "no zero line"
        lo, hi = diff.get_ylim()
        assert (
            lo <= float(sel["difference_lower"].min())
            and float(sel["difference_upper"].max()) <= hi
        )
        labels = sorted(t.get_text() for t in top.texts)
        assert labels[0].startswith("A  ") and labels[1].startswith("B  ")
    header = header_text(fig)
    assert "KOR's chance of the top 3: “regulatory-reform” against “baseline”" in header
    assert "A “baseline” vs B “regulatory-reform” · 1,000 draws · seed 1" in header
    assert ds.attrs["pairing"] in header.replace("\n", " ")
    assert "pairing cuts the variance of B − A: AI index " in header.replace("\n", " ")
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:2] == ["A: baseline", "B: regulatory-reform"]


def test_compare_of_one_metric_and_one_year(files):
    ds = files.open("gauss_comparison")
    fig = plots.plot(ds, "compare", metric="score")
    assert len(panels(fig)) == 2
    d = float(ds["difference"].squeeze())
    assert 0 < float(ds["difference_lower"].squeeze()) < d  # GBR slower: KOR gains
    assert f"{d * 100:+.2f} pp" in [t.get_text() for t in panels(fig)[1].texts]
    assert "pairing cuts the variance of B − A: Score " in header_text(fig).replace("\n", " ")


def test_compare_of_unpaired_runs_says_so():
    a, b = (
        run(gaussian_scenario(FIVE, years=(2030,), draws=500, seed=s), keep_draws=True)
        for s in (1, 2)
    )
    fig = plots.plot(compare_results(a, b), "compare")
    header = header_text(fig).replace("\n", " ")
    assert "seed 1 (A) / 2 (B)" in header
    assert "unpaired: the runs differ in seed (1 vs 2)" in header
    assert "intervals assume independent runs" in header
