"""Normal segments where only the mean changes, with the noise variance fixed.

$y_t \\sim N(\\mu, \\hat\\sigma^2)$ with $\\hat\\sigma$ the robust noise scale from first
differences and, on the standardised scale $z = (y - \\mathrm{median}(y))/\\hat\\sigma$,
$\\mu \\sim N(0, \\tau^2)$ with $\\tau^2 = \\max(1, \\mathrm{var}(z))$ (``prior={"tau2": ...}``).
PELT cost: the residual sum of squares on that scale.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from ._common import compiled, cumulative, level_summary, prior_options
from .base import Prepared, SegmentModel, SegmentSummary
from .normal import standardise

__all__ = ["NormalMeanSegments"]


def normal_mean_logml(prm, st, s, t):
    """Log marginal likelihood of (s, t] with unit noise variance and mean ~ N(0, tau2)."""
    e = st[t, 0] - st[s, 0]
    y = st[t, 1] - st[s, 1]
    s2 = st[t, 2] - st[s, 2]
    tau2 = prm[0]
    d = 1.0 + e * tau2
    return -0.5 * e * math.log(2.0 * math.pi) - 0.5 * s2 - 0.5 * math.log(d) + 0.5 * tau2 * y * y / d


def normal_mean_cost(prm, st, s, t):
    """Residual sum of squares of (s, t] about its mean."""
    e = st[t, 0] - st[s, 0]
    if e <= 0.0:
        return 0.0
    y = st[t, 1] - st[s, 1]
    return (st[t, 2] - st[s, 2]) - y * y / e


class NormalMeanSegments(SegmentModel):
    """Real values whose mean changes at each change point (noise variance fixed)."""

    name = "normal_mean"
    data = "real"
    changes = "mean (independent normal errors of fixed variance)"
    diffparam = 1

    @property
    def logml(self) -> Any:
        return compiled(normal_mean_logml)

    @property
    def cost(self) -> Any:
        return compiled(normal_mean_cost)

    def prepare(self, y: np.ndarray, exposure: np.ndarray, *,
                prior: dict[str, float] | None = None, **options: Any) -> list[Prepared]:
        p = prior_options(prior, ("tau2",), self.name)
        z, loc, scale = standardise(y)
        obs = np.isfinite(z)
        zz = np.where(obs, z, 0.0)
        st = cumulative(obs.astype(float), zz, zz * zz)
        tau2 = p.get("tau2", max(1.0, float(np.var(z[obs]))))
        return [Prepared(st, np.array([tau2]), 0.0, {"loc": loc, "scale": scale})]

    def describe(self, node: Prepared, y: np.ndarray, exposure: np.ndarray,
                 starts: np.ndarray, ends: np.ndarray, level: float) -> SegmentSummary:
        st, (tau2,) = node.stats, node.params
        loc, scale = node.info["loc"], node.info["scale"]
        e = st[ends, 0] - st[starts, 0]
        prec = 1.0 / tau2 + e
        mn = (st[ends, 1] - st[starts, 1]) / prec
        sd = np.sqrt(1.0 / prec)
        lo_q, hi_q = 0.5 - level / 2.0, 0.5 + level / 2.0
        return level_summary(y.shape[0], starts, ends, loc + scale * mn, scale * sd,
                             loc + scale * (mn + sd * special.ndtri(lo_q)),
                             loc + scale * (mn + sd * special.ndtri(hi_q)))
