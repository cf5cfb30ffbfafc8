"""Poisson segments: the rate changes, with a gamma prior integrated out.

$y_t \\sim \\mathrm{Poisson}(e_t\\lambda)$ with exposure $e_t$ (population, days in the month,
seasonal factor; 1 when not given) and $\\lambda \\sim \\mathrm{Gamma}(a, b)$ with shape
$a = 1$ (``prior={"shape": ...}``) and mean $a/b = \\bar\\lambda = (\\sum y + 0.5)/\\sum e$,
the rate of the whole series (``prior={"rate_mean": ...}``): the segment rate has a prior
coefficient of variation of 1 whatever the scale of the counts. The PELT cost is R
``changepoint``'s Poisson cost, $C = 2Y(\\log E - \\log Y)$ ($Y$ the segment total, $E$ its
exposure; 0 when $Y = 0$).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from ._common import compiled, cumulative, level_summary, prior_options
from .base import Prepared, SegmentModel, SegmentSummary

__all__ = ["PoissonSegments", "pearson_dispersion"]


def poisson_logml(prm, st, s, t):
    """Poisson–gamma log marginal likelihood of (s, t] (terms fixed by the data dropped)."""
    e = st[t, 0] - st[s, 0]
    y = st[t, 1] - st[s, 1]
    a = prm[0]
    b = prm[1]
    return math.lgamma(a + y) - math.lgamma(a) + a * math.log(b) - (a + y) * math.log(b + e)


def poisson_cost(prm, st, s, t):
    """R ``changepoint`` Poisson cost; ``prm[2] == 1`` when every exposure is 1."""
    e = st[t, 0] - st[s, 0]
    y = st[t, 1] - st[s, 1]
    if y <= 0.0:
        return 0.0
    loge = math.log(t - s) if prm[2] == 1.0 else math.log(e)
    return 2.0 * y * (loge - math.log(y))


class PoissonSegments(SegmentModel):
    """Counts whose Poisson rate changes at each change point."""

    name = "poisson"
    data = "counts"
    changes = "rate (Poisson counts, no overdispersion)"
    diffparam = 1

    @property
    def logml(self) -> Any:
        return compiled(poisson_logml)

    @property
    def cost(self) -> Any:
        return compiled(poisson_cost)

    def prepare(self, y: np.ndarray, exposure: np.ndarray, *,
                prior: dict[str, float] | None = None, **options: Any) -> list[Prepared]:
        p = prior_options(prior, ("shape", "rate_mean"), self.name)
        obs = np.isfinite(y)
        rate = p.get("rate_mean", (float(np.sum(y[obs])) + 0.5) / float(np.sum(exposure[obs])))
        shape = p.get("shape", 1.0)
        unit = float(np.all(exposure[obs] == 1.0) and obs.all())
        st = cumulative(np.where(obs, exposure, 0.0), np.where(obs, y, 0.0))
        return [Prepared(st, np.array([shape, shape / rate, unit]))]

    def describe(self, node: Prepared, y: np.ndarray, exposure: np.ndarray,
                 starts: np.ndarray, ends: np.ndarray, level: float) -> SegmentSummary:
        st, (a, b, _) = node.stats, node.params
        shape = a + st[ends, 1] - st[starts, 1]
        rate = b + st[ends, 0] - st[starts, 0]
        lo_q, hi_q = 0.5 - level / 2.0, 0.5 + level / 2.0
        return level_summary(y.shape[0], starts, ends, shape / rate, np.sqrt(shape) / rate,
                             special.gammaincinv(shape, lo_q) / rate,
                             special.gammaincinv(shape, hi_q) / rate)


def pearson_dispersion(y: np.ndarray, e: np.ndarray, cps: list[int]) -> float:
    """Pearson $\\chi^2$ over its degrees of freedom within the segments (Poisson counts).

    NaN when fewer than 10 degrees of freedom (too few to judge). `detect` warns above 2.
    """
    bounds = [0, *cps, y.shape[0]]
    num = 0.0
    dof = 0
    for s, t in zip(bounds[:-1], bounds[1:], strict=True):
        yy, ee = y[s:t], e[s:t]
        ok = np.isfinite(yy)
        if ok.sum() < 2:
            continue
        rate = yy[ok].sum() / ee[ok].sum()
        mu = np.maximum(rate * ee[ok], 1e-12)
        num += float(np.sum((yy[ok] - mu) ** 2 / mu))
        dof += int(ok.sum()) - 1
    return num / dof if dof >= 10 else float("nan")
