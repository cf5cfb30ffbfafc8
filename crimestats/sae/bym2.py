"""Spatial hierarchical Bayes Fay–Herriot model with ICAR or BYM2 area effects, computed exactly.

Model, for areas $i = 1, \\dots, m$ with direct estimate $y_i$ and known sampling
variance $D_i$:

$$
y_i \\mid \\theta_i \\sim N(\\theta_i, D_i), \\qquad \\theta_i = x_i^\\top \\beta + b_i,
\\qquad p(\\beta) \\propto 1,
\\text{BYM2:}\\quad b = \\sigma\\,(\\sqrt{1 - \\phi}\\, v + \\sqrt{\\phi}\\, \\tilde u), \\qquad
\\text{ICAR:}\\quad b = \\sigma \\tilde u,
$$

with $v \\sim N(0, I)$ and $\\tilde u$ the scaled intrinsic CAR field (Besag) on the
adjacency: precision $s_c Q_c$ on each connected component $c$ (graph Laplacian
$Q_c$, scaling factor $s_c$ making the geometric mean of the marginal variances 1,
sum-to-zero constraint), and an independent $N(0, 1)$ for an island (Riebler et al.
2016; Freni-Sterrantino, Ventrucci & Rue 2018). $\\sigma$ is the standard deviation of
the area effects and $\\phi \\in (0, 1)$ the share of their variance that is spatial.

Computation, without MCMC. Given $\\psi = (\\log\\sigma, \\operatorname{logit}\\phi)$ the
model is Gaussian. The iid part is integrated analytically,
$y_i \\mid \\tilde u, \\beta \\sim N(x_i^\\top\\beta + c\\,\\tilde u_i, D_i + a)$ with
$c = \\sigma\\sqrt\\phi$, $a = \\sigma^2 (1 - \\phi)$, leaving the latent vector
$(\\tilde u, \\beta)$ with a sparse-plus-$p$ posterior precision. Its sparse block
$S = R + c^2 W$ ($R$ the scaled ICAR precision, $W = \\operatorname{diag}
\\{1 / (D_i + a)\\}$ over sampled areas) is factorised by [`
SparseCholesky`][crimestats.sae._sparse.
SparseCholesky]; $\\beta$ is eliminated through its $p \\times p$ Schur complement,
and the sum-to-zero constraints are imposed by conditioning by kriging (Rue & Held 2005,
§2.3.3) — a penalty $\\kappa (N^\\top \\tilde u)^2$, zero under the constraints and added
through the Woodbury identity, keeps the unconstrained posterior proper when a component's
level is confounded with the intercept — which also gives the exact marginal likelihood
$p(y \\mid \\psi) \\propto |W|^{1/2} |P|^{-1/2} \\exp\\{\\tfrac12 (\\mu^\\top b - y^\\top W y)\\}
\\, N_k(0; A\\mu, A P^{-1} A^\\top)$ ($P, b, \\mu$ the unconstrained posterior
precision, canonical mean and mean, $A$ the orthonormal constraint rows). The exact
conditional variances come from the diagonal of $S^{-1}$ (Takahashi recursions) plus
rank-$(p + k)$ corrections. Components of the graph with no sampled area do not touch the
data: their field keeps its prior.

$\\psi$ is integrated numerically in the manner of INLA (Rue, Martino & Chopin 2009):
the posterior mode, the Hessian there, and a regular grid in the standardised coordinates
$z$ ($\\psi = \\psi^* + V\\Lambda^{-1/2} z$) explored outwards until the log
density has dropped by a fixed amount (`crimestats.sae._hyper_grid`). Each area's posterior is then an exact mixture
of Gaussians over the nodes (mean, SD, equal-tailed interval from the mixture CDF).

References
----------
Besag, J., York, J. and Mollié, A. (1991). Bayesian image restoration, with two applications
in spatial statistics. *Ann. Inst. Statist. Math.* 43, 1–20.

Riebler, A., Sørbye, S. H., Simpson, D. and Rue, H. (2016). An intuitive Bayesian spatial
model for disease mapping that accounts for scaling. *Stat. Methods Med. Res.* 25, 1145–1165.

Freni-Sterrantino, A., Ventrucci, M. and Rue, H. (2018). A note on intrinsic conditional
autoregressive models for disconnected graphs. *Spat. Spatio-temporal Epidemiol.* 26, 25–34.

Rue, H. and Held, L. (2005). *Gaussian Markov Random Fields*. Chapman & Hall, §2.3.3.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xarray as xr
from scipy import special

from .. import _validate as v
from ..errors import InputError
from ._eblup_dataset import hb_dataset
from ._hb import _check_draws, _check_prior, _mixture_quantiles
from ._hyper_grid import LOG_DROP, STEP, HyperPosterior, hyper_summary, integrate, start_values
from ._icar import IcarStructure, icar_structure
from ._products import mdot, tdot
from ._results import FayHerriotResult
from ._sparse import SparseCholesky
from .adjacency import as_adjacency
from .fay_herriot import _prepare_inputs, check_fit_finite
from .priors import VariancePrior

__all__ = ["bym2", "BYM2Result", "simulate_bym2_effects"]

_MODELS = ("bym2", "icar")
#: Weight of the penalty kappa (N'u)^2 that makes the unconstrained posterior proper (exact
#: for any kappa > 0: it vanishes under the sum-to-zero constraints).
_KAPPA = 1.0


@dataclasses.dataclass(frozen=True)
class _SpatialEffects:
    """Posterior summaries of the BYM2/ICAR hyperparameters, shared by the spatial results.

    The attributes are documented on [`BYM2Result`][BYM2Result].
    """

    sigma: float = float("nan")
    sigma_sd: float = float("nan")
    sigma_interval: tuple[float, float] = (float("nan"), float("nan"))
    phi: float = float("nan")
    phi_sd: float = float("nan")
    phi_interval: tuple[float, float] = (float("nan"), float("nan"))
    scaling_factors: dict[int, float] = dataclasses.field(default_factory=dict)
    n_nodes: int = 0
    islands: tuple = ()

    def _hyper_lines(self, spatial: str, scale: str = "") -> list[str]:
        """Report lines for sigma (and phi for BYM2); ``scale`` is appended to sigma's."""
        level = getattr(self, "level", 0.95)
        lo, hi = self.sigma_interval
        lines = [f"sigma = {self.sigma:.4g} (sd {self.sigma_sd:.3g}, {level:.0%} interval "
                 f"{lo:.4g}–{hi:.4g}){scale}"]
        if spatial == "bym2":
            plo, phi_hi = self.phi_interval
            lines.append(f"phi   = {self.phi:.3f} (sd {self.phi_sd:.3f}, {level:.0%} "
                         f"interval {plo:.3f}–{phi_hi:.3f})   spatial share of the variance")
        return lines


