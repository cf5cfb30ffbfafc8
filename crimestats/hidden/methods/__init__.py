"""Registry of multiple-systems methods: one module per method, registered on import.

``REGISTRY`` maps each name accepted by ``multiple_systems(method=...)`` to its method
object; the front-end, the sensitivity table, the command line and its JSON schema read their
choices from it (through the options table, `crimestats._options`, which also declares the
aliases). To add a method, write a module with a `Method` subclass that calls `register`, and
import it here.
"""

from __future__ import annotations

from ..._options import MULTIPLE_SYSTEMS
from . import chao, darroch, dga, gamma, independence, lcmcr, loglinear, poisson  # noqa: F401
from .base import REGISTRY, FitOptions, Method, MethodFit, method_names, register

#: Other names ``method=`` accepts, and the method each stands for.
ALIASES = dict(MULTIPLE_SYSTEMS["method"].aliases)

__all__ = ["ALIASES", "REGISTRY", "FitOptions", "Method", "MethodFit", "method_choices",
           "method_names", "register"]


def method_choices() -> tuple[str, ...]:
    """Every name ``method=`` accepts: the registered methods, then their aliases."""
    return MULTIPLE_SYSTEMS["method"].choices()
