"""Compiled Bayesian recursions over many series at once (numba; engine below `_batch`).

One call fits every series of a chunk: for each series it runs the pruned forward recursion
at every hyperparameter node, screens the nodes by the evidence it gives, runs the backward
recursion at the nodes kept, averages them over the nodes and keeps the MAP (Viterbi) path — with the very recursions
[`bayes`][crimestats.changepoint.bayes] runs series by series (`_kernels.forward_into` and
`_kernels.backward_into`), in the same order and with the same pruning, so the results agree
to rounding. What changes is where the time goes:

* no Python between series, nodes or passes (one call per chunk instead of about 60 per
  series), and the GIL is released for the whole chunk;
* each node's segment log marginal likelihoods $\\log M(s, t)$ are computed once and kept in
  an $(n + 1) \\times (n + 1)$ table: the forward and the backward pass read the same values
  instead of evaluating the segment model twice. (The table is
  $O(n^2)$ per node, which is why the batch path is for the short series of a panel; a long
  single series goes through `detect`.)

The segment model's compiled ``logml(prm, st, s, t)`` is passed in as a first-class function
of [`SEGMENT_SIGNATURE`][crimestats.changepoint._kernels.SEGMENT_SIGNATURE], so one compiled
(and disk-cached) kernel serves every model.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types

from ._kernels import SEGMENT_SIGNATURE, backward_into, forward, forward_into, pelt, segment_value

__all__ = ["fit_chunk", "pelt_chunk"]

_FN = types.FunctionType(SEGMENT_SIGNATURE)
_F1 = types.float64[::1]
_F2 = types.float64[:, ::1]
_F3 = types.float64[:, :, ::1]
_I1 = types.int64[::1]
_I2 = types.int64[:, ::1]
_B1 = types.boolean[::1]


@numba.njit(types.Tuple((_F2, _F1, _F1, _I2, _I1, _F1, _I2, _F1, _B1))(
    _FN, _F3, _I1, _F2, _F1, _I1, types.float64, types.int64, types.float64, types.float64),
    cache=True, nogil=True)
def fit_chunk(logml, tables, node_table, params, log_weight, node_start, log_q, min_size,
              log_eps, log_node_screen):
    """Fit every series of a chunk: forward passes, screening, backward passes, node averaging.

    Parameters
    ----------
    logml : compiled segment function
        The segment model's ``logml``.
    tables : (n_tables, n + 1, k) float
        The statistics tables (several nodes of a series may share one).
    node_table : (n_nodes,) int
        Table of each node.
    params, log_weight : (n_nodes, p) float, (n_nodes,) float
        Hyperparameters and log prior weight of each node.
    node_start : (n_series + 1,) int
        The nodes of series ``i`` are ``node_start[i]:node_start[i + 1]``.
    log_q, min_size, log_eps : float, int, float
        As in ``bayes.bayes_fit`` (``log_eps = -inf``: no pruning, no node screening).
    log_node_screen : float
        The screening threshold (``bayes.NODE_SCREEN``): nodes whose evidence is below the
        best node's by more than this get no backward pass and no weight.

    Returns
    -------
    prob_change : (n_series, n) float
        Posterior probability of a change at each time, averaged over the nodes.
    prob_any_change, log_evidence : (n_series,) float
    back : (n_series, n + 1) int
        Viterbi back-pointers of the node with the highest MAP score.
    map_node : (n_series,) int
        That node's position among the series' nodes.
    weights : (n_nodes,) float
        Posterior weight of every node (0 when screened out).
    candidates : (n_series, n + 1) int
        Candidate segment starts kept at each step (maximum over the nodes run).
    pruned_mass : (n_series,) float
    screened : (n_nodes,) bool
        Whether each node was kept by the screening.
    """
    n_series = node_start.size - 1
    n = tables.shape[1] - 1
    n_nodes = params.shape[0]
    width = 1
    for i in range(n_series):
        width = max(width, node_start[i + 1] - node_start[i])
    prob_change = np.zeros((n_series, n))
    prob_any = np.zeros(n_series)
    log_evidence = np.zeros(n_series)
    back_out = np.zeros((n_series, n + 1), dtype=np.int64)
    map_node = np.zeros(n_series, dtype=np.int64)
    weights = np.zeros(n_nodes)
    candidates = np.zeros((n_series, n + 1), dtype=np.int64)
    pruned = np.zeros(n_series)
    keep = np.zeros(n_nodes, dtype=np.bool_)

    memo = np.empty((width, n + 1, n + 1))
    A = np.empty((width, n + 1))
    V = np.empty((width, n + 1))
    back = np.zeros((width, n + 1), dtype=np.int64)
    kept = np.zeros((width, n + 1), dtype=np.int64)
    drop = np.zeros(width)
    P = np.zeros((width, n))
    Z = np.zeros(width)
    none = np.zeros(width)
    B = np.empty(n + 1)
    cand = np.empty(n + 1, dtype=np.int64)
    w = np.empty(n + 1)
    for i in range(n_series):
        first = node_start[i]
        m = node_start[i + 1] - first
        # forward passes at every node; nodes far below the best are then dropped
        # (bayes._screen with the exact forward passes)
        top = -np.inf
        for j in range(m):
            g = first + j
            memo[j, :, :] = np.nan
            drop[j] = forward_into(logml, params[g], tables[node_table[g]], memo[j], log_q,
                                   min_size, log_eps, A[j], V[j], back[j], kept[j], cand, w)
            Z[j] = A[j, n]
            top = max(top, log_weight[g] + Z[j])
        for j in range(m):
            keep[first + j] = (m == 1 or log_eps == -np.inf
                               or log_weight[first + j] + Z[j] >= top + log_node_screen)
        best_v = -np.inf
        best = -1
        dropped = 0.0
        for j in range(m):
            g = first + j
            if not keep[g]:
                continue
            prm = params[g]
            st = tables[node_table[g]]
            backward_into(logml, prm, st, memo[j], log_q, min_size, log_eps, B, cand, w)
            z = Z[j]
            for t in range(n):
                p = math.exp(A[j, t] + B[t] - z)
                if p != p:
                    p = 0.0
                P[j, t] = min(max(p, 0.0), 1.0)
            P[j, 0] = 0.0
            none[j] = segment_value(logml, prm, st, memo[j], 0, n) - z
            v = V[j, n] + log_weight[g]
            if v > best_v or best < 0:
                best_v = v
                best = j
            for t in range(n + 1):
                if kept[j, t] > candidates[i, t]:
                    candidates[i, t] = kept[j, t]
            dropped = max(dropped, drop[j])
        # average over the nodes kept, with weights proportional to prior weight x evidence
        top = -np.inf
        for j in range(m):
            if keep[first + j]:
                top = max(top, log_weight[first + j] + Z[j])
        tot = 0.0
        for j in range(m):
            if keep[first + j]:
                tot += math.exp(log_weight[first + j] + Z[j] - top)
        lev = top + math.log(tot)
        p_none = 0.0
        for j in range(m):
            g = first + j
            if keep[g]:
                wj = math.exp(log_weight[g] + Z[j] - lev)
                weights[g] = wj
                p_none += wj * math.exp(min(none[j], 0.0))
                for t in range(n):
                    prob_change[i, t] += wj * P[j, t]
        for t in range(n):
            prob_change[i, t] = min(max(prob_change[i, t], 0.0), 1.0)
        prob_any[i] = 1.0 - min(max(p_none, 0.0), 1.0)
        log_evidence[i] = lev
        back_out[i] = back[best]
        map_node[i] = best
        pruned[i] = dropped
    return (prob_change, prob_any, log_evidence, back_out, map_node, weights, candidates,
            pruned, keep)


@numba.njit(types.Tuple((_I2, _I1))(_FN, _FN, _F3, _I1, _F2, _F1, _I1, types.float64,
                                    types.int64, types.float64, types.boolean, types.float64),
            cache=True, nogil=True)
def pelt_chunk(logml, cost, tables, node_table, params, log_weight, node_start, log_q,
               min_size, pen, seg_len_term, log_eps):
    """PELT on every series of a chunk (``_kernels.pelt``), at each series' most probable node.

    A series with several hyperparameter nodes is segmented at the node with the highest
    evidence from a forward pass (prior weight ``log_q``, pruning ``log_eps``), as `detect`
    does. Returns the back-pointers of each series (all 0 — no change — for a series too
    short to hold one) and the node used.
    """
    n_series = node_start.size - 1
    n = tables.shape[1] - 1
    back_out = np.zeros((n_series, n + 1), dtype=np.int64)
    node_out = np.zeros(n_series, dtype=np.int64)
    for i in range(n_series):
        first = node_start[i]
        m = node_start[i + 1] - first
        best = 0
        if m > 1:
            top = -np.inf
            for j in range(m):
                g = first + j
                A = forward(logml, params[g], tables[node_table[g]], log_q, min_size,
                            log_eps)[0]
                score = log_weight[g] + A[n]
                if score > top or j == 0:
                    top = score
                    best = j
        node_out[i] = best
        if n >= 2 * min_size:
            g = first + best
            back_out[i] = pelt(cost, params[g], tables[node_table[g]], pen, min_size,
                               seg_len_term)[0]
    return back_out, node_out
