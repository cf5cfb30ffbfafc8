"""Spatial Fay–Herriot model: area effects following a SAR(1) process over neighbours.

Model (Petrucci & Salvati 2006; Rao & Molina 2015, sec. 8.5; Molina, Salvati & Pratesi 2009):

$$
y_i = x_i^\\top\\beta + v_i + e_i,\\qquad e_i \\sim N(0, D_i),\\qquad
v = \\rho W v + u,\\quad u \\sim N(0, \\sigma_u^2 I),
$$

so $\\mathrm{Var}(v) = G = \\sigma_u^2 C(\\rho)^{-1}$ with
$C(\\rho) = (I - \\rho W)^\\top (I - \\rho W)$ and $\\mathrm{Var}(y) = \\Sigma = G + D$.
$W$ is the row-standardised proximity matrix and $\\rho \\in (-1, 1)$ the spatial
autocorrelation. $(\\sigma_u^2, \\rho)$ are fitted by REML or ML with Fisher scoring
(from $\\sigma_u^2 = \\mathrm{median}(D)$, $\\rho = 0.5$, as R ``sae::eblupSFH``);
the spatial EBLUP is $\\hat\\theta = X\\hat\\beta + \\hat G\\hat\\Sigma^{-1}(y - X\\hat\\beta)$
and its MSE the second-order estimator of Singh, Shukla & Kundu (2005) as in ``sae::mseSFH``:
$g_1 + g_2 + 2 g_3 - g_4$ (REML), minus also the ML bias term for ML.

Two computational paths give the same fit. Up to 500 areas (``algorithm="auto"``) dense
``m × m`` algebra with Fisher scoring, step for step as R ``sae`` (matching it to round-off).
Above that the precision form of `crimestats.sae._engine.sfh_operators` (sparse Cholesky factors of
$C(\\rho)/\\sigma_u^2 + D^{-1}$, no ``m × m`` matrix): the EBLUP, the variance
components, $\\beta$, $g_1$ and $g_2$ are exact, the second-order terms exact
or seeded Monte Carlo (see ``traces``); the 7,201 MSOAs take seconds.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy import linalg

from ..._options import FAY_HERRIOT
from ...errors import ConvergenceWarning, DataWarning, InputError
from .._engine.products import diag_of_product
from .._engine.sar_precision import DEFAULT_PROBES, SPARSE_AFTER_DENSE
from .._engine.sfh_operators import fit_sparse_sfh
from .._estimates import eblup_dataset
from ..results import MseTerms, SpatialFayHerriotResult
from ..spatial.weights import proximity_matrix

__all__ = ["fit_spatial_fay_herriot"]

#: above this many areas ``algorithm="auto"`` uses the sparse precision-form path
SPARSE_AREAS = 500


# --------------------------------------------------------------------------------------------
# Dense SAR algebra
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _SarTerms:
    """Covariance pieces of the SAR model at one value of (sigma2_u, rho)."""

    cinv: np.ndarray        # C(rho)^-1, (m, m)
    dc_drho: np.ndarray     # d C / d rho = -W - W' + 2 rho W'W, (m, m)
    dcinv_drho: np.ndarray  # d C^-1 / d rho = -C^-1 (dC/drho) C^-1, (m, m)
    sigma_inv: np.ndarray   # Sigma^-1 over in-sample areas, (n, n)
    q: np.ndarray           # (X' Sigma^-1 X)^-1, (p, p)
    logdet_sigma: float


def _sar_terms(sigma2_u: float, rho: float, w: np.ndarray, wtw: np.ndarray, d: np.ndarray,
               x: np.ndarray, inside: np.ndarray) -> _SarTerms:
    """C(rho)^-1, its rho-derivative, Sigma^-1 and (X' Sigma^-1 X)^-1 (dense)."""
    m = w.shape[0]
    c = np.eye(m) - rho * (w + w.T) + rho**2 * wtw
    cinv = linalg.cho_solve(linalg.cho_factor(c, lower=True), np.eye(m))
    dc = -w - w.T + 2.0 * rho * wtw
    dcinv = -cinv @ dc @ cinv
    sigma = sigma2_u * cinv[np.ix_(inside, inside)] + np.diag(d)
    factor = linalg.cho_factor(sigma, lower=True)
    sigma_inv = linalg.cho_solve(factor, np.eye(sigma.shape[0]))
    q = linalg.inv(x.T @ sigma_inv @ x)
    logdet = 2.0 * float(np.sum(np.log(np.diag(factor[0]))))
    return _SarTerms(cinv, dc, 0.5 * (dcinv + dcinv.T), 0.5 * (sigma_inv + sigma_inv.T),
                     0.5 * (q + q.T), logdet)


def _score_information(method: str, sigma2_u: float, t: _SarTerms, y: np.ndarray,
                       x: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score vector and Fisher information in (sigma2_u, rho) for REML or ML."""
    ii = np.ix_(inside, inside)
    dsig = [t.cinv[ii], sigma2_u * t.dcinv_drho[ii]]
    sx = t.sigma_inv @ x
    if method == "reml":
        proj = t.sigma_inv - sx @ t.q @ sx.T
    else:
        proj = t.sigma_inv
    resid_w = t.sigma_inv @ (y - x @ (t.q @ (sx.T @ y)))  # P y (= Sigma^-1 (y - X beta))
    pv = [proj @ dv for dv in dsig]
    score = np.array([-0.5 * np.trace(pv[r]) + 0.5 * resid_w @ dsig[r] @ resid_w
                      for r in range(2)])
    info = np.array([[0.5 * np.sum(pv[r] * pv[s].T) for s in range(2)] for r in range(2)])
    return score, info


def _fit_variance_components(method: str, y: np.ndarray, d: np.ndarray, x: np.ndarray,
                             w: np.ndarray, inside: np.ndarray, max_iter: int, tol: float
                             ) -> tuple[float, float, bool, int]:
    """Fisher scoring for (sigma2_u, rho) with the start and stopping rule of ``sae``.

    Start $\\sigma_u^2 = \\mathrm{median}(D)$, $\\rho = 0.5$; stop when the largest
    relative change is below ``tol`` (or the step's predicted gain in log-likelihood is below
    1e-12). $\\rho$ is kept in [-0.999, 0.999] and $\\sigma_u^2$ at or above 0.
    """
    theta = np.array([float(np.median(d)), 0.5])
    wtw = w.T @ w
    rho_free = True
    for iteration in range(1, max_iter + 1):
        terms = _sar_terms(theta[0], theta[1], w, wtw, d, x, inside)
        score, info = _score_information(method, theta[0], terms, y, x, inside)
        if rho_free:
            new = theta + np.linalg.lstsq(info, score, rcond=None)[0]
            if abs(new[1]) >= 0.999 and abs(theta[1]) >= 0.999:
                rho_free = False           # the likelihood rises towards |rho| = 1: stop there
            new[1] = min(max(new[1], -0.999), 0.999)
        if not rho_free:
            new = theta + np.array([score[0] / info[0, 0], 0.0])
        if new[0] < 0.0:
            at_zero = _sar_terms(0.0, theta[1], w, wtw, d, x, inside)
            if _score_information(method, 0.0, at_zero, y, x, inside)[0][0] <= 0.0:
                # boundary: sigma2_u = 0, the area effects vanish and rho is not identified
                return 0.0, float(theta[1]), True, iteration
            new[0] = 0.5 * theta[0]
        denom = np.where(theta == 0.0, 1e-4, np.abs(theta))
        change = np.max(np.abs(new - theta) / denom)
        # round-off floor on a flat likelihood: stop when the step's predicted gain in the
        # (restricted) log-likelihood is below 1e-12 in absolute terms
        gain = 0.5 * float(score @ (new - theta))
        theta = new
        if change < tol or abs(gain) < 1e-12:
            return float(theta[0]), float(theta[1]), True, iteration
    return float(theta[0]), float(theta[1]), False, max_iter


def _mse_terms(method: str, sigma2_u: float, t: _SarTerms, w: np.ndarray, d: np.ndarray,
               x_all: np.ndarray, inside: np.ndarray) -> tuple[MseTerms, dict[str, Any]]:
    """Second-order MSE terms of the spatial EBLUP for every area (Singh, Shukla & Kundu 2005).

    Returns the terms and extras (the covariance of the variance components used, and for ML
    the bias of their estimates).
    """
    x = x_all[inside]
    ii = np.ix_(inside, inside)
    g_all = sigma2_u * t.cinv[:, inside]                 # Cov(v, y), (m, n)
    dg_all = [t.cinv[:, inside], sigma2_u * t.dcinv_drho[:, inside]]
    dsig = [t.cinv[ii], sigma2_u * t.dcinv_drho[ii]]
    si = t.sigma_inv
    gsi = g_all @ si                                      # G Sigma^-1, (m, n)

    g1 = sigma2_u * np.diag(t.cinv) - diag_of_product(gsi, g_all)
    h = x_all - gsi @ x
    g2 = diag_of_product(h @ t.q, h)

    # Asymptotic covariance of (sigma2_u, rho): inverse of the REML Fisher information
    # (sae::mseSFH uses this form for both REML and ML fits)
    sx = si @ x
    proj = si - sx @ t.q @ sx.T
    pv = [proj @ dv for dv in dsig]
    info = np.array([[0.5 * np.sum(pv[r] * pv[s].T) for s in range(2)] for r in range(2)])
    vcov = np.linalg.pinv(info)   # sigma2_u = 0 makes rho's row zero: pinv drops it
    # L_r = d(G Sigma^-1)/d theta_r = (dG_r - G Sigma^-1 dSigma_r) Sigma^-1; L_r Sigma is the
    # bracket, so no extra m^3 product is needed for L_r Sigma L_s'
    ls = [dg_all[r] - gsi @ dsig[r] for r in range(2)]
    lmat = [lr @ si for lr in ls]
    g3 = sum(vcov[r, s] * diag_of_product(ls[r], lmat[s])
             for r in range(2) for s in range(2))

    # g4: second derivatives of Sigma (in-sample areas only)
    g4 = np.zeros(x_all.shape[0])
    cinv = t.cinv
    dcdr = t.dc_drho
    d2_arho = t.dcinv_drho[ii]                           # -C^-1 C' C^-1
    cdc = cinv @ dcdr
    d2_rhorho = (2.0 * sigma2_u * (cdc @ cdc @ cinv)
                 - 2.0 * sigma2_u * (cinv @ (w.T @ w) @ cinv))[ii]
    psi_si = d[:, None] * si                              # Psi Sigma^-1
    quad = [[None, d2_arho], [d2_arho, d2_rhorho]]
    g4_in = np.zeros(int(inside.sum()))
    for r in range(2):
        for s in range(2):
            if quad[r][s] is not None:
                g4_in += 0.5 * vcov[r, s] * diag_of_product(psi_si @ quad[r][s], psi_si)
    g4[inside] = g4_in
    extras: dict[str, Any] = {"vcov_theta": vcov}
    bias_term = None
    if method == "ml":
        hvec = np.array([-np.trace(t.q @ sx.T @ dsig[r] @ sx) for r in range(2)])
        bias = 0.5 * vcov @ hvec
        dg_dd = [np.diag(t.cinv), sigma2_u * np.diag(t.dcinv_drho)]
        grad = [dg_dd[r] - 2.0 * diag_of_product(dg_all[r] @ si, g_all)
                + diag_of_product(gsi @ dsig[r], gsi) for r in range(2)]
        bias_term = bias[0] * grad[0] + bias[1] * grad[1]
        extras["theta_bias"] = bias
    return MseTerms(g1=g1, g2=g2, g3=g3, g4=g4, bias=bias_term), extras


def fit_spatial_fay_herriot(direct: np.ndarray, variance: np.ndarray, X: np.ndarray,
                            proximity: Any, *, method: str = "reml",
                            areas: Sequence[Hashable] | None = None,
                            covariate_names: Sequence[str] | None = None, level: float = 0.95,
                            max_iter: int = 100, tol: float = 1e-10, algorithm: str = "auto",
                            traces: str = "auto", probes: int = DEFAULT_PROBES,
                            random_seed: Any = 0) -> SpatialFayHerriotResult:
    """Fit the spatial (SAR) Fay–Herriot model on validated arrays.

    Called by [`crimestats.sae.fay_herriot`][crimestats.sae.fay_herriot] when ``proximity`` is given (that function
    validates the data and builds the design); use it directly only with clean arrays.

    Parameters
    ----------
    direct, variance : numpy.ndarray, shape (m,)
        Direct estimates and their sampling variances $D_i$; NaN together for areas
        with no sample (they get the spatial prediction from their neighbours).
    X : numpy.ndarray, shape (m, p)
        Design matrix, intercept column included if wanted.
    proximity : array-like, scipy sparse matrix, Adjacency or table of neighbour pairs
        See `crimestats.sae.spatial.proximity_matrix`.
    method : {"reml", "ml"}
        Estimation of $(\\sigma_u^2, \\rho)$.
    areas : sequence, optional
        Area labels (default ``0 .. m-1``).
    covariate_names : sequence of str, optional
        Names of the columns of ``X``.
    level : float
        Level of the normal intervals ``estimate ± z·rmse``.
    max_iter : int
        Maximum Fisher-scoring iterations.
    tol : float
        Stop when the largest relative change of $(\\sigma_u^2, \\rho)$ is below ``tol``
        (R ``sae`` uses ``PRECISION = 1e-4``; ``tol=1e-4`` reproduces its numbers).
    algorithm : {"auto", "dense", "sparse"}
        ``"dense"``: dense ``m × m`` algebra with Fisher scoring, as R ``sae`` (matches it to
        round-off). ``"sparse"``: precision form with sparse Cholesky factors (no ``m × m``
        matrix; see `crimestats.sae._engine.sar_precision`), average-information scoring to the
        same optimum. ``"auto"`` (default) is dense up to 500 areas, sparse above, and refits
        with the sparse path when dense Fisher scoring does not converge (it can cycle on a
        flat likelihood); ``diagnostics["algorithm"]`` says which path gave the result.
    traces : {"auto", "exact", "monte_carlo"}
        Sparse path only: how the second-order traces (Fisher information, hence the
        standard errors of $\\sigma_u^2, \\rho$, and the $g_3, g_4$ MSE terms)
        are computed. ``"exact"`` costs O(m) sparse solves; ``"monte_carlo"`` uses ``probes``
        seeded draws (relative error of order ``sqrt(2 / (probes m))`` in the information and
        ``sqrt(2 / probes)`` in each area's $g_3$, a term of order 1/m);
        ``"auto"``: exact up to 2,000 sampled areas.
    probes : int
        Monte Carlo draws for ``traces="monte_carlo"``.
    random_seed : int or numpy.random.Generator
        Seed of those draws (the default 0 makes the result reproducible).

    Returns
    -------
    SpatialFayHerriotResult
        ``estimates`` over ``area`` with ``estimate``, ``mse``, ``rmse``, ``lower``, ``upper``,
        ``cv``, ``direct``, ``direct_variance``, ``synthetic`` and ``in_sample``; ``rho``,
        ``sigma2_u``, ``beta`` and their standard errors.

    References
    ----------
    Petrucci, A. and Salvati, N. (2006). Small area estimation for spatial correlation in
    watershed erosion assessment. JABES 11, 169–182.
    Singh, B. B., Shukla, G. K. and Kundu, D. (2005). Spatio-temporal models in small area
    estimation. Survey Methodology 31, 183–195.
    Rao, J. N. K. and Molina, I. (2015). Small Area Estimation, 2nd ed., sec. 8.5. Wiley.

    Examples
    --------
    An 8 × 8 grid of areas (rook neighbours), data simulated with $\\rho = 0.7$:

    >>> import numpy as np
    >>> from crimestats.sae import adjacency_from_pairs, fay_herriot
    >>> rng = np.random.default_rng(7)
    >>> side, m = 8, 64
    >>> pairs = [(r * side + c, r * side + c + 1) for r in range(side) for c in range(side - 1)]
    >>> pairs += [(r * side + c, (r + 1) * side + c) for r in range(side - 1) for c in range(side)]
    >>> W = adjacency_from_pairs(pairs, areas=range(m)).row_standardised().toarray()
    >>> v = np.linalg.solve(np.eye(m) - 0.7 * W, rng.normal(size=m))
    >>> x = rng.normal(size=m)
    >>> direct = 5 + x + v + rng.normal(scale=0.7, size=m)
    >>> fit = fay_herriot(direct, np.full(m, 0.49), x, proximity=W)
    >>> round(fit.rho, 2), round(fit.sigma2_u, 2), fit.beta.round(2)
    (0.88, 0.45, array([4.24, 1.09]))
    """
    method = method.lower()
    if method not in ("reml", "ml"):
        raise InputError(f"The spatial Fay–Herriot model is fitted by 'reml' or 'ml'; "
                         f"received {method!r}.")
    y_all = np.asarray(direct, dtype=np.float64)
    d_all = np.asarray(variance, dtype=np.float64)
    x_all = np.asarray(X, dtype=np.float64)
    m = y_all.shape[0]
    labels = np.arange(m) if areas is None else np.asarray(areas)
    names = tuple(covariate_names) if covariate_names is not None else tuple(
        f"x{j + 1}" for j in range(x_all.shape[1]))
    algorithm = FAY_HERRIOT["algorithm"].check(algorithm)
    traces = FAY_HERRIOT["traces"].check(traces)
    w_sparse = proximity_matrix(proximity, labels, m=m)
    if algorithm == "sparse" or (algorithm == "auto" and m > SPARSE_AREAS):
        return _fit_sparse(method, y_all, d_all, x_all, w_sparse, labels, names, level,
                           int(max_iter), float(tol), traces, int(probes), random_seed)
    w = w_sparse.toarray()
    inside = ~np.isnan(y_all)
    y, d, x = y_all[inside], d_all[inside], x_all[inside]

    sigma2_u, rho, converged, iterations = _fit_variance_components(
        method, y, d, x, w, inside, int(max_iter), float(tol))
    if not converged and algorithm == "auto":
        # Fisher scoring can cycle on a flat likelihood; the sparse path's scoring has a
        # line search on the exact likelihood and reaches the same maximum.
        fit = _fit_sparse(method, y_all, d_all, x_all, w_sparse, labels, names, level,
                          int(max_iter), float(tol), traces, int(probes), random_seed)
        return dataclasses.replace(fit, diagnostics={**fit.diagnostics,
                                                     "algorithm": SPARSE_AFTER_DENSE})
    if not converged:
        warnings.warn(
            f"Fisher scoring for the spatial Fay–Herriot model did not converge in {max_iter} "
            f"iterations (sigma2_u={sigma2_u:.6g}, rho={rho:.4f}); increase `max_iter` or check "
            "the proximity matrix.", ConvergenceWarning, stacklevel=3)
    terms = _sar_terms(sigma2_u, rho, w, w.T @ w, d, x, inside)
    sx = terms.sigma_inv @ x
    beta = terms.q @ (sx.T @ y)
    resid = y - x @ beta
    synthetic = x_all @ beta
    estimate = synthetic + sigma2_u * terms.cinv[:, inside] @ (terms.sigma_inv @ resid)
    mse_terms, extras = _mse_terms(method, sigma2_u, terms, w, d, x_all, inside)
    mse = np.maximum(mse_terms.total(), 0.0)

    n, p = x.shape
    quad = float(resid @ terms.sigma_inv @ resid)
    loglik = -0.5 * (n * np.log(2.0 * np.pi) + terms.logdet_sigma + quad)
    if method == "reml":
        loglik += -0.5 * float(np.linalg.slogdet(x.T @ sx)[1]) + 0.5 * p * np.log(2 * np.pi)
    vcov = extras["vcov_theta"]
    _, info = _score_information(method, sigma2_u, terms, y, x, inside)
    se_theta = np.sqrt(np.maximum(np.diag(np.linalg.pinv(info)), 0.0))
    if sigma2_u == 0.0:
        se_theta[1] = np.nan
        warnings.warn("sigma2_u was estimated as 0: the area effects vanish, every estimate is "
                      "its regression (synthetic) part and rho is not identified.",
                      DataWarning, stacklevel=3)
    diagnostics: dict[str, Any] = {
        "g1": mse_terms.g1, "g2": mse_terms.g2, "g3": mse_terms.g3, "g4": mse_terms.g4,
        "theta_vcov_for_mse": vcov, "algorithm": "dense",
        "mse_note": ("in-sample areas: g1 + g2 + 2 g3 - g4"
                     + (" - b_ML' grad g1" if method == "ml" else "")
                     + "; out-of-sample areas: g1 + g2 + 2 g3"),
    }
    estimates = eblup_dataset(
        {"area": labels}, estimate, mse, y_all, d_all, synthetic, level=level,
        attrs={"method": method, "model": "spatial Fay-Herriot (SAR)"},
        estimate_description="spatial EBLUP of the area's true value",
    )
    return SpatialFayHerriotResult(
        estimates=estimates, method=method, sigma2_u=sigma2_u, beta=beta,
        beta_se=np.sqrt(np.diag(terms.q)), covariate_names=names, level=level,
        converged=converged, iterations=iterations, loglik=float(loglik),
        diagnostics=diagnostics, mse_terms=mse_terms, mse_method="analytic", rho=rho,
        rho_se=float(se_theta[1]), sigma2_u_se=float(se_theta[0]),
    )


def _fit_sparse(method: str, y_all: np.ndarray, d_all: np.ndarray, x_all: np.ndarray,
                w: sp.csr_array, labels: np.ndarray, names: tuple[str, ...], level: float,
                max_iter: int, tol: float, traces: str, probes: int, random_seed: Any
                ) -> SpatialFayHerriotResult:
    """The sparse (precision-form) path; same result fields as the dense path."""
    fit = fit_sparse_sfh(method, y_all, d_all, x_all, w, max_iter, tol,
                         traces=traces,
                         probes=probes, random_seed=random_seed)
    if not fit.converged:
        warnings.warn(
            f"Scoring for the spatial Fay–Herriot model did not converge in {max_iter} "
            f"iterations (sigma2_u={fit.sigma2_u:.6g}, rho={fit.rho:.4f}); increase `max_iter` "
            "or check the proximity matrix.", ConvergenceWarning, stacklevel=4)
    se_theta = fit.se_theta.copy()
    if fit.sigma2_u == 0.0:
        se_theta[1] = np.nan
        warnings.warn("sigma2_u was estimated as 0: the area effects vanish, every estimate is "
                      "its regression (synthetic) part and rho is not identified.",
                      DataWarning, stacklevel=4)
    ex, mse_terms = fit.extras, fit.mse_terms
    diagnostics: dict[str, Any] = {
        "g1": ex["g1"], "g2": ex["g2"], "g3": ex["g3"], "g4": ex["g4"],
        "theta_vcov_for_mse": ex["vcov_theta"], "algorithm": "sparse",
        "second_order_traces": ex["traces"],
        "mse_note": ("in-sample areas: g1 + g2 + 2 g3 - g4"
                     + (" - b_ML' grad g1" if method == "ml" else "")
                     + "; out-of-sample areas: g1 + g2 + 2 g3"),
    }
    synthetic = x_all @ fit.beta
    estimates = eblup_dataset(
        {"area": labels}, fit.estimate, fit.mse, y_all, d_all, synthetic, level=level,
        attrs={"method": method, "model": "spatial Fay-Herriot (SAR)"},
        estimate_description="spatial EBLUP of the area's true value",
    )
    return SpatialFayHerriotResult(
        estimates=estimates, method=method, sigma2_u=fit.sigma2_u, beta=fit.beta,
        beta_se=np.sqrt(np.diag(fit.q)), covariate_names=names, level=level,
        converged=fit.converged, iterations=fit.iterations, loglik=fit.loglik,
        diagnostics=diagnostics, mse_terms=mse_terms, mse_method="analytic", rho=fit.rho,
        rho_se=float(se_theta[1]), sigma2_u_se=float(se_theta[0]),
    )
