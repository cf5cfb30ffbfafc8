r"""Trend segments for real values: a level, a trend or a curve per segment, AR(1) errors.

For rates, indices and other real-valued series. Within a segment the mean is constant, a
straight line or a quadratic curve (each with prior probability ⅓); the errors are
autocorrelated, AR(1) with
coefficient $\phi$ integrated over a grid (0 to 0.9), and each segment has its own noise
variance. A change point is a jump in level or a change of trend that no single curve explains. The model and its
priors are in [`crimestats.changepoint._ar_trend`][crimestats.changepoint._ar_trend]; the
working scale is $z = (y - \mathrm{median}(y))/\hat\sigma$ with $\hat\sigma$ the robust noise
SD of first differences. Options: ``ar=`` fixes $\phi$; ``prior={"alpha0": ...}`` sets the
shape of the inverse-gamma prior of the segment variances (default 2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._ar_trend import (
    AR_GRID,
    build_stats,
    reference_trends,
    hyperparameters,
    trend_cost,
    trend_logml,
)
from ._common import compiled, prior_options
from ._paths import line_summary
from .base import Prepared, SegmentModel, SegmentSummary
from .normal import standardise

__all__ = ["TrendSegments", "ar_values"]

#: Default shape of the inverse-gamma prior of each segment's innovation variance.
import os
ALPHA0 = float(os.environ.get("CS_A0", "2"))
REF_PENALTY = float(os.environ.get("CS_REFPEN", "0"))
AR_PRIOR = float(os.environ.get("CS_ARPRIOR", "0"))


def ar_values(ar: Any) -> np.ndarray:
    """The autocorrelations to integrate over: the grid, or the one value given."""
    from ...errors import InputError

    if isinstance(ar, str) and ar == "estimate":
        return AR_GRID
    try:
        value = float(ar)
    except (TypeError, ValueError):
        value = np.nan
    if not 0.0 <= value < 1.0:
        raise InputError(f"`ar` (autocorrelation of the errors) must be 'estimate' or a number "
                         f"in [0, 1); received {ar!r}.")
    return np.array([value])


def trend_nodes(z: np.ndarray, w: np.ndarray, ar: Any, alpha0: float,
                info: dict[str, float], prior_change: float = 0.5) -> list[Prepared]:
    """Prepared nodes over the autocorrelation grid and the two reference trends."""
    obs = np.isfinite(z)
    spread = float(np.var(z[obs]))
    phis = ar_values(ar)
    n = z.shape[0]
    trends, covs = reference_trends(z, w)
    tau = (np.arange(n) + 0.5) / n - 0.5
    log_prior_phi = AR_PRIOR * np.log1p(-phis)
    log_prior_phi -= np.logaddexp.reduce(log_prior_phi)
    # the trend fitted without a change gets the prior probability of no change, the others
    # (fitted around a step or a bend) share the probability of a change
    k = trends.shape[0]
    log_prior_trend = np.log(np.r_[1.0 - prior_change, np.full(k - 1, prior_change / max(k - 1, 1))]
                             if k > 1 else np.ones(1))
    out = []
    for phi in phis:
        st = build_stats(z, w, phi)
        for j, ((b, c), cov) in enumerate(zip(trends, covs, strict=True)):
            rest = (z - b * tau - c * tau * tau)[obs]
            params = hyperparameters(phi, spread, float(np.var(rest)), alpha0, n, float(b),
                                     float(c))
            out.append(Prepared(st, params,
                                float(log_prior_phi[list(phis).index(phi)]
                                      + log_prior_trend[j]),
                                {**info, "ar": float(phi), "trend": float(b),
                                 "curvature": float(c), "trend_var": float(cov[0, 0]),
                                 "trend_cov": float(cov[0, 1]),
                                 "curvature_var": float(cov[1, 1])}))
    return out


class TrendSegments(SegmentModel):
    """Real values: level and trend change at change points; AR(1) errors."""

    name = "trend"
    data = "real"
    changes = "level or trend (real values, autocorrelated errors)"
    diffparam = 3

    @property
    def logml(self) -> Any:
        return compiled(trend_logml)

    @property
    def cost(self) -> Any:
        return compiled(trend_cost)

    def options(self) -> dict[str, Any]:
        return {"ar": "estimate"}

    def prepare(self, y: np.ndarray, exposure: np.ndarray, *,
                prior: dict[str, float] | None = None, ar: Any = "estimate",
                prior_any_change: float = 0.5, **options: Any) -> list[Prepared]:
        p = prior_options(prior, ("alpha0",), self.name)
        z, loc, scale = standardise(y)
        return trend_nodes(z, np.ones_like(z), ar, max(p.get("alpha0", ALPHA0), 1.0 + 1e-9),
                           {"loc": loc, "scale": scale}, prior_any_change)

    def describe(self, node: Prepared, y: np.ndarray, exposure: np.ndarray,
                 starts: np.ndarray, ends: np.ndarray, level: float) -> SegmentSummary:
        loc, scale = node.info["loc"], node.info["scale"]
        return line_summary(node, starts, ends, level,
                            to_data=lambda v: loc + scale * v,
                            slope_per_period=lambda b: scale * b / y.shape[0],
                            sd_to_data=lambda v, sd: scale * sd)
