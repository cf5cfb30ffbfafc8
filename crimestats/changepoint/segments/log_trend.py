r"""Trend segments for positive real values on the log scale: rates, indices, prices.

The ``"trend"`` model applied to $\log y$: within a segment the log level is constant, a line
or a curve, the errors are AR(1) and relative (a 5% wobble is 5% whatever the level), and a
change is a jump in level or a change of growth rate. Segment levels are reported on the
data's scale (posterior medians, $e^{\text{level}}$), slopes as relative change per period.
``likelihood="auto"`` picks it for positive values that are not whole numbers (crime rates per
1,000 residents, indices): their changes and noise are proportional to the level.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._paths import line_summary
from .base import Prepared, SegmentSummary
from .trend import TrendSegments

__all__ = ["LogTrendSegments"]


class LogTrendSegments(TrendSegments):
    """Positive real values: level and growth of the log series change at change points."""

    name = "log_trend"
    data = "positive"
    changes = "level or growth rate (positive values on the log scale, autocorrelated errors)"

    def prepare(self, y: np.ndarray, exposure: np.ndarray, **kwargs: Any) -> list[Prepared]:
        from ...errors import InputError

        obs = np.isfinite(y)
        if np.any(y[obs] <= 0):
            raise InputError("likelihood 'log_trend' needs positive values; the series has zero "
                             "or negative values. Use likelihood='trend' (real values).")
        return super().prepare(np.where(obs, np.log(np.where(obs, y, 1.0)), np.nan), exposure,
                               **kwargs)

    def describe(self, node: Prepared, y: np.ndarray, exposure: np.ndarray,
                 starts: np.ndarray, ends: np.ndarray, level: float) -> SegmentSummary:
        loc, scale = node.info["loc"], node.info["scale"]
        return line_summary(node, starts, ends, level,
                            to_data=lambda v: np.exp(loc + scale * v),
                            slope_per_period=lambda b: np.expm1(scale * b / y.shape[0]),
                            sd_to_data=lambda v, sd: np.exp(loc + scale * v) * scale * sd)
