"""Are we different from areas like us? Funnel plots, peer groups, ranks and change tests.

* [`funnel`][crimestats.compare.funnel] — rates, standardised ratios or proportions against
  exposure, with exact or over-dispersed control limits (Spiegelhalter 2005) and flags at
  95% / 99.8%.
"""

from __future__ import annotations

from ._dispersion import DISPERSION_ESTIMATORS, DispersionEstimator
from ._results import ChangeResult, FunnelResult, PeerComparisonResult, PeerGroups, RankResult
from ._scales import SCALES, Scale
from .change import COMPARISONS, change_test, change_tests
from .funnel import funnel
from .limits import FUNNEL_LIMITS, FunnelLimits, FunnelModel
from .peers import DEFAULT_FEATURES, compare_to_peers, most_similar
from .ranks import rank_uncertainty

__all__ = [
    "funnel",
    "FunnelResult",
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
    "FUNNEL_LIMITS",
    "FunnelLimits",
    "FunnelModel",
    "SCALES",
    "Scale",
    "DISPERSION_ESTIMATORS",
    "DispersionEstimator",
]
