"""Result objects of the area-level (Fay–Herriot family) models."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..results import Result

__all__ = ["FayHerriotResult"]


@dataclasses.dataclass(frozen=True)
class FayHerriotResult(Result):
    """A fitted Fay–Herriot model (EBLUP or hierarchical Bayes).

    Attributes
    ----------
    estimates : xarray.Dataset
        Over dimension ``area``: ``estimate`` (EBLUP or posterior mean), ``rmse`` (square root of
        the estimated MSE, or the posterior SD for HB), ``mse`` (EBLUP only), ``sd`` (HB only),
        ``lower`` and ``upper`` (interval at ``attrs["level"]``), ``cv``, ``direct``,
        ``direct_variance``, ``shrinkage`` (weight on the synthetic part,
        $D_i / (\\sigma_u^2 + D_i)$), ``synthetic`` ($x_i^\\top \\hat\\beta$) and
        ``in_sample`` (False for areas with no direct estimate, which get the synthetic estimate).
    method : str
        ``"reml"``, ``"ml"``, ``"fh"`` or ``"hb"``.
    sigma2_u : float
        Area-effect variance: the fitted value (EBLUP) or the posterior mean (HB).
    beta : numpy.ndarray
        Regression coefficients, intercept first (posterior mean for HB).
    beta_se : numpy.ndarray
        Standard errors of ``beta`` (posterior SDs for HB).
    covariate_names : tuple of str
        Names of the coefficients in ``beta``.
    level : float
        Level of the intervals in ``estimates``.
    converged : bool
        Whether the variance estimation converged (always True for HB's exact posterior).
    iterations : int
        Iterations used by the variance estimation (0 for HB).
    loglik : float
        EBLUP methods: Gaussian log-likelihood of the direct estimates at the fitted
        $\\sigma_u^2$ and $\\beta$ (as R ``sae`` reports it, for every method; the
        restricted log-likelihood of a REML fit is in ``diagnostics``). NaN for HB.
    diagnostics : dict
        Method-specific extras (e.g. for HB: the prior, r-hat, ESS, divergences when sampled).
    idata : xarray.DataTree or None
        ArviZ data of an HB fit (posterior draws of ``beta``, ``sigma2_u`` and ``theta``).

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import fay_herriot
    >>> direct = np.array([0.10, 0.31, 0.12, 0.36, 0.17, 0.29, 0.22, np.nan])
    >>> variance = np.array([0.0010, 0.0030, 0.0008, 0.0040, 0.0012, 0.0020, 0.0030, np.nan])
    >>> fit = fay_herriot(direct, variance)
    >>> type(fit).__name__, fit.method, round(fit.sigma2_u, 5), fit.beta.round(3).tolist()
    ('FayHerriotResult', 'reml', 0.00772, [0.215])
    >>> fit.to_dataframe()[["estimate", "rmse", "in_sample"]].shape
    (8, 3)
    >>> print(fit.summary().splitlines()[0])
    Fay–Herriot model, method='reml', areas=8 (out of sample: 1)
    """

    method: str = "reml"
    sigma2_u: float = float("nan")
    beta: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    beta_se: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    covariate_names: tuple[str, ...] = ()
    level: float = 0.95
    converged: bool = True
    iterations: int = 0
    loglik: float = float("nan")
    diagnostics: dict[str, Any] = dataclasses.field(default_factory=dict)
    idata: Any = None

    def coefficients(self) -> pd.DataFrame:
        """Regression coefficients with standard errors, z values and p values."""
        from scipy import stats

        z = self.beta / self.beta_se
        return pd.DataFrame(
            {"coef": self.beta, "se": self.beta_se, "z": z,
             "p_value": 2 * stats.norm.sf(np.abs(z))},
            index=pd.Index(list(self.covariate_names), name="term"),
        )

    def summary(self) -> str:
        """A short plain-text report: model, variance component, coefficients, shrinkage."""
        est = self.estimates
        n_out = int((~est["in_sample"]).sum()) if "in_sample" in est else 0
        lines = [
            f"Fay–Herriot model, method={self.method!r}, areas={est.sizes['area']} "
            f"(out of sample: {n_out})",
            f"sigma2_u = {self.sigma2_u:.6g}   converged={self.converged} "
            f"iterations={self.iterations}",
            "",
            self.coefficients().to_string(float_format=lambda v: f"{v:.4g}"),
        ]
        if "shrinkage" in est:
            shrink = est["shrinkage"].values
            lines += ["", f"shrinkage towards synthetic: median {np.nanmedian(shrink):.3f}, "
                          f"range {np.nanmin(shrink):.3f}–{np.nanmax(shrink):.3f}"]
        return "\n".join(lines)
