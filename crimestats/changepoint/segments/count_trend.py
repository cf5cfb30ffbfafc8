"""Trend segments for counts: a level or a log-linear trend of the rate, overdispersion, AR(1).

For monthly or annual counts large enough to be read on the log scale (the default for counts
averaging 10 or more a period): the working value is $x_t = \\log\\{(y_t + \\tfrac12)/e_t\\}$
($e_t$ the exposure, including seasonal factors) and, within a segment,
$x_t = \\beta_0 + \\beta_1\\tau_t + \\varepsilon_t$ with $\\mathrm{var}(\\varepsilon_t) \\propto
v_t = 1/(\\hat\\mu_t + \\tfrac12) + 1/\\hat r$: Poisson noise on the log scale plus
overdispersion (negative binomial size $\\hat r$ read from first differences), $\\hat\\mu_t$ a
running median of the counts; the scale of the noise is each segment's own (so overdispersion
is estimated jointly with the segmentation, the seasonal factors and the trend), and the
standardised errors are AR(1), $\\phi$ integrated over a grid. This is a Gaussian
approximation on the log scale — exact inference given it (see
[`crimestats.changepoint._ar_trend`][crimestats.changepoint._ar_trend]) — checked against
negative binomial series in the validation pages. Segment levels are reported as rates per
unit of exposure (posterior medians: $e^{\\text{level}}$), slopes as relative change per period.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import prior_options
from .base import Prepared
from .log_trend import LogTrendSegments
from .scale import difference_scale, estimate_size
from .trend import ALPHA0, trend_nodes

__all__ = ["CountTrendSegments"]


def log_scale(y: np.ndarray, exposure: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Working values $\\log((y + 1/2)/e)$ and their relative variances $v_t$ (median 1)."""
    obs = np.isfinite(y)
    x = np.where(obs, np.log((np.where(obs, y, 0.0) + 0.5) / exposure), np.nan)
    rate = pd.Series(np.where(obs, y, np.nan) / exposure).rolling(
        5, center=True, min_periods=1).median().to_numpy()
    rate = np.where(np.isfinite(rate), rate, np.nanmedian(y[obs] / exposure[obs]))
    size = estimate_size(np.where(obs, y, np.nan), exposure)
    v = 1.0 / (rate * exposure + 0.5) + (0.0 if not np.isfinite(size) else 1.0 / size)
    return x, v / np.median(v[obs])


class CountTrendSegments(LogTrendSegments):
    """Counts: level and trend of the log rate change at change points; AR(1) errors.

    The trend engine and the log-scale summaries of ``"log_trend"``, with the working values
    and weights of `log_scale`.
    """

    name = "count_trend"
    data = "counts"
    changes = "level or trend of the rate (counts on the log scale, overdispersed, " \
              "autocorrelated)"

    def prepare(self, y: np.ndarray, exposure: np.ndarray, *,
                prior: dict[str, float] | None = None, ar: Any = "estimate",
                prior_any_change: float = 0.5, **options: Any) -> list[Prepared]:
        p = prior_options(prior, ("alpha0",), self.name)
        x, v = log_scale(y, exposure)
        obs = np.isfinite(x)
        loc = float(np.median(x[obs]))
        idx = np.flatnonzero(obs)
        d = np.diff(x[idx]) / np.sqrt(v[idx[1:]] + v[idx[:-1]])
        spread = difference_scale(d)
        scale = spread if spread > 0 else max(float(np.std(x[obs])), 1e-3)
        z = (x - loc) / scale
        return trend_nodes(z, 1.0 / v, ar, max(p.get("alpha0", ALPHA0), 1.0 + 1e-9),
                           {"loc": loc, "scale": scale}, prior_any_change)
