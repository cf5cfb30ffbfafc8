"""Sparse (precision-form) algebra for the SAR spatial and spatio-temporal Fay–Herriot models.

Both models have $\\Sigma = S G S^\\top + \\Gamma$ over the ``n`` in-sample cells, where the
area part of $G$ is $\\sigma^2 C(\\rho)^{-1}$ with the *sparse* SAR precision
$C(\\rho) = (I - \\rho W)^\\top (I - \\rho W)$ and $\\Gamma$ is diagonal (spatial model)
or block diagonal with small ``T × T`` blocks (spatio-temporal model). With
$Q = C/\\sigma^2$ and $E = Z^\\top \\Gamma^{-1} Z$ (diagonal), the Woodbury identity
gives $\\Sigma^{-1} = \\Gamma^{-1} - \\Gamma^{-1} Z H^{-1} Z^\\top \\Gamma^{-1}$ with the sparse
$H = Q + E$, and $\\log|\\Sigma| = \\log|\\Gamma| + \\log|H| - \\log|Q|$.

Everything the fit needs is then either *exact and cheap* — solves with the sparse Cholesky
factors of $C$ and $H$, log-determinants, the diagonal of $H^{-1}$ (the
comparative variance $g_1$) and the traces $\\mathrm{tr}(\\Sigma^{-1}\\Sigma_r)$ of the
score (selected inversion) — or a *trace of a product of several inverses*: the expected
information $\\tfrac12\\mathrm{tr}(P\\Sigma_r P\\Sigma_s)$ and the per-area $g_3$ (and
$g_4$) terms of the MSE. Those are computed by [`second_order_terms`][second_order_terms] either exactly
(columns of the identity, in blocks: O(n) solves, no O(n²) memory) or by a seeded Monte Carlo
(Hutchinson-type) estimator with ``probes`` draws $\\zeta \\sim N(0, \\Sigma)$, used above
a size threshold. The variance components are found by average-information scoring
($\\tfrac12 y^\\top P\\Sigma_r P\\Sigma_s P y$, solves only) with a secant line search
on the exact score and step halving on the exact (restricted) log-likelihood, so the
estimates do not depend on the Monte Carlo. In the operators below the non-area part is
split as $\\Sigma = S G S^\\top + \\Psi$, $\\Psi$ the diagonal sampling variances
(for the spatio-temporal model $G$ includes the area-by-period effects).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from .sparse_cholesky import SparseCholesky

#: above this many in-sample cells the second-order traces are Monte Carlo estimates
EXACT_TRACE_LIMIT = 2000
#: Monte Carlo draws for the second-order traces (information, g3, g4)
DEFAULT_PROBES = 400
#: ``diagnostics["algorithm"]`` of a fit redone on the sparse path after dense Fisher scoring
#: did not converge
SPARSE_AFTER_DENSE = "sparse (dense Fisher scoring did not converge)"
_BLOCK = 128


class SarPattern:
    """$C(\\rho) = I - \\rho(W + W^\\top) + \\rho^2 W^\\top W$ and its derivatives on one pattern.

    The pattern is the union of those of $I$, $W + W^\\top$ and $W^\\top W$, kept
    fixed (explicit zeros included) so that traces against the selected inverse never miss an
    entry whatever $\\rho$ is, and so that one ordering and symbolic analysis serve every
    factorisation (see [`factor`][factor]).
    """

    def __init__(self, w: sp.sparray) -> None:
        w = sp.csr_array(w, dtype=float)
        m = w.shape[0]
        self.m = m
        eye = sp.eye_array(m, format="csr")
        sym = (w + w.T).tocsr()
        wtw = (w.T @ w).tocsr()
        pattern = sp.csc_array(abs(eye) + abs(sym) + abs(wtw))
        pattern.sort_indices()
        self.indptr, self.indices = pattern.indptr, pattern.indices
        self.cols = np.repeat(np.arange(m), np.diff(self.indptr))
        keys = self.cols.astype(np.int64) * m + self.indices
        self._keys = keys

        def on_pattern(mat: sp.sparray) -> np.ndarray:
            coo = sp.coo_array(mat)
            pos = np.searchsorted(keys, coo.col.astype(np.int64) * m + coo.row)
            out = np.zeros(keys.size)
            np.add.at(out, pos, coo.data)
            return out

        self.eye_v = on_pattern(eye)
        self.sym_v = on_pattern(sym)
        self.wtw_v = on_pattern(wtw)
        self.diag_pos = np.flatnonzero(self.cols == self.indices)
        self._first: SparseCholesky | None = None

    def matrix(self, values: np.ndarray) -> sp.csc_array:
        return sp.csc_array((values, self.indices, self.indptr), shape=(self.m, self.m))

    def factor(self, values: np.ndarray) -> SparseCholesky:
        """Sparse Cholesky of the matrix with ``values`` on the pattern.

        The first factorisation's ordering and symbolic analysis serve all later ones.
        """
        if self._first is None:
            self._first = SparseCholesky(self.matrix(values))
            return self._first
        return self._first.refactor(self.matrix(values))

    def c_values(self, rho: float) -> np.ndarray:
        return self.eye_v - rho * self.sym_v + rho * rho * self.wtw_v

    def dc_values(self, rho: float) -> np.ndarray:
        return -self.sym_v + 2.0 * rho * self.wtw_v

    def trace_with(self, factor: SparseCholesky, values: np.ndarray) -> float:
        """``tr(A^{-1} B)`` for ``B`` symmetric with ``values`` on this pattern."""
        return float(values @ factor.inverse_on(self.indices, self.cols))


class Operators(Protocol):
    """What the generic REML/ML and MSE code needs from a model at one parameter value.

    ``n`` in-sample cells, ``M`` rows of predictions (all cells); ``rows`` locates the
    in-sample cells among the ``M``. ``S`` below is that selection.
    """

    n_params: int
    logdet: float
    rows: np.ndarray
    g1_size: int                                                # M

    def psi_inv(self, b: np.ndarray) -> np.ndarray: ...         # Psi^-1 b (sampling), (n, k)
    def sigma_inv(self, b: np.ndarray) -> np.ndarray: ...       # Sigma^-1 b, (n, k)
    def g_sigma_inv(self, b: np.ndarray) -> np.ndarray: ...     # G S' Sigma^-1 b, (M, k)
    def bundle(self, b: np.ndarray, second: bool
               ) -> tuple[list[np.ndarray], dict[tuple[int, int], np.ndarray]]: ...
    #   ([G_r S' b for each r] (M, k), {(r, s): Sigma_rs b (n, k)} if second)
    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray: ...  # (n, size)
    def dlogdet(self) -> np.ndarray: ...                        # tr(Sigma^-1 Sigma_r), exact
    def g1(self) -> np.ndarray: ...                             # diag Var(delta | y), (M,)


def dsigma_all(ops: Any, b: np.ndarray) -> list[np.ndarray]:
    """``[Sigma_r b for each r]``."""
    return [g[ops.rows] for g in ops.bundle(b, False)[0]]


@dataclasses.dataclass
class Point:
    """A model evaluated at one parameter value: GLS fit and (restricted) log-likelihood."""

    theta: np.ndarray
    ops: Any
    sx: np.ndarray          # Sigma^-1 X
    q: np.ndarray           # (X' Sigma^-1 X)^-1
    beta: np.ndarray
    py: np.ndarray          # P y = Sigma^-1 (y - X beta)
    objective: float        # log-likelihood (ML) or restricted log-likelihood (REML), no consts

    def proj(self, b: np.ndarray, reml: bool) -> np.ndarray:
        """``P b`` (REML) or ``Sigma^-1 b`` (ML) for ``b`` of shape (n, k)."""
        out = self.ops.sigma_inv(b)
        if reml:
            out = out - self.sx @ (self.q @ (self.sx.T @ b))
        return out


def evaluate(ops: Any, theta: np.ndarray, y: np.ndarray, x: np.ndarray, reml: bool) -> Point:
    sx = ops.sigma_inv(x)
    xsx = x.T @ sx
    q = np.linalg.inv(xsx)
    q = 0.5 * (q + q.T)
    beta = q @ (sx.T @ y)
    resid = y - x @ beta
    py = ops.sigma_inv(resid[:, None])[:, 0]
    objective = -0.5 * (ops.logdet + float(resid @ py))
    if reml:
        objective -= 0.5 * float(np.linalg.slogdet(xsx)[1])
    return Point(np.asarray(theta, float).copy(), ops, sx, q, beta, py, objective)


def score_and_ai(pt: Point, x: np.ndarray, reml: bool) -> tuple[np.ndarray, np.ndarray]:
    """Exact score and the average information ``½ (Σ_r Py)' P (Σ_s Py)``."""
    ops = pt.ops
    k = ops.n_params
    tr = ops.dlogdet()
    if reml:
        ds_sx = dsigma_all(ops, pt.sx)
        tr = tr - np.array([np.trace(pt.q @ (pt.sx.T @ ds_sx[r])) for r in range(k)])
    dpy = np.column_stack(dsigma_all(ops, pt.py[:, None]))
    score = -0.5 * tr + 0.5 * (pt.py @ dpy)
    ai = 0.5 * dpy.T @ pt.proj(dpy, reml)
    return score, 0.5 * (ai + ai.T)


