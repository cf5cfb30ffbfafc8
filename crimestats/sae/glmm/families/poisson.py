"""Poisson likelihood with the log link: incidence rates from (effective) counts and exposures.

$$
l(\\eta; y, n) = y\\eta - n e^{\\eta}, \\qquad \\mu = e^\\eta,
$$

with derivatives $y - n e^\\eta$, $-n e^\\eta$, $-n e^\\eta$; the constant is
$y\\log n - \\log\\Gamma(y + 1)$. In the log-likelihood and its derivatives the exponent is
capped at 700 (a rate of $e^{700}$ per unit of exposure), so that a Newton step that strays
far out stays finite and is halved back; the inverse link is the exact exponential, so a
fit whose estimate overflows fails loudly (`EstimationError`) instead of reporting a capped
number.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from ....errors import EstimationError
from .base import SCALAR_LINK, SCALAR_LOGLIK, CompiledFamily, Family

__all__ = ["Poisson", "EXPONENT_CAP"]

#: Cap on the exponent inside the log-likelihood and its derivatives (see the module notes).
EXPONENT_CAP = 700.0


class Poisson(Family):
    """Poisson counts of incidents over an (effective) exposure, log link."""

    name = "poisson"
    link_name = "log"
    size_name = "effective_exposure"

    def loglik(self, eta: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
        return y * eta - n * np.exp(np.minimum(eta, EXPONENT_CAP))

    def derivatives(self, eta: np.ndarray, y: np.ndarray, n: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        mu = n * np.exp(np.minimum(eta, EXPONENT_CAP))
        return y - mu, -mu

    def third_derivative(self, eta: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
        return -n * np.exp(np.minimum(eta, EXPONENT_CAP))

    def loglik_constant(self, y: np.ndarray, n: np.ndarray) -> float:
        return float(np.sum(y * np.log(n) - special.gammaln(y + 1)))

    def link(self, mean: np.ndarray) -> np.ndarray:
        return np.log(mean)

    def inverse_link(self, eta: np.ndarray) -> np.ndarray:
        return np.exp(eta)

    def empirical_link(self, y: np.ndarray, n: np.ndarray) -> np.ndarray:
        return np.log((y + 0.5) / n)

    def unit_variance(self, mean: np.ndarray) -> np.ndarray:
        return mean

    def sample(self, eta: np.ndarray, n: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.poisson(n * np.exp(eta)).astype(float)

    def check_informative(self, y: np.ndarray, n: np.ndarray, model: str) -> None:
        if not np.any(y > 0):
            raise EstimationError(
                f"every sampled area's count is 0, so the {model} model has no finite "
                "estimate (its likelihood keeps rising as the rate goes to 0). Pool areas or "
                "periods until some events are observed, or use a model with an informative "
                "prior.")

    def predict_without_data(self, centre: np.ndarray, spread2: np.ndarray, level: float
                             ) -> dict[str, np.ndarray]:
        """Log-normal prediction: $\\log\\lambda \\sim N(\\text{centre}, \\text{spread2})$.

        With no count the posterior of an area's rate is its prior predictive, whose mean
        $E[e^{x^\\top\\beta + u}]$ averaged over the posterior of $\\sigma_u$ grows like
        $e^{\\sigma_u^2/2}$ in that posterior's tail and need not exist with few areas; the
        caller takes $\\sigma_u$ at its posterior mode, and the rate is then log-normal with
        closed-form mean, SD and quantiles.
        """
        z = float(special.ndtri(0.5 + level / 2.0))
        mean = np.exp(centre + spread2 / 2.0)
        return {"estimate": mean, "sd": mean * np.sqrt(np.expm1(spread2)),
                "lower": np.exp(centre - z * np.sqrt(spread2)),
                "upper": np.exp(centre + z * np.sqrt(spread2))}

    def compile_scalars(self) -> CompiledFamily:
        import numba

        @numba.cfunc(SCALAR_LOGLIK, cache=True)
        def loglik(eta: float, y: float, n: float) -> float:
            return y * eta - n * math.exp(min(eta, EXPONENT_CAP))

        @numba.cfunc(SCALAR_LINK, cache=True)
        def inverse_link(eta: float) -> float:
            return math.exp(eta)

        return CompiledFamily(loglik, inverse_link)
