"""Normal segments: the mean and the variance change (normal–inverse-gamma prior).

$y_t \\sim N(\\mu, \\sigma^2)$ with both changing between segments; on the standardised scale
$z = (y - \\mathrm{median}(y))/\\hat\\sigma$ ($\\hat\\sigma$ the robust noise scale from first
differences) the prior is $\\mu \\mid \\sigma^2 \\sim N(0, \\sigma^2/\\kappa_0)$,
$\\sigma^2 \\sim \\mathrm{IG}(\\alpha_0, \\beta_0)$ with $\\kappa_0 = 1/\\max(1, \\mathrm{var}(z))$
(prior spread of segment means equal to the spread of the data) and
$\\alpha_0 = \\beta_0 = 1$ (``prior={"kappa0", "alpha0", "beta0"}``). Independent errors: for
series with trends or autocorrelation use ``"trend"``. PELT cost:
$L(\\log 2\\pi + \\log\\hat\\sigma^2 + 1)$ with $\\hat\\sigma^2$ floored at 0.01 (R uses
$10^{-11}$, which lets two tied values form a segment of their own).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from ._common import compiled, cumulative, level_summary, prior_options
from .base import Prepared, SegmentModel, SegmentSummary
from .scale import robust_noise_sd

__all__ = ["NormalSegments", "standardise"]

_LOG_2PI = math.log(2.0 * math.pi)


def standardise(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``z = (y - loc) / scale`` with the median and the robust noise SD; NaN kept."""
    obs = np.isfinite(y)
    loc = float(np.median(y[obs]))
    scale = robust_noise_sd(y[obs])
    return (y - loc) / scale, loc, scale


def normal_logml(prm, st, s, t):
    """Normal–inverse-gamma log marginal likelihood of (s, t] (``st`` = count, sum, sum sq)."""
    e = st[t, 0] - st[s, 0]
    if e <= 0.0:
        return 0.0
    y = st[t, 1] - st[s, 1]
    m0 = prm[0]
    k0 = prm[1]
    a0 = prm[2]
    b0 = prm[3]
    ybar = y / e
    ss = (st[t, 2] - st[s, 2]) - y * ybar
    if ss < 0.0:
        ss = 0.0
    kn = k0 + e
    an = a0 + 0.5 * e
    bn = b0 + 0.5 * ss + 0.5 * k0 * e * (ybar - m0) ** 2 / kn
    return (math.lgamma(an) - math.lgamma(a0) + a0 * math.log(b0) - an * math.log(bn)
            + 0.5 * math.log(k0 / kn) - 0.5 * e * math.log(2.0 * math.pi))


def normal_cost(prm, st, s, t):
    """Twice the negative maximised normal log-likelihood (mean and variance) of (s, t]."""
    e = st[t, 0] - st[s, 0]
    if e <= 0.0:
        return 0.0
    y = st[t, 1] - st[s, 1]
    sig = ((st[t, 2] - st[s, 2]) - y * y / e) / e
    if sig <= 1e-2:
        sig = 1e-2
    return e * (math.log(2.0 * math.pi) + math.log(sig) + 1.0)


class NormalSegments(SegmentModel):
    """Real values whose mean and variance change at each change point."""

    name = "normal"
    data = "real"
    changes = "mean and variance (independent normal errors)"
    diffparam = 2

    @property
    def logml(self) -> Any:
        return compiled(normal_logml)

    @property
    def cost(self) -> Any:
        return compiled(normal_cost)

    def prepare(self, y: np.ndarray, exposure: np.ndarray, *,
                prior: dict[str, float] | None = None, **options: Any) -> list[Prepared]:
        p = prior_options(prior, ("kappa0", "alpha0", "beta0"), self.name)
        z, loc, scale = standardise(y)
        obs = np.isfinite(z)
        spread = max(1.0, float(np.var(z[obs])))
        zz = np.where(obs, z, 0.0)
        st = cumulative(obs.astype(float), zz, zz * zz)
        params = np.array([0.0, p.get("kappa0", 1.0 / spread), p.get("alpha0", 1.0),
                           p.get("beta0", 1.0)])
        return [Prepared(st, params, 0.0, {"loc": loc, "scale": scale})]

    def describe(self, node: Prepared, y: np.ndarray, exposure: np.ndarray,
                 starts: np.ndarray, ends: np.ndarray, level: float) -> SegmentSummary:
        st, (m0, k0, a0, b0) = node.stats, node.params
        loc, scale = node.info["loc"], node.info["scale"]
        e = st[ends, 0] - st[starts, 0]
        tot = st[ends, 1] - st[starts, 1]
        ybar = tot / np.maximum(e, 1e-300)
        ss = np.maximum((st[ends, 2] - st[starts, 2]) - tot * ybar, 0.0)
        kn, an = k0 + e, a0 + 0.5 * e
        mn = (k0 * m0 + tot) / kn
        bn = b0 + 0.5 * ss + 0.5 * k0 * e * (ybar - m0) ** 2 / kn
        t_scale = np.sqrt(bn / (an * kn))
        lo_q, hi_q = 0.5 - level / 2.0, 0.5 + level / 2.0
        lo = mn + t_scale * special.stdtrit(2 * an, lo_q)
        hi = mn + t_scale * special.stdtrit(2 * an, hi_q)
        sd = np.where(an > 1, t_scale * np.sqrt(an / np.maximum(an - 1, 1e-300)), np.inf)
        return level_summary(y.shape[0], starts, ends, loc + scale * mn, scale * sd,
                             loc + scale * lo, loc + scale * hi)
