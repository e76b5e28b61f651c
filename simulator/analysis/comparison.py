"""Paired scenario comparison on common random numbers.

Two runs with the same seed, draws, design and block size share every random stream whose name
they share (sampling.py), so draw i of A and draw i of B differ only by what the scenarios change.
The difference ``Δ = P_B − P_A`` of the headline probabilities then has the paired standard error

    SE = sd(z) / sqrt(n),   z_i = (w_B,i / w̄_B)(I_B,i − P_B) − (w_A,i / w̄_A)(I_A,i − P_A)

(the linearisation of a difference of weighted means; ``w = 1`` without observations, when z is
just the difference of the indicators minus its mean), usually far below the independent-runs
standard error sqrt(P_A(1 − P_A)/ESS_A + P_B(1 − P_B)/ESS_B). Their squared ratio is reported as
the variance-reduction factor. Runs that cannot be paired get the independent interval, and say so.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import ResultsError
from ..results.provenance import provenance
from ..stats import CONFIDENCE, Z_TWO_SIDED_95

PAIRING_ATTRS = ("seed", "draws", "design", "block_size")


def pairing(a: xr.Dataset, b: xr.Dataset) -> tuple[bool, str]:
    """Whether two results can be compared draw by draw, and why (not)."""
    for key in PAIRING_ATTRS:
        if a.attrs.get(key) != b.attrs.get(key):
            return (
                False,
                f"unpaired: the runs differ in {key} ({a.attrs.get(key)} vs {b.attrs.get(key)})",
            )
    if "focus_rank" not in a or "focus_rank" not in b:
        return False, "unpaired: a result has no per-draw data (runs that keep their draws pair)"
    return True, (
        f"paired: common random numbers (seed {int(a.attrs['seed'])}, "
        f"{int(a.attrs['draws']):,} draws, design {a.attrs['design']})"
    )


def _weights(ds: xr.Dataset) -> np.ndarray:
    return ds["weight"].values if "weight" in ds else np.ones(ds.sizes["draw"])


def compare_results(a: xr.Dataset, b: xr.Dataset) -> xr.Dataset:
    """Compare two results datasets: P_A, P_B, Δ = P_B − P_A with its 95% interval.

    Metrics and years are those the two results share. Each side's headline is its own focus
    country and top_k (they are normally the same).
    """
    metrics = [m for m in a["metric"].values if m in set(b["metric"].values)]
    years = [y for y in a["year"].values if y in set(b["year"].values)]
    if not metrics or not years:
        raise ResultsError("the two results share no metric and year; compare like with like")
    paired, note = pairing(a, b)
    pa, pb = (_headline(ds, metrics, years) for ds in (a, b))
    se_independent = _independent_se(a, b, pa, pb)
    if paired:
        se_paired = _paired_se(a, b, pa, pb, metrics, years)
        se = se_paired
    else:
        se_paired = np.full_like(pa, np.nan)
        se = se_independent
    vrf = _variance_reduction(se_paired, se_independent, paired)
    ds = _comparison_dataset(pa, pb, se, se_paired, se_independent, vrf, metrics, years)
    ds.attrs = _attrs(a, b, paired, note)
    return ds


def _headline(ds: xr.Dataset, metrics: list, years: list) -> np.ndarray:
    """P(focus rank ≤ top_k) of one side, (metric, year)."""
    p = ds["p_top"].sel(country=ds.attrs["focus"], metric=metrics, year=years).values
    out = np.empty((len(metrics), len(years)))
    out[:] = p
    return out


def _independent_se(a: xr.Dataset, b: xr.Dataset, pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    ess_a = float(a["effective_sample_size"])
    ess_b = float(b["effective_sample_size"])
    return np.sqrt(pa * (1 - pa) / ess_a + pb * (1 - pb) / ess_b)


def _paired_se(
    a: xr.Dataset, b: xr.Dataset, pa: np.ndarray, pb: np.ndarray, metrics: list, years: list
) -> np.ndarray:
    """The paired standard error of P_B − P_A from the per-draw indicators (module docstring)."""
    wa, wb = _weights(a), _weights(b)
    wa, wb = wa / wa.mean(), wb / wb.mean()
    ka, kb = int(a.attrs["top_k"]), int(b.attrs["top_k"])
    n = a.sizes["draw"]
    se = np.empty(pa.shape)
    for i, m in enumerate(metrics):
        for j, y in enumerate(years):
            ia = a["focus_rank"].sel(metric=m, year=y).values <= ka
            ib = b["focus_rank"].sel(metric=m, year=y).values <= kb
            z = wb * (ib - pb[i, j]) - wa * (ia - pa[i, j])
            se[i, j] = z.std(ddof=1) / np.sqrt(n) if n > 1 else np.inf
    return se


def _variance_reduction(
    se_paired: np.ndarray, se_independent: np.ndarray, paired: bool
) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        vrf = np.where(se_paired > 0, (se_independent / se_paired) ** 2, np.inf)
        # Both zero (no draw reaches the top k in either run): the factor is undefined.
        vrf = np.where((se_paired == 0) & (se_independent == 0), np.nan, vrf)
    if not paired:
        vrf[:] = np.nan
    return vrf


def _comparison_dataset(pa, pb, se, se_paired, se_independent, vrf, metrics, years) -> xr.Dataset:
    dims = ("metric", "year")

    def var(data, long_name):
        return (dims, data, {"long_name": long_name, "units": "1"})

    diff = pb - pa
    return xr.Dataset(
        {
            "p_a": var(pa, "P(focus rank <= top_k) in scenario A"),
            "p_b": var(pb, "P(focus rank <= top_k) in scenario B"),
            "difference": var(diff, "P_B - P_A"),
            "difference_lower": var(
                diff - Z_TWO_SIDED_95 * se, "lower bound of the 95% interval of P_B - P_A"
            ),
            "difference_upper": var(
                diff + Z_TWO_SIDED_95 * se, "upper bound of the 95% interval of P_B - P_A"
            ),
            "se_paired": var(se_paired, "standard error of P_B - P_A from paired draws"),
            "se_independent": var(
                se_independent, "standard error of P_B - P_A for independent runs"
            ),
            "variance_reduction": var(
                vrf, "variance of independent runs / variance of paired draws"
            ),
        },
        coords={"metric": ("metric", [str(m) for m in metrics]), "year": ("year", years)},
    )


def _attrs(a: xr.Dataset, b: xr.Dataset, paired: bool, note: str) -> dict:
    return {
        "title": f"g3sim comparison: {a.attrs['scenario_name']} → {b.attrs['scenario_name']}",
        "analysis": "comparison",
        "g3sim_format": "g3sim-comparison",
        "paired": int(paired),
        "pairing": note,
        "interval_method": "normal (paired)" if paired else "normal (independent)",
        "confidence_level": CONFIDENCE,
        **provenance(),
        **{
            f"{k}_{side}": ds_.attrs[k]
            for side, ds_ in (("a", a), ("b", b))
            for k in ("scenario_name", "scenario_sha256", "focus", "top_k", "seed", "draws")
        },
    }
