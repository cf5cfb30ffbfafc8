"""Exact hierarchical Bayes Fay–Herriot fit (called by ``fay_herriot(..., method="hb")``).

Model, for areas $i = 1, \\dots, m$ with direct estimate $y_i$ and known sampling
variance $D_i$:

$$
y_i \\mid \\theta_i \\sim N(\\theta_i, D_i), \\quad
\\theta_i \\mid \\beta, \\sigma_u^2 \\sim N(x_i^\\top \\beta, \\sigma_u^2), \\quad
p(\\beta) \\propto 1, \\quad \\sigma_u^2 \\sim \\text{prior}.
$$

Integrating out $\\theta$ and then $\\beta$ leaves a one-dimensional posterior,

$$
p(\\sigma_u^2 \\mid y) \\propto p(\\sigma_u^2)\\, |X^\\top W X|^{-1/2}
\\prod_i (\\sigma_u^2 + D_i)^{-1/2}
\\exp\\{-\\tfrac12 (y - X\\hat\\beta)^\\top W (y - X\\hat\\beta)\\},
\\qquad W = \\operatorname{diag}\\{1 / (\\sigma_u^2 + D_i)\\},
$$

with $\\hat\\beta$ the GLS estimate. It is integrated by Gauss–Legendre quadrature in
$t = \\operatorname{asinh}(\\sigma_u / c)$ ($c$ the posterior's spread) over the
range where the density, and on the right the density weighted by $1 + \\sigma_u^2/c^2$,
exceeds $e^{-40}$ of its value at the mode. Given $\\sigma_u^2$, $\\beta$ is
Gaussian with mean $\\hat\\beta$ and covariance $(X^\\top W X)^{-1}$, and each $\\theta_i$ is Gaussian
with mean $\\gamma_i y_i + (1 - \\gamma_i) x_i^\\top \\hat\\beta$ and variance
$\\gamma_i D_i + (1 - \\gamma_i)^2 x_i^\\top (X^\\top W X)^{-1} x_i$,
$\\gamma_i = \\sigma_u^2 / (\\sigma_u^2 + D_i)$. Posterior means, SDs and equal-tailed
intervals of $\\theta_i$ follow from these Gaussian mixtures without sampling. The work is
$O(m K p^2)$ for $K$ quadrature nodes; no $m \\times m$ matrix is formed.

Reference: Rao, J. N. K. and Molina, I. (2015). *Small Area Estimation*, 2nd ed., Wiley, §10.3.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import xarray as xr
from scipy import interpolate, optimize, special

from ..._options import FAY_HERRIOT
from ..._validate import as_draw_count, as_rng, check_level
from ...errors import ConvergenceWarning, EstimationError, InputError
from .._engine.mixtures import mixture_quantiles
from .._estimates import hb_dataset
from ..priors import FlatSD, FlatVariance, HalfCauchy, HalfNormal, VariancePrior, check_prior
from ..results import FayHerriotResult

__all__ = ["fit_hb"]

#: The integration range ends where the posterior density of t (on the right: weighted by
#: 1 + sigma_u^2 / c^2, for E(sigma2_u)) is this many log units below its value at the mode.
_LOG_DROP = 40.0
#: Fewest and most quadrature nodes.
_MIN_NODES, _MAX_NODES = 64, 256
#: Quadrature nodes per posterior SD of t (see `_node_count`).
_NODES_PER_SD = 4.0
#: Points of the fine grid on which the posterior CDF of sigma_u is tabulated (for draws).
_FINE_GRID = 16_385
#: By default, area draws are stored when draws x areas is at most this (80 MB of float64).
_THETA_DRAWS_LIMIT = 10_000_000
#: Elements of a (draws x areas) working array per chunk when sampling.
_CHUNK_ELEMENTS = 2_000_000


def _weighted_sums(W: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``W @ columns`` for W of shape (K, m): einsum for up to 32 rows, BLAS for more.

    On a busy machine a multithreaded BLAS product of a few long rows (one variance in the mode
    search, 12-24 nodes for the area mixtures) was measured to take from 2 ms to over a second
    for the same call; einsum's single-threaded loop takes a steady 0.5 ms per row at m = 35,000.
    """
    if W.shape[0] <= 32:
        return np.einsum("km,mq->kq", W, columns)
    return W @ columns


