"""Compiled inner loops (numba) shared by the searches and recursions.

Private and imported lazily: importing numba costs about a second, so
``import crimestats.changepoint`` does not import this module; the public functions do.

Every segment is a half-open interval ``(s, t]`` of the cumulative statistics ``c0, c1, c2``
(length ``n + 1``, first entry 0), so a segment's sufficient statistics are differences of
two entries. Model codes (``model`` argument) and their parameter vectors ``prm``:

=====  ====================  ===================================================
code   segment model         ``prm``
=====  ====================  ===================================================
0      Poisson–gamma         ``a, b`` (gamma shape and rate of the segment rate)
1      negative binomial     ``a, b`` (beta prior of the success probability)
2      normal–inverse-gamma  ``m0, kappa0, alpha0, beta0``
3      normal, mean only     ``tau2`` (prior variance of the mean; noise variance 1)
=====  ====================  ===================================================

PELT cost codes (twice the negative maximised log-likelihood, constants dropped as in
R ``changepoint``): 0 Poisson, 1 negative binomial with known size, 2 normal mean and
variance, 3 normal mean with unit variance.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_LOG_2PI = math.log(2.0 * math.pi)


@numba.njit(cache=True, inline="always")
def _lbeta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


@numba.njit(cache=True)
def seg_logml(model, prm, c0, c1, c2, s, t):
    """Log marginal likelihood of the data in segment (s, t] (terms fixed by the data dropped)."""
    e = c0[t] - c0[s]
    y = c1[t] - c1[s]
    if model == 0:
        a = prm[0]
        b = prm[1]
        return (math.lgamma(a + y) - math.lgamma(a) + a * math.log(b)
                - (a + y) * math.log(b + e))
    if model == 1:
        a = prm[0]
        b = prm[1]
        return _lbeta(a + e, b + y) - _lbeta(a, b)
    if model == 2:
        m0 = prm[0]
        k0 = prm[1]
        a0 = prm[2]
        b0 = prm[3]
        if e <= 0.0:
            return 0.0
        ybar = y / e
        ss = (c2[t] - c2[s]) - y * ybar
        if ss < 0.0:
            ss = 0.0
        kn = k0 + e
        an = a0 + 0.5 * e
        bn = b0 + 0.5 * ss + 0.5 * k0 * e * (ybar - m0) ** 2 / kn
        return (math.lgamma(an) - math.lgamma(a0) + a0 * math.log(b0) - an * math.log(bn)
                + 0.5 * math.log(k0 / kn) - 0.5 * e * _LOG_2PI)
    # model 3: normal mean only, unit noise variance, mean ~ N(0, tau2)
    tau2 = prm[0]
    s2 = c2[t] - c2[s]
    d = 1.0 + e * tau2
    return -0.5 * e * _LOG_2PI - 0.5 * s2 - 0.5 * math.log(d) + 0.5 * tau2 * y * y / d


@numba.njit(cache=True, nogil=True)
def forward(model, prm, c0, c1, c2, log_q, min_size, log_eps):
    """Pruned forward recursion of the product-partition model.

    ``A[t] = log sum_s exp(A[s] + log_q + logM(s, t))`` over valid last-segment starts ``s``,
    ``A[0] = 0``. A start ``s`` is dropped for good once its term falls below
    ``A[t] + log_eps``; ``log_eps = -inf`` gives the exact O(n^2) recursion. Also returns
    the Viterbi (MAP) score and back-pointers over the same candidates, the number of
    candidates kept at each step, and the sum over steps of the dropped terms, each relative
    to the A[t] of its step (an estimate of the posterior mass lost to pruning).
    """
    n = c0.shape[0] - 1
    A = np.full(n + 1, -np.inf)
    V = np.full(n + 1, -np.inf)
    back = np.zeros(n + 1, dtype=np.int64)
    kept = np.zeros(n + 1, dtype=np.int64)
    A[0] = 0.0
    V[0] = 0.0
    cand = np.empty(n + 1, dtype=np.int64)
    w = np.empty(n + 1)
    ncand = 0
    dropped_total = 0.0
    for t in range(1, n + 1):
        s_new = t - min_size
        if s_new >= 0 and (s_new == 0 or s_new >= min_size):
            cand[ncand] = s_new
            ncand += 1
        if ncand == 0:
            continue
        top = -np.inf
        best = -np.inf
        arg = 0
        for i in range(ncand):
            s = cand[i]
            m = seg_logml(model, prm, c0, c1, c2, s, t) + log_q
            w[i] = A[s] + m
            if w[i] > top:
                top = w[i]
            v = V[s] + m
            if v > best:
                best = v
                arg = s
        tot = 0.0
        for i in range(ncand):
            tot += math.exp(w[i] - top)
        acc = top + math.log(tot)
        A[t] = acc
        V[t] = best
        back[t] = arg
        kept[t] = ncand
        if log_eps > -np.inf:
            cut = acc + log_eps
            j = 0
            for i in range(ncand):
                if w[i] >= cut:
                    cand[j] = cand[i]
                    j += 1
                else:
                    dropped_total += math.exp(w[i] - acc)
            ncand = j
    return A, V, back, kept, dropped_total


@numba.njit(cache=True, nogil=True)
def backward(model, prm, c0, c1, c2, log_q, min_size, log_eps):
    """Pruned backward recursion: ``B[s] = log sum_t exp(log_q + logM(s, t) + B[t])``, ``B[n] = 0``."""
    n = c0.shape[0] - 1
    B = np.full(n + 1, -np.inf)
    B[n] = 0.0
    cand = np.empty(n + 1, dtype=np.int64)
    w = np.empty(n + 1)
    ncand = 0
    for s in range(n - 1, -1, -1):
        t_new = s + min_size
        if t_new <= n and (t_new == n or t_new <= n - min_size):
            cand[ncand] = t_new
            ncand += 1
        if ncand == 0:
            continue
        top = -np.inf
        for i in range(ncand):
            t = cand[i]
            w[i] = B[t] + seg_logml(model, prm, c0, c1, c2, s, t) + log_q
            if w[i] > top:
                top = w[i]
        tot = 0.0
        for i in range(ncand):
            tot += math.exp(w[i] - top)
        acc = top + math.log(tot)
        B[s] = acc
        if log_eps > -np.inf:
            cut = acc + log_eps
            j = 0
            for i in range(ncand):
                if w[i] >= cut:
                    cand[j] = cand[i]
                    j += 1
            ncand = j
    return B


@numba.njit(cache=True, nogil=True)
def end_distribution(model, prm, c0, c1, c2, log_q, min_size, B, s, tol):
    """Posterior distribution of the end of a segment that starts after ``s``.

    ``P(end = t | start s, y) = exp(log_q + logM(s, t) + B[t] - B[s])`` for the valid ends
    ``t``, walked forward until all but ``tol`` of the probability is covered. Returns the
    ends and their (unnormalised) probabilities.
    """
    n = c0.shape[0] - 1
    ends = np.empty(n - s, dtype=np.int64)
    probs = np.empty(n - s)
    k = 0
    acc = 0.0
    t = s + min_size
    while t <= n:
        if t == n or t <= n - min_size:
            p = math.exp(log_q + seg_logml(model, prm, c0, c1, c2, s, t) + B[t] - B[s])
            ends[k] = t
            probs[k] = p
            k += 1
            acc += p
            if acc >= 1.0 - tol:
                break
        t += 1
    return ends[:k], probs[:k]


@numba.njit(cache=True, inline="always")
def _pelt_cost(cost, c0, c1, c2, s, t, seg_len_term, logn, unit):
    e = c0[t] - c0[s]
    y = c1[t] - c1[s]
    extra = logn[t - s] if seg_len_term else 0.0
    if cost == 0:
        if y <= 0.0:
            return 0.0  # R changepoint: an empty Poisson segment costs nothing, MBIC term included
        loge = logn[t - s] if unit else math.log(e)
        return 2.0 * y * (loge - math.log(y)) + extra
    if cost == 1:
        # c0 holds size * exposure; profile likelihood of NB(size, p) with p = e / (e + y)
        if y <= 0.0:
            return extra
        return -2.0 * (e * math.log(e / (e + y)) + y * math.log(y / (e + y))) + extra
    if e <= 0.0:
        return extra
    if cost == 2:
        sig = ((c2[t] - c2[s]) - y * y / e) / e
        if sig <= 1e-2:
            sig = 1e-2  # 1% of the robust noise variance: ties in short segments are not changes
        return e * (_LOG_2PI + math.log(sig) + 1.0) + extra
    return (c2[t] - c2[s]) - y * y / e + extra


@numba.njit(cache=True, nogil=True)
def pelt(cost, c0, c1, c2, pen, min_size, seg_len_term, unit):
    """PELT (Killick, Fearnhead & Eckley 2012) with the candidate bookkeeping of R changepoint.

    ``F[t] = min_s F[s] + C(s, t) + pen (+ log(t - s) when seg_len_term)``, ``F[0] = -pen``;
    a start ``s`` is pruned when ``F[s] + C(s, t) > F[t]``. Segment lengths are ``c0``
    differences for the normal costs and index differences otherwise (``unit``: every
    exposure is 1, so the Poisson segment exposure is the length). Returns the
    back-pointers, the optimal costs and the number of candidates at each step.
    """
    n = c0.shape[0] - 1
    F = np.zeros(n + 1)
    back = np.zeros(n + 1, dtype=np.int64)
    kept = np.zeros(n + 1, dtype=np.int64)
    F[0] = -pen
    logn = np.zeros(n + 1)
    for j in range(1, n + 1):
        logn[j] = math.log(j)
    for j in range(min_size, min(2 * min_size, n + 1)):
        F[j] = _pelt_cost(cost, c0, c1, c2, 0, j, seg_len_term, logn, unit)
        back[j] = 0
    cand = np.empty(n + 2, dtype=np.int64)
    tmp = np.empty(n + 2)
    cand[0] = 0
    cand[1] = min_size
    ncand = 2
    for t in range(2 * min_size, n + 1):
        best = np.inf
        arg = 0
        for i in range(ncand):
            s = cand[i]
            v = F[s] + _pelt_cost(cost, c0, c1, c2, s, t, seg_len_term, logn, unit) + pen
            tmp[i] = v
            if v < best:
                best = v
                arg = s
        F[t] = best
        back[t] = arg
        kept[t] = ncand
        j = 0
        for i in range(ncand):
            if tmp[i] <= best + pen:
                cand[j] = cand[i]
                j += 1
        ncand = j
        cand[ncand] = t - min_size + 1
        ncand += 1
    return back, F, kept
