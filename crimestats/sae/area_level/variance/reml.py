"""Restricted maximum likelihood (REML) for $\\sigma_u^2$: unbiased to second order."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._engine.gls import inverse_spd, weighted_grams
from .base import Moments, VarianceMethod

__all__ = ["RestrictedMaximumLikelihood"]


class RestrictedMaximumLikelihood(VarianceMethod):
    """Fisher scoring on the restricted log-likelihood (Rao & Molina 2015, sec. 6.1.2).

    With $W = V^{-1}$ diagonal and $P = W - W X (X^\\top W X)^{-1} X^\\top W$:
    score $= -\\tfrac12 \\mathrm{tr}(P) + \\tfrac12 y^\\top P^2 y$, information
    $= \\tfrac12 \\mathrm{tr}(P^2)$, computed with p x p matrices only:
    $\\mathrm{tr}(P) = \\sum w_i - \\mathrm{tr}(Q X^\\top W^2 X)$ and
    $\\mathrm{tr}(P^2) = \\sum w_i^2 - 2\\mathrm{tr}(Q X^\\top W^3 X) + \\mathrm{tr}((Q X^\\top W^2 X)^2)$
    with $Q = (X^\\top W X)^{-1}$; $P y = W (y - X\\hat\\beta)$.
    $\\mathrm{Var}(\\hat\\sigma_u^2) \\approx 2 / \\sum w_i^2$; no first-order bias.
    """

    name = "reml"
    label = "REML"

    def equation(self, sigma2_u: float, xt: np.ndarray, y: np.ndarray, d: np.ndarray
                 ) -> tuple[float, float]:
        w = 1.0 / (sigma2_u + d)
        gram1, gram2, gram3 = weighted_grams(xt, w, 3)
        q = inverse_spd(gram1)
        beta = q @ (xt @ (w * y))
        py = w * (y - beta @ xt)
        qx2 = q @ gram2
        trace_p = w.sum() - np.trace(qx2)
        trace_p2 = (w @ w) - 2.0 * np.sum(q * gram3) + np.sum(qx2 * qx2.T)
        return 0.5 * (py @ py - trace_p), 0.5 * trace_p2

    def equations(self, s: np.ndarray, w: np.ndarray, q: np.ndarray, resid: np.ndarray,
                  design: Any, n_in: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wr = w * resid
        score_part = np.sum(wr * wr, axis=-1)
        w2 = w * w
        qx2 = q @ design.gram(w2)
        trace_p = np.sum(w, axis=-1) - np.trace(qx2, axis1=-2, axis2=-1)
        trace_p2 = (np.sum(w2, axis=-1) - 2.0 * np.sum(q * design.gram(w2 * w), axis=(-2, -1))
                    + np.sum(qx2 * np.swapaxes(qx2, -1, -2), axis=(-2, -1)))
        return 0.5 * (score_part - trace_p), 0.5 * trace_p2

    def moments(self, w: np.ndarray, xt: np.ndarray, cov_beta: np.ndarray) -> Moments:
        return Moments(2.0 / (w @ w), 0.0)

    def table_moments(self, w: np.ndarray, design: Any, cov: np.ndarray, n_in: np.ndarray
                      ) -> Moments:
        sum_w2 = np.sum(w * w, axis=-1)
        return Moments(2.0 / sum_w2, np.zeros_like(sum_w2))

    def fit_statistics(self, w: np.ndarray, resid: np.ndarray, cov_beta: np.ndarray
                       ) -> dict[str, float]:
        m, p = w.shape[0], cov_beta.shape[0]
        _, logdet = np.linalg.slogdet(cov_beta)
        return {"restricted_loglik": float(
            -0.5 * ((m - p) * np.log(2.0 * np.pi) - np.log(w).sum() - logdet + (w * resid) @ resid)
        )}
