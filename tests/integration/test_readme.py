"""The README as a newcomer reads it (issue 18): `make run`, then the tour, line by line.

In a scratch copy of the repository (its files as they are, without results or caches), with
this test run's virtual environment as the copy's ``.venv``: ``make run`` must print the README's
example headline (the timing line aside; docs/make_figures.py writes that block), then the
tour's ``bash`` block runs as written, in order, in one shell with ``set -e``, and leaves no
file outside ``results/`` (caches aside). ``G3SIM_MAX_DRAWS`` caps the tour's runs at
``TOUR_DRAWS`` draws (each run says so on stderr); `make run` itself runs in full.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.scenarios import ROOT

pytestmark = pytest.mark.slow

TOUR_DRAWS = "5000"  # a third of one block: the runs cost their start-up
# What is not copied: generated or private files (git ignores them too).
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.egg-info", "build", "results", ".pytest_cache", "*.nc"
)
# A run's timing: the one part of the headline that differs between machines and runs.
TIMING = re.compile(r" · [\d.]+ s \([\d,]+ draws/s\)$", re.MULTILINE)


def readme_block(title: str, fence: str) -> str:
    """The first ``fence`` code block after the heading ``title`` of README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"\n## {title}\n", 1)[1]
    return section.split(f"```{fence}\n", 1)[1].split("\n```", 1)[0]


def tour_commands() -> list[str]:
    """The tour's commands, comments and blank lines left out."""
    lines = readme_block("A short tour", "bash").splitlines()
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def files_in(root: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.is_symlink()
    }


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("clone") / "g3sim"
    shutil.copytree(ROOT, copy, ignore=SKIP, symlinks=True)
    (copy / ".venv").symlink_to(Path(sys.prefix))
    return copy


def make_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("G3SIM_", "PYTEST"))}
    env["PATH"] = f"{Path(sys.prefix) / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_make_run_prints_the_readme_headline(scratch):
    # `-o` keeps make from reinstalling into this environment (the copy's pyproject is newer).
    out = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "run"],
        cwd=scratch,
        env=make_env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    printed = "\n".join(line.rstrip() for line in out.stdout.splitlines())
    shown = readme_headline()
    assert TIMING.sub("", printed) == TIMING.sub("", shown), (
        "README.md's example headline is not what `make run` prints: rerun "
        "`.venv/bin/python docs/make_figures.py`"
    )
    assert (scratch / "results" / "baseline.nc").is_file()


def readme_headline() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text.split("<!-- the headline of `make run`, written by docs/make_figures.py -->", 1)
    return after[1].split("```text\n", 1)[1].split("\n```", 1)[0]


def test_the_tour_runs_as_written_after_make_run(scratch):
    if not (scratch / "results" / "baseline.nc").is_file():
        pytest.skip("needs test_make_run_prints_the_readme_headline first")
    before = files_in(scratch)
    commands = tour_commands()
    assert commands[0].startswith(". .venv/bin/activate") and len(commands) >= 10
    script = "set -euo pipefail\n" + "\n".join(
        f"echo '>>> {i}' >&2\n{command}" for i, command in enumerate(commands)
    )
    env = make_env() | {"G3SIM_MAX_DRAWS": TOUR_DRAWS}
    out = subprocess.run(
        ["bash", "-c", script],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    failed = re.findall(r">>> (\d+)", out.stderr)
    where = commands[int(failed[-1])] if failed else "?"
    assert out.returncode == 0, f"exit {out.returncode} at `{where}`:\n{out.stderr[-3000:]}"
    assert len(failed) == len(commands)  # every command ran
    stray = {f for f in files_in(scratch) - before if not f.startswith("results/")}
    assert not stray, f"the tour left files outside results/: {sorted(stray)}"
    made = {f for f in files_in(scratch) - before}
    for name in ("results/jpn.nc", "results/fan.png", "results/baseline.html"):
        assert name in made
    assert "traceback" not in out.stderr.lower()


def test_the_readme_starts_with_two_commands_for_a_new_machine():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first = text.split("```bash\n", 1)[1].split("\n```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first.splitlines()]
    assert commands == ["make run", "make test"]
    assert text.index("```bash") < text.index("\n## ")  # before any section
