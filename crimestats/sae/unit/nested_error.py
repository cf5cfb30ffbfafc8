"""Unit-level nested-error model (Battese, Harter & Fuller 1988): EBLUP of domain means.

Model for unit $j$ of domain $d$ (Rao & Molina 2015, ch. 7):

$$
y_{dj} = x_{dj}^\\top\\beta + u_d + e_{dj},\\qquad u_d \\sim N(0, \\sigma_u^2),\\qquad
e_{dj} \\sim N(0, \\sigma_e^2).
$$

With population means $\\bar X_d$ of the covariates and population sizes $N_d$,
the EBLUP of the domain mean $\\bar Y_d$ is

$$
\\hat{\\bar Y}_d = f_d\\,\\bar y_d + (\\bar X_d - f_d\\,\\bar x_d)^\\top\\hat\\beta
+ (1 - f_d)\\,\\hat u_d,\\qquad \\hat u_d = \\hat\\gamma_d(\\bar y_d - \\bar x_d^\\top\\hat\\beta),
\\qquad \\hat\\gamma_d = \\frac{\\hat\\sigma_u^2}{\\hat\\sigma_u^2 + \\hat\\sigma_e^2/n_d},
$$

with $f_d = n_d/N_d$ (as R ``sae::eblupBHF``); a domain with no sample gets
$\\bar X_d^\\top\\hat\\beta$. Variance components are fitted by REML or ML on the profile
likelihood in $\\lambda = \\sigma_u^2/\\sigma_e^2$ using per-domain sufficient statistics
only (O(n p²) time, no n × n matrix).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import linalg, optimize

from ... import _validate as v
from ..._options import UNIT_LEVEL
from ..._progress import progress_bar, show_progress
from ...errors import DataWarning, EstimationError, InputError
from ...results import normal_interval
from .._estimates import described_dataset
from ..results import MseTerms, UnitLevelResult

__all__ = ["unit_level"]

_SHOWN = 8


# --------------------------------------------------------------------------------------------
# Sufficient statistics and the profile likelihood
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _DomainStats:
    """Per-domain sums: n_d, X'X, X'1, X'y, sum y, sum y² (domains with a sample only)."""

    n: np.ndarray       # (D,)
    xx: np.ndarray      # (D, p, p)
    x1: np.ndarray      # (D, p)
    xy: np.ndarray      # (D, p)
    y1: np.ndarray      # (D,)
    yy: np.ndarray      # (D,)

    @classmethod
    def build(cls, y: np.ndarray, x: np.ndarray, index: np.ndarray, k: int) -> _DomainStats:
        p = x.shape[1]
        n = np.bincount(index, minlength=k).astype(np.float64)
        xx = np.empty((k, p, p))
        for a in range(p):
            for b in range(a, p):
                xx[:, a, b] = xx[:, b, a] = np.bincount(index, x[:, a] * x[:, b], k)
        x1 = np.column_stack([np.bincount(index, x[:, a], k) for a in range(p)])
        xy = np.column_stack([np.bincount(index, x[:, a] * y, k) for a in range(p)])
        return cls(n, xx, x1, xy, np.bincount(index, y, k), np.bincount(index, y * y, k))


@dataclasses.dataclass
class _Profile:
    """GLS pieces at a given ratio lambda = sigma2_u / sigma2_e (V = sigma2_e H)."""

    lam: float
    c: np.ndarray        # lambda / (1 + n lambda) per domain: H_d^-1 = I - c J
    xhx: np.ndarray      # X' H^-1 X
    beta: np.ndarray
    rhr: float           # r' H^-1 r at the GLS beta
    logdet_h: float


def _profile(lam: float, s: _DomainStats) -> _Profile:
    c = lam / (1.0 + s.n * lam)
    xhx = s.xx.sum(axis=0) - np.einsum("d,di,dj->ij", c, s.x1, s.x1)
    xhy = s.xy.sum(axis=0) - (c * s.y1) @ s.x1
    yhy = s.yy.sum() - (c * s.y1) @ s.y1
    beta = linalg.solve(xhx, xhy, assume_a="pos")
    return _Profile(lam, c, xhx, beta, float(yhy - beta @ xhy),
                    float(np.sum(np.log1p(s.n * lam))))


