"""Hidden demand: reporting rates, the dark figure, and multiple-systems estimation.

Two routes to "how much are we not seeing?":

* the **survey route** — [`reporting_rates`][reporting_rates] from victimisation-survey incidents and
  [`dark_figure`][dark_figure], which sets survey-estimated incidents against recorded crime;
* the **lists route** — [`multiple_systems`][multiple_systems] (capture-recapture) from the overlap of
  agencies' lists of known victims.
"""

from __future__ import annotations

from ._results import DarkFigureResult, MultipleSystemsResult, ReportingRateResult
from .dark_figure import dark_figure
from .multiple_systems import multiple_systems
from .reporting import reporting_rates

__all__ = [
    "DarkFigureResult",
    "MultipleSystemsResult",
    "ReportingRateResult",
    "dark_figure",
    "multiple_systems",
    "reporting_rates",
]
