"""Parametric bootstrap MSE of the Fay–Herriot EBLUP, bias-corrected (Butar & Lahiri 2003)."""

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
    """Resample the fitted model, re-estimate $\\sigma_u^2$, and correct the plug-in terms.

    Each replicate $b$ draws $u_i^* \\sim N(0, \\hat\\sigma_u^2)$ and $e_i^* \\sim N(0, D_i)$,
    forms $y_i^* = x_i^\\top\\hat\\beta + u_i^* + e_i^*$ for the sampled areas and
    re-estimates $\\sigma_u^2$ from them with the same method, $\\hat\\sigma_{u,b}^{2*}$. Then

    $$
    \\mathrm{mse}_i = 2\\,[g_{1i} + g_{2i}](\\hat\\sigma_u^2)
    - \\overline{[g_{1i} + g_{2i}](\\hat\\sigma_{u,b}^{2*})}
    + \\overline{\\{\\hat\\theta_i(\\hat\\sigma_{u,b}^{2*}) - \\hat\\theta_i(\\hat\\sigma_u^2)\\}^2},
    $$

    where $\\hat\\theta_i(s)$ is the EBLUP of the data at $\\sigma_u^2 = s$ and the bars are
    means over replicates. The first two terms correct the downward bias of the plug-in
    $g_1$, the last estimates the variance added by estimating $\\sigma_u^2$; the estimator
    is second-order unbiased without the analytic expansion of $g_3$ (Butar & Lahiri 2003).
    The naive bootstrap (mean of $(\\hat\\theta_i^* - \\theta_i^*)^2$, R ``sae::pbmseFH``)
    misses one $g_3$: with 30 areas it is about 14% too low (see the validation page).
    The Monte Carlo standard error of each area's estimate is reported; an estimate below 0
    (possible with few replicates) is set to 0.

    Parameters
    ----------
    replicates : int
        Number of bootstrap replicates (at least 2).

    References
    ----------
    Butar, F. B. and Lahiri, P. (2003). On measures of uncertainty of empirical Bayes
    small-area estimators. *Journal of Statistical Planning and Inference* 112, 63–76.
    Rao, J. N. K. and Molina, I. (2015). *Small Area Estimation*, 2nd ed., sec. 6.2.4. Wiley.
    """

    replicates: int = 200

    name = "bootstrap"
    description = "parametric bootstrap, bias-corrected (Butar & Lahiri 2003)"

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
        g1, g2 = fit.leading_terms()
        estimate = fit.eblup()[0]
        parts = np.empty((int(self.replicates), inside.shape[0]))
        unconverged = 0
        y_star = np.full(inside.shape, np.nan)
        for b in range(int(self.replicates)):
            y_star[inside] = mean[inside] + rng.normal(0.0, sd_u, size=int(inside.sum())) \
                + rng.normal(0.0, sd_e)
            refit = fit_model(fit.method, y_star.copy(), fit.d, fit.x, max_iter=fit.max_iter,
                              tol=fit.tol)
            unconverged += not refit.converged
            at_star = fit.at(refit.sigma2_u)
            g1_b, g2_b = at_star.leading_terms()
            parts[b] = (at_star.eblup()[0] - estimate) ** 2 - (g1_b + g2_b)
        if unconverged:
            warnings.warn(f"{unconverged} of {self.replicates} bootstrap refits did not converge "
                          "(their last iterate is used); increase `max_iter`.",
                          ConvergenceWarning, stacklevel=4)
        mse = np.maximum(2.0 * (g1 + g2) + parts.mean(axis=0), 0.0)
        mc_se = parts.std(axis=0, ddof=1) / np.sqrt(self.replicates)
        return MseEstimate(mse=mse, replicates=int(self.replicates), mc_se=mc_se)
