"""docs/api.md as a reader runs it (issue 18): its table names a function for every command of
the CLI, each one a name of ``import simulator as g3``; its code blocks run in order, as in a
notebook, in a scratch folder; and so does the README's Python example."""

from __future__ import annotations

import re
import warnings

import pytest

import simulator
from simulator.cli import main
from simulator.errors import G3simWarning
from simulator.runs.options import MAX_DRAWS_ENV
from tests.helpers.scenarios import ROOT

API_MD = ROOT / "docs" / "api.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)\n```", text, flags=re.DOTALL)


def command_table() -> dict[str, list[str]]:
    """Each command of docs/api.md's table → the ``g3.NAME`` functions its row names."""
    rows = re.findall(r"^\| `g3sim ([a-z-]+)` \| (.*?) \|", API_MD.read_text(), flags=re.M)
    return {command: re.findall(r"g3\.([A-Za-z_]+)", cell) for command, cell in rows}


def test_every_command_has_a_documented_function_of_the_api():
    table = command_table()
    missing = sorted(set(main.commands) - set(table))
    assert not missing, f"docs/api.md's table lacks a row for: {missing}"
    for command, names in table.items():
        assert names, command
        for name in names:
            assert name in simulator.__all__, f"{command}: g3.{name} is not in the API"
            assert callable(getattr(simulator, name))


def test_import_g3sim_is_the_same_api():
    import g3sim

    assert g3sim.run is simulator.run and g3sim.__version__ == simulator.__version__
    assert set(g3sim.__all__) == set(simulator.__all__)


@pytest.mark.slow
@pytest.mark.parametrize("doc", ["docs/api.md", "README.md"])
def test_the_code_blocks_run_in_order(doc, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    # Every block runs as written, its runs capped (with a warning) as the README tour's are:
    # the test is that the code works in order, not the figures' digits.
    monkeypatch.setenv(MAX_DRAWS_ENV, "4000")
    (tmp_path / "results").mkdir()  # the README's example runs after `make run`, which made it
    blocks = python_blocks((ROOT / doc).read_text(encoding="utf-8"))
    assert blocks
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("default", G3simWarning)  # said, not an error, in a notebook
        for i, block in enumerate(blocks):
            try:
                exec(compile(block, f"{doc} block {i + 1}", "exec"), namespace)
            except Exception as exc:
                pytest.fail(f"{doc}, Python block {i + 1} fails: {type(exc).__name__}: {exc}")
    printed = capsys.readouterr().out
    if doc == "docs/api.md":
        assert "P(KOR rank ≤ 3)" in printed and "P(JPN rank ≤ 3)" in printed
        for name in ("walkthrough.nc", "walkthrough-fan.png", "walkthrough.html", "precise.nc"):
            assert (tmp_path / "results" / name).is_file(), name
