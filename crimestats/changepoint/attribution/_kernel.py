"""Compiled loop over configurations × hyperparameters (numba; imported lazily).

For one hyperparameter node, every configuration's changes $\\delta$ (prior
$N(0, \\operatorname{diag} s^2)$) are integrated out against the restricted Gram matrix
$A = G^\\top P G$ and $c = G^\\top P y$ of all candidate changes:

$$
\\log p(y \\mid \\text{config}, h) = b_h - \\tfrac12\\Big(\\textstyle\\sum_j \\log s_j^2
+ \\log\\det M - c_J^\\top M^{-1} c_J\\Big), \\qquad M = A_{JJ} + \\operatorname{diag}(s_J^{-2}),
$$

$J$ the configuration's columns and $b_h$ the evidence without changes. Capture columns are
factorised once per capture set and the incidence step is added as a rank-one extension of
the Cholesky factor.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["accumulate_evidence"]


@numba.njit(cache=True)
def accumulate_evidence(A, c, base, log_w_h, s2, capture, capture_lp, incidence, incidence_lp,
                        out_joint, out_h):
    """Fill ``out_joint[a, i]`` = log Σ_h w_h prior(a, i) p(y | a, i, h) and ``out_h[h]`` =
    log Σ_config w_h prior(config) p(y | config, h).

    Both sums are kept on the linear scale relative to one running reference (the largest term
    seen, rescaled when a term exceeds it by more than e^50), so each term costs one
    exponential.
    """
    H = base.size
    n_cap, B = capture.shape
    n_inc = incidence.size
    L = np.zeros((B, B))
    r = np.zeros(B)
    v = np.zeros(B)
    cols = np.zeros(B, dtype=np.int64)
    acc_c = np.zeros((n_cap, n_inc))
    acc_h = np.zeros(H)
    ref = -np.inf
    for h in range(H):
        Ah = A[h]
        ch = c[h]
        for a in range(n_cap):
            q = 0
            logs2 = 0.0
            logdet = 0.0
            quad = 0.0
            ok = True
            for k in range(B):
                if capture[a, k] >= 0:
                    cols[q] = capture[a, k]
                    q += 1
            for i1 in range(q):
                j1 = cols[i1]
                logs2 += math.log(s2[j1])
                for i2 in range(i1 + 1):
                    s = Ah[j1, cols[i2]]
                    if i1 == i2:
                        s += 1.0 / s2[j1]
                    for k in range(i2):
                        s -= L[i1, k] * L[i2, k]
                    if i1 == i2:
                        if s <= 0.0:
                            ok = False
                            s = 1e-300
                        L[i1, i1] = math.sqrt(s)
                    else:
                        L[i1, i2] = s / L[i2, i2]
                logdet += 2.0 * math.log(L[i1, i1])
                t = ch[j1]
                for k in range(i1):
                    t -= L[i1, k] * r[k]
                r[i1] = t / L[i1, i1]
                quad += r[i1] * r[i1]
            if not ok:
                continue
            head = base[h] + log_w_h[h] + capture_lp[a] - 0.5 * (logs2 + logdet - quad)
            for i in range(n_inc):
                j = incidence[i]
                x = head + incidence_lp[i]
                if j >= 0:
                    vv = 0.0
                    vr = 0.0
                    for k in range(q):
                        t = Ah[cols[k], j]
                        for m in range(k):
                            t -= L[k, m] * v[m]
                        v[k] = t / L[k, k]
                        vv += v[k] * v[k]
                        vr += v[k] * r[k]
                    d = Ah[j, j] + 1.0 / s2[j] - vv
                    if d <= 0.0:
                        continue
                    rj = (ch[j] - vr) / math.sqrt(d)
                    x -= 0.5 * (math.log(s2[j]) + math.log(d) - rj * rj)
                if x > ref + 50.0:
                    if ref > -np.inf:
                        scale = math.exp(ref - x)
                        for a2 in range(n_cap):
                            for i2 in range(n_inc):
                                acc_c[a2, i2] *= scale
                        for h2 in range(H):
                            acc_h[h2] *= scale
                    ref = x
                e = math.exp(x - ref)
                acc_c[a, i] += e
                acc_h[h] += e
    for a in range(n_cap):
        for i in range(n_inc):
            out_joint[a, i] = ref + math.log(acc_c[a, i]) if acc_c[a, i] > 0 else -np.inf
    for h in range(H):
        out_h[h] = ref + math.log(acc_h[h]) if acc_h[h] > 0 else -np.inf
