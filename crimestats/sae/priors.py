"""Priors for the area-effect standard deviation of the hierarchical Bayes Fay–Herriot model.

The hierarchical Bayes Fay–Herriot model (``fay_herriot(..., method="hb")``) puts a flat prior
on the regression coefficients $\\beta$ and one of the priors below on the area-effect
variance $\\sigma_u^2$. Each prior is a small frozen object; pass it as ``prior=``.
Scales are in the units of the direct estimates (the same units as $\\sigma_u$).

The default, [`FlatVariance`][FlatVariance], is the flat prior on $\\sigma_u^2$ studied by Datta,
Rao and Smith (2005): its posterior variances are close to the frequentist MSE and its credible
intervals keep their nominal coverage (see the validation page).

References
----------
Datta, G. S., Rao, J. N. K. and Smith, D. D. (2005). On measuring the variability of small area
estimators under a basic area level model. *Biometrika* 92(1), 183–196.

Gelman, A. (2006). Prior distributions for variance parameters in hierarchical models.
*Bayesian Analysis* 1(3), 515–534.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from typing import Any, ClassVar

import numpy as np

from ..errors import InputError

__all__ = ["VariancePrior", "FlatVariance", "FlatSD", "HalfCauchy", "HalfNormal", "check_phi_prior",
           "check_prior"]


class VariancePrior(abc.ABC):
    """Base class of the priors on the area-effect variance $\\sigma_u^2$.

    A prior is described through its density on the standard deviation $\\sigma_u \\ge 0$
    (up to a constant), which is what the exact HB fit integrates over.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae.priors import HalfCauchy, VariancePrior
    >>> prior = HalfCauchy(scale=0.5)
    >>> isinstance(prior, VariancePrior), prior.min_residual_df
    (True, 2)
    >>> bool(prior.log_density(np.array([0.1]))[0] > prior.log_density(np.array([2.0]))[0])
    True
    """

    #: Power $k$ of the prior's tail, $p(\\sigma_u^2) \\sim (\\sigma_u^2)^{-k}$ as
    #: $\\sigma_u^2 \\to \\infty$ (``inf`` for a light tail). With the restricted
    #: likelihood's tail $(\\sigma_u^2)^{-(m-p)/2}$, the posterior moment
    #: $E\\{(\\sigma_u^2)^r \\mid y\\}$ is finite when $(m - p)/2 + k - r > 1$.
    tail_power: ClassVar[float] = math.inf

    @property
    def min_residual_df(self) -> int:
        """Fewest in-sample areas beyond the coefficients, $m - p$, for which the
        posterior is proper and $E(\\sigma_u^2 \\mid y)$ is finite."""
        if math.isinf(self.tail_power):
            return 1
        return max(1, math.floor(4.0 - 2.0 * self.tail_power) + 1)

    @abc.abstractmethod
    def log_density(self, sigma_u: np.ndarray) -> np.ndarray:
        """Log prior density of $\\sigma_u$ at ``sigma_u >= 0``, up to an additive constant."""

    @abc.abstractmethod
    def describe(self) -> str:
        """The prior as a formula, e.g. ``"sigma_u ~ HalfCauchy(0, 0.5)"``."""


def _check_scale(scale: float, name: str) -> float:
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise InputError(f"`scale` of {name} must be a number; received {scale!r}.") from None
    if not (math.isfinite(value) and value > 0):
        raise InputError(
            f"`scale` of {name} must be positive and finite (in the units of the direct "
            f"estimates); received {scale!r}."
        )
    return value


@dataclasses.dataclass(frozen=True)
class FlatVariance(VariancePrior):
    """Flat (improper) prior on the area-effect variance: $p(\\sigma_u^2) \\propto 1$.

    The default. On the standard-deviation scale it is $p(\\sigma_u) \\propto \\sigma_u$.
    Datta, Rao and Smith (2005) show that with this prior the posterior variance of each area
    is second-order unbiased for the MSE, so credible intervals have close to nominal
    frequentist coverage. It needs $m - p \\ge 5$ in-sample areas beyond the number of
    coefficients (then the posterior is proper and $E(\\sigma_u^2 \\mid y)$ is finite).

    Examples
    --------
    >>> from crimestats.sae.priors import FlatVariance
    >>> FlatVariance().describe()
    'p(sigma2_u) ∝ 1 (flat on the variance)'
    """

    tail_power: ClassVar[float] = 0.0

    def log_density(self, sigma_u: np.ndarray) -> np.ndarray:
        """Log density of $\\sigma_u$: $\\log \\sigma_u$ (Jacobian of the flat prior on the variance)."""
        with np.errstate(divide="ignore"):
            return np.log(np.asarray(sigma_u, dtype=float))

    def describe(self) -> str:
        """The prior as a formula."""
        return "p(sigma2_u) ∝ 1 (flat on the variance)"


@dataclasses.dataclass(frozen=True)
class FlatSD(VariancePrior):
    """Flat (improper) prior on the area-effect standard deviation: $p(\\sigma_u) \\propto 1$.

    Recommended by Gelman (2006) for hierarchical standard deviations when there are more
    than a handful of groups. It shrinks a little more than [`FlatVariance`][FlatVariance] when the
    data carry little information on $\\sigma_u$. Needs $m - p \\ge 4$.

    Examples
    --------
    >>> from crimestats.sae.priors import FlatSD
    >>> FlatSD().describe()
    'p(sigma_u) ∝ 1 (flat on the standard deviation)'
    """

    tail_power: ClassVar[float] = 0.5

    def log_density(self, sigma_u: np.ndarray) -> np.ndarray:
        """Log density of $\\sigma_u$: zero everywhere."""
        return np.zeros_like(np.asarray(sigma_u, dtype=float))

    def describe(self) -> str:
        """The prior as a formula."""
        return "p(sigma_u) ∝ 1 (flat on the standard deviation)"


@dataclasses.dataclass(frozen=True)
class HalfCauchy(VariancePrior):
    """Half-Cauchy prior on the area-effect standard deviation: $\\sigma_u \\sim C^+(0, s)$.

    A proper, weakly informative prior (Gelman 2006): flat near zero and heavy-tailed, so the
    data dominate whenever they are informative. Choose ``scale`` as a generous guess of how
    far true area values stray from the regression line, in the units of the direct estimates.
    Needs $m - p \\ge 2$.

    Parameters
    ----------
    scale : float
        Scale $s > 0$ of the half-Cauchy distribution (its median).

    Examples
    --------
    >>> from crimestats.sae.priors import HalfCauchy
    >>> HalfCauchy(scale=0.5).describe()
    'sigma_u ~ HalfCauchy(scale=0.5)'
    """

    scale: float
    tail_power: ClassVar[float] = 1.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", _check_scale(self.scale, "HalfCauchy"))

    def log_density(self, sigma_u: np.ndarray) -> np.ndarray:
        """Log density of $\\sigma_u$: $-\\log(1 + (\\sigma_u/s)^2)$."""
        return -np.log1p((np.asarray(sigma_u, dtype=float) / self.scale) ** 2)

    def describe(self) -> str:
        """The prior as a formula."""
        return f"sigma_u ~ HalfCauchy(scale={self.scale:g})"


@dataclasses.dataclass(frozen=True)
class HalfNormal(VariancePrior):
    """Half-normal prior on the area-effect standard deviation: $\\sigma_u \\sim N^+(0, s^2)$.

    A proper prior with a light tail: use it when $\\sigma_u$ is known to be at most a
    few times ``scale``. Needs $m - p \\ge 1$.

    Parameters
    ----------
    scale : float
        Standard deviation $s > 0$ of the underlying normal distribution.

    Examples
    --------
    >>> from crimestats.sae.priors import HalfNormal
    >>> HalfNormal(scale=1).describe()
    'sigma_u ~ HalfNormal(scale=1)'
    """

    scale: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", _check_scale(self.scale, "HalfNormal"))

    def log_density(self, sigma_u: np.ndarray) -> np.ndarray:
        """Log density of $\\sigma_u$: $-\\sigma_u^2 / (2 s^2)$."""
        return -0.5 * (np.asarray(sigma_u, dtype=float) / self.scale) ** 2

    def describe(self) -> str:
        """The prior as a formula."""
        return f"sigma_u ~ HalfNormal(scale={self.scale:g})"


def check_prior(prior: Any) -> VariancePrior:
    """``prior`` checked: a `VariancePrior`, or the default `FlatVariance` for None."""
    if prior is None:
        return FlatVariance()
    if not isinstance(prior, VariancePrior):
        raise InputError(
            "`prior` must be None (the default flat prior on sigma2_u) or a prior from "
            "crimestats.sae.priors, e.g. HalfCauchy(scale=0.5); "
            f"received {type(prior).__name__}."
        )
    return prior


def check_phi_prior(phi_prior: Any, model: str) -> tuple[float, float]:
    """The parameters ``(a, b)`` of the Beta prior on BYM2's $\\phi$, checked (``model``
    ``"icar"`` has no $\\phi$: only the default (1, 1) is accepted)."""
    try:
        a, b = (float(t) for t in phi_prior)
    except (TypeError, ValueError):
        raise InputError("`phi_prior` must be the two parameters (a, b) of a Beta prior on phi, "
                         f"e.g. (1, 1) for uniform; received {phi_prior!r}.") from None
    if not (math.isfinite(a) and math.isfinite(b) and a > 0 and b > 0):
        raise InputError(f"`phi_prior` parameters must be positive and finite; received "
                         f"{phi_prior!r}.")
    if model == "icar" and (a, b) != (1.0, 1.0):
        raise InputError("`phi_prior` applies only to model='bym2' (the ICAR model has no phi).")
    return a, b
