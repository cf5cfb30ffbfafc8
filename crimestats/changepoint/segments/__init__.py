"""Segment models: what the data in one segment look like and what changes at a change point.

Every model works with every search (the exact Bayesian recursion and PELT): see
[`base`][crimestats.changepoint.segments.base] for the contract. Registered models:

| name | data | what changes |
|---|---|---|
| ``"count_trend"`` | counts | level or trend of the rate (log scale, overdispersed, AR(1) errors) |
| ``"negbin"`` | counts | rate (negative binomial, overdispersion integrated out) |
| ``"poisson"`` | counts | rate (Poisson) |
| ``"log_trend"`` | positive values | level or growth rate of the log series (AR(1) errors) |
| ``"trend"`` | real values | level or trend (AR(1) errors) |
| ``"normal"`` | real values | mean and variance (independent errors) |
| ``"normal_mean"`` | real values | mean (independent errors, fixed variance) |

``likelihood="auto"`` (the default of `detect`) picks ``"count_trend"`` for counts averaging
10 or more a period, ``"negbin"`` for smaller counts, ``"log_trend"`` for positive values that
are not whole numbers (rates, indices) and ``"trend"`` for other real values.
"""

from __future__ import annotations

from .base import Prepared, SegmentModel, SegmentSummary, get_model, model_names, register
from .count_trend import CountTrendSegments
from .log_trend import LogTrendSegments
from .negbin import NegBinSegments
from .normal import NormalSegments
from .normal_mean import NormalMeanSegments
from .poisson import PoissonSegments
from .scale import estimate_size, robust_noise_sd
from .trend import TrendSegments

__all__ = ["Prepared", "SegmentModel", "SegmentSummary", "get_model", "model_names",
           "register", "estimate_size", "robust_noise_sd"]

for _model in (CountTrendSegments(), NegBinSegments(), PoissonSegments(), LogTrendSegments(),
               TrendSegments(), NormalSegments(), NormalMeanSegments()):
    register(_model)
