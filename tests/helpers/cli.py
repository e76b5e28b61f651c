"""Invoking the CLI in-process and checking its one-line errors."""

from __future__ import annotations

import re

from click.testing import CliRunner

from simulator.cli import main


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], prog_name="g3sim")


def assert_error(res, code: int, *expected: str | re.Pattern) -> str:
    """Exit ``code``; stderr exactly one line containing every ``expected`` text (or regex)."""
    assert isinstance(res.exception, SystemExit), f"uncaught {res.exception!r}"
    assert res.exit_code == code, f"exit {res.exit_code}, stderr {res.stderr!r}"
    assert "Traceback" not in res.output
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and res.stderr.endswith("\n"), f"not one line: {res.stderr!r}"
    line = lines[0]
    assert line.startswith("g3sim"), line
    assert "internal error" not in line, line
    for want in expected:
        if isinstance(want, re.Pattern):
            assert want.search(line), f"{want.pattern!r} not found in {line!r}"
        else:
            assert want in line, f"{want!r} not in {line!r}"
    assert res.stdout == "", f"an error printed to stdout: {res.stdout!r}"
    return line