def fit_scoring(make_ops: Callable[[np.ndarray], Any], theta0: np.ndarray, y: np.ndarray,
                x: np.ndarray, reml: bool, rho_index: list[int],
                groups: dict[int, list[int]], max_iter: int, tol: float
                ) -> tuple[Point, bool, int]:
    """Average-information scoring with a line search and the stopping rule of the dense fits.

    ``groups`` maps each variance index to the parameters held with it while it sits at 0 with
    a score there that is not positive; a correlation whose step reaches ±0.999 twice is fixed.
    The average information can be far from the Hessian along one direction (a flat ridge
    between the variance components), where the full step overshoots to the mirror point and
    scoring cycles. The exact score at the trial point detects that (its slope along the step
    changes sign) and a secant step along the line lands on the optimum; a step that lowers
    the likelihood is halved.
    """
    theta = np.asarray(theta0, float).copy()
    rho_free = np.ones(theta.size, dtype=bool)
    pt = evaluate(make_ops(theta), theta, y, x, reml)
    derivs = score_and_ai(pt, x, reml)
    for iteration in range(1, max_iter + 1):
        score, ai = derivs
        # a variance at 0 (with its correlation) stays there while the likelihood falls into
        # the interior, and re-enters when its score at 0 turns positive
        active = rho_free.copy()
        for r, members in groups.items():
            if theta[r] == 0.0 and score[r] <= 0.0:
                active[members] = False
        if not active.any():
            return pt, True, iteration
        idx = np.flatnonzero(active)
        new = theta.copy()
        if idx.size:
            new[idx] += np.linalg.lstsq(ai[np.ix_(idx, idx)], score[idx], rcond=None)[0]
        for r in rho_index:
            if active[r] and abs(new[r]) >= 0.999 and abs(theta[r]) >= 0.999:
                rho_free[r] = active[r] = False
                new[r] = theta[r]
            new[r] = min(max(new[r], -0.999), 0.999)
        restart = False
        for r in groups:
            if active[r] and new[r] < 0.0:
                trial = theta.copy()
                trial[r] = 0.0
                at_zero = evaluate(make_ops(trial), trial, y, x, reml)
                zero_derivs = score_and_ai(at_zero, x, reml)
                if zero_derivs[0][r] <= 0.0:
                    # the likelihood falls into the interior: go on from the boundary point
                    theta, pt, derivs, restart = trial, at_zero, zero_derivs, True
                    break
                new[r] = 0.5 * theta[r]
        if restart:
            continue
        trial_pt = None
        floor = 1e-12 * (1.0 + abs(pt.objective))
        for _ in range(40):
            try:
                trial_pt = evaluate(make_ops(new), new, y, x, reml)
            except np.linalg.LinAlgError:
                trial_pt = None
            if trial_pt is not None and trial_pt.objective >= pt.objective - floor:
                break
            new = theta + 0.5 * (new - theta)
        if trial_pt is None:   # pragma: no cover - halving always reaches a valid point
            raise np.linalg.LinAlgError("no positive-definite step")
        trial_derivs = score_and_ai(trial_pt, x, reml)
        step = (new - theta) * active
        slope0, slope1 = float(score @ step), float(trial_derivs[0] @ step)
        if slope0 > 0.0 and slope1 < -0.1 * slope0:       # overshot the optimum on this line
            t = slope0 / (slope0 - slope1)
            new = theta + t * step
            trial_pt = evaluate(make_ops(new), new, y, x, reml)
            trial_derivs = score_and_ai(trial_pt, x, reml)
        denom = np.where(theta == 0.0, 1e-4, np.abs(theta))
        change = np.max(np.abs(new - theta)[active] / denom[active]) if active.any() else 0.0
        gain = 0.5 * float(score[active] @ (new - theta)[active])
        previous = pt.objective
        theta, pt, derivs = new, trial_pt, trial_derivs
        # stop on the relative change, or when the step's predicted gain in the (restricted)
        # log-likelihood is at round-off level
        if change < tol or abs(gain) < 1e-15 * (1.0 + abs(previous)):
            return pt, True, iteration
    return pt, False, max_iter


