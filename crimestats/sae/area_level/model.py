"""The basic Fay–Herriot model fitted to one table: variance component, GLS and the EBLUP.

For areas $i = 1, \\dots, m$ with known sampling variances $D_i$,
$y_i = x_i^\\top\\beta + u_i + e_i$, $u_i \\sim N(0, \\sigma_u^2)$, $e_i \\sim N(0, D_i)$.
[`fit_model`][fit_model] estimates $\\sigma_u^2$ with a variance-component method (see
`crimestats.sae.area_level.variance`), then $\\hat\\beta$ by GLS with weights
$w_i = 1/(\\hat\\sigma_u^2 + D_i)$; [`EblupFit.eblup`][EblupFit.eblup] gives
$\\hat\\theta_i = (1 - B_i)\\, y_i + B_i\\, x_i^\\top\\hat\\beta$, $B_i = D_i w_i$, and the
synthetic $x_i^\\top\\hat\\beta$ for areas without a direct estimate. The MSE estimators of
`crimestats.sae.area_level.mse` take an [`EblupFit`][EblupFit].
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._engine.gls import gls
from .variance import VarianceMethod, solve

__all__ = ["EblupFit", "fit_model"]


@dataclasses.dataclass(frozen=True)
class EblupFit:
    """A fitted basic Fay–Herriot model (validated float arrays over all ``m`` areas).

    Attributes
    ----------
    method : VarianceMethod
        How $\\sigma_u^2$ was estimated.
    y, d : numpy.ndarray
        Direct estimates and sampling variances, NaN where an area has no direct estimate.
    x : numpy.ndarray
        Design (m, p), intercept column included.
    inside : numpy.ndarray
        True for the areas with a direct estimate.
    sigma2_u : float
        Estimated area-effect variance.
    beta, cov_beta : numpy.ndarray
        GLS coefficients and their covariance $(X^\\top W X)^{-1}$ (in-sample areas).
    w : numpy.ndarray
        Weights $1 / (\\hat\\sigma_u^2 + D_i)$ of the in-sample areas.
    converged : bool
    iterations : int
    max_iter, tol : int, float
        The scoring settings used (a refit, e.g. by the bootstrap, uses them too).
    """

    method: VarianceMethod
    y: np.ndarray
    d: np.ndarray
    x: np.ndarray
    inside: np.ndarray
    sigma2_u: float
    beta: np.ndarray
    cov_beta: np.ndarray
    w: np.ndarray
    converged: bool
    iterations: int
    max_iter: int
    tol: float

    @property
    def shrinkage(self) -> np.ndarray:
        """$B_i = D_i / (\\hat\\sigma_u^2 + D_i)$ of the in-sample areas."""
        return self.d[self.inside] * self.w

    def at(self, sigma2_u: float) -> EblupFit:
        """The same data and method with $\\sigma_u^2$ set to ``sigma2_u`` (GLS refitted)."""
        w = 1.0 / (sigma2_u + self.d[self.inside])
        beta, cov_beta = gls(self.x[self.inside], self.y[self.inside], w)
        return dataclasses.replace(self, sigma2_u=sigma2_u, beta=beta, cov_beta=cov_beta, w=w)

    def leading_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """$g_1$ and $g_2$ of every area at this fit's $\\sigma_u^2$.

        $g_{1i} = \\sigma_u^2 D_i / (\\sigma_u^2 + D_i)$ and $g_{2i} = B_i^2 x_i^\\top
        (X^\\top W X)^{-1} x_i$ for an area with a direct estimate; $\\sigma_u^2$ and
        $x_i^\\top (X^\\top W X)^{-1} x_i$ for one without.
        """
        inside, s2 = self.inside, self.sigma2_u
        d_in = self.d[inside]
        b_in = d_in * self.w
        leverage = np.sum((self.x @ self.cov_beta) * self.x, axis=1)  # x_i' Var(beta) x_i
        g1 = np.full(inside.shape, s2)
        g1[inside] = d_in * s2 * self.w
        g2 = leverage.copy()
        g2[inside] = b_in**2 * leverage[inside]
        return g1, g2

    def eblup(self) -> tuple[np.ndarray, np.ndarray]:
        """The EBLUP of every area and the synthetic part $x_i^\\top\\hat\\beta$."""
        inside = self.inside
        synthetic = self.x @ self.beta
        resid = self.y[inside] - synthetic[inside]
        estimate = synthetic.copy()
        estimate[inside] = synthetic[inside] + (1.0 - self.shrinkage) * resid
        return estimate, synthetic


def fit_model(method: VarianceMethod, y: np.ndarray, d: np.ndarray, x: np.ndarray, *,
              max_iter: int, tol: float) -> EblupFit:
    """Estimate $\\sigma_u^2$ with ``method`` and $\\beta$ by GLS (NaN ``y``: out of sample)."""
    inside = ~np.isnan(y)
    y_in, d_in, x_in = y[inside], d[inside], x[inside]
    sigma2_u, converged, iterations = solve(method, x_in, y_in, d_in, max_iter=max_iter,
                                            tol=tol)
    w = 1.0 / (sigma2_u + d_in)
    beta, cov_beta = gls(x_in, y_in, w)
    return EblupFit(method=method, y=y, d=d, x=x, inside=inside, sigma2_u=sigma2_u, beta=beta,
                    cov_beta=cov_beta, w=w, converged=converged, iterations=iterations,
                    max_iter=max_iter, tol=tol)
