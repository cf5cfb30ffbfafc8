"""Hidden demand: reporting rates, the dark figure, and multiple-systems estimation.

Two routes to "how much are we not seeing?":

* the **survey route** — :func:`reporting_rates` from victimisation-survey incidents and
  :func:`dark_figure`, which sets survey-estimated incidents against recorded crime;
* the **lists route** — :func:`multiple_systems` (capture-recapture) from the overlap of
  agencies' lists of known victims.
"""

from __future__ import annotations

from ._results import MultipleSystemsResult
from .multiple_systems import multiple_systems

__all__ = [
    "MultipleSystemsResult",
    "multiple_systems",
]
