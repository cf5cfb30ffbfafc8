"""Compiled inner loop of MRP's post-stratified area posteriors (one parameter node at a time).

For every area the posterior of its effect ``u`` is tabulated on a grid, the post-stratified
prevalence ``theta(u) = sum_c N_c expit(eta_c + u) / N`` is evaluated on the same grid, and the
node's contribution to the mixture moments and to the mixture CDF of ``logit(theta)`` at fixed
edges is accumulated. Fusing these steps per area keeps the work in cache and avoids the
``(areas x grid)`` temporaries a vectorised version needs; the arithmetic is that of the NumPy
expressions it replaces (log-sum-exp normalisation, SciPy's ``cumulative_simpson`` rule for
equal spacing, linear interpolation at the edges).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["accumulate_node"]


@numba.njit(cache=True)
def _softplus(x: float) -> float:
    if x > 0.0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


@numba.njit(cache=True)
def accumulate_node(u: np.ndarray, inv_sigma2: float, row_ptr: np.ndarray, row_eta: np.ndarray,
                    y: np.ndarray, n: np.ndarray, cell_ptr: np.ndarray, cell_eta: np.ndarray,
                    cell_pop: np.ndarray, pop_area: np.ndarray, edges: np.ndarray, share: float,
                    first: np.ndarray, second: np.ndarray, cdf_edges: np.ndarray) -> None:
    """Add one parameter node's share to ``first``, ``second`` and ``cdf_edges`` in place.

    ``u`` (areas, G) is the grid of each area's effect; rows (binomial cells with respondents)
    and population cells are sorted by area with pointers ``row_ptr`` / ``cell_ptr``;
    ``row_eta`` and ``cell_eta`` are their fixed-effect linear predictors at this node.
    """
    n_areas, grid = u.shape
    n_edges = edges.shape[1]
    mass = np.empty(grid)
    z = np.empty(grid)
    cdf = np.empty(grid)
    for a in range(n_areas):
        top = -np.inf
        for g in range(grid):
            ug = u[a, g]
            lp = -0.5 * ug * ug * inv_sigma2
            for r in range(row_ptr[a], row_ptr[a + 1]):
                eta = row_eta[r] + ug
                lp += y[r] * eta - n[r] * _softplus(eta)
            mass[g] = lp
            top = max(top, lp)
        total = 0.0
        for g in range(grid):
            mass[g] = math.exp(mass[g] - top)
            total += mass[g]
        m1 = 0.0
        m2 = 0.0
        for g in range(grid):
            mass[g] /= total
            theta = 0.0
            for c in range(cell_ptr[a], cell_ptr[a + 1]):
                theta += cell_pop[c] / (1.0 + math.exp(-(cell_eta[c] + u[a, g])))
            theta /= pop_area[a]
            m1 += mass[g] * theta
            m2 += mass[g] * theta * theta
            t = min(max(theta, 1e-300), 1.0 - 1e-16)
            z[g] = math.log(t / (1.0 - t))
        first[a] += share * m1
        second[a] += share * m2
        cdf[0] = 0.0
        for i in range(grid - 1):
            if i % 2 == 0 and i + 2 <= grid - 1:
                step = (5.0 * mass[i] + 8.0 * mass[i + 1] - mass[i + 2]) / 12.0
            else:
                step = (-mass[i - 1] + 8.0 * mass[i] + 5.0 * mass[i + 1]) / 12.0
            cdf[i + 1] = cdf[i] + step
        last = cdf[grid - 1]
        p = 0
        for e in range(n_edges):
            edge = edges[a, e]
            while p < grid and z[p] < edge:
                p += 1
            pos = min(max(p, 1), grid - 1)
            z0 = z[pos - 1]
            z1 = z[pos]
            frac = min(max((edge - z0) / max(z1 - z0, 1e-300), 0.0), 1.0)
            c0 = cdf[pos - 1] / last
            c1 = cdf[pos] / last
            cdf_edges[a, e] += share * (c0 + frac * (c1 - c0))