@dataclasses.dataclass(frozen=True)
class BYM2Result(_SpatialEffects, FayHerriotResult):
    """A fitted spatial hierarchical Bayes Fay–Herriot model (ICAR or BYM2 area effects).

    All attributes of [`FayHerriotResult`][crimestats.sae.FayHerriotResult] (``estimates``, ``beta``,
    ``beta_se``, ...), with ``method="hb"``, ``sigma2_u`` the posterior mean of
    $\\sigma^2$ (the marginal variance scale of the area effects), plus:

    Attributes
    ----------
    model : str
        ``"bym2"`` or ``"icar"``.
    sigma : float
        Posterior mean of $\\sigma$, the standard deviation of the area effects.
    sigma_sd : float
        Its posterior standard deviation.
    sigma_interval : tuple of float
        Equal-tailed credible interval for $\\sigma$ at ``level``, read from the grid
        of nodes with the density spread within each node's cell (ends within about 2% of
        ``sigma_sd`` of a brute-force integration).
    phi : float
        Posterior mean of $\\phi$, the spatial share of the area-effect variance
        (1 for ``model="icar"``).
    phi_sd : float
        Its posterior standard deviation (0 for ICAR).
    phi_interval : tuple of float
        Credible interval for $\\phi$, as for ``sigma_interval``.
    scaling_factors : dict
        Scaling factor $s_c$ of each connected component with two or more areas, keyed
        by component number (``estimates["component"]``).
    n_nodes : int
        Number of quadrature nodes over the hyperparameters.
    islands : tuple
        Labels of the areas with no neighbour.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import bym2
    >>> pairs = [(i, i + 1) for i in range(9)]          # ten areas along a line
    >>> direct = np.array([1.0, 1.2, 1.5, 1.4, 2.0, 2.2, 2.1, 2.6, 2.5, 3.0])
    >>> fit = bym2(direct, np.full(10, 0.1), adjacency=pairs)
    >>> type(fit).__name__, fit.model
    ('BYM2Result', 'bym2')
    >>> print(fit.summary().splitlines()[0])
    Spatial HB Fay–Herriot model (BYM2), areas=10 (out of sample: 0), islands=0, components=1
    """

    model: str = "bym2"

    def summary(self) -> str:
        """A short plain-text report: model, hyperparameters, coefficients."""
        est = self.estimates
        n_out = int((~est["in_sample"]).sum())
        n_comp = int(np.unique(est["component"].values).size)
        lines = [
            f"Spatial HB Fay–Herriot model ({self.model.upper()}), areas={est.sizes['area']} "
            f"(out of sample: {n_out}), islands={len(self.islands)}, components={n_comp}",
            *self._hyper_lines(self.model),
        ]
        factors = ", ".join(f"{c}: {s:.4g}" for c, s in self.scaling_factors.items())
        lines += [f"scaling factors by component: {factors or 'none (no component)'}",
                  f"quadrature nodes: {self.n_nodes}", "",
                  self.coefficients().to_string(float_format=lambda x: f"{x:.4g}")]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The Gaussian model given the hyperparameters
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _System:
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


