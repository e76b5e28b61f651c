"""docs/levers.md runs as written: every `g3sim` command of its bash blocks, and its Python block,
in a fresh folder with the project's configs/ (slow: each command runs the ai_race model).

The one change, documented in docs/levers.md: ``-n 20000`` / ``draws=20_000`` become 2,000 draws,
so the walk-through runs in a few minutes; the commands are otherwise exactly the page's.
"""

from __future__ import annotations

import re
import shlex

import pytest

from tests.helpers.cli import invoke
from tests.helpers.scenarios import CONFIGS, ROOT

DOC = ROOT / "docs" / "levers.md"
SMALL = (("-n 20000", "-n 2000"), ("draws=20_000", "draws=2_000"))


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), flags=re.S)


def walkthrough_commands() -> list[str]:
    """The page's `g3sim ...` commands (continuation lines joined), in order."""
    out = []
    for block in _blocks("bash"):
        text = block.replace("\\\n", " ")
        out += [ln.split("  #")[0].strip() for ln in text.splitlines() if ln.startswith("g3sim ")]
    return out


def _small(text: str) -> str:
    for old, new in SMALL:
        text = text.replace(old, new)
    return text


def test_the_page_has_the_commands_it_promises():
    cmds = walkthrough_commands()
    verbs = [c.split()[1] for c in cmds]
    assert {"sweep", "target", "sensitivity", "plot", "report", "inspect"} <= set(verbs)
    assert all("-n 20000" in c for c in cmds if c.split()[1] in ("sweep", "target", "run"))


@pytest.mark.slow
def test_the_walkthrough_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(CONFIGS)
    (tmp_path / "results").mkdir()
    for cmd in walkthrough_commands():
        res = invoke(*shlex.split(_small(cmd))[1:])
        assert res.exit_code == 0, f"{cmd}: {res.output}"
    assert (tmp_path / "results" / "korea-levers-sweep.nc").exists()
    for block in _blocks("python"):
        exec(compile(_small(block), str(DOC), "exec"), {})
