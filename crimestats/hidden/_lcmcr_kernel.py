"""Compiled Gibbs sweep of the LCMCR sampler (numba; imported lazily by ``_lcmcr``).

One chain at a time, on counts per observed capture history: each sweep allocates the cases of
every history to latent classes (conditional binomials), draws the number on no list and
their classes, then the capture probabilities, the stick-breaking weights and the
concentration. The random numbers come from numba's own generator, seeded from the caller's
``numpy.random.Generator`` so that a seed gives the same draws.
"""

# numba's compiled code draws from its own generator through the legacy np.random API only.
# ruff: noqa: NPY002

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["run_chain"]


@numba.njit(cache=True, nogil=True)
def run_chain(x: np.ndarray, n_c: np.ndarray, lam: np.ndarray, pi: np.ndarray,
              burn: int, draws: int, thin: int, a_alpha: float, b_alpha: float,
              seed: int) -> np.ndarray:  # pragma: no cover - compiled
    """Run one chain from ``lam`` (lists x classes) and ``pi``; return the kept totals."""
    np.random.seed(seed)
    n_cells, n_lists = x.shape
    k_cls = pi.size
    n_obs = 0
    for c in range(n_cells):
        n_obs += n_c[c]
    lam = lam.copy()
    pi = pi.copy()
    alpha = 1.0
    out = np.empty(draws)
    log_lam = np.empty((n_lists, k_cls))
    log_1m = np.empty((n_lists, k_cls))
    prob = np.empty(k_cls)
    on = np.empty((n_lists, k_cls))
    class_n = np.empty(k_cls)
    miss = np.empty(k_cls)
    miss_k = np.empty(k_cls)
    v = np.empty(k_cls)
    kept = 0
    total_iter = burn + draws * thin
    for it in range(total_iter):
        for j in range(n_lists):
            for k in range(k_cls):
                log_lam[j, k] = math.log(lam[j, k])
                log_1m[j, k] = math.log1p(-lam[j, k])
        on[:, :] = 0.0
        class_n[:] = 0.0
        # observed cases: classes within each capture history
        for c in range(n_cells):
            best = -np.inf
            for k in range(k_cls):
                s = math.log(pi[k])
                for j in range(n_lists):
                    s += log_lam[j, k] if x[c, j] else log_1m[j, k]
                prob[k] = s
                if s > best:
                    best = s
            norm = 0.0
            for k in range(k_cls):
                prob[k] = math.exp(prob[k] - best)
                norm += prob[k]
            left = n_c[c]
            rest = norm
            for k in range(k_cls):
                if left == 0:
                    break
                if k == k_cls - 1 or rest <= 0.0:
                    m = left
                else:
                    share = prob[k] / rest
                    m = np.random.binomial(left, min(max(share, 0.0), 1.0))
                rest -= prob[k]
                left -= m
                if m > 0:
                    class_n[k] += m
                    for j in range(n_lists):
                        if x[c, j]:
                            on[j, k] += m
        # the unobserved: NegBin(n, 1 - pi0) as a Poisson-Gamma mixture, then their classes
        pi0 = 0.0
        for k in range(k_cls):
            s = 0.0
            for j in range(n_lists):
                s += log_1m[j, k]
            miss_k[k] = pi[k] * math.exp(s)
            pi0 += miss_k[k]
        pi0 = min(max(pi0, 1e-300), 1.0 - 1e-12)
        n0 = np.random.poisson(np.random.gamma(n_obs, pi0 / (1.0 - pi0)))
        left = n0
        rest = pi0
        for k in range(k_cls):
            if left == 0 or k == k_cls - 1 or rest <= 0.0:
                miss[k] = left
                left = 0
            else:
                m = np.random.binomial(left, min(max(miss_k[k] / rest, 0.0), 1.0))
                miss[k] = m
                left -= m
            rest -= miss_k[k]
        # capture probabilities within classes
        for k in range(k_cls):
            for j in range(n_lists):
                off = class_n[k] - on[j, k] + miss[k]
                value = np.random.beta(1.0 + on[j, k], 1.0 + off)
                lam[j, k] = min(max(value, 1e-12), 1.0 - 1e-12)
        # stick-breaking weights and the concentration
        after = 0.0
        for k in range(k_cls):
            after += class_n[k] + miss[k]
        log_rest = 0.0
        sum_log1m_v = 0.0
        for k in range(k_cls):
            n_k = class_n[k] + miss[k]
            after -= n_k
            if k == k_cls - 1:
                v[k] = 1.0
            else:
                v[k] = min(max(np.random.beta(1.0 + n_k, alpha + after), 1e-12), 1.0 - 1e-12)
                sum_log1m_v += math.log1p(-v[k])
            pi[k] = max(v[k] * math.exp(log_rest), 1e-300)
            if k < k_cls - 1:
                log_rest += math.log1p(-v[k])
        alpha = np.random.gamma(a_alpha + k_cls - 1, 1.0 / (b_alpha - sum_log1m_v))
        if it >= burn and (it - burn) % thin == 0:
            out[kept] = n_obs + n0
            kept += 1
    return out
