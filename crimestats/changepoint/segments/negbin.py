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

from ._common import compiled, cumulative, level_summary, prior_options
from .base import Prepared, SegmentModel, SegmentSummary

__all__ = ["NegBinSegments", "SIZE_GRID"]

#: Grid of negative binomial sizes integrated over when the size is not given (1e8 = Poisson).
SIZE_GRID = np.r_[np.geomspace(1.0, 1e4, 13), 1e8]


def negbin_logml(prm, st, s, t):
    """Negative binomial–beta log marginal likelihood of (s, t] (``st[:, 0]`` = size × exposure)."""
    e = st[t, 0] - st[s, 0]
    y = st[t, 1] - st[s, 1]
    a = prm[0]
    b = prm[1]
    # prm[2] = lgamma(a + b) - lgamma(a) - lgamma(b), a constant of the node
    return math.lgamma(a + e) + math.lgamma(b + y) - math.lgamma(a + e + b + y) + prm[2]


def _beta_prior(a: float, b: float) -> np.ndarray:
    """Kernel parameters ``(a, b, log 1/B(a, b))`` of the beta prior of a segment's $p$."""
    return np.array([a, b, special.gammaln(a + b) - special.gammaln(a) - special.gammaln(b)])


def negbin_cost(prm, st, s, t):
    """Profile cost of NB(size, p) with ``p = E / (E + Y)`` (``E`` = size × exposure)."""
    e = st[t, 0] - st[s, 0]
    y = st[t, 1] - st[s, 1]
    if y <= 0.0:
        return 0.0
    return -2.0 * (e * math.log(e / (e + y)) + y * math.log(y / (e + y)))


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
        # the terms of the likelihood that depend on the size but not on the segmentation
        # (lgamma(y + r e) - lgamma(r e)) weigh the nodes against each other
        log_w = [float(np.sum(special.gammaln(yy[obs] + r * e[obs]) - special.gammaln(r * e[obs])))
                 - np.log(sizes.size) for r in sizes]
        return [Prepared(cumulative(r * e, yy), _beta_prior(1.0 + shape * r / rate, shape),
                         lw, {"size": float(r)}) for r, lw in zip(sizes, log_w, strict=True)]

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
