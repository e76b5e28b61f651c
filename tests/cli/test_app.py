"""The g3sim command itself: --version, python -m simulator, a start without matplotlib."""

from __future__ import annotations

import subprocess
import sys

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


def test_plots_never_import_pyplot_and_the_cli_starts_without_matplotlib():
    code = (
        "import sys; import simulator.cli, simulator.cli.plots; "
        "assert 'matplotlib' not in sys.modules, 'g3sim startup imports matplotlib'; "
        "from simulator import plots; from simulator.views import html; "
        "from simulator.plots import files as plot_files; "
        "assert plot_files.DPI == simulator.cli.plots.DPI; "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
