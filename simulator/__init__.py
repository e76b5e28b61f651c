"""g3sim: Monte Carlo scenarios for the probability that a country reaches a top-k AI rank."""

from ._version import __version__

__all__ = ["__version__"]
