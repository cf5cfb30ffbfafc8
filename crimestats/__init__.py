"""crimestats: crime statistics done properly.

Small-area estimation of victimisation ([`crimestats.sae`][crimestats.sae]), design-based direct estimates
from survey microdata ([`crimestats.survey`][crimestats.survey]), hidden demand and multiple-systems estimation
([`crimestats.hidden`][crimestats.hidden]), change points that tell a real rise in crime from a rise in
reporting or recording ([`crimestats.changepoint`][crimestats.changepoint]), with the calendars
they need ([`crimestats.calendar`][crimestats.calendar]: financial years, survey years, dates),
and comparisons of areas with areas like them — funnel plots, peer groups, ranks with
uncertainty and change tests ([`crimestats.compare`][crimestats.compare]).

``import crimestats`` is light: PyMC, PyTensor, ArviZ and matplotlib are imported only by the
functions that need them.
"""

from __future__ import annotations

from typing import Any

from .errors import (
    ConvergenceWarning,
    CrimestatsError,
    CrimestatsWarning,
    DataWarning,
    EstimationError,
    InputError,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "calendar",
    "ConvergenceWarning",
    "CrimestatsError",
    "CrimestatsWarning",
    "DataWarning",
    "EstimationError",
    "InputError",
]


def __getattr__(name: str) -> Any:
    """``crimestats.calendar`` is imported on first use (it needs pandas)."""
    if name == "calendar":
        import importlib

        return importlib.import_module(".calendar", __name__)
    raise AttributeError(f"module 'crimestats' has no attribute {name!r}")
