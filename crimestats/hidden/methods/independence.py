"""Independence ($M_t$): main effects only, the lists independent and everyone alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .base import FitOptions, Method, MethodFit, register
from .loglinear import fit_loglinear

if TYPE_CHECKING:
    from .._tables import CaptureTable


class Independence(Method):
    """Poisson log-linear model with main effects only (Rcapture's $M_t$)."""

    name = "independence"
    rank = 0
    label = "Mt (independence)"
    intervals = ("wald", "bootstrap")
    reference = True
    description = "main effects only: lists independent, everyone equally catchable"

    def fit(self, tab: CaptureTable, options: FitOptions, rng: np.random.Generator,
            diagnostics: dict[str, Any]) -> MethodFit:
        return fit_loglinear(tab, options, rng, diagnostics, stepwise=False)


register(Independence())
