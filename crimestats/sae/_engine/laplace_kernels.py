"""Compiled per-area loops of the spatial binomial and Poisson models (`crimestats.sae.glmm.laplace`).

Three computations over every area (the first at every grid node, the others once per fit
over all nodes) dominate the cost of those models at national scale when written with NumPy
temporaries:

* [`own_terms`][own_terms]: each area's exact term of the Laplace correction,
  $\\log E\\, e^{r_i(z)}$ with $z \\sim N(0, v_i)$ and $r_i$ the area's log-likelihood minus its
  quadratic expansion at the mode, by Gauss–Hermite quadrature;
* [`corrected_density`][corrected_density]: the mixture over the nodes of each area's locally
  corrected marginal, the exact likelihood times the Gaussian cavity, normalised on a grid;
* [`link_moments`][link_moments]: the first two moments of the rate or prevalence under the
  mixture of Gaussian approximations.

All release the GIL; the last two, run once per fit, split the areas between two threads (the
first runs at every grid node, where the grid's two walkers already use both cores). The
likelihood and the inverse link come from the family (`crimestats.sae.glmm.families`) as
compiled scalar functions (its ``compiled`` attribute), so one compiled and cached loop serves
every family.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np

__all__ = ["corrected_density", "link_moments", "own_terms"]


@numba.njit(cache=True, nogil=True)
def _own_terms(loglik: Any, eta: np.ndarray, var: np.ndarray, y: np.ndarray,
               n: np.ndarray, grad: np.ndarray, d: np.ndarray, nodes: np.ndarray,
               log_weights: np.ndarray, out: np.ndarray, lo: int, hi: int) -> None:
    terms = np.empty(nodes.shape[0])
    for i in range(lo, hi):
        sd = math.sqrt(var[i])
        at_mode = loglik(eta[i], y[i], n[i])
        top = -math.inf
        for q in range(nodes.shape[0]):
            z = sd * nodes[q]
            quadratic = at_mode + grad[i] * z - 0.5 * d[i] * z * z
            terms[q] = loglik(eta[i] + z, y[i], n[i]) - quadratic + log_weights[q]
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


@numba.njit(cache=True, nogil=True)
def _link_moments(inverse_link: Any, weights: np.ndarray, mean: np.ndarray, sd: np.ndarray,
                  nodes: np.ndarray, node_weights: np.ndarray, first: np.ndarray,
                  second: np.ndarray, lo: int, hi: int) -> None:
    for i in range(lo, hi):
        total = total2 = 0.0
        for k in range(weights.shape[0]):
            part = part2 = 0.0
            for q in range(nodes.shape[0]):
                g = inverse_link(mean[k, i] + sd[k, i] * nodes[q])
                part += node_weights[q] * g
                part2 += node_weights[q] * g * g
            total += weights[k] * part
            total2 += weights[k] * part2
        first[i] = total
        second[i] = total2


def _halves(run: object, size: int) -> None:
    """``run(lo, hi)`` on the two halves of ``range(size)``, in two threads."""
    middle = size // 2
    with ThreadPoolExecutor(max_workers=1) as pool:
        later = pool.submit(run, middle, size)          # type: ignore[arg-type]
        run(0, middle)                                  # type: ignore[operator]
        later.result()


def own_terms(family: Any, eta: np.ndarray, var: np.ndarray, y: np.ndarray, n: np.ndarray,
              grad: np.ndarray, d: np.ndarray, nodes: np.ndarray,
              weights: np.ndarray) -> np.ndarray:
    """$\\log \\sum_q w_q \\exp\\{l_i(\\eta_i + s_i x_q) - l_i(\\eta_i) - g_i s_i x_q +
    d_i s_i^2 x_q^2 / 2\\}$ per area, $s_i = \\sqrt{v_i}$, with Gauss–Hermite nodes
    $x_q$ and weights $w_q$ (summing to 1) for the standard normal; ``family`` holds the
    compiled log-likelihood $l_i$ (``Family.compiled``).

    Examples
    --------
    A Poisson area whose likelihood is its own quadratic expansion to first order:

    >>> import numpy as np
    >>> from crimestats.sae._engine.laplace_kernels import own_terms
    >>> from crimestats.sae.glmm.families import FAMILIES
    >>> x, w = np.polynomial.hermite_e.hermegauss(40)
    >>> value = own_terms(FAMILIES["poisson"].compiled, np.array([0.0]), np.array([1e-6]), np.array([1.0]),
    ...                   np.array([1.0]), np.array([0.0]), np.array([1.0]), x, w / w.sum())
    >>> bool(abs(value[0]) < 1e-12)
    True
    """
    out = np.empty(eta.shape[0])
    # one thread: it runs at every grid node, inside the two walkers of the grid
    _own_terms(family.loglik, *(np.ascontiguousarray(a, dtype=float) for a in (
        eta, var, y, n, grad, d, nodes)), np.log(weights), out, 0, eta.shape[0])
    return out


def link_moments(family: Any, weights: np.ndarray, mean: np.ndarray, sd: np.ndarray,
                 nodes: np.ndarray, node_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """$E\\,g(\\eta_i)$ and $E\\,g(\\eta_i)^2$ per area under the mixture
    $\\sum_k w_k N(\\mu_{ki}, s_{ki}^2)$, by Gauss–Hermite nodes within each component
    ($g$ the inverse link, compiled: ``Family.compiled``).

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae._engine.laplace_kernels import link_moments
    >>> from crimestats.sae.glmm.families import FAMILIES
    >>> x, w = np.polynomial.hermite_e.hermegauss(40)
    >>> first, _ = link_moments(FAMILIES["poisson"].compiled, np.ones(1), np.zeros((1, 1)), np.ones((1, 1)), x,
    ...                         w / w.sum())
    >>> round(float(first[0]), 6) == round(float(np.exp(0.5)), 6)      # E e^Z, Z ~ N(0, 1)
    True
    """
    first, second = np.empty(mean.shape[1]), np.empty(mean.shape[1])
    args = (family.inverse_link, *(np.ascontiguousarray(a, dtype=float) for a in (
        weights, mean, sd, nodes, node_weights)), first, second)
    _halves(lambda lo, hi: _link_moments(*args, lo, hi), mean.shape[1])
    return first, second


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
