"""Chao's lower bound as a log-linear model: $M_h$ Chao (LB) and $M_{th}$ Chao (LB)."""

from __future__ import annotations

from .base import register
from .heterogeneity import HeterogeneityModel

for _time in (False, True):
    register(HeterogeneityModel(
        "chao", time_effects=_time, label="Chao (LB)",
        description="Chao's lower bound: a floor under any heterogeneity (Rcapture)"))
