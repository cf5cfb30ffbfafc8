"""Quadrature grid of the two hyperparameters: extra year-to-year noise and smoothness.

Priors (log-normal):

$$
\\log\\tau \\sim N(\\log 0.05,\\ 1), \\qquad \\log\\sigma \\sim N(\\log 0.01,\\ 1),
$$

$\\tau$ the standard deviation of the extra year-to-year noise of log recorded crime (5% a
year at the median, 95% prior interval 0.7%–35%) and $\\sigma$ the standard deviation of the
second differences of log incidence (a slope that changes by 1 point a year at the median;
95% interval 0.14–7 points). The posterior is integrated over both on a product grid,
uniform in the logarithms over $\\pm 3$ prior standard deviations, with the trapezoid rule
(which is spectrally accurate for smooth integrands that vanish at the ends). The grid
spacing is checked in the tests by halving it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import special

__all__ = ["HyperGrid", "hyper_grid", "NOISE_PRIOR", "SMOOTH_PRIOR"]

#: (median, standard deviation of the logarithm) of the priors.
NOISE_PRIOR = (0.05, 1.0)
SMOOTH_PRIOR = (0.01, 1.0)
_SPAN = 3.0


@dataclasses.dataclass(frozen=True)
class HyperGrid:
    """Nodes and log quadrature weights (prior × spacing, normalised) of $(\\tau, \\sigma)$."""

    tau: np.ndarray
    sigma: np.ndarray
    log_weight: np.ndarray

    @property
    def size(self) -> int:
        """Number of nodes."""
        return self.tau.size


def _axis(prior: tuple[float, float], n: int) -> tuple[np.ndarray, np.ndarray]:
    median, sd = prior
    z = np.linspace(-_SPAN, _SPAN, n)
    logw = -0.5 * z ** 2
    logw[[0, -1]] += np.log(0.5)             # trapezoid end weights
    return median * np.exp(sd * z), logw


def hyper_grid(n_noise: int = 15, n_smooth: int = 11) -> HyperGrid:
    """The product grid of the noise and smoothness hyperparameters.

    Examples
    --------
    >>> g = hyper_grid(5, 3)
    >>> g.size, round(float(np.exp(g.log_weight).sum()), 12)
    (15, 1.0)
    """
    tau, lw_t = _axis(NOISE_PRIOR, n_noise)
    sig, lw_s = _axis(SMOOTH_PRIOR, n_smooth)
    T, S = np.meshgrid(tau, sig, indexing="ij")
    lw = (lw_t[:, None] + lw_s[None, :]).ravel()
    return HyperGrid(T.ravel(), S.ravel(), lw - special.logsumexp(lw))
