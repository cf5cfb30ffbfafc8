"""Generalised least squares with a diagonal covariance, using only p × p matrices.

The basic Fay–Herriot model has $V = \\mathrm{diag}(\\sigma_u^2 + D_i)$, so
$\\hat\\beta$, its covariance and the traces its variance-component equations need cost
O(m·p²) work and O(m·p) memory.
"""

from __future__ import annotations

import numpy as np

from ...errors import EstimationError

__all__ = ["gls", "inverse_spd", "weighted_grams"]


def inverse_spd(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive-definite p x p matrix (Cholesky, with equilibration)."""
    outer = np.outer(scale := 1.0 / np.sqrt(np.diag(matrix)), scale)
    try:
        root_inv = np.linalg.inv(np.linalg.cholesky(matrix * outer))
    except np.linalg.LinAlgError:
        raise EstimationError(
            "X' V^-1 X is numerically singular: the covariates are almost collinear. "
            "Drop or combine nearly collinear covariates."
        ) from None
    return (root_inv.T @ root_inv) * outer


def weighted_grams(xt: np.ndarray, weights: np.ndarray, powers: int) -> list[np.ndarray]:
    """$X^\\top W^k X$ for k = 1 .. ``powers`` in one matrix product (W diagonal).

    ``xt`` is the design transposed, shape (p, m), C-contiguous, so that the O(m·p²) work is
    a single BLAS call.
    """
    p, m = xt.shape
    stacked = np.empty((powers * p, m))
    weight_power = weights.copy()
    for k in range(powers):
        if k:
            weight_power *= weights
        np.multiply(xt, weight_power, out=stacked[k * p:(k + 1) * p])
    grams = stacked @ xt.T
    return [grams[k * p:(k + 1) * p] for k in range(powers)]


def gls(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Generalised least squares with a diagonal covariance $V = \\mathrm{diag}(1/w)$.

    ``x`` has shape (m, p). Returns $\\hat\\beta = (X^\\top W X)^{-1} X^\\top W y$ and
    $\\mathrm{Var}(\\hat\\beta) = (X^\\top W X)^{-1}$. O(m·p²) work, O(m·p) memory.
    """
    xt = np.ascontiguousarray(x.T)
    (gram,) = weighted_grams(xt, weights, 1)
    cov = inverse_spd(gram)
    return cov @ (xt @ (weights * y)), cov
