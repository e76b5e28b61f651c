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
        f"conditioned on {len(c.observations)} observations by {_METHOD[c.conditioning]})",
        "",
        "back-test: how often the model reproduces each observation, given the earlier years'",
    ]
    width = max((len(o.observation) for o in c.observations), default=10)
    for o in c.observations:
        out.append(f"  {o.observation:<{width}}  {percent(o.p_reproduced):>8}")
    if c.years:
        out += ["", *_years_table(c)]
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


_METHOD = {"smc": "sequential Monte Carlo", "rejection": "rejection", "none": "nothing"}


def _years_table(c: Calibration) -> list[str]:
    """Per observed year: acceptance, ESS before/after resampling, surviving ancestors."""
    out = [
        "conditioning by year (ESS and ancestors as shares of the draws)",
        f"  {'year':<6}{'acceptance':>11}{'ESS before':>12}{'ESS after':>11}{'ancestors':>11}"
        f"{'steps':>7}",
    ]
    for y in c.years:
        out.append(
            f"  {y.year:<6}{percent(y.conditional_acceptance):>11}"
            f"{percent(y.ess_before_resampling / c.draws):>12}"
            f"{percent(y.ess_after_resampling / c.draws):>11}"
            f"{percent(y.unique_ancestors / c.draws):>11}"
            f"{y.tempering_steps:>7.1f}"
        )
    out.append(
        "  ancestors: particles of that year with descendants in the final population; steps: "
        "tempering steps per block (1: the year's likelihood at once)"
    )
    if c.moves:
        out.append(
            "rejuvenating moves after the last observed year, mean acceptance: "
            + ", ".join(f"{name} {percent(rate)}" for name, rate in c.moves)
        )
    return out
