"""Binomial likelihood with the logit link: prevalences from (effective) respondent counts.

$$
l(\\eta; y, n) = y\\eta - n\\log(1 + e^\\eta), \\qquad
\\mu = \\operatorname{expit}\\eta = \\frac{1}{1 + e^{-\\eta}},
$$

with derivatives $y - n\\mu$, $-n\\mu(1-\\mu)$ and $-n\\mu(1-\\mu)(1-2\\mu)$; the
constant is $\\log\\binom{n}{y}$ (with $\\Gamma$ functions, as $y$ and $n$ are effective
counts and need not be whole).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from ....errors import EstimationError
from .base import SCALAR_LINK, SCALAR_LOGLIK, CompiledFamily, Family

__all__ = ["Binomial"]


class Binomial(Family):
    """Binomial counts of victims among (effective) respondents, logit link."""

    name = "binomial"
    link_name = "logit"
    size_name = "effective_sample_size"

    def loglik(self, eta: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
        return y * eta - n * np.logaddexp(0.0, eta)

    def derivatives(self, eta: np.ndarray, y: np.ndarray, n: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        p = special.expit(eta)
        return y - n * p, -n * p * (1.0 - p)

    def third_derivative(self, eta: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
        p = special.expit(eta)
        return -n * p * (1.0 - p) * (1.0 - 2.0 * p)

    def loglik_constant(self, y: np.ndarray, n: np.ndarray) -> float:
        return float(np.sum(special.gammaln(n + 1) - special.gammaln(y + 1)
                            - special.gammaln(n - y + 1)))

    def link(self, mean: np.ndarray) -> np.ndarray:
        return special.logit(mean)

    def inverse_link(self, eta: np.ndarray) -> np.ndarray:
        return special.expit(eta)

    def empirical_link(self, y: np.ndarray, n: np.ndarray) -> np.ndarray:
        return np.log((y + 0.5) / (n - y + 0.5))

    def unit_variance(self, mean: np.ndarray) -> np.ndarray:
        return mean * (1 - mean)

    def sample(self, eta: np.ndarray, n: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.binomial(n.astype(np.int64), special.expit(eta)).astype(float)

    def check_informative(self, y: np.ndarray, n: np.ndarray, model: str) -> None:
        if not np.any(y > 0):
            raise EstimationError(
                f"every sampled area's direct prevalence is 0, so the {model} model has no "
                "finite estimate (its likelihood keeps rising as the rate goes to 0). Pool "
                "areas or periods until some events are observed, or use a model with an "
                "informative prior.")
        if not np.any(y < n):
            raise EstimationError(
                f"every sampled area's direct prevalence is 1, so the {model} model has no "
                "finite estimate (its likelihood keeps rising as the prevalence goes to 1).")

    def compile_scalars(self) -> CompiledFamily:
        import numba

        @numba.cfunc(SCALAR_LOGLIK, cache=True)
        def loglik(eta: float, y: float, n: float) -> float:
            return y * eta - n * (max(eta, 0.0) + math.log1p(math.exp(-abs(eta))))

        @numba.cfunc(SCALAR_LINK, cache=True)
        def inverse_link(eta: float) -> float:
            if eta >= 0:
                return 1.0 / (1.0 + math.exp(-eta))
            return math.exp(eta) / (1.0 + math.exp(eta))

        return CompiledFamily(loglik, inverse_link)
