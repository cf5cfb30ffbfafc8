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
* [`arcsin_fay_herriot`][arcsin_fay_herriot] — the classical alternative: Fay–Herriot on
  $\\arcsin\\sqrt{\\hat p_i}$ (variance $1/(4\\tilde n_i)$) with a bias-corrected
  back-transformation.

The two generalised models are fitted **without MCMC**, as exact hierarchical Bayes models
with flat priors on $\\beta$ and on the variance $\\sigma_u^2$:

1. each area's one-dimensional effect is integrated out by adaptive Gauss–Hermite quadrature
   (24 nodes), which gives the marginal likelihood, its gradient and (by Louis' identity) its
   Hessian in $\\beta$;
2. the posterior of $\\log\\sigma_u$ is computed on a grid of 13 nodes (±4 posterior SDs
   around its mode), integrating $\\beta$ out by a Laplace approximation at each node;
   this corrects the downward bias of maximum likelihood, as REML does for the linear model;
3. each area's posterior of its linear predictor is computed on its own 321-point grid for
   every $\\sigma_u$ node and every point of a third-degree cubature of
   $\\beta \\mid \\sigma_u$, and averaged with the nodes' posterior weights.

Estimates are posterior means of the prevalence or rate (not $\\mathrm{expit}$ of a
mean) and intervals are equal-tailed posterior intervals, so both stay in range.

With ``adjacency=``, [`logit_binomial`][logit_binomial] and [`poisson_lognormal`][poisson_lognormal] replace the
independent area effects by BYM2 or ICAR effects; that model is fitted by a Laplace
approximation instead (see `crimestats.sae._spatial_glmm`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import integrate, optimize, special

from .. import _validate as v
from ..errors import ConvergenceWarning, EstimationError, InputError
from ..results import Result

__all__ = ["PrevalenceResult", "logit_binomial", "poisson_lognormal", "arcsin_fay_herriot"]

_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite.hermgauss(24)
_GRID_POINTS = 321
_GRID_HALF_WIDTH = 12.0


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


# ------------------------------------------------------------------------------------------
# Families: log-likelihood of one area's (effective) data as a function of the linear
# predictor eta, with its first two derivatives.
# ------------------------------------------------------------------------------------------


def _loglik(family: str, eta: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
    if family == "binomial":
        return y * eta - n * np.logaddexp(0.0, eta)
    return y * eta - n * np.exp(np.minimum(eta, 700.0))


def _loglik_derivs(family: str, eta: np.ndarray, y: np.ndarray, n: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    if family == "binomial":
        p = special.expit(eta)
        return y - n * p, -n * p * (1.0 - p)
    mu = n * np.exp(np.minimum(eta, 700.0))
    return y - mu, -mu


def _loglik_constant(family: str, y: np.ndarray, n: np.ndarray) -> float:
    """Terms of the log-likelihood that do not depend on the parameters."""
    if family == "binomial":
        return float(np.sum(special.gammaln(n + 1) - special.gammaln(y + 1)
                            - special.gammaln(n - y + 1)))
    return float(np.sum(y * np.log(n) - special.gammaln(y + 1)))


def _inverse_link(family: str, eta: np.ndarray) -> np.ndarray:
    return special.expit(eta) if family == "binomial" else np.exp(eta)


# ------------------------------------------------------------------------------------------
# Marginal likelihood by adaptive Gauss–Hermite quadrature
# ------------------------------------------------------------------------------------------


def _posterior_modes(family: str, offset: np.ndarray, y: np.ndarray, n: np.ndarray,
                     sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Mode of $l(\\text{offset}+u) - u^2/(2\\sigma^2)$ per area and the curvature there."""
    inv_s2 = 1.0 / sigma**2
    u = np.zeros_like(offset)

    def objective(u_: np.ndarray) -> np.ndarray:
        return _loglik(family, offset + u_, y, n) - 0.5 * u_**2 * inv_s2

    current = objective(u)
    for _ in range(100):
        d1, d2 = _loglik_derivs(family, offset + u, y, n)
        step = (d1 - u * inv_s2) / (inv_s2 - d2)
        new_u = u + step
        new = objective(new_u)
        for _ in range(30):  # halve steps that do not increase the (concave) objective
            worse = new < current - 1e-12 * np.abs(current)
            if not worse.any():
                break
            step = np.where(worse, 0.5 * step, step)
            new_u = u + step
            new = objective(new_u)
        u, current = new_u, new
        if np.max(np.abs(step)) < 1e-10 * max(1.0, sigma):
            break
    _, d2 = _loglik_derivs(family, offset + u, y, n)
    return u, inv_s2 - d2


def _marginal(params: np.ndarray, family: str, x: np.ndarray, y: np.ndarray, n: np.ndarray,
              *, hessian: bool = False) -> tuple[float, np.ndarray, np.ndarray | None]:
    """Marginal log-likelihood (without constants), its gradient in (beta, log sigma) and,
    if asked, its Hessian in beta (Louis' identity), all by adaptive Gauss–Hermite quadrature.
    """
    beta, log_sigma = params[:-1], params[-1]
    sigma = float(np.exp(log_sigma))
    offset = x @ beta
    mode, curv = _posterior_modes(family, offset, y, n, sigma)
    scale = np.sqrt(2.0 / curv)
    u = mode[:, None] + scale[:, None] * _GH_NODES[None, :]
    eta = offset[:, None] + u
    logf = (_loglik(family, eta, y[:, None], n[:, None]) - 0.5 * (u / sigma) ** 2
            + _GH_NODES[None, :] ** 2 + np.log(_GH_WEIGHTS)[None, :])
    norm = special.logsumexp(logf, axis=1)
    loglik_i = norm + np.log(scale) - np.log(np.sqrt(2 * np.pi) * sigma)
    w = np.exp(logf - norm[:, None])
    d1, d2 = _loglik_derivs(family, eta, y[:, None], n[:, None])
    e1 = np.sum(w * d1, axis=1)
    grad = np.append(x.T @ e1, np.sum(np.sum(w * u**2, axis=1) / sigma**2 - 1.0))
    hess = None
    if hessian:
        curvature = np.sum(w * d2, axis=1) + np.sum(w * d1**2, axis=1) - e1**2
        hess = (x * curvature[:, None]).T @ x
    return float(np.sum(loglik_i)), grad, hess


def _start(family: str, x: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Starting coefficients: IRLS of the GLM without area effects."""
    beta = np.zeros(x.shape[1])
    rate = (y.sum() + 0.5) / (n.sum() + 1.0)
    if np.allclose(x[:, 0], 1.0):
        beta[0] = special.logit(rate) if family == "binomial" else np.log(rate)
    for _ in range(25):
        d1, d2 = _loglik_derivs(family, x @ beta, y, n)
        info = (x * (-d2 + 1e-9)[:, None]).T @ x
        step = np.linalg.solve(info + 1e-8 * np.eye(x.shape[1]), x.T @ d1)
        beta = beta + np.clip(step, -5, 5)
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def _beta_given_sigma(family: str, x: np.ndarray, y: np.ndarray, n: np.ndarray,
                      log_sigma: float, beta: np.ndarray, marginal: Callable[..., Any] | None = None
                      ) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Mode of the likelihood in beta for fixed sigma (Newton), its information, loglik.

    ``marginal`` replaces [`_marginal`][_marginal] (same signature), e.g. for several rows per area.
    """
    marginal = _marginal if marginal is None else marginal

    def evaluate(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        value, grad, hess = marginal(np.append(b, log_sigma), family, x, y, n, hessian=True)
        return value, grad[:-1], -hess

    value, grad, info = evaluate(beta)
    ok = False
    for _ in range(50):
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            break
        decrement = float(grad @ step)  # twice the log-likelihood gain Newton still expects
        if decrement < 1e-10:
            ok = True
            break
        full_step = True
        for _ in range(20):
            new_value, new_grad, new_info = evaluate(beta + step)
            if new_value >= value - 1e-9 * abs(value):  # allow for quadrature rounding
                break
            step, full_step = 0.5 * step, False
        else:
            new_value = -np.inf
        if not full_step and decrement < 1e-4:
            # the Newton step no longer improves the quadrature log-likelihood (its rounding
            # reaches ~1e-5 at very large sigma_u) and the gain still possible is negligible
            ok = True
            break
        if new_value == -np.inf:
            break
        beta, value, grad, info = beta + step, new_value, new_grad, new_info
    return beta, info, value, ok


@dataclasses.dataclass
class _Hyper:
    """Posterior of log sigma_u on a grid, with beta | sigma_u Gaussian (Laplace)."""

    log_sigma: np.ndarray  # grid nodes
    weights: np.ndarray  # posterior probabilities of the nodes
    betas: np.ndarray  # (K, p) conditional modes of beta
    covs: np.ndarray  # (K, p, p) conditional covariances of beta
    loglik: float  # marginal log-likelihood at the posterior mode of log sigma (no constants)
    converged: bool
    mode: float


_LOG_SIGMA_BOUNDS = (np.log(1e-3), np.log(5.0))
_SIGMA_GRID = 13


def _fit_hyper(family: str, x: np.ndarray, y: np.ndarray, n: np.ndarray,
               marginal: Callable[..., Any] | None = None) -> _Hyper:
    """Posterior of (beta, log sigma_u): grid over log sigma, Laplace over beta.

    Prior: flat on beta and on sigma_u^2. The log posterior of log sigma_u is
    l(beta_hat, sigma) - log|I_beta|/2 + 2 log sigma (the last term is the Jacobian of the
    flat prior on sigma_u^2); integrating beta out this way corrects the downward bias of
    the ML estimate of sigma_u, as REML does for the linear model. The flat prior on the
    variance gives intervals with better frequentist coverage than one on sigma_u
    (Datta, Rao & Smith 2005 for the Fay–Herriot model; our simulations agree).
    """
    cache: dict[float, tuple[np.ndarray, np.ndarray, float, bool]] = {}
    beta0 = _start(family, x, y, n)

    def conditional(ls: float) -> tuple[np.ndarray, np.ndarray, float, bool]:
        if ls not in cache:
            near = min(cache, key=lambda k: abs(k - ls)) if cache else None
            start = cache[near][0] if near is not None else beta0
            result = _beta_given_sigma(family, x, y, n, ls, start, marginal)
            if not result[3]:  # retry from the GLM fit; keep the better solution
                retry = _beta_given_sigma(family, x, y, n, ls, beta0, marginal)
                if retry[3] or retry[2] > result[2]:
                    result = retry
            cache[ls] = result
        return cache[ls]

    def log_post(ls: float) -> float:
        _, info, value, _ = conditional(ls)
        sign, logdet = np.linalg.slogdet(info)
        return value - 0.5 * logdet + 2.0 * ls if sign > 0 else -np.inf

    res = optimize.minimize_scalar(lambda ls: -log_post(ls), bounds=_LOG_SIGMA_BOUNDS,
                                   method="bounded", options={"xatol": 1e-5})
    mode = float(res.x)
    h = 0.05
    curv = -(log_post(mode + h) - 2 * log_post(mode) + log_post(mode - h)) / h**2
    sd = 1.0 / np.sqrt(curv) if curv > 0.25 else 2.0
    nodes = np.unique(np.clip(mode + sd * np.linspace(-4.0, 4.0, _SIGMA_GRID),
                              *_LOG_SIGMA_BOUNDS))
    lp = np.array([log_post(ls) for ls in nodes])
    if not np.isfinite(lp).any():
        raise EstimationError("the posterior of sigma_u could not be evaluated anywhere on its "
                              "grid (the likelihood overflowed); check and rescale the inputs.")
    width = np.gradient(nodes) if nodes.size > 1 else np.ones(1)
    weights = np.exp(lp - lp.max()) * width
    weights /= weights.sum()
    keep = weights > 1e-6
    nodes, weights = nodes[keep], weights[keep] / weights[keep].sum()
    betas = np.array([conditional(ls)[0] for ls in nodes])
    covs = np.array([np.linalg.inv(conditional(ls)[1]) for ls in nodes])
    converged = bool(res.success) and conditional(mode)[3] and all(
        conditional(ls)[3] for ls, w in zip(nodes, weights, strict=True) if w > 1e-3)
    return _Hyper(nodes, weights, betas, covs, conditional(mode)[2], converged, mode)


# ------------------------------------------------------------------------------------------
# Area posteriors on a grid, averaged over the posterior of the parameters
# ------------------------------------------------------------------------------------------


def _cubature_points(mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Third-degree spherical cubature of N(mean, cov): mean ± sqrt(d) L e_k, equal weights."""
    d = mean.size
    vals, vecs = np.linalg.eigh(cov)
    offsets = np.sqrt(d) * (vecs * np.sqrt(np.clip(vals, 0.0, None))).T
    return np.vstack([mean + offsets, mean - offsets])


def _area_posteriors(family: str, x: np.ndarray, y: np.ndarray, n: np.ndarray, hyper: _Hyper,
                     level: float, scale_out: float) -> dict[str, np.ndarray]:
    """Posterior mean, SD and equal-tailed interval of g(eta_i) for every area.

    Each area's posterior density of eta_i is computed on its own grid of 321 points for
    every parameter node (sigma grid node x beta cubature point) and averaged with the
    nodes' posterior weights.
    """
    k_mode = int(np.argmax(hyper.weights))
    beta_mode = hyper.betas[k_mode]
    offset = x @ beta_mode
    mode, _ = _posterior_modes(family, offset, y, n, float(np.exp(hyper.log_sigma[k_mode])))
    widest = float(np.exp(hyper.log_sigma.max()))
    _, curv_wide = _posterior_modes(family, offset, y, n, widest)
    beta_mean = hyper.weights @ hyper.betas
    beta_cov = np.einsum("k,kij->ij", hyper.weights, hyper.covs) + np.einsum(
        "k,ki,kj->ij", hyper.weights, hyper.betas - beta_mean, hyper.betas - beta_mean)
    spread = np.sqrt(1.0 / curv_wide + np.einsum("ij,jk,ik->i", x, beta_cov, x))
    centre = offset + mode
    t = np.linspace(-_GRID_HALF_WIDTH, _GRID_HALF_WIDTH, _GRID_POINTS)
    eta = centre[:, None] + spread[:, None] * t[None, :]
    loglik = _loglik(family, eta, y[:, None], n[:, None])
    density = np.zeros_like(eta)
    for ls, weight, beta_k, cov_k in zip(hyper.log_sigma, hyper.weights, hyper.betas,
                                         hyper.covs, strict=True):
        s_k = float(np.exp(ls))
        points = _cubature_points(beta_k, cov_k)
        for point in points:
            logp = loglik - 0.5 * ((eta - (x @ point)[:, None]) / s_k) ** 2
            logp -= special.logsumexp(logp, axis=1)[:, None]
            density += (weight / len(points)) * np.exp(logp)
    g = _inverse_link(family, eta) * scale_out
    mean = np.sum(density * g, axis=1)
    sd = np.sqrt(np.clip(np.sum(density * (g - mean[:, None]) ** 2, axis=1), 0.0, None))
    tail = (1.0 - level) / 2.0
    lower = _grid_quantile(eta, density, tail)
    upper = _grid_quantile(eta, density, 1.0 - tail)
    edge = np.maximum(density[:, 0], density[:, -1])
    return {"estimate": mean, "sd": sd,
            "lower": _inverse_link(family, lower) * scale_out,
            "upper": _inverse_link(family, upper) * scale_out, "edge_mass": edge,
            "beta": beta_mean, "beta_cov": beta_cov}


def _predict_without_data(post: dict[str, np.ndarray], missing: np.ndarray, x: np.ndarray,
                          beta: np.ndarray, beta_cov: np.ndarray, sigma: float, level: float,
                          scale_out: float) -> None:
    r"""Rates of areas without data: log-normal prediction at the posterior mode of sigma_u.

    With no count the posterior of an area's rate is its prior predictive, whose mean
    $E[e^{x^\top\beta + u}]$ averaged over the posterior of $\sigma_u$ grows like
    $e^{\sigma_u^2/2}$ in that posterior's tail and need not exist with few areas. The
    prediction is therefore taken at the posterior mode of $\sigma_u$, with the
    uncertainty of $\beta$: $\log\lambda_i \sim N(x_i^\top\hat\beta,
    \hat\sigma_u^2 + x_i^\top \mathrm{Var}(\hat\beta) x_i)$, a log-normal with closed-form
    mean, SD and quantiles (updated in ``post`` in place).
    """
    centre = x[missing] @ beta
    spread2 = sigma**2 + np.einsum("ij,jk,ik->i", x[missing], beta_cov, x[missing])
    z = float(special.ndtri(0.5 + level / 2.0))
    mean = np.exp(centre + spread2 / 2.0)
    post["estimate"][missing] = mean * scale_out
    post["sd"][missing] = mean * np.sqrt(np.expm1(spread2)) * scale_out
    post["lower"][missing] = np.exp(centre - z * np.sqrt(spread2)) * scale_out
    post["upper"][missing] = np.exp(centre + z * np.sqrt(spread2)) * scale_out


def _grid_quantile(eta: np.ndarray, mass: np.ndarray, prob: float) -> np.ndarray:
    """Row-wise quantile of a density known at equally spaced nodes (piecewise linear).

    ``mass`` holds the density times the spacing at each node (rows sum to one). The CDF at
    the nodes is integrated by Simpson's rule; between nodes the density is taken as linear,
    so the CDF is quadratic there and the quantile solves it exactly.
    """
    cdf = integrate.cumulative_simpson(mass, dx=1.0, axis=1, initial=0.0)
    j = np.clip(np.sum(cdf < prob, axis=1) - 1, 0, mass.shape[1] - 2)
    rows = np.arange(mass.shape[0])
    p0, p1 = mass[rows, j], mass[rows, j + 1]
    a, b, c = 0.5 * (p1 - p0), p0, cdf[rows, j] - prob
    disc = np.sqrt(np.clip(b * b - 4 * a * c, 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(b + disc > 0, -2 * c / (b + disc), 0.5)
    s = np.clip(s, 0.0, 1.0)
    step = eta[:, 1] - eta[:, 0]
    return eta[rows, j] + s * step


def _prior_moments(family: str, x: np.ndarray, beta: np.ndarray, sigma: float,
                   scale_out: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and variance of g(x beta + u), u ~ N(0, sigma^2), and E[g(1-g)] (binomial) or E[g]."""
    u = np.sqrt(2.0) * sigma * _GH_NODES
    w = _GH_WEIGHTS / np.sqrt(np.pi)
    g = _inverse_link(family, (x @ beta)[:, None] + u[None, :])
    mean = g @ w
    var = (g**2) @ w - mean**2
    within = (g * (1 - g)) @ w if family == "binomial" else mean
    return mean * scale_out, var * scale_out**2, within


# ------------------------------------------------------------------------------------------
# Public models
# ------------------------------------------------------------------------------------------


def _covariates(covariates: Any, m: int, intercept: bool, labels: np.ndarray | None
                ) -> tuple[np.ndarray, tuple[str, ...]]:
    from .fay_herriot import _design_matrix

    return _design_matrix(covariates, m, intercept, None, labels)


@dataclasses.dataclass(frozen=True)
class _AreaInputs:
    """Per-area inputs aligned to the area labels (see `crimestats._validate.row_labels`)."""

    rows: v.RowLabels
    values: dict[str, Any]

    @property
    def labels(self) -> np.ndarray:
        return self.rows.values

    @property
    def shown(self) -> np.ndarray | None:
        return self.rows.shown


def _area_inputs(inputs: dict[str, Any], areas: Any) -> _AreaInputs:
    """Align every per-area input to the area labels (by label when labelled)."""
    rows = v.row_labels(inputs, areas)
    if len(rows.values) == 0:
        raise InputError(f"`{rows.reference}` is empty; at least one area is needed.")
    return _AreaInputs(rows, {name: rows.align(value, name) for name, value in inputs.items()})


def _proportion_inputs(direct: Any, sample_size: Any, shown: np.ndarray | None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked direct proportions and sample sizes: ``(p_hat, n, in_sample)``.

    An area is in sample when it has both a direct estimate and a positive sample size;
    sample sizes are counts of respondents (whole numbers).
    """
    p_hat = v.as_float_array(direct, "direct", allow_nan=True, labels=shown)
    m = p_hat.shape[0]
    n = v.as_float_array(sample_size, "sample_size", allow_nan=True, labels=shown)
    v.check_length(n, m, "sample_size", "direct")
    v.check_counts(n, "sample_size", shown, noun="area")
    v.check_range(n, "sample_size", largest=1e9, labels=shown,
                  unit=" (a sample size counts respondents)")
    with np.errstate(invalid="ignore"):
        outside = (p_hat < 0) | (p_hat > 1)
    if outside.any():
        raise InputError(f"`direct` must hold proportions in [0, 1]; "
                         f"{v.describe_rows(np.flatnonzero(outside), shown)} are outside. "
                         "Divide percentages by 100.")
    in_sample = np.isfinite(p_hat) & np.isfinite(n) & (n > 0)
    odd = np.isfinite(p_hat) != (np.isfinite(n) & (n > 0))
    if odd.any():
        raise InputError(f"{v.describe_rows(np.flatnonzero(odd), shown)} ha"
                         f"{'s' if odd.sum() == 1 else 've'} a direct estimate but no sample "
                         "size (or the reverse); give both, or NaN/0 for areas with no sample.")
    return p_hat, n, in_sample


def _design_effect(design_effect: Any, m: int, labels: np.ndarray | None) -> np.ndarray:
    if np.ndim(design_effect) == 0 and not isinstance(design_effect, (pd.Series, pd.DataFrame)):
        deff = np.full(m, v.as_float_array([design_effect], "design_effect")[0])
    else:
        deff = v.as_float_array(design_effect, "design_effect", labels=labels)
    v.check_length(deff, m, "design_effect", "direct")
    v.check_positive(deff, "design_effect", labels)
    v.check_range(deff, "design_effect", smallest=1e-100, labels=labels)
    return deff


def _check_informative(family: str, y: np.ndarray, n: np.ndarray, model: str) -> None:
    """EstimationError when every sampled count is 0 (or every prevalence 0 or 1)."""
    if not np.any(y > 0):
        what = "count is 0" if family == "poisson" else "direct prevalence is 0"
        raise EstimationError(
            f"every sampled area's {what}, so the {model} model has no finite estimate (its "
            "likelihood keeps rising as the rate goes to 0). Pool areas or periods until "
            "some events are observed, or use a model with an informative prior.")
    if family == "binomial" and not np.any(y < n):
        raise EstimationError(
            f"every sampled area's direct prevalence is 1, so the {model} model has no finite "
            "estimate (its likelihood keeps rising as the prevalence goes to 1).")


def _checked_spatial(fit_spatial: Callable[..., Any], family: str, direct_rate: np.ndarray,
                     y_eff: np.ndarray, n_eff: np.ndarray, *args: Any) -> Any:
    """The spatial (BYM2/ICAR) fit with the checks of `_fit_glmm`: informative data before,
    a typed error for a numerical failure, and finite estimates after."""
    model = args[7]
    in_sample = args[5]
    _check_informative(family, y_eff[in_sample], n_eff[in_sample], model)
    with v.numerical_failures(model):
        fit = fit_spatial(family, direct_rate, y_eff, n_eff, *args)
    est = fit.estimates
    v.check_finite_result({name: est[name].values for name in ("estimate", "sd", "lower",
                                                              "upper")}
                          | {"sigma2_u": fit.sigma2_u, "beta": fit.beta}, model,
                          labels=est["area"].values)
    return fit


def _fit_glmm(family: str, direct_rate: np.ndarray, y_eff: np.ndarray, n_eff: np.ndarray,
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
    _check_informative(family, ys, ns, model)
    with v.numerical_failures(model):
        hyper = _fit_hyper(family, xs, ys, ns)
        if not hyper.converged:
            warnings.warn(f"the {model} fit did not converge cleanly (the coefficients' "
                          "Newton iterations or the search over sigma_u); check the estimates "
                          "and consider fewer covariates.", ConvergenceWarning, stacklevel=3)
        y_all = np.where(in_sample, y_eff, 0.0)
        n_all = np.where(in_sample, n_eff, 0.0)
        post = _area_posteriors(family, x, y_all, n_all, hyper, level, scale_out)
    beta = post["beta"]
    sigma2 = np.exp(2 * hyper.log_sigma)
    sigma2_mean = float(hyper.weights @ sigma2)
    sigma2_sd = float(np.sqrt(max(hyper.weights @ sigma2**2 - sigma2_mean**2, 0.0)))
    sigma = float(np.exp(hyper.mode))
    synth, prior_var, within = _prior_moments(family, x, beta, sigma, scale_out)
    if family == "poisson" and not in_sample.all():
        _predict_without_data(post, ~in_sample, x, beta, post["beta_cov"], sigma, level,
                              scale_out)
    with np.errstate(divide="ignore", invalid="ignore"):
        noise = within * scale_out**2 / n_eff
        resid = np.where(in_sample, (direct_rate - synth) / np.sqrt(prior_var + noise), np.nan)
        cv = post["sd"] / np.abs(post["estimate"])
    size_name = "effective_sample_size" if family == "binomial" else "effective_exposure"
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
        loglik=hyper.loglik + _loglik_constant(family, ys, ns), converged=hyper.converged,
        per=scale_out,
        diagnostics={"sigma_u_mode": sigma, "sigma_u_grid": np.exp(hyper.log_sigma),
                     "sigma_u_weights": hyper.weights,
                     "max_grid_edge_density": float(post["edge_mass"].max())},
    )


def logit_binomial(direct: Any, sample_size: Any, covariates: Any = None, *,
                   design_effect: Any = 1.0, variance: Any = None, intercept: bool = True,
                   areas: Any = None, level: float = 0.95, adjacency: Any = None,
                   spatial: str | None = None, prior: Any = None,
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
        (see `crimestats.sae._spatial_glmm`).
    spatial : {"bym2", "icar"}, optional
        Spatial model when ``adjacency`` is given (default ``"bym2"``): BYM2 area effects
        $\\sigma(\\sqrt{1-\\phi}\\, v + \\sqrt{\\phi}\\, \\tilde u)$ or the pure ICAR
        $\\sigma\\tilde u$ (scaled per connected component, islands iid).
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
    from ._spatial_glmm import check_spatial_options, fit_spatial

    level = v.check_level(level)
    options = check_spatial_options(adjacency, spatial, prior, phi_prior)
    inputs = _area_inputs({"direct": direct, "sample_size": sample_size,
                           "covariates": covariates, "variance": variance,
                           "design_effect": design_effect}, areas)
    labels, shown, given = inputs.labels, inputs.shown, inputs.values
    p_hat, n, in_sample = _proportion_inputs(given["direct"], given["sample_size"], shown)
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
        deff = _design_effect(given["design_effect"], m, shown)
        n_eff = np.where(in_sample, n / deff, np.nan)
        v.check_range(n_eff, "sample_size / design_effect", largest=1e9, smallest=1e-9,
                      labels=shown)
        direct_var = np.where(in_sample, p_hat * (1 - p_hat) / n_eff, np.nan)
    x, names = _covariates(covariates, m, intercept, shown)
    y_eff = np.where(in_sample, p_hat * n_eff, 0.0)
    if options is not None:
        return _checked_spatial(fit_spatial, "binomial", p_hat, y_eff,
                                np.where(in_sample, n_eff, 0.0), x, names, labels, level, 1.0,
                                in_sample, direct_var, "logit-binomial", adjacency, options)
    return _fit_glmm("binomial", p_hat, y_eff, np.where(in_sample, n_eff, 0.0), x, names,
                     labels, level, 1.0, in_sample, direct_var, "logit-binomial")


def poisson_lognormal(counts: Any, exposure: Any, covariates: Any = None, *,
                      design_effect: Any = 1.0, per: float = 1.0, intercept: bool = True,
                      areas: Any = None, level: float = 0.95, adjacency: Any = None,
                      spatial: str | None = None, prior: Any = None,
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
        (see `crimestats.sae._spatial_glmm`).
    spatial : {"bym2", "icar"}, optional
        Spatial model when ``adjacency`` is given (default ``"bym2"``): BYM2 area effects
        $\\sigma(\\sqrt{1-\\phi}\\, v + \\sqrt{\\phi}\\, \\tilde u)$ or the pure ICAR
        $\\sigma\\tilde u$ (scaled per connected component, islands iid).
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
    from ._spatial_glmm import check_spatial_options, fit_spatial

    level = v.check_level(level)
    options = check_spatial_options(adjacency, spatial, prior, phi_prior)
    inputs = _area_inputs({"counts": counts, "exposure": exposure, "covariates": covariates,
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
    deff = _design_effect(given["design_effect"], m, shown)
    in_sample = np.isfinite(y)
    y_eff = np.where(in_sample, y / deff, 0.0)
    e_eff = expo / deff
    direct = np.where(in_sample, y / expo * per, np.nan)
    direct_var = np.where(in_sample, y * deff / expo**2 * per**2, np.nan)
    v.check_range(direct, "the direct rates counts / exposure * per", labels=shown)
    x, names = _covariates(covariates, m, intercept, shown)
    if options is not None:
        return _checked_spatial(fit_spatial, "poisson", direct, y_eff, e_eff, x, names, labels,
                                level, per, in_sample, direct_var, "poisson-lognormal",
                                adjacency, options)
    fit = _fit_glmm("poisson", direct, y_eff, e_eff, x, names, labels, level, per,
                    in_sample, direct_var, "poisson-lognormal")
    return fit


def arcsin_fay_herriot(direct: Any, sample_size: Any, covariates: Any = None, *,
                       design_effect: Any = 1.0, method: str = "reml", intercept: bool = True,
                       areas: Any = None, level: float = 0.95) -> PrevalenceResult:
    """Fay–Herriot on the arcsine-square-root scale with a bias-corrected back-transformation.

    The direct prevalences are transformed, $y_i^* = \\arcsin\\sqrt{\\hat p_i}$, whose
    sampling variance $D_i^* = 1/(4\\tilde n_i)$ (with $\\tilde n_i =
    n_i/\\mathrm{deff}_i$) no longer depends on the unknown prevalence. The basic
    `fay_herriot` is fitted to $(y_i^*, D_i^*)$. Back-transforming
    the EBLUP $\\hat\\theta_i^*$ by $\\sin^2$ would be biased; the estimate is
    instead $E[\\sin^2 T]$ for $T \\sim N(\\hat\\theta_i^*, g_{1i})$,
    $g_{1i} = \\hat\\sigma_u^2 D_i^*/(\\hat\\sigma_u^2 + D_i^*)$, in closed form

    $$
    \\hat p_i = \\tfrac12\\left(1 - e^{-2 g_{1i}} \\cos 2\\hat\\theta_i^*\\right),
    $$

    as in Casas-Cordero, Encina & Lahiri (2016) and Hadam, Würz & Kreutzmann (2020; R
    ``emdi::fh(transformation = "arcsin", backtransformation = "bc")``). The interval is
    $\\sin^2$ of the transformed-scale interval $\\hat\\theta_i^* \\pm z\\sqrt{
    \\mathrm{mse}_i^*}$ clipped to $[0, \\pi/2]$ (so it stays in [0, 1]); ``rmse`` is the
    standard deviation of $\\sin^2 T$ with $T \\sim N(\\hat\\theta_i^*,
    \\mathrm{mse}_i^*)$, an approximation (emdi uses a parametric bootstrap).

    Parameters
    ----------
    direct : array-like of shape (m,)
        Direct prevalences in [0, 1]; NaN for areas with no sample.
    sample_size : array-like of shape (m,)
        Respondents per area (0 or NaN with no sample).
    covariates : array-like or DataFrame of shape (m, k), optional
        Area-level covariates, no intercept column.
    design_effect : float or array-like of shape (m,)
        Design effects of the direct estimates.
    method : {"reml", "ml", "fh"}
        Variance estimation of the transformed-scale Fay–Herriot model.
    intercept : bool
        Include an intercept.
    areas : array-like of shape (m,), optional
        Area labels.
    level : float
        Interval level.

    Returns
    -------
    PrevalenceResult
        ``beta``, ``sigma2_u`` on the arcsine-square-root scale; the transformed-scale fit is
        in ``diagnostics["transformed_fit"]``.

    References
    ----------
    Casas-Cordero, C., Encina, J. & Lahiri, P. (2016). Poverty mapping for the Chilean
    comunas. In *Analysis of Poverty Data by Small Area Estimation*, Wiley, 379–404.
    Hadam, S., Würz, N. & Kreutzmann, A.-K. (2020). Estimating regional unemployment with
    mobile network data for functional urban areas in Germany. FU Berlin discussion paper.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import arcsin_fay_herriot
    >>> rng = np.random.default_rng(4)
    >>> n = rng.integers(50, 400, 30)
    >>> p = rng.binomial(n, rng.uniform(0.02, 0.12, 30)) / n
    >>> fit = arcsin_fay_herriot(p, n)
    >>> est = fit.estimates["estimate"].values
    >>> bool(np.all((est > 0) & (est < 1)))
    True
    """
    from .fay_herriot import fay_herriot

    level = v.check_level(level)
    method = v.check_choice(method, "method", ("reml", "ml", "fh"))
    inputs = _area_inputs({"direct": direct, "sample_size": sample_size,
                           "covariates": covariates, "design_effect": design_effect}, areas)
    labels, shown, given = inputs.labels, inputs.shown, inputs.values
    p_hat, n, in_sample = _proportion_inputs(given["direct"], given["sample_size"], shown)
    covariates = given["covariates"]
    m = p_hat.shape[0]
    deff = _design_effect(given["design_effect"], m, shown)
    n_eff = np.where(in_sample, n / deff, np.nan)
    v.check_range(n_eff, "sample_size / design_effect", largest=1e12, labels=shown)
    y_t = np.where(in_sample, np.arcsin(np.sqrt(np.where(in_sample, p_hat, 0.0))), np.nan)
    d_t = np.where(in_sample, 1.0 / (4.0 * n_eff), np.nan)
    if isinstance(covariates, (pd.Series, pd.DataFrame)):
        covariates = covariates.set_axis(labels, axis=0)   # aligned above: now by label
    fit = fay_herriot(y_t, d_t, covariates, method=method, intercept=intercept, areas=labels,
                      level=level)
    est_t = fit.estimates["estimate"].values
    mse_t = fit.estimates["mse"].values
    s2 = fit.sigma2_u
    g1 = np.where(in_sample, s2 * d_t / (s2 + d_t), s2)
    estimate = 0.5 * (1.0 - np.exp(-2.0 * g1) * np.cos(2.0 * est_t))
    m2 = 0.375 - 0.5 * np.exp(-2 * mse_t) * np.cos(2 * est_t) \
        + 0.125 * np.exp(-8 * mse_t) * np.cos(4 * est_t)
    m1 = 0.5 * (1.0 - np.exp(-2.0 * mse_t) * np.cos(2.0 * est_t))
    rmse = np.sqrt(np.clip(m2 - m1**2, 0.0, None))
    z = float(np.sqrt(2.0) * special.erfinv(level))
    half = z * np.sqrt(mse_t)
    lower = np.sin(np.clip(est_t - half, 0.0, np.pi / 2)) ** 2
    upper = np.sin(np.clip(est_t + half, 0.0, np.pi / 2)) ** 2
    synth_t = fit.estimates["synthetic"].values
    synthetic = 0.5 * (1.0 - np.exp(-2.0 * s2) * np.cos(2.0 * synth_t))
    resid = np.where(in_sample, (y_t - synth_t) / np.sqrt(s2 + d_t), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = rmse / np.abs(estimate)
    ds = xr.Dataset(
        {"estimate": ("area", estimate), "rmse": ("area", rmse), "lower": ("area", lower),
         "upper": ("area", upper), "cv": ("area", cv), "direct": ("area", p_hat),
         "direct_variance": ("area", np.where(in_sample, p_hat * (1 - p_hat) / n_eff, np.nan)),
         "synthetic": ("area", synthetic), "standardised_residual": ("area", resid),
         "shrinkage": ("area", fit.estimates["shrinkage"].values),
         "effective_sample_size": ("area", n_eff), "in_sample": ("area", in_sample)},
        coords={"area": labels}, attrs={"level": level, "model": "arcsin-fay-herriot"},
    )
    v.check_finite_result({"estimate": estimate, "rmse": rmse, "lower": lower, "upper": upper},
                          "arcsine Fay–Herriot", labels=labels)
    return PrevalenceResult(
        estimates=ds, model="arcsin-fay-herriot", beta=fit.beta, beta_se=fit.beta_se,
        sigma2_u=s2, covariate_names=fit.covariate_names, level=level,
        converged=fit.converged, diagnostics={"transformed_fit": fit.estimates,
                                              "method": method},
    )
