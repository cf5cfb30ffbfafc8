"""Hidden demand: reporting rates, the dark figure, and multiple-systems estimation.

Two routes to "how much are we not seeing?":

* the **survey route** — [`reporting_rates`][crimestats.hidden.reporting.reporting_rates] from
  victimisation-survey incidents and [`dark_figure`][crimestats.hidden.dark_figure.dark_figure], which sets
  survey-estimated incidents against recorded crime;
* the **lists route** — [`multiple_systems`][crimestats.hidden.multiple_systems.multiple_systems]
  (capture-recapture) from the overlap of agencies' lists of known victims, and
  [`multiple_systems_sensitivity`][crimestats.hidden.multiple_systems_sensitivity], which sets
  every method's total and interval side by side.
"""

from __future__ import annotations

from .dark_figure import dark_figure
from .multiple_systems import multiple_systems
from .reporting import reporting_rates
from .results import (
    DarkFigureResult,
    MultipleSystemsResult,
    ReportingRateResult,
    SensitivityResult,
)
from .sensitivity import multiple_systems_sensitivity

__all__ = [
    "DarkFigureResult",
    "MultipleSystemsResult",
    "ReportingRateResult",
    "SensitivityResult",
    "dark_figure",
    "multiple_systems",
    "multiple_systems_sensitivity",
    "reporting_rates",
]
