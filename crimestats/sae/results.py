"""Result objects of the small-area models, and the typed pieces they hold.

Every model returns a frozen dataclass subclassing [`Result`][crimestats.results.Result]:
its ``estimates`` (an `xarray.Dataset` over ``area``, and ``period`` or ``crime_type``), the
fitted parameters as typed fields and a ``diagnostics`` dict of method-specific extras. The
MSE of the EBLUP-type fits is decomposed in a typed [`MseTerms`][MseTerms].
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from ..results import Result
from ._engine.mse_terms import MseTerms

__all__ = ["BYM2Result", "BenchmarkResult", "DiagnosticsResult", "FayHerriotManyResult",
           "FayHerriotResult", "MRPResult", "MseTerms", "MultivariateFayHerriotResult",
           "PrevalenceResult", "SpatialFayHerriotResult", "SpatialPrevalenceResult",
           "SpatioTemporalResult", "UnitLevelResult"]


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
    mse_terms : MseTerms or None
        The analytic MSE term by term (EBLUP fits with the analytic MSE; None otherwise).
    mse_method : str or None
        How ``mse`` was estimated (``"analytic"``, ``"bootstrap"``...; None for HB).

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
    mse_terms: MseTerms | None = None
    mse_method: str | None = None

    @property
    def n_in_sample(self) -> int:
        """Number of areas with a direct estimate."""
        est = self.estimates
        return int(est["in_sample"].sum()) if "in_sample" in est else int(est.sizes["area"])

    @property
    def aic(self) -> float:
        """Akaike's criterion from ``loglik``: $-2\\ell + 2(p + 1)$ (NaN for HB)."""
        return -2.0 * self.loglik + 2.0 * (self.beta.shape[0] + 1)

    @property
    def bic(self) -> float:
        """Schwarz's criterion from ``loglik``: $-2\\ell + (p + 1)\\log m$ (NaN for HB)."""
        return -2.0 * self.loglik + (self.beta.shape[0] + 1) * np.log(self.n_in_sample)

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


