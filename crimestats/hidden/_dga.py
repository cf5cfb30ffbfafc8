"""Bayesian model averaging over decomposable graphical models (Madigan & York 1997; R ``dga``).

Each decomposable (chordal) graph on the ``t`` lists is a log-linear model whose cliques carry
all interactions. With a hyper-Dirichlet prior (``delta`` per cell of the full ``2**t`` table,
so ``delta * 2**(t - |A|)`` per cell of the marginal table of lists ``A``), the marginal
likelihood of the completed table (observed cells plus ``n0`` people on no list) is, with
``v_1, ..., v_t`` a maximum-cardinality-search order and ``P_i`` the earlier neighbours of
``v_i``,

$$
\\log p(y, n_0 \\mid G) = \\sum_i L(\\{v_i\\} \\cup P_i) - L(P_i), \\qquad
L(A) = \\sum_{a} [\\log\\Gamma(y_{A,a} + \\alpha_A) - \\log\\Gamma(\\alpha_A)]
+ \\log\\Gamma(2^t\\delta) - \\log\\Gamma(N + 2^t\\delta),
$$

where $y_{A,a}$ are the marginal counts over lists ``A`` (with ``n0`` in the all-zero
cell), $L(\\emptyset) = 0$ and $N = n + n_0$; this equals the clique/separator
form of Madigan & York. The posterior over ``(G, n0)`` adds the multinomial coefficient
$\\log N! - \\log n_0! - \\sum \\log y_\\omega!$, the prior $p(N) \\propto 1/N$
and a uniform prior over graphs, all exactly on a grid of ``n0``.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np
from scipy import special

__all__: list[str] = []


@lru_cache(maxsize=8)
def decomposable_graphs(t: int) -> tuple[np.ndarray, list[tuple[tuple[int, int], ...]]]:
    """All chordal graphs on ``t`` vertices as coefficient rows over the ``2**t`` subsets.

    Row ``g`` has +1 at the bitmask of each ``{v_i} ∪ P_i`` and -1 at each non-empty ``P_i``;
    the log marginal likelihood of graph ``g`` is ``row @ L`` with ``L`` indexed by bitmask.
    Also returns each graph's edge list.
    """
    pairs = list(itertools.combinations(range(t), 2))
    rows, edges_out = [], []
    for mask in range(1 << len(pairs)):
        edges = tuple(pairs[k] for k in range(len(pairs)) if mask >> k & 1)
        adj = [0] * t
        for i, j in edges:
            adj[i] |= 1 << j
            adj[j] |= 1 << i
        coef = _mcs_coefficients(adj, t)
        if coef is not None:
            rows.append(coef)
            edges_out.append(edges)
    return np.array(rows, dtype=np.int8), edges_out


def _mcs_coefficients(adj: list[int], t: int) -> np.ndarray | None:
    """Maximum cardinality search; None if the graph is not chordal."""
    numbered = 0
    coef = np.zeros(1 << t, dtype=np.int8)
    weight = [0] * t
    for _ in range(t):
        v = max((u for u in range(t) if not numbered >> u & 1), key=lambda u: weight[u])
        earlier = adj[v] & numbered
        # chordal iff the earlier neighbours of every vertex form a clique
        rest = earlier
        while rest:
            u = (rest & -rest).bit_length() - 1
            if (earlier & ~(1 << u)) & ~adj[u]:
                return None
            rest &= rest - 1
        coef[earlier | 1 << v] += 1
        if earlier:
            coef[earlier] -= 1
        numbered |= 1 << v
        for u in range(t):
            if adj[v] >> u & 1:
                weight[u] += 1
    return coef


def component_loglik(full_counts: np.ndarray, t: int, delta: float,
                     n_missing: np.ndarray) -> np.ndarray:
    """``L(A)`` for every subset bitmask ``A`` (rows) and every ``n0`` on the grid (columns).

    ``full_counts[code]`` is the count of the history with bitmask ``code`` (code 0 = 0).
    """
    n_obs = full_counts.sum()
    total = n_obs + n_missing
    norm = special.gammaln(2**t * delta) - special.gammaln(total + 2**t * delta)
    codes = np.arange(1 << t)
    out = np.zeros((1 << t, n_missing.size))
    for a in range(1, 1 << t):
        size = bin(a).count("1")
        alpha = delta * 2.0 ** (t - size)
        marginal = np.bincount(codes & a, weights=full_counts, minlength=1 << t)
        cells = np.unique(codes & a)
        vals = marginal[cells]
        fixed = special.gammaln(vals[cells != 0] + alpha).sum() - (cells.size - 1) * special.gammaln(alpha)
        zero_cell = special.gammaln(vals[cells == 0][0] + n_missing + alpha) - special.gammaln(alpha)
        out[a] = fixed + zero_cell + norm
    return out


def bma_posterior(full_counts: np.ndarray, t: int, delta: float, n_missing: np.ndarray,
                  chunk: int = 2048) -> tuple[np.ndarray, np.ndarray, list]:
    """Posterior of ``n0`` on the grid and of each graph (both normalised), and the graphs."""
    coefs, edges = decomposable_graphs(t)
    comp = component_loglik(full_counts, t, delta, n_missing)
    n_obs = full_counts.sum()
    total = n_obs + n_missing
    extra = (special.gammaln(total + 1) - special.gammaln(n_missing + 1)
             - special.gammaln(full_counts + 1).sum() - np.log(total))
    log_n = np.full(n_missing.size, -np.inf)
    log_g = np.empty(coefs.shape[0])
    for start in range(0, coefs.shape[0], chunk):
        block = coefs[start:start + chunk].astype(float) @ comp + extra  # graphs x grid
        log_n = np.logaddexp(log_n, special.logsumexp(block, axis=0))
        log_g[start:start + chunk] = special.logsumexp(block, axis=1)
    post_n = np.exp(log_n - special.logsumexp(log_n))
    post_g = np.exp(log_g - special.logsumexp(log_g))
    return post_n, post_g, edges
