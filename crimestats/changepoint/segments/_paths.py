"""Posterior mean paths of the trend models, turned to the data's scale."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

from .._ar_trend import segment_fits
from ._common import positions
from .base import Prepared, SegmentSummary

__all__ = ["line_summary"]


def line_summary(node: Prepared, starts: np.ndarray, ends: np.ndarray, level: float, *,
                 to_data: Callable[[np.ndarray], np.ndarray],
                 slope_per_period: Callable[[np.ndarray], np.ndarray],
                 sd_to_data: Callable[[np.ndarray, np.ndarray], np.ndarray]
                 ) -> SegmentSummary:
    """Summaries of each segment's line: the path, its interval and the segment averages.

    On the working scale the posterior of a segment's mean at time $\\tau$ is Student $t$
    with $2a_n$ degrees of freedom, centre $x^\\top m$ and squared scale
    $(b_n/a_n)\\,x^\\top C x + \\tau^2 c_b$ ($x = (1, \\tau)$, $C$ the posterior covariance
    over the noise variance of its more probable component, $c_b$ the sampling variance of the
    common trend, estimated once for the series); intervals are its quantiles mapped to the
    data's scale by the monotone ``to_data`` (so for counts the estimate is the posterior
    median rate).
    """
    n = int(node.params[6])
    fits = segment_fits(node.params, node.stats, starts, ends)
    m = starts.size
    seg, index = positions(starts, ends)
    tau = (index + 0.5) / n - 0.5
    trend_var = node.info.get("trend_var", 0.0)
    bend = node.info.get("curvature", 0.0)

    def line(t: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = np.stack([np.ones_like(t), t], axis=-1)
        centre = np.einsum("ij,ij->i", x, fits.mean[j]) + bend * (t * t - 1.0 / 12.0)
        var = fits.bn[j] / fits.an[j] * np.einsum("ij,ijk,ik->i", x, fits.cov[j], x)
        return centre, np.sqrt(var + t * t * trend_var), 2.0 * fits.an[j]

    lo_q, hi_q = 0.5 - level / 2.0, 0.5 + level / 2.0

    def spread(dof: np.ndarray, sc: np.ndarray) -> np.ndarray:
        return sc * np.sqrt(np.where(dof > 2, dof / np.maximum(dof - 2, 1e-300), np.inf))

    c, sc, dof = line(tau, seg)
    mid = (starts + ends) / (2.0 * n) - 0.5
    cm, scm, dofm = line(mid, np.arange(m))
    return SegmentSummary(
        path=to_data(c), path_lower=to_data(c + special.stdtrit(dof, lo_q) * sc),
        path_upper=to_data(c + special.stdtrit(dof, hi_q) * sc),
        path_sd=sd_to_data(c, spread(dof, sc)), level=to_data(cm),
        level_sd=sd_to_data(cm, spread(dofm, scm)),
        level_lower=to_data(cm + special.stdtrit(dofm, lo_q) * scm),
        level_upper=to_data(cm + special.stdtrit(dofm, hi_q) * scm),
        slope=slope_per_period(fits.mean[:, 1]), prob_trend=fits.prob_slope)
