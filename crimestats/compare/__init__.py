"""Are we different from areas like us? Funnel plots, peer groups, ranks and change tests.

* [`funnel`][crimestats.compare.funnel] — rates, standardised ratios or proportions against
  exposure, with exact or over-dispersed control limits (Spiegelhalter 2005) and flags at
  95% / 99.8%; limit methods, scales and dispersion estimators are registries
  (`FUNNEL_LIMITS`, `SCALES`, `DISPERSION_ESTIMATORS`).
* [`most_similar`][crimestats.compare.most_similar] — each area's most similar areas on
  standardised characteristics (by default Census 2011 characteristics of the 43 police force
  areas; not the Home Office's Most Similar Groups, which can be passed in instead).
* [`compare_to_peers`][crimestats.compare.compare_to_peers] — an area's rate against its
  group's: rate ratio with interval, probability of being above the group.
* [`rank_uncertainty`][crimestats.compare.rank_uncertainty] — the posterior distribution of
  each area's rank from any small-area fit, with a warning when a league table would mislead.
* [`change_test`][crimestats.compare.change_test] and
  [`change_tests`][crimestats.compare.change_tests] — year-on-year and three-year changes in
  counts with over-dispersion, with the false-discovery rate controlled across series.

Everything here is closed-form or exact numerical integration; importing the package does not
load PyMC, ArviZ or matplotlib.
"""

from __future__ import annotations

from ._dispersion import DISPERSION_ESTIMATORS, DispersionEstimator
from ._scales import SCALES, Scale
from .change import COMPARISONS, change_test, change_tests
from .funnel import funnel
from .limits import FUNNEL_LIMITS, FunnelLimits, FunnelModel
from .peers import DEFAULT_FEATURES, compare_to_peers, most_similar
from .ranks import rank_uncertainty
from .results import ChangeResult, FunnelResult, PeerComparisonResult, PeerGroups, RankResult

__all__ = [
    "funnel",
    "FunnelResult",
    "FUNNEL_LIMITS",
    "FunnelLimits",
    "FunnelModel",
    "SCALES",
    "Scale",
    "DISPERSION_ESTIMATORS",
    "DispersionEstimator",
    "most_similar",
    "PeerGroups",
    "DEFAULT_FEATURES",
    "compare_to_peers",
    "PeerComparisonResult",
    "rank_uncertainty",
    "RankResult",
    "change_test",
    "change_tests",
    "ChangeResult",
    "COMPARISONS",
]
