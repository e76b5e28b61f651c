"""``import g3sim`` is ``import simulator``: the same API, the same objects.

The distribution, the command and the project are called g3sim, so ``import g3sim`` is what a
user tries first; the package itself is ``simulator`` (its layers, tests and files say so).
This alias forwards every name, lazily, so that nothing is defined twice.
"""

from __future__ import annotations

import simulator

__version__ = simulator.__version__
__all__ = list(simulator.__all__)


def __getattr__(name: str):
    return getattr(simulator, name)


def __dir__() -> list[str]:
    return dir(simulator)
