"""Design-based direct estimates from survey microdata (prevalence, incidence rates, variances).

[`direct_estimates`][direct_estimates] turns respondent-level data (one row per respondent, with weights,
strata and PSUs) into weighted estimates per area (and period) with Taylor-linearised sampling
variances, design effects and flags for areas whose variance is unusable;
[`smooth_variances`][smooth_variances] replaces those variances by a generalised variance function so that
the estimates can go straight into a Fay–Herriot model.
"""

from __future__ import annotations

from .direct import direct_estimates
from .gvf import smooth_variances
from .results import SurveyEstimates

__all__ = ["direct_estimates", "smooth_variances", "SurveyEstimates"]
