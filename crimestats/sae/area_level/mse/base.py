"""What an MSE estimator of the Fay–Herriot EBLUP is: a small object with an ``estimate``.

The MSE of the EBLUP is chosen apart from the fit (as statsmodels chooses a covariance type
apart from the regression): `fay_herriot(..., mse=...)` takes a registered name or an
estimator object. An estimator receives the fitted model
([`EblupFit`][crimestats.sae.area_level.model.EblupFit]) and returns an
[`MseEstimate`][MseEstimate] for every area. Estimators are registered by name in
``crimestats.sae.area_level.mse.MSE_ESTIMATORS``; adding one is one module plus its
registration.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import ClassVar

import numpy as np

from ...results import MseTerms
from ..model import EblupFit

__all__ = ["MseEstimate", "MseEstimator"]


@dataclasses.dataclass(frozen=True)
class MseEstimate:
    """Estimated MSE of every area's EBLUP.

    Attributes
    ----------
    mse : numpy.ndarray
        The estimate, per area (in the squared units of the direct estimates).
    terms : MseTerms or None
        The analytic decomposition ($g_1, g_2, g_3$, bias), when the estimator has one.
    replicates : int
        Resamples used (0 for analytic estimators).
    mc_se : numpy.ndarray or None
        Monte Carlo standard error of ``mse`` (resampling estimators).
    """

    mse: np.ndarray
    terms: MseTerms | None = None
    replicates: int = 0
    mc_se: np.ndarray | None = None


class MseEstimator(abc.ABC):
    """Base class of the MSE estimators of the basic Fay–Herriot EBLUP.

    Attributes
    ----------
    name : str
        Registry key (``mse=`` of `fay_herriot`).
    description : str
        One line for option lists and the documentation.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    @abc.abstractmethod
    def estimate(self, fit: EblupFit, rng: np.random.Generator) -> MseEstimate:
        """The MSE of every area's EBLUP under ``fit`` (``rng`` for resampling estimators)."""
