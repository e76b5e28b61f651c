"""The package version, from the installed metadata (its own module, so any layer can import it)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("g3sim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