class _Conditional:
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

    def fork(self) -> _Conditional:
        """This object: it holds no state that changes between evaluations."""
        return self

    def system(self, sigma: float, phi: float, y: np.ndarray | None = None,
               D: np.ndarray | None = None) -> _System:
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
            raw = raw - mdot(SN_raw, _chol_solve(M_chol, tdot(N, raw)))
            logdet += k * math.log(_KAPPA) + 2.0 * np.log(np.diagonal(M_chol)).sum()
        z_b, G0, Nz = raw[:, 0], raw[:, 1:1 + p], raw[:, 1 + p:]
        H = tdot(X, wX) - c * c * tdot(wX, G0)
        H_chol = np.linalg.cholesky(0.5 * (H + H.T))
        b_beta = tdot(wX, y)
        beta = _chol_solve(H_chol, b_beta - c * tdot(wX, z_b))
        mu_u = z_b - c * mdot(G0, beta)
        G = c * G0
        Hinv = _chol_solve(H_chol, np.eye(p))
        GtN = tdot(G, N)
        F_beta = -Hinv @ GtN                      # Cov(beta, N'u), (p, k)
        F_u = Nz + mdot(G, Hinv @ GtN)            # Cov(u, N'u), (m_L, k)
        C = tdot(N, F_u)
        C_chol = np.linalg.cholesky(0.5 * (C + C.T)) if k else None
        return _System(c=c, a=a, y=y, D=D, w=w, chol=chol, logdet=logdet, SN_raw=SN_raw,
                       M_chol=M_chol, b_u=b_u, b_beta=b_beta, beta=beta, mu_u=mu_u, G=G,
                       G0=G0, z_b=z_b, H_chol=H_chol, Hinv=Hinv, F_beta=F_beta, F_u=F_u,
                       C_chol=C_chol)

    def refit(self, sys: _System, y: np.ndarray) -> _System:
        """The system at the same (sigma, phi) and variances with other data ``y`` (linked
        areas), reusing the factorisation: only the right-hand sides change."""
        c, w = sys.c, sys.w
        X, N = self.XL, self.N
        wX = w[:, None] * X
        b_u = c * w * y
        z_b = sys.chol.solve(b_u)
        if sys.M_chol is not None:
            z_b = z_b - mdot(sys.SN_raw, _chol_solve(sys.M_chol, tdot(N, z_b)))
        b_beta = tdot(wX, y)
        beta = _chol_solve(sys.H_chol, b_beta - c * tdot(wX, z_b))
        mu_u = z_b - c * mdot(sys.G0, beta)
        return dataclasses.replace(sys, y=y, b_u=b_u, b_beta=b_beta, beta=beta, mu_u=mu_u,
                                   z_b=z_b)

    def log_likelihood(self, sys: _System) -> float:
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

    def posterior_mean(self, sys: _System) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior means given (sigma, phi) after conditioning on N'u = 0, without variances.

        Returns ``(beta, u, theta)`` over the linked areas (theta includes the iid part).
        """
        mu_u, beta = sys.mu_u, sys.beta
        if sys.C_chol is not None:
            shift = _chol_solve(sys.C_chol, tdot(self.N, mu_u))
            mu_u = mu_u - mdot(sys.F_u, shift)
            beta = beta - sys.F_beta @ shift
        gamma = sys.a * sys.w
        theta = (1.0 - gamma) * (mdot(self.XL, beta) + sys.c * mu_u) + gamma * sys.y
        return beta, mu_u, theta

    def moments(self, sys: _System) -> tuple[np.ndarray, ...]:
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
            var_s = var_s - np.einsum("ik,ik->i", SN, _chol_solve(sys.M_chol, SN.T).T)
        beta_cov = Hinv
        cov_u_beta = -mdot(G, Hinv)
        var_u = var_s + np.einsum("ip,pq,iq->i", G, Hinv, G)
        if sys.C_chol is not None:
            Cinv = _chol_solve(sys.C_chol, np.eye(self.N.shape[1]))
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

    def sample(self, sys: _System, size: int, rng: np.random.Generator
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
            noise = noise - (sys.SN_raw @ _chol_solve(
                sys.M_chol, N.T @ noise.T - e / math.sqrt(_KAPPA))).T
        u = sys.z_b[None, :] - c * beta @ sys.G0.T + noise
        if sys.C_chol is not None:
            shift = _chol_solve(sys.C_chol, N.T @ u.T).T        # (size, k)
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


def _chol_solve(chol: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve (L L') x = rhs for a lower-triangular Cholesky factor L."""
    return np.linalg.solve(chol.T, np.linalg.solve(chol, rhs))