def _neg2_loglik(lam: float, s: _DomainStats, reml: bool) -> float:
    """-2 x profile (restricted) log-likelihood, sigma2_e profiled out (as lme4)."""
    pr = _profile(lam, s)
    n_total = s.n.sum()
    p = s.xx.shape[1]
    dof = n_total - p if reml else n_total
    sigma2_e = pr.rhr / dof
    out = dof * (1.0 + np.log(2.0 * np.pi * sigma2_e)) + pr.logdet_h
    if reml:
        out += float(np.linalg.slogdet(pr.xhx)[1])
    return float(out)


def _fit_ratio(s: _DomainStats, reml: bool) -> float:
    """Maximise the profile likelihood over theta = sqrt(lambda) >= 0 (bounded Brent)."""
    def objective(theta: float) -> float:
        return _neg2_loglik(theta * theta, s, reml)

    res = optimize.minimize_scalar(objective, bounds=(0.0, 1e3), method="bounded",
                                   options={"xatol": 1e-12, "maxiter": 500})
    theta = float(res.x)
    if objective(0.0) <= objective(theta):
        theta = 0.0
    return theta * theta


# --------------------------------------------------------------------------------------------
# MSE: Prasad–Rao analytic and parametric bootstrap
# --------------------------------------------------------------------------------------------


