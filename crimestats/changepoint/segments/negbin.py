"""Negative binomial segments: the rate changes; the overdispersion is integrated over a grid.

$y_t \\sim \\mathrm{NegBin}(r e_t, p)$ (mean $e_t\\lambda$ with $\\lambda = r(1-p)/p$, variance
$e_t\\lambda(1 + \\lambda/r)$) and $p \\sim \\mathrm{Beta}(1 + a r/\\bar\\lambda, a)$, which gives
$\\lambda$ prior mean $\\bar\\lambda$ (the rate of the whole series) and tends to the Poisson
model's gamma prior as $r \\to \\infty$. The size $r$ is shared by all segments and integrated
out: the recursion runs at each node of a grid of sizes (1 to 10,000 and the Poisson limit,
geometric steps of about 2.15, equal prior weight) and the nodes are averaged with their
posterior weights, so overdispersion is estimated jointly with the segmentation (and with the
seasonal factors). ``size=`` fixes it instead.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from ._common import compiled, level_summary, prior_options
from .base import Prepared, SegmentModel, SegmentSummary

__all__ = ["NegBinSegments", "SIZE_GRID"]

#: Grid of negative binomial sizes integrated over when the size is not given (1e8 = Poisson).
SIZE_GRID = np.r_[np.geomspace(1.0, 1e4, 13), 1e8]


def negbin_logml(prm, st, s, t):
    """Negative binomial–beta log marginal likelihood of (s, t] (``st[:, 0]`` = size × exposure).

    ``prm = (a, b, lgamma(a + b) - lgamma(a) - lgamma(b), k, m, L_0 .. L_{k-1},
    G_0 .. G_{m-1})``: when ``k > 0`` the exposure is uniform and ``L_j = lgamma(a + e_j)``
    for a segment of length ``j``; ``G_y = lgamma(b + y)`` for whole ``y < m``. The tables
    (from `NegBinSegments.prepare`) leave one log-gamma of three to compute per segment.
    """

    def lgamma(x):
        # Stirling's series from 10 on (truncation error below 1e-12; twice as fast as libm)
        if x < 10.0:
            return math.lgamma(x)
        r = 1.0 / x
        r2 = r * r
        return ((x - 0.5) * math.log(x) - x + 0.9189385332046728
                + r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 / 1680.0))))

    e = st[t, 0] - st[s, 0]
    y = st[t, 1] - st[s, 1]
    a = prm[0]
    b = prm[1]
    k = int(prm[3])
    m = int(prm[4])
    first = prm[5 + t - s] if k > 0 else lgamma(a + e)
    whole = int(y)
    second = prm[5 + k + whole] if whole < m else lgamma(b + y)
    return first + second - lgamma(a + e + b + y) + prm[2]


def negbin_cost(prm, st, s, t):
    """Profile cost of NB(size, p) with ``p = E / (E + Y)`` (``E`` = size × exposure)."""
    e = st[t, 0] - st[s, 0]
    y = st[t, 1] - st[s, 1]
    if y <= 0.0:
        return 0.0
    return -2.0 * (e * math.log(e / (e + y)) + y * math.log(y / (e + y)))


#: Largest total count for which `negbin_logml` reads lgamma(b + y) from a table.
TABLE_COUNTS = 2000


def _tables(a: np.ndarray, b: float, sizes: np.ndarray, e: np.ndarray, y: np.ndarray
            ) -> np.ndarray:
    """The lookup tables of `negbin_logml` (``k, m, L, G``), one row per node."""
    n = e.shape[0]
    lengths = np.arange(n + 1.0) if np.all(e == e[0]) else np.zeros(0)
    total = float(np.sum(y))
    counts = (np.arange(total + 1.0) if total < TABLE_COUNTS and np.all(y == np.round(y))
              else np.zeros(0))
    first = special.gammaln(a[:, None] + (sizes[:, None] * e[0]) * lengths[None, :])
    second = np.broadcast_to(special.gammaln(b + counts), (sizes.size, counts.size))
    sizes_of = np.broadcast_to([float(lengths.size), float(counts.size)], (sizes.size, 2))
    return np.hstack([sizes_of, first, second])


class NegBinSegments(SegmentModel):
    """Overdispersed counts whose rate changes at each change point."""

    name = "negbin"
    data = "counts"
    changes = "rate (negative binomial counts, overdispersion integrated out)"
    diffparam = 1
    max_count = 1e12     # the log-gamma differences lose precision above (spurious changes)

    @property
    def logml(self) -> Any:
        return compiled(negbin_logml)

    @property
    def cost(self) -> Any:
        return compiled(negbin_cost)

    def options(self) -> dict[str, Any]:
        return {"size": "estimate"}

    def prepare(self, y: np.ndarray, exposure: np.ndarray, *,
                prior: dict[str, float] | None = None, size: Any = "estimate",
                **options: Any) -> list[Prepared]:
        from ...errors import InputError

        p = prior_options(prior, ("shape", "rate_mean"), self.name)
        obs = np.isfinite(y)
        rate = p.get("rate_mean", (float(np.sum(y[obs])) + 0.5) / float(np.sum(exposure[obs])))
        shape = p.get("shape", 1.0)
        if size in (None, "estimate"):
            sizes = SIZE_GRID
        else:
            try:
                sizes = np.array([float(size)])
            except (TypeError, ValueError):
                sizes = np.array([np.nan])
            if not (np.isfinite(sizes[0]) and sizes[0] > 0):
                raise InputError(f"negative binomial `size` must be a positive number or "
                                 f"'estimate'; received {size!r}.")
        e = np.where(obs, exposure, 0.0)
        yy = np.where(obs, y, 0.0)
        scaled = sizes[:, None] * e[None, :]                       # (nodes, n)
        # the terms of the likelihood that depend on the size but not on the segmentation
        # (lgamma(y + r e) - lgamma(r e)) weigh the nodes against each other
        log_w = (np.sum(special.gammaln(yy[obs] + scaled[:, obs])
                        - special.gammaln(scaled[:, obs]), axis=1) - np.log(sizes.size))
        stats = np.zeros((sizes.size, y.shape[0] + 1, 2))
        np.cumsum(scaled, axis=1, out=stats[:, 1:, 0])
        stats[:, 1:, 1] = np.cumsum(yy)
        a = 1.0 + shape * sizes / rate
        params = np.column_stack([a, np.full(sizes.size, shape),
                                  special.gammaln(a + shape) - special.gammaln(a)
                                  - special.gammaln(shape)])
        params = np.ascontiguousarray(np.hstack([params, _tables(a, shape, sizes, e, yy)]))
        return [Prepared(stats[j], params[j], float(log_w[j]), {"size": float(sizes[j])})
                for j in range(sizes.size)]

    def describe(self, node: Prepared, y: np.ndarray, exposure: np.ndarray,
                 starts: np.ndarray, ends: np.ndarray, level: float) -> SegmentSummary:
        st, (a0, b0) = node.stats, node.params[:2]
        r = node.info["size"]
        a = a0 + st[ends, 0] - st[starts, 0]
        b = b0 + st[ends, 1] - st[starts, 1]
        # lambda / r ~ BetaPrime(b, a)
        mean = r * np.where(a > 1, b / np.maximum(a - 1, 1e-300), np.inf)
        sd = r * np.where(a > 2, np.sqrt(b * (a + b - 1)
                                        / np.maximum((a - 2) * (a - 1) ** 2, 1e-300)), np.inf)
        lo_q, hi_q = 0.5 - level / 2.0, 0.5 + level / 2.0
        u_lo, u_hi = special.betaincinv(b, a, lo_q), special.betaincinv(b, a, hi_q)
        return level_summary(y.shape[0], starts, ends, mean, sd, r * u_lo / (1 - u_lo),
                             r * u_hi / (1 - u_hi))
