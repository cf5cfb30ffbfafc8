"""GLMM families: one module per likelihood, registered by name in `FAMILIES`.

To add a family, write a module with a [`Family`][crimestats.sae.glmm.families.base.Family]
subclass and register an instance here.
"""

from __future__ import annotations

from .base import CompiledFamily, Family
from .binomial import Binomial
from .poisson import Poisson

__all__ = ["FAMILIES", "CompiledFamily", "Family", "family", "register"]

FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add ``family`` to `FAMILIES` under its name."""
    if family.name in FAMILIES:
        raise ValueError(f"family {family.name!r} is registered twice")
    FAMILIES[family.name] = family
    return family


def family(name: str) -> Family:
    """The registered family called ``name``."""
    return FAMILIES[name]


register(Binomial())
register(Poisson())
