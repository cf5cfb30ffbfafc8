"""Engine of `fay_herriot_many`: one Fay–Herriot EBLUP per table, vectorised over tables.

Every table $t$ has its own $\\sigma_{u,t}^2$, found by the same Fisher scoring as
`fay_herriot` (the estimating equation of a variance-component method object: REML, ML or
the Fay–Herriot moment equation, see `crimestats.sae.area_level.variance`), and its own GLS
$\\hat\\beta_t$ and second-order MSE. Instead of a Python loop over tables, each step works on
a stack of tables at once: weights $w_{ti} = 1/(\\sigma_{u,t}^2 + D_{ti})$ (0 for areas with
no direct estimate) form $X^\\top W_t^k X$ for all $t$ as sums over areas, the $p \\times p$
algebra runs batched, and tables leave the iteration as they converge.

Each table's numbers depend only on its own data: every sum over areas is a reduction along
the last, contiguous axis of a fresh array, and the $p \\times p$ algebra is batched LAPACK,
so a table gets the same bits whichever other tables share its block or its dask chunk.

Status codes per table (0 = fitted), turned into errors by the front-end: see `STATUS`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .mse_terms import MseTerms

__all__ = ["STATUS", "TableDesign", "fit_block", "fit_tables", "inverse_spd_stack"]

#: Why a table was not fitted (status code → problem).
STATUS = {
    1: "the direct estimate and its variance are missing in different areas",
    2: "a sampling variance is not positive and finite, or a direct estimate is infinite",
    3: "a covariate is missing or infinite",
    4: "there are no more areas with a direct estimate than coefficients",
    5: "the covariates are collinear in the areas with a direct estimate",
    6: "the fit failed numerically (singular X'V^-1 X or non-finite results)",
}
#: Smallest eigenvalue ratio of the equilibrated in-sample X'X (condition number of X 10^6).
_SINGULAR = 1e-12
#: Elements of the largest temporary array of a block of tables (about 32 MB of floats).
_BLOCK_ELEMENTS = 1 << 22

_OUTPUTS = ("estimate", "mse", "shrinkage", "synthetic", "sigma2_u", "converged",
            "iterations", "status", "beta", "beta_se")


def fit_block(y: np.ndarray, d: np.ndarray, x: np.ndarray, *, method: Any, max_iter: int,
              tol: float, bar: Any = None) -> tuple[np.ndarray, ...]:
    """Fit every table of a block laid out as ``apply_ufunc`` passes it.

    ``y`` and ``d`` have shape ``(*tables, m)``; ``x`` has shape ``(m, p)`` (the same
    covariates for every table) or ``(*tables', m, p)`` broadcastable to ``(*tables, m, p)``.
    Returns the arrays named in ``_OUTPUTS``, each of shape ``(*tables, ...)``.
    """
    loop = y.shape[:-1]
    m = y.shape[-1]
    p = x.shape[-1]
    n_tables = int(np.prod(loop, dtype=np.int64))
    y2 = np.ascontiguousarray(y, dtype=float).reshape(n_tables, m)
    d2 = np.ascontiguousarray(d, dtype=float).reshape(n_tables, m)
    if x.ndim == 2:
        x3 = np.ascontiguousarray(x, dtype=float)[None]
    else:
        x3 = np.ascontiguousarray(np.broadcast_to(x, (*loop, m, p)), dtype=float)
        x3 = x3.reshape(n_tables, m, p)
    out = fit_tables(y2, d2, x3, method=method, max_iter=max_iter, tol=tol, bar=bar)
    shapes = {"estimate": (m,), "mse": (m,), "shrinkage": (m,), "synthetic": (m,),
              "beta": (p,), "beta_se": (p,)}
    return tuple(out[name].reshape(*loop, *shapes.get(name, ())) for name in _OUTPUTS)


def fit_tables(y: np.ndarray, d: np.ndarray, x: np.ndarray, *, method: Any, max_iter: int,
               tol: float, bar: Any = None) -> dict[str, np.ndarray]:
    """Fit ``T`` tables: ``y``, ``d`` of shape ``(T, m)``, ``x`` of shape ``(1 or T, m, p)``.

    Tables are taken in blocks small enough for the temporary arrays; ``bar`` (a progress bar
    or None) advances by the tables of each block.
    """
    n_tables, m = y.shape
    p = x.shape[-1]
    pairs = p * (p + 1) // 2
    block = max(1, _BLOCK_ELEMENTS // max(1, pairs * m))
    out = {name: np.full((n_tables, m), np.nan) for name in _OUTPUTS[:4]}
    out.update(sigma2_u=np.full(n_tables, np.nan), converged=np.zeros(n_tables, bool),
               iterations=np.zeros(n_tables, np.int64), status=np.zeros(n_tables, np.int8),
               beta=np.full((n_tables, p), np.nan), beta_se=np.full((n_tables, p), np.nan))
    for start in range(0, n_tables, block):
        part = slice(start, min(start + block, n_tables))
        xs = x if x.shape[0] == 1 else x[part]
        for name, values in _fit(y[part], d[part], xs, method, max_iter, tol).items():
            out[name][part] = values
        if bar is not None:
            bar.update(part.stop - part.start)
    return out


# --------------------------------------------------------------------------------------------
# One block of tables
# --------------------------------------------------------------------------------------------


class TableDesign:
    """Products of covariate columns over areas: ``x_a * x_b`` for ``a <= b``.

    ``xt`` has shape ``(1 or T, p, m)``, ``prod`` shape ``(1 or T, p(p+1)/2, m)``; both
    C-contiguous so that sums over areas run along the last axis.
    """

    def __init__(self, x: np.ndarray) -> None:
        self.p = x.shape[-1]
        self.xt = np.ascontiguousarray(np.swapaxes(x, -1, -2))
        self.index = [(a, b) for a in range(self.p) for b in range(a, self.p)]
        self.prod = np.ascontiguousarray(np.stack(
            [self.xt[:, a] * self.xt[:, b] for a, b in self.index], axis=1))

    def take(self, rows: np.ndarray) -> TableDesign:
        """The design of some tables of the block (the same object when shared)."""
        if self.xt.shape[0] == 1:
            return self
        sub = object.__new__(TableDesign)
        sub.p, sub.index = self.p, self.index
        sub.xt, sub.prod = self.xt[rows], self.prod[rows]
        return sub

    def gram(self, w: np.ndarray) -> np.ndarray:
        """$X^\\top \\mathrm{diag}(w_t) X$ for each table: ``(T, p, p)``."""
        flat = np.sum(w[:, None, :] * self.prod, axis=-1)
        out = np.empty((w.shape[0], self.p, self.p))
        for k, (a, b) in enumerate(self.index):
            out[:, a, b] = out[:, b, a] = flat[:, k]
        return out

    def cross(self, v: np.ndarray) -> np.ndarray:
        """$X^\\top v_t$ for each table: ``(T, p)``."""
        return np.sum(self.xt * v[:, None, :], axis=-1)

    def fitted(self, beta: np.ndarray) -> np.ndarray:
        """$X \\beta_t$ for each table: ``(T, m)``."""
        out = beta[:, 0, None] * self.xt[:, 0]
        for a in range(1, self.p):
            out = out + beta[:, a, None] * self.xt[:, a]
        return out

    def quadratic(self, cov: np.ndarray) -> np.ndarray:
        """$x_i^\\top C_t x_i$ for every area and table: ``(T, m)``."""
        out = np.zeros((cov.shape[0], self.xt.shape[-1]))
        for k, (a, b) in enumerate(self.index):
            weight = cov[:, a, b] if a == b else 2.0 * cov[:, a, b]
            out = out + weight[:, None] * self.prod[:, k]
        return out


def inverse_spd_stack(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverses of symmetric positive-definite ``(T, p, p)`` matrices (equilibrated Cholesky).

    Returns the inverses and a mask of the matrices that were not positive definite (their
    inverse is NaN).
    """
    scale = 1.0 / np.sqrt(np.diagonal(gram, axis1=-2, axis2=-1))
    outer = scale[:, :, None] * scale[:, None, :]
    failed = np.zeros(gram.shape[0], dtype=bool)
    try:
        root = np.linalg.cholesky(gram * outer)
    except np.linalg.LinAlgError:
        root = np.full_like(gram, np.nan)
        for t in range(gram.shape[0]):
            try:
                root[t] = np.linalg.cholesky(gram[t] * outer[t])
            except np.linalg.LinAlgError:
                failed[t] = True
    with np.errstate(invalid="ignore"):
        root_inv = np.linalg.inv(np.where(failed[:, None, None], np.eye(gram.shape[-1]), root))
    inverse = (np.swapaxes(root_inv, -1, -2) @ root_inv) * outer
    inverse[failed] = np.nan
    return inverse, failed


def _equation(method: Any, s: np.ndarray, y: np.ndarray, d: np.ndarray, inside: np.ndarray,
              design: TableDesign, n_in: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimating equation of ``method`` at ``s`` and the scale of its slope, per table.

    The GLS fit at ``s`` is shared; ``method.equations`` turns it into the REML or ML score
    with its Fisher information, or the moment equation with $\\sum w_i$. The third array
    flags tables whose $X^\\top W X$ was not positive definite.
    """
    w = np.where(inside, 1.0 / (s[:, None] + d), 0.0)
    q, failed = inverse_spd_stack(design.gram(w))
    beta = (q @ design.cross(w * y)[:, :, None])[:, :, 0]
    resid = y - design.fitted(beta)
    value, slope = method.equations(s, w, q, resid, design, n_in)
    return value, slope, failed


def _check(y: np.ndarray, d: np.ndarray, x: np.ndarray, design: TableDesign
           ) -> tuple[np.ndarray, np.ndarray]:
    """Status of each table before fitting (see `STATUS`) and its in-sample mask."""
    n_tables = y.shape[0]
    p = x.shape[-1]
    status = np.zeros(n_tables, dtype=np.int8)
    inside = ~np.isnan(y)
    status[(inside != ~np.isnan(d)).any(axis=-1)] = 1
    with np.errstate(invalid="ignore"):
        bad = inside & ~((d > 0.0) & np.isfinite(d) & np.isfinite(y))
    status[(status == 0) & bad.any(axis=-1)] = 2
    bad_x = np.broadcast_to(~np.isfinite(x).all(axis=(-2, -1)), (n_tables,))
    status[(status == 0) & bad_x] = 3
    n_in = inside.sum(axis=-1)
    status[(status == 0) & (n_in <= p)] = 4
    ok = status == 0
    if ok.any():
        gram = design.take(np.flatnonzero(ok)).gram(inside[ok].astype(float))
        diag = np.diagonal(gram, axis1=-2, axis2=-1)
        zero = (diag <= 0.0).any(axis=-1)
        scale = 1.0 / np.sqrt(np.where(diag > 0.0, diag, 1.0))
        values = np.linalg.eigvalsh(gram * scale[:, :, None] * scale[:, None, :])
        singular = zero | (values[:, 0] <= _SINGULAR * values[:, -1])
        status[np.flatnonzero(ok)[singular]] = 5
    return status, inside


def _fit(y: np.ndarray, d: np.ndarray, x: np.ndarray, method: Any, max_iter: int, tol: float
         ) -> dict[str, np.ndarray]:
    """Fit one block of tables (``y``, ``d``: ``(T, m)``; ``x``: ``(1 or T, m, p)``)."""
    n_tables, m = y.shape
    design = TableDesign(x)
    status, inside = _check(y, d, x, design)
    ok = np.flatnonzero(status == 0)
    out: dict[str, np.ndarray] = {
        name: np.full((n_tables, m), np.nan) for name in _OUTPUTS[:4]}
    out.update(sigma2_u=np.full(n_tables, np.nan), converged=np.zeros(n_tables, bool),
               iterations=np.zeros(n_tables, np.int64), status=status,
               beta=np.full((n_tables, design.p), np.nan),
               beta_se=np.full((n_tables, design.p), np.nan))
    if ok.size == 0:
        return out
    # tables that can be fitted: no NaN left (zero weight where there is no direct estimate)
    inside = inside[ok]
    y = np.where(inside, y[ok], 0.0)
    d = np.where(inside, d[ok], 1.0)
    design = design.take(ok)
    n_in = inside.sum(axis=-1)
    sigma2_u, converged, iterations, failed = _scoring(method, y, d, inside, design, n_in,
                                                       max_iter, tol)
    fitted = _eblup(method, sigma2_u, y, d, inside, design, n_in)
    failed |= ~np.all([np.isfinite(v).all(axis=-1) if v.ndim > 1 else np.isfinite(v)
                       for v in (fitted["estimate"], fitted["mse"], fitted["beta_se"],
                                 sigma2_u)], axis=0)
    out["status"][ok[failed]] = 6
    keep = ~failed
    rows = ok[keep]
    for name, values in fitted.items():
        out[name][rows] = values[keep]
    out["sigma2_u"][rows] = sigma2_u[keep]
    out["converged"][rows] = converged[keep]
    out["iterations"][rows] = iterations[keep]
    return out


def _scoring(method: Any, y: np.ndarray, d: np.ndarray, inside: np.ndarray, design: TableDesign,
             n_in: np.ndarray, max_iter: int, tol: float
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fisher scoring for $\\sigma_u^2 \\ge 0$ of every table, as `fay_herriot` does it.

    From the median sampling variance; an update below zero becomes zero when the equation is
    already non-positive there, else half the current value; a table stops when its change is
    below ``tol * (sigma2_u + min D)``. Returns the estimates, converged flags, iterations and
    the tables whose $X^\\top W X$ was singular.
    """
    n_tables = y.shape[0]
    d_in = np.where(inside, d, np.nan)
    current = np.nanmedian(d_in, axis=-1)
    scale = np.nanmin(d_in, axis=-1)
    estimate = current.copy()
    converged = np.zeros(n_tables, dtype=bool)
    iterations = np.full(n_tables, max_iter, dtype=np.int64)
    failed = np.zeros(n_tables, dtype=bool)
    active = np.ones(n_tables, dtype=bool)
    for iteration in range(1, max_iter + 1):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        now = current[rows]
        sub = design.take(rows)
        score, slope, bad = _equation(method, now, y[rows], d[rows], inside[rows], sub,
                                      n_in[rows])
        with np.errstate(divide="ignore", invalid="ignore"):
            proposal = now + score / slope
        stop = ~np.isfinite(proposal) | bad
        failed[rows[bad]] = True
        negative = ~stop & (proposal < 0.0)
        if negative.any():
            at = np.flatnonzero(negative)
            score0, _, bad0 = _equation(method, np.zeros(at.size), y[rows[at]], d[rows[at]],
                                        inside[rows[at]], sub.take(at), n_in[rows[at]])
            proposal[at] = np.where(score0 <= 0.0, 0.0, 0.5 * now[at])
            failed[rows[at[bad0]]] = True
            stop[at[bad0]] = True
        done = ~stop & (np.abs(proposal - now) <= tol * (proposal + scale[rows]))
        estimate[rows[stop]] = now[stop]
        iterations[rows[stop]] = iteration
        estimate[rows[done]] = proposal[done]
        converged[rows[done]] = True
        iterations[rows[done]] = iteration
        active[rows[stop | done]] = False
        moving = ~(stop | done)
        current[rows[moving]] = proposal[moving]
    estimate[active] = current[active]
    return estimate, converged, iterations, failed


def _eblup(method: Any, sigma2_u: np.ndarray, y: np.ndarray, d: np.ndarray,
           inside: np.ndarray, design: TableDesign, n_in: np.ndarray) -> dict[str, np.ndarray]:
    """EBLUP, second-order MSE, shrinkage, synthetic part and GLS coefficients per table.

    The formulas of `fay_herriot` (Rao & Molina 2015, sec. 6.2): $g_1 + g_2 + 2 g_3$ minus
    the bias term of ML or the moment estimator; out-of-sample areas get the synthetic
    estimate with MSE $\\max(\\sigma_u^2 - b, 0) + x_i^\\top \\mathrm{Var}(\\hat\\beta) x_i$.
    """
    w = np.where(inside, 1.0 / (sigma2_u[:, None] + d), 0.0)
    cov, _ = inverse_spd_stack(design.gram(w))
    beta = (cov @ design.cross(w * y)[:, :, None])[:, :, 0]
    synthetic = design.fitted(beta)
    b = d * w
    leverage = design.quadratic(cov)
    moments = method.table_moments(w, design, cov, n_in)
    var_sigma2, bias = moments.variance, moments.bias
    g1 = d * sigma2_u[:, None] * w
    g2 = b * b * leverage
    g3 = b * b * var_sigma2[:, None] * w
    mse_in = MseTerms(g1=g1, g2=g2, g3=g3, bias=bias[:, None] * b * b).total()
    mse_out = np.maximum(sigma2_u - bias, 0.0)[:, None] + leverage
    return {
        "estimate": np.where(inside, synthetic + (1.0 - b) * (y - synthetic), synthetic),
        "mse": np.where(inside, mse_in, mse_out),
        "shrinkage": np.where(inside, b, 1.0),
        "synthetic": synthetic,
        "beta": beta,
        "beta_se": np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1)),
    }
