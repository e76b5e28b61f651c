"""g3sim report: one self-contained, well-formed HTML page with the headline and assumptions."""

from __future__ import annotations

import base64
import html
import tomllib
from html.parser import HTMLParser

import pytest
import xarray as xr
from click.testing import CliRunner

from simulator import plots
from simulator.cli import main
from simulator.results import open_results
from simulator.views.format import interval
from simulator.views.html import distribution_text, report_html
from tests.helpers.plot_data import PNG_MAGIC

VOID = {"meta", "img", "br", "hr", "link", "input", "source", "wbr", "col", "area", "base"}
KEY_TAGS = {"html", "head", "body", "main", "section", "table", "thead", "tbody", "tr", "details"}


@pytest.fixture(scope="module")
def gauss_page(gauss_nc):
    """The gaussian race's report, written by the CLI at its default path."""
    res = CliRunner().invoke(main, ["report", str(gauss_nc)])
    assert res.exit_code == 0, res.output
    out = gauss_nc.with_suffix(".html")
    assert res.stdout.strip() == f"saved {out}"
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def baseline_page(baseline_nc, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "baseline-report.html"
    res = CliRunner().invoke(main, ["report", str(baseline_nc), "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out.read_text(encoding="utf-8")


@pytest.fixture(params=["gauss", "baseline"])
def page(request):
    """(results file, HTML) of each result in turn."""
    return request.getfixturevalue(f"{request.param}_nc"), request.getfixturevalue(
        f"{request.param}_page"
    )


class Checker(HTMLParser):
    """Parses a page, tracking open elements, every src/href, and the text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.seen: set[str] = set()
        self.refs: list[tuple[str, str, str]] = []
        self.images: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.seen.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "data", "poster"):
                self.refs.append((tag, name, value or ""))
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def check(page_html: str) -> Checker:
    c = Checker()
    c.feed(page_html)
    c.close()
    assert not c.errors, c.errors[:5]
    assert c.stack == [], f"unclosed: {c.stack}"
    return c


def test_page_is_well_formed_with_the_key_elements(page):
    _, text = page
    assert text.startswith("<!DOCTYPE html>")
    c = check(text)
    assert KEY_TAGS | {"figure", "img", "style", "title"} <= c.seen


def test_page_loads_nothing_from_anywhere(page):
    _, text = page
    c = check(text)
    for tag, attr, value in c.refs:
        assert not value.lower().startswith(("http:", "https:", "//", "ftp:", "file:")), value
        assert "//" not in value.split(",")[0].replace("data:image/png;base64", ""), value
        if attr == "href":
            assert value.startswith("#"), f"<{tag} {attr}={value!r}>: only in-page links"
        else:
            assert value.startswith("data:image/png;base64,"), f"<{tag} {attr}>: embed it"
    assert "<link" not in text and "<script" not in text and "@import" not in text
    assert "url(" not in text.split("</style>")[0]
    assert "default-src 'none'" in html.unescape(text)  # the browser refuses any load, too


def test_figures_are_embedded_pngs(page):
    nc, text = page
    c = check(text)
    kinds = plots.available_kinds(open_results(nc))
    assert len(c.images) == len(kinds) >= 4
    for src in c.images:
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data.startswith(PNG_MAGIC)


def test_headline_probabilities_are_in_the_text(page):
    nc, text = page
    ds = open_results(nc)
    body = html.unescape(text)
    sel = ds.sel(country=ds.attrs["focus"])
    for m in ds["metric"].values:
        for y in ds["year"].values:
            cell = interval(
                float(sel["p_top"].sel(metric=m, year=y)),
                float(sel["p_top_lower"].sel(metric=m, year=y)),
                float(sel["p_top_upper"].sel(metric=m, year=y)),
            )
            assert f'<td class="headline">{cell}</td>' in body, (m, int(y), cell)


def test_assumptions_and_provenance(page):
    nc, text = page
    ds = open_results(nc)
    body = html.unescape(text)
    scenario = tomllib.loads(ds.attrs["scenario_toml"])
    for name, spec in scenario.get("factors", {}).items():
        assert f"<code>{name}</code>" in body
        assert distribution_text(spec) in body
        assert spec.get("description", "") in body
    assert "<details>" in text and ds.attrs["scenario_toml"].strip() in body
    for key in ("scenario_sha256", "created_utc", "command", "design", "numpy_version"):
        assert f"<dd>{ds.attrs[key] or '–'}</dd>" in body, key  # – for none (a run from Python)
    assert "<dt>per-draw data kept</dt><dd>yes</dd>" in body  # flags as yes/no, not 1/0
    assert f"<dd>{int(ds.attrs['seed'])}</dd>" in body
    assert f"<dd>{int(ds.attrs['draws']):,}</dd>" in body


def test_baseline_report_shows_factors_and_correlations(baseline_page):
    body = html.unescape(baseline_page)
    assert "pert(low = 0.08, mode = 0.15, high = 0.25)" in body  # gpu_retirement_rate
    assert "Rank correlations" in body
    assert "Rank of South Korea" in body
    assert "AI GPU stock" in body and "median rank" in body


def test_text_from_the_file_is_escaped(gauss_nc):
    ds = open_results(gauss_nc)
    ds.attrs["scenario_description"] = '<script>alert("x")</script> & <b>'
    ds.attrs["command"] = "g3sim run '<img src=http://evil/x.png>'"
    text = report_html(ds, source="<a href='http://x'>")
    c = check(text)
    assert "<script>" not in text and "<img src=http" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in text
    assert all(value.startswith(("#", "data:")) for _, _, value in c.refs)


def test_report_must_be_html(gauss_nc, tmp_path):
    res = CliRunner().invoke(main, ["report", str(gauss_nc), "-o", str(tmp_path / "r.txt")])
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        f"g3sim: error: {tmp_path / 'r.txt'}: a report is an HTML file; name it .html, "
        "e.g. report.html"
    )


def test_report_of_an_analysis_file(tmp_path):
    path = tmp_path / "cmp.nc"
    xr.Dataset(attrs={"analysis": "comparison", "g3sim_format": "g3sim-comparison"}).to_netcdf(path)
    res = CliRunner().invoke(main, ["report", str(path)])
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        f"g3sim: error: {path} is a comparison result; `g3sim report` reports a result of "
        "`g3sim run` (plot this one with `g3sim plot`)"
    )


def test_report_of_a_missing_file(tmp_path):
    res = CliRunner().invoke(main, ["report", str(tmp_path / "none.nc")])
    assert res.exit_code == 2
    assert "none.nc: no such results file" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
