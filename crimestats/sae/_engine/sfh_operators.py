"""Sparse path of the spatial (SAR) Fay–Herriot model: precision form for thousands of areas.

With $Q = C(\\rho)/\\sigma_u^2$, $E = \\mathrm{diag}(1/D_i)$ over the sampled areas (0
elsewhere) and $H = Q + E$:
$G S^\\top\\Sigma^{-1} = H^{-1} S^\\top D^{-1}$ (the EBLUP),
$g_1 = \\mathrm{diag}(H^{-1})$ (selected inversion, exact),
$\\log|\\Sigma| = \\log|D| + \\log|H| - \\log|C| + m\\log\\sigma_u^2$,
$\\mathrm{tr}(\\Sigma^{-1}\\Sigma_{\\sigma}) = \\mathrm{tr}(E H^{-1})/\\sigma_u^2$ and
$\\mathrm{tr}(\\Sigma^{-1}\\Sigma_{\\rho}) = \\mathrm{tr}(H^{-1}C_\\rho)/\\sigma_u^2 -
\\mathrm{tr}(C^{-1}C_\\rho)$ (exact). See `crimestats.sae._engine.sar_precision` for the rest.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import scipy.sparse as sp

from .mse_terms import MseTerms
from .sar_precision import (
    DEFAULT_PROBES,
    EXACT_TRACE_LIMIT,
    Point,
    SarPattern,
    combine_g3,
    dsigma_all,
    fit_scoring,
    leverage_term,
    second_order_terms,
)
from .sparse_cholesky import SparseCholesky


class SfhOperators:
    """The spatial Fay–Herriot covariance at one ``(sigma2_u, rho)``, in precision form."""

    n_params = 2

    def __init__(self, pattern: SarPattern, sigma2: float, rho: float, d: np.ndarray,
                 idx: np.ndarray) -> None:
        m = pattern.m
        self.pattern, self.s, self.d, self.idx, self.m = pattern, float(sigma2), d, idx, m
        self.rows, self.g1_size = idx, m
        c_v = pattern.c_values(rho)
        self.dc_v = pattern.dc_values(rho)
        self.dc = sp.csr_array(pattern.matrix(self.dc_v))
        self.wtw = sp.csr_array(pattern.matrix(pattern.wtw_v))
        self.c_mat = sp.csr_array(pattern.matrix(c_v))
        self.c_chol = pattern.factor(c_v)
        e = np.zeros(m)
        e[idx] = 1.0 / d
        self.e = e
        self.h_chol: SparseCholesky | None = None
        logdet = float(np.sum(np.log(d)))
        if self.s > 0.0:
            h_v = c_v / self.s
            h_v[pattern.diag_pos] += e
            self.h_chol = pattern.factor(h_v)
            logdet += self.h_chol.logdet - self.c_chol.logdet + m * np.log(self.s)
        self.logdet = logdet

    def _embed(self, b: np.ndarray) -> np.ndarray:
        out = np.zeros((self.m, b.shape[1]))
        out[self.idx] = b
        return out

    def psi_inv(self, b: np.ndarray) -> np.ndarray:
        return b / self.d[:, None]

    def sigma_inv(self, b: np.ndarray) -> np.ndarray:
        bd = b / self.d[:, None]
        if self.h_chol is None:
            return bd
        return bd - self.h_chol.solve(self._embed(bd))[self.idx] / self.d[:, None]

    def g_sigma_inv(self, b: np.ndarray) -> np.ndarray:
        if self.h_chol is None:
            return np.zeros((self.m, b.shape[1]))
        return self.h_chol.solve(self._embed(b / self.d[:, None]))

    def bundle(self, b: np.ndarray, second: bool
               ) -> tuple[list[np.ndarray], dict[tuple[int, int], np.ndarray]]:
        """``G_r S' b`` (r = sigma2, rho) and, if ``second``, ``Σ_{σρ} b`` and ``Σ_{ρρ} b``.

        ``G_σ = C^{-1}``, ``G_ρ = -σ² C^{-1} C_ρ C^{-1}``, ``G_σρ = -C^{-1} C_ρ C^{-1}`` and
        ``G_ρρ = 2σ² (C^{-1} C_ρ C^{-1} C_ρ C^{-1} - C^{-1} W'W C^{-1})`` (``C_ρρ = 2 W'W``).
        """
        y = self.c_chol.solve(self._embed(b))
        z1 = self.c_chol.solve(self.dc @ y)
        d2: dict[tuple[int, int], np.ndarray] = {}
        if second:
            width = b.shape[1]
            z23 = self.c_chol.solve(np.hstack([self.dc @ z1, self.wtw @ y]))
            d2[(0, 1)] = -z1[self.idx]
            d2[(1, 1)] = 2.0 * self.s * (z23[self.idx, :width] - z23[self.idx, width:])
        return [y, -self.s * z1], d2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        noise = np.sqrt(self.d)[:, None] * rng.standard_normal((self.idx.size, size))
        if self.s == 0.0:
            return noise
        return np.sqrt(self.s) * self.c_chol.sample(rng, size).T[self.idx] + noise

    def dlogdet(self) -> np.ndarray:
        if self.h_chol is None:
            cdiag = self.c_chol.inverse_diagonal()
            return np.array([float(np.sum(cdiag[self.idx] / self.d)), 0.0])
        hdiag = self.h_chol.inverse_diagonal()
        return np.array([
            float(self.e @ hdiag) / self.s,
            self.pattern.trace_with(self.h_chol, self.dc_v) / self.s
            - self.pattern.trace_with(self.c_chol, self.dc_v),
        ])

    def g1(self) -> np.ndarray:
        if self.h_chol is None:
            return np.zeros(self.m)
        return self.h_chol.inverse_diagonal()

    def g1_gradient(self, exact: bool, probes: int, rng: np.random.Generator) -> np.ndarray:
        """``∂ diag(H^{-1}) / ∂θ = -diag(H^{-1} Q_r H^{-1})`` (rows: sigma2, rho)."""
        if self.h_chol is None:
            return np.vstack([self.c_chol.inverse_diagonal(), np.zeros(self.m)])
        hdiag = self.h_chol.inverse_diagonal()
        quad_e = np.zeros(self.m)          # diag(H^-1 E H^-1)
        quad_rho = np.zeros(self.m)        # diag(H^-1 C_rho H^-1)
        total = self.m if exact else probes
        for start in range(0, total, 128):
            width = min(128, total - start)
            if exact:
                cols = np.zeros((self.m, width))
                cols[start + np.arange(width), np.arange(width)] = 1.0
                a = self.h_chol.solve(cols)
                quad_e += (a * a) @ self.e[start:start + width]
                quad_rho += np.sum(self.h_chol.solve(self.dc @ cols) * a, axis=1)
            else:
                z = rng.standard_normal((self.m, width))
                half = self.h_chol.solve(np.sqrt(self.e)[:, None] * z)
                quad_e += np.sum(half * half, axis=1) / probes
                s = self.h_chol.sample(rng, width).T
                quad_rho += np.sum(self.h_chol.solve(self.dc @ s) * s, axis=1) / probes
        return np.vstack([(hdiag - quad_e) / self.s, -quad_rho / self.s])


@dataclasses.dataclass
class SparseSfhFit:
    sigma2_u: float
    rho: float
    converged: bool
    iterations: int
    beta: np.ndarray
    q: np.ndarray
    estimate: np.ndarray
    mse: np.ndarray
    mse_terms: MseTerms
    loglik: float
    se_theta: np.ndarray
    extras: dict[str, Any]


def fit_sparse_sfh(method: str, y_all: np.ndarray, d_all: np.ndarray, x_all: np.ndarray,
                   w: sp.sparray, max_iter: int, tol: float, *, traces: str = "auto",
                   probes: int = DEFAULT_PROBES, random_seed: Any = 0) -> SparseSfhFit:
    """Fit by REML/ML in precision form; MSE ``g1 + g2 + 2 g3 - g4`` (- ML bias term)."""
    reml = method == "reml"
    inside = ~np.isnan(y_all)
    idx = np.flatnonzero(inside)
    y, d, x = y_all[inside], d_all[inside], x_all[inside]
    pattern = SarPattern(w)

    def make_ops(theta: np.ndarray) -> SfhOperators:
        return SfhOperators(pattern, max(theta[0], 0.0), theta[1], d, idx)

    pt, converged, iterations = fit_scoring(
        make_ops, np.array([float(np.median(d)), 0.5]), y, x, reml, [1], {0: [0, 1]},
        max_iter, tol)
    ops: SfhOperators = pt.ops
    sigma2_u, rho = max(float(pt.theta[0]), 0.0), float(pt.theta[1])
    exact = traces == "exact" or (traces == "auto" and y.size <= EXACT_TRACE_LIMIT)
    rng = np.random.default_rng(random_seed)
    second = second_order_terms(pt, want_ml=not reml, exact=exact, probes=probes, rng=rng,
                                d2_pairs=((0, 1), (1, 1)), psi=d)
    return assemble(method, pt, ops, second, x_all, x, y, d, idx, sigma2_u, rho, converged,
                     iterations, exact, probes, rng)


def assemble(method: str, pt: Point, ops: SfhOperators, second: Any, x_all: np.ndarray,
              x: np.ndarray, y: np.ndarray, d: np.ndarray, idx: np.ndarray, sigma2_u: float,
              rho: float, converged: bool, iterations: int, exact: bool, probes: int,
              rng: np.random.Generator) -> SparseSfhFit:
    resid = y - x @ pt.beta
    estimate = x_all @ pt.beta + ops.g_sigma_inv(resid[:, None])[:, 0]
    g1 = ops.g1()
    g2 = leverage_term(pt, x_all, x)
    vcov = np.linalg.pinv(second.info_reml)
    g3 = combine_g3(second.g3_parts, vcov)
    g4 = np.zeros(ops.m)
    g4[idx] = 0.5 * (2.0 * vcov[0, 1] * second.g4_parts[(0, 1)]
                     + vcov[1, 1] * second.g4_parts[(1, 1)])
    extras: dict[str, Any] = {"g1": g1, "g2": g2, "g3": g3, "g4": g4, "vcov_theta": vcov}
    bias_term = None
    if method == "ml":
        ds_sx = dsigma_all(ops, pt.sx)
        hvec = np.array([-np.trace(pt.q @ (pt.sx.T @ ds_sx[r])) for r in range(2)])
        bias = 0.5 * vcov @ hvec
        grad = ops.g1_gradient(exact, probes, rng)
        bias_term = bias @ grad
        extras["theta_bias"] = bias
    n, p = x.shape
    loglik = -0.5 * (n * np.log(2.0 * np.pi) + ops.logdet + float(resid @ pt.py))
    if method == "reml":
        loglik += (-0.5 * float(np.linalg.slogdet(x.T @ pt.sx)[1])
                   + 0.5 * p * np.log(2 * np.pi))
    info = second.info_reml if method == "reml" else second.info_ml
    se_theta = np.sqrt(np.maximum(np.diag(np.linalg.pinv(info)), 0.0))
    extras["traces"] = "exact" if exact else f"monte carlo ({probes} draws)"
    terms = MseTerms(g1=g1, g2=g2, g3=g3, g4=g4, bias=bias_term)
    return SparseSfhFit(sigma2_u, rho, converged, iterations, pt.beta, pt.q, estimate,
                        np.maximum(terms.total(), 0.0), terms, float(loglik), se_theta, extras)
