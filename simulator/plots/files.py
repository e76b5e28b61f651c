"""Figure files: check an image path, render, and write atomically.

The file side of :mod:`simulator.plots`: the format follows the extension (PNG, SVG, PDF), files
are written to a temporary file and renamed into place, and rendering carries no date, so the
same result gives the same bytes.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from matplotlib.figure import Figure

from ..errors import ConfigError, OutputError
from ..results import write_atomic

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
DPI = 150


def image_format(path: str | os.PathLike) -> str:
    """The image format named by ``path``'s extension, or a ConfigError."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        shown = f"'{suffix}'" if suffix else "no extension"
        raise ConfigError(
            f"{path}: cannot tell the image format from {shown}; name a .png, .svg or .pdf file"
        )
    return FORMATS[suffix]


def figure_bytes(fig: Figure, fmt: str = "png", *, dpi: int = DPI) -> bytes:
    """Render ``fig`` to PNG, SVG or PDF bytes (without dates, so output is reproducible)."""
    metadata = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata[fmt], facecolor="white")
    return buf.getvalue()


def check_output(path: str | os.PathLike) -> str:
    """Check an image path before drawing: its format (returned) and its folder."""
    path = Path(path)
    fmt = image_format(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a directory; name an image file, e.g. {path / 'fan.png'}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{parent}: no such directory; create it or choose another -o path")
    return fmt


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = DPI) -> Path:
    """Write ``fig`` to ``path`` (format from the extension), atomically; replaces a file."""
    path = Path(path)
    fmt = image_format(path)
    write_bytes(path, figure_bytes(fig, fmt, dpi=dpi))
    return path


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through the one atomic writer (temporary file, fsync, rename)."""
    if path.is_dir():
        raise ConfigError(f"{path} is a directory; name a file, e.g. {path / 'figure.png'}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{parent}: no such directory; create it or choose another -o path")
    try:
        write_atomic(path, lambda tmp: tmp.write_bytes(data))
    except OSError as exc:
        raise OutputError(
            f"{path}: cannot write ({exc.strerror or exc}); choose another -o path"
        ) from None
