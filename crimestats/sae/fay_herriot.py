"""Fay–Herriot area-level model: EBLUP with REML, ML or moment (Fay–Herriot) variance estimation.

The model (Rao & Molina 2015, ch. 6) for areas $i = 1, \\dots, m$:

$$
\\hat\\theta_i^{\\text{direct}} = \\theta_i + e_i, \\quad
\\theta_i = x_i^\\top \\beta + u_i, \\quad
u_i \\sim N(0, \\sigma_u^2), \\quad e_i \\sim N(0, D_i),
$$

with known sampling variances $D_i$. Marginally the direct estimates are independent
$N(x_i^\\top\\beta, \\sigma_u^2 + D_i)$, so the covariance matrix $V$ is diagonal and
everything below needs only $p \\times p$ matrices: O(m·p²) work and O(m·p) memory.

The private helpers ([`_gls`][_gls], [`_reml_score_information`][_reml_score_information],
[`_ml_score_information`][_ml_score_information], [`_prepare_inputs`][_prepare_inputs]) are shared
with the spatial and hierarchical Bayes extensions.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from .. import _validate as v
from ..errors import ConvergenceWarning, DataWarning, EstimationError, InputError
from ._eblup_dataset import eblup_dataset
from ._results import FayHerriotResult

__all__ = ["fay_herriot"]

logger = logging.getLogger(__name__)

_METHODS = ("reml", "ml", "fh", "hb")


def fay_herriot(
    direct: Any,
    variance: Any,
    covariates: Any = None,
    *,
    method: str = "reml",
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
    method : {"reml", "ml", "fh", "hb"}
        Estimator of $\\sigma_u^2$: restricted maximum likelihood, maximum likelihood, the
        Fay–Herriot moment method, or hierarchical Bayes (posterior with the area effects
        integrated out; see ``prior``, ``random_seed``, ``draws``).
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
        fitted instead (`crimestats.sae.spatial`).
    prior : optional
        Priors for ``method="hb"`` (see the hierarchical Bayes guide); only valid with HB.
    random_seed : int or numpy.random.Generator, optional
        Seed of the posterior draws for ``method="hb"``, and of the Monte Carlo second-order
        MSE terms of the spatial model above 2,000 sampled areas (default there: 0, so repeated
        fits agree); unused by the other EBLUP fits.
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
    method = v.check_choice(method, "method", _METHODS)
    level = v.check_level(level)
    if prior is not None and method != "hb":
        raise InputError(f"`prior` applies only to method='hb'; received method={method!r}.")
    if method != "hb" and (sampler != "exact" or theta_draws is not None):
        raise InputError("`sampler` and `theta_draws` apply only to method='hb'; "
                         f"received method={method!r}.")
    if proximity is not None and method == "hb":
        raise InputError("The spatial model (`proximity`) is fitted by 'reml' or 'ml', not 'hb'.")
    if proximity is None and (algorithm, traces, probes) != ("auto", "auto", 400):
        raise InputError("`algorithm`, `traces` and `probes` apply only to the spatial model "
                         "(`proximity`).")
    max_iter = v.as_positive_int(max_iter, "max_iter")
    tol = v.as_number(tol, "tol", positive=True)

    y, d, x, names, labels = _prepare_inputs(
        direct, variance, covariates, intercept=intercept, areas=areas,
        covariate_names=covariate_names, data=data,
    )

    if proximity is not None:
        from .spatial import fit_spatial_fay_herriot

        with v.numerical_failures(f"spatial Fay–Herriot ({method})"):
            fit = fit_spatial_fay_herriot(
                y, d, x, proximity, method=method, areas=labels, covariate_names=names,
                level=level, max_iter=max_iter, tol=tol, algorithm=algorithm, traces=traces,
                probes=probes, random_seed=0 if random_seed is None else random_seed,
            )
    elif method == "hb":
        from ._hb import fit_hb

        with v.numerical_failures("hierarchical Bayes Fay–Herriot"):
            fit = fit_hb(y, d, x, areas=labels, covariate_names=names, level=level,
                         prior=prior, random_seed=random_seed, draws=draws,
                         theta_draws=theta_draws, sampler=sampler)
    else:
        with v.numerical_failures(f"Fay–Herriot ({method})"):
            fit = _fit_eblup(y, d, x, method=method, areas=labels, covariate_names=names,
                             level=level, max_iter=int(max_iter), tol=float(tol))
    check_fit_finite(fit, f"Fay–Herriot ({method})")
    return fit


def check_fit_finite(fit: Any, model: str) -> None:
    """EstimationError if a fit's estimates, uncertainties or parameters are not finite."""
    est = fit.estimates
    values = {name: est[name].values for name in ("estimate", "rmse", "lower", "upper")
              if name in est}
    values.update(sigma2_u=fit.sigma2_u, beta=fit.beta, beta_se=fit.beta_se)
    v.check_finite_result(values, model, labels=est["area"].values)


