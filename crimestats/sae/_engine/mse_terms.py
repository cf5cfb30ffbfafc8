"""The second-order MSE of an EBLUP term by term, and its total: one object for every model.

The basic, arcsine, SAR (dense and sparse), spatio-temporal (dense and sparse), multivariate,
unit-level and batched Fay–Herriot fits all estimate the MSE as
$g_1 + g_2 + 2 g_3$, less $g_4$ (SAR) and the bias term (ML and moment estimators); they build
an [`MseTerms`][MseTerms] and take its [`total`][MseTerms.total], so the sum is written once.
The object is also the typed ``mse_terms`` field of their results
(`crimestats.sae.results`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["MseTerms"]


@dataclasses.dataclass(frozen=True)
class MseTerms:
    """The second-order MSE of an EBLUP, term by term: $g_1 + g_2 + 2 g_3 - g_4 - b$.

    One object serves the basic, arcsine, SAR, spatio-temporal, multivariate and unit-level
    models (Prasad & Rao 1990; Datta & Lahiri 2000; Singh, Shukla & Kundu 2005): arrays
    over the areas (area-periods; ``(area, K, K)`` for the multivariate model).

    Attributes
    ----------
    g1 : numpy.ndarray
        Variance of the best linear unbiased predictor given the variance components (the
        leading term: $\\sigma_u^2 D_i / (\\sigma_u^2 + D_i)$ in the basic model).
    g2 : numpy.ndarray
        Added by estimating $\\beta$.
    g3 : numpy.ndarray
        Added by estimating the variance components (counted twice in the MSE estimate).
    g4 : numpy.ndarray or None
        Correction of the SAR model for the curvature of the covariance (Singh et al. 2005).
    bias : numpy.ndarray or None
        First-order bias of the variance components times the gradient of $g_1$ (ML and
        moment estimators; zero or None for REML).

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae.results import MseTerms
    >>> MseTerms(g1=np.array([1.0]), g2=np.array([0.1]), g3=np.array([0.05])).total()
    array([1.2])
    """

    g1: np.ndarray
    g2: np.ndarray
    g3: np.ndarray
    g4: np.ndarray | None = None
    bias: np.ndarray | None = None

    def total(self) -> np.ndarray:
        """$g_1 + g_2 + 2 g_3$, less $g_4$ and the bias term when present (not clipped)."""
        out = self.g1 + self.g2 + 2.0 * self.g3
        if self.g4 is not None:
            out = out - self.g4
        if self.bias is not None:
            out = out - self.bias
        return out
