"""Sparse path of the spatio-temporal Fay–Herriot model (SAR areas, AR(1) area-by-period effects).

$\\Sigma = \\Gamma + Z(\\sigma_1^2 C(\\rho_1)^{-1})Z^\\top$ over the in-sample area-periods,
with $\\Gamma = \\mathrm{blockdiag}_d(\\sigma_2^2\\Omega_2 + \\Psi_d)$ (``T × T`` blocks, rows and
columns of unsampled periods removed) and $Z = I_D \\otimes 1_T$. Integrating the
area-by-period effects out area by area leaves the ``D × D`` sparse
$H = C/\\sigma_1^2 + \\mathrm{diag}(c_d)$, $c_d = 1^\\top\\Gamma_d^{-1}1$, so
$\\Sigma^{-1} = \\Gamma^{-1} - \\Gamma^{-1}ZH^{-1}Z^\\top\\Gamma^{-1}$ and
$\\log|\\Sigma| = \\sum_d\\log|\\Gamma_d| + \\log|H| - \\log|C| + D\\log\\sigma_1^2$: the same
algebra as the spatial model (`crimestats.sae._engine.sar_precision`). The posterior variance of
$\\delta_{dt} = u_{1d} + u_{2dt}$ is exact per cell:
$g_{1,dt} = (B_d)_{tt} + a_{dt}^2 (H^{-1})_{dd}$ with
$B_d = \\sigma_2^2\\Omega_2 - \\sigma_2^2\\Omega_2\\Gamma_d^{-1}\\sigma_2^2\\Omega_2$ and
$a_d = 1 - \\sigma_2^2\\Omega_2\\Gamma_d^{-1}1$.
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
    SecondOrder,
    combine_g3,
    fit_scoring,
    leverage_term,
    second_order_terms,
)
from .sparse_cholesky import SparseCholesky


def ar1_parts(rho: float, periods: int) -> tuple[np.ndarray, np.ndarray]:
    """AR(1) covariance with unit innovation variance and its derivative in rho."""
    lag = np.abs(np.subtract.outer(np.arange(periods), np.arange(periods)))
    one_minus = 1.0 - rho * rho
    omega = rho**lag / one_minus
    with np.errstate(divide="ignore", invalid="ignore"):
        dpow = np.where(lag > 0, lag * rho ** np.maximum(lag - 1, 0), 0.0)
    return omega, dpow / one_minus + 2.0 * rho * omega / one_minus


class StfhOperators:
    """The spatio-temporal covariance at one parameter value, in precision form."""

    def __init__(self, pattern: SarPattern, theta: np.ndarray, model: str, periods: int,
                 d: np.ndarray, inside: np.ndarray) -> None:
        self.pattern, self.periods, self.d, self.inside = pattern, periods, d, inside
        self.areas = pattern.m
        self.rows = np.flatnonzero(inside)
        self.g1_size = inside.shape[0]
        self.n_params = 4 if model == "ar1" else 3
        s1, r1, s2 = max(float(theta[0]), 0.0), float(theta[1]), max(float(theta[2]), 0.0)
        self.s1, self.s2 = s1, s2
        if model == "ar1":
            self.omega2, domega2 = ar1_parts(float(theta[3]), periods)
            self.time_parts = [self.omega2, s2 * domega2]
        else:
            self.omega2 = np.eye(periods)
            self.time_parts = [self.omega2]
        observed = inside.reshape(self.areas, periods)
        both = observed[:, :, None] & observed[:, None, :]
        self.both = both
        psi = np.ones(inside.shape[0])
        psi[inside] = d
        idx = np.arange(periods)
        blocks = s2 * np.broadcast_to(self.omega2, (self.areas, periods, periods)).copy()
        blocks[:, idx, idx] += psi.reshape(self.areas, periods)
        blocks *= both
        blocks[:, idx, idx] += ~observed
        sign, logdets = np.linalg.slogdet(blocks)
        if np.any(sign <= 0):
            raise np.linalg.LinAlgError("Sigma is not positive definite")
        self.gamma_blocks = np.linalg.inv(blocks) * both
        self.u_pad = self.gamma_blocks.sum(axis=2)                 # Gamma_d^-1 1, (D, T)
        self.c = self.u_pad.sum(axis=1)                            # 1' Gamma_d^-1 1
        c_v = pattern.c_values(r1)
        self.dc_v = pattern.dc_values(r1)
        self.dc = sp.csr_array(pattern.matrix(self.dc_v))
        self.c_chol = pattern.factor(c_v)
        logdet = float(np.sum(logdets))
        self.h_chol: SparseCholesky | None = None
        if s1 > 0.0:
            h_v = c_v / s1
            h_v[pattern.diag_pos] += self.c
            self.h_chol = pattern.factor(h_v)
            logdet += self.h_chol.logdet - self.c_chol.logdet + self.areas * np.log(s1)
        self.logdet = logdet

    # helpers: (n, k) in-sample columns <-> (D, T, k) full panels
    def _full(self, b: np.ndarray) -> np.ndarray:
        out = np.zeros((self.g1_size, b.shape[1]))
        out[self.rows] = b
        return out.reshape(self.areas, self.periods, b.shape[1])

    def _flat(self, full: np.ndarray) -> np.ndarray:
        return full.reshape(self.g1_size, full.shape[2])

    def _time(self, part: np.ndarray, full: np.ndarray) -> np.ndarray:
        return np.einsum("ts,dsk->dtk", part, full)

    def psi_inv(self, b: np.ndarray) -> np.ndarray:
        return b / self.d[:, None]

    def sigma_inv(self, b: np.ndarray) -> np.ndarray:
        g = np.einsum("dts,dsk->dtk", self.gamma_blocks, self._full(b))
        if self.h_chol is not None:
            h = self.h_chol.solve(g.sum(axis=1))
            g -= self.u_pad[:, :, None] * h[:, None, :]
        return self._flat(g)[self.rows]

    def _g_full(self, b: np.ndarray) -> np.ndarray:
        full = self._full(b)
        out = self.s2 * self._time(self.omega2, full)
        if self.s1 > 0.0:
            out += self.s1 * self.c_chol.solve(full.sum(axis=1))[:, None, :]
        return self._flat(out)

    def g_sigma_inv(self, b: np.ndarray) -> np.ndarray:
        return self._g_full(self.sigma_inv(b))

    def bundle(self, b: np.ndarray, second: bool
               ) -> tuple[list[np.ndarray], dict[tuple[int, int], np.ndarray]]:
        """``G_r S' b`` for (sigma1², rho1, sigma2²[, rho2])."""
        full = self._full(b)
        y = self.c_chol.solve(full.sum(axis=1))
        z1 = self.c_chol.solve(self.dc @ y)
        shape = full.shape
        out = [self._flat(np.broadcast_to(y[:, None, :], shape).copy()),
               self._flat(np.broadcast_to(-self.s1 * z1[:, None, :], shape).copy())]
        out += [self._flat(self._time(part, full)) for part in self.time_parts]
        return out, {}

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        z = rng.standard_normal((self.areas, self.periods, size))
        u = np.sqrt(self.s2) * self._time(np.linalg.cholesky(self.omega2), z)
        if self.s1 > 0.0:
            u += np.sqrt(self.s1) * self.c_chol.sample(rng, size).T[:, None, :]
        noise = np.sqrt(self.d)[:, None] * rng.standard_normal((self.rows.size, size))
        return self._flat(u)[self.rows] + noise

    def dlogdet(self) -> np.ndarray:
        if self.h_chol is None:
            cdiag = self.c_chol.inverse_diagonal()
            out = [float(self.c @ cdiag), 0.0]
            hdiag = np.zeros(self.areas)
        else:
            hdiag = self.h_chol.inverse_diagonal()
            out = [float(self.c @ hdiag) / self.s1,
                   self.pattern.trace_with(self.h_chol, self.dc_v) / self.s1
                   - self.pattern.trace_with(self.c_chol, self.dc_v)]
        for part in self.time_parts:
            masked = part[None, :, :] * self.both
            trace = float(np.sum(self.gamma_blocks * masked))
            dc = -np.einsum("dt,dts,ds->d", self.u_pad, masked, self.u_pad)
            out.append(trace + float(hdiag @ dc))
        return np.array(out)

    def g1(self) -> np.ndarray:
        s2o = self.s2 * self.omega2
        b_blocks = s2o[None] - np.einsum("ts,dsr,rq->dtq", s2o, self.gamma_blocks, s2o)
        g1 = np.einsum("dtt->dt", b_blocks)
        if self.h_chol is not None:
            a = 1.0 - self.u_pad @ s2o.T
            g1 = g1 + a * a * self.h_chol.inverse_diagonal()[:, None]
        return g1.reshape(-1)

    def area_effect(self, b: np.ndarray) -> np.ndarray:
        """``sigma1² C^{-1} Z' b`` for an M-panel ``b`` (the predicted SAR area effects)."""
        return self.s1 * self.c_chol.solve(b.reshape(self.areas, self.periods).sum(axis=1))