def _information(s2u: float, s2e: float, s: _DomainStats, q: np.ndarray, reml: bool
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Fisher information in (sigma2_u, sigma2_e) and the ML bias vector h (closed forms).

    Per domain, V^-1 = (I - c J)/sigma2_e with c = s2u/(s2e + n s2u) and a = 1/(s2e + n s2u):
    V^-1 J V^-1 = a² J, V^-1 J = a J, so every trace reduces to n, X'1 and X'X.
    """
    n, t, xx = s.n, s.x1, s.xx
    has = n > 0
    n, t, xx = n[has], t[has], xx[has]
    a = 1.0 / (s2e + n * s2u)
    c = s2u * a
    k2 = (2.0 * c - c * c * n)                                  # V^-2 = (I - k2 J)/s2e²
    k3 = (1.0 - (1.0 - c * n) ** 3) / n                         # V^-3 = (I - k3 J)/s2e³
    tt = np.einsum("di,dj->dij", t, t)
    m_u = np.einsum("d,dij->ij", a * a, tt)                     # X'V^-1 J V^-1 X
    m_e = (xx.sum(axis=0) - np.einsum("d,dij->ij", k2, tt)) / s2e**2   # X'V^-2 X
    tr_uu = np.sum(a * a * n * n)
    tr_ue = np.sum(a * a * n)
    tr_ee = np.sum((n - 1.0) / s2e**2 + a * a)
    info = 0.5 * np.array([[tr_uu, tr_ue], [tr_ue, tr_ee]])
    h = -np.array([np.trace(q @ m_u), np.trace(q @ m_e)])
    if reml:
        t_uu = np.einsum("d,dij->ij", a**3 * n, tt)            # X'V^-1 J V^-1 J V^-1 X
        t_ue = np.einsum("d,dij->ij", a**3, tt)                # X'V^-1 J V^-2 X
        t_ee = (xx.sum(axis=0) - np.einsum("d,dij->ij", k3, tt)) / s2e**3
        mats = {(0, 0): t_uu, (0, 1): t_ue, (1, 1): t_ee}
        ms = [m_u, m_e]
        for (r, c_), tm in mats.items():
            corr = -2.0 * np.trace(q @ tm) + np.sum((q @ ms[r]) * (q @ ms[c_]).T)
            info[r, c_] += 0.5 * corr
            if r != c_:
                info[c_, r] += 0.5 * corr
    return info, h


def _analytic_mse(s2u: float, s2e: float, s: _DomainStats, q: np.ndarray, xbar_pop: np.ndarray,
                  size: np.ndarray, method: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Prasad–Rao second-order MSE of the EBLUP of each domain mean (finite population).

    For a sampled domain, MSE = (1 - f)² [g1 + g2 + 2 g3 - b'∇g1 + sigma2_e/(N - n)] with the
    non-sampled part's covariate mean X̄_r = (N X̄ - n x̄)/(N - n) in g2 (Rao & Molina 2015,
    sec. 7.2.3, eqs. 7.2.11-7.2.15); a domain with no sample has
    sigma2_u + X̄'Var(β)X̄ + sigma2_e/N. The bias term b (ML only) is Datta & Lahiri's.
    """
    info_ml, h = _information(s2u, s2e, s, q, reml=False)
    vcov = linalg.inv(info_ml)
    n = s.n
    has = n > 0
    safe_n = np.where(has, n, 1.0)
    xbar_s = s.x1 / safe_n[:, None]
    gamma = np.where(has, s2u / (s2u + s2e / safe_n), 0.0)
    f = n / size
    rest = np.maximum(size - n, 0.0)
    safe_rest = np.where(rest > 0, rest, 1.0)
    xbar_r = np.where(has[:, None], (size[:, None] * xbar_pop - s.x1) / safe_rest[:, None],
                      xbar_pop)
    g1 = np.where(has, gamma * s2e / safe_n, s2u)
    diff = xbar_r - gamma[:, None] * xbar_s
    g2 = np.sum((diff @ q) * diff, axis=1)
    denom = (s2u + s2e / safe_n) ** 3 * safe_n**2
    g3 = np.where(has, (s2e**2 * vcov[0, 0] + s2u**2 * vcov[1, 1]
                        - 2.0 * s2e * s2u * vcov[0, 1]) / denom, 0.0)
    bias = 0.5 * vcov @ h if method == "ml" else np.zeros(2)
    grad_u = np.where(has, (s2e / (safe_n * s2u + s2e)) ** 2, 1.0)
    grad_e = np.where(has, safe_n * s2u**2 / (safe_n * s2u + s2e) ** 2, 0.0)
    bias_term = bias[0] * grad_u + bias[1] * grad_e
    tail = np.where(rest > 0, s2e / safe_rest, 0.0)
    terms = MseTerms(g1=g1, g2=g2, g3=g3, bias=bias_term)
    mse_rest = terms.total() + tail
    mse = np.where(has, (1.0 - f) ** 2 * mse_rest, mse_rest)
    return np.maximum(mse, 0.0), {"g1": g1, "g2": g2, "g3": g3,
                                  "variance_components_vcov": vcov, "ml_bias": bias,
                                  "terms": terms}


def _eblup(y_stats: _DomainStats, beta: np.ndarray, s2u: float, s2e: float,
           xbar_pop: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, ...]:
    n = y_stats.n
    has = n > 0
    safe_n = np.where(has, n, 1.0)
    ybar = np.where(has, y_stats.y1 / safe_n, np.nan)
    xbar = y_stats.x1 / safe_n[:, None]
    gamma = np.where(has, s2u / (s2u + s2e / safe_n), 0.0)
    u_hat = np.where(has, gamma * (np.where(has, ybar, 0.0) - xbar @ beta), 0.0)
    f = n / size
    synthetic = xbar_pop @ beta
    est = np.where(has, f * np.where(has, ybar, 0.0) + (xbar_pop - f[:, None] * xbar) @ beta
                   + (1.0 - f) * u_hat, synthetic)
    return est, ybar, u_hat, gamma, synthetic


def _fit(y: np.ndarray, x: np.ndarray, index: np.ndarray, k: int, reml: bool
         ) -> tuple[float, float, np.ndarray, np.ndarray, _DomainStats, float]:
    stats = _DomainStats.build(y, x, index, k)
    lam = _fit_ratio(stats, reml)
    pr = _profile(lam, stats)
    dof = stats.n.sum() - (x.shape[1] if reml else 0)
    s2e = pr.rhr / dof
    q = linalg.inv(pr.xhx) * s2e                       # Var(beta) = (X'V^-1 X)^-1
    loglik = -0.5 * _neg2_loglik(lam, stats, reml)
    return lam * s2e, s2e, pr.beta, 0.5 * (q + q.T), stats, loglik


def _bootstrap_mse(x: np.ndarray, index: np.ndarray, k: int, beta: np.ndarray, s2u: float,
                   s2e: float, xbar_pop: np.ndarray, size: np.ndarray, reml: bool,
                   replicates: int, rng: np.random.Generator, progress: bool | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Parametric bootstrap for finite populations (González-Manteiga et al. 2008).

    Each replicate draws u*_d ~ N(0, s2u), sample errors e*_dj ~ N(0, s2e) and population
    error means Ē*_d ~ N(0, s2e/N_d); the true bootstrap mean is X̄_d'β + u*_d + Ē*_d and the
    sample y*_dj = x_dj'β + u*_d + e*_dj is refitted (as R ``sae::pbmseBHF``). Returns the
    MSE estimate and its Monte Carlo standard error.
    """
    squared = np.empty((replicates, k))
    mean_x = x @ beta
    with progress_bar(replicates, desc="Bootstrap MSE", unit="replicate",
                      progress=progress) as bar:
        for b in range(replicates):
            u = rng.normal(0.0, np.sqrt(s2u), size=k)
            e = rng.normal(0.0, np.sqrt(s2e), size=x.shape[0])
            e_bar = rng.normal(0.0, np.sqrt(s2e / size))
            truth = xbar_pop @ beta + u + e_bar
            y_star = mean_x + u[index] + e
            s2u_b, s2e_b, beta_b, _, stats_b, _ = _fit(y_star, x, index, k, reml)
            est_b = _eblup(stats_b, beta_b, s2u_b, s2e_b, xbar_pop, size)[0]
            squared[b] = (est_b - truth) ** 2
            bar.update(1)
    return squared.mean(axis=0), squared.std(axis=0, ddof=1) / np.sqrt(replicates)


# --------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------


def _population_table(obj: Any, name: str, width: int | None
                      ) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """Labels and values of a per-domain population table; R layout (label column first) ok."""
    if isinstance(obj, Mapping) and not isinstance(obj, pd.DataFrame):
        labels = np.asarray(list(obj.keys()))
        values = np.asarray([np.atleast_1d(np.asarray(val, dtype=np.float64))
                             for val in obj.values()])
        return labels, values, None
    if isinstance(obj, pd.Series):
        return obj.index.to_numpy(), obj.to_numpy(dtype=np.float64)[:, None], None
    if isinstance(obj, pd.DataFrame):
        frame = obj
        r_layout = isinstance(frame.index, pd.RangeIndex) and (
            width is None or frame.shape[1] == width + 1)
        if r_layout and frame.shape[1] >= 2:
            labels = frame.iloc[:, 0].to_numpy()
            frame = frame.iloc[:, 1:]
        else:
            labels = frame.index.to_numpy()
        try:
            values = frame.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"`{name}` must hold numbers (one row per domain).") from None
        return labels, values, [str(c) for c in frame.columns]
    try:
        values = np.asarray(obj, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"`{name}` must be a pandas DataFrame/Series indexed by domain (or with the domain "
            f"in the first column, as R sae takes it), a dict domain -> value, or a numeric "
            f"array with one row per sampled domain in sorted label order; received "
            f"{type(obj).__name__}."
        ) from None
    return np.empty(0), values.reshape(values.shape[0], -1) if values.ndim else values, None


def _check_same_domains(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    ia, ib = pd.Index(a), pd.Index(b)
    only_a, only_b = ia.difference(ib), ib.difference(ia)
    if len(only_a) or len(only_b):
        parts = []
        if len(only_a):
            parts.append(f"only in `{name_a}`: {list(only_a[:_SHOWN])}")
        if len(only_b):
            parts.append(f"only in `{name_b}`: {list(only_b[:_SHOWN])}")
        raise InputError(f"`{name_a}` and `{name_b}` must list the same domains; "
                         + "; ".join(parts) + ".")


def unit_level(y: Any, covariates: Any, domain: Any, population_means: Any,
               population_sizes: Any, *, method: str = "reml", mse: str = "analytic",
               bootstrap_replicates: int = 200, random_seed: Any = None, level: float = 0.95,
               covariate_names: Sequence[str] | None = None,
               data: pd.DataFrame | None = None, progress: bool | None = None
               ) -> UnitLevelResult:
    """EBLUP of domain means under the nested-error unit-level (BHF) model.

    Parameters
    ----------
    y : array-like or str
        Outcome of each sampled unit (e.g. hectares of corn per segment; a continuous
        variable). A column name with ``data``.
    covariates : array-like, pandas.DataFrame, or list of str
        Unit-level covariates, **without** an intercept column (one is added). Column names
        with ``data``.
    domain : array-like or str
        Domain (area) label of each unit; labels are kept as given.
    population_means : pandas.DataFrame or dict
        Population mean of each covariate per domain: a DataFrame indexed by domain with one
        column per covariate (matched by name when ``covariates`` has names), or in the R
        ``sae`` layout with the domain in the first column; or a dict domain → means; or an
        unlabelled ``(D, p)`` array with one row per sampled domain in sorted label order.
        Every domain here gets an estimate (synthetic when it has no sample).
    population_sizes : pandas.Series, pandas.DataFrame or dict
        Number of population units $N_d$ per domain (same domains as
        ``population_means``; an unlabelled array is in sorted domain order).
    method : {"reml", "ml"}
        Estimation of the variance components.
    mse : {"analytic", "bootstrap", "none"}
        Prasad–Rao second-order analytic MSE (default; Rao & Molina 2015, sec. 7.2.3, with the
        finite-population correction), the parametric bootstrap of González-Manteiga et al.
        (2008) as R ``sae::pbmseBHF``, or none.
    bootstrap_replicates : int
        Number of bootstrap replicates for ``mse="bootstrap"``.
    random_seed : int, numpy Generator or None
        Seed for the bootstrap.
    level : float
        Level of the normal intervals ``estimate ± z·rmse``.
    covariate_names : sequence of str, optional
        Names for array covariates (default ``x1 .. xp``).
    data : pandas.DataFrame, optional
        Unit-level data holding the columns named in ``y``, ``covariates`` and ``domain``.
    progress : bool or None
        Progress bar of the bootstrap replicates on standard error: ``None`` (default) only
        when it is a terminal, ``True`` always, ``False`` never.

    Returns
    -------
    UnitLevelResult
        ``estimates`` over ``area`` (domain labels) with ``estimate``, ``mse``, ``rmse``,
        ``lower``, ``upper``, ``cv``, ``sample_size``; ``sigma2_u``, ``sigma2_e``, ``beta``
        (intercept first).

    Raises
    ------
    InputError
        Non-finite values, mismatched lengths, domains in the sample missing from the
        population tables, population tables that disagree on the domains, non-positive
        population sizes or sizes below the sample size.

    References
    ----------
    Battese, G. E., Harter, R. M. and Fuller, W. A. (1988). An error-components model for
    prediction of county crop areas using survey and satellite data. JASA 83, 28–36.
    González-Manteiga, W. et al. (2008). Bootstrap mean squared error of a small-area EBLUP.
    J. Stat. Comput. Simul. 78, 443–462.
    Rao, J. N. K. and Molina, I. (2015). Small Area Estimation, 2nd ed., ch. 7. Wiley.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from crimestats.sae import unit_level
    >>> rng = np.random.default_rng(3)
    >>> dom = np.repeat(["a", "b", "c", "d", "e", "f"], [2, 3, 4, 5, 6, 8])
    >>> x = rng.normal(size=dom.size)
    >>> u = dict(zip("abcdef", rng.normal(scale=0.5, size=6)))
    >>> yy = 1 + 2 * x + np.array([u[d] for d in dom]) + rng.normal(size=dom.size)
    >>> means = pd.DataFrame({"x": [0.1, 0.0, -0.2, 0.3, 0.0, 0.1, 0.5]},
    ...                      index=list("abcdefg"))
    >>> sizes = pd.Series([50, 80, 40, 60, 90, 70, 30], index=list("abcdefg"))
    >>> fit = unit_level(yy, pd.DataFrame({"x": x}), dom, means, sizes)
    >>> fit.estimates["estimate"].round(2).values
    array([1.18, 0.86, 0.32, 1.57, 1.23, 1.13, 1.84])
    >>> round(fit.sigma2_u, 3), round(fit.sigma2_e, 3)
    (0.091, 1.051)
    """
    method = UNIT_LEVEL["method"].check(method)
    mse = UNIT_LEVEL["mse"].check(mse)
    level = v.check_level(level)
    show_progress(progress)  # a wrong value fails before the fit
    if data is not None:
        v.require_columns(data, [c for c in (y, domain) if isinstance(c, str)]
                          + (list(covariates) if isinstance(covariates, list) else
                             [covariates] if isinstance(covariates, str) else []), "data")
        y = data[y] if isinstance(y, str) else y
        domain = data[domain] if isinstance(domain, str) else domain
        if isinstance(covariates, str):
            covariates = [covariates]
        if isinstance(covariates, list):
            covariates = data[covariates]
    if isinstance(covariates, pd.Series):
        covariates = covariates.to_frame()
    rows = v.row_labels({"y": y, "covariates": covariates, "domain": domain}, None,
                        noun="unit", data=data)
    y, covariates, domain = (rows.align(y, "y"), rows.align(covariates, "covariates"),
                             rows.align(domain, "domain"))
    y_arr = v.as_float_array(y, "y", noun="unit")
    n = y_arr.shape[0]
    if n == 0:
        raise InputError("`y` is empty; the unit-level model needs sampled units.")
    v.check_range(y_arr, "y", smallest=1e-100, noun="unit")
    if n > 1 and np.ptp(y_arr) == 0:
        raise EstimationError("`y` takes the same value for every unit, so the unit-level "
                              "model's variances cannot be estimated (both would be 0).")
    if isinstance(covariates, pd.DataFrame):
        names = [str(c) for c in covariates.columns]
    else:
        names = None
    if covariates is None:
        x_raw = np.empty((n, 0))
    else:
        x_raw = v.as_float_array(covariates, "covariates", ndim=2, noun="unit")
    v.check_length(x_raw, n, "covariates", "y")
    v.check_range(x_raw, "covariates", noun="unit")
    if names is None:
        names = list(covariate_names) if covariate_names is not None else [
            f"x{j + 1}" for j in range(x_raw.shape[1])]
    if len(names) != x_raw.shape[1]:
        raise InputError(f"`covariate_names` has {len(names)} names for {x_raw.shape[1]} "
                         "covariate columns.")
    dom = np.asarray(domain.to_numpy() if isinstance(domain, (pd.Series, pd.Index)) else domain)
    if dom.ndim != 1 or dom.shape[0] != n:
        raise InputError(f"`domain` must be 1-D with one label per unit ({n}); received shape "
                         f"{dom.shape}.")
    if pd.isna(dom).any():
        raise InputError(f"`domain` is missing for units "
                         f"{np.flatnonzero(pd.isna(dom))[:_SHOWN].tolist()}.")

    p_cov = x_raw.shape[1]
    mean_labels, mean_values, mean_cols = _population_table(population_means,
                                                            "population_means", p_cov)
    size_labels, size_values, _ = _population_table(population_sizes, "population_sizes", 1)
    sorted_domains = np.asarray(sorted(pd.unique(dom).tolist()))   # for unlabelled arrays
    for labels_, values_, name in ((mean_labels, mean_values, "population_means"),
                                   (size_labels, size_values, "population_sizes")):
        if labels_.size == 0 and values_.shape[0] != sorted_domains.shape[0]:
            raise InputError(
                f"`{name}` is an array without domain labels, so it must have one row per "
                f"sampled domain in sorted label order ({sorted_domains.shape[0]} rows); it has "
                f"{values_.shape[0]}. Use a DataFrame/Series indexed by domain to include "
                "domains without a sample."
            )
    if mean_labels.size == 0:
        mean_labels = sorted_domains
    if size_labels.size == 0:
        size_labels = sorted_domains
    v.check_unique(mean_labels, "population_means domains")
    v.check_unique(size_labels, "population_sizes domains")
    if mean_cols is not None and isinstance(covariates, pd.DataFrame):
        missing = [c for c in names if c not in mean_cols]
        if missing:
            raise InputError(f"`population_means` has no column for covariate(s) {missing}; "
                             f"its columns are {mean_cols}. Columns are matched by name: "
                             "rename them to the covariate names.")
        mean_values = mean_values[:, [mean_cols.index(c) for c in names]]
    if mean_values.shape[1] != p_cov:
        raise InputError(f"`population_means` has {mean_values.shape[1]} columns but there "
                         f"are {p_cov} covariates.")
    if size_values.ndim != 2 or size_values.shape[1] != 1:
        raise InputError("`population_sizes` must hold one number per domain.")
    _check_same_domains(mean_labels, size_labels, "population_means", "population_sizes")
    labels = mean_labels
    size = size_values[:, 0][pd.Index(size_labels).get_indexer(labels)]
    if not np.isfinite(mean_values).all():
        bad = np.flatnonzero(~np.isfinite(mean_values).all(axis=1))
        raise InputError(f"`population_means` has missing or infinite values for "
                         f"{v.describe_rows(bad, labels, 'domain')}.")
    size = v.as_float_array(size, "population_sizes", labels=labels, noun="domain")
    v.check_positive(size, "population_sizes", labels)
    v.check_range(size, "population_sizes", labels=labels, noun="domain")
    v.check_range(mean_values, "population_means", labels=labels, noun="domain")

    index = pd.Index(labels).get_indexer(pd.Index(dom))
    if (index < 0).any():
        unknown = list(dict.fromkeys(dom[index < 0].tolist()))
        raise InputError(
            f"`domain` has {len(unknown)} domain(s) not in the population tables: "
            f"{unknown[:_SHOWN]}. Give their population means and sizes (or fix the codes: "
            "sample and population must use the same domain labels)."
        )
    k = labels.shape[0]
    n_d = np.bincount(index, minlength=k)
    over = np.flatnonzero(n_d > size)
    if over.size:
        raise InputError(f"population sizes are below the sample sizes for "
                         f"{v.describe_rows(over, labels, 'domain')}.")
    x = np.column_stack([np.ones(n), x_raw])
    xbar_pop = np.column_stack([np.ones(k), mean_values])
    names_all = ("intercept", *names)
    p = x.shape[1]
    if n <= p + 1 or (n_d > 0).sum() < 2:
        raise InputError(f"Too few units ({n}) or sampled domains ({(n_d > 0).sum()}) to fit "
                         f"{p} coefficients and two variance components.")
    if np.linalg.matrix_rank(x) < p:
        raise InputError(f"The covariates {names} are collinear (with the intercept); drop "
                         "redundant columns.")

    reml = method == "reml"
    with v.numerical_failures("unit-level"):
        return _fit_and_report(y_arr, x, index, k, reml, method, mse, bootstrap_replicates,
                               random_seed, xbar_pop, size, n_d, labels, names_all, level,
                               progress)


def _fit_and_report(y_arr: np.ndarray, x: np.ndarray, index: np.ndarray, k: int, reml: bool,
                    method: str, mse: str, bootstrap_replicates: Any, random_seed: Any,
                    xbar_pop: np.ndarray, size: np.ndarray, n_d: np.ndarray, labels: np.ndarray,
                    names_all: tuple[str, ...], level: float, progress: bool | None = None
                    ) -> UnitLevelResult:
    """Fit on validated arrays, then the EBLUP, its MSE and the result (see `unit_level`)."""
    s2u, s2e, beta, q, stats, loglik = _fit(y_arr, x, index, k, reml)
    if s2u == 0.0:
        warnings.warn("sigma2_u was estimated as 0: every domain estimate is the regression "
                      "(synthetic) estimate plus the sample correction.", DataWarning,
                      stacklevel=2)
    est, ybar, u_hat, gamma, synthetic = _eblup(stats, beta, s2u, s2e, xbar_pop, size)
    diagnostics: dict[str, Any] = {}
    mse_terms = None
    if mse == "analytic":
        mse_values, extra = _analytic_mse(s2u, s2e, stats, q, xbar_pop, size, method)
        mse_terms = extra.pop("terms")
        diagnostics.update(extra)
    elif mse == "bootstrap":
        if not (isinstance(bootstrap_replicates, (int, np.integer)) and bootstrap_replicates >= 2):
            raise InputError("`bootstrap_replicates` must be an integer of at least 2; "
                             f"received {bootstrap_replicates!r}.")
        rng = v.as_rng(random_seed)
        mse_values, mc_se = _bootstrap_mse(x, index, k, beta, s2u, s2e, xbar_pop, size, reml,
                                           int(bootstrap_replicates), rng, progress)
        diagnostics["bootstrap_replicates"] = int(bootstrap_replicates)
        diagnostics["bootstrap_mse_mc_se"] = mc_se
    else:
        mse_values = np.full(k, np.nan)
    promised = {"estimate": est, "sigma2_u": s2u, "sigma2_e": s2e, "beta": beta}
    if mse != "none":
        promised["mse"] = mse_values
    v.check_finite_result(promised, "unit-level", labels=labels, noun="domain")
    estimates = _dataset(labels, est, mse_values, n_d, size, ybar, synthetic, u_hat, gamma,
                         level, method)
    return UnitLevelResult(estimates=estimates, method=method, sigma2_u=float(s2u),
                           sigma2_e=float(s2e), beta=beta, beta_se=np.sqrt(np.diag(q)),
                           covariate_names=names_all, mse_method=mse, level=level,
                           loglik=float(loglik), diagnostics=diagnostics,
                           mse_terms=mse_terms)


def _dataset(labels: np.ndarray, est: np.ndarray, mse: np.ndarray, n_d: np.ndarray,
             size: np.ndarray, ybar: np.ndarray, synthetic: np.ndarray, u_hat: np.ndarray,
             gamma: np.ndarray, level: float, method: str) -> xr.Dataset:
    rmse = np.sqrt(mse)
    lower, upper = normal_interval(est, rmse, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = rmse / np.abs(est)
    variables: dict[Hashable, tuple[np.ndarray, str]] = {
        "estimate": (est, "EBLUP of the domain mean"),
        "mse": (mse, "estimated mean squared error"),
        "rmse": (rmse, "square root of mse"),
        "lower": (lower, f"lower limit of the {level:.0%} normal interval"),
        "upper": (upper, f"upper limit of the {level:.0%} normal interval"),
        "cv": (cv, "coefficient of variation rmse / |estimate| (a proportion)"),
        "sample_size": (n_d, "number of sampled units n_d"),
        "population_size": (size, "number of population units N_d"),
        "sample_mean": (ybar, "sample mean of y (NaN with no sample)"),
        "synthetic": (synthetic, "regression (synthetic) estimate: population mean of x times beta"),
        "random_effect": (u_hat, "predicted domain effect u_d"),
        "shrinkage_weight": (gamma, "gamma_d = sigma2_u / (sigma2_u + sigma2_e / n_d)"),
        "in_sample": (n_d > 0, "True if the domain has sampled units"),
    }
    return described_dataset(variables, {"area": labels}, level=level,
                             attrs={"method": method,
                                    "model": "nested-error unit-level (Battese-Harter-Fuller)"})
