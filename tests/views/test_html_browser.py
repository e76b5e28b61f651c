"""The HTML report as a reader sees it: opened in a real headless Chromium (issue 18).

Playwright's Python API drives the operating system's Chromium (``apt-get install chromium``;
.ci/run installs it when missing), never a browser Playwright downloads. At a phone's width
(390 px) and a laptop's (1280 px), the page must log no console error, request nothing that
fails, not scroll sideways, load every figure, show flags as yes/no, leave no table cell empty,
and at 1280 px fit every table without its scroll box scrolling (the correlation table did not).
Without Chromium or Playwright the test is skipped on a developer's machine and fails in CI.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main

WIDTHS = (390, 1280)
SCREENSHOTS = os.environ.get("G3SIM_SCREENSHOTS")  # a folder: keep the screenshots there


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        message = "needs Debian's chromium and the playwright package (.ci/run installs both)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser():
    executable = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module", params=["baseline", "gauss"])
def report(request, tmp_path_factory) -> Path:
    """The report of each results file, written by the CLI."""
    nc = request.getfixturevalue(f"{request.param}_nc")
    out = tmp_path_factory.mktemp("browser") / f"{request.param}.html"
    res = CliRunner().invoke(main, ["report", str(nc), "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(params=WIDTHS)
def page(request, browser, report):
    """The report open at one width, with what the browser logged."""
    pg = browser.new_page(viewport={"width": request.param, "height": 900})
    log: dict[str, list[str]] = {"console": [], "failed": [], "errors": []}
    pg.on("console", lambda m: log["console"].append(f"{m.type}: {m.text}"))
    pg.on("requestfailed", lambda r: log["failed"].append(r.url[:100]))
    pg.on("pageerror", lambda e: log["errors"].append(str(e)))
    pg.goto(report.as_uri())
    pg.wait_for_load_state("load")
    if SCREENSHOTS:
        pg.screenshot(path=f"{SCREENSHOTS}/{report.stem}-{request.param}.png", full_page=True)
    yield pg, log, request.param
    pg.close()


def test_the_report_loads_cleanly_and_fits_the_screen(page):
    pg, log, width = page
    errors = [line for line in log["console"] if line.startswith(("error", "warning"))]
    assert errors == [] and log["errors"] == [] and log["failed"] == []
    assert pg.evaluate("document.documentElement.scrollWidth") <= width
    # Nothing sticks out to the right, except inside a scroll box (wide tables on a phone).
    sticking_out = pg.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => !e.closest('.scroll'))
            .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth)
            .map(e => e.tagName)"""
    )
    assert sticking_out == []
    if width >= 1280:  # a laptop shows every table whole
        scrolling = pg.evaluate(
            """() => [...document.querySelectorAll('.scroll')]
                .filter(e => e.scrollWidth > e.clientWidth)
                .map(e => e.previousElementSibling.textContent)"""
        )
        assert scrolling == []


def test_every_figure_loads(page):
    pg, _, _ = page
    images = pg.evaluate(
        "[...document.querySelectorAll('figure img')].map(i => [i.complete, i.naturalWidth])"
    )
    assert len(images) >= 1
    assert all(done and w > 0 for done, w in images)


def test_provenance_says_yes_or_no_and_no_cell_is_empty(page):
    pg, _, _ = page
    prov = dict(
        pg.evaluate(
            """[...document.querySelectorAll('dl.prov dt')]
                .map(dt => [dt.textContent, dt.nextElementSibling.textContent])"""
        )
    )
    assert prov["per-draw data kept"] in ("yes", "no")
    if "conditioned on observations" in prov:
        assert prov["conditioned on observations"] in ("yes", "no")
    assert "" not in prov.values()
    empty = pg.evaluate(
        "[...document.querySelectorAll('td, tbody th')].filter(c => !c.textContent.trim()).length"
    )
    assert empty == 0


def test_the_conditioned_report_shows_its_observations_and_correlations(browser, baseline_nc):
    # The baseline has both tables: a default an observation leaves out is shown (a ranking
    # is a published top-N list unless it says otherwise).
    out = Path(baseline_nc).with_name("conditioned.html")
    CliRunner().invoke(main, ["report", str(baseline_nc), "-o", str(out)])
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    pg.goto(out.as_uri())
    assert pg.locator("table.corr").count() == 1
    assert pg.get_by_text("true (default)").count() >= 1
    pg.close()
