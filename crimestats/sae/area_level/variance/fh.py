"""The Fay–Herriot moment method for $\\sigma_u^2$ (Fay & Herriot 1979), as R ``sae`` iterates it."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._engine.gls import gls
from .base import Moments, VarianceMethod

__all__ = ["MomentMethod"]


class MomentMethod(VarianceMethod):
    """Solves $\\sum w_i (y_i - x_i^\\top\\hat\\beta)^2 = m - p$ with the slope scale $\\sum w_i$.

    $\\mathrm{Var}(\\hat\\sigma_u^2) \\approx 2m / (\\sum w_i)^2$ and the bias
    $b = 2\\{m \\sum w_i^2 - (\\sum w_i)^2\\} / (\\sum w_i)^3$ (Datta, Rao & Smith 2005).
    """

    name = "fh"
    label = "FH"

    def equation(self, sigma2_u: float, xt: np.ndarray, y: np.ndarray, d: np.ndarray
                 ) -> tuple[float, float]:
        w = 1.0 / (sigma2_u + d)
        beta, _ = gls(xt.T, y, w)
        r = y - beta @ xt
        return (w * r) @ r - (xt.shape[1] - xt.shape[0]), w.sum()

    def equations(self, s: np.ndarray, w: np.ndarray, q: np.ndarray, resid: np.ndarray,
                  design: Any, n_in: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.sum(w * resid * resid, axis=-1) - (n_in - design.p), np.sum(w, axis=-1)

    def moments(self, w: np.ndarray, xt: np.ndarray, cov_beta: np.ndarray) -> Moments:
        m = w.shape[0]
        sum_w, sum_w2 = w.sum(), w @ w
        return Moments(2.0 * m / sum_w**2, 2.0 * (m * sum_w2 - sum_w**2) / sum_w**3)

    def table_moments(self, w: np.ndarray, design: Any, cov: np.ndarray, n_in: np.ndarray
                      ) -> Moments:
        sum_w = np.sum(w, axis=-1)
        sum_w2 = np.sum(w * w, axis=-1)
        return Moments(2.0 * n_in / sum_w**2, 2.0 * (n_in * sum_w2 - sum_w**2) / sum_w**3)
