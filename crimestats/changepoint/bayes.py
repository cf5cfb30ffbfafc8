"""Exact Bayesian change-point recursions (product-partition model, Fearnhead 2006).

Model: a segmentation of $y_1, \\dots, y_n$ into segments of at least $m$ observations with
$k$ changes has prior probability proportional to $q^{k}$; each segment's parameters are drawn
independently from their prior and integrated out
([`segments`][crimestats.changepoint.segments]), giving segment marginal likelihoods
$M(s, t)$.

**Prior on the changes.** $q$ is set so that the prior probability of *at least one change*
in the series is ``prior_any_change`` (`detect`'s default 0.15), whatever the length $n$ of the series:
with $N_k$ segmentations of $n$ points into $k+1$ segments of at least $m$,
$P(k = 0) = 1/\\sum_k N_k q^k = 1 - \\pi$ is solved for $q$. (Setting a probability per
period instead, as ``prior_change=p`` does with $q = p/(1-p)^{m}$, makes the prior expect
$pn$ changes, which drifts with $n$.)

**Forward and backward messages**

$$
A(t) = \\log\\sum_{s} e^{A(s) + [s>0]\\log q + \\log M(s, t)}, \\qquad
B(s) = \\log\\sum_{t} e^{[s>0]\\log q + \\log M(s, t) + B(t)},
$$

with $A(0) = B(n) = 0$, give the evidence $Z = A(n) = B(0)$, the posterior probability that
a new segment starts at (0-based) index $t$, $\\exp(A(t) + B(t) - Z)$, and the posterior
probability of no change at all, $M(0, n)/Z$. Segmentations are drawn exactly from the
posterior by walking forward with $B$ ("perfect simulation"; draws that reach the same segment
start share the computation of that segment's end distribution); the MAP segmentation is the
Viterbi path (max instead of sum in $A$).

**Hyperparameters integrated over a grid.** A segment model may return several nodes (the
autocorrelation of the errors and the reference trends of the trend models, the negative
binomial size): the recursion runs at each node and the results are averaged with the nodes'
posterior weights $\\propto w_j Z_j$ — exact for the grid. Nodes whose evidence is below
$10^{-9}$ of the best node's are dropped (their posterior weight is below that bound): on
series of up to 400 points after the forward pass, which runs at every node, and on longer
series — where nearly all nodes but one are dropped — before it, their evidence taken from a
forward pass pruned at $10^{-3}$. The MAP segmentation is the Viterbi path of the node with
the highest joint score.

**Pruning.** The exact recursion costs $O(n^2)$. A start $s$ of the current segment is dropped
for good once its term in $A(t)$ falls below $\\varepsilon$ times $e^{A(t)}$ (and likewise in
$B$); ``prune=0`` gives the exact recursion. At the step where it happens each dropped term is
below $\\varepsilon$ relative to the sum; a dropped start could regain weight later only if
later data favoured a segment starting there over every later start by a factor
$1/\\varepsilon$. The mass dropped is reported (``diagnostics['pruned_mass']``) and the tests
check the pruned against the exact recursion.

References
----------
Fearnhead, P. (2006). Exact and efficient Bayesian inference for multiple changepoint
problems. *Statistics and Computing* 16, 203–213.
Fearnhead, P. & Liu, Z. (2007). On-line inference for multiple changepoint problems.
*JRSS B* 69, 589–605.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy import optimize, special

from .segments import Prepared, SegmentModel

__all__ = ["BayesFit", "bayes_fit", "log_q_from_p", "log_q_for_any_change",
           "prior_any_change_probability", "prior_change_probability", "prior_log_q",
           "NODE_SCREEN", "SCREEN_PRUNE", "EXACT_SCREEN_LIMIT"]


@dataclasses.dataclass(frozen=True)
class BayesFit:
    """Output of the recursions, averaged over the hyperparameter nodes.

    ``prob_change[t]``: posterior probability that a new segment starts at ``t``;
    ``prob_any_change``: of at least one change; ``map_changepoints``: the MAP segmentation
    of node ``map_node``; ``node_weights``: posterior weights of the nodes;
    ``n_changes_draws``/``draw_ends``/``draw_nodes``: exact posterior draws (empty when
    ``draws=0``); ``nodes``: the nodes kept after screening (the indices above refer to them),
    ``all_weights``: the posterior weights of every node given, 0 for those screened out.
    """

    prob_change: np.ndarray
    prob_any_change: float
    map_changepoints: list[int]
    map_node: int
    node_weights: np.ndarray
    log_evidence: float
    n_changes_draws: np.ndarray
    draw_ends: np.ndarray
    draw_nodes: np.ndarray
    candidates: np.ndarray
    pruned_mass: float
    nodes: list[Prepared]
    all_weights: np.ndarray


def log_q_from_p(p: float, min_size: int) -> float:
    """Log prior weight of one change from a probability per period:
    $\\log q = \\log p - m\\log(1-p)$."""
    return float(np.log(p) - min_size * np.log1p(-p))


def _log_counts(n: int, min_size: int) -> np.ndarray:
    """$\\log N_k$: segmentations of ``n`` points into ``k + 1`` segments of at least ``m``."""
    k = np.arange(max(n // min_size, 1))
    free = n - (k + 1) * min_size + k
    return special.gammaln(free + 1) - special.gammaln(k + 1) - special.gammaln(free - k + 1)


def log_q_for_any_change(n: int, min_size: int, prob: float) -> float:
    """$\\log q$ giving prior probability ``prob`` of at least one change in ``n`` points.

    Examples
    --------
    >>> import numpy as np
    >>> lq = log_q_for_any_change(100, 2, 0.5)
    >>> k = np.arange(50); free = 100 - (k + 1) * 2 + k
    >>> from scipy.special import comb
    >>> round(float(1 / np.sum(comb(free, k) * np.exp(lq * k))), 6)      # P(no change)
    0.5
    """
    log_n = _log_counts(n, min_size)
    if log_n.size < 2:
        return 0.0
    target = -np.log1p(-prob)

    def gap(lq: float) -> float:
        return float(special.logsumexp(log_n + lq * np.arange(log_n.size))) - target

    return float(optimize.brentq(gap, -50.0 - np.log(n) * 3, 50.0, xtol=1e-12))


def prior_log_q(n: int, min_size: int, prior_any_change: Any, prior_change: Any) -> float:
    """$\\log q$ from `detect`'s options, checked: ``prior_change`` (a probability per period)
    when given, else ``prior_any_change`` (of at least one change in the series).

    Raises `crimestats.InputError` when the one used is not a probability in (0, 1).

    Examples
    --------
    >>> lq = prior_log_q(60, 2, 0.15, None)
    >>> round(prior_any_change_probability(60, 2, lq), 6)
    0.15
    """
    from ..errors import InputError

    name, value = (("prior_change", prior_change) if prior_change is not None
                   else ("prior_any_change", prior_any_change))
    try:
        p = float(value)
    except (TypeError, ValueError):
        p = np.nan
    if not 0.0 < p < 1.0:
        raise InputError(f"`{name}` must be a probability in (0, 1); received {value!r}.")
    if prior_change is not None:
        return log_q_from_p(min(p, 0.5), min_size)
    return log_q_for_any_change(n, min_size, p)


def prior_any_change_probability(n: int, min_size: int, log_q: float) -> float:
    """Prior probability of at least one change in ``n`` points (the inverse of
    [`log_q_for_any_change`][crimestats.changepoint.bayes.log_q_for_any_change]).

    Examples
    --------
    >>> round(prior_any_change_probability(100, 2, log_q_for_any_change(100, 2, 0.15)), 9)
    0.15
    """
    log_n = _log_counts(n, min_size)
    return float(-np.expm1(-special.logsumexp(log_n + log_q * np.arange(log_n.size))))


def prior_change_probability(n: int, min_size: int, log_q: float) -> np.ndarray:
    """Prior probability that a new segment starts at each time $0, \\dots, n-1$ (0 at 0).

    With $N(L)$ the prior weight of all segmentations of $L$ points
    ($N(L) = [L \\ge m] + q\\sum_{\\ell=m}^{L-m} N(L-\\ell)$), a change at $t$ has prior
    probability $q N(t) N(n-t) / N(n)$. Computed in $O(n)$ on the log scale.

    Examples
    --------
    >>> import numpy as np
    >>> p = prior_change_probability(200, 1, np.log(0.01 / 0.99))
    >>> round(float(p[100]), 6)        # min_size 1: independent changes, q / (1 + q)
    0.01
    """
    import math

    def add(a: float, b: float) -> float:
        if a == -math.inf:
            return b
        if b == -math.inf:
            return a
        top = max(a, b)
        return top + math.log(math.exp(a - top) + math.exp(b - top))

    log_n = [-math.inf] * (n + 1)
    log_n[0] = 0.0                     # the empty remainder
    cum = [-math.inf] * (n + 2)        # cum[x + 1] = log sum_{j=min_size}^{x} N(j)
    for length in range(1, n + 1):
        value = 0.0 if length >= min_size else -math.inf
        upper = length - min_size
        if upper >= min_size:
            value = add(value, log_q + cum[upper + 1])
        log_n[length] = value
        cum[length + 1] = add(cum[length], value) if length >= min_size else cum[length]
    log_n = np.array(log_n)
    t = np.arange(n)
    out = np.exp(log_q + log_n[t] + log_n[n - t] - log_n[n])
    out[0] = 0.0
    out[(t < min_size) | (n - t < min_size)] = 0.0
    return np.clip(np.nan_to_num(out), 0.0, 1.0)


def bayes_fit(model: SegmentModel, nodes: list[Prepared], *, log_q: float, min_size: int,
              prune: float, draws: int, rng: np.random.Generator) -> BayesFit:
    """Run the recursions at every node, average them, and draw from the posterior."""
    from . import _kernels

    logml = model.logml
    n = nodes[0].stats.shape[0] - 1
    log_eps = float(np.log(prune)) if prune > 0 else -np.inf
    original = nodes
    forwards: dict[int, tuple] = {}
    if len(nodes) > 1 and prune > 0:
        if n <= EXACT_SCREEN_LIMIT:
            forwards = {id(node): _kernels.forward(logml, node.params, node.stats, log_q,
                                                   min_size, log_eps) for node in nodes}
        nodes = _screen(model, nodes, log_q, min_size, forwards)
    Z, P, none, V, backs, kept_max, dropped, Bs = [], [], [], [], [], [], 0.0, []
    for node in nodes:
        A, Vit, back, kept, drop = forwards.get(id(node)) or _kernels.forward(
            logml, node.params, node.stats, log_q, min_size, log_eps)
        B = _kernels.backward(logml, node.params, node.stats, log_q, min_size, log_eps)
        z = A[n]
        with np.errstate(invalid="ignore", over="ignore"):
            prob = np.exp(A[:n] + B[:n] - z)
        prob[0] = 0.0
        Z.append(z)
        P.append(np.clip(np.nan_to_num(prob, nan=0.0), 0.0, 1.0))
        none.append(_kernels.single_segment(logml, node.params, node.stats) - z)
        V.append(Vit[n] + node.log_weight)
        backs.append(back)
        Bs.append(B)
        kept_max.append(kept)
        dropped = max(dropped, drop)
    logw = np.array([node.log_weight for node in nodes]) + np.array(Z)
    log_evidence = float(special.logsumexp(logw))
    weights = np.exp(logw - log_evidence)
    prob_change = np.clip(np.tensordot(weights, np.array(P), axes=1), 0.0, 1.0)
    p_none = float(np.clip(np.dot(weights, np.exp(np.minimum(none, 0.0))), 0.0, 1.0))
    best = int(np.argmax(V))
    cps = _viterbi_path(backs[best], n)

    if draws > 0:
        counts = np.bincount(rng.choice(weights.size, size=draws, p=weights / weights.sum()),
                             minlength=weights.size)
        nchg, ends, which = [], [], []
        for j, c in enumerate(counts):
            if c:
                k, e = _sample(model, nodes[j], log_q, min_size, Bs[j], int(c), rng)
                nchg.append(k)
                ends.append(e)
                which.append(np.full(int(c), j))
        width = max(e.shape[1] for e in ends)
        draw_ends = np.vstack([np.pad(e, ((0, 0), (0, width - e.shape[1])),
                                      constant_values=-1) for e in ends])
        n_changes = np.concatenate(nchg)
        draw_nodes = np.concatenate(which)
    else:
        n_changes = np.zeros(0, dtype=np.int64)
        draw_ends = np.zeros((0, 1), dtype=np.int64)
        draw_nodes = np.zeros(0, dtype=np.int64)
    kept = {id(node) for node in nodes}
    all_weights = np.zeros(len(original))
    all_weights[[i for i, node in enumerate(original) if id(node) in kept]] = weights
    return BayesFit(prob_change, 1.0 - p_none, cps, best, weights, log_evidence, n_changes,
                    draw_ends, draw_nodes, np.max(kept_max, axis=0), float(dropped), nodes,
                    all_weights)


#: Nodes whose evidence is below this fraction of the best node's are dropped before the
#: backward recursion (and, on long series, before the exact forward recursion too).
NODE_SCREEN = 1e-9
#: Pruning of the coarse forward pass that screens the nodes of long series.
SCREEN_PRUNE = 1e-3
#: Series up to this length are screened with the exact forward pass itself (run at every
#: node anyway at that length), longer ones with a coarse pass first.
EXACT_SCREEN_LIMIT = 400


def _screen(model: SegmentModel, nodes: list[Prepared], log_q: float, min_size: int,
            forwards: dict[int, tuple]) -> list[Prepared]:
    """The hyperparameter nodes that carry posterior weight above ``NODE_SCREEN``.

    Each node's evidence comes from its forward pass in ``forwards`` (by ``id`` of the node)
    when given — short series — and otherwise from a forward pass with coarse pruning, which
    gives it to within its (reported) pruned mass; nodes far below the best — on long series
    almost all of them — are dropped, so the exact recursions run only where the posterior
    is.
    """
    from . import _kernels

    n = nodes[0].stats.shape[0] - 1
    scores = np.array([node.log_weight + (forwards[id(node)] if forwards else _kernels.forward(
        model.logml, node.params, node.stats, log_q, min_size, float(np.log(SCREEN_PRUNE))))[0][n]
        for node in nodes])
    keep = scores >= scores.max() + np.log(NODE_SCREEN)
    return [node for node, k in zip(nodes, keep, strict=True) if k]


def _viterbi_path(back: np.ndarray, n: int) -> list[int]:
    cps = []
    t = n
    while t > 0:
        t = int(back[t])
        if t > 0:
            cps.append(t)
    return sorted(cps)


def _sample(model: SegmentModel, node: Prepared, log_q: float, min_size: int,
            B: np.ndarray, draws: int, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    """Exact posterior draws of segmentations at one node, walking forward segment by segment.

    Draws that reach the same segment start share one computation of the distribution of
    that segment's end, so the cost grows with the number of distinct starts visited, not
    with the number of draws. Returns the number of changes of each draw and the segment
    ends (one row per draw, padded with -1).
    """
    from . import _kernels

    n = node.stats.shape[0] - 1
    paths: list[list[int]] = [[] for _ in range(draws)]
    waiting = {0: np.arange(draws)}
    while waiting:
        s = min(waiting)
        idx = waiting.pop(s)
        ends, probs = _kernels.end_distribution(model.logml, node.params, node.stats, log_q,
                                                min_size, B, s, 1e-12)
        chosen = ends[rng.choice(ends.size, size=idx.size, p=probs / probs.sum())]
        for t in np.unique(chosen):
            group = idx[chosen == t]
            for d in group:
                paths[d].append(int(t))
            if t < n:
                waiting[int(t)] = (np.concatenate([waiting[int(t)], group])
                                   if int(t) in waiting else group)
    width = max(len(p) for p in paths)
    out = np.full((draws, width), -1, dtype=np.int64)
    for d, p in enumerate(paths):
        out[d, :len(p)] = p
    return np.array([len(p) - 1 for p in paths], dtype=np.int64), out
