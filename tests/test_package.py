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


def test_every_public_name_resolves_to_a_documented_callable():
    import simulator

    for name in simulator._API:
        value = getattr(simulator, name)
        assert callable(value) and value.__doc__, name
    assert simulator.target.__module__ == "simulator.analysis.target_search"
    assert simulator.sweep.__module__ == "simulator.analysis.sweep"
