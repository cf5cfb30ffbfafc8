"""MSE estimators of the Fay–Herriot EBLUP, registered by name (``mse=`` of `fay_herriot`).

`MSE_ESTIMATORS` maps each name to its default estimator; ``mse=`` also takes an estimator
object (e.g. ``BootstrapMSE(replicates=500)``). To add an estimator, write a module
with an [`MseEstimator`][crimestats.sae.area_level.mse.base.MseEstimator] subclass and
register an instance here.
"""

from __future__ import annotations

from typing import Any

from .analytic import AnalyticMSE
from .base import MseEstimate, MseEstimator
from .bootstrap import BootstrapMSE

__all__ = ["MSE_ESTIMATORS", "AnalyticMSE", "BootstrapMSE", "MseEstimate", "MseEstimator",
           "estimator_names", "register", "resolve"]

MSE_ESTIMATORS: dict[str, MseEstimator] = {}


def register(estimator: MseEstimator) -> MseEstimator:
    """Add ``estimator`` (its default settings) to `MSE_ESTIMATORS` under its name."""
    if estimator.name in MSE_ESTIMATORS:
        raise ValueError(f"MSE estimator {estimator.name!r} is registered twice")
    MSE_ESTIMATORS[estimator.name] = estimator
    return estimator


def estimator_names() -> tuple[str, ...]:
    """The registered names, in registration order."""
    return tuple(MSE_ESTIMATORS)


def resolve(mse: Any) -> MseEstimator:
    """The estimator for ``mse=``: a registered name or an `MseEstimator` object."""
    if isinstance(mse, MseEstimator):
        return mse
    from ...._options import FAY_HERRIOT

    return MSE_ESTIMATORS[FAY_HERRIOT["mse"].check(mse)]


register(AnalyticMSE())
register(BootstrapMSE())