# --------------------------------------------------------------------------------------------
# Input handling: column names, one-hot encoding, validation
# --------------------------------------------------------------------------------------------


def _prepare_inputs(
    direct: Any,
    variance: Any,
    covariates: Any,
    *,
    intercept: bool,
    areas: Any,
    covariate_names: Sequence[str] | None,
    data: pd.DataFrame | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], np.ndarray]:
    """Validate the public inputs; return ``(y, D, X, names, areas)``.

    ``y`` and ``D`` are float arrays with NaN together for out-of-sample areas, ``X`` is the
    (m, p) design including the intercept column, ``names`` its column names and ``areas`` the
    unique area labels. Raises [`InputError`][InputError] on anything unusable.
    """
    if data is not None:
        direct, variance, covariates, areas = _columns_from_frame(
            data, direct, variance, covariates, areas)
    elif isinstance(covariates, str) or (
            isinstance(covariates, list) and any(isinstance(c, str) for c in covariates)):
        raise InputError("`covariates` are given as column names but `data` is missing; "
                         "pass the data frame as `data=`.")
    for arg, name in ((direct, "direct"), (variance, "variance"), (areas, "areas")):
        if isinstance(arg, str):
            raise InputError(f"`{name}` is a column name ({arg!r}) but `data` is missing; "
                             "pass the data frame as `data=`.")

    rows = v.row_labels({"direct": direct, "variance": variance, "covariates": covariates},
                        areas, data=data)
    direct = rows.align(direct, "direct")
    variance = rows.align(variance, "variance")
    covariates = rows.align(covariates, "covariates")
    labels, shown = rows.values, rows.shown
    m = labels.shape[0]
    if m == 0:
        raise InputError("`direct` is empty; at least one area is needed.")

    y = v.as_float_array(direct, "direct", allow_nan=True, labels=shown)
    d = v.as_float_array(variance, "variance", allow_nan=True, labels=shown)
    v.check_length(d, m, "variance", "direct")
    v.check_paired_nan(y, d, "direct", "variance", shown)
    v.check_positive(d, "variance", shown)
    v.check_range(y, "direct", labels=shown)
    v.check_range(d, "variance", largest=1e200, smallest=1e-200, labels=shown,
                  unit=" (and the direct estimates with it)")

    x, names = _design_matrix(covariates, m, intercept, covariate_names, shown)
    in_sample = ~np.isnan(y)
    n_in, p = int(in_sample.sum()), x.shape[1]
    if n_in <= p:
        raise InputError(
            f"The model has {p} coefficient{'s' if p != 1 else ''} ({', '.join(names)}) but only "
            f"{n_in} area{'s' if n_in != 1 else ''} with a direct estimate; at least {p + 1} are "
            "needed to estimate the area-effect variance. Use fewer covariates or supply direct "
            "estimates for more areas."
        )
    _check_full_rank(x[in_sample], names)
    return y, d, x, names, labels


def _columns_from_frame(
    data: pd.DataFrame, direct: Any, variance: Any, covariates: Any, areas: Any
) -> tuple[Any, Any, Any, Any]:
    """Replace column names by the columns of ``data`` (covariates as a DataFrame)."""
    if isinstance(covariates, str):
        covariates = [covariates]
    cov_cols = covariates if isinstance(covariates, list) else []
    named = [c for c in (direct, variance, areas) if isinstance(c, str)] + list(cov_cols)
    v.require_columns(data, named, "data")
    m = len(data)

    def column(value: Any, name: str) -> Any:
        if isinstance(value, str):
            return data[value]
        if value is not None and np.ndim(value) >= 1 and len(value) != m:
            raise InputError(f"`{name}` has {len(value)} rows but `data` has {m}.")
        return value

    direct = column(direct, "direct")
    variance = column(variance, "variance")
    areas = column(areas, "areas")
    if isinstance(covariates, list):
        covariates = data[covariates] if covariates else None
    return direct, variance, covariates, areas


