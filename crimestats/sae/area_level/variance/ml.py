"""Maximum likelihood (ML) for $\\sigma_u^2$, with its first-order bias for the MSE."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._engine.gls import gls, weighted_grams
from .base import Moments, VarianceMethod

__all__ = ["MaximumLikelihood"]


class MaximumLikelihood(VarianceMethod):
    """Fisher scoring on the profile log-likelihood (Rao & Molina 2015, sec. 6.1.2).

    Score $= -\\tfrac12 \\sum w_i + \\tfrac12 \\sum w_i^2 (y_i - x_i^\\top\\hat\\beta)^2$,
    information $= \\tfrac12 \\sum w_i^2$, with $w_i = 1/(\\sigma_u^2 + D_i)$.
    $\\mathrm{Var}(\\hat\\sigma_u^2) \\approx 2 / \\sum w_i^2$ and the bias
    $b = -\\mathrm{tr}\\{(X^\\top W X)^{-1} X^\\top W^2 X\\} / \\sum w_i^2$ (Datta & Lahiri 2000).
    """

    name = "ml"
    label = "ML"

    def equation(self, sigma2_u: float, xt: np.ndarray, y: np.ndarray, d: np.ndarray
                 ) -> tuple[float, float]:
        w = 1.0 / (sigma2_u + d)
        beta, _ = gls(xt.T, y, w)
        wr = w * (y - beta @ xt)
        return 0.5 * (wr @ wr - w.sum()), 0.5 * (w @ w)

    def equations(self, s: np.ndarray, w: np.ndarray, q: np.ndarray, resid: np.ndarray,
                  design: Any, n_in: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wr = w * resid
        score_part = np.sum(wr * wr, axis=-1)
        return 0.5 * (score_part - np.sum(w, axis=-1)), 0.5 * np.sum(w * w, axis=-1)

    def moments(self, w: np.ndarray, xt: np.ndarray, cov_beta: np.ndarray) -> Moments:
        sum_w2 = w @ w
        (gram2,) = weighted_grams(xt, w * w, 1)
        return Moments(2.0 / sum_w2, -np.sum(cov_beta * gram2) / sum_w2)

    def table_moments(self, w: np.ndarray, design: Any, cov: np.ndarray, n_in: np.ndarray
                      ) -> Moments:
        w2 = w * w
        sum_w2 = np.sum(w2, axis=-1)
        return Moments(2.0 / sum_w2, -np.sum(cov * design.gram(w2), axis=(-2, -1)) / sum_w2)