@dataclasses.dataclass(frozen=True)
class SpatialFayHerriotResult(FayHerriotResult):
    """A fitted spatial (SAR) Fay–Herriot model.

    All attributes of [`FayHerriotResult`][FayHerriotResult] (``estimates``, ``sigma2_u``, ``beta``, ...),
    where ``sigma2_u`` is the variance $\\sigma_u^2$ of the SAR innovations $u$,
    plus:

    Attributes
    ----------
    rho : float
        Spatial autocorrelation $\\rho$ of the SAR(1) area effects.
    rho_se : float
        Its asymptotic standard error (inverse Fisher information).
    sigma2_u_se : float
        Asymptotic standard error of ``sigma2_u``.

    Examples
    --------
    A 4 × 4 grid of areas (rook neighbours):

    >>> import numpy as np
    >>> from crimestats.sae import fay_herriot
    >>> pairs = [(r * 4 + c, r * 4 + c + 1) for r in range(4) for c in range(3)]
    >>> pairs += [(r * 4 + c, (r + 1) * 4 + c) for r in range(3) for c in range(4)]
    >>> direct = 5 + np.random.default_rng(0).normal(size=16)
    >>> fit = fay_herriot(direct, np.full(16, 0.5), proximity=pairs)
    >>> type(fit).__name__, fit.method, bool(-1 < fit.rho <= 1)
    ('SpatialFayHerriotResult', 'reml', True)
    >>> print(fit.summary().splitlines()[0])
    Spatial (SAR) Fay–Herriot model, method='reml', areas=16 (out of sample: 0)
    """

    rho: float = float("nan")
    rho_se: float = float("nan")
    sigma2_u_se: float = float("nan")

    def summary(self) -> str:
        """A short plain-text report: model, variance components, coefficients."""
        est = self.estimates
        n_out = int((~est["in_sample"]).sum())
        lines = [
            f"Spatial (SAR) Fay–Herriot model, method={self.method!r}, "
            f"areas={est.sizes['area']} (out of sample: {n_out})",
            f"sigma2_u = {self.sigma2_u:.6g} (se {self.sigma2_u_se:.3g})   "
            f"rho = {self.rho:.4f} (se {self.rho_se:.3g})",
            f"converged={self.converged} iterations={self.iterations} "
            f"loglik={self.loglik:.6g}",
            "",
            self.coefficients().to_string(float_format=lambda v: f"{v:.4g}"),
        ]
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class SpatioTemporalResult(Result):
    """A fitted spatio-temporal Fay–Herriot model.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over dimensions ``area`` × ``period``: ``estimate`` (EBLUP), ``mse``, ``rmse``,
        ``lower``, ``upper`` (interval at ``attrs["level"]``), ``cv``, ``direct``,
        ``direct_variance``, ``synthetic`` ($x^\\top\\hat\\beta$), ``area_effect``
        ($\\hat u_{1d}$), ``area_period_effect`` ($\\hat u_{2dt}$) and
        ``in_sample``.
    model : str
        ``"ar1"`` (AR(1) area-by-period effects) or ``"independent"``.
    method : str
        ``"reml"``.
    sigma2_area, rho_space : float
        Variance $\\sigma_1^2$ of the SAR innovations and spatial autocorrelation
        $\\rho_1$ of the area effects.
    sigma2_time, rho_time : float
        Innovation variance $\\sigma_2^2$ and autocorrelation $\\rho_2$ of the
        area-by-period effects (``rho_time`` is NaN for ``model="independent"``).
    variance_components_se : dict
        Asymptotic standard errors of the variance components (inverse REML information).
    beta, beta_se : numpy.ndarray
        Regression coefficients (intercept first when fitted) and standard errors.
    covariate_names : tuple of str
    level : float
    converged : bool
    iterations : int
    loglik : float
        Log-likelihood at the estimates (as R ``sae`` reports it).
    diagnostics : dict
        MSE terms ``g1``, ``g2``, ``g3`` (also in ``mse_terms``) and the covariance of the
        variance components.
    mse_terms : MseTerms or None
        The MSE term by term.

    Examples
    --------
    A 4 × 4 grid of areas (rook neighbours) observed in three years:

    >>> import numpy as np
    >>> from crimestats.sae import spatio_temporal_fay_herriot
    >>> pairs = [(r * 4 + c, r * 4 + c + 1) for r in range(4) for c in range(3)]
    >>> pairs += [(r * 4 + c, (r + 1) * 4 + c) for r in range(3) for c in range(4)]
    >>> area, year = np.repeat(np.arange(16), 3), np.tile([2019, 2020, 2021], 16)
    >>> direct = 1 + np.random.default_rng(0).normal(size=48)
    >>> fit = spatio_temporal_fay_herriot(direct, np.full(48, 0.04), area=area, period=year,
    ...                                   proximity=pairs)
    >>> type(fit).__name__, fit.model, dict(fit.estimates.sizes)
    ('SpatioTemporalResult', 'ar1', {'area': 16, 'period': 3})
    >>> print(fit.summary().splitlines()[0])
    Spatio-temporal Fay–Herriot model (ar1), method='reml', areas=16, periods=3
    """

    model: str = "ar1"
    method: str = "reml"
    sigma2_area: float = float("nan")
    rho_space: float = float("nan")
    sigma2_time: float = float("nan")
    rho_time: float = float("nan")
    variance_components_se: dict[str, float] = dataclasses.field(default_factory=dict)
    beta: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    beta_se: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    covariate_names: tuple[str, ...] = ()
    level: float = 0.95
    converged: bool = True
    iterations: int = 0
    loglik: float = float("nan")
    diagnostics: dict[str, Any] = dataclasses.field(default_factory=dict)
    mse_terms: MseTerms | None = None

    def coefficients(self) -> pd.DataFrame:
        """Regression coefficients with standard errors and z values."""
        return pd.DataFrame({"coef": self.beta, "se": self.beta_se,
                             "z": self.beta / self.beta_se},
                            index=pd.Index(list(self.covariate_names), name="term"))

    def summary(self) -> str:
        """A short plain-text report: variance components and coefficients."""
        est = self.estimates
        se = self.variance_components_se
        lines = [
            f"Spatio-temporal Fay–Herriot model ({self.model}), method={self.method!r}, "
            f"areas={est.sizes['area']}, periods={est.sizes['period']}",
            f"area effects (SAR): sigma2 = {self.sigma2_area:.4g} (se {se.get('sigma2_area',
                                                                             np.nan):.2g}), "
            f"rho = {self.rho_space:.4f} (se {se.get('rho_space', np.nan):.2g})",
            f"area-by-period effects: sigma2 = {self.sigma2_time:.4g} "
            f"(se {se.get('sigma2_time', np.nan):.2g})"
            + (f", rho = {self.rho_time:.4f} (se {se.get('rho_time', np.nan):.2g})"
               if self.model == "ar1" else ""),
            f"converged={self.converged} iterations={self.iterations} loglik={self.loglik:.6g}",
            "",
            self.coefficients().to_string(float_format=lambda x: f"{x:.4g}"),
        ]
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class MultivariateFayHerriotResult(Result):
    """A fitted multivariate Fay–Herriot model.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over ``area`` × ``crime_type``: ``estimate`` (EBLUP), ``mse`` ($g_1+g_2+2g_3$),
        ``rmse``, ``lower``, ``upper`` (normal, at ``attrs["level"]``), ``cv``, ``direct``,
        ``direct_variance`` and ``synthetic``.
    sigma_u : numpy.ndarray
        Estimated $K \\times K$ covariance of the area effects.
    correlation_u : numpy.ndarray
        The corresponding correlation matrix.
    beta : numpy.ndarray
        $p \\times K$ coefficients (intercept first), GLS given $\\hat\\Sigma_u$.
    beta_se : numpy.ndarray
        Their standard errors, same shape.
    method : str
    loglik : float
        Maximised (restricted) log-likelihood.
    converged : bool
    mse_terms : MseTerms or None
        The MSE term by term, each of shape ``(area, K, K)`` (``mse`` is the diagonal of
        their total).

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import multivariate_fay_herriot
    >>> rng = np.random.default_rng(2)
    >>> u = rng.multivariate_normal([0, 0], [[1.0, 0.8], [0.8, 1.0]], 50)
    >>> y = np.array([10.0, 6.0]) + u + rng.normal(0, 1.0, (50, 2))
    >>> fit = multivariate_fay_herriot(y, np.ones((50, 2)), crime_types=["burglary", "vehicle"])
    >>> type(fit).__name__, dict(fit.estimates.sizes)
    ('MultivariateFayHerriotResult', {'area': 50, 'crime_type': 2})
    >>> fit.correlation_u.shape, fit.sigma_u.shape
    ((2, 2), (2, 2))
    """

    sigma_u: np.ndarray = dataclasses.field(default_factory=lambda: np.empty((0, 0)))
    correlation_u: np.ndarray = dataclasses.field(default_factory=lambda: np.empty((0, 0)))
    beta: np.ndarray = dataclasses.field(default_factory=lambda: np.empty((0, 0)))
    beta_se: np.ndarray = dataclasses.field(default_factory=lambda: np.empty((0, 0)))
    method: str = "reml"
    loglik: float = float("nan")
    converged: bool = True
    mse_terms: MseTerms | None = None

    def summary(self) -> str:
        """Plain-text report: area-effect covariance and correlation, coefficients."""
        types = [str(t) for t in self.estimates["crime_type"].values]
        lines = [f"Multivariate Fay–Herriot, method={self.method!r}, "
                 f"areas={self.estimates.sizes['area']}, crime types={types}",
                 "area-effect SDs: " + ", ".join(f"{t} {s:.4g}" for t, s in
                                                  zip(types, np.sqrt(np.diag(self.sigma_u)),
                                                      strict=True)),
                 "area-effect correlations:",
                 np.array2string(self.correlation_u, precision=3)]
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class PrevalenceResult(Result):
    """A fitted area-level model for prevalences or rates.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over ``area``: ``estimate`` (posterior mean of the prevalence or rate; for the
        arcsine model the bias-corrected back-transformed EBLUP), ``sd`` (posterior SD) or
        ``rmse`` (arcsine model), ``lower``, ``upper`` (at ``attrs["level"]``), ``cv``,
        ``direct``, ``direct_variance``, ``synthetic`` (the model's prediction from the
        covariates alone, averaged over the area effect), ``standardised_residual``,
        ``effective_sample_size`` (binomial/arcsine) or ``effective_exposure`` (Poisson) and
        ``in_sample``.
    model : str
        ``"logit-binomial"``, ``"poisson-lognormal"`` or ``"arcsin-fay-herriot"``.
    beta, beta_se : numpy.ndarray
        Coefficients on the link scale (logit, log or arcsine-square-root), intercept first:
        posterior means and SDs (EBLUP estimates and standard errors for arcsine).
    sigma2_u : float
        Variance of the area effect on the link scale (posterior mean; REML/ML/FH estimate
        for arcsine).
    sigma2_u_se : float
        Its posterior SD (NaN for arcsine).
    covariate_names : tuple of str
    level : float
    loglik : float
        Marginal log-likelihood at the posterior mode of $\\sigma_u$ and the
        conditional mode of $\\beta$ (NaN for arcsine).
    converged : bool
    per : float
        Unit of rates: estimates are per ``per`` units of exposure (1 for prevalences).
    diagnostics : dict
        Extras: the grid of $\\sigma_u$ and its posterior weights, the posterior mode
        of $\\sigma_u$; the transformed-scale fit for arcsine.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import logit_binomial
    >>> p = np.array([0.02, 0.05, 0.0, 0.08, 0.04, 0.03, 0.06, np.nan])
    >>> n = np.array([400, 150, 60, 300, 200, 500, 90, 0])
    >>> fit = logit_binomial(p, n, design_effect=1.2)
    >>> type(fit).__name__, fit.model
    ('PrevalenceResult', 'logit-binomial')
    >>> fit.estimates["estimate"].values.round(3).tolist()
    [0.023, 0.047, 0.021, 0.074, 0.04, 0.031, 0.053, 0.062]
    >>> print(fit.summary().splitlines()[0])
    logit-binomial model, areas=8 (out of sample: 1)
    """

    model: str = "logit-binomial"
    beta: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    beta_se: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    sigma2_u: float = float("nan")
    sigma2_u_se: float = float("nan")
    covariate_names: tuple[str, ...] = ()
    level: float = 0.95
    loglik: float = float("nan")
    converged: bool = True
    per: float = 1.0
    diagnostics: dict[str, Any] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        """Plain-text report: model, variance of the area effect, coefficients, estimates."""
        est = self.estimates
        lines = [f"{self.model} model, areas={est.sizes['area']} "
                 f"(out of sample: {int((~est['in_sample']).sum())})",
                 f"sigma2_u = {self.sigma2_u:.4g} (link scale)   converged={self.converged}"]
        return "\n".join(lines + self._coefficient_lines())

    def _coefficient_lines(self) -> list[str]:
        """The coefficient table and the range of the estimates, for [`summary`][summary]."""
        lines = [f"{'term':<20} {'coef':>10} {'se':>10}"]
        lines += [f"{n:<20} {b:>10.4g} {s:>10.4g}"
                  for n, b, s in zip(self.covariate_names, self.beta, self.beta_se, strict=True)]
        e = self.estimates["estimate"].values
        lines.append(f"estimates (per {self.per:g}): median {np.median(e):.4g}, "
                     f"range {e.min():.4g}–{e.max():.4g}")
        return lines


