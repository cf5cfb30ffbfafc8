"""Diagnostics of fitted small-area models: is the model fit for publication?

[`diagnostics`][diagnostics] works on any fitted area-level result whose ``estimates`` hold ``estimate``,
``direct``, ``direct_variance`` and ``rmse`` (or ``sd``), and reports

* **shrinkage** $B_i = D_i / (\\sigma_u^2 + D_i)$, the weight on the synthetic
  (regression) part; for fits without independent area effects (spatial, spatio-temporal,
  BYM2, prevalence models) the *effective* shrinkage $1 - \\mathrm{MSE}_i / D_i$, which
  is the same thing for the Fay–Herriot model with known parameters and, for any Gaussian
  model, one minus the weight $\\partial\\hat\\theta_i/\\partial y_i$ of the area's own
  direct estimate;
* **CV gain**: the direct estimate's CV, $\\sqrt{D_i}/|y_i|$, over the model's,
  $\\mathrm{RMSE}_i/|\\hat\\theta_i|$ (above 1 means the model is more precise);
* **standardised residuals** $r_i = (y_i - x_i^\\top\\hat\\beta)/\\sqrt{\\hat\\sigma_u^2+D_i}$,
  standard normal when the Fay–Herriot model holds, with a Shapiro–Wilk test of normality;
* a **calibration regression** of the direct on the model estimates (Brown et al. 2001);
* for Bayesian fits (posterior draws of ``theta`` in ``idata``): a **posterior predictive
  check** and **PSIS-LOO** ([`loo`][loo]). ArviZ 1 has no WAIC (PSIS-LOO estimates the same
  quantity more reliably and flags its own failures through the Pareto $\\hat k$).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from .._validate import as_positive_int, as_rng, check_level
from ..errors import DataWarning, InputError
from .benchmarking import posterior_draws
from .results import DiagnosticsResult

__all__ = ["diagnostics", "loo", "posterior_predictive_check"]


def _fit_dataset(fit: Any) -> xr.Dataset:
    ds = getattr(fit, "estimates", None)
    if not isinstance(ds, xr.Dataset):
        raise InputError(f"`fit` must be a fitted crimestats result with an `estimates` "
                         f"dataset; received {type(fit).__name__}.")
    missing = [v for v in ("estimate", "direct", "direct_variance") if v not in ds]
    if missing or not ({"rmse", "sd"} & set(ds.data_vars)):
        raise InputError(
            f"`fit.estimates` lacks {missing or ['rmse or sd']}; diagnostics compare model and "
            "direct estimates, so the fit must carry `direct` and `direct_variance`.")
    return ds


def _standardised_residuals(ds: xr.Dataset, fit: Any) -> np.ndarray:
    if "standardised_residual" in ds:
        return ds["standardised_residual"].values.astype(float)
    sigma2_u = getattr(fit, "sigma2_u", np.nan)
    if "synthetic" not in ds or not np.isfinite(sigma2_u):
        return np.full(ds.sizes["area"], np.nan)
    d = ds["direct_variance"].values
    return (ds["direct"].values - ds["synthetic"].values) / np.sqrt(sigma2_u + d)


def _normality(resid: np.ndarray) -> dict[str, Any]:
    from scipy import stats  # imported here: scipy.stats adds about a second to `import`

    r = resid[np.isfinite(resid)]
    if r.size < 8:
        return {"test": None, "statistic": np.nan, "p_value": np.nan, "skewness": np.nan,
                "excess_kurtosis": np.nan, "n": int(r.size)}
    if r.size <= 5000:
        res, name = stats.shapiro(r), "shapiro-wilk"
    else:
        res, name = stats.normaltest(r), "dagostino-pearson"
    return {"test": name, "statistic": float(res.statistic), "p_value": float(res.pvalue),
            "skewness": float(stats.skew(r)), "excess_kurtosis": float(stats.kurtosis(r)),
            "n": int(r.size)}


def _calibration(direct: np.ndarray, model: np.ndarray, mse: np.ndarray) -> dict[str, float]:
    from scipy import stats

    keep = np.isfinite(direct) & np.isfinite(model)
    y, x = direct[keep], model[keep]
    if y.size < 3:
        raise InputError("the calibration regression needs at least 3 areas with direct "
                         "estimates.")
    if np.ptp(x) <= 1e-12 * max(float(np.max(np.abs(x))), 1e-300):
        warnings.warn("the model estimates of the sampled areas are all equal (e.g. "
                      "sigma2_u = 0 and no covariates), so the calibration regression of "
                      "direct on model estimates is undefined: its figures are NaN.",
                      DataWarning, stacklevel=3)
        nan = float("nan")
        return {"intercept": nan, "slope": nan, "intercept_se": nan, "slope_se": nan,
                "slope_under_model": nan, "z": nan, "p_value": nan}
    design = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    bread = np.linalg.inv(design.T @ design)
    meat = (design * resid[:, None] ** 2).T @ design
    cov = bread @ meat @ bread
    spread = np.var(x)
    known = mse[keep]
    expected = 1.0 + float(np.mean(known)) / spread \
        if spread > 0 and np.all(np.isfinite(known)) else float("nan")
    se = np.sqrt(np.diag(cov))
    z = (coef[1] - expected) / se[1]
    return {"intercept": float(coef[0]), "slope": float(coef[1]), "intercept_se": float(se[0]),
            "slope_se": float(se[1]), "slope_under_model": expected, "z": float(z),
            "p_value": float(2 * stats.norm.sf(abs(z)))}


def _theta_draws(fit: Any, n_draws: int, rng: np.random.Generator) -> np.ndarray | None:
    """Posterior draws of theta (n_draws, m), or None for a fit without posterior draws."""
    if getattr(fit, "idata", None) is None:
        return None
    draws, _ = posterior_draws(fit)
    draws = np.asarray(draws, dtype=float)
    if draws.shape[0] > n_draws:
        draws = draws[rng.choice(draws.shape[0], n_draws, replace=False)]
    return draws


def posterior_predictive_check(fit: Any, *, n_draws: int = 1000, random_seed: Any = None
                               ) -> tuple[dict[str, Any], np.ndarray]:
    """Posterior predictive check of the sampling model $y_i \\sim N(\\theta_i, D_i)$.

    For each posterior draw $\\theta^{(s)}$, replicate direct estimates
    $y^{rep(s)}_i \\sim N(\\theta^{(s)}_i, D_i)$ are drawn and compared with the observed
    ones through the discrepancy $T(y,\\theta) = \\sum_i (y_i-\\theta_i)^2/D_i$
    (Gelman, Meng & Stern 1996). A p-value near 0 or 1 flags misfit; well-fitting models give
    values in the middle (the check is conservative, so values are not uniform).

    Parameters
    ----------
    fit : fitted result
        A Bayesian fit: ``idata`` with posterior draws of ``theta`` over ``area`` and
        ``estimates`` with ``direct`` and ``direct_variance``.
    n_draws : int
        Posterior draws used (a random subset when there are more).
    random_seed : int, numpy.random.Generator or None
        Seed of the replicate draws.

    Returns
    -------
    (dict, numpy.ndarray)
        ``{"p_value", "n_draws", "discrepancy": "chi-square"}`` and the per-area predictive
        p-values $P(y^{rep}_i \\le y_i)$ (NaN where no direct estimate).

    Examples
    --------
    >>> import numpy as np, arviz as az, xarray as xr
    >>> from crimestats.sae import posterior_predictive_check
    >>> from crimestats.sae import FayHerriotResult
    >>> rng = np.random.default_rng(0)
    >>> y, d = np.array([0.1, 0.3, 0.2]), np.array([0.01, 0.01, 0.02])
    >>> post = {"theta": y + rng.normal(0, 0.05, (2, 500, 3))}
    >>> idata = az.from_dict({"posterior": post}, dims={"theta": ["area"]})
    >>> ds = xr.Dataset({"estimate": ("area", y), "sd": ("area", np.full(3, 0.05)),
    ...                  "direct": ("area", y), "direct_variance": ("area", d)})
    >>> res, p_area = posterior_predictive_check(FayHerriotResult(ds, idata=idata),
    ...                                          random_seed=1)
    >>> 0.05 < res["p_value"] < 0.95
    True
    """
    ds = _fit_dataset(fit)
    n_draws = as_positive_int(n_draws, "n_draws")
    rng = as_rng(random_seed)
    theta = _theta_draws(fit, n_draws, rng)
    if theta is None:
        raise InputError("a posterior predictive check needs posterior draws (`fit.idata` "
                         "with `theta`); this fit has none.")
    y = ds["direct"].values.astype(float)
    d = ds["direct_variance"].values.astype(float)
    if theta.shape[1] != y.size:
        raise InputError(f"the posterior has {theta.shape[1]} areas but the estimates "
                         f"{y.size}.")
    obs = np.isfinite(y) & np.isfinite(d)
    th, yo, do = theta[:, obs], y[obs], d[obs]
    yrep = th + rng.standard_normal(th.shape) * np.sqrt(do)
    t_obs = np.sum((yo - th) ** 2 / do, axis=1)
    t_rep = np.sum((yrep - th) ** 2 / do, axis=1)
    p_area = np.full(y.size, np.nan)
    p_area[obs] = np.mean(yrep <= yo, axis=0)
    return ({"p_value": float(np.mean(t_rep >= t_obs)), "n_draws": int(th.shape[0]),
             "discrepancy": "chi-square"}, p_area)


def loo(fit: Any) -> dict[str, Any]:
    """PSIS-LOO expected log predictive density of a Bayesian area-level fit.

    Uses the pointwise log-likelihood in ``fit.idata`` when present; otherwise builds it
    from the posterior draws of ``theta`` and the sampling model
    $y_i \\sim N(\\theta_i, D_i)$. Computed with ArviZ (Vehtari, Gelman & Gabry 2017).
    Areas without a direct estimate are left out. ArviZ 1 has no WAIC; PSIS-LOO is the
    recommended replacement and reports its own reliability through the Pareto $\\hat k$.

    Parameters
    ----------
    fit : fitted result
        A Bayesian fit with ``idata``.

    Returns
    -------
    dict
        ``elpd_loo``, ``se``, ``p_loo``, ``max_pareto_k``, ``n_bad_k`` (k > 0.7) and
        ``pareto_k`` (per area, NaN where no direct estimate).

    Examples
    --------
    The exact hierarchical Bayes Fay–Herriot fit is the cheapest fit with posterior draws:

    >>> import numpy as np
    >>> from crimestats.sae import fay_herriot, loo
    >>> direct = np.array([0.10, 0.31, 0.12, 0.36, 0.17, 0.29, 0.22, np.nan])
    >>> variance = np.array([0.0010, 0.0030, 0.0008, 0.0040, 0.0012, 0.0020, 0.0030, np.nan])
    >>> res = loo(fay_herriot(direct, variance, method="hb", random_seed=0))
    >>> sorted(res)
    ['elpd_loo', 'max_pareto_k', 'n_bad_k', 'p_loo', 'pareto_k', 'se']
    >>> round(res["elpd_loo"], 1), res["pareto_k"].shape
    (8.9, (8,))
    """
    import arviz as az
    from scipy import stats

    ds = _fit_dataset(fit)
    idata = getattr(fit, "idata", None)
    if idata is None:
        raise InputError("LOO needs posterior draws (`fit.idata`); this fit has none.")
    y = ds["direct"].values.astype(float)
    d = ds["direct_variance"].values.astype(float)
    obs = np.isfinite(y) & np.isfinite(d)
    if "log_likelihood" in idata.children:
        tree = idata
    else:
        post = idata["posterior"]
        theta = post["theta"].values  # (chain, draw, area)
        loglik = stats.norm.logpdf(y[obs], theta[..., obs], np.sqrt(d[obs]))
        tree = az.from_dict({"posterior": {"theta": theta[..., obs]},
                             "log_likelihood": {"direct": loglik}},
                            dims={"theta": ["area"], "direct": ["area"]})
    res = az.loo(tree, pointwise=True)
    k = np.asarray(res.pareto_k).ravel()
    k_full = np.full(y.size, np.nan)
    if k.size == int(obs.sum()):
        k_full[obs] = k
    elif k.size == y.size:
        k_full = k
    return {"elpd_loo": float(res.elpd), "se": float(res.se), "p_loo": float(res.p),
            "max_pareto_k": float(np.nanmax(k)), "n_bad_k": int(np.sum(k > 0.7)),
            "pareto_k": k_full}


def diagnostics(fit: Any, *, n_draws: int = 1000, random_seed: Any = None,
                level: float = 0.95) -> DiagnosticsResult:
    """Shrinkage, CV gain, residual checks, calibration and (if Bayesian) PPC and LOO.

    Parameters
    ----------
    fit : fitted result
        Any crimestats area-level fit whose ``estimates`` hold ``estimate``, ``direct``,
        ``direct_variance`` and ``rmse`` or ``sd`` (and, for the residuals, ``synthetic``
        with ``fit.sigma2_u``, or a precomputed ``standardised_residual``).
    n_draws : int
        Posterior draws used by the predictive check (Bayesian fits only).
    random_seed : int, numpy.random.Generator or None
        Seed of the predictive check.
    level : float
        Kept in the output attributes for reference (the level of the fit's intervals).

    Returns
    -------
    DiagnosticsResult

    Notes
    -----
    The calibration regression $y_i = a + b\\hat\\theta_i + \\varepsilon_i$ (Brown et al.
    2001; used by the ONS) is run by OLS over the areas with a direct estimate. For a shrinkage
    estimator the slope is **not** 1 when the model is right. If $\\hat\\theta$ is the
    posterior mean (or BLUP), the model error $\\theta_i - \\hat\\theta_i$ is
    uncorrelated with $\\hat\\theta$ while the sampling error $e_i = y_i - \\theta_i$
    has $\\mathrm{Cov}(e_i, \\hat\\theta_i) = D_i\\,\\partial\\hat\\theta_i/\\partial y_i =
    \\mathrm{MSE}_i$ (exact for Gaussian models with known variance parameters), so the
    expected slope is

    $$
    b_{\\text{model}} = 1 + \\overline{\\mathrm{MSE}_i} \\big/ \\widehat{\\mathrm{Var}}(\\hat\\theta_i),
    $$

    the mean MSE (``rmse**2`` or ``sd**2``) over the spread of the estimates. It needs no model
    internals, so it applies alike to the basic, spatial, spatio-temporal and BYM2 models and,
    approximately, to the prevalence models. For the basic Fay–Herriot model with known
    $\\beta$ and $\\sigma_u^2$ ($\\mathrm{MSE}_i = \\sigma_u^2 B_i$) it reduces to
    $(S_{ss} + \\sigma_u^2)/(S_{ss} + \\sigma_u^2\\,\\overline{(1-B_i)})$, $S_{ss}$
    the variance of the synthetic estimates. It is reported as ``slope_under_model`` and used
    as the null value of the slope test. A slope well below it means the model over-smooths;
    well above, it under-smooths.

    References
    ----------
    Brown, G., Chambers, R., Heady, P. & Heasman, D. (2001). Evaluation of small area
    estimation methods — an application to unemployment estimates from the UK LFS.
    *Proceedings of Statistics Canada Symposium 2001*.
    Rao, J. N. K. & Molina, I. (2015). *Small Area Estimation*, 2nd ed., §6.2.6 (diagnostics).

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import diagnostics, fay_herriot
    >>> rng = np.random.default_rng(2)
    >>> x = rng.uniform(0, 1, 60)
    >>> d = rng.uniform(0.005, 0.02, 60)
    >>> y = 0.1 + 0.2 * x + rng.normal(0, 0.05, 60) + rng.normal(0, np.sqrt(d))
    >>> diag = diagnostics(fay_herriot(y, d, x))
    >>> bool(diag.median_cv_gain > 1)
    True
    >>> diag.residual_normality["test"]
    'shapiro-wilk'
    """
    level = check_level(level)
    n_draws = as_positive_int(n_draws, "n_draws")
    ds = _fit_dataset(fit)
    est = ds["estimate"].values.astype(float)
    direct = ds["direct"].values.astype(float)
    dvar = ds["direct_variance"].values.astype(float)
    err = (ds["rmse"] if "rmse" in ds else ds["sd"]).values.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = ds["shrinkage"].values.astype(float) if "shrinkage" in ds \
            else 1.0 - err**2 / dvar
        cv_direct = np.sqrt(dvar) / np.abs(direct)
        cv_model = err / np.abs(est)
        gain = cv_direct / cv_model
    resid = _standardised_residuals(ds, fit)
    obs = np.isfinite(direct)
    shrink_obs = np.where(obs, shrink, np.nan)
    data = {"estimate": ("area", est), "direct": ("area", direct),
            "shrinkage": ("area", shrink_obs), "cv_direct": ("area", cv_direct),
            "cv_model": ("area", cv_model), "cv_gain": ("area", gain),
            "standardised_residual": ("area", resid)}
    rng = as_rng(random_seed)
    ppc = loo_res = None
    if getattr(fit, "idata", None) is not None:
        ppc, p_area = posterior_predictive_check(fit, n_draws=n_draws, random_seed=rng)
        data["ppc_pvalue"] = ("area", p_area)
        loo_full = loo(fit)
        data["pareto_k"] = ("area", loo_full.pop("pareto_k"))
        loo_res = loo_full
    coords = {"area": ds["area"].values} if "area" in ds.coords else {}
    out = xr.Dataset(data, coords=coords, attrs={"level": level})
    finite_gain = gain[obs & np.isfinite(gain)]
    return DiagnosticsResult(
        estimates=out,
        median_cv_gain=float(np.median(finite_gain)) if finite_gain.size else float("nan"),
        residual_normality=_normality(resid),
        calibration=_calibration(direct, est, err**2),
        ppc=ppc, loo=loo_res,
    )

