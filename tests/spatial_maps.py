"""A small geography shared by the spatial HB tests (a 4 x 5 grid, a separate 3 x 3 grid and
an island: 30 areas, three components) and the dense prior covariance of its scaled ICAR field."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def grid_pairs(rows: int, cols: int, offset: int = 0) -> list[tuple[int, int]]:
    """Rook neighbour pairs of a ``rows x cols`` grid numbered from ``offset``."""
    pairs = []
    for r in range(rows):
        for c in range(cols):
            i = offset + r * cols + c
            if c + 1 < cols:
                pairs.append((i, i + 1))
            if r + 1 < rows:
                pairs.append((i, i + cols))
    return pairs


M = 30
PAIRS = grid_pairs(4, 5) + grid_pairs(3, 3, 20)       # area 29 is an island


def dense_prior_covariance(weights: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Covariance of the scaled field: pinv of each component's Laplacian / s_c; 1 for islands."""
    m = weights.shape[0]
    n_comp, comp = sp.csgraph.connected_components(sp.csr_array(weights), directed=False)
    cov, factors = np.zeros((m, m)), []
    for c in range(n_comp):
        idx = np.flatnonzero(comp == c)
        if idx.size == 1:
            cov[idx, idx] = 1.0
            continue
        w = weights[np.ix_(idx, idx)]
        pinv = np.linalg.pinv(np.diag(w.sum(axis=1)) - w)
        s = float(np.exp(np.mean(np.log(np.diag(pinv)))))
        cov[np.ix_(idx, idx)] = pinv / s
        factors.append(s)
    return cov, factors
