"""Parametric bootstrap MSE of the Fay–Herriot EBLUP (González-Manteiga et al. 2008)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ....errors import ConvergenceWarning, InputError
from ..model import EblupFit, fit_model
from .base import MseEstimate, MseEstimator

__all__ = ["BootstrapMSE"]


@dataclasses.dataclass(frozen=True)
class BootstrapMSE(MseEstimator):
    """Resample the fitted model, refit, and average the squared errors (R ``sae::pbmseFH``).

    Each replicate draws $u_i^* \\sim N(0, \\hat\\sigma_u^2)$ for every area and
    $e_i^* \\sim N(0, D_i)$ for the sampled ones, sets the true value
    $\\theta_i^* = x_i^\\top\\hat\\beta + u_i^*$ and the direct estimate
    $y_i^* = \\theta_i^* + e_i^*$, refits the model with the same variance-component method
    and takes $(\\hat\\theta_i^* - \\theta_i^*)^2$; the MSE is their mean over replicates,
    with its Monte Carlo standard error. Unlike the analytic estimator it needs no
    second-order expansion, at the price of ``replicates`` refits and Monte Carlo noise.

    Parameters
    ----------
    replicates : int
        Number of bootstrap replicates (at least 2).

    References
    ----------
    González-Manteiga, W., Lombardía, M. J., Molina, I., Morales, D. and Santamaría, L.
    (2008). Analytic and bootstrap approximations of prediction errors under a multivariate
    Fay–Herriot model. *Computational Statistics & Data Analysis* 52, 5242–5252.
    Molina, I. and Marhuenda, Y. (2015). sae: An R package for small area estimation.
    *The R Journal* 7(1), 81–98.
    """

    replicates: int = 200

    name = "bootstrap"
    description = "parametric bootstrap: resample the fitted model and refit (R sae::pbmseFH)"

    def __post_init__(self) -> None:
        if isinstance(self.replicates, bool) or not isinstance(
                self.replicates, (int, np.integer)) or self.replicates < 2:
            raise InputError("The bootstrap needs a whole number of `replicates` of at least "
                             f"2; received {self.replicates!r}.")

    def estimate(self, fit: EblupFit, rng: np.random.Generator) -> MseEstimate:
        inside = fit.inside
        sd_u = np.sqrt(fit.sigma2_u)
        sd_e = np.sqrt(fit.d[inside])
        mean = fit.x @ fit.beta
        squared = np.empty((int(self.replicates), inside.shape[0]))
        unconverged = 0
        y_star = np.full(inside.shape, np.nan)
        for b in range(int(self.replicates)):
            theta = mean + rng.normal(0.0, sd_u, size=inside.shape[0])
            y_star[inside] = theta[inside] + rng.normal(0.0, sd_e)
            refit = fit_model(fit.method, y_star.copy(), fit.d, fit.x, max_iter=fit.max_iter,
                              tol=fit.tol)
            unconverged += not refit.converged
            squared[b] = (refit.eblup()[0] - theta) ** 2
        if unconverged:
            warnings.warn(f"{unconverged} of {self.replicates} bootstrap refits did not converge "
                          "(their last iterate is used); increase `max_iter`.",
                          ConvergenceWarning, stacklevel=4)
        mc_se = squared.std(axis=0, ddof=1) / np.sqrt(self.replicates)
        return MseEstimate(mse=squared.mean(axis=0), replicates=int(self.replicates),
                           mc_se=mc_se)
