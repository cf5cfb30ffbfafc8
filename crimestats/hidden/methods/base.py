"""What every multiple-systems method is: a small object with a name and a ``fit``.

A method takes a validated capture table (``CaptureTable``) and the fit options
(``FitOptions``) and returns a ``MethodFit``. Methods are registered by name in ``REGISTRY``;
the front-end (``multiple_systems``), the sensitivity table and the command line read their
choices from it. Adding a method is one file plus its registration
(an import in ``methods/__init__.py``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from .._tables import CaptureTable

__all__ = ["FitOptions", "Method", "MethodFit", "REGISTRY", "register", "method_names",
           "wald_total"]


@dataclasses.dataclass(frozen=True)
class FitOptions:
    """Options shared by the methods (each uses the ones it needs)."""

    interval: str
    level: float = 0.95
    pthresh: float = 0.02
    n_boot: int = 1000
    n_classes: int = 10
    chains: int = 4
    burn: int = 5000
    draws: int = 1000
    thin: int = 5
    delta: float | None = None
    max_missing: float | None = None
    grid_size: int = 2001
    theta: float | None = None
    progress: bool = False  # progress bar of long runs (LCMCR chains, bootstrap)


@dataclasses.dataclass(frozen=True)
class MethodFit:
    """The headline numbers of one method on one capture table.

    ``total``, ``lower``, ``upper`` and ``sd`` are in persons; ``draws`` holds bootstrap
    replicates or posterior draws of the total (None for Wald intervals, which instead give
    ``dark_log`` and ``dark_log_se``, the log number missed and its standard error, used to
    combine strata).
    """

    total: float
    lower: float
    upper: float
    sd: float
    observed: float
    diagnostics: dict[str, Any]
    terms: tuple[str, ...] = ()
    draws: np.ndarray | None = None
    dark_log: float | None = None
    dark_log_se: float | None = None


class Method:
    """Base class of a multiple-systems method.

    Attributes
    ----------
    name : str
        Registry key (``method=`` in ``multiple_systems``).
    label : str
        Name in tables (e.g. Rcapture's ``"Mth Chao (LB)"``).
    intervals : tuple of str
        Interval types it offers, the default first.
    models_heterogeneity : bool
        Whether it represents capture probabilities that differ between people.
    min_lists : int
        Fewest lists it needs.
    quick : bool
        Whether it belongs in the default sensitivity table (closed form or exact, no long
        sampling).
    reference : bool
        Whether its fit is the one the sensitivity table measures the evidence of
        heterogeneity against (the first such method fitted).
    chains : bool
        Whether its draws are Markov chains ``(chains, draws)``, kept as ArviZ data.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    intervals: ClassVar[tuple[str, ...]] = ("wald",)
    models_heterogeneity: ClassVar[bool] = False
    min_lists: ClassVar[int] = 2
    max_lists: ClassVar[int] = 15
    quick: ClassVar[bool] = True
    reference: ClassVar[bool] = False
    chains: ClassVar[bool] = False
    description: ClassVar[str] = ""
    rank: ClassVar[int] = 100  # position in tables and option lists

    def fit(self, tab: CaptureTable, options: FitOptions, rng: np.random.Generator,
            diagnostics: dict[str, Any]) -> MethodFit:
        """Fit one capture table (``diagnostics``: the table's own, to extend)."""
        raise NotImplementedError


REGISTRY: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` to the registry under ``method.name``."""
    if method.name in REGISTRY:
        raise ValueError(f"method {method.name!r} is registered twice")
    REGISTRY[method.name] = method
    return method


def method_names() -> tuple[str, ...]:
    """Registered method names, in the order of tables and option lists."""
    return tuple(sorted(REGISTRY, key=lambda name: (REGISTRY[name].rank, name)))


def wald_total(observed: float, dark_log: float, dark_log_se: float, level: float
               ) -> tuple[float, float]:
    """Interval $n + \\exp(\\hat\\theta_0 \\pm z\\,\\widehat{se})$ for the total."""
    from scipy.special import ndtri

    z = float(ndtri(0.5 + level / 2.0))
    with np.errstate(over="ignore"):
        return (observed + float(np.exp(dark_log - z * dark_log_se)),
                observed + float(np.exp(dark_log + z * dark_log_se)))
