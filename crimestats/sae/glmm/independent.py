"""Exact hierarchical Bayes fit of an area-level GLMM with independent normal area effects.

For a family $l(\\eta; y, n)$ (see `crimestats.sae.glmm.families`) and
$\\eta_i = x_i^\\top\\beta + u_i$, $u_i \\sim N(0, \\sigma_u^2)$, flat priors on
$\\beta$ and on $\\sigma_u^2$, without MCMC:

1. each area's one-dimensional effect is integrated out by adaptive Gauss–Hermite quadrature
   (24 nodes), which gives the marginal likelihood, its gradient and (by Louis' identity) its
   Hessian in $\\beta$ ([`marginal_likelihood`][marginal_likelihood]);
2. the posterior of $\\log\\sigma_u$ is computed on a grid of 13 nodes (±4 posterior SDs
   around its mode), integrating $\\beta$ out by a Laplace approximation at each node
   ([`fit_hyperparameters`][fit_hyperparameters]);
3. each area's posterior of its linear predictor is computed on its own 321-point grid for
   every $\\sigma_u$ node and every point of a third-degree cubature of
   $\\beta \\mid \\sigma_u$, and averaged with the nodes' posterior weights
   ([`area_posteriors`][area_posteriors]).

Used by `logit_binomial` and `poisson_lognormal` (independent effects) and by `mrp`, whose
areas hold several binomial rows (``marginal`` argument).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import optimize, special

from ...errors import EstimationError
from .._engine.mixtures import cubature_points, grid_quantile
from .families import Family

__all__ = ["GH_NODES", "GH_WEIGHTS", "Hyperparameters", "area_posteriors", "beta_given_sigma", "glm_start", "posterior_modes",
           "fit_hyperparameters", "marginal_likelihood", "predict_without_data",
           "prior_moments"]

#: Gauss–Hermite nodes and weights of the area-effect integrals.
GH_NODES, GH_WEIGHTS = np.polynomial.hermite.hermgauss(24)
#: Points and half-width (in posterior SDs) of each area's grid of its linear predictor.
_GRID_POINTS = 321
_GRID_HALF_WIDTH = 12.0
_LOG_SIGMA_BOUNDS = (np.log(1e-3), np.log(5.0))
_SIGMA_GRID = 13


def posterior_modes(family: Family, offset: np.ndarray, y: np.ndarray, n: np.ndarray,
                     sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Mode of $l(\\text{offset}+u) - u^2/(2\\sigma^2)$ per area and the curvature there."""
    inv_s2 = 1.0 / sigma**2
    u = np.zeros_like(offset)

    def objective(u_: np.ndarray) -> np.ndarray:
        return family.loglik(offset + u_, y, n) - 0.5 * u_**2 * inv_s2

    current = objective(u)
    for _ in range(100):
        d1, d2 = family.derivatives(offset + u, y, n)
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
    _, d2 = family.derivatives(offset + u, y, n)
    return u, inv_s2 - d2


def marginal_likelihood(params: np.ndarray, family: Family, x: np.ndarray, y: np.ndarray, n: np.ndarray,
              *, hessian: bool = False) -> tuple[float, np.ndarray, np.ndarray | None]:
    """Marginal log-likelihood (without constants), its gradient in (beta, log sigma) and,
    if asked, its Hessian in beta (Louis' identity), all by adaptive Gauss–Hermite quadrature.
    """
    beta, log_sigma = params[:-1], params[-1]
    sigma = float(np.exp(log_sigma))
    offset = x @ beta
    mode, curv = posterior_modes(family, offset, y, n, sigma)
    scale = np.sqrt(2.0 / curv)
    u = mode[:, None] + scale[:, None] * GH_NODES[None, :]
    eta = offset[:, None] + u
    logf = (family.loglik(eta, y[:, None], n[:, None]) - 0.5 * (u / sigma) ** 2
            + GH_NODES[None, :] ** 2 + np.log(GH_WEIGHTS)[None, :])
    norm = special.logsumexp(logf, axis=1)
    loglik_i = norm + np.log(scale) - np.log(np.sqrt(2 * np.pi) * sigma)
    w = np.exp(logf - norm[:, None])
    d1, d2 = family.derivatives(eta, y[:, None], n[:, None])
    e1 = np.sum(w * d1, axis=1)
    grad = np.append(x.T @ e1, np.sum(np.sum(w * u**2, axis=1) / sigma**2 - 1.0))
    hess = None
    if hessian:
        curvature = np.sum(w * d2, axis=1) + np.sum(w * d1**2, axis=1) - e1**2
        hess = (x * curvature[:, None]).T @ x
    return float(np.sum(loglik_i)), grad, hess


