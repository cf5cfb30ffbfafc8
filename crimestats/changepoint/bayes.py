"""Exact Bayesian change-point recursions (product-partition model, Fearnhead 2006).

Model: a segmentation of $y_1, \\dots, y_n$ into segments of at least $m$
observations has prior probability proportional to $q^{k}$, where $k$ is the
number of changes; each segment's parameter is drawn independently from a conjugate prior
and integrated out ([`crimestats.changepoint.segment_models`][crimestats.changepoint.segment_models]), giving segment marginal
likelihoods $M(s, t)$. With $q = p/(1-p)^{m}$ this is the prior of a change at
each time with probability $p$ (segment lengths geometric beyond $m$).

Forward and backward messages

$$
A(t) = \\log\\sum_{s} e^{A(s) + \\log q + \\log M(s, t)}, \\qquad
B(s) = \\log\\sum_{t} e^{\\log q + \\log M(s, t) + B(t)},
$$

with $A(0) = B(n) = 0$, give the evidence $Z = A(n) = B(0)$ and the posterior
probability that a new segment starts at (0-based) index $t$:
$\\exp(A(t) + B(t) - Z)$. Segmentations are drawn exactly from the posterior by
walking forward with $B$ ("perfect simulation"; draws that reach the same segment start
share the computation of that segment's end distribution); the MAP segmentation is the Viterbi
path (max instead of sum in $A$).

**Pruning.** The exact recursion costs $O(n^2)$. A start $s$ of the current
segment is dropped for good once its term in $A(t)$ falls below $\\varepsilon$
times $e^{A(t)}$ (and likewise in $B$); ``prune=0`` gives the exact recursion.
At the step where it happens each dropped term is below $\\varepsilon$ relative to the
sum, so the total dropped at one step is below $K\\varepsilon$ ($K$ terms
dropped); a dropped start could regain weight later only if later data favoured a segment
starting there over every later start by a factor $1/\\varepsilon$. The largest
dropped term is reported (``diagnostics['largest_pruned_weight']``) and the tests check the
pruned against the exact recursion ($\\varepsilon = 10^{-12}$: identical MAP
segmentations, ``prob_change`` within $10^{-8}$).

References
----------
Fearnhead, P. (2006). Exact and efficient Bayesian inference for multiple changepoint
problems. *Statistics and Computing* 16, 203–213.
Fearnhead, P. & Liu, Z. (2007). On-line inference for multiple changepoint problems.
*JRSS B* 69, 589–605.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .segment_models import SegmentModel

__all__ = ["BayesFit", "bayes_fit", "log_q_from_p"]


@dataclasses.dataclass(frozen=True)
class BayesFit:
    """Raw output of the recursions (on the working scale; see [`bayes_fit`][bayes_fit])."""

    prob_change: np.ndarray
    map_changepoints: list[int]
    log_evidence: float
    n_changes_draws: np.ndarray
    draw_ends: np.ndarray
    level_mean: np.ndarray
    candidates: np.ndarray
    pruned_mass: float


def log_q_from_p(p: float, min_size: int) -> float:
    """Log prior weight of one change, $\\log q = \\log p - m\\log(1-p)$."""
    return float(np.log(p) - min_size * np.log1p(-p))


def bayes_fit(model: SegmentModel, c0: np.ndarray, c1: np.ndarray, c2: np.ndarray, *,
              log_q: float, min_size: int, prune: float, draws: int,
              rng: np.random.Generator) -> BayesFit:
    """Run the forward/backward recursions, the Viterbi path and posterior draws."""
    from . import _kernels

    n = c0.shape[0] - 1
    log_eps = float(np.log(prune)) if prune > 0 else -np.inf
    A, V, back, kept, dropped = _kernels.forward(model.code, model.params, c0, c1, c2,
                                                 log_q, min_size, log_eps)
    B = _kernels.backward(model.code, model.params, c0, c1, c2, log_q, min_size, log_eps)
    Z = A[n]
    with np.errstate(invalid="ignore"):
        prob = np.exp(A[:n] + B[:n] - Z)
    prob[0] = 0.0
    prob = np.clip(np.nan_to_num(prob, nan=0.0), 0.0, 1.0)

    cps = []
    t = n
    while t > 0:
        t = int(back[t])
        if t > 0:
            cps.append(t)
    cps.sort()

    if draws > 0:
        nchg, ends = _sample(model, c0, c1, c2, log_q, min_size, B, draws, rng)
        level = _level_mean(model, c0, c1, c2, ends, n)
    else:
        nchg = np.zeros(0, dtype=np.int64)
        ends = np.zeros((0, 1), dtype=np.int64)
        level = np.full(n, np.nan)
    return BayesFit(prob, cps, float(Z), nchg, ends, level, kept, float(dropped))


def _sample(model: SegmentModel, c0: np.ndarray, c1: np.ndarray, c2: np.ndarray,
            log_q: float, min_size: int, B: np.ndarray, draws: int,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Exact posterior draws of segmentations, walking forward segment by segment.

    Draws that reach the same segment start share one computation of the distribution of
    that segment's end, so the cost grows with the number of distinct starts visited, not
    with the number of draws. Returns the number of changes of each draw and the segment
    ends (one row per draw, padded with -1).
    """
    from . import _kernels

    n = c0.shape[0] - 1
    paths: list[list[int]] = [[] for _ in range(draws)]
    waiting = {0: np.arange(draws)}
    while waiting:
        s = min(waiting)
        idx = waiting.pop(s)
        ends, probs = _kernels.end_distribution(model.code, model.params, c0, c1, c2, log_q,
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


def _level_mean(model: SegmentModel, c0: np.ndarray, c1: np.ndarray, c2: np.ndarray,
                ends: np.ndarray, n: int) -> np.ndarray:
    """Posterior mean of the level at each time, averaged over the drawn segmentations."""
    total = np.zeros(n + 1)
    for row in ends:
        e = row[row >= 0]
        s = np.r_[0, e[:-1]]
        mean = model.segment_mean(c0, c1, c2, s, e)
        np.add.at(total, s, mean)
        np.add.at(total, e, -mean)
    return np.cumsum(total)[:n] / ends.shape[0]
