"""The g3sim command itself: --version and python -m simulator."""

from __future__ import annotations

from simulator import __version__
from simulator.cli import main


def test_version(runner):
    res = runner.invoke(main, ["--version"])
    assert res.exit_code == 0 and __version__ in res.stdout


def test_python_dash_m_entry_point(gauss_file, in_tmp):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "simulator", "run", str(gauss_file), "-n", "500", "-q", "--force"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "P(KOR rank ≤ 3)" in out.stdout