def glm_start(family: Family, x: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Starting coefficients: IRLS of the GLM without area effects."""
    beta = np.zeros(x.shape[1])
    rate = (y.sum() + 0.5) / (n.sum() + 1.0)
    if np.allclose(x[:, 0], 1.0):
        beta[0] = family.link(rate)
    for _ in range(25):
        d1, d2 = family.derivatives(x @ beta, y, n)
        info = (x * (-d2 + 1e-9)[:, None]).T @ x
        step = np.linalg.solve(info + 1e-8 * np.eye(x.shape[1]), x.T @ d1)
        beta = beta + np.clip(step, -5, 5)
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def beta_given_sigma(family: Family, x: np.ndarray, y: np.ndarray, n: np.ndarray,
                      log_sigma: float, beta: np.ndarray, marginal: Callable[..., Any] | None = None
                      ) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Mode of the likelihood in beta for fixed sigma (Newton), its information, loglik.

    ``marginal`` replaces [`marginal_likelihood`][marginal_likelihood] (same signature), e.g. for
    several rows per area.
    """
    marginal = marginal_likelihood if marginal is None else marginal

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
class Hyperparameters:
    """Posterior of log sigma_u on a grid, with beta | sigma_u Gaussian (Laplace)."""

    log_sigma: np.ndarray  # grid nodes
    weights: np.ndarray  # posterior probabilities of the nodes
    betas: np.ndarray  # (K, p) conditional modes of beta
    covs: np.ndarray  # (K, p, p) conditional covariances of beta
    loglik: float  # marginal log-likelihood at the posterior mode of log sigma (no constants)
    converged: bool
    mode: float


def fit_hyperparameters(family: Family, x: np.ndarray, y: np.ndarray, n: np.ndarray,
               marginal: Callable[..., Any] | None = None) -> Hyperparameters:
    """Posterior of (beta, log sigma_u): grid over log sigma, Laplace over beta.

    Prior: flat on beta and on sigma_u^2. The log posterior of log sigma_u is
    l(beta_hat, sigma) - log|I_beta|/2 + 2 log sigma (the last term is the Jacobian of the
    flat prior on sigma_u^2); integrating beta out this way corrects the downward bias of
    the ML estimate of sigma_u, as REML does for the linear model. The flat prior on the
    variance gives intervals with better frequentist coverage than one on sigma_u
    (Datta, Rao & Smith 2005 for the Fay–Herriot model; our simulations agree).
    """
    cache: dict[float, tuple[np.ndarray, np.ndarray, float, bool]] = {}
    beta0 = glm_start(family, x, y, n)

    def conditional(ls: float) -> tuple[np.ndarray, np.ndarray, float, bool]:
        if ls not in cache:
            near = min(cache, key=lambda k: abs(k - ls)) if cache else None
            start = cache[near][0] if near is not None else beta0
            result = beta_given_sigma(family, x, y, n, ls, start, marginal)
            if not result[3]:  # retry from the GLM fit; keep the better solution
                retry = beta_given_sigma(family, x, y, n, ls, beta0, marginal)
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
    return Hyperparameters(nodes, weights, betas, covs, conditional(mode)[2], converged, mode)


def area_posteriors(family: Family, x: np.ndarray, y: np.ndarray, n: np.ndarray, hyper: Hyperparameters,
                     level: float, scale_out: float) -> dict[str, np.ndarray]:
    """Posterior mean, SD and equal-tailed interval of g(eta_i) for every area.

    Each area's posterior density of eta_i is computed on its own grid of 321 points for
    every parameter node (sigma grid node x beta cubature point) and averaged with the
    nodes' posterior weights.
    """
    k_mode = int(np.argmax(hyper.weights))
    beta_mode = hyper.betas[k_mode]
    offset = x @ beta_mode
    mode, _ = posterior_modes(family, offset, y, n, float(np.exp(hyper.log_sigma[k_mode])))
    widest = float(np.exp(hyper.log_sigma.max()))
    _, curv_wide = posterior_modes(family, offset, y, n, widest)
    beta_mean = hyper.weights @ hyper.betas
    beta_cov = np.einsum("k,kij->ij", hyper.weights, hyper.covs) + np.einsum(
        "k,ki,kj->ij", hyper.weights, hyper.betas - beta_mean, hyper.betas - beta_mean)
    spread = np.sqrt(1.0 / curv_wide + np.einsum("ij,jk,ik->i", x, beta_cov, x))
    centre = offset + mode
    t = np.linspace(-_GRID_HALF_WIDTH, _GRID_HALF_WIDTH, _GRID_POINTS)
    eta = centre[:, None] + spread[:, None] * t[None, :]
    loglik = family.loglik(eta, y[:, None], n[:, None])
    density = np.zeros_like(eta)
    for ls, weight, beta_k, cov_k in zip(hyper.log_sigma, hyper.weights, hyper.betas,
                                         hyper.covs, strict=True):
        s_k = float(np.exp(ls))
        points = cubature_points(beta_k, cov_k)
        for point in points:
            logp = loglik - 0.5 * ((eta - (x @ point)[:, None]) / s_k) ** 2
            logp -= special.logsumexp(logp, axis=1)[:, None]
            density += (weight / len(points)) * np.exp(logp)
    g = family.inverse_link(eta) * scale_out
    mean = np.sum(density * g, axis=1)
    sd = np.sqrt(np.clip(np.sum(density * (g - mean[:, None]) ** 2, axis=1), 0.0, None))
    tail = (1.0 - level) / 2.0
    lower = grid_quantile(eta, density, tail)
    upper = grid_quantile(eta, density, 1.0 - tail)
    edge = np.maximum(density[:, 0], density[:, -1])
    return {"estimate": mean, "sd": sd,
            "lower": family.inverse_link(lower) * scale_out,
            "upper": family.inverse_link(upper) * scale_out, "edge_mass": edge,
            "beta": beta_mean, "beta_cov": beta_cov}


def predict_without_data(family: Family, post: dict[str, np.ndarray], missing: np.ndarray,
                         x: np.ndarray, beta: np.ndarray, beta_cov: np.ndarray, sigma: float,
                         level: float, scale_out: float) -> None:
    """Areas without data by the family's closed form, when it has one (updates ``post``).

    Taken at the posterior mode ``sigma`` of $\\sigma_u$, with the uncertainty of
    $\\beta$: the linear predictor is $N(x_i^\\top\\hat\\beta, \\hat\\sigma_u^2 +
    x_i^\\top \\mathrm{Var}(\\hat\\beta) x_i)$ (see `Family.predict_without_data`).
    """
    centre = x[missing] @ beta
    spread2 = sigma**2 + np.einsum("ij,jk,ik->i", x[missing], beta_cov, x[missing])
    predicted = family.predict_without_data(centre, spread2, level)
    if predicted is None:
        return
    for name in ("estimate", "sd", "lower", "upper"):
        post[name][missing] = predicted[name] * scale_out


def prior_moments(family: Family, x: np.ndarray, beta: np.ndarray, sigma: float,
                   scale_out: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and variance of g(x beta + u), u ~ N(0, sigma^2), and the mean unit variance
    (E[g(1-g)] for the binomial, E[g] for the Poisson)."""
    u = np.sqrt(2.0) * sigma * GH_NODES
    w = GH_WEIGHTS / np.sqrt(np.pi)
    g = family.inverse_link((x @ beta)[:, None] + u[None, :])
    mean = g @ w
    var = (g**2) @ w - mean**2
    within = family.unit_variance(g) @ w
    return mean * scale_out, var * scale_out**2, within