@dataclasses.dataclass(frozen=True)
class _SpatialEffects:
    """Posterior summaries of the BYM2/ICAR hyperparameters, shared by the spatial results.

    The attributes are documented on [`BYM2Result`][BYM2Result].
    """

    sigma: float = float("nan")
    sigma_sd: float = float("nan")
    sigma_interval: tuple[float, float] = (float("nan"), float("nan"))
    phi: float = float("nan")
    phi_sd: float = float("nan")
    phi_interval: tuple[float, float] = (float("nan"), float("nan"))
    scaling_factors: dict[int, float] = dataclasses.field(default_factory=dict)
    n_nodes: int = 0
    islands: tuple = ()

    def _hyper_lines(self, spatial: str, scale: str = "") -> list[str]:
        """Report lines for sigma (and phi for BYM2); ``scale`` is appended to sigma's."""
        level = getattr(self, "level", 0.95)
        lo, hi = self.sigma_interval
        lines = [f"sigma = {self.sigma:.4g} (sd {self.sigma_sd:.3g}, {level:.0%} interval "
                 f"{lo:.4g}–{hi:.4g}){scale}"]
        if spatial == "bym2":
            plo, phi_hi = self.phi_interval
            lines.append(f"phi   = {self.phi:.3f} (sd {self.phi_sd:.3f}, {level:.0%} "
                         f"interval {plo:.3f}–{phi_hi:.3f})   spatial share of the variance")
        return lines


