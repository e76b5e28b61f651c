"""The text view of a calibration (:func:`simulator.analysis.calibration.calibrate`)."""

from __future__ import annotations

from ..analysis.calibration import Calibration
from .format import number, percent


def calibration_text(c: Calibration, *, top: int = 12) -> str:
    """A :class:`~simulator.analysis.calibration.Calibration` as a text table."""
    out = [
        f"calibration of {c.scenario} · {c.draws:,} draws · seed {c.seed}",
        f"effective sample size {c.effective_sample_size:,.0f} "
        f"({c.acceptance:.2%} of the draws; "
        f"conditioned on {len(c.observations)} observations)",
        "",
        "back-test: how often the unconditioned model reproduces each observation",
    ]
    width = max((len(o.observation) for o in c.observations), default=10)
    for o in c.observations:
        out.append(f"  {o.observation:<{width}}  {percent(o.p_reproduced):>8}")
    if not c.effective_sample_size:
        out += [
            "",
            "no draw reproduces every observation jointly: loosen rank_tolerance or score_sd of "
            "the least reproduced, or drop it",
        ]
    if c.factors:
        out += ["", f"factors the observations pull hardest (top {min(top, len(c.factors))})"]
        fw = max(len(f.factor) for f in c.factors[:top])
        out.append(
            f"  {'factor':<{fw}}  {'prior mean':>11} {'posterior':>11} {'shift/sd':>9} "
            f"{'sd ratio':>9}"
        )
        for f in c.factors[:top]:
            out.append(
                f"  {f.factor:<{fw}}  {number(f.prior_mean):>11} {number(f.posterior_mean):>11} "
                f"{f.shift_in_prior_sd:>+9.2f} {f.sd_ratio:>9.2f}"
            )
    return "\n".join(out)
