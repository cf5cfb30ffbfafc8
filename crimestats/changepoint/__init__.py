"""Change-point detection and attribution of changes to incidence, reporting or recording.

* `detect` — change points of one series: exact Bayesian product-partition recursion
  (posterior probability of a change at each time) or PELT, with Poisson, negative binomial
  and normal segment models, exposure and seasonality.
* [`detect_many`][detect_many] — all forces × offences in one call, with a change shared by every
  series (a national recording-standard change) tested against local changes.
* [`attribute`][attribute] — how much of a change in recorded crime is incidence (from the survey),
  reporting or recording (from control offences), with posterior probabilities.
"""

from __future__ import annotations

from ._results import ChangepointResult
from .attribution import AttributionResult, attribute
from .detect import detect
from .many import ManyChangepointResult, detect_many
from .seasonal import seasonal_factors
from .segments import estimate_size, robust_noise_sd

__all__ = [
    "AttributionResult",
    "attribute",
    "ChangepointResult",
    "detect",
    "detect_many",
    "ManyChangepointResult",
    "estimate_size",
    "robust_noise_sd",
    "seasonal_factors",
]