def _check_phi_prior(phi_prior: Any, model: str) -> tuple[float, float]:
    try:
        a, b = (float(t) for t in phi_prior)
    except (TypeError, ValueError):
        raise InputError("`phi_prior` must be the two parameters (a, b) of a Beta prior on phi, "
                         f"e.g. (1, 1) for uniform; received {phi_prior!r}.") from None
    if not (math.isfinite(a) and math.isfinite(b) and a > 0 and b > 0):
        raise InputError(f"`phi_prior` parameters must be positive and finite; received "
                         f"{phi_prior!r}.")
    if model == "icar" and (a, b) != (1.0, 1.0):
        raise InputError("`phi_prior` applies only to model='bym2' (the ICAR model has no phi).")
    return a, b


def bym2(
    direct: Any,
    variance: Any,
    covariates: Any = None,
    *,
    adjacency: Any,
    model: str = "bym2",
    intercept: bool = True,
    areas: Any = None,
    covariate_names: Sequence[str] | None = None,
    data: pd.DataFrame | None = None,
    level: float = 0.95,
    prior: VariancePrior | None = None,
    phi_prior: tuple[float, float] = (1.0, 1.0),
    random_seed: Any = None,
    draws: int = 0,
) -> BYM2Result:
    """Fit the Fay–Herriot model with spatial (BYM2 or ICAR) area effects, exactly.

    Model, for areas $i = 1, \\dots, m$, direct estimates $y_i$ with known sampling
    variances $D_i$:

    $$
    y_i \\sim N(\\theta_i, D_i), \\qquad \\theta_i = x_i^\\top\\beta + b_i, \\qquad
    p(\\beta) \\propto 1,
    \\text{BYM2:}\\; b = \\sigma(\\sqrt{1-\\phi}\\, v + \\sqrt{\\phi}\\, \\tilde u),
    \\qquad \\text{ICAR:}\\; b = \\sigma \\tilde u,
    $$

    where $v \\sim N(0, I)$ and $\\tilde u$ is the intrinsic CAR (Besag) field on
    the adjacency, scaled on each connected component so that the geometric mean of its
    marginal variances is 1, with a sum-to-zero constraint per component (Riebler et al.
    2016). $\\sigma$ is the standard deviation of the area effects (in the units of
    the direct estimates) and $\\phi$ the spatial share of their variance.

    **Islands and components** (Freni-Sterrantino, Ventrucci & Rue 2018): each connected
    component of two or more areas is scaled separately and has its own sum-to-zero
    constraint; an island (no neighbour) has no spatial part, and its effect is
    $b_i \\sim N(0, \\sigma^2)$, in both models. Because of the constraints, the ICAR
    part does not model differences between the mean levels of components: add component
    indicators as covariates if those matter (the BYM2 iid part absorbs some).

    **Computation** (no MCMC): given $(\\sigma, \\phi)$ the model is Gaussian and is
    solved exactly with a sparse Cholesky factorisation (marginal likelihood, conditional
    means and variances, constraints by conditioning by kriging); $(\\log\\sigma,
    \\operatorname{logit}\\phi)$ is integrated on a grid around its posterior mode in
    standardised coordinates (as INLA does), and each area's posterior is the resulting
    Gaussian mixture. See `crimestats.sae.bym2`.

    Parameters
    ----------
    direct, variance : array-like of shape (m,) or str
        Direct estimates and their sampling variances (squared standard errors), as for
        `fay_herriot`. NaN in both marks an area with no sample, which
        is predicted from the covariates and its neighbours.
    covariates : array-like of shape (m, p), DataFrame, str or list of str, optional
        Area-level covariates without an intercept (as for ``fay_herriot``).
    adjacency : Adjacency, pair table, (m, m) matrix, GeoDataFrame or libpysal W
        Who borders whom, in any form [`as_adjacency`][crimestats.sae.as_adjacency] reads. An
        [`Adjacency`][crimestats.sae.Adjacency], a matrix labelled by area (DataFrame, libpysal
        ``W``) or a GeoDataFrame indexed by area (polygons: queen contiguity; points: Delaunay)
        must list exactly the data's areas (in any order); a table of neighbour pairs is
        matched to the area labels (areas in no pair are islands; a third column holds
        weights); an unlabelled dense or sparse symmetric matrix (0/1, or non-negative
        weights) is in the order of the data.
    model : {"bym2", "icar"}
        BYM2 (spatial plus iid effects, mixed by $\\phi$) or the pure ICAR (Besag)
        model ($\\phi = 1$).
    intercept : bool
        Add an intercept column (first coefficient).
    areas, covariate_names, data
        As for `fay_herriot`.
    level : float
        Level of the equal-tailed credible intervals.
    prior : VariancePrior, optional
        Prior on $\\sigma$ from `crimestats.sae.priors`; default
        [`FlatVariance`][crimestats.sae.FlatVariance] (flat on $\\sigma^2$, as the HB
        Fay–Herriot model).
    phi_prior : (a, b)
        Beta prior on $\\phi$ (BYM2 only); default (1, 1), uniform.
    random_seed : int or numpy.random.Generator, optional
        Seed of the posterior draws (the estimates are exact and do not depend on it).
    draws : int
        Number of independent posterior draws of $\\sigma, \\phi, \\beta, \\theta$ kept
        in ``idata`` (an ArviZ ``DataTree``); 0 (default) keeps none.

    Returns
    -------
    BYM2Result
        ``estimates`` over ``area``: ``estimate`` (posterior mean), ``sd`` (= ``rmse``),
        ``lower``, ``upper``, ``cv``, ``direct``, ``direct_variance``, ``synthetic``
        ($x_i^\\top E(\\beta\\mid y)$), ``area_effect`` ($E(b_i \\mid y)$),
        ``in_sample``, ``component`` and ``island``; posterior summaries of $\\sigma$,
        $\\phi$ and $\\beta$; the scaling factors and the number of nodes.

    Raises
    ------
    crimestats.InputError
        As ``fay_herriot``, plus: an adjacency naming areas that are not in the data, or
        (Adjacency or labelled matrix) missing some of the data's areas; a matrix of the
        wrong size or asymmetric; an unknown ``model``; a bad ``phi_prior``.

    References
    ----------
    Riebler, A., Sørbye, S. H., Simpson, D. and Rue, H. (2016). *Stat. Methods Med. Res.*
    25, 1145–1165.
    Freni-Sterrantino, A., Ventrucci, M. and Rue, H. (2018). *Spat. Spatio-temporal
    Epidemiol.* 26, 25–34.
    Rue, H., Martino, S. and Chopin, N. (2009). Approximate Bayesian inference for latent
    Gaussian models. *JRSS B* 71, 319–392.

    Examples
    --------
    A 5 × 5 grid of areas whose true values rise from west to east:

    >>> import numpy as np
    >>> from crimestats.sae import bym2
    >>> pairs = [(r * 5 + c, r * 5 + c + 1) for r in range(5) for c in range(4)]
    >>> pairs += [(r * 5 + c, (r + 1) * 5 + c) for r in range(4) for c in range(5)]
    >>> rng = np.random.default_rng(1)
    >>> truth = np.tile(np.linspace(0.0, 2.0, 5), 5)
    >>> direct = truth + rng.normal(scale=0.5, size=25)
    >>> fit = bym2(direct, np.full(25, 0.25), adjacency=pairs)
    >>> print(round(fit.sigma, 2), round(fit.phi, 2))
    0.51 0.77
    >>> fit.estimates[["estimate", "sd"]].to_dataframe().round(2).head(3)
          estimate    sd
    area
    0         0.39  0.38
    1         0.80  0.35
    2         1.09  0.35
    """
    model = v.check_choice(model, "model", _MODELS)
    level = v.check_level(level)
    prior = _check_prior(prior)
    phi_prior = _check_phi_prior(phi_prior, model)
    draws = _check_draws(draws)
    y, d, X, names, labels = _prepare_inputs(
        direct, variance, covariates, intercept=intercept, areas=areas,
        covariate_names=covariate_names, data=data,
    )
    adj = as_adjacency(adjacency, labels)
    n_in, p = int((~np.isnan(y)).sum()), X.shape[1]
    if n_in - p < prior.min_residual_df:
        raise InputError(
            f"The model with prior {prior.describe()!r} needs at least "
            f"{p + prior.min_residual_df} areas with a direct estimate for {p} coefficients; "
            f"received {n_in}. Use fewer covariates or a proper prior such as "
            "HalfCauchy(scale=...)."
        )
    icar = icar_structure(adj)
    with v.numerical_failures(f"{model.upper()} Fay–Herriot"):
        fit = _fit(y, d, X, icar, labels=labels, names=names, model=model, level=level,
                   prior=prior, phi_prior=phi_prior, random_seed=random_seed, draws=draws)
    check_fit_finite(fit, f"{model.upper()} Fay–Herriot")
    return fit


