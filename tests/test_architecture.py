"""The code's shape, as docs/architecture.md states it (the import layers themselves are
checked by `lint-imports`, which `make test` runs with the contracts in pyproject.toml).

- No module imports the package's own modules inside a function, except to load a heavy
  dependency lazily; each such import says so with a ``# heavy:`` comment.
- No function body (docstring aside) is longer than 60 lines, except the compiled kernel,
  which is one loop on purpose (splitting it costs speed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "simulator"
MAX_BODY_LINES = 60
LONG_ON_PURPOSE = {("kernels.py", "_reduce_block")}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _imports_of_the_package(fn: ast.AST):
    for node in ast.walk(fn):
        if (
            isinstance(node, ast.ImportFrom) and (node.level or "simulator" in (node.module or ""))
        ) or (
            isinstance(node, ast.Import) and any(a.name.startswith("simulator") for a in node.names)
        ):
            yield node


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_inside_functions_only_load_heavy_dependencies(path):
    lines = path.read_text().splitlines()
    for fn in _functions(ast.parse(path.read_text())):
        for node in _imports_of_the_package(fn):
            line = lines[node.lineno - 1]
            assert "# heavy:" in line, (
                f"{path.relative_to(PACKAGE)}:{node.lineno} imports inside {fn.name}(); import "
                "at the top of the module (or mark a lazy heavy dependency '# heavy: why')"
            )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_functions_are_short(path):
    for fn in _functions(ast.parse(path.read_text())):
        if (path.name, fn.name) in LONG_ON_PURPOSE:
            continue
        body = fn.body
        has_doc = isinstance(body[0], ast.Expr) and isinstance(
            getattr(body[0], "value", None), ast.Constant
        )
        start = body[1].lineno if has_doc and len(body) > 1 else body[0].lineno
        length = fn.end_lineno - start + 1
        assert length <= MAX_BODY_LINES, (
            f"{path.relative_to(PACKAGE)}:{fn.lineno} {fn.name}() has a {length}-line body; "
            f"split it below {MAX_BODY_LINES} lines"
        )


def test_the_checks_can_fail(tmp_path):
    """Both checks see what they look for (so a pass means something)."""
    src = "def f():\n    from .engine import run\n" + "    x = 1\n" * MAX_BODY_LINES
    tree = ast.parse(src)
    fn = next(_functions(tree))
    assert list(_imports_of_the_package(fn))
    assert fn.end_lineno - fn.body[0].lineno + 1 > MAX_BODY_LINES
