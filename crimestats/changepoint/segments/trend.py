r"""Trend segments for real values: a level and a trend per segment, AR(1) errors.

For real-valued series that can be negative (differences, balances; positive rates use
``"log_trend"``). The series has a common trend; within a segment the mean follows it with a
level of its own or changes its slope, the errors are autocorrelated, AR(1) with coefficient
$\phi$ integrated over a grid (0 to 0.9, prior $\propto (1 - \phi)^2$), and each segment has
its own noise variance. A change point is a jump in level, a change of trend, or both. The model
and its priors are in [`crimestats.changepoint._ar_trend`][crimestats.changepoint._ar_trend];
the working scale is $z = (y - \mathrm{median}(y))/\hat\sigma$ with $\hat\sigma$ the robust
noise SD of first differences. Options: ``ar=`` fixes $\phi$; ``prior={"alpha0": ...}`` sets
the shape of the inverse-gamma prior of the segment variances (default 2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._ar_trend import (
    AR_GRID,
    LEVEL_FLOOR,
    build_stats,
    curvature_basis,
    curved_trend,
    hyperparameters,
    reference_trends,
    trend_cost,
    trend_logml,
)
from ._common import compiled, prior_options
from ._paths import line_summary
from .base import Prepared, SegmentModel, SegmentSummary
from .normal import standardise

__all__ = ["TrendSegments", "ar_values"]

#: Default shape of the inverse-gamma prior of each segment's innovation variance.
ALPHA0 = 2.0
#: Exponent of the prior of the autocorrelation over its grid, $\propto (1 - \phi)^{2}$.
AR_PRIOR = 2.0


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


def trend_prior(slopes: np.ndarray, variances: np.ndarray, spread: float,
                prior_change: float) -> np.ndarray:
    """Log prior weights of the common trends: none, then the fitted ones with their Occam factor.

    No common trend has prior probability ½; the fitted trends share the other half — the one
    fitted without a change with the prior probability of no change, those fitted around a
    step or a change of slope the probability of a change. A fitted slope is not free: each
    node also carries the Laplace approximation of its integral over the prior,
    $\\log N(\\hat b; 0, 12V) + \\tfrac12\\log(2\\pi c)$, with $V$ the spread of the data
    (a trend spanning it over the whole series is one prior SD) and $c$ the sampling variance of
    the fit — so explaining a step by a steeper trend costs what a trend costs.
    """
    k = slopes.size
    share = np.r_[1.0 - prior_change, np.full(k - 1, prior_change / max(k - 1, 1))] \
        if k > 1 else np.ones(1)
    return np.log(np.r_[0.5, 0.5 * share]) + np.r_[0.0, _occam(slopes, variances, 12.0, spread)]


def _occam(coef: np.ndarray, variances: np.ndarray, scale: float, spread: float) -> np.ndarray:
    """Laplace Occam factor of fitted coefficients under $N(0, \\text{scale}\\cdot V)$ priors."""
    var = scale * max(spread, LEVEL_FLOOR)
    return (-0.5 * coef * coef / var - 0.5 * np.log(2 * np.pi * var)
            + 0.5 * np.log(2 * np.pi * np.maximum(variances, 1e-300)))


#: Prior variance of the bend $c$ of a curved common trend, in units of the spread: the bend
#: $c(\tau^2 - 1/12)$ then has the spread's variance over the series ($\mathrm{var}(\tau^2) =
#: 1/180$ for $\tau$ uniform on $[-\tfrac12, \tfrac12]$).
CURVATURE_SCALE = 180.0
#: Fewest observed periods for a bent common trend: in shorter series a bend and a change of
#: trend cannot be told apart, and the bend (a "no change" explanation) would take the prior's
#: side against every change of trend.
MIN_BENT = 40


def trend_nodes(z: np.ndarray, w: np.ndarray, ar: Any, alpha0: float,
                info: dict[str, float], prior_change: float = 0.3) -> list[Prepared]:
    """Prepared nodes over the autocorrelation grid and the reference common trends.

    Besides the straight trends of
    [`trend_prior`][crimestats.changepoint.segments.trend.trend_prior], a *bent* common trend
    $b\\tau + c(\\tau^2 - 1/12)$ fitted without a change shares the prior probability of no
    change with the straight one (half each), with the Occam factors of both coefficients; a
    series whose growth slows or speeds up is then one segment on a curve, not a change of
    trend.
    """
    obs = np.isfinite(z)
    spread = float(np.var(z[obs]))
    phis = ar_values(ar)
    n = z.shape[0]
    slopes, variances = reference_trends(z, w)
    log_prior_trend = trend_prior(slopes, variances, spread, prior_change)
    refs = [(float(b), float(v), 0.0, float(lw))
            for b, v, lw in zip(np.r_[0.0, slopes], np.r_[0.0, variances], log_prior_trend,
                                strict=True)]
    bent = curved_trend(z, w) if obs.sum() >= MIN_BENT else None
    if bent is not None and slopes.size > 1:
        (b, c), (var_b, var_c) = bent
        straight = refs[1]
        half = float(np.log(0.5))
        refs[1] = (*straight[:3], straight[3] + half)
        refs.append((float(b), float(var_b), float(c),
                     straight[3] + half - float(_occam(slopes[:1], variances[:1], 12.0, spread)[0])
                     + float(_occam(np.array([b]), np.array([var_b]), 12.0, spread)[0])
                     + float(_occam(np.array([c]), np.array([var_c]), CURVATURE_SCALE,
                                    spread)[0])))
    tau = (np.arange(n) + 0.5) / n - 0.5
    bend = curvature_basis(n)
    log_prior_phi = AR_PRIOR * np.log1p(-phis)
    log_prior_phi -= np.logaddexp.reduce(log_prior_phi)
    out = []
    for phi, lw_phi in zip(phis, log_prior_phi, strict=True):
        plain = build_stats(z, w, phi)
        for b, var_b, c, lw_b in refs:
            zc = z - c * bend if c else z
            st = build_stats(zc, w, phi) if c else plain
            params = hyperparameters(phi, float(np.var((zc - b * tau)[obs])), alpha0, n, b)
            out.append(Prepared(st, params, float(lw_phi + lw_b),
                                {**info, "ar": float(phi), "trend": b, "trend_var": var_b,
                                 "curvature": c}))
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