@dataclasses.dataclass(frozen=True)
class BYM2Result(_SpatialEffects, FayHerriotResult):
    """A fitted spatial hierarchical Bayes Fay–Herriot model (ICAR or BYM2 area effects).

    All attributes of [`FayHerriotResult`][crimestats.sae.FayHerriotResult] (``estimates``, ``beta``,
    ``beta_se``, ...), with ``method="hb"``, ``sigma2_u`` the posterior mean of
    $\\sigma^2$ (the marginal variance scale of the area effects), plus:

    Attributes
    ----------
    model : str
        ``"bym2"`` or ``"icar"``.
    sigma : float
        Posterior mean of $\\sigma$, the standard deviation of the area effects.
    sigma_sd : float
        Its posterior standard deviation.
    sigma_interval : tuple of float
        Equal-tailed credible interval for $\\sigma$ at ``level``, read from the grid
        of nodes with the density spread within each node's cell (ends within about 2% of
        ``sigma_sd`` of a brute-force integration).
    phi : float
        Posterior mean of $\\phi$, the spatial share of the area-effect variance
        (1 for ``model="icar"``).
    phi_sd : float
        Its posterior standard deviation (0 for ICAR).
    phi_interval : tuple of float
        Credible interval for $\\phi$, as for ``sigma_interval``.
    scaling_factors : dict
        Scaling factor $s_c$ of each connected component with two or more areas, keyed
        by component number (``estimates["component"]``).
    n_nodes : int
        Number of quadrature nodes over the hyperparameters.
    islands : tuple
        Labels of the areas with no neighbour.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import bym2
    >>> pairs = [(i, i + 1) for i in range(9)]          # ten areas along a line
    >>> direct = np.array([1.0, 1.2, 1.5, 1.4, 2.0, 2.2, 2.1, 2.6, 2.5, 3.0])
    >>> fit = bym2(direct, np.full(10, 0.1), adjacency=pairs)
    >>> type(fit).__name__, fit.model
    ('BYM2Result', 'bym2')
    >>> print(fit.summary().splitlines()[0])
    Spatial HB Fay–Herriot model (BYM2), areas=10 (out of sample: 0), islands=0, components=1
    """

    model: str = "bym2"

    def summary(self) -> str:
        """A short plain-text report: model, hyperparameters, coefficients."""
        est = self.estimates
        n_out = int((~est["in_sample"]).sum())
        n_comp = int(np.unique(est["component"].values).size)
        lines = [
            f"Spatial HB Fay–Herriot model ({self.model.upper()}), areas={est.sizes['area']} "
            f"(out of sample: {n_out}), islands={len(self.islands)}, components={n_comp}",
            *self._hyper_lines(self.model),
        ]
        factors = ", ".join(f"{c}: {s:.4g}" for c, s in self.scaling_factors.items())
        lines += [f"scaling factors by component: {factors or 'none (no component)'}",
                  f"quadrature nodes: {self.n_nodes}", "",
                  self.coefficients().to_string(float_format=lambda x: f"{x:.4g}")]
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class SpatialPrevalenceResult(_SpatialEffects, PrevalenceResult):
    """A binomial or Poisson area-level model with spatial (BYM2 or ICAR) area effects.

    All attributes of [`PrevalenceResult`][crimestats.sae.PrevalenceResult]; ``sigma2_u`` and
    ``sigma2_u_se`` are the posterior mean and SD of $\\sigma^2$ (the variance of the
    area effects on the link scale), ``loglik`` is NaN. ``estimates`` also holds
    ``component`` (connected component of the adjacency) and ``island``. Plus:

    Attributes
    ----------
    spatial : str
        ``"bym2"`` or ``"icar"``.
    sigma, sigma_sd : float
        Posterior mean and SD of $\\sigma$, the SD of the area effects (link scale).
    sigma_interval : tuple of float
        Equal-tailed credible interval for $\\sigma$ at ``level``.
    phi, phi_sd : float
        Posterior mean and SD of $\\phi$, the spatial share of the area-effect variance
        (1 and 0 for ICAR).
    phi_interval : tuple of float
        Credible interval for $\\phi$.
    scaling_factors : dict
        ICAR scaling factor of each connected component with two or more areas.
    n_nodes : int
        Quadrature nodes over $(\\log\\sigma, \\operatorname{logit}\\phi)$.
    islands : tuple
        Labels of the areas with no neighbour.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import logit_binomial
    >>> pairs = [(i, i + 1) for i in range(7)]                 # eight areas along a line
    >>> p = np.array([0.02, 0.03, 0.05, np.nan, 0.06, 0.08, 0.07, 0.10])
    >>> n = np.array([200, 150, 300, 0, 250, 100, 200, 150])
    >>> fit = logit_binomial(p, n, adjacency=pairs)
    >>> type(fit).__name__, fit.spatial
    ('SpatialPrevalenceResult', 'bym2')
    >>> print(fit.summary().splitlines()[0])
    logit-binomial model with BYM2 area effects, areas=8 (out of sample: 1), islands=0
    """

    spatial: str = "bym2"

    def summary(self) -> str:
        """Plain-text report: model, hyperparameters, coefficients, estimates."""
        est = self.estimates
        lines = [f"{self.model} model with {self.spatial.upper()} area effects, "
                 f"areas={est.sizes['area']} (out of sample: {int((~est['in_sample']).sum())}"
                 f"), islands={len(self.islands)}",
                 *self._hyper_lines(self.spatial, ", link scale")]
        return "\n".join(lines + self._coefficient_lines())


