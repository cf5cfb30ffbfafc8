"""Compiled recursions shared by every segment model (numba; the engine below the front-ends).

Private and imported lazily: importing numba costs about a second, so
``import crimestats.changepoint`` does not import this module; the public functions do.

Every recursion takes the segment model's own compiled functions as arguments (numba
compiles one specialisation per model and caches it on disk):

* ``logml(prm, st, s, t)`` — log marginal likelihood of the data in the segment ``(s, t]``
  (observations ``s .. t-1``), its parameters integrated out;
* ``cost(prm, st, s, t)`` — twice the negative maximised log-likelihood of that segment (PELT).

``st`` is the model's table of statistics (``n + 1`` rows, usually cumulative sums, so a
segment's statistics are differences of two rows) and ``prm`` its hyperparameters; both are
opaque here. A new segment model needs no change in this file.

The segment functions are passed as first-class function values of one signature
(`SEGMENT_FUNCTION`), so each recursion is compiled once, cached on disk, and serves every
model; a model compiles its own functions with `jit_segment_function`.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types

#: Signature of a segment model's compiled ``logml`` and ``cost``.
SEGMENT_SIGNATURE = types.float64(types.float64[::1], types.float64[:, ::1], types.int64,
                                  types.int64)
_FN = types.FunctionType(SEGMENT_SIGNATURE)
_F1 = types.float64[::1]
_I1 = types.int64[::1]
_ST = types.float64[:, ::1]


def jit_segment_function(func):
    """Compile a segment model's ``logml`` or ``cost`` (plain Python, self-contained: it may
    call ``math`` functions but no other Python function), cached on disk."""
    return numba.njit(SEGMENT_SIGNATURE, cache=True, nogil=True)(func)


@numba.njit(types.float64(_FN, _F1, _ST, _ST, types.int64, types.int64), cache=True,
            nogil=True, inline="always")
def segment_value(logml, prm, st, memo, s, t):
    """``logml(prm, st, s, t)``, kept in ``memo`` once computed (NaN = not yet); an empty
    ``memo`` (shape ``(0, 0)``) keeps nothing."""
    if memo.shape[0] == 0:
        return logml(prm, st, s, t)
    v = memo[s, t]
    if v != v:
        v = logml(prm, st, s, t)
        memo[s, t] = v
    return v


@numba.njit(cache=True, nogil=True, inline="always")
def _column(logml, prm, st, memo, cand, ncand, t, out):
    """``out[i] = logM(cand[i], t)`` for the ``ncand`` candidate starts (``memo``: see
    `segment_value`, written out here: as a call it would cost more than the recursion)."""
    if memo.shape[0] == 0:
        for i in range(ncand):
            out[i] = logml(prm, st, cand[i], t)
        return
    for i in range(ncand):
        v = memo[cand[i], t]
        if v != v:
            v = logml(prm, st, cand[i], t)
            memo[cand[i], t] = v
        out[i] = v


@numba.njit(cache=True, nogil=True, inline="always")
def _row(logml, prm, st, memo, s, cand, ncand, out):
    """``out[i] = logM(s, cand[i])`` for the ``ncand`` candidate ends (as `_column`)."""
    if memo.shape[0] == 0:
        for i in range(ncand):
            out[i] = logml(prm, st, s, cand[i])
        return
    for i in range(ncand):
        v = memo[s, cand[i]]
        if v != v:
            v = logml(prm, st, s, cand[i])
            memo[s, cand[i]] = v
        out[i] = v


@numba.njit(types.float64(_FN, _F1, _ST, _ST, types.float64, types.int64, types.float64,
                          _F1, _F1, _I1, _I1, _I1, _F1), cache=True, nogil=True)
def forward_into(logml, prm, st, memo, log_q, min_size, log_eps, A, V, back, kept, cand, w):
    """The pruned forward recursion of `forward`, writing into the arrays given (``memo``: see
    `segment_value`); returns the dropped mass."""
    n = st.shape[0] - 1
    A[:] = -np.inf
    V[:] = -np.inf
    back[:] = 0
    kept[:] = 0
    A[0] = 0.0
    V[0] = 0.0
    ncand = 0
    dropped_total = 0.0
    for t in range(1, n + 1):
        s_new = t - min_size
        if s_new >= 0 and (s_new == 0 or s_new >= min_size):
            cand[ncand] = s_new
            ncand += 1
        if ncand == 0:
            continue
        _column(logml, prm, st, memo, cand, ncand, t, w)
        top = -np.inf
        low = np.inf
        best = -np.inf
        arg = 0
        for i in range(ncand):
            s = cand[i]
            m = w[i] + (log_q if s > 0 else 0.0)
            w[i] = A[s] + m
            if w[i] > top:
                top = w[i]
            if w[i] < low:
                low = w[i]
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
        if low < acc + log_eps:             # some start falls below the pruning threshold
            cut = acc + log_eps
            j = 0
            for i in range(ncand):
                if w[i] >= cut or cand[i] == 0:
                    cand[j] = cand[i]
                    j += 1
                else:
                    dropped_total += math.exp(w[i] - acc)
            ncand = j
    return dropped_total


@numba.njit(types.void(_FN, _F1, _ST, _ST, types.float64, types.int64, types.float64, _F1,
                       _I1, _F1), cache=True, nogil=True)
def backward_into(logml, prm, st, memo, log_q, min_size, log_eps, B, cand, w):
    """The pruned backward recursion of `backward`, into ``B`` (work arrays ``cand``, ``w``)."""
    n = st.shape[0] - 1
    B[:] = -np.inf
    B[n] = 0.0
    ncand = 0
    for s in range(n - 1, -1, -1):
        t_new = s + min_size
        if t_new <= n and (t_new == n or t_new <= n - min_size):
            cand[ncand] = t_new
            ncand += 1
        if ncand == 0 or (s > 0 and s < min_size):
            continue
        _row(logml, prm, st, memo, s, cand, ncand, w)
        top = -np.inf
        low = np.inf
        lq = log_q if s > 0 else 0.0
        for i in range(ncand):
            w[i] = B[cand[i]] + w[i] + lq
            if w[i] > top:
                top = w[i]
            if w[i] < low:
                low = w[i]
        tot = 0.0
        for i in range(ncand):
            tot += math.exp(w[i] - top)
        acc = top + math.log(tot)
        B[s] = acc
        if low < acc + log_eps:
            cut = acc + log_eps
            j = 0
            for i in range(ncand):
                if w[i] >= cut or cand[i] == n:
                    cand[j] = cand[i]
                    j += 1
            ncand = j


@numba.njit(types.Tuple((_F1, _F1, _I1, _I1, types.float64))(
    _FN, _F1, _ST, types.float64, types.int64, types.float64), cache=True, nogil=True)
def forward(logml, prm, st, log_q, min_size, log_eps):
    """Pruned forward recursion of the product-partition model.

    ``A[t] = log sum_s exp(A[s] + log_q + logM(s, t))`` over valid last-segment starts ``s``,
    ``A[0] = 0``. A start ``s`` is dropped for good once its term falls below
    ``A[t] + log_eps``; ``log_eps = -inf`` gives the exact O(n^2) recursion. Also returns
    the Viterbi (MAP) score and back-pointers over the same candidates, the number of
    candidates kept at each step, and the sum over steps of the dropped terms, each relative
    to the A[t] of its step (an estimate of the posterior mass lost to pruning).
    """
    n = st.shape[0] - 1
    A = np.empty(n + 1)
    V = np.empty(n + 1)
    back = np.empty(n + 1, dtype=np.int64)
    kept = np.empty(n + 1, dtype=np.int64)
    dropped = forward_into(logml, prm, st, np.empty((0, 0)), log_q, min_size, log_eps, A, V,
                           back, kept, np.empty(n + 1, dtype=np.int64), np.empty(n + 1))
    return A, V, back, kept, dropped


@numba.njit(_F1(_FN, _F1, _ST, types.float64, types.int64, types.float64), cache=True,
           nogil=True)
def backward(logml, prm, st, log_q, min_size, log_eps):
    """Pruned backward recursion: ``B[s] = log sum_t exp(log_q + logM(s, t) + B[t])``, ``B[n] = 0``.

    The first segment (``s = 0``) carries no ``log_q`` (a segmentation with ``k`` changes has
    prior weight ``q^k``).
    """
    n = st.shape[0] - 1
    B = np.empty(n + 1)
    backward_into(logml, prm, st, np.empty((0, 0)), log_q, min_size, log_eps, B,
                  np.empty(n + 1, dtype=np.int64), np.empty(n + 1))
    return B


@numba.njit(types.Tuple((_I1, _F1))(_FN, _F1, _ST, types.float64, types.int64, _F1,
                                   types.int64, types.float64), cache=True, nogil=True)
def end_distribution(logml, prm, st, log_q, min_size, B, s, tol):
    """Posterior distribution of the end of a segment that starts after ``s``.

    ``P(end = t | start s, y) = exp(log_q + logM(s, t) + B[t] - B[s])`` for the valid ends
    ``t`` (no ``log_q`` for the first segment), walked forward until all but ``tol`` of the
    probability is covered. Returns the ends and their (unnormalised) probabilities.
    """
    n = st.shape[0] - 1
    ends = np.empty(n - s, dtype=np.int64)
    probs = np.empty(n - s)
    k = 0
    acc = 0.0
    lq = log_q if s > 0 else 0.0
    t = s + min_size
    while t <= n:
        if t == n or t <= n - min_size:
            p = math.exp(lq + logml(prm, st, s, t) + B[t] - B[s])
            ends[k] = t
            probs[k] = p
            k += 1
            acc += p
            if acc >= 1.0 - tol:
                break
        t += 1
    return ends[:k], probs[:k]


@numba.njit(types.float64(_FN, _F1, _ST), cache=True, nogil=True)
def single_segment(logml, prm, st):
    """Log marginal likelihood of the whole series as one segment (the no-change model)."""
    return logml(prm, st, 0, st.shape[0] - 1)


@numba.njit(types.float64(_FN, _F1, _ST, types.int64, types.int64, types.boolean),
           cache=True, nogil=True)
def _penalised(cost, prm, st, s, t, seg_len_term):
    """Segment cost plus the MBIC ``log L`` term; a segment that costs exactly 0 (a Poisson
    segment with no events, as in R ``changepoint``) carries no ``log L`` term."""
    c = cost(prm, st, s, t)
    if seg_len_term and c != 0.0:
        c += math.log(t - s)
    return c


@numba.njit(types.Tuple((_I1, _F1, _I1))(_FN, _F1, _ST, types.float64, types.int64,
                                         types.boolean), cache=True, nogil=True)
def pelt(cost, prm, st, pen, min_size, seg_len_term):
    """PELT (Killick, Fearnhead & Eckley 2012) with the candidate bookkeeping of R changepoint.

    ``F[t] = min_s F[s] + C(s, t) + pen (+ log(t - s) when seg_len_term)``, ``F[0] = -pen``;
    a start ``s`` is pruned when ``F[s] + C(s, t) > F[t]``. Returns the back-pointers, the
    optimal costs and the number of candidates at each step.
    """
    n = st.shape[0] - 1
    F = np.zeros(n + 1)
    back = np.zeros(n + 1, dtype=np.int64)
    kept = np.zeros(n + 1, dtype=np.int64)
    F[0] = -pen
    for j in range(min_size, min(2 * min_size, n + 1)):
        F[j] = _penalised(cost, prm, st, 0, j, seg_len_term)
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
            v = F[s] + _penalised(cost, prm, st, s, t, seg_len_term) + pen
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
