"""Choosing a registered method, checking its options and fitting one capture table."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._options import MULTIPLE_SYSTEMS
from .._progress import show_progress
from .._validate import check_choice, check_level
from ..errors import InputError
from ._tables import CaptureTable, diagnose, warn_about
from .methods import REGISTRY, FitOptions, Method, MethodFit

__all__ = ["resolve_method", "fit_options", "fit_table"]


def resolve_method(method: str) -> Method:
    """The registered method called ``method`` (or an alias of it)."""
    return REGISTRY[MULTIPLE_SYSTEMS["method"].check(method)]


def fit_options(spec: Method, *, interval: str | None, level: float, pthresh: float,
                n_boot: int, n_classes: int, chains: int, burn: int, draws: int, thin: int,
                delta: float | None, max_missing: float | None, grid_size: int,
                theta: float | None, progress: bool | None = False) -> FitOptions:
    """Check the options of a fit with ``spec`` and bundle them.

    ``progress`` (None: only on a terminal) is resolved here to a plain bool.
    """
    level = check_level(level)
    interval = spec.intervals[0] if interval is None else interval
    interval = check_choice(interval, "interval", spec.intervals)
    if not isinstance(pthresh, (int, float)) or not 0.0 <= float(pthresh) < 1.0:
        raise InputError(f"`pthresh` must be in [0, 1); received {pthresh!r}.")
    for name, value in (("n_boot", n_boot), ("n_classes", n_classes), ("chains", chains),
                        ("draws", draws), ("thin", thin), ("grid_size", grid_size)):
        _whole(name, value, minimum=1)
    _whole("burn", burn, minimum=0)
    if grid_size < 2:
        raise InputError(f"`grid_size` must be at least 2; received {grid_size!r}.")
    for name, value in (("delta", delta), ("max_missing", max_missing), ("theta", theta)):
        if value is not None and not (isinstance(value, (int, float))
                                      and np.isfinite(value) and value > 0):
            raise InputError(f"`{name}` must be a positive number; received {value!r}.")
    return FitOptions(interval=interval, level=level, pthresh=float(pthresh),
                      n_boot=int(n_boot), n_classes=int(n_classes), chains=int(chains),
                      burn=int(burn), draws=int(draws), thin=int(thin), delta=delta,
                      max_missing=max_missing, grid_size=int(grid_size), theta=theta,
                      progress=show_progress(progress))


def _whole(name: str, value: Any, *, minimum: int) -> None:
    ok = isinstance(value, (int, np.integer, float)) and np.isfinite(value) \
        and int(value) == value and value >= minimum
    if not ok:
        what = "a positive" if minimum == 1 else "a non-negative"
        raise InputError(f"`{name}` must be {what} whole number; received {value!r}.")


def fit_table(spec: Method, tab: CaptureTable, options: FitOptions,
              rng: np.random.Generator, *, warn: bool = True) -> MethodFit:
    """Fit one validated capture table with ``spec``; diagnostics of the table included."""
    diag = diagnose(tab)
    if warn:
        warn_about(diag)
    if diag["empty_lists"]:
        raise InputError(
            f"List(s) {diag['empty_lists']} hold no cases; remove them before estimating.")
    t = tab.n_lists
    if t < spec.min_lists:
        raise InputError(
            f"method={spec.name!r} needs at least {spec.min_lists} lists (heterogeneity "
            f"cannot be told from dependence with fewer); the table has {t}.")
    if t > spec.max_lists:
        raise InputError(
            f"method={spec.name!r} enumerates every decomposable graph and supports at most "
            f"{spec.max_lists} lists; the table has {t}. Use method='bayes'.")
    return spec.fit(tab, options, rng, diag)