def _design_matrix(
    covariates: Any,
    m: int,
    intercept: bool,
    covariate_names: Sequence[str] | None,
    labels: np.ndarray | None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """The (m, p) float design (intercept first when asked) and its column names."""
    if covariates is None:
        blocks: list[np.ndarray] = []
        names: list[str] = []
    elif isinstance(covariates, pd.DataFrame):
        mat, names = _encode_frame(covariates, labels)
        blocks = [mat]
    else:
        if isinstance(covariates, pd.Series):
            default = [str(covariates.name) if covariates.name is not None else "x1"]
        else:
            default = None
        mat = v.as_float_array(covariates, "covariates", ndim=2, labels=labels)
        v.check_length(mat, m, "covariates", "direct")
        v.check_range(mat, "covariates", labels=labels)
        names = default or [f"x{j + 1}" for j in range(mat.shape[1])]
        blocks = [mat]
    if blocks:
        v.check_length(blocks[0], m, "covariates", "direct")
    if covariate_names is not None:
        covariate_names = [str(n) for n in covariate_names]
        if len(covariate_names) != len(names):
            raise InputError(
                f"`covariate_names` has {len(covariate_names)} names but the covariates have "
                f"{len(names)} columns ({names})."
            )
        names = covariate_names
    if intercept:
        blocks.insert(0, np.ones((m, 1)))
        names.insert(0, "intercept")
    if not blocks:
        raise InputError("The model has no coefficients: give `covariates` or keep "
                         "`intercept=True`.")
    if len(set(names)) != len(names):
        v.check_unique(names, "covariate names")
    return np.hstack(blocks), tuple(names)


def _encode_frame(frame: pd.DataFrame, labels: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
    """Numeric columns as they are; text/category columns one-hot with the first level dropped."""
    columns: list[np.ndarray] = []
    names: list[str] = []
    for col in frame.columns:
        series = frame[col]
        if pd.api.types.is_bool_dtype(series):
            columns.append(series.to_numpy(dtype=float)[:, None])
            names.append(str(col))
        elif pd.api.types.is_numeric_dtype(series):
            columns.append(v.as_float_array(series, f"covariates[{col!r}]", ndim=2,
                                            labels=labels))
            v.check_range(columns[-1], f"covariates[{col!r}]", labels=labels)
            names.append(str(col))
        else:
            dummies, dummy_names = _one_hot(series, str(col), labels)
            columns.append(dummies)
            names.extend(dummy_names)
    mat = np.hstack(columns) if columns else np.empty((len(frame), 0))
    return mat, names


def _one_hot(series: pd.Series, name: str, labels: np.ndarray | None
             ) -> tuple[np.ndarray, list[str]]:
    """Indicator columns for every level but the first (levels sorted, or category order)."""
    missing = series.isna().to_numpy()
    if missing.any():
        raise InputError(
            f"Categorical covariate {name!r} is missing for "
            f"{v.describe_rows(np.flatnonzero(missing), labels)}. Give those areas a level "
            "(crimestats never fills missing values silently)."
        )
    if isinstance(series.dtype, pd.CategoricalDtype):
        levels = list(series.cat.remove_unused_categories().cat.categories)
    else:
        levels = list(pd.unique(series))
        try:
            levels = sorted(levels)
        except TypeError:
            pass
    if len(levels) < 2:
        raise InputError(f"Categorical covariate {name!r} has a single level ({levels}); "
                         "it carries no information, so drop it.")
    values = series.to_numpy()
    dummies = np.column_stack([(values == level).astype(float) for level in levels[1:]])
    return dummies, [f"{name}[T.{level}]" for level in levels[1:]]


def _check_full_rank(x: np.ndarray, names: Sequence[str]) -> None:
    """Raise naming the collinear columns if the in-sample design is rank deficient."""
    norms = np.max(np.abs(x), axis=0)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise InputError(
            "The design is singular: column(s) "
            f"{[names[j] for j in zero]} are zero in every area with a direct estimate. "
            "Drop them (a category seen only in out-of-sample areas cannot be estimated)."
        )
    scaled = x / norms
    scaled /= np.linalg.norm(scaled, axis=0)
    _, r, piv = linalg.qr(scaled, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > max(scaled.shape) * np.finfo(float).eps * diag[0]))
    if rank == x.shape[1]:
        return
    independent = piv[:rank]
    problems = []
    for j in piv[rank:]:
        coef, *_ = np.linalg.lstsq(scaled[:, independent], scaled[:, j], rcond=None)
        used = [names[k] for k, c in zip(independent, coef, strict=True) if abs(c) > 1e-8]
        problems.append(f"{names[j]!r} is a linear combination of {used}" if used else
                        f"{names[j]!r} is numerically negligible next to the other columns")
    raise InputError(
        "The design is singular (collinear covariates in the areas with a direct estimate): "
        + "; ".join(problems)
        + ". Drop one column of each collinear set (with intercept=True, do not include a "
        "constant column or every level of a category)."
    )


# --------------------------------------------------------------------------------------------
# Numerical pieces (diagonal V; only p x p matrices)
# --------------------------------------------------------------------------------------------


def _inverse_spd(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive-definite p x p matrix (Cholesky, with equilibration)."""
    outer = np.outer(scale := 1.0 / np.sqrt(np.diag(matrix)), scale)
    try:
        root_inv = np.linalg.inv(np.linalg.cholesky(matrix * outer))
    except np.linalg.LinAlgError:
        raise EstimationError(
            "X' V^-1 X is numerically singular: the covariates are almost collinear. "
            "Drop or combine nearly collinear covariates."
        ) from None
    return (root_inv.T @ root_inv) * outer


def _weighted_grams(xt: np.ndarray, weights: np.ndarray, powers: int) -> list[np.ndarray]:
    """$X^\\top W^k X$ for k = 1 .. ``powers`` in one matrix product (W diagonal).

    ``xt`` is the design transposed, shape (p, m), C-contiguous, so that the O(m·p²) work is
    a single BLAS call.
    """
    p, m = xt.shape
    stacked = np.empty((powers * p, m))
    weight_power = weights.copy()
    for k in range(powers):
        if k:
            weight_power *= weights
        np.multiply(xt, weight_power, out=stacked[k * p:(k + 1) * p])
    grams = stacked @ xt.T
    return [grams[k * p:(k + 1) * p] for k in range(powers)]


def _gls(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Generalised least squares with a diagonal covariance $V = \\mathrm{diag}(1/w)$.

    ``x`` has shape (m, p). Returns $\\hat\\beta = (X^\\top W X)^{-1} X^\\top W y$ and
    $\\mathrm{Var}(\\hat\\beta) = (X^\\top W X)^{-1}$. O(m·p²) work, O(m·p) memory.
    """
    xt = np.ascontiguousarray(x.T)
    (gram,) = _weighted_grams(xt, weights, 1)
    cov = _inverse_spd(gram)
    return cov @ (xt @ (weights * y)), cov


def _reml_score_information(sigma2_u: float, xt: np.ndarray, y: np.ndarray, d: np.ndarray
                            ) -> tuple[float, float]:
    """Score and Fisher information of the restricted log-likelihood in $\\sigma_u^2$.

    With $W = V^{-1}$ diagonal and $P = W - W X (X^\\top W X)^{-1} X^\\top W$:
    score $= -\\tfrac12 \\mathrm{tr}(P) + \\tfrac12 y^\\top P^2 y$, information
    $= \\tfrac12 \\mathrm{tr}(P^2)$, computed with p x p matrices only:
    $\\mathrm{tr}(P) = \\sum w_i - \\mathrm{tr}(Q X^\\top W^2 X)$ and
    $\\mathrm{tr}(P^2) = \\sum w_i^2 - 2\\mathrm{tr}(Q X^\\top W^3 X) + \\mathrm{tr}((Q X^\\top W^2 X)^2)$
    with $Q = (X^\\top W X)^{-1}$; $P y = W (y - X\\hat\\beta)$. ``xt`` is the
    design transposed, shape (p, m).
    """
    w = 1.0 / (sigma2_u + d)
    gram1, gram2, gram3 = _weighted_grams(xt, w, 3)
    q = _inverse_spd(gram1)
    beta = q @ (xt @ (w * y))
    py = w * (y - beta @ xt)
    qx2 = q @ gram2
    trace_p = w.sum() - np.trace(qx2)
    trace_p2 = (w @ w) - 2.0 * np.sum(q * gram3) + np.sum(qx2 * qx2.T)
    return 0.5 * (py @ py - trace_p), 0.5 * trace_p2


def _ml_score_information(sigma2_u: float, xt: np.ndarray, y: np.ndarray, d: np.ndarray
                          ) -> tuple[float, float]:
    """Score and Fisher information of the (profile) log-likelihood in $\\sigma_u^2$.

    Score $= -\\tfrac12 \\sum w_i + \\tfrac12 \\sum w_i^2 (y_i - x_i^\\top\\hat\\beta)^2$,
    information $= \\tfrac12 \\sum w_i^2$, with $w_i = 1/(\\sigma_u^2 + D_i)$.
    ``xt`` is the design transposed, shape (p, m).
    """
    w = 1.0 / (sigma2_u + d)
    beta, _ = _gls(xt.T, y, w)
    wr = w * (y - beta @ xt)
    return 0.5 * (wr @ wr - w.sum()), 0.5 * (w @ w)


def _fh_moment_equation(sigma2_u: float, xt: np.ndarray, y: np.ndarray, d: np.ndarray
                        ) -> tuple[float, float]:
    """The Fay–Herriot moment equation and the scale of its slope (as ``sae`` iterates it).

    Returns $\\sum w_i (y_i - x_i^\\top\\hat\\beta)^2 - (m - p)$ and $\\sum w_i$;
    the estimate solves the equation = 0. ``xt`` is the design transposed, shape (p, m).
    """
    w = 1.0 / (sigma2_u + d)
    beta, _ = _gls(xt.T, y, w)
    r = y - beta @ xt
    return (w * r) @ r - (xt.shape[1] - xt.shape[0]), w.sum()


_ESTIMATING_EQUATIONS: dict[str, Callable[[float, np.ndarray, np.ndarray, np.ndarray],
                                          tuple[float, float]]] = {
    "reml": _reml_score_information,
    "ml": _ml_score_information,
    "fh": _fh_moment_equation,
}


def _estimate_sigma2_u(method: str, x: np.ndarray, y: np.ndarray, d: np.ndarray, *,
                       max_iter: int, tol: float) -> tuple[float, bool, int]:
    """Solve the estimating equation of ``method`` for $\\sigma_u^2 \\ge 0$.

    Fisher scoring (Newton with the expected slope) from the median sampling variance, as R
    ``sae`` does. An update that would go below zero is replaced by zero when the equation is
    already non-positive there (the estimate is truncated at zero), else by half the current
    value. ``x`` has shape (m, p). Returns ``(sigma2_u, converged, iterations)``.
    """
    equation = _ESTIMATING_EQUATIONS[method]
    xt = np.ascontiguousarray(x.T)
    scale = float(d.min())
    current = float(np.median(d))
    for iteration in range(1, max_iter + 1):
        score, slope = equation(current, xt, y, d)
        proposal = current + score / slope
        if not np.isfinite(proposal):
            return current, False, iteration
        if proposal < 0.0:
            score_at_zero, _ = equation(0.0, xt, y, d)
            proposal = 0.0 if score_at_zero <= 0.0 else 0.5 * current
        if abs(proposal - current) <= tol * (proposal + scale):
            return proposal, True, iteration
        current = proposal
    return current, False, max_iter


def _fit_eblup(y: np.ndarray, d: np.ndarray, x: np.ndarray, *, method: str, areas: np.ndarray,
               covariate_names: tuple[str, ...], level: float, max_iter: int, tol: float
               ) -> FayHerriotResult:
    """EBLUP and analytic MSE on validated inputs (NaN ``y``/``d`` = out-of-sample areas)."""
    inside = ~np.isnan(y)
    y_in, d_in, x_in = y[inside], d[inside], x[inside]
    m, p = x_in.shape

    sigma2_u, converged, iterations = _estimate_sigma2_u(method, x_in, y_in, d_in,
                                                         max_iter=max_iter, tol=tol)
    if not converged:
        warnings.warn(
            f"The {method.upper()} estimation of sigma2_u did not converge in {max_iter} "
            f"iterations (last value {sigma2_u:.6g}); increase `max_iter` or check the data.",
            ConvergenceWarning, stacklevel=3,
        )
    w = 1.0 / (sigma2_u + d_in)
    beta, cov_beta = _gls(x_in, y_in, w)
    synthetic = x @ beta
    resid = y_in - synthetic[inside]

    # Per-area MSE terms (Rao & Molina 2015, sec. 6.2): B = D / (A + D).
    b_in = d_in * w
    g1 = d_in * sigma2_u * w
    leverage = np.sum((x @ cov_beta) * x, axis=1)  # x_i' Var(beta) x_i
    g2 = b_in**2 * leverage[inside]
    sum_w, sum_w2 = w.sum(), w @ w
    if method == "fh":
        var_sigma2 = 2.0 * m / sum_w**2
        bias_sigma2 = 2.0 * (m * sum_w2 - sum_w**2) / sum_w**3
    else:
        var_sigma2 = 2.0 / sum_w2
        if method == "ml":
            (gram2,) = _weighted_grams(np.ascontiguousarray(x_in.T), w * w, 1)
            bias_sigma2 = -np.sum(cov_beta * gram2) / sum_w2
        else:
            bias_sigma2 = 0.0
    g3 = b_in**2 * var_sigma2 * w
    mse_in = g1 + g2 + 2.0 * g3 - bias_sigma2 * b_in**2

    estimate = synthetic.copy()
    estimate[inside] = synthetic[inside] + (1.0 - b_in) * resid
    mse = np.maximum(sigma2_u - bias_sigma2, 0.0) + leverage
    mse[inside] = mse_in
    shrinkage = np.ones_like(y)
    shrinkage[inside] = b_in

    loglik = float(-0.5 * np.sum(np.log(2.0 * np.pi / w) + w * resid**2))
    notes: list[str] = []
    if sigma2_u == 0.0:
        notes.append("sigma2_u was estimated as 0: every estimate equals its synthetic "
                     "(regression) part and shrinkage is 1 in every area.")
        warnings.warn(notes[-1], DataWarning, stacklevel=3)
    diagnostics: dict[str, Any] = {
        "sigma2_u_variance": float(var_sigma2),
        "sigma2_u_bias": float(bias_sigma2),
        "aic": -2.0 * loglik + 2.0 * (p + 1),
        "bic": -2.0 * loglik + (p + 1) * np.log(m),
        "n_in_sample": int(m),
        "n_out_of_sample": int((~inside).sum()),
        "notes": notes,
    }
    if method == "reml":
        _, logdet = np.linalg.slogdet(cov_beta)
        diagnostics["restricted_loglik"] = float(
            -0.5 * ((m - p) * np.log(2.0 * np.pi) - np.log(w).sum() - logdet + (w * resid) @ resid)
        )
    logger.debug("Fay-Herriot %s: sigma2_u=%g after %d iterations", method, sigma2_u, iterations)

    return FayHerriotResult(
        estimates=eblup_dataset(
            {"area": areas}, estimate, mse, y, d, synthetic, level=level,
            attrs={"method": method, "model": "Fay-Herriot"},
            estimate_description="model-based estimate of the area's true value",
            extra={"shrinkage": (shrinkage, "weight on the synthetic part, D / (sigma2_u + D)")},
        ),
        method=method,
        sigma2_u=float(sigma2_u),
        beta=beta,
        beta_se=np.sqrt(np.diag(cov_beta)),
        covariate_names=covariate_names,
        level=level,
        converged=converged,
        iterations=iterations,
        loglik=loglik,
        diagnostics=diagnostics,
    )