@dataclasses.dataclass
class SparseStfhFit:
    theta: np.ndarray
    converged: bool
    iterations: int
    point: Point
    second: SecondOrder
    exact: bool


def fit_sparse_stfh(model: str, w: sp.sparray, periods: int, y: np.ndarray, x: np.ndarray,
                    d: np.ndarray, inside: np.ndarray, max_iter: int, tol: float, *,
                    traces: str = "auto", probes: int = DEFAULT_PROBES,
                    random_seed: Any = 0) -> SparseStfhFit:
    """REML by average-information scoring from R's start; second-order terms at the optimum."""
    pattern = SarPattern(w)

    def make_ops(theta: np.ndarray) -> StfhOperators:
        return StfhOperators(pattern, theta, model, periods, d, inside)

    half = 0.5 * float(np.median(d))
    theta0 = np.array([half, 0.5, half] + ([0.5] if model == "ar1" else []))
    rhos = [1, 3] if model == "ar1" else [1]
    groups = {0: [0, 1], 2: [2, 3] if model == "ar1" else [2]}
    pt, converged, iterations = fit_scoring(make_ops, theta0, y, x, True, rhos, groups,
                                            max_iter, tol)
    exact = traces == "exact" or (traces == "auto" and y.size <= EXACT_TRACE_LIMIT)
    second = second_order_terms(pt, want_ml=False, exact=exact, probes=probes,
                                rng=np.random.default_rng(random_seed))
    return SparseStfhFit(pt.theta, converged, iterations, pt, second, exact)


