"""Area-level models for prevalences (proportions) and incidence rates.

Victimisation prevalence is a small proportion, so the normal Fay–Herriot model can return
negative estimates and symmetric intervals that cross zero. The models here keep every
estimate and interval inside its range:

* [`logit_binomial`][logit_binomial] — binomial likelihood with *effective* sample sizes
  $\\tilde n_i = n_i/\\mathrm{deff}_i$ and effective counts
  $\\tilde y_i = \\tilde n_i\\hat p_i$, and a normal area effect on the logit scale:
  $\\tilde y_i \\mid \\pi_i \\sim \\mathrm{Bin}(\\tilde n_i, \\pi_i)$,
  $\\mathrm{logit}\\,\\pi_i = x_i^\\top\\beta + u_i$, $u_i \\sim N(0, \\sigma_u^2)$.
* [`poisson_lognormal`][poisson_lognormal] — counts with an exposure (population, person-years) and a
  log-normal area effect: $\\tilde y_i \\sim \\mathrm{Poisson}(\\tilde E_i\\lambda_i)$,
  $\\log\\lambda_i = x_i^\\top\\beta + u_i$.

The classical alternative, the Fay–Herriot model on $\\arcsin\\sqrt{\\hat p_i}$, is
`arcsin_fay_herriot` (`crimestats.sae.area_level.arcsine`).

Both are fitted **without MCMC**, as exact hierarchical Bayes models with flat priors on
$\\beta$ and on the variance $\\sigma_u^2$ (adaptive Gauss–Hermite quadrature over each
area effect, a grid over $\\log\\sigma_u$, Laplace over $\\beta$; see
`crimestats.sae.glmm.independent`). Estimates are posterior means of the prevalence or rate
(not $\\mathrm{expit}$ of a mean) and intervals are equal-tailed posterior intervals, so
both stay in range. The likelihoods are families (`crimestats.sae.glmm.families`).

With ``adjacency=`` (or ``spatial=BYM2Effects(...)``), both models replace the independent
area effects by BYM2 or ICAR effects; that model is fitted by a Laplace approximation instead
(see `crimestats.sae.glmm.laplace`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from ... import _validate as v
from ...errors import ConvergenceWarning, InputError
from ..modes import BYM2Effects, prevalence_spatial
from ..results import PrevalenceResult
from .families import FAMILIES, Family
from .independent import (
    area_posteriors,
    fit_hyperparameters,
    predict_without_data,
    prior_moments,
)
from .inputs import area_inputs, covariate_design, design_effect_of, proportion_inputs

__all__ = ["logit_binomial", "poisson_lognormal"]


def _checked_spatial(family: Family, direct_rate: np.ndarray, y_eff: np.ndarray,
                     n_eff: np.ndarray, *args: Any) -> Any:
    """The spatial (BYM2/ICAR) fit with the checks of `_fit_glmm`: informative data before,
    a typed error for a numerical failure, and finite estimates after."""
    model = args[7]
    in_sample = args[5]
    family.check_informative(y_eff[in_sample], n_eff[in_sample], model)
    from .laplace import fit_spatial

    with v.numerical_failures(model):
        fit = fit_spatial(family, direct_rate, y_eff, n_eff, *args)
    est = fit.estimates
    v.check_finite_result({name: est[name].values for name in ("estimate", "sd", "lower",
                                                              "upper")}
                          | {"sigma2_u": fit.sigma2_u, "beta": fit.beta}, model,
                          labels=est["area"].values)
    return fit


def _fit_glmm(family: Family, direct_rate: np.ndarray, y_eff: np.ndarray, n_eff: np.ndarray,
              x: np.ndarray, names: tuple[str, ...], labels: np.ndarray, level: float,
              scale_out: float, in_sample: np.ndarray, direct_variance: np.ndarray,
              model: str) -> PrevalenceResult:
    p = x.shape[1]
    if int(in_sample.sum()) <= p:
        raise InputError(f"the model has {p} coefficients ({', '.join(names)}) but only "
                         f"{int(in_sample.sum())} areas with a sample; at least {p + 1} are "
                         "needed. Use fewer covariates.")
    xs, ys, ns = x[in_sample], y_eff[in_sample], n_eff[in_sample]
    if np.linalg.matrix_rank(xs) < p:
        raise InputError(f"the covariates ({', '.join(names)}) are collinear in the sampled "
                         "areas; drop redundant columns.")
    family.check_informative(ys, ns, model)
    with v.numerical_failures(model):
        hyper = fit_hyperparameters(family, xs, ys, ns)
        if not hyper.converged:
            warnings.warn(f"the {model} fit did not converge cleanly (the coefficients' "
                          "Newton iterations or the search over sigma_u); check the estimates "
                          "and consider fewer covariates.", ConvergenceWarning, stacklevel=3)
        y_all = np.where(in_sample, y_eff, 0.0)
        n_all = np.where(in_sample, n_eff, 0.0)
        post = area_posteriors(family, x, y_all, n_all, hyper, level, scale_out)
    beta = post["beta"]
    sigma2 = np.exp(2 * hyper.log_sigma)
    sigma2_mean = float(hyper.weights @ sigma2)
    sigma2_sd = float(np.sqrt(max(hyper.weights @ sigma2**2 - sigma2_mean**2, 0.0)))
    sigma = float(np.exp(hyper.mode))
    synth, prior_var, within = prior_moments(family, x, beta, sigma, scale_out)
    if not in_sample.all():
        predict_without_data(family, post, ~in_sample, x, beta, post["beta_cov"], sigma, level,
                             scale_out)
    with np.errstate(divide="ignore", invalid="ignore"):
        noise = within * scale_out**2 / n_eff
        resid = np.where(in_sample, (direct_rate - synth) / np.sqrt(prior_var + noise), np.nan)
        cv = post["sd"] / np.abs(post["estimate"])
    size_name = family.size_name
    ds = xr.Dataset(
        {"estimate": ("area", post["estimate"]), "sd": ("area", post["sd"]),
         "lower": ("area", post["lower"]), "upper": ("area", post["upper"]),
         "cv": ("area", cv), "direct": ("area", direct_rate),
         "direct_variance": ("area", direct_variance), "synthetic": ("area", synth),
         "standardised_residual": ("area", resid), size_name: ("area", n_eff),
         "in_sample": ("area", in_sample)},
        coords={"area": labels}, attrs={"level": level, "model": model},
    )
    v.check_finite_result({name: ds[name].values for name in ("estimate", "sd", "lower", "upper")}
                          | {"sigma2_u": sigma2_mean, "beta": beta}, model, labels=labels)
    return PrevalenceResult(
        estimates=ds, model=model, beta=beta, beta_se=np.sqrt(np.diag(post["beta_cov"])),
        sigma2_u=sigma2_mean, sigma2_u_se=sigma2_sd, covariate_names=names, level=level,
        loglik=hyper.loglik + family.loglik_constant(ys, ns), converged=hyper.converged,
        per=scale_out,
        diagnostics={"sigma_u_mode": sigma, "sigma_u_grid": np.exp(hyper.log_sigma),
                     "sigma_u_weights": hyper.weights,
                     "max_grid_edge_density": float(post["edge_mass"].max())},
    )


def logit_binomial(direct: Any, sample_size: Any, covariates: Any = None, *,
                   design_effect: Any = 1.0, variance: Any = None, intercept: bool = True,
                   areas: Any = None, level: float = 0.95, adjacency: Any = None,
                   spatial: str | BYM2Effects | None = None, prior: Any = None,
                   phi_prior: tuple[float, float] | None = None) -> PrevalenceResult:
    """Area-level logit-normal model for prevalences, with effective binomial sample sizes.

    Model, for areas $i = 1, \\dots, m$:

    $$
    \\tilde y_i \\mid \\pi_i \\sim \\mathrm{Bin}(\\tilde n_i, \\pi_i), \\qquad
    \\mathrm{logit}\\,\\pi_i = x_i^\\top\\beta + u_i, \\qquad u_i \\sim N(0, \\sigma_u^2),
    $$

    with effective sample size $\\tilde n_i = n_i / \\mathrm{deff}_i$ and effective count
    $\\tilde y_i = \\tilde n_i \\hat p_i$ (both may be fractional; the binomial kernel is
    used as a likelihood). The model is fitted as an exact hierarchical Bayes model with flat
    priors on $\\beta$ and $\\sigma_u^2$ (adaptive quadrature over each area
    effect, a grid over $\\log\\sigma_u$, Laplace over $\\beta$; see the module
    notes). The estimate is the posterior mean of
    $\\pi_i$ and the interval its equal-tailed posterior interval, both in [0, 1].

    Parameters
    ----------
    direct : array-like of shape (m,)
        Direct (survey-weighted) prevalence of each area, a proportion in [0, 1]; NaN for
        areas with no sample (they get the synthetic prediction and its uncertainty).
    sample_size : array-like of shape (m,)
        Respondents (unweighted count) per area; 0 or NaN for areas with no sample.
    covariates : array-like or DataFrame of shape (m, k), optional
        Area-level covariates (no intercept column; categorical columns are one-hot coded).
    design_effect : float or array-like of shape (m,)
        Design effect of each direct estimate (default 1: simple random sampling).
    variance : array-like of shape (m,), optional
        Sampling variance of the direct estimates instead of ``design_effect``: the
        effective sample size is then $\\hat p_i(1-\\hat p_i)/\\mathrm{var}_i$, which
        needs $0 < \\hat p_i < 1$.
    intercept : bool
        Include an intercept.
    areas : array-like of shape (m,), optional
        Area labels.
    level : float
        Level of the posterior intervals.
    adjacency : Adjacency, table of neighbour pairs, or (m, m) matrix, optional
        Who borders whom (as for `bym2`). When given, the area effects
        are spatial (BYM2 or ICAR, see ``spatial``) instead of independent, and areas with no
        sample borrow from their neighbours as well as from the covariates. The result is a
        [`SpatialPrevalenceResult`][crimestats.sae.SpatialPrevalenceResult], fitted by a Laplace approximation
        (see `crimestats.sae.glmm.laplace`).
    spatial : {"bym2", "icar"}, BYM2Effects or ICAREffects, optional
        Spatial model when ``adjacency`` is given (default ``"bym2"``): BYM2 area effects
        $\\sigma(\\sqrt{1-\\phi}\\, v + \\sqrt{\\phi}\\, \\tilde u)$ or the pure ICAR
        $\\sigma\\tilde u$ (scaled per connected component, islands iid). Or the effects
        with their options as one object,
        [`BYM2Effects`][crimestats.sae.BYM2Effects]``(adjacency, prior=..., phi_prior=...)``
        or [`ICAREffects`][crimestats.sae.ICAREffects]``(adjacency, prior=...)``, in place of
        ``adjacency``, ``prior`` and ``phi_prior``.
    prior : VariancePrior, optional
        Prior on $\\sigma$ of the spatial model (default
        [`FlatVariance`][crimestats.sae.FlatVariance], flat on $\\sigma^2$); only with
        ``adjacency``.
    phi_prior : (a, b), optional
        Beta prior on $\\phi$ (BYM2 only; default (1, 1)); only with ``adjacency``.

    Returns
    -------
    PrevalenceResult
        ``sigma2_u`` and ``beta`` on the logit scale.

    References
    ----------
    Rao, J. N. K. & Molina, I. (2015). *Small Area Estimation*, 2nd ed., §10.13 (logit-normal
    area-level models). Datta, G. S., Rao, J. N. K. & Smith, D. D. (2005). On measuring the
    variability of small area estimators under a basic area level model. *Biometrika* 92,
    183–196 (flat prior on the variance). Chen, C., Wakefield, J. & Lumley, T. (2014). The
    use of sampling weights in Bayesian hierarchical models for small area estimation.
    *Spatial and Spatio-temporal Epidemiology* 11, 33–43 (effective sample sizes).

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import logit_binomial
    >>> p = np.array([0.02, 0.05, 0.0, 0.08, 0.04, 0.03, 0.06, np.nan])
    >>> n = np.array([400, 150, 60, 300, 200, 500, 90, 0])
    >>> fit = logit_binomial(p, n, design_effect=1.2)
    >>> est = fit.estimates["estimate"].values
    >>> bool(np.all((est > 0) & (est < 1)))
    True
    >>> round(float(est[2]), 3), round(float(est[7]), 3)
    (0.021, 0.062)
    """
    level = v.check_level(level)
    effects = prevalence_spatial(adjacency, spatial, prior, phi_prior)
    inputs = area_inputs({"direct": direct, "sample_size": sample_size,
                           "covariates": covariates, "variance": variance,
                           "design_effect": design_effect}, areas)
    labels, shown, given = inputs.labels, inputs.shown, inputs.values
    p_hat, n, in_sample = proportion_inputs(given["direct"], given["sample_size"], shown)
    m = p_hat.shape[0]
    covariates = given["covariates"]
    if variance is not None:
        var = v.as_float_array(given["variance"], "variance", allow_nan=True, labels=shown)
        v.check_length(var, m, "variance", "direct")
        v.check_positive(var, "variance", shown)
        v.check_range(var, "variance", smallest=1e-200, labels=shown)
        with np.errstate(invalid="ignore"):
            edge = in_sample & ((p_hat <= 0) | (p_hat >= 1))
        if edge.any():
            raise InputError(f"{v.describe_rows(np.flatnonzero(edge), shown)} ha"
                             f"{'s' if edge.sum() == 1 else 've'} a direct prevalence of 0 or 1, "
                             "so the effective sample size cannot come from `variance`; pass "
                             "`design_effect` instead.")
        n_eff = np.where(in_sample, p_hat * (1 - p_hat) / var, np.nan)
        v.check_range(n_eff, "the effective sample sizes p(1 - p) / variance", largest=1e9,
                      smallest=1e-9, labels=shown)
        direct_var = np.where(in_sample, var, np.nan)
    else:
        deff = design_effect_of(given["design_effect"], m, shown)
        n_eff = np.where(in_sample, n / deff, np.nan)
        v.check_range(n_eff, "sample_size / design_effect", largest=1e9, smallest=1e-9,
                      labels=shown)
        direct_var = np.where(in_sample, p_hat * (1 - p_hat) / n_eff, np.nan)
    x, names = covariate_design(covariates, m, intercept, shown)
    y_eff = np.where(in_sample, p_hat * n_eff, 0.0)
    binomial = FAMILIES["binomial"]
    if effects is not None:
        return _checked_spatial(binomial, p_hat, y_eff, np.where(in_sample, n_eff, 0.0), x,
                                names, labels, level, 1.0, in_sample, direct_var,
                                "logit-binomial", effects)
    return _fit_glmm(binomial, p_hat, y_eff, np.where(in_sample, n_eff, 0.0), x, names,
                     labels, level, 1.0, in_sample, direct_var, "logit-binomial")


def poisson_lognormal(counts: Any, exposure: Any, covariates: Any = None, *,
                      design_effect: Any = 1.0, per: float = 1.0, intercept: bool = True,
                      areas: Any = None, level: float = 0.95, adjacency: Any = None,
                      spatial: str | BYM2Effects | None = None, prior: Any = None,
                      phi_prior: tuple[float, float] | None = None) -> PrevalenceResult:
    """Area-level Poisson log-normal model for incidence rates with an exposure.

    Model: $\\tilde y_i \\mid \\lambda_i \\sim \\mathrm{Poisson}(\\tilde E_i \\lambda_i)$,
    $\\log\\lambda_i = x_i^\\top\\beta + u_i$, $u_i \\sim N(0, \\sigma_u^2)$, with
    effective counts $\\tilde y_i = y_i/\\mathrm{deff}_i$ and exposures
    $\\tilde E_i = E_i/\\mathrm{deff}_i$ (the direct rate is unchanged; the design effect
    widens its variance). Fitted as [`logit_binomial`][logit_binomial] (exact hierarchical Bayes by
    quadrature and grids, no MCMC); the log-normal effect also absorbs over-dispersion
    between areas.

    Parameters
    ----------
    counts : array-like of shape (m,)
        Incidents (or weighted incident estimates) per area, non-negative; NaN for areas with
        no data.
    exposure : array-like of shape (m,)
        Exposure in the unit the rate is per, before ``per`` scaling: residents,
        households or person-years (positive).
    covariates : array-like or DataFrame of shape (m, k), optional
        Area-level covariates (no intercept column).
    design_effect : float or array-like of shape (m,)
        Design effect of each count (1 for recorded crime counts).
    per : float
        Report rates per this many units of exposure (e.g. 1000 for per 1,000 residents).
    intercept : bool
        Include an intercept.
    areas : array-like of shape (m,), optional
        Area labels.
    level : float
        Level of the posterior intervals.
    adjacency : Adjacency, table of neighbour pairs, or (m, m) matrix, optional
        Who borders whom (as for `bym2`). When given, the area effects
        are spatial (BYM2 or ICAR, see ``spatial``) instead of independent, and areas with no
        sample borrow from their neighbours as well as from the covariates. The result is a
        [`SpatialPrevalenceResult`][crimestats.sae.SpatialPrevalenceResult], fitted by a Laplace approximation
        (see `crimestats.sae.glmm.laplace`).
    spatial : {"bym2", "icar"}, BYM2Effects or ICAREffects, optional
        Spatial model when ``adjacency`` is given (default ``"bym2"``): BYM2 area effects
        $\\sigma(\\sqrt{1-\\phi}\\, v + \\sqrt{\\phi}\\, \\tilde u)$ or the pure ICAR
        $\\sigma\\tilde u$ (scaled per connected component, islands iid). Or the effects
        with their options as one object,
        [`BYM2Effects`][crimestats.sae.BYM2Effects]``(adjacency, prior=..., phi_prior=...)``
        or [`ICAREffects`][crimestats.sae.ICAREffects]``(adjacency, prior=...)``, in place of
        ``adjacency``, ``prior`` and ``phi_prior``.
    prior : VariancePrior, optional
        Prior on $\\sigma$ of the spatial model (default
        [`FlatVariance`][crimestats.sae.FlatVariance], flat on $\\sigma^2$); only with
        ``adjacency``.
    phi_prior : (a, b), optional
        Beta prior on $\\phi$ (BYM2 only; default (1, 1)); only with ``adjacency``.

    Returns
    -------
    PrevalenceResult
        Rates per ``per`` units of exposure; ``beta`` and ``sigma2_u`` on the log scale
        (per unit exposure).

    References
    ----------
    Clayton, D. & Kaldor, J. (1987). Empirical Bayes estimates of age-standardized relative
    risks for use in disease mapping. *Biometrics* 43, 671–681.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import poisson_lognormal
    >>> counts = np.array([12, 30, 0, 45, 8, 20])
    >>> residents = np.array([2000, 5000, 800, 6000, 2500, 3000])
    >>> fit = poisson_lognormal(counts, residents, per=1000)
    >>> fit.estimates["estimate"].values.round(2).tolist()
    [5.85, 5.92, 1.86, 7.34, 3.5, 6.48]
    """
    level = v.check_level(level)
    effects = prevalence_spatial(adjacency, spatial, prior, phi_prior)
    inputs = area_inputs({"counts": counts, "exposure": exposure, "covariates": covariates,
                           "design_effect": design_effect}, areas)
    labels, shown, given = inputs.labels, inputs.shown, inputs.values
    covariates = given["covariates"]
    y = v.as_float_array(given["counts"], "counts", allow_nan=True, labels=shown)
    m = y.shape[0]
    v.check_counts(y, "counts", shown, integer=False, noun="area")
    v.check_range(y, "counts", largest=1e12, labels=shown)
    expo = v.as_float_array(given["exposure"], "exposure", labels=shown)
    v.check_length(expo, m, "exposure", "counts")
    v.check_positive(expo, "exposure", shown)
    v.check_range(expo, "exposure", smallest=1e-100, labels=shown)
    per = v.as_number(per, "per", positive=True)
    deff = design_effect_of(given["design_effect"], m, shown)
    in_sample = np.isfinite(y)
    y_eff = np.where(in_sample, y / deff, 0.0)
    e_eff = expo / deff
    direct = np.where(in_sample, y / expo * per, np.nan)
    direct_var = np.where(in_sample, y * deff / expo**2 * per**2, np.nan)
    v.check_range(direct, "the direct rates counts / exposure * per", labels=shown)
    x, names = covariate_design(covariates, m, intercept, shown)
    poisson = FAMILIES["poisson"]
    if effects is not None:
        return _checked_spatial(poisson, direct, y_eff, e_eff, x, names, labels, level, per,
                                in_sample, direct_var, "poisson-lognormal", effects)
    fit = _fit_glmm(poisson, direct, y_eff, e_eff, x, names, labels, level, per,
                    in_sample, direct_var, "poisson-lognormal")
    return fit


