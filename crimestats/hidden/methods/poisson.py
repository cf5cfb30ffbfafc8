"""Poisson heterogeneity, $h(k) = \\vartheta^k - 1$: $M_h$ Poisson2 and $M_{th}$ Poisson2."""

from __future__ import annotations

from .base import register
from .heterogeneity import HeterogeneityModel

for _time in (False, True):
    register(HeterogeneityModel(
        "poisson", time_effects=_time, label="Poisson2",
        description="Poisson heterogeneity, h(k) = theta^k - 1, theta = 2 (Rcapture)"))
