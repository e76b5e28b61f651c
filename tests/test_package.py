"""The package: its face loads nothing heavy (issue 13); it installs with its scenarios."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib

import pytest

from tests.helpers.scenarios import ROOT


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


def test_pyproject_names_every_package():
    # pyproject.toml lists the packages by name (to map configs/ in as simulator.configs).
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "simulator").rglob("__init__.py")
    }
    found = {name for name in found if "__pycache__" not in name}
    extra = {"simulator.data", "simulator.configs", "simulator.configs.examples", "g3sim"}
    assert listed == found | extra


@pytest.mark.slow
def test_a_non_editable_install_ships_the_scenarios(tmp_path):
    # Build and install a real wheel (no editable finder, no repository beside it) into a
    # folder, then run the shipped baseline by name from a folder with no configs/ in it.
    src = tmp_path / "src"
    src.mkdir()
    for part in ("pyproject.toml", "README.md", "simulator", "g3sim", "configs"):
        if (ROOT / part).is_dir():
            shutil.copytree(ROOT / part, src / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / part, src / part)
    target = tmp_path / "site"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(src),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    assert sorted(p.name for p in (target / "simulator" / "configs").glob("*.toml")) == sorted(
        p.name for p in (ROOT / "configs").glob("*.toml")
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator",
            "run",
            "baseline",
            "-n",
            "2000",
            "-q",
            "--no-keep-draws",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert (work / "results" / "baseline.nc").is_file()
    listing = subprocess.run(
        [sys.executable, "-m", "simulator", "list"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "baseline            shipped" in listing
    where = subprocess.run(
        [sys.executable, "-c", "import simulator; print(simulator.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(target))
