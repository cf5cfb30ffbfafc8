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
    """Summaries of each segment's curve: the path, its interval and the segment averages.

    On the working scale the posterior of a segment's mean at time $\\tau$ is Student $t$
    with $2a_n$ degrees of freedom, centre $x^\\top m$ and squared scale
    $(b_n/a_n)\\,x^\\top C x$ ($x = (1, \\tau, \\tau^2)$, $C$ the posterior covariance over
    the noise variance) for the segment's most probable component, plus, for segments on the
    series' common trend, the sampling variance of that trend's estimate;
    intervals are its quantiles mapped to the data's scale by the monotone ``to_data`` (so for
    counts the estimate is the posterior median rate). ``slope`` is the trend at the
    segment's midpoint.
    """
    n = int(node.params[8])
    fits = segment_fits(node.params, node.stats, starts, ends)
    m = starts.size
    seg, index = positions(starts, ends)
    tau = (index + 0.5) / n - 0.5

    info = node.info
    # uncertainty of the common trend (estimated once for the series), added for segments on it
    trend_cov = np.array([[info.get("trend_var", 0.0), info.get("trend_cov", 0.0)],
                          [info.get("trend_cov", 0.0), info.get("curvature_var", 0.0)]])

    def curve(t: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = np.stack([np.ones_like(t), t, t * t], axis=-1)
        centre = np.einsum("ij,ij->i", x, fits.mean[j])
        var = fits.bn[j] / fits.an[j] * np.einsum("ij,ijk,ik->i", x, fits.cov[j], x)
        on_common = fits.order[j] < 2
        var = var + on_common * np.einsum("ij,jk,ik->i", x[:, 1:], trend_cov, x[:, 1:])
        return centre, np.sqrt(var), 2.0 * fits.an[j]

    lo_q, hi_q = 0.5 - level / 2.0, 0.5 + level / 2.0

    def spread(dof: np.ndarray, sc: np.ndarray) -> np.ndarray:
        return sc * np.sqrt(np.where(dof > 2, dof / np.maximum(dof - 2, 1e-300), np.inf))

    c, sc, dof = curve(tau, seg)
    mid = (starts + ends) / (2.0 * n) - 0.5
    cm, scm, dofm = curve(mid, np.arange(m))
    return SegmentSummary(
        path=to_data(c), path_lower=to_data(c + special.stdtrit(dof, lo_q) * sc),
        path_upper=to_data(c + special.stdtrit(dof, hi_q) * sc),
        path_sd=sd_to_data(c, spread(dof, sc)), level=to_data(cm),
        level_sd=sd_to_data(cm, spread(dofm, scm)),
        level_lower=to_data(cm + special.stdtrit(dofm, lo_q) * scm),
        level_upper=to_data(cm + special.stdtrit(dofm, hi_q) * scm),
        slope=slope_per_period(fits.mean[:, 1] + 2.0 * fits.mean[:, 2] * mid),
        prob_trend=fits.prob[:, 1] + fits.prob[:, 2])
