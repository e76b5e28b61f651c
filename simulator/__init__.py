"""g3sim: Monte Carlo scenarios for the probability that a country reaches a top-k AI rank."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("g3sim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
