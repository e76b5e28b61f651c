"""Compiled per-block reductions: rank counts, histograms and moments (numba).

The engine reduces every block of draws to additive states (see :class:`engine.BlockResult`).
Done with numpy, that took several passes over the block, each as long as generating its random
numbers; :func:`reduce_block` does it in one compiled call, tile by tile (``TILE`` draws):

1. copy the tile into country-major rows;
2. per country: bin every value (vectorised), add to its histogram, add its moments;
3. count, for every country and draw, the rivals strictly above it. A pair of countries whose
   ranges in the tile do not overlap needs no comparisons (one is above in every draw); the
   other pairs are compared draw by draw, vectorised along the tile, four rivals at a time;
4. turn those counts into rank counts.

The results equal the numpy reference definitions exactly (:func:`engine.ranks_min`,
:func:`simulator.engine.binning.bin_index` and ``np.bincount``; moments to rounding), which
``tests/test_kernels.py`` checks. Every floating-point operation is written out in a fixed
order and no ``fastmath`` is used, so a block gives the same bits whatever the worker or the
order blocks run in.

Memory safety: the compiled code does not check indices, so the Python wrappers check every
array's shape, dtype and layout, and every index is clamped before use; a NaN or infinite value
lands in an edge bin and is reported through the return value (the engine then raises a clear
error), never used as an index.

Where the compiled code is kept: the first run compiles every kernel variant it needs (a few
seconds each: with or without weights, linear or log bins) and keeps the machine code in numba's
on-disk cache, in the first of these places that is writable (numba's own order, checked when
the kernels are decorated, on import: numba creates the folder and writes a temporary file in it,
and skips a place where either fails):

1. ``$NUMBA_CACHE_DIR``, if set;
2. ``__pycache__`` next to this file (a normal, writable install);
3. numba's user cache, ``$XDG_CACHE_HOME/numba`` (default ``~/.cache/numba``) on Linux.

(numba's other places, for IPython cells and zipped modules, do not apply to an installed
package.)

When none is writable (a read-only install with a read-only or absent HOME: shared installs,
containers), numba refuses ``cache=True`` with "no locator available"; :func:`_compiled` then
compiles the kernels in memory instead, for this process only, so every run compiles them again.
Nothing is written elsewhere: a shared temporary folder is deliberately not used, since another
user could plant compiled code there. :func:`cache_dir` says which place is used. Cached or
compiled in memory, the kernels are compiled the same way and give the same results, bit for
bit (``tests/integration/test_readonly_install.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Draws per tile: small enough that a tile of 127 countries stays in L2, and not a multiple
#: of 512 doubles (4 KiB), whose rows would alias to the same cache sets.
TILE = 1032
#: Rank counters are int8, so the pairwise ranking handles at most this many countries.
MAX_COUNTRIES = 127


def _compiled(func):
    """``njit(nogil=True)``, cached on disk where numba finds a writable place, else in memory.

    Parameters
    ----------
    func : function
        The Python function to compile.

    Returns
    -------
    numba.core.registry.CPUDispatcher
        The compiled function (compiled lazily, on its first call).

    Notes
    -----
    numba looks for a cache place when the function is decorated (see the module docstring for
    the order) and raises ``RuntimeError`` when there is none; any such failure to set up the
    cache only means compiling in memory, never a failed run.
    """
    try:
        return njit(cache=True, nogil=True)(func)
    except RuntimeError:  # "cannot cache function …: no locator available"
        return njit(nogil=True)(func)


def cache_dir() -> str | None:
    """Where the compiled kernels are cached.

    Returns
    -------
    str or None
        The folder of numba's on-disk cache for this module, or None when the kernels are
        compiled in memory (no writable cache place; see the module docstring).
    """
    stats = getattr(_reduce_block, "stats", None)  # None under NUMBA_DISABLE_JIT=1
    return None if stats is None else stats.cache_path


@_compiled
def _reduce_block(x, hx, w, lo, k, nbins, ranks, counts, hist, s1, s2):  # pragma: no cover
    """The compiled body of :func:`reduce_block`, which checks the arguments.

    Moments: without weights, four interleaved partial sums per country and tile, combined in a
    fixed order; with weights, in draw order.
    """
    n, ny, nc = x.shape
    top = nbins - 1.0
    finite = True
    xt = np.empty((nc, TILE))
    ht = xt if hx is None else np.empty((nc, TILE))
    bins = np.empty(TILE, dtype=np.intp)
    above = np.empty((nc, TILE), dtype=np.int8)
    low = np.empty(nc)
    high = np.empty(nc)
    base = np.empty(nc, dtype=np.int64)
    lanes = np.empty((4, nc), dtype=np.int64)
    rivals = np.empty(nc, dtype=np.intp)
    for y in range(ny):
        for d0 in range(0, n, TILE):
            m = min(TILE, n - d0)
            # Sweep 1: transpose the tile to country-major rows.
            for d in range(m):
                for i in range(nc):
                    xt[i, d] = x[d0 + d, y, i]
            if hx is not None:
                for d in range(m):
                    for i in range(nc):
                        ht[i, d] = hx[d0 + d, y, i]
            # Histograms and moments, country by country.
            for i in range(nc):
                xi = xt[i]
                hi_ = ht[i]
                bmin = nbins
                bmax = -1
                for d in range(m):
                    t = (hi_[d] - lo) * k
                    t = t if t >= 0.0 else 0.0  # NaN also lands in bin 0
                    t = t if t <= top else top
                    b = np.intp(t)
                    bins[d] = b
                    bmin = min(bmin, b)
                    bmax = max(bmax, b)
                # The bin is a non-decreasing function of the value, so a country whose lowest
                # bin is above another's highest is above it in every draw of the tile.
                low[i] = bmin
                high[i] = bmax
                row = hist[y, i]
                if w is None:
                    # Four partial sums, combined in a fixed order: the adds overlap (and with
                    # the histogram's increments, which cannot be vectorised anyway).
                    p0 = p1 = p2 = p3 = 0.0
                    q0 = q1 = q2 = q3 = 0.0
                    q = m - m % 4
                    for d in range(0, q, 4):
                        row[bins[d]] += 1
                        row[bins[d + 1]] += 1
                        row[bins[d + 2]] += 1
                        row[bins[d + 3]] += 1
                        v0 = xi[d]
                        v1 = xi[d + 1]
                        v2 = xi[d + 2]
                        v3 = xi[d + 3]
                        p0 += v0
                        p1 += v1
                        p2 += v2
                        p3 += v3
                        q0 += v0 * v0
                        q1 += v1 * v1
                        q2 += v2 * v2
                        q3 += v3 * v3
                    for d in range(q, m):
                        row[bins[d]] += 1
                        p0 += xi[d]
                        q0 += xi[d] * xi[d]
                    a1 = (p0 + p1) + (p2 + p3)
                    a2 = (q0 + q1) + (q2 + q3)
                else:
                    a1 = 0.0
                    a2 = 0.0
                    for d in range(m):
                        wd = w[d0 + d]
                        row[bins[d]] += wd
                        wv = wd * xi[d]
                        a1 += wv
                        a2 += wv * xi[d]
                # A NaN or infinite value makes the sum of squares NaN or infinite (so may
                # squares beyond 1e154: the caller then checks the values themselves).
                finite &= a2 - a2 == 0.0
                s1[y, i] += a1
                s2[y, i] += a2
            if not ranks:
                continue
            # Sweep 2: rivals strictly above each country. A pair of countries whose ranges
            # (``low``, ``high``: of bins, or of values) in this tile do not overlap needs no
            # comparisons: the higher one is above in every draw (``base``). The others are
            # compared draw by draw, vectorised along the tile.
            if hx is not None:
                # Log bins come from numpy's log10, whose monotonicity at the last bit is not
                # promised: use the values' own ranges.
                for i in range(nc):
                    xi = xt[i]
                    lo0 = hi0 = xi[0]
                    for d in range(1, m):
                        v = xi[d]
                        lo0 = v if v < lo0 else lo0
                        hi0 = v if v > hi0 else hi0
                    low[i] = lo0
                    high[i] = hi0
            above[:, :m] = 0
            base[:] = 0
            for i in range(nc):
                # Rivals after i whose range overlaps i's; the others add to ``base``.
                nj = 0
                for j in range(i + 1, nc):
                    if low[i] > high[j]:
                        base[j] += 1
                    elif low[j] > high[i]:
                        base[i] += 1
                    else:
                        rivals[nj] = j
                        nj += 1
                xi = xt[i]
                ai = above[i]
                # Four rivals at a time: i's counters are loaded and stored once per four.
                q = nj - nj % 4
                for r in range(0, q, 4):
                    x1 = xt[rivals[r]]
                    x2 = xt[rivals[r + 1]]
                    x3 = xt[rivals[r + 2]]
                    x4 = xt[rivals[r + 3]]
                    a1 = above[rivals[r]]
                    a2 = above[rivals[r + 1]]
                    a3 = above[rivals[r + 2]]
                    a4 = above[rivals[r + 3]]
                    for d in range(m):
                        a = xi[d]
                        c1 = x1[d]
                        c2 = x2[d]
                        c3 = x3[d]
                        c4 = x4[d]
                        ai[d] += (np.int8(c1 > a) + np.int8(c2 > a)) + (
                            np.int8(c3 > a) + np.int8(c4 > a)
                        )
                        a1[d] += a > c1
                        a2[d] += a > c2
                        a3[d] += a > c3
                        a4[d] += a > c4
                for r in range(q, nj):
                    xj = xt[rivals[r]]
                    aj = above[rivals[r]]
                    for d in range(m):
                        a = xi[d]
                        c = xj[d]
                        ai[d] += c > a
                        aj[d] += a > c
            # Rank r + 1 for r rivals above: base[i] from the disjoint pairs plus above[i, d]
            # from the compared ones. Without weights, four interleaved counters keep runs of
            # equal ranks from waiting on each other's increments.
            for i in range(nc):
                ai = above[i]
                b = base[i]
                if w is None:
                    lanes[:, :] = 0
                    q = m - m % 4
                    for d in range(0, q, 4):
                        lanes[0, ai[d]] += 1
                        lanes[1, ai[d + 1]] += 1
                        lanes[2, ai[d + 2]] += 1
                        lanes[3, ai[d + 3]] += 1
                    for d in range(q, m):
                        lanes[0, ai[d]] += 1
                    for r in range(nc - b):
                        counts[y, i, r + b] += lanes[0, r] + lanes[1, r] + lanes[2, r] + lanes[3, r]
                else:
                    for d in range(m):
                        counts[y, i, ai[d] + b] += w[d0 + d]
    return finite


@_compiled
def _scale_shift(z, scale, shift):  # pragma: no cover
    nc = scale.shape[0]
    flat = z.reshape(-1)
    for r in range(0, flat.shape[0], nc):
        for i in range(nc):
            flat[r + i] = flat[r + i] * scale[i] + shift[i]


def _check(name: str, a, shape: tuple[int, ...], dtype, *, output: bool = False) -> None:
    if not (
        isinstance(a, np.ndarray)
        and a.shape == shape
        and a.dtype == dtype
        and a.flags.c_contiguous
        and (a.flags.writeable or not output)
    ):
        got = f"{a.shape} {a.dtype}" if isinstance(a, np.ndarray) else type(a).__name__
        what = "writeable C-contiguous" if output else "C-contiguous"
        raise ValueError(f"{name}: expected a {what} {np.dtype(dtype)} array {shape}, got {got}")


def reduce_block(
    x: np.ndarray,
    hx: np.ndarray | None,
    w: np.ndarray | None,
    lo: float,
    k: float,
    nbins: int,
    ranks: bool,
    counts: np.ndarray,
    hist: np.ndarray,
    s1: np.ndarray,
    s2: np.ndarray,
) -> bool:
    """Add one block's rank counts, histograms and moments into the given arrays.

    ``x``: ``(n, year, country)`` float64 values, C-contiguous. ``hx``: None to bin ``x``
    itself, or the values to bin instead (log10 of ``x`` for log bins), same shape. ``w``: None,
    or ``(n,)`` positive weights. The bin of a value ``v`` is
    ``int(clip((v - lo)·k, 0, nbins - 1))``, as :func:`~simulator.engine.binning.bin_index`.
    With ``ranks`` (at most :data:`MAX_COUNTRIES` countries), ``counts[y, c, r]`` gains the draws
    (or their weights) in which country ``c`` has ``r`` rivals strictly above it in year ``y``;
    otherwise ``counts`` is left alone. ``hist (year, country, nbins)`` and
    ``counts (year, country, country)`` are int64 without weights and float64 with;
    ``s1``/``s2`` ``(year, country)`` gain ``Σ w·v`` and ``Σ (w·v)·v``.

    Returns False if a sum of squares is not finite: some value is NaN or infinite, or (rarely)
    a square overflowed; the caller tells which with ``np.isfinite``.

    The arrays are checked here, since the compiled code does not check its indices.
    """
    if not (isinstance(x, np.ndarray) and x.ndim == 3):
        raise ValueError("x: expected an (n, year, country) array")
    n, ny, nc = x.shape
    _check("x", x, x.shape, np.float64)
    if hx is not None:
        _check("hx", hx, x.shape, np.float64)
    if w is not None:
        _check("w", w, (n,), np.float64)
    nbins = int(nbins)
    if nbins < 1:
        raise ValueError(f"nbins: must be ≥ 1, got {nbins}")
    if ranks and nc > MAX_COUNTRIES:
        raise ValueError(f"ranks: the pairwise ranking takes ≤ {MAX_COUNTRIES} countries, got {nc}")
    dtype = np.int64 if w is None else np.float64
    _check("counts", counts, (ny, nc, nc), dtype, output=True)
    _check("hist", hist, (ny, nc, nbins), dtype, output=True)
    _check("s1", s1, (ny, nc), np.float64, output=True)
    _check("s2", s2, (ny, nc), np.float64, output=True)
    return bool(
        _reduce_block(x, hx, w, float(lo), float(k), nbins, bool(ranks), counts, hist, s1, s2)
    )


def scale_shift(z: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> None:
    """``z[..., i] = z[..., i] * scale[i] + shift[i]`` in place, in one pass: the same two
    roundings as numpy's broadcast ``z *= scale; z += shift``."""
    nc = z.shape[-1] if isinstance(z, np.ndarray) and z.ndim else -1
    _check("z", z, getattr(z, "shape", ()), np.float64, output=True)
    scale, shift = np.ascontiguousarray(scale), np.ascontiguousarray(shift)
    _check("scale", scale, (nc,), np.float64)
    _check("shift", shift, (nc,), np.float64)
    if z.size:
        _scale_shift(z, scale, shift)
