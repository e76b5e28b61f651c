"""errors.py: one-line messages, and parameters that each side spells its own way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.cli.options import FLAGS
from simulator.errors import FORCE, ConfigError, option

PACKAGE = Path(__file__).resolve().parents[1] / "simulator"
# The layers below the views speak in parameters, never in command-line flags.
LIBRARY = ["engine", "runs", "results", "analysis"]


def test_an_option_is_a_keyword_in_python_and_a_flag_on_the_command_line():
    err = ConfigError(f"x.nc exists; pass {FORCE} or {option('draws')}", source="a.toml")
    assert str(err) == "a.toml: x.nc exists; pass force=True or draws"
    assert err.message(FLAGS) == "a.toml: x.nc exists; pass --force or -n"


def test_the_command_line_shows_flags(tmp_path):
    scen = PACKAGE.parent / "configs" / "examples" / "gaussian-race.toml"
    out = tmp_path / "r.nc"
    out.write_bytes(b"old")
    res = CliRunner().invoke(main, ["run", str(scen), "-q", "-n", "100", "-o", str(out)])
    assert res.exit_code == 2
    assert res.stderr.strip().endswith(
        "exists; pass --force to replace it, or -o to write elsewhere"
    )


def _strings(path: Path):
    """The string constants of a module, docstrings aside (they may describe the CLI)."""
    tree = ast.parse(path.read_text())
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node.lineno, node.value


@pytest.mark.parametrize("layer", LIBRARY)
def test_library_messages_spell_no_flag(layer):
    flags = [f for f in FLAGS.values() if f.startswith("--")]
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for line, text in _strings(path):
            found = [f for f in flags if f in text]
            assert not found, (
                f"{path.relative_to(PACKAGE)}:{line} spells {found[0]}; name the parameter with "
                "errors.option() and let the CLI spell it"
            )
