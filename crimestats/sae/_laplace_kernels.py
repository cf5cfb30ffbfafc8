"""Compiled per-area loops of the spatial binomial and Poisson models (`_spatial_glmm`).

Two computations run over every area at every grid node and dominate the cost of those models
at national scale when written with NumPy temporaries:

* [`own_terms`][own_terms]: each area's exact term of the Laplace correction,
  $\\log E\\, e^{r_i(z)}$ with $z \\sim N(0, v_i)$ and $r_i$ the area's log-likelihood minus its
  quadratic expansion at the mode, by Gauss–Hermite quadrature;
* [`corrected_density`][corrected_density]: the mixture over the nodes of each area's locally
  corrected marginal, the exact likelihood times the Gaussian cavity, normalised on a grid.

Both release the GIL and are run on two halves of the areas in two threads. The binomial
(logit link) and Poisson (log link) log-likelihoods are those of
`crimestats.sae.prevalence`: $y\\eta - n\\log(1 + e^\\eta)$ and $y\\eta - n e^{\\eta}$
(the exponent capped at 700).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

__all__ = ["corrected_density", "own_terms"]


@numba.njit(cache=True, nogil=True, inline="always")
def _loglik(binomial: bool, eta: float, y: float, n: float) -> float:
    if binomial:
        return y * eta - n * (max(eta, 0.0) + math.log1p(math.exp(-abs(eta))))
    return y * eta - n * math.exp(min(eta, 700.0))


@numba.njit(cache=True, nogil=True)
def _own_terms(binomial: bool, eta: np.ndarray, var: np.ndarray, y: np.ndarray,
               n: np.ndarray, grad: np.ndarray, d: np.ndarray, nodes: np.ndarray,
               log_weights: np.ndarray, out: np.ndarray, lo: int, hi: int) -> None:
    terms = np.empty(nodes.shape[0])
    for i in range(lo, hi):
        sd = math.sqrt(var[i])
        at_mode = _loglik(binomial, eta[i], y[i], n[i])
        top = -math.inf
        for q in range(nodes.shape[0]):
            z = sd * nodes[q]
            quadratic = at_mode + grad[i] * z - 0.5 * d[i] * z * z
            terms[q] = _loglik(binomial, eta[i] + z, y[i], n[i]) - quadratic + log_weights[q]
            top = max(top, terms[q])
        total = 0.0
        for q in range(nodes.shape[0]):
            total += math.exp(terms[q] - top)
        out[i] = top + math.log(total)


@numba.njit(cache=True, nogil=True)
def _corrected_density(loglik: np.ndarray, eta: np.ndarray, weights: np.ndarray,
                       cavity_precision: np.ndarray, cavity_mean: np.ndarray,
                       density: np.ndarray, lo: int, hi: int) -> None:
    points = eta.shape[1]
    buffer = np.empty(points)
    for i in range(lo, hi):
        for t in range(points):
            density[i, t] = 0.0
        for k in range(weights.shape[0]):
            precision, mean = cavity_precision[k, i], cavity_mean[k, i]
            top = -math.inf
            for t in range(points):
                gap = eta[i, t] - mean
                value = loglik[i, t] - 0.5 * precision * gap * gap
                buffer[t] = value
                top = max(top, value)
            total = 0.0
            for t in range(points):
                value = math.exp(buffer[t] - top)
                buffer[t] = value
                total += value
            scale = weights[k] / total
            for t in range(points):
                density[i, t] += scale * buffer[t]


def _halves(run: object, size: int) -> None:
    """``run(lo, hi)`` on the two halves of ``range(size)``, in two threads."""
    middle = size // 2
    with ThreadPoolExecutor(max_workers=1) as pool:
        later = pool.submit(run, middle, size)          # type: ignore[arg-type]
        run(0, middle)                                  # type: ignore[operator]
        later.result()


def own_terms(family: str, eta: np.ndarray, var: np.ndarray, y: np.ndarray, n: np.ndarray,
              grad: np.ndarray, d: np.ndarray, nodes: np.ndarray,
              weights: np.ndarray) -> np.ndarray:
    """$\\log \\sum_q w_q \\exp\\{l_i(\\eta_i + s_i x_q) - l_i(\\eta_i) - g_i s_i x_q +
    d_i s_i^2 x_q^2 / 2\\}$ per area, $s_i = \\sqrt{v_i}$, with Gauss–Hermite nodes
    $x_q$ and weights $w_q$ (summing to 1) for the standard normal.

    Examples
    --------
    A Poisson area whose likelihood is its own quadratic expansion to first order:

    >>> import numpy as np
    >>> from crimestats.sae._laplace_kernels import own_terms
    >>> x, w = np.polynomial.hermite_e.hermegauss(40)
    >>> value = own_terms("poisson", np.array([0.0]), np.array([1e-6]), np.array([1.0]),
    ...                   np.array([1.0]), np.array([0.0]), np.array([1.0]), x, w / w.sum())
    >>> bool(abs(value[0]) < 1e-12)
    True
    """
    out = np.empty(eta.shape[0])
    args = (family == "binomial", *(np.ascontiguousarray(a, dtype=float) for a in (
        eta, var, y, n, grad, d, nodes)), np.log(weights), out)
    _halves(lambda lo, hi: _own_terms(*args, lo, hi), eta.shape[0])
    return out


def corrected_density(loglik: np.ndarray, eta: np.ndarray, weights: np.ndarray,
                      cavity_precision: np.ndarray, cavity_mean: np.ndarray) -> np.ndarray:
    """$\\sum_k w_k \\, p_k(\\eta_{it})$ per area $i$ and grid point $t$, where
    $p_k \\propto \\exp\\{l_i(\\eta) - \\tfrac12 \\tau_{ki} (\\eta - \\mu_{ki})^2\\}$ is
    normalised to sum to 1 over the area's grid.

    ``loglik`` and ``eta`` are (m, T); ``weights`` (K,); the cavity precisions $\\tau$ and
    means $\\mu$ are (K, m). Returns (m, T).
    """
    density = np.empty(eta.shape)
    args = tuple(np.ascontiguousarray(a, dtype=float) for a in (
        loglik, eta, weights, cavity_precision, cavity_mean))
    _halves(lambda lo, hi: _corrected_density(*args, density, lo, hi), eta.shape[0])
    return density
