"""Posterior summaries of mixtures: quantiles of Gaussian mixtures and of gridded densities.

The hierarchical Bayes fits end with each area's posterior as a mixture over the nodes of a
hyperparameter grid: of Gaussians (Fay–Herriot HB, BYM2/ICAR, the Gaussian approximations of
the spatial GLMMs), or of densities tabulated on a grid (the GLMMs with independent effects,
the locally corrected marginals). These are their quantiles, and the cubature rule that
integrates a Gaussian $\\beta \\mid \\sigma_u$.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, special

__all__ = ["cubature_points", "grid_quantile", "mixture_quantiles"]


def mixture_quantiles(weights: np.ndarray, mu: np.ndarray, sd: np.ndarray,
                       prob: float, start: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Per-area quantile of the Gaussian mixture sum_k w_k N(mu_ki, sd_ki^2) (Newton + bisection).

    ``mu`` and ``sd`` are (K, m); ``weights`` is (K,). The root is bracketed by the smallest and
    largest component quantiles, and a Newton step that leaves the bracket is replaced by bisection.
    """
    used = weights > 0
    w, mu, sd = weights[used], mu[used], sd[used]
    component = mu + special.ndtri(prob) * sd
    lo, hi = component.min(axis=0), component.max(axis=0)
    q = np.clip(start, lo, hi)
    active = np.arange(q.size)
    for _ in range(200):
        m_a, s_a = mu[:, active], sd[:, active]
        z = (q[active] - m_a) / s_a
        cdf = w @ special.ndtr(z)
        pdf = w @ (np.exp(-0.5 * z * z) / s_a) / math.sqrt(2.0 * math.pi)
        below = cdf < prob
        lo[active] = np.where(below, q[active], lo[active])
        hi[active] = np.where(below, hi[active], q[active])
        with np.errstate(divide="ignore", invalid="ignore"):
            new = q[active] - (cdf - prob) / pdf
        inside = (new >= lo[active]) & (new <= hi[active])
        new = np.where(inside, new, 0.5 * (lo[active] + hi[active]))
        done = (np.abs(new - q[active]) <= tol[active]) | (cdf == prob)
        q[active] = new
        active = active[~done]
        if active.size == 0:
            break
    return q


def cubature_points(mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Third-degree spherical cubature of N(mean, cov): mean ± sqrt(d) L e_k, equal weights."""
    d = mean.size
    vals, vecs = np.linalg.eigh(cov)
    offsets = np.sqrt(d) * (vecs * np.sqrt(np.clip(vals, 0.0, None))).T
    return np.vstack([mean + offsets, mean - offsets])


def grid_quantile(eta: np.ndarray, mass: np.ndarray, prob: float) -> np.ndarray:
    """Row-wise quantile of a density known at equally spaced nodes (piecewise linear).

    ``mass`` holds the density times the spacing at each node (rows sum to one). The CDF at
    the nodes is integrated by Simpson's rule; between nodes the density is taken as linear,
    so the CDF is quadratic there and the quantile solves it exactly.
    """
    cdf = integrate.cumulative_simpson(mass, dx=1.0, axis=1, initial=0.0)
    j = np.clip(np.sum(cdf < prob, axis=1) - 1, 0, mass.shape[1] - 2)
    rows = np.arange(mass.shape[0])
    p0, p1 = mass[rows, j], mass[rows, j + 1]
    a, b, c = 0.5 * (p1 - p0), p0, cdf[rows, j] - prob
    disc = np.sqrt(np.clip(b * b - 4 * a * c, 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(b + disc > 0, -2 * c / (b + disc), 0.5)
    s = np.clip(s, 0.0, 1.0)
    step = eta[:, 1] - eta[:, 0]
    return eta[rows, j] + s * step
