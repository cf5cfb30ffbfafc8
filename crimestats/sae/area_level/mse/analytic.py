"""Analytic second-order MSE: Prasad–Rao for REML, Datta–Lahiri for ML and the moment method."""

from __future__ import annotations

import numpy as np

from ...results import MseTerms
from ..model import EblupFit
from .base import MseEstimate, MseEstimator

__all__ = ["AnalyticMSE"]


class AnalyticMSE(MseEstimator):
    """$g_1 + g_2 + 2 g_3 - b\\,B_i^2$ (Rao & Molina 2015, sec. 6.2), as R ``sae::mseFH``.

    With $B_i = D_i / (\\hat\\sigma_u^2 + D_i)$: $g_{1i} = \\hat\\sigma_u^2 D_i /
    (\\hat\\sigma_u^2 + D_i)$, $g_{2i} = B_i^2 x_i^\\top \\widehat{\\mathrm{Var}}(\\hat\\beta) x_i$,
    $g_{3i} = B_i^2 \\mathrm{Var}(\\hat\\sigma_u^2) / (\\hat\\sigma_u^2 + D_i)$, and $b$
    the first-order bias of $\\hat\\sigma_u^2$ (zero for REML; Datta & Lahiri 2000 for ML and
    the moment method), both from the variance-component method. An area with no direct
    estimate gets $\\max(\\hat\\sigma_u^2 - b, 0) + x_i^\\top
    \\widehat{\\mathrm{Var}}(\\hat\\beta) x_i$ (its $g_1 = \\hat\\sigma_u^2$, $g_3 = 0$).
    """

    name = "analytic"
    description = "second-order Prasad–Rao (REML) / Datta–Lahiri (ML, moment) MSE, as R sae"

    def estimate(self, fit: EblupFit, rng: np.random.Generator) -> MseEstimate:
        inside, w = fit.inside, fit.w
        b_in = fit.d[inside] * w
        moments = fit.method.moments(w, np.ascontiguousarray(fit.x[inside].T), fit.cov_beta)
        g1, g2 = fit.leading_terms()
        g3 = np.zeros(inside.shape)
        g3[inside] = b_in**2 * moments.variance * w
        bias = np.full(inside.shape, moments.bias)
        bias[inside] = moments.bias * b_in**2
        terms = MseTerms(g1=g1, g2=g2, g3=g3, bias=bias)
        mse = np.maximum(g1 - bias, 0.0) + g2
        mse[inside] = terms.total()[inside]
        return MseEstimate(mse=mse, terms=terms)