class _Marginal:
    """Restricted likelihood of $\\sigma_u^2$ and GLS moments of $\\beta$.

    Holds the in-sample areas only; every method is vectorised over a 1-D array of
    variances ``A`` and costs $O(len(A) \\cdot m p^2)$.
    """

    def __init__(self, y: np.ndarray, D: np.ndarray, X: np.ndarray) -> None:
        m, p = X.shape
        self.y, self.D, self.X, self.p = y, D, X, p
        self.XX = (X[:, :, None] * X[:, None, :]).reshape(m, p * p)
        self.Xy = X * y[:, None]

    def gls(self, A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Weights, GLS coefficients, their covariance and the Cholesky factor of X'WX."""
        W = 1.0 / (A[:, None] + self.D)
        M = _weighted_sums(W, self.XX).reshape(-1, self.p, self.p)
        chol = np.linalg.cholesky(M)
        beta = np.linalg.solve(M, _weighted_sums(W, self.Xy)[..., None])[..., 0]
        V = np.linalg.inv(M)
        return W, beta, V, chol

    def evaluate(self, A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Log restricted likelihood (up to a constant), GLS coefficients and their covariance."""
        W, beta, V, chol = self.gls(A)
        resid = self.y - np.einsum("kp,mp->km", beta, self.X)
        logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        loglik = 0.5 * np.log(W).sum(axis=1) - 0.5 * logdet - 0.5 * (W * resid**2).sum(axis=1)
        return loglik, beta, V


class _Posterior:
    """The log posterior density of $\\sigma_u$ and of $t = asinh(\\sigma_u / c)$."""

    def __init__(self, marginal: _Marginal, prior: VariancePrior) -> None:
        self.marginal, self.prior = marginal, prior
        self.scale = 1.0

    def log_sigma(self, sigma: np.ndarray | float) -> np.ndarray:
        sigma = np.atleast_1d(np.asarray(sigma, dtype=float))
        out = self.prior.log_density(sigma) + self.marginal.evaluate(sigma**2)[0]
        return np.where(np.isnan(out), -np.inf, out)

    def log_t(self, t: np.ndarray | float) -> np.ndarray:
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return self.log_sigma(self.scale * np.sinh(t)) + np.log(np.cosh(t))


def _root(func: Any, a: float, b: float, xtol: float) -> float:
    """Root of a continuous ``func`` changing sign on [a, b] (infinite values clipped)."""
    return optimize.brentq(lambda x: float(np.clip(func(x), -1e6, 1e6)), a, b, xtol=xtol,
                           rtol=1e-10, maxiter=200)


def _integration_range(post: _Posterior, y: np.ndarray, D: np.ndarray, X: np.ndarray
                       ) -> tuple[float, float, float, float]:
    """Mode of sigma_u, the scale c of the t-transform, and the t-range holding the mass.

    Returns ``(mode, t_lo, t_hi, sd_t)`` with ``sd_t`` the posterior's spread in t. Sets
    ``post.scale`` to the posterior's spread in sigma_u (from the curvature at the mode, or
    from where the density has fallen by half a log unit when the mode is at zero).
    """
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    s_ref = math.sqrt(max(float(np.mean(resid**2)), float(np.mean(D))))
    coarse = np.concatenate([[0.0], s_ref * np.geomspace(1e-6, 1e3, 19)])
    f_coarse = post.log_sigma(coarse)
    j = int(np.argmax(f_coarse))
    if not np.isfinite(f_coarse[j]) or j == coarse.size - 1:
        raise EstimationError(
            "The posterior of sigma2_u could not be located (it is flat or increasing up to "
            f"{coarse[-1]:.3g}); use a proper prior such as HalfCauchy(scale=...)."
        )
    mode, f_mode, f_zero = coarse[j], f_coarse[j], f_coarse[0]
    if j > 0:
        opt = optimize.minimize_scalar(
            lambda s: -post.log_sigma(s)[0], bounds=(coarse[j - 1], coarse[j + 1]),
            method="bounded", options={"xatol": 1e-4 * coarse[j + 1]},
        )
        if -opt.fun > f_mode:
            mode, f_mode = float(opt.x), float(-opt.fun)

    curvature = np.nan
    if mode > 0:
        h = 1e-3 * mode
        f_minus, f_plus = post.log_sigma(np.array([mode - h, mode + h]))
        curvature = (f_plus - 2.0 * f_mode + f_minus) / h**2
    if np.isfinite(curvature) and curvature < 0:
        spread = 1.0 / math.sqrt(-curvature)
    else:
        target, step = f_mode - 0.5, max(mode, s_ref * 1e-3)
        while post.log_sigma(mode + step)[0] >= target:
            step *= 2.0
        spread = _root(lambda s: post.log_sigma(s)[0] - target, mode, mode + step,
                       1e-3 * step) - mode
    post.scale = spread

    # Ends of the integration range in t: on the left where the density is e^-40 of its value
    # at the mode; on the right where the density weighted by 1 + sigma_u^2 / c^2 (which
    # bounds the integrand of E(sigma2_u | y), heavy-tailed under flat priors) is.
    t_mode = math.asinh(mode / spread)
    sd_t = 1.0 / math.cosh(t_mode)
    threshold = f_mode + math.log(math.cosh(t_mode)) - _LOG_DROP

    def right(t: float) -> float:
        return post.log_t(t)[0] + 2.0 * math.log(math.cosh(t)) - 2.0 * math.log(math.cosh(t_mode))

    step = 4.0 * sd_t
    while right(t_mode + step) >= threshold:
        step *= 2.0
    t_hi = _root(lambda t: right(t) - threshold, t_mode, t_mode + step, 1e-3 * sd_t)
    t_lo = 0.0
    if f_zero < threshold:
        t_lo = _root(lambda t: post.log_t(t)[0] - threshold, 0.0, t_mode, 1e-6 * sd_t)
    return mode, t_lo, t_hi, sd_t


def _node_count(t_lo: float, t_hi: float, sd_t: float) -> int:
    """Quadrature nodes: enough to put several within each posterior SD of t."""
    wanted = _NODES_PER_SD * (t_hi - t_lo) / sd_t
    return int(np.clip(math.ceil(wanted), _MIN_NODES, _MAX_NODES))


def _gauss_rule(x: np.ndarray, w: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The n-point Gauss rule of the discrete measure sum_k w_k delta(x_k) (sum w = 1).

    Lanczos with full reorthogonalisation builds the Jacobi matrix of the measure; its
    eigenvalues are the nodes and the squared first components of its eigenvectors the weights
    (Golub and Welsch 1969). The rule integrates polynomials of degree 2n - 1 exactly.
    """
    centre = float(w @ x)
    spread = math.sqrt(float(w @ (x - centre) ** 2)) or 1.0
    z = (x - centre) / spread
    basis = np.zeros((x.size, n))
    basis[:, 0] = np.sqrt(w)
    alpha, off = np.zeros(n), np.zeros(n - 1)
    for j in range(n):
        v = z * basis[:, j]
        alpha[j] = basis[:, j] @ v
        for _ in range(2):
            v -= basis[:, : j + 1] @ (basis[:, : j + 1].T @ v)
        if j == n - 1:
            break
        off[j] = np.linalg.norm(v)
        if off[j] < 1e-12:
            n = j + 1
            break
        basis[:, j + 1] = v / off[j]
    jacobi = np.diag(alpha[:n]) + np.diag(off[: n - 1], 1) + np.diag(off[: n - 1], -1)
    values, vectors = np.linalg.eigh(jacobi)
    return centre + spread * values, vectors[0] ** 2


def _area_components(A: np.ndarray, beta_k: np.ndarray, V_k: np.ndarray, X: np.ndarray,
                     y: np.ndarray, D: np.ndarray, in_sample: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means, variances (K, m) of theta_i | sigma2_u = A_k, y, and shrinkage factors 1 - gamma.

    In sample, mu_ki = gamma_ki y_i + (1 - gamma_ki) x_i' beta_k and s2_ki = gamma_ki D_i +
    (1 - gamma_ki)^2 x_i' V_k x_i with gamma_ki = A_k / (A_k + D_i); out of sample,
    mu_ki = x_i' beta_k and s2_ki = A_k + x_i' V_k x_i. ``y`` and ``D`` hold the in-sample
    areas of ``X`` only.
    """
    m, p = X.shape
    XX = (X[:, :, None] * X[:, None, :]).reshape(m, p * p)
    xvx = np.einsum("kq,mq->km", V_k.reshape(-1, p * p), XX)
    mu = np.einsum("kp,mp->km", beta_k, X)
    s2 = A[:, None] + xvx
    gamma = A[:, None] / (A[:, None] + D)
    mu[:, in_sample] += gamma * (y - mu[:, in_sample])
    s2[:, in_sample] = gamma * D + (1.0 - gamma) ** 2 * xvx[:, in_sample]
    return mu, s2, 1.0 - gamma


def _mixture_summary(weights: np.ndarray, mu: np.ndarray, s2: np.ndarray, z: float
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, SD and the mixture CDF at mean -/+ z SD of each column's Gaussian mixture."""
    mean = weights @ mu
    sd = np.sqrt(weights @ (s2 + (mu - mean) ** 2))
    comp_sd = np.sqrt(s2)
    cdf = np.stack([weights @ special.ndtr((mean + sign * z * sd - mu) / comp_sd)
                    for sign in (-1.0, 1.0)])
    return mean, sd, cdf


def _area_rule(post: _Posterior, t: np.ndarray, weights: np.ndarray, A: np.ndarray,
               beta_k: np.ndarray, V_k: np.ndarray, X: np.ndarray, in_sample: np.ndarray,
               z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weights, sigma2_u, GLS coefficients and covariances at the nodes used for the areas.

    The area posteriors are mixtures over sigma_u^2 of Gaussians whose moments are smooth in
    sigma_u^2. A Gauss rule with n = 12, 24, ... nodes for the posterior of t replaces the K
    quadrature nodes when, on probe areas (the largest standardised residuals, a spread of
    sampling variances, and out-of-sample areas), it reproduces the posterior mean and SD to
    1e-10 SD and the posterior CDF near the interval ends to 1e-10.
    """
    y, D = post.marginal.y, post.marginal.D
    inside = np.flatnonzero(in_sample)
    resid = np.abs(y - X[inside] @ (weights @ beta_k)) / np.sqrt(weights @ A + D)
    by_variance = np.argsort(D)[np.linspace(0, D.size - 1, 16).astype(int)]
    probe_in = np.unique(np.concatenate([np.argsort(resid)[-16:], by_variance]))
    probe = np.concatenate([inside[probe_in], np.flatnonzero(~in_sample)[:4]])
    probe_mask = np.zeros(probe.size, dtype=bool)
    probe_mask[:probe_in.size] = True

    def summary(w: np.ndarray, a: np.ndarray, b: np.ndarray, v: np.ndarray) -> np.ndarray:
        mu, s2, _ = _area_components(a, b, v, X[probe], y[probe_in], D[probe_in], probe_mask)
        mean, sd, cdf = _mixture_summary(w, mu, s2, z)
        return np.concatenate([mean / ref_sd, sd / ref_sd, cdf.ravel()])

    ref_sd = np.ones(probe.size)
    mu, s2, _ = _area_components(A, beta_k, V_k, X[probe], y[probe_in], D[probe_in], probe_mask)
    ref_sd = _mixture_summary(weights, mu, s2, z)[1]
    full = summary(weights, A, beta_k, V_k)
    n = 12
    while 2 * n <= t.size:
        nodes, w = _gauss_rule(t, weights, n)
        a_n = (post.scale * np.sinh(nodes)) ** 2
        _, b_n, V_n, _ = post.marginal.gls(a_n)
        if np.abs(summary(w, a_n, b_n, V_n) - full).max() < 1e-10:
            return w, a_n, b_n, V_n
        n *= 2
    return weights, A, beta_k, V_k


def _area_posterior(weights: np.ndarray, A: np.ndarray, beta_k: np.ndarray, V_k: np.ndarray,
                    X: np.ndarray, y: np.ndarray, D: np.ndarray, in_sample: np.ndarray,
                    level: float) -> tuple[np.ndarray, ...]:
    """Posterior mean, SD, equal-tailed interval and mean shrinkage of every area value."""
    mu, s2, shrink = _area_components(A, beta_k, V_k, X, y, D, in_sample)
    estimate = weights @ mu
    sd = np.sqrt(weights @ (s2 + (mu - estimate) ** 2))
    shrinkage = np.ones(X.shape[0])
    shrinkage[in_sample] = weights @ shrink
    del shrink
    comp_sd = np.sqrt(s2)
    del s2
    tail = 0.5 * (1.0 - level)
    z = special.ndtri(1.0 - tail)
    tol = 1e-10 * sd
    lower = mixture_quantiles(weights, mu, comp_sd, tail, estimate - z * sd, tol)
    upper = mixture_quantiles(weights, mu, comp_sd, 1.0 - tail, estimate + z * sd, tol)
    return estimate, sd, lower, upper, shrinkage


def fit_hb(direct: np.ndarray, variance: np.ndarray, X: np.ndarray, *, areas: np.ndarray,
           covariate_names: tuple[str, ...], level: float = 0.95,
           prior: VariancePrior | None = None, random_seed: Any = None, draws: int = 1000,
           theta_draws: bool | None = None, sampler: str = "exact") -> FayHerriotResult:
    """Fit the hierarchical Bayes Fay–Herriot model exactly (quadrature, no MCMC).

    Parameters
    ----------
    direct, variance : numpy.ndarray
        Direct estimates $y_i$ and their sampling variances $D_i > 0$ (length m,
        validated). NaN in both marks an out-of-sample area, which gets its posterior
        predictive estimate $x_i^\\top\\beta + u_i$.
    X : numpy.ndarray
        Design matrix (m, p), intercept column included; full column rank on the in-sample
        areas.
    areas : numpy.ndarray
        Area labels (length m).
    covariate_names : tuple of str
        Names of the p columns of ``X``.
    level : float
        Level of the equal-tailed credible intervals, e.g. 0.95.
    prior : VariancePrior or None
        Prior on $\\sigma_u^2$ (see `crimestats.sae.priors`); None means
        [`FlatVariance`][crimestats.sae.FlatVariance]. $\\beta$ has a flat prior.
    random_seed : int, numpy.random.Generator or None
        Seed of the posterior draws stored in ``idata`` (the estimates themselves are exact
        and do not depend on it).
    draws : int
        Number of independent posterior draws stored in ``idata`` (0: no ``idata``).
    theta_draws : bool or None
        Whether ``idata`` also holds draws of every area value $\\theta_i$
        (``draws`` x m numbers). None stores them when ``draws * m <= 10_000_000``.
    sampler : {"exact", "nuts"}
        ``"exact"`` (default): quadrature and independent draws as described above.
        ``"nuts"``: a cross-check that samples the same marginal model (area effects
        integrated out) with PyMC's own NUTS (``nuts_sampler="pymc"``), 2 chains of ``draws``
        draws after 1,000 tuning steps, then draws theta from its Gaussian conditional. Its
        summaries carry Monte Carlo error; r-hat, ESS and divergences are in ``diagnostics``
        and a [`ConvergenceWarning`][crimestats.errors.ConvergenceWarning] is issued when they are poor.

    Returns
    -------
    FayHerriotResult
        ``method="hb"``; ``estimates`` holds the posterior mean (``estimate``), posterior SD
        (``sd`` and ``rmse``), the credible interval (``lower``, ``upper``), ``cv``,
        ``shrinkage`` (posterior mean of $D_i/(\\sigma_u^2 + D_i)$) and ``synthetic``
        ($x_i^\\top E(\\beta \\mid y)$); ``sigma2_u`` and ``beta`` are posterior means,
        ``beta_se`` posterior SDs.

    Examples
    --------
    Seven areas with a direct estimate and one without (the last), intercept only:

    >>> import numpy as np
    >>> from crimestats.sae.area_level.hb import fit_hb
    >>> y = np.array([1.1, 0.8, 1.4, 0.9, 1.0, 1.3, 0.7, np.nan])
    >>> D = np.array([0.04, 0.02, 0.05, 0.03, 0.04, 0.02, 0.03, np.nan])
    >>> fit = fit_hb(y, D, np.ones((8, 1)), areas=np.arange(8),
    ...              covariate_names=("intercept",), level=0.9, draws=0)
    >>> print(round(fit.sigma2_u, 3))
    0.17
    >>> fit.estimates[["estimate", "sd", "lower", "upper"]].to_dataframe().round(3).iloc[[0, 7]]
          estimate     sd  lower  upper
    area
    0        1.072  0.168  0.800  1.353
    7        1.020  0.446  0.359  1.688
    """
    level = check_level(level)
    prior = check_prior(prior)
    draws = as_draw_count(draws)
    m, p = X.shape
    in_sample = ~np.isnan(direct)
    y, D, X_in = direct[in_sample], variance[in_sample], X[in_sample]
    residual_df = y.size - p
    if residual_df < prior.min_residual_df:
        raise InputError(
            f"The HB model with prior {prior.describe()!r} needs at least "
            f"{p + prior.min_residual_df} in-sample areas for {p} coefficients (so that the "
            f"posterior of sigma2_u is proper with a finite mean); received {y.size}. "
            "Use fewer covariates or a proper prior such as HalfCauchy(scale=...)."
        )
    if np.linalg.matrix_rank(X_in) < p:
        raise InputError(
            "The covariates are collinear on the in-sample areas (the design matrix without "
            "the out-of-sample areas is singular); drop redundant columns or categories."
        )

    sampler = FAY_HERRIOT["sampler"].check(sampler)
    if sampler == "nuts":
        return _fit_nuts(direct, variance, X, areas=areas, covariate_names=covariate_names,
                         level=level, prior=prior, random_seed=random_seed, draws=draws)

    post = _Posterior(_Marginal(y, D, X_in), prior)
    mode, t_lo, t_hi, sd_t = _integration_range(post, y, D, X_in)
    K = _node_count(t_lo, t_hi, sd_t)
    nodes, gl_weights = np.polynomial.legendre.leggauss(K)
    t = 0.5 * (t_lo + t_hi) + 0.5 * (t_hi - t_lo) * nodes
    A = (post.scale * np.sinh(t)) ** 2
    loglik, beta_k, V_k = post.marginal.evaluate(A)
    log_t = prior.log_density(np.sqrt(A)) + loglik + np.log(np.cosh(t))
    log_w = np.log(gl_weights) + log_t
    weights = np.exp(log_w - log_w.max())
    weights /= weights.sum()

    # sigma2_u and beta: beta is a mixture over the nodes of N(beta_k, V_k).
    sigma2_u = float(weights @ A)
    # The posterior variance of sigma2_u is infinite when the prior and likelihood tails allow.
    variance_finite = residual_df / 2.0 + prior.tail_power > 3.0
    sigma2_u_sd = math.sqrt(float(weights @ (A - sigma2_u) ** 2)) if variance_finite else math.inf
    beta = weights @ beta_k
    dev = beta_k - beta
    beta_cov = np.einsum("k,kpq->pq", weights, V_k) + np.einsum("k,kp,kq->pq", weights, dev, dev)

    # Area values: the same mixture, on a Gauss rule with fewer nodes when that is as accurate.
    area_w, area_A, area_beta, area_V = _area_rule(post, t, weights, A, beta_k, V_k, X,
                                                   in_sample, special.ndtri(0.5 + level / 2))
    estimate, sd, lower, upper, shrinkage = _area_posterior(
        area_w, area_A, area_beta, area_V, X, y, D, in_sample, level)

    # Posterior CDF of t on a fine grid (interpolated density) for sigma2_u's interval and draws.
    tail = 0.5 * (1.0 - level)
    t_fine = np.linspace(t_lo, t_hi, _FINE_GRID)
    # Barycentric weights of the Legendre nodes: (-1)^j sqrt((1 - x_j^2) w_j).
    bary = (-1.0) ** np.arange(K) * np.sqrt((1.0 - nodes**2) * gl_weights)
    density = interpolate.BarycentricInterpolator(t, np.exp(log_t - log_t.max()), wi=bary)
    density = np.clip(density(t_fine), 0.0, None)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]))])
    cdf /= cdf[-1]
    sigma2_u_interval = (post.scale * np.sinh(np.interp([tail, 1.0 - tail], cdf, t_fine))) ** 2

    diagnostics: dict[str, Any] = {
        "sampler": "exact: Gauss-Legendre quadrature over sigma_u, Gaussian conditionals",
        "prior": prior.describe(),
        "prior_beta": "p(beta) ∝ 1 (flat)",
        "grid_size": K,
        "area_grid_size": int(area_w.size),
        "grid_sigma_u_range": [float(post.scale * math.sinh(t_lo)),
                               float(post.scale * math.sinh(t_hi))],
        "sigma_u_mode": mode,
        "sigma2_u_sd": sigma2_u_sd,
        "sigma2_u_interval": [float(v) for v in sigma2_u_interval],
        "draws": draws,
        "independent_draws": True,
        "theta_draws": False,
    }

    idata = None
    if draws > 0:
        store_theta = draws * m <= _THETA_DRAWS_LIMIT if theta_draws is None else bool(theta_draws)
        idata = _posterior_draws(post, cdf, t_fine, X, in_sample, areas, covariate_names, draws,
                                 store_theta, as_rng(random_seed), diagnostics)
        diagnostics["theta_draws"] = store_theta

    estimates = _estimates_dataset(areas, estimate, sd, lower, upper, direct, variance,
                                   shrinkage, X @ beta, level)
    return FayHerriotResult(
        estimates=estimates, method="hb", sigma2_u=sigma2_u, beta=beta,
        beta_se=np.sqrt(np.diag(beta_cov)), covariate_names=tuple(covariate_names), level=level,
        converged=True, iterations=0, loglik=float("nan"), diagnostics=diagnostics, idata=idata,
    )


def _estimates_dataset(areas: np.ndarray, estimate: np.ndarray, sd: np.ndarray,
                       lower: np.ndarray, upper: np.ndarray, direct: np.ndarray,
                       variance: np.ndarray, shrinkage: np.ndarray, synthetic: np.ndarray,
                       level: float) -> xr.Dataset:
    """The per-area [`xarray.Dataset`][xarray.Dataset] of an HB fit."""
    extra = {"shrinkage": (shrinkage, "posterior mean of the weight on the synthetic part, "
                                      "D / (sigma2_u + D)")}
    return hb_dataset(areas, estimate, sd, lower, upper, direct, variance, synthetic,
                      level=level, attrs={"model": "Fay-Herriot"}, extra=extra)


def _posterior_draws(post: _Posterior, cdf: np.ndarray, t_fine: np.ndarray, X: np.ndarray,
                     in_sample: np.ndarray, areas: np.ndarray, covariate_names: tuple[str, ...],
                     draws: int, store_theta: bool, rng: np.random.Generator,
                     diagnostics: dict[str, Any]) -> Any:
    """Independent draws of sigma2_u (inverse CDF), beta and theta (exact Gaussian conditionals)."""
    import arviz as az

    m, p = X.shape
    marginal = post.marginal
    A = (post.scale * np.sinh(np.interp(rng.random(draws), cdf, t_fine))) ** 2
    z_beta = rng.standard_normal((draws, p))
    chunk = max(1, _CHUNK_ELEMENTS // max(m, 1))
    beta = np.empty((draws, p))
    for start in range(0, draws, chunk):
        part = slice(start, start + chunk)
        _, beta_hat, V, _ = marginal.gls(A[part])
        beta[part] = beta_hat + (np.linalg.cholesky(V) @ z_beta[part, :, None])[..., 0]
    posterior: dict[str, np.ndarray] = {"sigma2_u": A[None], "beta": beta[None]}
    if store_theta:
        theta = np.empty((draws, m))
        for start in range(0, draws, chunk):
            part = slice(start, start + chunk)
            a = A[part, None]
            mean = np.einsum("kp,mp->km", beta[part], X)
            var = np.broadcast_to(a, mean.shape).copy()
            gamma = a / (a + marginal.D)
            mean[:, in_sample] += gamma * (marginal.y - mean[:, in_sample])
            var[:, in_sample] = gamma * marginal.D
            theta[part] = mean + np.sqrt(var) * rng.standard_normal(mean.shape)
        posterior["theta"] = theta[None]
    else:
        diagnostics["theta_draws_note"] = (
            f"theta draws not stored ({draws} draws x {m} areas); pass theta_draws=True to keep them"
        )
    return az.from_dict(
        {"posterior": posterior},
        dims={"beta": ["coef"], "theta": ["area"]},
        coords={"coef": list(covariate_names), "area": np.asarray(areas)},
        attrs={"posterior": {"sampler": diagnostics["sampler"], "independent_draws": 1}},
    )


#: NUTS cross-check: chains, tuning steps, and the limits beyond which it warns.
_NUTS_CHAINS, _NUTS_TUNE = 2, 1000
_RHAT_MAX, _ESS_MIN = 1.01, 400


def _pymc_sigma_u(prior: VariancePrior) -> Any:
    """The prior on sigma_u as a PyMC variable (inside a model context)."""
    import pymc as pm

    if isinstance(prior, HalfCauchy):
        return pm.HalfCauchy("sigma_u", beta=prior.scale)
    if isinstance(prior, HalfNormal):
        return pm.HalfNormal("sigma_u", sigma=prior.scale)
    sigma_u = pm.HalfFlat("sigma_u")
    if isinstance(prior, FlatVariance):
        pm.Potential("flat_variance_jacobian", pm.math.log(sigma_u))
    elif not isinstance(prior, FlatSD):
        raise InputError(f"sampler='nuts' does not support the prior {prior.describe()!r}.")
    return sigma_u


def _fit_nuts(direct: np.ndarray, variance: np.ndarray, X: np.ndarray, *, areas: np.ndarray,
              covariate_names: tuple[str, ...], level: float, prior: VariancePrior,
              random_seed: Any, draws: int) -> FayHerriotResult:
    """The HB model sampled by PyMC's NUTS (cross-check of the exact fit; see `fit_hb`)."""
    import arviz as az
    import pymc as pm

    if draws < 100:
        raise InputError(f"sampler='nuts' needs draws >= 100 per chain; received {draws}.")
    rng = as_rng(random_seed)
    in_sample = ~np.isnan(direct)
    y, D, X_in = direct[in_sample], variance[in_sample], X[in_sample]
    with pm.Model(coords={"coef": list(covariate_names)}):
        beta = pm.Flat("beta", dims="coef")
        sigma_u = _pymc_sigma_u(prior)
        pm.Normal("direct", mu=pm.math.dot(X_in, beta),
                  sigma=pm.math.sqrt(sigma_u**2 + D), observed=y)
        idata = pm.sample(draws=draws, tune=_NUTS_TUNE, chains=_NUTS_CHAINS, cores=1,
                          nuts_sampler="pymc", random_seed=rng, progressbar=False,
                          compute_convergence_checks=False)

    post = idata["posterior"]
    rhat = az.rhat(post, var_names=["sigma_u", "beta"])
    ess = az.ess(post, var_names=["sigma_u", "beta"], method="bulk")
    rhat_max = float(max(float(rhat[v].max()) for v in ("sigma_u", "beta")))
    ess_min = float(min(float(ess[v].min()) for v in ("sigma_u", "beta")))
    divergences = int(idata["sample_stats"]["diverging"].sum())
    if rhat_max > _RHAT_MAX or ess_min < _ESS_MIN or divergences > 0:
        warnings.warn(
            f"NUTS sampling of the HB Fay–Herriot model looks unreliable: max r-hat "
            f"{rhat_max:.3f} (want <= {_RHAT_MAX}), min bulk ESS {ess_min:.0f} (want >= "
            f"{_ESS_MIN}), {divergences} divergences. Use the exact default sampler='exact'.",
            ConvergenceWarning, stacklevel=3,
        )

    # theta | sigma_u, beta, y is Gaussian: Rao-Blackwellised means, sampled quantiles.
    A = post["sigma_u"].values.reshape(-1) ** 2
    beta_draws = post["beta"].values.reshape(A.size, -1)
    mean = np.einsum("kp,mp->km", beta_draws, X)
    var = np.broadcast_to(A[:, None], mean.shape).copy()
    gamma = A[:, None] / (A[:, None] + D)
    mean[:, in_sample] += gamma * (y - mean[:, in_sample])
    var[:, in_sample] = gamma * D
    theta = mean + np.sqrt(var) * rng.standard_normal(mean.shape)
    estimate = mean.mean(axis=0)
    sd = np.sqrt(var.mean(axis=0) + mean.var(axis=0))
    tail = 0.5 * (1.0 - level)
    lower, upper = np.quantile(theta, [tail, 1.0 - tail], axis=0)
    shrinkage = np.ones(X.shape[0])
    shrinkage[in_sample] = (1.0 - gamma).mean(axis=0)
    beta_mean = beta_draws.mean(axis=0)

    posterior = {"sigma2_u": A.reshape(_NUTS_CHAINS, -1),
                 "beta": beta_draws.reshape(_NUTS_CHAINS, -1, X.shape[1]),
                 "theta": theta.reshape(_NUTS_CHAINS, -1, X.shape[0])}
    result_idata = az.from_dict(
        {"posterior": posterior,
         "sample_stats": {"diverging": idata["sample_stats"]["diverging"].values}},
        dims={"beta": ["coef"], "theta": ["area"]},
        coords={"coef": list(covariate_names), "area": np.asarray(areas)},
    )
    diagnostics: dict[str, Any] = {
        "sampler": "PyMC NUTS (nuts_sampler='pymc') on the marginal model",
        "prior": prior.describe(),
        "prior_beta": "p(beta) ∝ 1 (flat)",
        "chains": _NUTS_CHAINS,
        "tune": _NUTS_TUNE,
        "draws": draws,
        "independent_draws": False,
        "rhat_max": rhat_max,
        "ess_bulk_min": ess_min,
        "divergences": divergences,
        "sigma2_u_sd": float(A.std(ddof=1)),
        "sigma2_u_interval": [float(v) for v in np.quantile(A, [tail, 1.0 - tail])],
        "theta_draws": True,
    }
    return FayHerriotResult(
        estimates=_estimates_dataset(areas, estimate, sd, lower, upper, direct, variance,
                                     shrinkage, X @ beta_mean, level),
        method="hb", sigma2_u=float(A.mean()), beta=beta_mean,
        beta_se=beta_draws.std(axis=0, ddof=1), covariate_names=tuple(covariate_names),
        level=level, converged=rhat_max <= _RHAT_MAX, iterations=0, loglik=float("nan"),
        diagnostics=diagnostics, idata=result_idata,
    )