def simulate_bym2_effects(adjacency: Any, *, sigma: float = 1.0, phi: float = 0.5,
                          size: int | None = None, random_seed: Any = None,
                          areas: Sequence[Hashable] | None = None) -> np.ndarray:
    """Draw area effects from the BYM2 prior on an adjacency, for simulation studies.

    $b = \\sigma(\\sqrt{1-\\phi}\\, v + \\sqrt{\\phi}\\, \\tilde u)$ with
    $v \\sim N(0, I)$ and $\\tilde u$ the scaled ICAR field (each connected
    component scaled so that the geometric mean of its marginal variances is 1 and summing to
    zero; islands independent $N(0, 1)$): the prior of `bym2` and of the
    ``adjacency=`` prevalence models, so data simulated from it have a known truth.

    Parameters
    ----------
    adjacency : Adjacency, table of neighbour pairs, matrix, GeoDataFrame or libpysal W
        Neighbour structure, in any form `bym2` accepts (see
        [`as_adjacency`][crimestats.sae.as_adjacency]).
    sigma : float
        Standard deviation scale of the effects (positive).
    phi : float
        Spatial share of their variance, in [0, 1] (1: ICAR, 0: independent effects).
    size : int, optional
        Number of draws; ``None`` gives one draw of shape ``(m,)``.
    random_seed : int or numpy.random.Generator, optional
        Seed of the draws.
    areas : sequence, optional
        The areas to draw for, in this order (as ``areas=`` of `bym2`); default the
        adjacency's own areas (for a pair table: the labels met in it, sorted).

    Returns
    -------
    numpy.ndarray
        Shape ``(m,)``, or ``(size, m)``, in the order of ``areas`` (or of the adjacency).

    Raises
    ------
    crimestats.InputError
        ``sigma`` not positive, ``phi`` outside [0, 1], ``size`` not a positive integer, or
        an adjacency that `bym2` would refuse.

    Examples
    --------
    >>> from crimestats.sae import simulate_bym2_effects
    >>> ring = [(i, (i + 1) % 6) for i in range(6)]         # neighbour pairs, as for bym2
    >>> b = simulate_bym2_effects(ring, sigma=0.5, phi=1.0, random_seed=1)
    >>> b.shape, bool(abs(b.sum()) < 1e-12)
    ((6,), True)
    """
    sigma = v.as_number(sigma, "sigma", positive=True)
    phi = v.as_number(phi, "phi")
    if not 0.0 <= phi <= 1.0:
        raise InputError(f"`phi` must be in [0, 1]; received {phi!r}.")
    if size is not None:
        size = v.as_positive_int(size, "size")
    adj = as_adjacency(adjacency, areas)
    rng = v.as_rng(random_seed)
    m = adj.n_areas
    count = 1 if size is None else int(size)
    field = icar_structure(adj).sample_prior(np.arange(m), count, rng)
    effects = sigma * (math.sqrt(1.0 - phi) * rng.standard_normal((count, m))
                       + math.sqrt(phi) * field)
    return effects[0] if size is None else effects


