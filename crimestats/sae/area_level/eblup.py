"""The Fay–Herriot area-level model: `fay_herriot`, the front-end of the area-level EBLUPs.

The model (Rao & Molina 2015, ch. 6) for areas $i = 1, \\dots, m$:

$$
\\hat\\theta_i^{\\text{direct}} = \\theta_i + e_i, \\quad
\\theta_i = x_i^\\top \\beta + u_i, \\quad
u_i \\sim N(0, \\sigma_u^2), \\quad e_i \\sim N(0, D_i),
$$

with known sampling variances $D_i$. `fay_herriot` validates the inputs once
(`crimestats.sae.area_level.inputs`) and hands them to the fit its arguments name: the EBLUP
with a variance-component method (`crimestats.sae.area_level.variance`) and an MSE estimator
(`crimestats.sae.area_level.mse`), the hierarchical Bayes fit
(`crimestats.sae.area_level.hb`), or the spatial SAR model (`crimestats.sae.area_level.sar`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ... import _validate as v
from ...errors import ConvergenceWarning, DataWarning, InputError
from .._estimates import eblup_dataset
from ..modes import HierarchicalBayes, SAREffects, fay_herriot_mode, fay_herriot_spatial
from ..results import FayHerriotResult
from . import mse as mse_estimators
from .inputs import prepare_inputs
from .model import fit_model
from .variance import VARIANCE_METHODS

__all__ = ["check_fit_finite", "fay_herriot", "fit_eblup"]

logger = logging.getLogger(__name__)


def fay_herriot(
    direct: Any,
    variance: Any,
    covariates: Any = None,
    *,
    method: str | HierarchicalBayes = "reml",
    intercept: bool = True,
    areas: Any = None,
    covariate_names: Sequence[str] | None = None,
    data: pd.DataFrame | None = None,
    level: float = 0.95,
    proximity: Any = None,
    prior: Any = None,
    random_seed: Any = None,
    draws: int = 1000,
    sampler: str = "exact",
    theta_draws: bool | None = None,
    max_iter: int = 100,
    tol: float = 1e-12,
    algorithm: str = "auto",
    traces: str = "auto",
    probes: int = 400,
    mse: Any = "analytic",
    spatial: SAREffects | None = None,
) -> FayHerriotResult:
    """Fit the Fay–Herriot area-level model and predict every area's true value.

    Model, for areas $i = 1, \\dots, m$ with known sampling variances $D_i$:

    $$
    y_i = x_i^\\top\\beta + u_i + e_i, \\qquad u_i \\sim N(0, \\sigma_u^2), \\qquad
    e_i \\sim N(0, D_i),
    $$

    where $y_i$ is the direct (survey) estimate and $\\theta_i = x_i^\\top\\beta + u_i$
    the quantity of interest. The EBLUP shrinks each direct estimate towards the regression
    (synthetic) prediction in proportion to its noise:

    $$
    \\hat\\theta_i = (1 - B_i)\\, y_i + B_i\\, x_i^\\top\\hat\\beta, \\qquad
    B_i = D_i / (\\hat\\sigma_u^2 + D_i),
    $$

    with $\\hat\\beta$ the GLS estimate given $\\hat\\sigma_u^2$. The MSE is the
    second-order approximation of Prasad & Rao (1990) with the corrections that R ``sae::mseFH``
    uses: $g_1 + g_2 + 2 g_3$ for REML, plus the Datta–Lahiri bias term for ML and the
    moment estimator's own $g_3$ and bias term for ``"fh"``. Areas with no direct estimate
    (``direct`` and ``variance`` both NaN) get the synthetic estimate
    $x_i^\\top\\hat\\beta$ with MSE $\\hat\\sigma_u^2 + x_i^\\top \\widehat{\\mathrm{Var}}(\\hat\\beta) x_i - b(\\hat\\sigma_u^2)$,
    where $b$ is the first-order bias of $\\hat\\sigma_u^2$ (zero for REML), bounded
    below by $x_i^\\top \\widehat{\\mathrm{Var}}(\\hat\\beta) x_i$.

    Parameters
    ----------
    direct : array-like of shape (m,) or str
        Direct estimates $y_i$, in the units of the analysis (e.g. a proportion, or
        incidents per 1,000 residents). NaN (together with ``variance``) marks an area with no
        sample, which gets the synthetic estimate. A column name when ``data`` is given.
    variance : array-like of shape (m,) or str
        Sampling variances $D_i$ of the direct estimates (squared standard errors, in the
        squared units of ``direct``), treated as known. Must be positive. A column name when
        ``data`` is given.
    covariates : array-like of shape (m, p), DataFrame, str or list of str, optional
        Area-level covariates, **without** an intercept column. With ``data`` (or when
        ``covariates`` is a DataFrame), columns are used by name: numeric and boolean columns as
        they are; text and ``category`` columns are one-hot encoded with the first level dropped
        (as R's ``as.factor``), named ``"column[T.level]"``. To treat numeric codes as
        categories, convert the column first: ``df["region"] = df["region"].astype("category")``.
        None fits an intercept-only model.
    method : {"reml", "ml", "fh", "hb"} or HierarchicalBayes
        Estimator of $\\sigma_u^2$: restricted maximum likelihood, maximum likelihood, the
        Fay–Herriot moment method (the registered variance-component methods), or
        hierarchical Bayes (posterior with the area effects integrated out), given as ``"hb"``
        with ``prior``, ``draws``, ``sampler``, ``theta_draws``, or as
        [`HierarchicalBayes`][crimestats.sae.HierarchicalBayes] holding them.
    intercept : bool
        Add an intercept column (first coefficient, named ``"intercept"``).
    areas : array-like of shape (m,) or str, optional
        Unique area labels (a column name with ``data``). Default: ``data``'s index, the index
        of ``direct`` when it is a Series, else ``0 .. m-1``.
    covariate_names : sequence of str, optional
        Names of the covariate columns (without the intercept); default ``x1 .. xp`` for arrays
        and the column names for data frames.
    data : pandas.DataFrame, optional
        Table holding the columns named by ``direct``, ``variance``, ``covariates``, ``areas``.
    level : float
        Level of the normal prediction intervals ``estimate ± z * rmse`` (credible level for HB).
    proximity : array-like of shape (m, m), optional
        Row-standardised proximity matrix; when given, the spatial (SAR) Fay–Herriot model is
        fitted instead (the same as ``spatial=SAREffects(proximity)``).
    prior : optional
        Priors for ``method="hb"`` (see the hierarchical Bayes guide); only valid with HB.
    random_seed : int or numpy.random.Generator, optional
        Seed of the posterior draws for ``method="hb"``, of the bootstrap MSE, and of the
        Monte Carlo second-order MSE terms of the spatial model above 2,000 sampled areas
        (default there: 0, so repeated fits agree); unused by the other EBLUP fits.
    draws : int
        Number of posterior draws for ``method="hb"`` kept in ``idata`` (0 keeps none); unused
        by the EBLUP methods.
    sampler : {"exact", "nuts"}
        How ``method="hb"`` computes the posterior: ``"exact"`` (quadrature over
        $\\sigma_u$, independent exact draws; the default) or ``"nuts"`` (PyMC's NUTS on
        the same marginal model, for cross-checking; reports r-hat, ESS and divergences).
    theta_draws : bool, optional
        Whether ``method="hb"`` stores per-area draws of $\\theta$ in ``idata``; by
        default only when ``draws * m`` is at most 10 million values.
    max_iter : int
        Maximum iterations of the variance estimation (Fisher scoring).
    tol : float
        Convergence tolerance: iterations stop when the change in $\\hat\\sigma_u^2$ is below
        ``tol * (sigma2_u + min(D))``.
    algorithm : {"auto", "dense", "sparse"}
        Spatial model only (``proximity``): dense ``m × m`` algebra as R ``sae``, or the sparse
        precision form that needs no ``m × m`` matrix; ``"auto"`` is dense up to 500 areas
        (see `crimestats.sae.spatial.fit_spatial_fay_herriot`).
    traces : {"auto", "exact", "monte_carlo"}
        Spatial model only: how the sparse path computes the second-order MSE terms and the
        standard errors of $\\sigma_u^2, \\rho$ (``"auto"``: exact up to 2,000 sampled
        areas, a seeded Monte Carlo estimate above).
    probes : int
        Spatial model only: Monte Carlo draws for ``traces="monte_carlo"``.
    mse : {"analytic", "bootstrap"} or MSE estimator
        How the MSE of the EBLUP is estimated (``method`` "reml", "ml" or "fh" without
        ``proximity``; a registered name or an estimator object such as
        [`BootstrapMSE`][crimestats.sae.BootstrapMSE]``(replicates=500)``):
        ``"analytic"`` (default) is the second-order estimator described above;
        ``"bootstrap"`` the parametric bootstrap of González-Manteiga et al. (2008), seeded
        by ``random_seed``, whose Monte Carlo standard error is in
        ``diagnostics["bootstrap_mse_mc_se"]``.
    spatial : SAREffects, optional
        Spatial (SAR) area effects with their options
        ([`SAREffects`][crimestats.sae.SAREffects]); the same as ``proximity`` with
        ``algorithm``, ``traces`` and ``probes``.

    Returns
    -------
    FayHerriotResult
        ``estimates`` (an `xarray.Dataset` over ``area`` with ``estimate``, ``mse``,
        ``rmse``, ``lower``, ``upper``, ``cv``, ``direct``, ``direct_variance``, ``shrinkage``,
        ``synthetic``, ``in_sample``), ``sigma2_u``, ``beta`` (intercept first), ``beta_se``,
        ``covariate_names``, ``converged``, ``iterations``, ``loglik`` (Gaussian log-likelihood
        of the direct estimates at the estimates, as ``sae`` reports it) and ``diagnostics``.

    Raises
    ------
    crimestats.InputError
        NaN in only one of ``direct``/``variance``, non-positive variances, non-finite
        covariates, mismatched lengths, duplicated area labels, a singular design (the collinear
        columns are named) or no more sampled areas than coefficients.

    Warns
    -----
    crimestats.ConvergenceWarning
        The variance estimation did not converge in ``max_iter`` iterations.
    crimestats.DataWarning
        $\\hat\\sigma_u^2 = 0$: every estimate equals its synthetic part.

    References
    ----------
    Fay, R. E. and Herriot, R. A. (1979). Estimates of income for small places. *JASA* 74, 269–277.
    Prasad, N. G. N. and Rao, J. N. K. (1990). *JASA* 85, 163–171.
    Datta, G. S. and Lahiri, P. (2000). *Statistica Sinica* 10, 613–627.
    Rao, J. N. K. and Molina, I. (2015). *Small Area Estimation*, 2nd ed., Wiley, ch. 6.
    Molina, I. and Marhuenda, Y. (2015). sae: An R package for small area estimation.
    *The R Journal* 7(1), 81–98.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import fay_herriot
    >>> direct = np.array([0.10, 0.31, 0.12, 0.36, 0.17, 0.29, 0.22, np.nan])
    >>> variance = np.array([0.0010, 0.0030, 0.0008, 0.0040, 0.0012, 0.0020, 0.0030, np.nan])
    >>> deprivation = np.array([0.1, 0.5, 0.2, 0.9, 0.4, 0.3, 0.8, 0.6])
    >>> fit = fay_herriot(direct, variance, deprivation[:, None], method="reml")
    >>> print(round(fit.sigma2_u, 5), np.round(fit.beta, 3))
    0.00337 [0.107 0.246]
    >>> fit.estimates["estimate"].round(3).values
    array([0.107, 0.272, 0.127, 0.343, 0.179, 0.249, 0.26 , 0.255])
    >>> fit.estimates["shrinkage"].round(2).values
    array([0.23, 0.47, 0.19, 0.54, 0.26, 0.37, 0.47, 1.  ])
    >>> bool(fit.estimates["in_sample"][-1])
    False

    From a data frame, with a categorical covariate (one indicator per level but the first):

    >>> import pandas as pd
    >>> df = pd.DataFrame({"force": list("ABCDEFG"), "victim_rate": direct[:7],
    ...                    "se": np.sqrt(variance[:7]), "deprivation": deprivation[:7],
    ...                    "urban": ["no", "yes", "no", "no", "yes", "no", "yes"]})
    >>> df["var"] = df["se"] ** 2
    >>> fit = fay_herriot("victim_rate", "var", ["deprivation", "urban"], data=df, areas="force")
    >>> fit.covariate_names
    ('intercept', 'deprivation', 'urban[T.yes]')
    """
    name, hb = fay_herriot_mode(method, prior=prior, draws=draws, sampler=sampler,
                                theta_draws=theta_draws)
    level = v.check_level(level)
    sar = fay_herriot_spatial(spatial, proximity=proximity, algorithm=algorithm, traces=traces,
                              probes=probes)
    if sar is not None and hb is not None:
        raise InputError("The spatial model (`proximity`) is fitted by 'reml' or 'ml', not 'hb'.")
    estimator = mse_estimators.resolve(mse)
    if estimator.name != "analytic" and (hb is not None or sar is not None):
        raise InputError("`mse` applies to the basic model fitted by 'reml', 'ml' or 'fh'; the "
                         "spatial model has its own analytic MSE and 'hb' a posterior SD.")
    max_iter = v.as_positive_int(max_iter, "max_iter")
    tol = v.as_number(tol, "tol", positive=True)

    y, d, x, names, labels = prepare_inputs(
        direct, variance, covariates, intercept=intercept, areas=areas,
        covariate_names=covariate_names, data=data,
    )

    if sar is not None:
        from .sar import fit_spatial_fay_herriot

        with v.numerical_failures(f"spatial Fay–Herriot ({name})"):
            fit = fit_spatial_fay_herriot(
                y, d, x, sar.proximity, method=name, areas=labels, covariate_names=names,
                level=level, max_iter=max_iter, tol=tol, algorithm=sar.algorithm,
                traces=sar.traces, probes=sar.probes,
                random_seed=0 if random_seed is None else random_seed,
            )
    elif hb is not None:
        from .hb import fit_hb

        with v.numerical_failures("hierarchical Bayes Fay–Herriot"):
            fit = fit_hb(y, d, x, areas=labels, covariate_names=names, level=level,
                         prior=hb.prior, random_seed=random_seed, draws=hb.draws,
                         theta_draws=hb.theta_draws, sampler=hb.sampler)
    else:
        with v.numerical_failures(f"Fay–Herriot ({name})"):
            fit = fit_eblup(y, d, x, method=name, areas=labels, covariate_names=names,
                            level=level, max_iter=int(max_iter), tol=float(tol),
                            mse=estimator, random_seed=random_seed)
    check_fit_finite(fit, f"Fay–Herriot ({name})")
    return fit


def check_fit_finite(fit: Any, model: str) -> None:
    """EstimationError if a fit's estimates, uncertainties or parameters are not finite."""
    est = fit.estimates
    values = {name: est[name].values for name in ("estimate", "rmse", "lower", "upper")
              if name in est}
    values.update(sigma2_u=fit.sigma2_u, beta=fit.beta, beta_se=fit.beta_se)
    v.check_finite_result(values, model, labels=est["area"].values)


def fit_eblup(y: np.ndarray, d: np.ndarray, x: np.ndarray, *, method: str, areas: np.ndarray,
              covariate_names: tuple[str, ...], level: float, max_iter: int, tol: float,
              mse: mse_estimators.MseEstimator | None = None, random_seed: Any = None
              ) -> FayHerriotResult:
    """EBLUP and its MSE on validated inputs (NaN ``y``/``d`` = out-of-sample areas).

    ``mse`` is the MSE estimator (default the analytic one).
    """
    variance_method = VARIANCE_METHODS[method]
    fit = fit_model(variance_method, y, d, x, max_iter=max_iter, tol=tol)
    if not fit.converged:
        warnings.warn(
            f"The {method.upper()} estimation of sigma2_u did not converge in {max_iter} "
            f"iterations (last value {fit.sigma2_u:.6g}); increase `max_iter` or check the data.",
            ConvergenceWarning, stacklevel=3,
        )
    estimator = mse_estimators.MSE_ESTIMATORS["analytic"] if mse is None else mse
    inside, w, sigma2_u = fit.inside, fit.w, fit.sigma2_u
    m, p = int(inside.sum()), x.shape[1]
    estimate, synthetic = fit.eblup()
    resid = y[inside] - synthetic[inside]
    mse_estimate = estimator.estimate(fit, v.as_rng(random_seed))
    shrinkage = np.ones_like(y)
    shrinkage[inside] = fit.shrinkage
    moments = variance_method.moments(w, np.ascontiguousarray(x[inside].T), fit.cov_beta)

    loglik = float(-0.5 * np.sum(np.log(2.0 * np.pi / w) + w * resid**2))
    notes: list[str] = []
    if sigma2_u == 0.0:
        notes.append("sigma2_u was estimated as 0: every estimate equals its synthetic "
                     "(regression) part and shrinkage is 1 in every area.")
        warnings.warn(notes[-1], DataWarning, stacklevel=3)
    diagnostics: dict[str, Any] = {
        "sigma2_u_variance": float(moments.variance),
        "sigma2_u_bias": float(moments.bias),
        "aic": -2.0 * loglik + 2.0 * (p + 1),
        "bic": -2.0 * loglik + (p + 1) * np.log(m),
        "n_in_sample": int(m),
        "n_out_of_sample": int((~inside).sum()),
        "notes": notes,
        **variance_method.fit_statistics(w, resid, fit.cov_beta),
    }
    if mse_estimate.replicates:     # resampling estimators: "bootstrap_replicates", ...
        diagnostics[f"{estimator.name}_replicates"] = mse_estimate.replicates
    if mse_estimate.mc_se is not None:
        diagnostics[f"{estimator.name}_mse_mc_se"] = mse_estimate.mc_se
    logger.debug("Fay-Herriot %s: sigma2_u=%g after %d iterations", method, sigma2_u,
                 fit.iterations)

    return FayHerriotResult(
        estimates=eblup_dataset(
            {"area": areas}, estimate, mse_estimate.mse, y, d, synthetic, level=level,
            attrs={"method": method, "model": "Fay-Herriot"},
            estimate_description="model-based estimate of the area's true value",
            extra={"shrinkage": (shrinkage, "weight on the synthetic part, D / (sigma2_u + D)")},
        ),
        method=method,
        sigma2_u=float(sigma2_u),
        beta=fit.beta,
        beta_se=np.sqrt(np.diag(fit.cov_beta)),
        covariate_names=covariate_names,
        level=level,
        converged=fit.converged,
        iterations=fit.iterations,
        loglik=loglik,
        diagnostics=diagnostics,
        mse_terms=mse_estimate.terms,
        mse_method=estimator.name,
    )
