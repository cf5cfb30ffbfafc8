"""The Gaussian BYM2/ICAR field given its hyperparameters: exact marginal likelihood and moments.

Given $(\\sigma, \\phi)$ the spatial Fay–Herriot model is Gaussian. The iid part is
integrated analytically, $y_i \\mid \\tilde u, \\beta \\sim N(x_i^\\top\\beta + c\\,\\tilde u_i,
D_i + a)$ with $c = \\sigma\\sqrt\\phi$, $a = \\sigma^2 (1 - \\phi)$, leaving the latent
vector $(\\tilde u, \\beta)$ with a sparse-plus-$p$ posterior precision whose sparse block
$S = R + c^2 W$ is factorised by the sparse Cholesky of `sparse_cholesky`; the sum-to-zero
constraints are imposed by conditioning by kriging (Rue & Held 2005, §2.3.3). See
`crimestats.sae.spatial.hb` for the model and `crimestats.sae.glmm.laplace`, which solves this
Gaussian model with pseudo-data at every Newton step of its Laplace approximation.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from .products import mdot, tdot
from .sparse_cholesky import SparseCholesky

if TYPE_CHECKING:
    from ..spatial.icar import IcarStructure

__all__ = ["GaussianField", "GaussianSystem", "chol_solve"]

#: Weight of the penalty kappa (N'u)^2 that makes the unconstrained posterior proper (exact
#: for any kappa > 0: it vanishes under the sum-to-zero constraints).
_KAPPA = 1.0


@dataclasses.dataclass
class GaussianSystem:
    """The Gaussian model at one (sigma, phi), before the sum-to-zero constraints.

    ``c = sigma sqrt(phi)`` multiplies the scaled field, ``a = sigma^2 (1 - phi)`` is the iid
    variance, ``w`` the weights 1 / (D + a) (0 without a sample). ``beta``, ``mu_u`` are the
    unconstrained posterior means, ``G = c S_k^-1 W X``, ``F_u`` and ``F_beta`` the
    covariances of u and beta with N'u, ``C`` = Var(N'u) (through its Cholesky factor).
    ``y`` and ``D`` are the data and sampling variances used (over the linked areas).
    """

    c: float
    a: float
    y: np.ndarray
    D: np.ndarray
    w: np.ndarray
    chol: SparseCholesky
    logdet: float
    SN_raw: np.ndarray | None
    M_chol: np.ndarray | None
    b_u: np.ndarray
    b_beta: np.ndarray
    beta: np.ndarray
    mu_u: np.ndarray
    G: np.ndarray
    G0: np.ndarray
    z_b: np.ndarray
    H_chol: np.ndarray
    Hinv: np.ndarray
    F_beta: np.ndarray
    F_u: np.ndarray
    C_chol: np.ndarray | None


class GaussianField:
    """The model given (sigma, phi): marginal likelihood and exact conditional moments.

    Latent vector (u, beta) over the areas linked to the data (components with a sampled
    area, and islands). Its unconstrained posterior precision is
    ``P = [[S + kappa N N', c W X], [c X' W, X' W X]]`` with ``S = R + c^2 W`` sparse; the
    term ``kappa N N'`` vanishes on the constraint subspace ``N'u = 0``, so it changes
    nothing after conditioning, but it makes ``P`` positive definite when the constant of a
    component is confounded with the intercept. It is applied to ``S^-1`` by the
    Woodbury identity (rank k), so only ``S`` is factorised.
    """

    def __init__(self, y: np.ndarray, D: np.ndarray, X: np.ndarray, icar: IcarStructure
                 ) -> None:
        self.p = X.shape[1]
        self.in_sample = ~np.isnan(y)
        # Components without a sampled area never touch the data: their field keeps its prior.
        sampled_components = np.unique(icar.component[self.in_sample])
        free = ~np.isin(icar.component, sampled_components) & ~icar.island
        self.linked = np.flatnonzero(~free)
        self.free = np.flatnonzero(free)
        L = self.linked
        self.icar = icar
        self.R = sp.csr_array(icar.precision[L][:, L])
        # every (sigma, phi) factorises R + diagonal: one ordering and symbolic analysis serve all
        self.template = SparseCholesky(self.R + sp.eye_array(L.size))
        self.N = icar.constraint_basis(L)[0]
        self.prior_variance_free = icar.prior_variance[self.free]
        self.sampled = self.in_sample[L]
        self.y = np.where(self.in_sample, y, 0.0)[L]
        self.D = np.where(self.in_sample, D, 1.0)[L]
        self.X, self.XL = X, X[L]

    def fork(self) -> GaussianField:
        """This object: it holds no state that changes between evaluations."""
        return self

    def system(self, sigma: float, phi: float, y: np.ndarray | None = None,
               D: np.ndarray | None = None) -> GaussianSystem:
        """Factorisation and the unconstrained posterior pieces at (sigma, phi).

        ``y`` and ``D`` (over the linked areas, finite where sampled) replace the data given
        at construction: the Laplace approximation of the binomial and Poisson models solves
        this Gaussian model with pseudo-data at every Newton step.
        """
        y = self.y if y is None else y
        D = self.D if D is None else D
        c = sigma * math.sqrt(phi)
        a = sigma**2 * (1.0 - phi)
        w = np.where(self.sampled, 1.0 / (D + a), 0.0)
        X, N, p, k = self.XL, self.N, self.p, self.N.shape[1]
        chol = self.template.refactor(self.R + sp.diags_array(c * c * w))
        wX = w[:, None] * X
        b_u = c * w * y
        raw = chol.solve(np.column_stack([b_u, wX, N]))
        logdet = chol.logdet
        M_chol = SN_raw = None
        if k:
            # (S + kappa N N')^-1 B = S^-1 B - S^-1 N M^-1 N' S^-1 B, M = I / kappa + N' S^-1 N
            SN_raw = raw[:, 1 + p:]
            M = np.eye(k) / _KAPPA + tdot(N, SN_raw)
            M_chol = np.linalg.cholesky(0.5 * (M + M.T))
            raw = raw - mdot(SN_raw, chol_solve(M_chol, tdot(N, raw)))
            logdet += k * math.log(_KAPPA) + 2.0 * np.log(np.diagonal(M_chol)).sum()
        z_b, G0, Nz = raw[:, 0], raw[:, 1:1 + p], raw[:, 1 + p:]
        H = tdot(X, wX) - c * c * tdot(wX, G0)
        H_chol = np.linalg.cholesky(0.5 * (H + H.T))
        b_beta = tdot(wX, y)
        beta = chol_solve(H_chol, b_beta - c * tdot(wX, z_b))
        mu_u = z_b - c * mdot(G0, beta)
        G = c * G0
        Hinv = chol_solve(H_chol, np.eye(p))
        GtN = tdot(G, N)
        F_beta = -Hinv @ GtN                      # Cov(beta, N'u), (p, k)
        F_u = Nz + mdot(G, Hinv @ GtN)            # Cov(u, N'u), (m_L, k)
        C = tdot(N, F_u)
        C_chol = np.linalg.cholesky(0.5 * (C + C.T)) if k else None
        return GaussianSystem(c=c, a=a, y=y, D=D, w=w, chol=chol, logdet=logdet, SN_raw=SN_raw,
                       M_chol=M_chol, b_u=b_u, b_beta=b_beta, beta=beta, mu_u=mu_u, G=G,
                       G0=G0, z_b=z_b, H_chol=H_chol, Hinv=Hinv, F_beta=F_beta, F_u=F_u,
                       C_chol=C_chol)

    def refit(self, sys: GaussianSystem, y: np.ndarray) -> GaussianSystem:
        """The system at the same (sigma, phi) and variances with other data ``y`` (linked
        areas), reusing the factorisation: only the right-hand sides change."""
        c, w = sys.c, sys.w
        X, N = self.XL, self.N
        wX = w[:, None] * X
        b_u = c * w * y
        z_b = sys.chol.solve(b_u)
        if sys.M_chol is not None:
            z_b = z_b - mdot(sys.SN_raw, chol_solve(sys.M_chol, tdot(N, z_b)))
        b_beta = tdot(wX, y)
        beta = chol_solve(sys.H_chol, b_beta - c * tdot(wX, z_b))
        mu_u = z_b - c * mdot(sys.G0, beta)
        return dataclasses.replace(sys, y=y, b_u=b_u, b_beta=b_beta, beta=beta, mu_u=mu_u,
                                   z_b=z_b)

    def log_likelihood(self, sys: GaussianSystem) -> float:
        """log p(y | sigma, phi) up to a constant, with beta and the constrained field
        integrated out."""
        w, y = sys.w, sys.y
        value = (0.5 * np.log(w[self.sampled]).sum() - 0.5 * (w * y**2).sum()
                 + 0.5 * (tdot(sys.mu_u, sys.b_u) + sys.beta @ sys.b_beta)
                 - 0.5 * sys.logdet - np.log(np.diagonal(sys.H_chol)).sum())
        if sys.C_chol is not None:
            white = np.linalg.solve(sys.C_chol, tdot(self.N, sys.mu_u))
            value += -0.5 * white @ white - np.log(np.diagonal(sys.C_chol)).sum()
        return float(value)

    def posterior_mean(self, sys: GaussianSystem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior means given (sigma, phi) after conditioning on N'u = 0, without variances.

        Returns ``(beta, u, theta)`` over the linked areas (theta includes the iid part).
        """
        mu_u, beta = sys.mu_u, sys.beta
        if sys.C_chol is not None:
            shift = chol_solve(sys.C_chol, tdot(self.N, mu_u))
            mu_u = mu_u - mdot(sys.F_u, shift)
            beta = beta - sys.F_beta @ shift
        gamma = sys.a * sys.w
        theta = (1.0 - gamma) * (mdot(self.XL, beta) + sys.c * mu_u) + gamma * sys.y
        return beta, mu_u, theta

    def moments(self, sys: GaussianSystem) -> tuple[np.ndarray, ...]:
        """Exact posterior moments given (sigma, phi), after conditioning on N'u = 0.

        Returns the mean and covariance of beta and the means and variances of every
        theta_i (all m areas).
        """
        c, a, w = sys.c, sys.a, sys.w
        G, Hinv, F_u, F_beta = sys.G, sys.Hinv, sys.F_u, sys.F_beta
        beta, _, theta = self.posterior_mean(sys)
        var_s = sys.chol.inverse_diagonal()
        if sys.M_chol is not None:
            SN = sys.SN_raw
            var_s = var_s - np.einsum("ik,ik->i", SN, chol_solve(sys.M_chol, SN.T).T)
        beta_cov = Hinv
        cov_u_beta = -mdot(G, Hinv)
        var_u = var_s + np.einsum("ip,pq,iq->i", G, Hinv, G)
        if sys.C_chol is not None:
            Cinv = chol_solve(sys.C_chol, np.eye(self.N.shape[1]))
            beta_cov = beta_cov - F_beta @ Cinv @ F_beta.T
            cov_u_beta = cov_u_beta - mdot(F_u, Cinv @ F_beta.T)
            var_u = var_u - np.einsum("ik,kl,il->i", F_u, Cinv, F_u)
        beta_cov = 0.5 * (beta_cov + beta_cov.T)
        X = self.XL
        eta_var = (np.einsum("ip,pq,iq->i", X, beta_cov, X)
                   + 2.0 * c * np.einsum("ip,ip->i", X, cov_u_beta) + c * c * var_u)
        eta_var = np.maximum(eta_var, 0.0)
        gamma = a * w                                     # weight of y_i in theta_i | eta_i
        m = self.X.shape[0]
        mean, var = np.empty(m), np.empty(m)
        mean[self.linked] = theta
        var[self.linked] = (1.0 - gamma) ** 2 * eta_var + np.where(
            self.sampled, gamma * sys.D, a)
        if self.free.size:
            X_free = self.X[self.free]
            mean[self.free] = X_free @ beta
            var[self.free] = (np.einsum("ip,pq,iq->i", X_free, beta_cov, X_free)
                              + c * c * self.prior_variance_free + a)
        return beta, beta_cov, mean, var

    def sample(self, sys: GaussianSystem, size: int, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
        """Exact joint draws of (beta, theta) given (sigma, phi): shapes (size, p), (size, m).

        An unconstrained draw of (beta, u) from precision P, then the kriging correction
        ``x - Cov(x, N'u) C^-1 N'u`` that maps it to a draw given N'u = 0.
        """
        c, a, w, N = sys.c, sys.a, sys.w, self.N
        p = self.p
        beta = sys.beta + np.linalg.solve(sys.H_chol.T, rng.standard_normal((p, size))).T
        # u | beta has precision S_k = S + kappa N N' and mean S_k^-1 (b_u - c W X beta).
        noise = sys.chol.sample(rng, size)
        if sys.M_chol is not None:
            # x ~ N(0, S^-1) and e ~ N(0, I_k) give x - S^-1 N M^-1 (N'x - e / sqrt(kappa))
            # ~ N(0, S_k^-1), with M = I / kappa + N' S^-1 N (perturbation form of Woodbury).
            e = rng.standard_normal((N.shape[1], size))
            noise = noise - (sys.SN_raw @ chol_solve(
                sys.M_chol, N.T @ noise.T - e / math.sqrt(_KAPPA))).T
        u = sys.z_b[None, :] - c * beta @ sys.G0.T + noise
        if sys.C_chol is not None:
            shift = chol_solve(sys.C_chol, N.T @ u.T).T        # (size, k)
            u = u - shift @ sys.F_u.T
            beta = beta - shift @ sys.F_beta.T
        m = self.X.shape[0]
        theta = np.empty((size, m))
        gamma = a * w
        sd = np.sqrt(np.where(self.sampled, gamma * sys.D, a))
        eta = beta @ self.XL.T + c * u
        theta[:, self.linked] = ((1.0 - gamma) * eta + gamma * sys.y
                                 + sd * rng.standard_normal(eta.shape))
        if self.free.size:
            theta[:, self.free] = (beta @ self.X[self.free].T
                                   + c * self.icar.sample_prior(self.free, size, rng)
                                   + math.sqrt(a) * rng.standard_normal((size, self.free.size)))
        return beta, theta


def chol_solve(chol: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve (L L') x = rhs for a lower-triangular Cholesky factor L."""
    return np.linalg.solve(chol.T, np.linalg.solve(chol, rhs))
