"""Whether a run with a target half-width will reach it within its cap: warned early, once.

After the first few blocks, the half-width reached so far says how many draws the target needs
(:func:`simulator.stats.draws_for_halfwidth`: a half-width falls as 1/√draws). A run that plainly
needs more than its cap (``max_draws``) would stop short; a :class:`~simulator.errors.G3simWarning`
says so while it still runs, so that a user can stop it and raise the cap or loosen the target.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..engine import Accumulator
from ..errors import G3simWarning, option
from ..stats import draws_for_halfwidth, round_draws

#: Blocks folded before the forecast is made (fewer if the run has fewer blocks).
JUDGE_AFTER_BLOCKS = 4
#: "Plainly": the forecast need exceeds the cap by this factor (the early half-width is noisy:
#: with a few hundred effective draws its relative error is ~10%, ~20% on the squared ratio).
PLAINLY = 2.0


class ShortfallWatch:
    """Call :meth:`check` after each folded block; warns at most once per run."""

    def __init__(self, acc: Accumulator):
        self.acc = acc
        self.done = acc.stop is None or acc.stopped

    def check(self) -> None:
        acc = self.acc
        if self.done or acc.next_block < min(JUDGE_AFTER_BLOCKS, acc.nblocks) or not acc.trace:
            return
        if acc.next_block >= acc.nblocks:  # over: the stop reason says the rest
            self.done = True
            return
        self.done = True
        draws, _, half = acc.trace[-1]
        worst = float(np.max(half))
        target, cap = acc.stop.halfwidth, acc.scenario.draws
        need = draws_for_halfwidth(draws, worst, target)
        if acc.stopped or need <= PLAINLY * cap:
            return
        warnings.warn(
            G3simWarning(
                f"after {draws:,} draws the 95% half-width is {worst:.2g}; the target "
                f"{target:g} needs about {round_draws(need):,} draws (half-width ∝ 1/√draws), "
                f"more than the cap of {cap:,} ({option('max_draws')}): this run will stop "
                "short of it; raise "
                f"{option('max_draws')} or loosen {option('target_halfwidth')}"
            ),
            stacklevel=2,
        )
