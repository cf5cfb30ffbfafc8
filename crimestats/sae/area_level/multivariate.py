"""Multivariate Fay–Herriot model: several crime types with correlated area effects.

For areas $i = 1, \\dots, m$ and $K$ crime types, with known $K \\times K$
sampling covariance matrices $D_i$:

$$
y_i = \\theta_i + e_i, \\quad \\theta_i = B^\\top x_i + u_i, \\quad
u_i \\sim N_K(0, \\Sigma_u), \\quad e_i \\sim N_K(0, D_i),
$$

where $B$ is $p \\times K$ (each crime type its own coefficients on the same
covariates). Areas with high burglary tend to have high vehicle crime: the off-diagonal of
$\\Sigma_u$ lets each type borrow strength from the others. $\\Sigma_u$ is
estimated by REML (or ML) over its Cholesky factor; everything is block-diagonal, so the work
is O(m K³) and the memory O(m K²).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import optimize

from ... import _validate as v
from ..._options import MULTIVARIATE
from ...errors import ConvergenceWarning, InputError
from ...results import normal_interval
from ..results import MseTerms, MultivariateFayHerriotResult

__all__ = ["multivariate_fay_herriot", "profile_likelihood"]


def _unpack(params: np.ndarray, k: int) -> np.ndarray:
    """Sigma_u = L L^T from the lower-triangular L with log-diagonal in ``params``."""
    lower = np.zeros((k, k))
    lower[np.tril_indices(k)] = params
    lower[np.diag_indices(k)] = np.exp(np.diag(lower))
    return lower @ lower.T


def profile_likelihood(sigma_u: np.ndarray, y: np.ndarray, d: np.ndarray, x: np.ndarray, reml: bool
             ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """(Restricted) log-likelihood, GLS coefficients (Kp,), their covariance, V^-1 per area."""
    m, k = y.shape
    v_inv = np.linalg.inv(sigma_u[None, :, :] + d)  # (m, K, K)
    sign, logdet_v = np.linalg.slogdet(sigma_u[None, :, :] + d)
    # design per area: Z_i = I_K kron x_i^T, so Z_i^T A Z_i = A kron x_i x_i^T
    xx = np.einsum("ip,iq->ipq", x, x)
    info = np.einsum("ikl,ipq->kplq", v_inv, xx).reshape(k * x.shape[1], k * x.shape[1])
    score = np.einsum("ikl,il,ip->kp", v_inv, y, x).reshape(-1)
    cov_beta = np.linalg.inv(info)
    beta = cov_beta @ score
    fitted = x @ beta.reshape(k, -1).T  # (m, K)
    resid = y - fitted
    quad = np.einsum("ik,ikl,il->", resid, v_inv, resid)
    loglik = -0.5 * (np.sum(logdet_v) + quad + m * k * np.log(2 * np.pi))
    if reml:
        loglik += -0.5 * np.linalg.slogdet(info)[1] + 0.5 * info.shape[0] * np.log(2 * np.pi)
    if np.any(sign <= 0):
        loglik = -np.inf
    return float(loglik), beta, cov_beta, v_inv


def _g3(sigma_u: np.ndarray, d: np.ndarray, v_inv: np.ndarray) -> np.ndarray:
    """Prasad–Rao term for the estimation of Sigma_u, per area (m, K, K).

    With $\\psi$ the distinct elements of $\\Sigma_u$ (basis matrices
    $E_r$), $\\partial(\\Sigma_u V_i^{-1})/\\partial\\psi_r = D_i V_i^{-1} E_r
    V_i^{-1}$ and $g_{3i} = \\sum_{rs} [\\mathcal I^{-1}]_{rs} L_{ir} V_i L_{is}^\\top$,
    $\\mathcal I_{rs} = \\tfrac12\\sum_i \\mathrm{tr}(V_i^{-1}E_rV_i^{-1}E_s)$.
    """
    k = sigma_u.shape[0]
    basis = []
    for a_, b_ in zip(*np.triu_indices(k), strict=True):
        e = np.zeros((k, k))
        e[a_, b_] = e[b_, a_] = 1.0
        basis.append(e)
    vie = np.stack([v_inv @ e for e in basis])  # (R, m, K, K): V^-1 E_r
    info = 0.5 * np.einsum("rikl,silk->rs", vie, vie)
    c = np.linalg.inv(info)
    deriv = d @ vie @ v_inv  # (R, m, K, K): D V^-1 E_r V^-1
    v = np.linalg.inv(v_inv)
    return np.einsum("rs,rikl,ilm,sinm->ikn", c, deriv, v, deriv)


def _columns_as(frame: pd.DataFrame, columns: pd.Index) -> pd.DataFrame:
    """``frame`` with its columns in the order of ``columns`` (crime types matched by name)."""
    if set(frame.columns) == set(columns):
        return frame[list(columns)]
    if len(frame.columns) == len(columns) * len(columns):
        return frame
    raise InputError(f"`variance` has columns {list(frame.columns)} but `direct` has "
                     f"{list(columns)}; name the crime types alike (they are matched by name).")


def multivariate_fay_herriot(direct: Any, variance: Any, covariates: Any = None, *,
                             method: str = "reml", crime_types: Sequence[str] | None = None,
                             areas: Any = None, level: float = 0.95
                             ) -> MultivariateFayHerriotResult:
    """Fit the multivariate Fay–Herriot model and predict every area × crime type.

    EBLUP: $\\hat\\theta_i = \\hat B^\\top x_i + \\hat\\Sigma_u V_i^{-1}(y_i - \\hat B^\\top
    x_i)$, $V_i = \\hat\\Sigma_u + D_i$. MSE: $g_{1i} + g_{2i} + 2 g_{3i}$ with
    $g_{1i} = \\Sigma_u - \\Sigma_u V_i^{-1}\\Sigma_u$, $g_{2i}$ the variance
    contributed by $\\hat B$ and $g_{3i}$ that of $\\hat\\Sigma_u$
    (Prasad–Rao form; Benavent & Morales 2016). For K = 1 and REML this is the MSE of
    `fay_herriot`; for ML the Datta–Lahiri bias term is not added.

    Parameters
    ----------
    direct : array-like of shape (m, K)
        Direct estimates of K crime types (e.g. incidence rates per 1,000) per area.
    variance : array-like of shape (m, K) or (m, K, K)
        Sampling variances (uncorrelated errors) or full sampling covariance matrices.
    covariates : array-like of shape (m, p), optional
        Area-level covariates shared by all types (no intercept column; one is added).
    method : {"reml", "ml"}
        Estimation of $\\Sigma_u$.
    crime_types : sequence of str, optional
        Names of the K columns.
    areas : array-like of shape (m,), optional
        Area labels.
    level : float
        Interval level.

    Returns
    -------
    MultivariateFayHerriotResult

    References
    ----------
    Fay, R. E. (1987). Application of multivariate regression to small domain estimation. In
    *Small Area Statistics*, Wiley, 91–102.
    Benavent, R. & Morales, D. (2016). Multivariate Fay–Herriot models for small area
    estimation. *Computational Statistics & Data Analysis* 94, 372–390.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import multivariate_fay_herriot
    >>> rng = np.random.default_rng(0)
    >>> u = rng.multivariate_normal([0, 0], [[1.0, 0.8], [0.8, 1.0]], 200)
    >>> y = np.array([10.0, 6.0]) + u + rng.normal(0, 1.0, (200, 2))
    >>> fit = multivariate_fay_herriot(y, np.ones((200, 2)), crime_types=["burglary", "vehicle"])
    >>> fit.correlation_u.round(2)[0, 1]
    np.float64(0.62)
    """
    level = v.check_level(level)
    method = MULTIVARIATE["method"].check(method)
    rows = v.row_labels({"direct": direct, "variance": variance, "covariates": covariates},
                        areas)
    direct, variance, covariates = (rows.align(direct, "direct"),
                                    rows.align(variance, "variance"),
                                    rows.align(covariates, "covariates"))
    labels, shown = rows.values, rows.shown
    if crime_types is None and isinstance(direct, pd.DataFrame):
        crime_types = [str(c) for c in direct.columns]
        if isinstance(variance, pd.DataFrame):
            variance = _columns_as(variance, direct.columns)
    y = v.as_float_array(direct, "direct", ndim=2, labels=shown)
    m, k = y.shape
    if m == 0:
        raise InputError("`direct` is empty; at least one area is needed.")
    v.check_range(y, "direct", labels=shown)
    d_in = v.as_float_array(variance, "variance", ndim=np.ndim(variance) if
                            np.ndim(variance) in (2, 3) else 2, labels=shown)
    if d_in.shape[0] != m:
        raise InputError(f"`variance` has {d_in.shape[0]} rows but `direct` has {m}.")
    d_raw = d_in.reshape(m, -1)
    v.check_range(d_raw, "variance", largest=1e200, smallest=1e-200, labels=shown)
    if d_raw.shape[1] == k:
        v.check_positive(d_raw, "variance", shown)
        d = np.einsum("ik,kl->ikl", d_raw, np.eye(k))
    elif d_raw.shape[1] == k * k:
        d = d_raw.reshape(m, k, k)
        asym = np.flatnonzero(~np.all(np.isclose(d, np.transpose(d, (0, 2, 1))), axis=(1, 2)))
        if asym.size:
            raise InputError(f"the sampling covariance matrices of "
                             f"{v.describe_rows(asym, shown)} are not symmetric.")
        not_pd = np.flatnonzero(np.linalg.eigvalsh(d).min(axis=1) <= 0)
        if not_pd.size:
            raise InputError(f"the sampling covariance matrices of "
                             f"{v.describe_rows(not_pd, shown)} are not positive definite.")
    else:
        raise InputError(f"`variance` must have shape (m, K) = ({m}, {k}) or (m, K, K); "
                         f"received {np.shape(variance)}.")
    if covariates is None:
        x = np.ones((m, 1))
        names = ["intercept"]
    else:
        cov = v.as_float_array(covariates, "covariates", ndim=2, labels=shown)
        v.check_length(cov, m, "covariates", "direct")
        v.check_range(cov, "covariates", labels=shown)
        x = np.column_stack([np.ones(m), cov])
        names = ["intercept"] + ([str(c) for c in covariates.columns]
                                 if isinstance(covariates, pd.DataFrame)
                                 else [f"x{j + 1}" for j in range(cov.shape[1])])
        if np.linalg.matrix_rank(x / np.maximum(np.abs(x).max(axis=0), 1e-300)) < x.shape[1]:
            raise InputError(f"The covariates {names[1:]} are constant or collinear (with the "
                             "intercept); drop redundant columns.")
    types = [str(t) for t in crime_types] if crime_types is not None \
        else [f"type{j + 1}" for j in range(k)]
    if len(types) != k:
        raise InputError(f"`crime_types` has {len(types)} names but `direct` has {k} columns.")
    if m <= x.shape[1] + k:
        raise InputError(f"{m} areas are too few for {k} crime types and {x.shape[1]} "
                         "coefficients each.")
    reml = method == "reml"
    # start: moment estimate of Sigma_u from OLS residuals minus the mean sampling covariance
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    start_cov = resid.T @ resid / (m - x.shape[1]) - d.mean(axis=0)
    vals, vecs = np.linalg.eigh(start_cov)
    start_cov = vecs @ np.diag(np.maximum(vals, 0.05 * np.abs(vals).max() + 1e-8)) @ vecs.T
    start_l = np.linalg.cholesky(start_cov)
    start_l[np.diag_indices(k)] = np.log(np.diag(start_l))
    start = start_l[np.tril_indices(k)]

    def objective(params: np.ndarray) -> float:
        value = profile_likelihood(_unpack(params, k), y, d, x, reml)[0]
        return -value if np.isfinite(value) else 1e300

    with v.numerical_failures("multivariate Fay–Herriot"):
        res = optimize.minimize(objective, start, method="BFGS", options={"gtol": 1e-8,
                                                                           "maxiter": 2000})
    converged = bool(res.success) or res.status == 2  # 2: precision loss at the optimum
    if not converged:
        warnings.warn(f"REML/ML for Sigma_u did not converge ({res.message}).",
                      ConvergenceWarning, stacklevel=2)
    sigma_u = _unpack(res.x, k)
    with v.numerical_failures("multivariate Fay–Herriot"):
        loglik, beta, cov_beta, v_inv = profile_likelihood(sigma_u, y, d, x, reml)
        g3 = _g3(sigma_u, d, v_inv)
    p = x.shape[1]
    synth = x @ beta.reshape(k, p).T
    gain = sigma_u[None, :, :] @ v_inv  # Sigma_u V_i^-1, (m, K, K)
    estimate = synth + np.einsum("ikl,il->ik", gain, y - synth)
    g1 = sigma_u[None] - gain @ sigma_u[None]
    # g2: (I - Sigma_u V^-1) Z_i Cov(beta) Z_i^T (I - Sigma_u V^-1)^T, Z_i = I kron x_i^T
    z = np.einsum("kl,ip->iklp", np.eye(k), x).reshape(m, k, k * p)
    a = z - gain @ z
    g2 = np.einsum("ika,ab,ilb->ikl", a, cov_beta, a)
    mse_terms = MseTerms(g1=g1, g2=g2, g3=g3)
    mse = np.einsum("ikk->ik", mse_terms.total())
    rmse = np.sqrt(mse)
    lower, upper = normal_interval(estimate, rmse, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = rmse / np.abs(estimate)
    v.check_finite_result({"estimate": estimate, "rmse": rmse, "sigma_u": sigma_u, "beta": beta},
                          "multivariate Fay–Herriot", labels=labels)
    dims = ("area", "crime_type")
    ds = xr.Dataset(
        {"estimate": (dims, estimate), "mse": (dims, mse), "rmse": (dims, rmse),
         "lower": (dims, lower), "upper": (dims, upper), "cv": (dims, cv),
         "direct": (dims, y), "direct_variance": (dims, np.einsum("ikk->ik", d)),
         "synthetic": (dims, synth)},
        coords={"area": labels, "crime_type": types},
        attrs={"level": level, "method": method, "model": "multivariate Fay-Herriot",
               "covariate_names": names},
    )
    sd = np.sqrt(np.diag(sigma_u))
    return MultivariateFayHerriotResult(
        estimates=ds, sigma_u=sigma_u, correlation_u=sigma_u / np.outer(sd, sd),
        beta=beta.reshape(k, p).T, beta_se=np.sqrt(np.diag(cov_beta)).reshape(k, p).T,
        method=method, loglik=loglik, converged=converged, mse_terms=mse_terms,
    )
