"""Variance-component methods of the Fay–Herriot model, registered by name.

`VARIANCE_METHODS` maps each ``method=`` of `fay_herriot` (and `fay_herriot_many`) except
``"hb"`` to its method object. To add a method, write a module with a
[`VarianceMethod`][crimestats.sae.area_level.variance.base.VarianceMethod] subclass and register
an instance here.
"""

from __future__ import annotations

from .base import Moments, VarianceMethod, solve
from .fh import MomentMethod
from .ml import MaximumLikelihood
from .reml import RestrictedMaximumLikelihood

__all__ = ["VARIANCE_METHODS", "Moments", "VarianceMethod", "method_names", "register",
           "solve"]

VARIANCE_METHODS: dict[str, VarianceMethod] = {}


def register(method: VarianceMethod) -> VarianceMethod:
    """Add ``method`` to `VARIANCE_METHODS` under its name."""
    if method.name in VARIANCE_METHODS:
        raise ValueError(f"variance method {method.name!r} is registered twice")
    VARIANCE_METHODS[method.name] = method
    return method


def method_names() -> tuple[str, ...]:
    """The registered names, in registration order."""
    return tuple(VARIANCE_METHODS)


register(RestrictedMaximumLikelihood())
register(MaximumLikelihood())
register(MomentMethod())
