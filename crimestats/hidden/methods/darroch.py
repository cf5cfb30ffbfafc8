"""Darroch's heterogeneity, $h(k) = k^2/2$: $M_h$ Darroch and $M_{th}$ Darroch."""

from __future__ import annotations

from .base import register
from .heterogeneity import HeterogeneityModel

for _time in (False, True):
    register(HeterogeneityModel(
        "darroch", time_effects=_time, label="Darroch",
        description="Darroch's normal heterogeneity, h(k) = k^2 / 2 (Rcapture)"))
