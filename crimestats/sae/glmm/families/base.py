"""What a GLMM family is: the likelihood of one area's data as a function of its linear predictor.

A family holds, in one place, everything the area-level binomial and Poisson models need
about their likelihood: the log-likelihood $l(\\eta; y, n)$ of an area with (effective)
count $y$ and size $n$ and its first three derivatives in $\\eta$, the constant the
log-likelihood leaves out, the link and inverse link, and compiled scalar versions of the
log-likelihood and inverse link for the engine's per-area loops
(`crimestats.sae._engine.laplace_kernels`). Families are registered by name in
``crimestats.sae.glmm.families.FAMILIES``; adding one is one module plus its registration.
"""

from __future__ import annotations

import abc
import functools
from typing import Any, ClassVar

import numpy as np

__all__ = ["Family", "CompiledFamily", "SCALAR_LOGLIK", "SCALAR_LINK"]

#: numba signatures of the compiled scalar functions: ``loglik(eta, y, n)`` and ``g(eta)``.
SCALAR_LOGLIK = "float64(float64, float64, float64)"
SCALAR_LINK = "float64(float64)"


class CompiledFamily:
    """The compiled (numba ``cfunc``) log-likelihood and inverse link of a family.

    The engine's loops take these as first-class functions, so that one compiled (and
    cached) loop serves every family.
    """

    def __init__(self, loglik: Any, inverse_link: Any) -> None:
        self.loglik = loglik
        self.inverse_link = inverse_link


class Family(abc.ABC):
    """One exponential-family likelihood with its canonical link.

    Attributes
    ----------
    name : str
        Registry key.
    link_name : str
        Name of the link function (``"logit"``, ``"log"``).
    size_name : str
        Name of the per-area size variable in the estimates (``"effective_sample_size"``...).
    """

    name: ClassVar[str] = ""
    link_name: ClassVar[str] = ""
    size_name: ClassVar[str] = ""

    @abc.abstractmethod
    def loglik(self, eta: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Log-likelihood of each area without its constant (see `loglik_constant`)."""

    @abc.abstractmethod
    def derivatives(self, eta: np.ndarray, y: np.ndarray, n: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """First and second derivatives of `loglik` in ``eta``."""

    @abc.abstractmethod
    def third_derivative(self, eta: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Third derivative of `loglik` in ``eta`` (free of ``y`` for a canonical link)."""

    @abc.abstractmethod
    def loglik_constant(self, y: np.ndarray, n: np.ndarray) -> float:
        """Sum over areas of the log-likelihood terms that do not depend on the parameters."""

    @abc.abstractmethod
    def link(self, mean: np.ndarray) -> np.ndarray:
        """Link function: linear predictor of a mean per unit of size."""

    @abc.abstractmethod
    def inverse_link(self, eta: np.ndarray) -> np.ndarray:
        """Inverse link: mean per unit of size (prevalence, rate) of a linear predictor."""

    @abc.abstractmethod
    def empirical_link(self, y: np.ndarray, n: np.ndarray) -> np.ndarray:
        """The link of each area's own data, kept finite (a starting value)."""

    @abc.abstractmethod
    def unit_variance(self, mean: np.ndarray) -> np.ndarray:
        """Variance of one unit's outcome with this mean ($\\mu(1-\\mu)$, $\\mu$)."""

    @abc.abstractmethod
    def sample(self, eta: np.ndarray, n: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Counts drawn from the likelihood at ``eta`` with whole sizes ``n`` (simulations)."""

    @abc.abstractmethod
    def check_informative(self, y: np.ndarray, n: np.ndarray, model: str) -> None:
        """Raise `EstimationError` when the sampled data admit no finite estimate."""

    def predict_without_data(self, centre: np.ndarray, spread2: np.ndarray, level: float
                             ) -> dict[str, np.ndarray] | None:
        """Closed-form prediction of areas without data, or None to use the grid posterior.

        ``centre`` and ``spread2`` are the mean and variance of the linear predictor.
        """
        return None

    @abc.abstractmethod
    def compile_scalars(self) -> CompiledFamily:
        """Compile the scalar log-likelihood and inverse link (numba ``cfunc`` with the
        signatures `SCALAR_LOGLIK` and `SCALAR_LINK`); `compiled` calls it once."""

    @functools.cached_property
    def compiled(self) -> CompiledFamily:
        """The compiled scalar functions for the engine's loops (compiled on first use)."""
        return self.compile_scalars()