@dataclasses.dataclass(frozen=True)
class MRPResult(Result):
    """Post-stratified prevalence estimates from a logistic mixed model.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over ``area``: ``estimate`` (posterior mean prevalence, 0–1), ``sd``, ``lower``,
        ``upper`` (equal-tailed, at ``attrs["level"]``), ``cv``, ``synthetic`` (the
        post-stratified regression prediction without the area effect, $u_a = 0$),
        ``respondents``, ``victims``, ``population`` and ``in_sample``.
    beta, beta_se : numpy.ndarray
        Posterior means and SDs of the coefficients (logit scale), intercept first.
    sigma2_u : float
        Posterior mean of the area-effect variance (logit scale).
    covariate_names : tuple of str
    level : float
    converged : bool

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from crimestats.sae import mrp
    >>> rng = np.random.default_rng(0)
    >>> people = pd.DataFrame({"area": rng.choice(["a", "b", "c"], 300),   # area d: no sample
    ...                        "age": rng.choice(["16-34", "35+"], 300)})
    >>> people["victim"] = rng.uniform(size=300) < np.where(people["age"] == "16-34", 0.2, 0.1)
    >>> cells = pd.DataFrame({"area": np.repeat(["a", "b", "c", "d"], 2),
    ...                       "age": ["16-34", "35+"] * 4, "adults": [500, 700] * 4})
    >>> fit = mrp(people, cells, outcome="victim", area="area", covariates=["age"],
    ...           population="adults")
    >>> type(fit).__name__, fit.estimates["in_sample"].values.tolist()
    ('MRPResult', [True, True, True, False])
    >>> print(fit.summary().splitlines()[0])
    MRP (logistic mixed model), areas=4 (no respondents: 1), respondents=300
    """

    beta: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    beta_se: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    sigma2_u: float = float("nan")
    covariate_names: tuple[str, ...] = ()
    level: float = 0.95
    converged: bool = True

    def summary(self) -> str:
        """Plain-text report: coefficients, area-effect variance, estimates."""
        est = self.estimates
        lines = [f"MRP (logistic mixed model), areas={est.sizes['area']} "
                 f"(no respondents: {int((~est['in_sample']).sum())}), "
                 f"respondents={int(est['respondents'].sum())}",
                 f"sigma2_u = {self.sigma2_u:.4g} (logit scale)   converged={self.converged}"]
        lines += [f"{n:<24} {b:>9.4g} {s:>9.4g}"
                  for n, b, s in zip(self.covariate_names, self.beta, self.beta_se, strict=True)]
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class UnitLevelResult(Result):
    """A fitted nested-error (Battese–Harter–Fuller) unit-level model.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over dimension ``area`` (the domains, labels as given): ``estimate`` (EBLUP of the
        domain mean), ``mse``, ``rmse``, ``lower``, ``upper`` (normal interval at
        ``attrs["level"]``), ``cv``, ``sample_size``, ``population_size``, ``sample_mean``
        (NaN for domains with no sample), ``synthetic`` ($\\bar X_d^\\top\\hat\\beta$),
        ``random_effect`` ($\\hat u_d$), ``shrinkage_weight``
        ($\\hat\\gamma_d$) and ``in_sample``.
    method : str
        ``"reml"`` or ``"ml"``.
    sigma2_u, sigma2_e : float
        Domain-effect and unit-error variances.
    beta, beta_se : numpy.ndarray
        Regression coefficients (intercept first) and standard errors.
    covariate_names : tuple of str
        Names of the coefficients in ``beta``.
    mse_method : str
        ``"analytic"`` (Prasad–Rao), ``"bootstrap"`` (parametric bootstrap) or ``"none"``.
    level : float
        Interval level.
    loglik : float
        Maximised (restricted, for REML) log-likelihood, as R ``lme4`` reports it.
    diagnostics : dict
        Extras: asymptotic covariance of the variance components, MSE terms, bootstrap
        replicates used.
    mse_terms : MseTerms or None
        The analytic MSE term by term before the finite-population factor $(1 - f_d)^2$
        (``mse="analytic"``; None otherwise).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from crimestats.sae import unit_level
    >>> rng = np.random.default_rng(2)
    >>> dom = np.repeat(["a", "b", "c", "d", "e", "f"], [2, 3, 4, 5, 6, 8])
    >>> x = rng.normal(size=dom.size)
    >>> y = 1 + 2 * x + rng.normal(size=dom.size)
    >>> means = pd.DataFrame({"x": np.zeros(6)}, index=list("abcdef"))
    >>> fit = unit_level(y, pd.DataFrame({"x": x}), dom, means, pd.Series(50, index=list("abcdef")))
    >>> type(fit).__name__, fit.method, fit.estimates["estimate"].shape
    ('UnitLevelResult', 'reml', (6,))
    >>> print(fit.summary().splitlines()[0])
    Nested-error unit-level model (BHF), method='reml', domains=6 (no sample: 0), units=28
    """

    method: str = "reml"
    sigma2_u: float = float("nan")
    sigma2_e: float = float("nan")
    beta: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    beta_se: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    covariate_names: tuple[str, ...] = ()
    mse_method: str = "analytic"
    level: float = 0.95
    loglik: float = float("nan")
    diagnostics: dict[str, Any] = dataclasses.field(default_factory=dict)
    mse_terms: MseTerms | None = None

    def coefficients(self) -> pd.DataFrame:
        """Regression coefficients with standard errors and t values."""
        return pd.DataFrame({"coef": self.beta, "se": self.beta_se,
                             "t": self.beta / self.beta_se},
                            index=pd.Index(list(self.covariate_names), name="term"))

    def summary(self) -> str:
        """A short plain-text report: variance components, coefficients, domains."""
        est = self.estimates
        n_out = int((~est["in_sample"]).sum())
        return "\n".join([
            f"Nested-error unit-level model (BHF), method={self.method!r}, "
            f"domains={est.sizes['area']} (no sample: {n_out}), "
            f"units={int(est['sample_size'].sum())}",
            f"sigma2_u = {self.sigma2_u:.6g}   sigma2_e = {self.sigma2_e:.6g}   "
            f"loglik = {self.loglik:.6g}   MSE: {self.mse_method}",
            "",
            self.coefficients().to_string(float_format=lambda x: f"{x:.4g}"),
        ])