def leverage_term(pt: Point, x_all: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``g2 = diag(h q h')``, ``h = X_all - G S' Sigma^-1 X`` (uncertainty of beta)."""
    h = x_all - pt.ops.g_sigma_inv(x)
    return np.einsum("ij,jk,ik->i", h, pt.q, h)


@dataclasses.dataclass
class SecondOrder:
    """Second-order terms: information matrices and the per-row pieces of g3 (and g4)."""

    info_reml: np.ndarray
    info_ml: np.ndarray | None
    g3_parts: np.ndarray                   # (k, k, M): diag(L_r Sigma L_s')
    g4_parts: dict[tuple[int, int], np.ndarray]  # (r, s) -> diag(Psi S^-1 Sigma_rs S^-1 Psi)
    exact: bool
    probes: int


def second_order_terms(pt: Point, *, want_ml: bool, exact: bool, probes: int,
                       rng: np.random.Generator, d2_pairs: tuple[tuple[int, int], ...] = (),
                       psi: np.ndarray | None = None) -> SecondOrder:
    """Expected information ``½ tr(P Σ_r P Σ_s)`` and ``diag(L_r Σ L_s')`` exactly or by Monte Carlo.

    Exact: sums over the columns ``e_j`` of the identity, in blocks. Monte Carlo: draws
    $\\zeta \\sim N(0, \\Sigma)$, using $E[P\\zeta\\zeta^\\top P] = P$ and
    $E[\\Sigma^{-1}\\zeta\\zeta^\\top] = I$, in the symmetric (non-negative) form of each
    estimator. ``L_r = ∂(G S' Σ^{-1})/∂θ_r``, so ``L_r Σ u = G_r u - G S' Σ^{-1} Σ_r u``.
    ``Σ^{-1} b = Ψ^{-1}(b - S G S' Σ^{-1} b)`` (Ψ the sampling variances) saves solves. With ``d2_pairs`` and ``psi``
    also ``diag(Ψ Σ^{-1} Σ_rs Σ^{-1} Ψ)`` over the in-sample cells (the spatial g4 term).
    """
    ops = pt.ops
    k = ops.n_params
    rows = ops.rows
    n = pt.py.shape[0]
    variants = [True] + ([False] if want_ml else [])
    info = {True: np.zeros((k, k)), False: np.zeros((k, k))}
    parts = np.zeros((k, k, ops.g1_size))
    g4 = {pair: np.zeros(n) for pair in d2_pairs}
    ds_sx = dsigma_all(ops, pt.sx)
    gsi_ds_sx = [ops.g_sigma_inv(m) for m in ds_sx]

    def lowrank(b: np.ndarray) -> np.ndarray:
        return pt.q @ (pt.sx.T @ b)

    def sig_inv_from(b: np.ndarray, gsi_b: np.ndarray) -> np.ndarray:
        return ops.psi_inv(b - gsi_b[rows])

    total = n if exact else probes
    for start in range(0, total, _BLOCK):
        width = min(_BLOCK, total - start)
        if exact:
            weight = 1.0
            u = np.zeros((n, width))
            u[start + np.arange(width), np.arange(width)] = 1.0
            v = ops.sigma_inv(u)
            dg_u, d2_u = ops.bundle(u, bool(d2_pairs))
            ds_u = [g[rows] for g in dg_u]
            gsi_ds_u = [ops.g_sigma_inv(m) for m in ds_u]
            dg_v, _ = ops.bundle(v, False)
            ds_v = [g[rows] for g in dg_v]
            gsi_ds_v = [ops.g_sigma_inv(m) for m in ds_v]
            si_ds_u = [sig_inv_from(ds_u[r], gsi_ds_u[r]) for r in range(k)]
            for reml in variants:
                if reml:
                    lr = lowrank(u)
                    left = [ds_v[r] - ds_sx[r] @ lr for r in range(k)]
                    right = [si_ds_u[r] - pt.sx @ lowrank(ds_u[r]) for r in range(k)]
                else:
                    left, right = ds_v, si_ds_u
                for r in range(k):
                    for c in range(k):
                        info[reml][r, c] += 0.5 * float(np.vdot(left[r], right[c]))
            lefts = [dg_u[r] - gsi_ds_u[r] for r in range(k)]
            rights = [dg_v[r] - gsi_ds_v[r] for r in range(k)]
            d2, psi_right = d2_u, v
        else:
            weight = 1.0 / probes
            zeta = ops.sample(rng, width)
            a = ops.sigma_inv(zeta)
            dg_a, d2_a = ops.bundle(a, bool(d2_pairs))
            ds_a = [g[rows] for g in dg_a]
            gsi_ds_a = [ops.g_sigma_inv(m) for m in ds_a]
            for reml in variants:
                if reml:   # P zeta = a - Sigma^-1 X q X' Sigma^-1 zeta
                    c0 = lowrank(zeta)
                    left = [ds_a[r] - ds_sx[r] @ c0 for r in range(k)]
                    gsi_left = [gsi_ds_a[r] - gsi_ds_sx[r] @ c0 for r in range(k)]
                    right = [sig_inv_from(left[r], gsi_left[r]) - pt.sx @ lowrank(left[r])
                             for r in range(k)]
                else:
                    left = ds_a
                    right = [sig_inv_from(ds_a[r], gsi_ds_a[r]) for r in range(k)]
                for r in range(k):
                    for c in range(k):
                        info[reml][r, c] += 0.5 * weight * float(np.vdot(left[r], right[c]))
            lefts = [dg_a[r] - gsi_ds_a[r] for r in range(k)]
            rights = lefts
            d2, psi_right = d2_a, a
        for r in range(k):
            for c in range(k):
                parts[r, c] += weight * np.sum(lefts[r] * rights[c], axis=1)
        if psi is not None:
            for pair in d2_pairs:
                lhs = psi[:, None] * ops.sigma_inv(d2[pair])
                g4[pair] += weight * np.sum(lhs * (psi[:, None] * psi_right), axis=1)
    parts = 0.5 * (parts + parts.transpose(1, 0, 2))
    sym = {key: 0.5 * (val + val.T) for key, val in info.items()}
    return SecondOrder(sym[True], sym[False] if want_ml else None, parts, g4, exact,
                       0 if exact else probes)


def combine_g3(parts: np.ndarray, vcov: np.ndarray) -> np.ndarray:
    """``g3 = Σ_rs V_rs diag(L_r Σ L_s')``."""
    return np.einsum("rs,rsi->i", vcov, parts)
