"""The compiled kernels from a read-only install with a read-only HOME (issue 12).

A real read-only install: the ``simulator`` package is copied into a folder that the child
process can read but not write, and HOME likewise; the child runs ``python -m simulator run``
from that copy. Root ignores permission bits, so under root (as in CI) the child runs as the
unprivileged user ``nobody`` (``setpriv``); under any other user it runs as that user, and the
folders are made read-only for it. With nowhere to cache, numba's ``cache=True`` used to fail
("no locator available"); now the kernels are compiled in memory, and with a writable
``XDG_CACHE_HOME`` or ``NUMBA_CACHE_DIR`` they are cached there. Either way the results equal
those of a normal in-process run, bit for bit.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import xarray as xr
from click.testing import CliRunner

from simulator.cli import main
from simulator.results import open_results
from tests.helpers.scenarios import CONFIGS, ROOT, strip_timing

pytestmark = pytest.mark.slow  # child processes that compile the kernels: ~20 s in all

NOBODY = 65534
DRAWS = "20000"
# Prints where the child imported simulator from and where its kernels are cached.
PROBE = (
    "import json, simulator, simulator.kernels as k; "
    "print(json.dumps({'file': simulator.__file__, 'cache': k.cache_dir()}))"
)


def _as_child() -> list[str]:
    """The command prefix that runs the child as an unprivileged user (or skips the test)."""
    if os.geteuid() != 0:
        return []  # permission bits apply to this user already
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv (util-linux) is missing: cannot drop privileges")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _traversable_by_others(path: Path) -> Path | None:
    """The first folder from / down to ``path`` that others cannot enter, if any."""
    for p in [*reversed(path.parents), path]:
        if not p.stat().st_mode & stat.S_IXOTH:
            return p
    return None


def _read_only(root: Path) -> None:
    """Make a tree readable but not writable by anyone but root (dirs 0555, files 0444)."""
    for p in [root, *root.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)


def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``root`` (``root`` included) with its mode, size and mtime."""
    out = {}
    for p in [root, *root.rglob("*")]:
        st = p.lstat()
        out[str(p.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def _cache_files(root: Path) -> dict[str, tuple[int, int, int]]:
    return {k: v for k, v in _snapshot(root).items() if k.endswith((".nbi", ".nbc"))}


@pytest.fixture(scope="module")
def setup():
    """A read-only install and HOME under a fresh folder; yields a namespace of paths."""
    prefix = _as_child()
    base = Path(tempfile.mkdtemp(prefix="g3sim-ro-")).resolve()
    try:
        base.chmod(0o755)
        if prefix:
            for p in (base, Path(sys.executable)):
                blocked = _traversable_by_others(p)
                if blocked is not None:
                    pytest.skip(f"user nobody cannot enter {blocked} (for {p})")
        install = base / "install"
        shutil.copytree(
            ROOT / "simulator", install / "simulator", ignore=shutil.ignore_patterns("__pycache__")
        )
        config = base / "gaussian-race.toml"
        shutil.copy(CONFIGS / "examples" / "gaussian-race.toml", config)
        home = base / "home"
        home.mkdir()
        _read_only(install)
        _read_only(home)
        config.chmod(0o444)
        # The venv's python and packages must be usable by the child: else skip, not fail.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
        probe = [*prefix, sys.executable, "-c", "import numba, xarray, netCDF4, click"]
        res = subprocess.run(probe, env=env, cwd=base, capture_output=True, text=True)
        if res.returncode:
            last = (res.stderr.strip().splitlines() or ["?"])[-1]
            pytest.skip(f"the venv's python {sys.executable} is not usable by the child: {last}")
        yield SimpleNamespace(base=base, install=install, home=home, config=config, prefix=prefix)
    finally:
        for p in [base, *base.rglob("*")]:
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o755)
        shutil.rmtree(base)


@pytest.fixture(scope="module")
def reference(setup):
    """The same run, normal and in-process (this checkout, its usual kernel cache)."""
    out = setup.base / "reference.nc"
    res = CliRunner().invoke(main, ["run", str(setup.config), "-n", DRAWS, "-q", "-o", str(out)])
    assert res.exit_code == 0, res.output
    return _comparable(open_results(out))


def _comparable(ds: xr.Dataset) -> xr.Dataset:
    """The results without their timing attributes and without ``python_version``: the child
    may run another build of the same Python (e.g. a pyenv python under /root, 0700, whose
    libpython ``nobody`` cannot read, so the loader takes the system's)."""
    ds = strip_timing(ds)
    assert ds.attrs.pop("python_version").startswith("3.")
    return ds


def _writable_dir(setup, name: str) -> Path:
    """A folder the child can write to."""
    d = setup.base / name
    d.mkdir()
    if setup.prefix:
        os.chown(d, NOBODY, NOBODY)
    return d


def _child(setup, out: Path, args: list[str], **extra: str) -> subprocess.CompletedProcess:
    """Run the venv's python as the child user, from the read-only install, in ``out``."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(setup.home),  # no XDG_CACHE_HOME, no NUMBA_CACHE_DIR unless given
        "PYTHONPATH": str(setup.install),
        **extra,
    }
    cmd = [*setup.prefix, sys.executable, *args]
    return subprocess.run(cmd, env=env, cwd=out, capture_output=True, text=True, timeout=600)


def _run(setup, out: Path, name: str, **extra: str) -> tuple[xr.Dataset, float]:
    """``python -m simulator run`` as the child; the results and the wall time."""
    t0 = time.perf_counter()
    args = ["-m", "simulator", "run", str(setup.config), "-n", DRAWS, "-q", "-o", str(out / name)]
    res = _child(setup, out, args, **extra)
    elapsed = time.perf_counter() - t0
    assert "internal error" not in res.stderr, res.stderr
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    return _comparable(open_results(out / name)), elapsed


def _probe(setup, out: Path, **extra: str) -> dict:
    res = _child(setup, out, ["-c", PROBE], **extra)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_readonly_install_and_home_compile_in_memory(setup, reference):
    out = _writable_dir(setup, "out-memory")
    before = (_snapshot(setup.install), _snapshot(setup.home))
    ds, elapsed = _run(setup, out, "r.nc")
    xr.testing.assert_identical(ds, reference)
    info = _probe(setup, out)
    assert info["file"] == str(setup.install / "simulator" / "__init__.py")
    assert info["cache"] is None  # nowhere to cache: compiled in memory
    assert (_snapshot(setup.install), _snapshot(setup.home)) == before
    assert sorted(p.name for p in out.iterdir()) == ["r.nc"]
    print(f"read-only install and HOME, compiled in memory: {elapsed:.1f} s")


@pytest.mark.parametrize("var", ["XDG_CACHE_HOME", "NUMBA_CACHE_DIR"])
def test_readonly_install_caches_in_a_writable_cache_folder(setup, reference, var):
    out = _writable_dir(setup, f"out-{var}")
    cache = _writable_dir(setup, f"cache-{var}")
    before = (_snapshot(setup.install), _snapshot(setup.home))
    ds, first = _run(setup, out, "first.nc", **{var: str(cache)})
    xr.testing.assert_identical(ds, reference)
    files = _cache_files(cache)
    assert files, f"nothing cached in {var}={cache}"
    info = _probe(setup, out, **{var: str(cache)})
    assert info["file"] == str(setup.install / "simulator" / "__init__.py")
    where = cache / "numba" if var == "XDG_CACHE_HOME" else cache
    assert Path(info["cache"]).parent == where
    # A second run loads the kernels from the cache: same results, no cache file rewritten.
    ds, second = _run(setup, out, "second.nc", **{var: str(cache)})
    xr.testing.assert_identical(ds, reference)
    assert _cache_files(cache) == files
    assert (_snapshot(setup.install), _snapshot(setup.home)) == before
    print(f"{var}: {first:.1f} s compiling and caching, {second:.1f} s from the cache")
