"""Gamma heterogeneity, $h(k) = \\log\\vartheta - \\log(\\vartheta + k)$: $M_h$/$M_{th}$ Gamma3.5."""

from __future__ import annotations

from .base import register
from .heterogeneity import HeterogeneityModel

for _time in (False, True):
    register(HeterogeneityModel(
        "gamma", time_effects=_time, label="Gamma3.5",
        description="Gamma heterogeneity, h(k) = log(theta) - log(theta + k), theta = 3.5 "
                    "(Rcapture)"))
