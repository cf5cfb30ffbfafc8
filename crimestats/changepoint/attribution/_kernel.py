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


@numba.njit(cache=True, inline="always")
def _add(acc, ref, i, j, val):
    """acc[i, j] · exp(ref[i, j]) += exp(val), rescaled so that ref is the running maximum."""
    if val > ref[i, j]:
        acc[i, j] = acc[i, j] * math.exp(ref[i, j] - val) + 1.0
        ref[i, j] = val
    else:
        acc[i, j] += math.exp(val - ref[i, j])


@numba.njit(cache=True)
def accumulate_evidence(A, c, base, log_w_h, s2, capture, capture_lp, incidence, incidence_lp,
                        out_config, out_h):
    """Fill ``out_config[a, i]`` = log Σ_h w_h p(y | a, i, h) and ``out_h[h]`` = log Σ_config
    prior(config) p(y | config, h). Sums are kept on the linear scale relative to a running
    maximum (one exponential per term)."""
    H = base.size
    n_cap, B = capture.shape
    n_inc = incidence.size
    L = np.zeros((B, B))
    r = np.zeros(B)
    v = np.zeros(B)
    cols = np.zeros(B, dtype=np.int64)
    acc_c = np.zeros((n_cap, n_inc))
    ref_c = np.full((n_cap, n_inc), -np.inf)
    acc_h = np.zeros((H, 1))
    ref_h = np.full((H, 1), -np.inf)
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
            for i in range(n_inc):
                j = incidence[i]
                if j < 0:
                    ev = base[h] - 0.5 * (logs2 + logdet - quad)
                else:
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
                    ev = base[h] - 0.5 * (logs2 + math.log(s2[j]) + logdet + math.log(d)
                                          - quad - rj * rj)
                _add(acc_c, ref_c, a, i, ev + log_w_h[h])
                _add(acc_h, ref_h, h, 0, ev + capture_lp[a] + incidence_lp[i])
    for a in range(n_cap):
        for i in range(n_inc):
            out_config[a, i] = ref_c[a, i] + math.log(acc_c[a, i]) if acc_c[a, i] > 0 \
                else -np.inf
    for h in range(H):
        out_h[h] = ref_h[h, 0] + math.log(acc_h[h, 0]) if acc_h[h, 0] > 0 else -np.inf
