"""The package face: importing simulator loads nothing heavy (issue 13)."""

from __future__ import annotations

import subprocess
import sys


def test_the_package_face_loads_nothing_heavy():
    code = (
        "import sys, simulator as g3; heavy = {'numba', 'matplotlib', 'xarray'}; "
        "assert not heavy & set(sys.modules), heavy & set(sys.modules); "
        "g3.RunOptions; g3.run; assert 'matplotlib' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