@dataclasses.dataclass(frozen=True)
class BenchmarkResult(Result):
    """Benchmarked small-area estimates.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over dimension ``area``: ``estimate`` (benchmarked), ``unbenchmarked``, ``adjustment``
        (benchmarked minus unbenchmarked), ``weight``, ``group``; when an MSE or posterior draws
        are available also ``rmse`` (or ``sd`` for draws), ``lower``, ``upper`` (at
        ``attrs["level"]``) and ``cv``.
    method : str
        ``"ratio"``, ``"difference"`` or ``"mse"``.
    targets : dict
        Benchmark $T_g$ per group (``{"all": T}`` without groups).
    totals_before : dict
        Weighted sum $\\sum_{i\\in g} w_i\\hat\\theta_i$ per group before benchmarking
        (posterior mean of the sum for draws).
    ratios : dict
        $T_g / \\sum_{i\\in g} w_i\\hat\\theta_i$ per group (how far off the model was).
    level : float
        Level of the intervals (NaN when no intervals were computed).
    draws : numpy.ndarray or None
        Benchmarked posterior draws, shape ``(n_draws, m)`` ([`benchmark_draws`][benchmark_draws] only).

    Examples
    --------
    >>> from crimestats.sae import benchmark
    >>> fit = benchmark([0.10, 0.20, 0.30], 0.24, weights=[0.5, 0.3, 0.2])
    >>> type(fit).__name__, fit.method, round(fit.ratios["all"], 4)
    ('BenchmarkResult', 'ratio', 1.4118)
    >>> list(fit.to_dataframe().columns)
    ['estimate', 'unbenchmarked', 'adjustment', 'weight', 'group']
    """

    method: str = "ratio"
    targets: dict[Hashable, float] = dataclasses.field(default_factory=dict)
    totals_before: dict[Hashable, float] = dataclasses.field(default_factory=dict)
    ratios: dict[Hashable, float] = dataclasses.field(default_factory=dict)
    level: float = float("nan")
    draws: np.ndarray | None = None

    _skip_in_dict: ClassVar[tuple[str, ...]] = ("idata", "draws")

    def summary(self) -> str:
        """Plain-text report: targets, sums before benchmarking and the adjustments made."""
        adj = self.estimates["adjustment"].values
        lines = [f"Benchmarking, method={self.method!r}, areas={adj.size}",
                 f"{'group':<20} {'target':>12} {'sum before':>12} {'ratio':>9}"]
        for g, target in self.targets.items():
            lines.append(f"{str(g):<20} {target:>12.6g} {self.totals_before[g]:>12.6g} "
                         f"{self.ratios[g]:>9.4f}")
        lines.append(f"adjustment per area: min {adj.min():.4g}, median {np.median(adj):.4g}, "
                     f"max {adj.max():.4g}")
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class DiagnosticsResult(Result):
    """Diagnostics of a fitted area-level model.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over ``area``: ``estimate``, ``direct``, ``shrinkage`` (the fit's own
        $B_i$, or the effective shrinkage $1 - \\mathrm{MSE}_i/D_i$; see above),
        ``cv_direct``, ``cv_model``, ``cv_gain`` (direct CV / model CV),
        ``standardised_residual`` (NaN when the fit has no synthetic part and
        $\\sigma_u^2$), and ``ppc_pvalue`` (per-area $P(y^{rep}_i \\le y_i)$) for
        Bayesian fits. Areas without a direct estimate have NaN in the direct-based columns.
    median_cv_gain : float
        Median of ``cv_gain`` over areas with a direct estimate.
    residual_normality : dict
        ``test`` (Shapiro–Wilk, or D'Agostino–Pearson above 5,000 areas), ``statistic``,
        ``p_value``, ``skewness`` and ``excess_kurtosis`` of the standardised residuals.
    calibration : dict
        OLS of direct on model estimates: ``intercept``, ``slope``, their heteroscedasticity-
        robust (HC0) ``intercept_se``/``slope_se``, ``slope_under_model`` (what the slope
        should be if the model holds; see [`diagnostics`][diagnostics]), ``z`` and ``p_value`` for the
        slope against that value.
    ppc : dict or None
        Posterior predictive check: ``p_value`` of the discrepancy
        $\\sum_i (y_i-\\theta_i)^2/D_i$, the number of draws used.
    loo : dict or None
        PSIS-LOO: ``elpd_loo``, ``se``, ``p_loo``, ``max_pareto_k``, ``n_bad_k`` (k > 0.7).

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import diagnostics, fay_herriot
    >>> rng = np.random.default_rng(2)
    >>> x, d = rng.uniform(0, 1, 30), rng.uniform(0.005, 0.02, 30)
    >>> y = 0.1 + 0.2 * x + rng.normal(0, 0.05, 30) + rng.normal(0, np.sqrt(d))
    >>> diag = diagnostics(fay_herriot(y, d, x))
    >>> type(diag).__name__, round(diag.median_cv_gain, 2), diag.residual_normality["test"]
    ('DiagnosticsResult', 1.75, 'shapiro-wilk')
    >>> print(diag.summary().splitlines()[0])
    Small-area model diagnostics, areas=30
    """

    median_cv_gain: float = float("nan")
    residual_normality: dict[str, Any] = dataclasses.field(default_factory=dict)
    calibration: dict[str, float] = dataclasses.field(default_factory=dict)
    ppc: dict[str, Any] | None = None
    loo: dict[str, Any] | None = None

    def summary(self) -> str:
        """Plain-text report of the headline diagnostics."""
        norm, cal = self.residual_normality, self.calibration
        lines = [
            f"Small-area model diagnostics, areas={self.estimates.sizes['area']}",
            f"median CV gain over direct: {self.median_cv_gain:.3f}",
            f"standardised residuals: {norm.get('test')} p = {norm.get('p_value', np.nan):.3g}, "
            f"skewness {norm.get('skewness', np.nan):.3f}, "
            f"excess kurtosis {norm.get('excess_kurtosis', np.nan):.3f}",
            f"calibration direct ~ model: intercept {cal['intercept']:.4g} "
            f"(se {cal['intercept_se']:.2g}), slope {cal['slope']:.4g} (se {cal['slope_se']:.2g}; "
            f"expected {cal['slope_under_model']:.4g}, p = {cal['p_value']:.3g})",
        ]
        if self.ppc is not None:
            lines.append(f"posterior predictive p-value (chi-square discrepancy): "
                         f"{self.ppc['p_value']:.3f}")
        if self.loo is not None:
            lines.append(f"PSIS-LOO elpd {self.loo['elpd_loo']:.2f} (se {self.loo['se']:.2f}), "
                         f"p_loo {self.loo['p_loo']:.2f}, max Pareto k "
                         f"{self.loo['max_pareto_k']:.2f}")
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class FayHerriotManyResult(Result):
    """Fay–Herriot EBLUPs of many tables.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over ``area`` and the table dimensions of the input (e.g. ``crime_type``, ``year``):
        ``estimate``, ``mse``, ``rmse``, ``lower``, ``upper``, ``cv``, ``direct``,
        ``direct_variance``, ``shrinkage``, ``synthetic`` and ``in_sample``, as in
        [`fay_herriot`][crimestats.sae.fay_herriot] for one table.
    parameters : xarray.Dataset
        Over the table dimensions: ``sigma2_u``, ``converged``, ``iterations``; over
        ``coef`` and the table dimensions: ``beta`` and ``beta_se`` (intercept first).
    method : str
        ``"reml"``, ``"ml"`` or ``"fh"``.
    covariate_names : tuple of str
        Names along ``coef``.
    level : float
        Level of the intervals.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from crimestats.sae import fay_herriot_many
    >>> rng = np.random.default_rng(0)
    >>> variance = xr.DataArray(rng.uniform(0.5, 2, (30, 4)), dims=("area", "table"))
    >>> direct = 10 + rng.normal(size=(30, 4)) + rng.normal(size=(30, 4)) * np.sqrt(variance)
    >>> fit = fay_herriot_many(direct, variance)
    >>> print(fit.summary())
    Fay–Herriot EBLUP (reml) of 4 tables (table: 4) over 30 areas
    sigma2_u: median 1.017, range 0.2574–1.595; zero in 0 tables; all converged
    """

    parameters: xr.Dataset = dataclasses.field(default_factory=xr.Dataset)
    method: str = "reml"
    covariate_names: tuple[str, ...] = ()
    level: float = 0.95

    def summary(self) -> str:
        """A short plain-text report: tables, areas, the spread of sigma2_u, convergence."""
        s2 = self.parameters["sigma2_u"].values.ravel()
        tables = {str(k): int(n) for k, n in self.parameters["sigma2_u"].sizes.items()}
        shape = ", ".join(f"{k}: {n}" for k, n in tables.items())
        n_conv = int(self.parameters["converged"].sum())
        conv = "all converged" if n_conv == s2.size else f"{s2.size - n_conv} not converged"
        return "\n".join([
            f"Fay–Herriot EBLUP ({self.method}) of {s2.size} tables ({shape}) over "
            f"{self.estimates.sizes['area']} areas",
            f"sigma2_u: median {np.median(s2):.4g}, range {s2.min():.4g}–{s2.max():.4g}; "
            f"zero in {int((s2 == 0).sum())} tables; {conv}",
        ])