def _fit(y: np.ndarray, D: np.ndarray, X: np.ndarray, icar: IcarStructure, *,
         labels: np.ndarray, names: tuple[str, ...], model: str, level: float,
         prior: VariancePrior, phi_prior: tuple[float, float], random_seed: Any,
         draws: int) -> BYM2Result:
    """The exact fit on validated arrays (see `bym2`)."""
    cond = _Conditional(y, D, X, icar)
    hyper = HyperPosterior(cond, model, prior, phi_prior)
    grid = integrate(hyper, start_values(y, D, X, hyper.dim))
    mode, psi, weights = grid.mode, grid.psi, grid.weights
    beta_k, cov_k, mean_k, var_k = (np.array(part) for part in zip(*grid.moments, strict=True))
    sd_k = np.sqrt(var_k)

    # Areas: Gaussian mixtures over the nodes.
    estimate = weights @ mean_k
    sd = np.sqrt(weights @ (sd_k**2 + (mean_k - estimate) ** 2))
    tail = 0.5 * (1.0 - level)
    z = special.ndtri(1.0 - tail)
    tol = 1e-10 * sd
    lower = _mixture_quantiles(weights, mean_k, sd_k, tail, estimate - z * sd, tol)
    upper = _mixture_quantiles(weights, mean_k, sd_k, 1.0 - tail, estimate + z * sd, tol)

    beta = weights @ beta_k
    dev = beta_k - beta
    beta_cov = np.einsum("k,kpq->pq", weights, cov_k) + np.einsum("k,kp,kq->pq", weights, dev,
                                                                  dev)
    sigma_k = np.exp(psi[:, 0])
    summary = hyper_summary(grid, tail)
    sigma, sigma_sd, sigma_interval = summary["sigma"]
    phi, phi_sd, phi_interval = summary["phi"]

    diagnostics: dict[str, Any] = {
        "sampler": "exact: Gaussian given (sigma, phi) by sparse Cholesky; grid over "
                   "(log sigma, logit phi) around the posterior mode",
        "prior": prior.describe(),
        "prior_phi": f"phi ~ Beta({phi_prior[0]:g}, {phi_prior[1]:g})" if hyper.dim == 2
                     else "phi = 1 (ICAR)",
        "prior_beta": "p(beta) ∝ 1 (flat)",
        "mode_sigma": math.exp(mode[0]),
        "mode_phi": float(special.expit(mode[1])) if hyper.dim == 2 else 1.0,
        "grid_step": STEP[hyper.dim],
        "grid_log_drop": LOG_DROP[hyper.dim],
        "likelihood_evaluations": hyper.evaluations,
        "max_node_weight": float(weights.max()),
        "sigma2_u_sd": math.sqrt(float(weights @ (sigma_k**2 - weights @ sigma_k**2) ** 2)),
        "draws": draws,
    }
    idata = None
    if draws > 0:
        idata = _posterior_draws(hyper, psi, weights, labels, names, draws,
                                 v.as_rng(random_seed))

    synthetic = X @ beta
    estimates = _estimates_dataset(labels, estimate, sd, lower, upper, y, D, synthetic,
                                   icar, level)
    scaling = {int(c): float(s) for c, s in zip(icar.constrained, icar.scaling_factors,
                                                 strict=True)}
    return BYM2Result(
        estimates=estimates, method="hb", sigma2_u=float(weights @ sigma_k**2), beta=beta,
        beta_se=np.sqrt(np.diag(beta_cov)), covariate_names=tuple(names), level=level,
        converged=True, iterations=0, loglik=float("nan"), diagnostics=diagnostics,
        idata=idata, model=model, sigma=sigma, sigma_sd=sigma_sd,
        sigma_interval=sigma_interval, phi=phi, phi_sd=phi_sd, phi_interval=phi_interval,
        scaling_factors=scaling, n_nodes=int(weights.size),
        islands=tuple(v._plain(a) for a in labels[icar.island]),
    )