def sparse_predictions(fit: SparseStfhFit, x_all: np.ndarray, x: np.ndarray, y: np.ndarray
                       ) -> dict[str, Any]:
    """EBLUP, area effects, MSE terms and variance-component covariance of a sparse fit."""
    pt = fit.point
    ops: StfhOperators = pt.ops
    resid = y - x @ pt.beta
    synthetic = x_all @ pt.beta
    weighted = ops.sigma_inv(resid[:, None])[:, 0]
    estimate = synthetic + ops._g_full(weighted[:, None])[:, 0]
    panel = np.zeros(ops.g1_size)
    panel[ops.rows] = weighted
    u1 = ops.area_effect(panel)
    g1 = ops.g1()
    g2 = leverage_term(pt, x_all, x)
    vcov = np.linalg.pinv(fit.second.info_reml)
    g3 = combine_g3(fit.second.g3_parts, vcov)
    loglik = -0.5 * (y.size * np.log(2.0 * np.pi) + ops.logdet + float(resid @ weighted))
    terms = MseTerms(g1=g1, g2=g2, g3=g3)
    return {"estimate": estimate, "synthetic": synthetic, "u1": u1, "g1": g1, "g2": g2,
            "g3": g3, "vcov": vcov, "mse": np.maximum(terms.total(), 0.0), "mse_terms": terms,
            "loglik": loglik, "beta": pt.beta, "q": pt.q}
