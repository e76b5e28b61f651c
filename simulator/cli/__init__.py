"""The ``g3sim`` command line: parse, call the Python API, render. No model logic here.

:mod:`.app` holds the group (:data:`main`, the console script) and adds every command;
:mod:`.options` what commands share; :mod:`.run`, :mod:`.inspect`, :mod:`.analysis` and
:mod:`.plots` the commands.
"""

from __future__ import annotations

from .app import main

__all__ = ["main"]