def _estimates_dataset(labels: np.ndarray, estimate: np.ndarray, sd: np.ndarray,
                       lower: np.ndarray, upper: np.ndarray, direct: np.ndarray,
                       variance: np.ndarray, synthetic: np.ndarray, icar: IcarStructure,
                       level: float) -> xr.Dataset:
    """The per-area [`xarray.Dataset`][xarray.Dataset] of a fit."""
    extra = {
        "area_effect": (estimate - synthetic, "posterior mean of the area effect b_i"),
        "component": (icar.component, "connected component of the adjacency (0 = largest)"),
        "island": (icar.island, "True if the area has no neighbour"),
    }
    return hb_dataset(labels, estimate, sd, lower, upper, direct, variance, synthetic,
                      level=level, attrs={"model": "Fay-Herriot with spatial effects"},
                      extra=extra)


def _posterior_draws(hyper: HyperPosterior, psi: np.ndarray, weights: np.ndarray, labels: np.ndarray,
                     names: tuple[str, ...], draws: int, rng: np.random.Generator) -> Any:
    """Independent draws: a node by its weight, then (beta, theta) from its exact Gaussian."""
    import arviz as az

    counts = rng.multinomial(draws, weights)
    sigma, phi, beta, theta = [], [], [], []
    for k in np.flatnonzero(counts):
        s, f = hyper.sigma_phi(psi[k])
        sys = hyper.cond.system(s, f)
        b, t = hyper.cond.sample(sys, int(counts[k]), rng)
        sigma.append(np.full(counts[k], s))
        phi.append(np.full(counts[k], f))
        beta.append(b)
        theta.append(t)
    order = rng.permutation(draws)
    posterior = {"sigma": np.concatenate(sigma)[order][None],
                 "beta": np.concatenate(beta)[order][None],
                 "theta": np.concatenate(theta)[order][None]}
    if hyper.dim == 2:
        posterior["phi"] = np.concatenate(phi)[order][None]
    return az.from_dict(
        {"posterior": posterior},
        dims={"beta": ["coef"], "theta": ["area"]},
        coords={"coef": list(names), "area": np.asarray(labels)},
        attrs={"posterior": {"sampler": "exact (grid over hyperparameters)",
                             "independent_draws": 1}},
    )
