"""The ``ai_race`` world model: :mod:`.model` (dynamics), :mod:`.config` (the ``[model]`` table),
:mod:`.tortoise` (packaged data and index arithmetic), :mod:`.calibration` (the random walk's
calibration to published rank movements; docs/calibrate_ai_race.py runs it)."""

from __future__ import annotations

from .model import AiRace

__all__ = ["AiRace"]
