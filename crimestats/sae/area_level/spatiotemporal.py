"""Spatio-temporal Fay–Herriot model: SAR area effects plus AR(1) area-by-period effects.

Model (Marhuenda, Molina & Morales 2013; R ``sae::eblupSTFH``), for area $d$ and
period $t$:

$$
y_{dt} = x_{dt}^\\top\\beta + u_{1d} + u_{2dt} + e_{dt},\\qquad e_{dt} \\sim N(0, D_{dt}),
$$

with area effects $u_1 = (u_{11},\\dots,u_{1D})$ following a SAR(1) process over the
row-standardised proximity matrix $W$,
$\\mathrm{Var}(u_1) = \\sigma_1^2[(I - \\rho_1 W)^\\top(I - \\rho_1 W)]^{-1}$, and
area-by-period effects independent across areas and, within an area, an AR(1) process in
time, $u_{2dt} = \\rho_2 u_{2d,t-1} + \\epsilon_{dt}$,
$\\mathrm{Cov}(u_{2dt}, u_{2ds}) = \\sigma_2^2\\rho_2^{|t-s|}/(1-\\rho_2^2)$
(``model="ar1"``, R's ``"ST"``), or independent with variance $\\sigma_2^2$
(``model="independent"``, R's ``"S"``). Each period's estimate borrows strength from the
neighbouring areas and from the same area's other periods.

$(\\sigma_1^2, \\rho_1, \\sigma_2^2, \\rho_2)$ are fitted by REML with Fisher scoring from
R's starting values; the MSE is the second-order $g_1 + g_2 + 2 g_3$ of Marhuenda et al.
(2013). Up to 300 area-periods (``algorithm="auto"``) $\\Sigma^{-1}$ is formed densely by the
Woodbury identity from the ``D × D`` SAR part and the ``T × T`` AR(1) blocks, as R ``sae``;
above that the precision form of `crimestats.sae._engine.stfh_operators` keeps every ``D × D`` matrix
sparse (the 7,201 MSOAs over five years take seconds), with exact estimates, variance
components, $g_1$, $g_2$ and exact or seeded Monte Carlo $g_3$ (``traces``).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from ... import _validate as v
from ..._options import SPATIO_TEMPORAL
from ..._time import check_time_axis
from ...errors import ConvergenceWarning, InputError
from .._engine.products import diag_of_product
from .._engine.sar_precision import DEFAULT_PROBES, SPARSE_AFTER_DENSE
from .._engine.stfh_operators import ar1_parts, fit_sparse_stfh, sparse_predictions
from .._estimates import eblup_dataset
from ..results import MseTerms, SpatioTemporalResult
from ..spatial.weights import proximity_matrix

__all__ = ["panel_table", "spatio_temporal_fay_herriot"]

#: above this many area-periods ``algorithm="auto"`` uses the sparse precision-form path
SPARSE_CELLS = 300



# --------------------------------------------------------------------------------------------
# Covariance structure
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Structure:
    """Covariance of the area-periods (area-major order) and its derivatives, kept factored.

    ``g = s1 kron(Ω1, J_T) + s2 kron(I_D, Ω2)``; derivative r is ``kron(A_r, J_T)`` for the
    area part (A = Ω1, s1 dΩ1/dρ1) or ``kron(I_D, B_r)`` for the area-by-period part
    (B = Ω2, s2 dΩ2/dρ2). Products with them cost O(M·D² + M²·T), not O(M³).
    """

    area_parts: list[np.ndarray]          # D x D factors of the area-effect derivatives
    time_parts: list[np.ndarray]          # T x T factors of the area-by-period derivatives
    periods: int
    s1: float = 0.0
    s2: float = 0.0
    c: np.ndarray | None = None           # C(rho1) = (I - rho1 W)'(I - rho1 W)
    logdet_c: float = 0.0
    omega2: np.ndarray | None = None

    @property
    def g(self) -> np.ndarray:
        """Cov(delta) over all M area-periods, dense (M, M)."""
        areas = self.area_parts[0].shape[0]
        ones = np.ones((self.periods, self.periods))
        return (self.s1 * np.kron(self.area_parts[0], ones)
                + self.s2 * np.kron(np.eye(areas), self.omega2))

    @property
    def n_params(self) -> int:
        return len(self.area_parts) + len(self.time_parts)

    def times_deriv(self, mat: np.ndarray, r: int) -> np.ndarray:
        """``mat @ dG/dtheta_r`` for ``mat`` of shape (k, M)."""
        k, big = mat.shape
        t = self.periods
        if r < len(self.area_parts):
            summed = mat.reshape(k, big // t, t).sum(axis=2) @ self.area_parts[r]
            return np.repeat(summed, t, axis=1)
        part = self.time_parts[r - len(self.area_parts)]
        return (mat.reshape(k, big // t, t) @ part).reshape(k, big)


def _structure(theta: np.ndarray, model: str, w: np.ndarray, wtw: np.ndarray, periods: int
               ) -> _Structure:
    s1, r1, s2 = theta[0], theta[1], theta[2]
    areas = w.shape[0]
    c = np.eye(areas) - r1 * (w + w.T) + r1 * r1 * wtw
    c_factor = linalg.cho_factor(c, lower=True)
    omega1 = linalg.cho_solve(c_factor, np.eye(areas))
    domega1 = -omega1 @ (-w - w.T + 2.0 * r1 * wtw) @ omega1
    if model == "ar1":
        omega2, domega2 = ar1_parts(theta[3], periods)
        time_parts = [omega2, s2 * domega2]
    else:
        omega2 = np.eye(periods)
        time_parts = [omega2]
    return _Structure([omega1, s1 * 0.5 * (domega1 + domega1.T)], time_parts, periods,
                      s1=float(s1), s2=float(s2), c=c,
                      logdet_c=2.0 * float(np.sum(np.log(np.diag(c_factor[0])))),
                      omega2=omega2)


@dataclasses.dataclass
class _SigmaInverse:
    """Sigma^-1 over the in-sample area-periods by the Woodbury identity.

    Sigma = Gamma + Z B Z' with Gamma = blockdiag_d(s2 Ω2 + Ψ_d) (T x T blocks) and
    B = s1 Ω1, so Sigma^-1 = Gamma^-1 - U K U' with U = Gamma^-1 Z and
    K = (B^-1 + Z' Gamma^-1 Z)^-1 (D x D): O(M T² + D³), never an M x M factorisation.
    """

    dense: np.ndarray        # (n, n)
    logdet: float
    gamma_inv: np.ndarray    # (D, T, T), zero rows/columns at out-of-sample cells
    u: np.ndarray            # (n,) entries of U (row i belongs to area area_of[i])
    area_of: np.ndarray      # (n,) area index of each in-sample cell
    k: np.ndarray            # (D, D)
    inside: np.ndarray

    def right_multiply(self, mat: np.ndarray) -> np.ndarray:
        """``mat @ Sigma^-1`` for ``mat`` of shape (k, n), in O(k n T + k D²)."""
        rows = mat.shape[0]
        areas, periods, _ = self.gamma_inv.shape
        full = _embed(mat, self.inside, 1).reshape(rows, areas, periods)
        part1 = np.einsum("kdt,dts->kds", full, self.gamma_inv).reshape(rows, -1)
        mu = _embed(mat * self.u[None, :], self.inside, 1).reshape(rows, areas, periods)
        part2 = (mu.sum(axis=2) @ self.k)[:, self.area_of] * self.u[None, :]
        return part1[:, self.inside] - part2


def _sigma_inverse(st: _Structure, d: np.ndarray, inside: np.ndarray) -> _SigmaInverse:
    """Woodbury inverse and log-determinant of Sigma (raises LinAlgError if not PD)."""
    periods = st.periods
    areas = inside.shape[0] // periods
    psi = np.ones(inside.shape[0])
    psi[inside] = d
    observed = inside.reshape(areas, periods)
    blocks = st.s2 * np.broadcast_to(st.omega2, (areas, periods, periods)).copy()
    idx = np.arange(periods)
    blocks[:, idx, idx] += psi.reshape(areas, periods)
    # out-of-sample cells: decouple them (identity) and drop them from the inverse
    blocks *= (observed[:, :, None] & observed[:, None, :])
    blocks[:, idx, idx] += ~observed
    sign, logdets = np.linalg.slogdet(blocks)
    if np.any(sign <= 0):
        raise linalg.LinAlgError("Sigma is not positive definite")
    gamma_inv = np.linalg.inv(blocks) * (observed[:, :, None] & observed[:, None, :])
    u_pad = gamma_inv.sum(axis=2)                                  # Gamma_d^-1 1
    u = u_pad.reshape(-1)[inside]
    area_of = np.repeat(np.arange(areas), periods)[inside]
    dense_gamma = np.zeros((areas, periods, areas, periods))
    dense_gamma[np.arange(areas), :, np.arange(areas), :] = gamma_inv
    dense_gamma = dense_gamma.reshape(areas * periods, -1)[np.ix_(inside, inside)]
    logdet = float(np.sum(logdets))
    if st.s1 > 0.0:
        h = st.c / st.s1 + np.diag(u_pad.sum(axis=1))
        h_factor = linalg.cho_factor(h, lower=True)
        k = linalg.cho_solve(h_factor, np.eye(areas))
        k = 0.5 * (k + k.T)
        logdet += (areas * np.log(st.s1) - st.logdet_c
                   + 2.0 * float(np.sum(np.log(np.diag(h_factor[0])))))
    else:
        k = np.zeros((areas, areas))
    dense = dense_gamma - (u[:, None] * k[np.ix_(area_of, area_of)]) * u[None, :]
    return _SigmaInverse(0.5 * (dense + dense.T), logdet, gamma_inv, u, area_of, k, inside)


def _embed(mat: np.ndarray, inside: np.ndarray, axis: int) -> np.ndarray:
    """Put the in-sample rows (axis 0) or columns (axis 1) of ``mat`` into a zero M-array."""
    shape = list(mat.shape)
    shape[axis] = inside.shape[0]
    out = np.zeros(shape)
    if axis == 0:
        out[inside] = mat
    else:
        out[:, inside] = mat
    return out


def _reml_step(theta: np.ndarray, model: str, w: np.ndarray, wtw: np.ndarray, periods: int,
               y: np.ndarray, x: np.ndarray, d: np.ndarray, inside: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, _Structure, _SigmaInverse, np.ndarray]:
    """REML score and information; also the structure, Sigma^-1 and (X'Sigma^-1 X)^-1."""
    st = _structure(theta, model, w, wtw, periods)
    sigma_inv = _sigma_inverse(st, d, inside)
    sx = sigma_inv.dense @ x
    q = np.linalg.inv(x.T @ sx)
    proj = sigma_inv.dense - sx @ q @ sx.T
    py = proj @ y
    proj_full = _embed(proj, inside, 1)                     # (n, M)
    py_full = _embed(py[None, :], inside, 1)                # (1, M)
    k = st.n_params
    pv = [st.times_deriv(proj_full, r)[:, inside] for r in range(k)]
    score = np.array([-0.5 * np.trace(pv[r])
                      + 0.5 * float(st.times_deriv(py_full, r)[0, inside] @ py)
                      for r in range(k)])
    pv_t = [np.ascontiguousarray(m.T) for m in pv]
    info = np.empty((k, k))
    for r in range(k):
        for c in range(r, k):
            info[r, c] = info[c, r] = 0.5 * float(np.vdot(pv[r], pv_t[c]))
    return score, info, st, sigma_inv, q


def _reml_loglik(theta: np.ndarray, model: str, w: np.ndarray, wtw: np.ndarray, periods: int,
                 y: np.ndarray, x: np.ndarray, d: np.ndarray, inside: np.ndarray) -> float:
    """Restricted log-likelihood (up to a constant); -inf where Sigma is not positive definite."""
    st = _structure(theta, model, w, wtw, periods)
    try:
        sigma_inv = _sigma_inverse(st, d, inside)
    except linalg.LinAlgError:
        return -np.inf
    sx = sigma_inv.dense @ x
    xsx = x.T @ sx
    beta = np.linalg.solve(xsx, sx.T @ y)
    quad = y @ (sigma_inv.dense @ y) - beta @ (sx.T @ y)
    return float(-0.5 * (sigma_inv.logdet + np.linalg.slogdet(xsx)[1] + quad))


def _fit_reml(model: str, w: np.ndarray, periods: int, y: np.ndarray, x: np.ndarray,
              d: np.ndarray, inside: np.ndarray, max_iter: int, tol: float
              ) -> tuple[np.ndarray, bool, int]:
    """Fisher scoring from R's start (0.5 median(D), 0.5, 0.5 median(D), 0.5) and stop rule."""
    half = 0.5 * float(np.median(d))
    theta = np.array([half, 0.5, half] + ([0.5] if model == "ar1" else []))
    wtw = w.T @ w
    rhos = [1, 3] if model == "ar1" else [1]
    # a variance that reaches 0 (score <= 0 there) is fixed at 0 with its correlation
    groups = {0: [0, 1], 2: [2, 3] if model == "ar1" else [2]}
    active = np.ones(theta.size, dtype=bool)
    here: float | None = None
    for iteration in range(1, max_iter + 1):
        score, info, *_ = _reml_step(theta, model, w, wtw, periods, y, x, d, inside)
        idx = np.flatnonzero(active)
        new = theta.copy()
        new[idx] += np.linalg.lstsq(info[np.ix_(idx, idx)], score[idx], rcond=None)[0]
        for r in rhos:
            if active[r] and abs(new[r]) >= 0.999 and abs(theta[r]) >= 0.999:
                active[r] = False          # the likelihood rises towards |rho| = 1: stop there
            new[r] = min(max(new[r], -0.999), 0.999)
        for r in (0, 2):
            if active[r] and new[r] < 0.0:
                trial = theta.copy()
                trial[r] = 0.0
                at_zero = _reml_step(trial, model, w, wtw, periods, y, x, d, inside)[0][r]
                if at_zero <= 0.0:
                    new[groups[r]] = theta[groups[r]]
                    new[r] = 0.0
                    active[groups[r]] = False
                else:
                    new[r] = 0.5 * theta[r]
        # Fisher scoring can overshoot on a flat likelihood: halve a step that lowers it
        # (R sae takes the full step; on its examples no step lowers the likelihood)
        if here is None:
            here = _reml_loglik(theta, model, w, wtw, periods, y, x, d, inside)
        there = here
        for _ in range(30):
            there = _reml_loglik(new, model, w, wtw, periods, y, x, d, inside)
            if there >= here - 1e-12 * (1.0 + abs(here)):
                break
            new = theta + 0.5 * (new - theta)
        denom = np.where(theta == 0.0, 1e-4, np.abs(theta))
        change = np.max(np.abs(new - theta)[active] / denom[active]) if active.any() else 0.0
        # on a flat likelihood round-off moves theta by ~1e-6 relative once at the optimum:
        # also stop when the step would raise the restricted log-likelihood by < 1e-12
        gain = 0.5 * float(score[active] @ (new - theta)[active])
        theta = new
        here, previous = there, here
        if change < tol or abs(gain) < 1e-12 * (1.0 + abs(previous)):
            return theta, True, iteration
    return theta, False, max_iter


# --------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------


def panel_table(direct: Any, variance: Any, covariates: Any, area: Any, period: Any,
           data: pd.DataFrame | None, intercept: bool,
           covariate_names: Sequence[str] | None
           ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, tuple[str, ...], np.ndarray]:
    """Validated long table sorted by (area order of first appearance, period)."""
    if data is not None:
        named = [c for c in (direct, variance, area, period) if isinstance(c, str)]
        cov_cols = [covariates] if isinstance(covariates, str) else (
            covariates if isinstance(covariates, list) else [])
        v.require_columns(data, named + list(cov_cols), "data")

        def col(value: Any) -> Any:
            return data[value] if isinstance(value, str) else value
        direct, variance, area, period = col(direct), col(variance), col(area), col(period)
        if cov_cols:
            covariates = data[list(cov_cols)]
    if area is None or period is None:
        raise InputError("`area` and `period` are required: one label of each per row.")
    rows = v.row_labels({"direct": direct, "variance": variance, "covariates": covariates,
                         "area": area, "period": period}, None, noun="row", data=data)
    direct, variance, covariates, area, period = (
        rows.align(direct, "direct"), rows.align(variance, "variance"),
        rows.align(covariates, "covariates"), rows.align(area, "area"),
        rows.align(period, "period"))
    y = v.as_float_array(direct, "direct", allow_nan=True, noun="row")
    n = y.shape[0]
    if n == 0:
        raise InputError("`direct` is empty; give one row per area and period.")
    d = v.as_float_array(variance, "variance", allow_nan=True, noun="row")
    v.check_length(d, n, "variance", "direct")
    v.check_paired_nan(y, d, "direct", "variance")
    v.check_positive(d, "variance")
    v.check_range(y, "direct", noun="row")
    v.check_range(d, "variance", largest=1e200, smallest=1e-200, noun="row")
    if covariates is None:
        x = np.empty((n, 0))
        names: list[str] = []
    else:
        if isinstance(covariates, pd.Series):
            covariates = covariates.to_frame()
        x = v.as_float_array(covariates, "covariates", ndim=2, noun="row")
        v.check_length(x, n, "covariates", "direct")
        v.check_range(x, "covariates", noun="row")
        if isinstance(covariates, pd.DataFrame):
            names = [str(c) for c in covariates.columns]
        elif covariate_names is not None:
            names = list(covariate_names)
        else:
            names = [f"x{j + 1}" for j in range(x.shape[1])]
    if len(names) != x.shape[1]:
        raise InputError(f"`covariate_names` has {len(names)} names for {x.shape[1]} columns.")
    if intercept:
        x = np.column_stack([np.ones(n), x])
        names = ["intercept", *names]
    if x.shape[1] == 0:
        raise InputError("The model needs at least one coefficient: set `intercept=True` or "
                         "give covariates.")
    area_arr = np.asarray(area.to_numpy() if isinstance(area, pd.Series) else area)
    period_arr = np.asarray(period.to_numpy() if isinstance(period, pd.Series) else period)
    for arr, name in ((area_arr, "area"), (period_arr, "period")):
        if arr.ndim != 1 or arr.shape[0] != n:
            raise InputError(f"`{name}` must be 1-D with one label per row ({n}).")
        if pd.isna(arr).any():
            raise InputError(f"`{name}` is missing in rows "
                             f"{np.flatnonzero(pd.isna(arr))[:8].tolist()}.")
    frame = pd.DataFrame({"area": area_arr, "period": period_arr})
    dup = frame.duplicated(keep=False)
    if dup.any():
        shown = frame[dup].drop_duplicates().head(8).to_records(index=False).tolist()
        raise InputError(f"Each (area, period) must appear once; repeated: {shown}.")
    areas = pd.unique(area_arr)
    try:
        periods = np.sort(pd.unique(period_arr))
    except TypeError:
        raise InputError("`period` mixes labels that cannot be ordered (e.g. numbers and "
                         "text); give every period the same kind of label.") from None
    check_time_axis(periods, name="period", what="panel",
                    fixes="the rows of the missing periods (NaN direct estimate and variance "
                          "where there is no sample)")
    full = pd.MultiIndex.from_product([areas, periods], names=["area", "period"])
    have = pd.MultiIndex.from_frame(frame)
    missing = full.difference(have)
    if len(missing):
        raise InputError(
            f"The panel must have every area in every period; {len(missing)} (area, period) "
            f"rows are missing, e.g. {list(missing[:8])}. Add them with NaN direct estimate "
            "and variance (no sample) and their covariates."
        )
    order = have.get_indexer(full)
    table = pd.DataFrame({"y": y[order], "d": d[order]})
    return table, x[order], np.asarray(areas), tuple(names), periods


def spatio_temporal_fay_herriot(direct: Any, variance: Any, covariates: Any = None, *,
                                area: Any = None, period: Any = None, proximity: Any,
                                model: str = "ar1", intercept: bool = True,
                                covariate_names: Sequence[str] | None = None,
                                data: pd.DataFrame | None = None, level: float = 0.95,
                                max_iter: int = 200, tol: float = 1e-8,
                                algorithm: str = "auto", traces: str = "auto",
                                probes: int = DEFAULT_PROBES, random_seed: Any = 0
                                ) -> SpatioTemporalResult:
    """EBLUP under the spatio-temporal Fay–Herriot model (SAR in space, AR(1) in time).

    Parameters
    ----------
    direct, variance : array-like or str
        Direct estimates and their sampling variances, one row per area and period (long
        format; any row order). NaN in both marks an area-period with no sample: it gets the
        model prediction.
    covariates : array-like, pandas.DataFrame or list of str, optional
        Covariates per area-period, **without** an intercept column.
    area, period : array-like or str
        Area and period label of each row. Every area must appear in every period. Periods are
        sorted and taken as equally spaced for the AR(1).
    proximity : array-like, scipy sparse matrix, Adjacency or table of neighbour pairs
        Neighbour structure of the areas (see `crimestats.sae.spatial.proximity_matrix`);
        an ``(D, D)`` matrix is in the order in which areas first appear in the data.
    model : {"ar1", "independent"}
        AR(1) area-by-period effects (R ``sae`` model ``"ST"``) or independent ones
        (``"S"``). The R names are accepted too.
    intercept : bool
        Add an intercept column.
    covariate_names : sequence of str, optional
        Names for array covariates.
    data : pandas.DataFrame, optional
        Table holding the named columns.
    level : float
        Interval level.
    max_iter, tol : int, float
        Fisher scoring stops when the largest relative change of the variance components is
        below ``tol`` (R uses ``PRECISION = 1e-4``; ``tol=1e-4`` reproduces its numbers).
    algorithm : {"auto", "dense", "sparse"}
        ``"dense"``: Fisher scoring with the dense ``D × D`` SAR part and Kronecker products
        over area-periods, as R ``sae`` (matches it to round-off; O((DT)²) memory).
        ``"sparse"``: precision form with sparse Cholesky factors of ``D × D`` matrices (no
        dense matrix of areas or area-periods), average-information scoring to the same
        optimum. ``"auto"`` (default): dense up to 300 area-periods, sparse above, and the
        sparse path again when dense Fisher scoring does not converge (it can cycle on a
        likelihood flat in the time correlation); ``diagnostics["algorithm"]`` says which.
    traces : {"auto", "exact", "monte_carlo"}
        Sparse path only: how the Fisher information (standard errors of the variance
        components) and the $g_3$ MSE term are computed: exactly (O(DT) solves) or from
        ``probes`` seeded Monte Carlo draws (relative error of order
        ``sqrt(2 / (probes · DT))`` in the information and ``sqrt(2 / probes)`` in each
        cell's $g_3$, itself a term of order 1/D). ``"auto"``: exact up to 2,000
        sampled area-periods.
    probes : int
        Monte Carlo draws for ``traces="monte_carlo"``.
    random_seed : int or numpy.random.Generator
        Seed of those draws (the default 0 makes results reproducible).

    Returns
    -------
    SpatioTemporalResult
        ``estimates`` over ``area`` × ``period`` and the fitted variance components.

    References
    ----------
    Marhuenda, Y., Molina, I. and Morales, D. (2013). Small area estimation with spatio-temporal
    Fay–Herriot models. Computational Statistics & Data Analysis 58, 308–325.
    Rao, J. N. K. and Yu, M. (1994). Small-area estimation by combining time-series and
    cross-sectional data. Canadian Journal of Statistics 22, 511–528.

    Examples
    --------
    A 4 × 4 grid of areas observed in three years (simulated, spatial correlation 0.5):

    >>> import numpy as np
    >>> from crimestats.sae import spatio_temporal_fay_herriot
    >>> rng = np.random.default_rng(3)
    >>> side, years = 4, 3
    >>> pairs = [(r * side + c, r * side + c + 1) for r in range(side) for c in range(side - 1)]
    >>> pairs += [(r * side + c, (r + 1) * side + c) for r in range(side - 1) for c in range(side)]
    >>> W = np.zeros((16, 16))
    >>> for a, b in pairs:
    ...     W[a, b] = W[b, a] = 1
    >>> W /= W.sum(axis=1, keepdims=True)
    >>> area = np.repeat(np.arange(16), years)
    >>> year = np.tile(np.arange(2019, 2019 + years), 16)
    >>> x = rng.normal(size=area.size)
    >>> u1 = np.linalg.solve(np.eye(16) - 0.5 * W, rng.normal(scale=0.3, size=16))
    >>> direct = (1 + 0.5 * x + u1[area] + rng.normal(scale=0.2, size=area.size)
    ...           + rng.normal(scale=0.2, size=area.size))
    >>> fit = spatio_temporal_fay_herriot(direct, np.full(area.size, 0.04), x, area=area,
    ...                                   period=year, proximity=pairs)
    >>> fit.estimates["estimate"].sizes
    Frozen({'area': 16, 'period': 3})
    >>> round(fit.rho_space, 2), fit.beta.round(2)
    (0.45, array([0.89, 0.43]))
    """
    with v.numerical_failures("spatio-temporal Fay–Herriot"):
        fit = _spatio_temporal(direct, variance, covariates, area=area, period=period,
                               proximity=proximity, model=model, intercept=intercept,
                               covariate_names=covariate_names, data=data, level=level,
                               max_iter=max_iter, tol=tol, algorithm=algorithm, traces=traces,
                               probes=probes, random_seed=random_seed)
    est = fit.estimates
    v.check_finite_result({name: est[name].values.ravel() for name in ("estimate", "rmse")}
                          | {"beta": fit.beta, "sigma2_area": fit.sigma2_area},
                          "spatio-temporal Fay–Herriot", noun="area-period")
    return fit


def _spatio_temporal(direct: Any, variance: Any, covariates: Any, *, area: Any, period: Any,
                     proximity: Any, model: str, intercept: bool,
                     covariate_names: Sequence[str] | None, data: pd.DataFrame | None,
                     level: float, max_iter: int, tol: float, algorithm: str, traces: str,
                     probes: int, random_seed: Any) -> SpatioTemporalResult:
    """The body of `spatio_temporal_fay_herriot` (validation, then the dense or sparse fit)."""
    model = SPATIO_TEMPORAL["model"].check(model)
    level = v.check_level(level)
    max_iter = v.as_positive_int(max_iter, "max_iter")
    tol = v.as_number(tol, "tol", positive=True)
    probes = v.as_positive_int(probes, "probes")
    table, x_all, areas, names, periods = panel_table(direct, variance, covariates, area, period,
                                                 data, intercept, covariate_names)
    n_areas, n_periods = areas.shape[0], periods.shape[0]
    if model == "ar1" and n_periods < 2:
        raise InputError("The AR(1) time model needs at least two periods; use "
                         "model='independent' or the spatial Fay–Herriot model.")
    algorithm = SPATIO_TEMPORAL["algorithm"].check(algorithm)
    traces = SPATIO_TEMPORAL["traces"].check(traces)
    w_sparse = proximity_matrix(proximity, areas, m=n_areas)
    y_all, d_all = table["y"].to_numpy(), table["d"].to_numpy()
    inside = ~np.isnan(y_all)
    y, d, x = y_all[inside], d_all[inside], x_all[inside]
    if y.shape[0] <= x.shape[1] + 3:
        raise InputError(f"Too few area-periods with a direct estimate ({y.shape[0]}) for "
                         f"{x.shape[1]} coefficients and the variance components.")
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise InputError(f"The covariates {list(names)} are collinear; drop redundant ones.")

    sparse = algorithm == "sparse" or (algorithm == "auto" and y_all.size > SPARSE_CELLS)
    fallback = False
    if not sparse:
        w = w_sparse.toarray()
        theta, converged, iterations = _fit_reml(model, w, n_periods, y, x, d, inside,
                                                 int(max_iter), float(tol))
        # Fisher scoring can cycle on a likelihood flat in rho_time; the sparse path's
        # scoring has a line search on the exact likelihood and reaches the same maximum.
        sparse = fallback = not converged and algorithm == "auto"
    if sparse:
        fit = fit_sparse_stfh(model, w_sparse, n_periods, y, x, d, inside, int(max_iter),
                              float(tol), traces=traces, probes=int(probes),
                              random_seed=random_seed)
        theta, converged, iterations = fit.theta.copy(), fit.converged, fit.iterations
    if not converged:
        warnings.warn(f"Fisher scoring did not converge in {max_iter} iterations "
                      f"(last values {np.round(theta, 6).tolist()}).", ConvergenceWarning,
                      stacklevel=2)
    theta[0], theta[2] = max(theta[0], 0.0), max(theta[2], 0.0)
    param_names = ["sigma2_area", "rho_space", "sigma2_time"] + (
        ["rho_time"] if model == "ar1" else [])
    if sparse:
        result = _sparse_result(fit, theta, model, x_all, x, y, y_all, d_all, areas, periods,
                                names, level, param_names)
        if fallback:
            result.diagnostics["algorithm"] = SPARSE_AFTER_DENSE
        return result
    wtw = w.T @ w
    _, info, st, sigma_inv, q = _reml_step(theta, model, w, wtw, n_periods, y, x, d, inside)
    beta = q @ (x.T @ (sigma_inv.dense @ y))
    resid = y - x @ beta
    g_all = st.g[:, inside]
    weights = sigma_inv.right_multiply(g_all)
    estimate = x_all @ beta + weights @ resid
    synthetic = x_all @ beta
    s1 = theta[0]
    weighted = _embed((sigma_inv.dense @ resid)[None, :], inside, 1)    # (1, M)
    u1 = s1 * (weighted.reshape(n_areas, n_periods).sum(axis=1) @ st.area_parts[0])
    u2 = estimate - synthetic - np.repeat(u1, n_periods)

    mse_terms, vcov = _mse(theta, st, sigma_inv, q, info, x_all, inside)
    mse = np.maximum(mse_terms.total(), 0.0)
    loglik = -0.5 * (y.shape[0] * np.log(2.0 * np.pi) + sigma_inv.logdet
                     + resid @ sigma_inv.dense @ resid)
    se = np.sqrt(np.maximum(np.diag(vcov), 0.0))
    ds = eblup_dataset(
        {"area": areas, "period": periods}, estimate, mse, y_all, d_all, synthetic,
        level=level, attrs={"method": "reml", "model": f"spatio-temporal Fay-Herriot ({model})"},
        estimate_description="spatio-temporal EBLUP",
        extra={"area_effect": (np.repeat(u1, n_periods), "predicted spatial area effect u1_d"),
               "area_period_effect": (u2, "predicted area-by-period effect u2_dt")},
    )
    return SpatioTemporalResult(
        estimates=ds, model=model, method="reml", sigma2_area=float(theta[0]),
        rho_space=float(theta[1]), sigma2_time=float(theta[2]),
        rho_time=float(theta[3]) if model == "ar1" else float("nan"),
        variance_components_se=dict(zip(param_names, se.tolist(), strict=True)),
        beta=beta, beta_se=np.sqrt(np.diag(q)), covariate_names=names, level=level,
        converged=converged, iterations=iterations, loglik=float(loglik),
        diagnostics={"g1": mse_terms.g1, "g2": mse_terms.g2, "g3": mse_terms.g3,
                     "variance_components_vcov": vcov, "algorithm": "dense"},
        mse_terms=mse_terms,
    )


def _sparse_result(fit: Any, theta: np.ndarray, model: str, x_all: np.ndarray, x: np.ndarray,
                   y: np.ndarray, y_all: np.ndarray, d_all: np.ndarray, areas: np.ndarray,
                   periods: np.ndarray, names: tuple[str, ...], level: float,
                   param_names: list[str]) -> SpatioTemporalResult:
    """Result of the sparse (precision-form) path; same fields as the dense path."""
    out = sparse_predictions(fit, x_all, x, y)
    n_periods = periods.shape[0]
    u1 = np.repeat(out["u1"], n_periods)
    se = np.sqrt(np.maximum(np.diag(out["vcov"]), 0.0))
    ds = eblup_dataset(
        {"area": areas, "period": periods}, out["estimate"], out["mse"], y_all, d_all,
        out["synthetic"], level=level,
        attrs={"method": "reml", "model": f"spatio-temporal Fay-Herriot ({model})"},
        estimate_description="spatio-temporal EBLUP",
        extra={"area_effect": (u1, "predicted spatial area effect u1_d"),
               "area_period_effect": (out["estimate"] - out["synthetic"] - u1,
                                      "predicted area-by-period effect u2_dt")},
    )
    traces = "exact" if fit.exact else f"monte carlo ({fit.second.probes} draws)"
    return SpatioTemporalResult(
        estimates=ds, model=model, method="reml", sigma2_area=float(theta[0]),
        rho_space=float(theta[1]), sigma2_time=float(theta[2]),
        rho_time=float(theta[3]) if model == "ar1" else float("nan"),
        variance_components_se=dict(zip(param_names, se.tolist(), strict=True)),
        beta=out["beta"], beta_se=np.sqrt(np.diag(out["q"])), covariate_names=names,
        level=level, converged=fit.converged, iterations=fit.iterations,
        loglik=float(out["loglik"]),
        diagnostics={"g1": out["g1"], "g2": out["g2"], "g3": out["g3"],
                     "variance_components_vcov": out["vcov"], "algorithm": "sparse",
                     "second_order_traces": traces},
        mse_terms=out["mse_terms"],
    )


def _mse(theta: np.ndarray, st: _Structure, sigma_inv: _SigmaInverse, q: np.ndarray,
         info: np.ndarray, x_all: np.ndarray, inside: np.ndarray
         ) -> tuple[MseTerms, np.ndarray]:
    """g1, g2 and g3 of every area-period (Marhuenda, Molina & Morales 2013), and the
    covariance of the variance components used."""
    x = x_all[inside]
    g_all = st.g[:, inside]
    gsi = sigma_inv.right_multiply(g_all)
    g1 = np.diag(st.g) - diag_of_product(gsi, g_all)
    h = x_all - gsi @ x
    g2 = diag_of_product(h @ q, h)
    vcov = np.linalg.pinv(info)
    # L_r = d(G Sigma^-1)/d theta_r = (dG_r - G Sigma^-1 dSigma_r) Sigma^-1, and L_r Sigma is
    # the bracket itself (no extra M^3 product); dG_r is symmetric
    k = st.n_params
    gsi_full = _embed(gsi, inside, 1)
    eye_cols = _embed(np.eye(int(inside.sum())), inside, 1)            # (n, M)
    ls = [st.times_deriv(eye_cols, r).T - st.times_deriv(gsi_full, r)[:, inside]
          for r in range(k)]
    lmat = [sigma_inv.right_multiply(lr) for lr in ls]
    g3 = sum(vcov[r, s] * diag_of_product(ls[r], lmat[s]) for r in range(k) for s in range(k))
    return MseTerms(g1=g1, g2=g2, g3=g3), vcov
