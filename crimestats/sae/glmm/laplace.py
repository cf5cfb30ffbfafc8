"""BYM2 / ICAR area effects inside the binomial (logit) and Poisson (log) prevalence models.

Model, for areas $i = 1, \\dots, m$ with effective counts $\\tilde y_i$ and
effective sizes $\\tilde n_i$ (sample sizes, or exposures):

$$
\\tilde y_i \\mid \\eta_i \\sim \\mathrm{Bin}(\\tilde n_i, \\operatorname{expit}\\eta_i)
\\;\\text{or}\\; \\mathrm{Poisson}(\\tilde n_i e^{\\eta_i}), \\qquad
\\eta_i = x_i^\\top\\beta + b_i, \\qquad p(\\beta) \\propto 1,
$$

with the area effects $b = \\sigma(\\sqrt{1-\\phi}\\, v + \\sqrt\\phi\\, \\tilde u)$
(BYM2) or $b = \\sigma\\tilde u$ (ICAR) exactly as in [`crimestats.sae.bym2`][crimestats.sae.bym2]
(scaled ICAR field per connected component, sum-to-zero constraints, islands iid).

Computation, without MCMC (the approach of INLA: Rue, Martino & Chopin 2009).

1. **Given** $\\psi = (\\log\\sigma, \\operatorname{logit}\\phi)$, the posterior of the
   latent field $x = (\\beta, \\tilde u, v)$ is approximated by a Gaussian at its mode.
   The mode is found by Newton's method: expanding each area's log-likelihood to second
   order at the current linear predictor $\\eta^0$ turns it into a Gaussian
   pseudo-observation $y^*_i = \\eta^0_i + g_i / d_i$ with variance $1/d_i$
   ($g, -d$ the first two derivatives), and the Newton step is the exact posterior
   mean of the Gaussian Fay–Herriot model with these pseudo-data, which
   `crimestats.sae._engine.gaussian_field.GaussianField` solves with one sparse Cholesky factorisation.
   Because that solver integrates the iid part $v$ analytically, the only sparse
   matrix factorised is $R + c^2\\operatorname{diag}\\{d_i/(1 + a d_i)\\}$
   ($R$ the scaled ICAR precision, $c = \\sigma\\sqrt\\phi$, $a =
   \\sigma^2(1-\\phi)$): the Schur complement of the $2m$ precision of
   $(b, \\tilde u)$, well conditioned for every $\\phi$ (the $2m$ form has
   entries $1/(1-\\phi)$). Steps are halved until the log joint density
   $\\sum_i l_i(\\eta_i) - \\tfrac12\\tilde u^\\top R\\tilde u - \\tfrac12 v^\\top v$
   increases (it is concave, so Newton converges).
2. The **Laplace approximation** of $p(y \\mid \\psi)$ is the exact Gaussian integral of
   the quadratic expansion at the mode:
   $\\log p(y\\mid\\psi) \\approx \\log p_G(y^*\\mid\\psi) + \\sum_i \\{l_i(\\eta^*_i) +
   g_i^2/(2 d_i) - \\tfrac12\\log d_i\\}$ + const, $p_G$ the Gaussian model's marginal
   likelihood at the pseudo-data. A correction for the non-Gaussian likelihood is added: each
   area's own term exactly (a one-dimensional integral under the Gaussian approximation) and
   the cross terms of the next order of the Laplace expansion (Shun & McCullagh 1995).
   Without it the posterior of $\\sigma$ is biased down when counts are small (by 10%
   in $\\sigma^2$ with a median of one case per area, 1-3% with about ten).
3. $\\psi$ is integrated on the same INLA-style grid as [`bym2`][crimestats.sae.bym2]
   (mode, Hessian, standardised grid explored until the log density drops by a fixed
   amount).
4. At each grid node the Gaussian approximation is improved in two ways. The means (of
   $\\beta$ and every $\\eta_i$) get the first-order skewness correction
   $E(x) - x^* \\approx \\tfrac12 H^{-1} A^\\top (l_3 \\odot \\operatorname{Var}\\eta)$,
   $l_3$ the third derivatives of the log-likelihood (one more solve of the Gaussian
   system); and each area's marginal replaces its own Gaussianised likelihood term by the
   exact one: the Gaussian marginal divided by that term (the "cavity", everything but the
   area's data) times the exact binomial or Poisson likelihood, normalised on a grid. The
   area's posterior is the mixture of these over the nodes. The reported prevalence (or rate)
   is the posterior mean of $g(\\eta_i)$ ($g$ the inverse link), not $g$ of
   the mean; the interval is $g$ of the equal-tailed interval of $\\eta_i$
   ($g$ is monotone).

The result is an approximation, not exact like [`bym2`][crimestats.sae.bym2]: the Laplace
approximation of $p(y \\mid \\psi)$ and the corrected Gaussian approximation of the
field are accurate when counts are moderate and degrade slowly as they shrink.
``docs/validation/spatial-hb.md`` measures them against exact quadrature (no neighbours) and
PyMC NUTS.

References
----------
Rue, H., Martino, S. and Chopin, N. (2009). Approximate Bayesian inference for latent Gaussian
models by using integrated nested Laplace approximations. *JRSS B* 71, 319–392.

Shun, Z. and McCullagh, P. (1995). Laplace approximation of high dimensional integrals.
*JRSS B* 57, 749–760.

Riebler, A., Sørbye, S. H., Simpson, D. and Rue, H. (2016). An intuitive Bayesian spatial
model for disease mapping that accounts for scaling. *Stat. Methods Med. Res.* 25, 1145–1165.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import xarray as xr
from scipy import special

from ... import _validate as v
from ...errors import EstimationError, InputError
from .._engine.gaussian_field import GaussianField, GaussianSystem
from .._engine.hyper_grid import (
    LOG_DROP,
    HyperPosterior,
    grid_step,
    hyper_summary,
    integrate,
    start_values,
)
from .._engine.laplace_kernels import corrected_density, link_moments, own_terms
from .._engine.mixtures import grid_quantile, mixture_quantiles
from .._engine.products import mdot, tdot
from ..modes import BYM2Effects
from ..results import SpatialPrevalenceResult
from ..spatial.adjacency import as_adjacency
from ..spatial.icar import IcarStructure, icar_structure
from .families import Family
from .independent import prior_moments

__all__ = ["LaplaceField", "fit_spatial"]

#: Newton iterations for the mode of the latent field, and the convergence tolerance on the
#: linear predictor (largest change, link scale).
_MAX_NEWTON, _NEWTON_TOL = 100, 1e-9
#: Gauss–Hermite nodes for E[g(eta)] under each node's Gaussian.
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(40)
_GH_W = _GH_W / _GH_W.sum()
#: Grid of the locally corrected area marginals: points, and half-width in SDs of the
#: Gaussian mixture (the correction moves the marginal by a fraction of an SD).
_CORR_POINTS, _CORR_HALF_WIDTH = 161, 10.0


@dataclasses.dataclass
class _LaplaceState:
    """The Gaussian approximation at one (sigma, phi): the Gaussian system expanded at the
    mode, the log-likelihood correction of the Laplace formula, the Newton iterations."""

    sys: GaussianSystem
    correction: float
    iterations: int
    sigma: float
    phi: float
    gaussian: tuple[np.ndarray, ...] | None = None     # the Gaussian moments, once computed
    #: H^-1 A' (l3 Var eta) (coefficients and linked eta), from the second-order correction:
    #: half of it is the skewness correction of the means
    skew_solve: tuple[np.ndarray, np.ndarray] | None = None

    def gaussian_moments(self, gauss: GaussianField) -> tuple[np.ndarray, ...]:
        """``gauss.moments(sys)``, computed on first use: the likelihood correction and the
        node's moments both need it."""
        if self.gaussian is None:
            self.gaussian = gauss.moments(self.sys)
        return self.gaussian


class LaplaceField:
    """Binomial/Poisson model given (sigma, phi): Laplace marginal likelihood and the
    Gaussian approximation of the latent field (same interface as ``GaussianField``)."""

    def __init__(self, family: Family, y: np.ndarray, n: np.ndarray, X: np.ndarray,
                 icar: IcarStructure, in_sample: np.ndarray) -> None:
        self.family = family
        marker = np.where(in_sample, 0.0, np.nan)
        self.gauss = GaussianField(marker, np.ones_like(marker), X, icar)
        L = self.gauss.linked
        self.sampled = self.gauss.sampled
        self.y, self.n = y[L], n[L]
        self.X = X
        self.R = self.gauss.R
        ys, ns = self.y[self.sampled], self.n[self.sampled]
        start = family.empirical_link(ys, ns)
        self._warm = np.full(L.size, float(np.mean(start)))
        self._warm[self.sampled] = start
        self.newton_iterations: list[int] = []
        self.chord_steps: list[int] = []
        self._forks: list[LaplaceField] = []

    def fork(self) -> LaplaceField:
        """A copy for another walker of the grid, with its own warm start (the current one)
        and its own count of Newton iterations."""
        twin = copy.copy(self)
        twin._warm = self._warm.copy()
        twin.newton_iterations, twin.chord_steps, twin._forks = [], [], []
        self._forks.append(twin)
        return twin

    def all_steps(self) -> tuple[list[int], list[int]]:
        """Newton iterations (factorisations) and chord steps of every evaluation, by this
        object and its forks."""
        newton, chords = list(self.newton_iterations), list(self.chord_steps)
        for twin in self._forks:
            more = twin.all_steps()
            newton += more[0]
            chords += more[1]
        return newton, chords

    def _objective(self, theta: np.ndarray, beta: np.ndarray, u: np.ndarray, c: float,
                   a: float) -> float:
        """Log joint density of (beta, u, v) (flat beta), v from theta = X beta + c u + sqrt(a) v."""
        s = self.sampled
        value = float(np.sum(self.family.loglik(theta[s], self.y[s], self.n[s])))
        value -= 0.5 * float(tdot(u, self.R @ u))
        if a > 0:
            resid = theta - mdot(self.gauss.XL, beta) - c * u
            value -= 0.5 * float(tdot(resid, resid)) / a
        return value

    def _expand(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                  np.ndarray]:
        """Pseudo-data y* and variances 1/d of the quadratic expansion at theta (+ g, d)."""
        s = self.sampled
        g, h = self.family.derivatives(theta[s], self.y[s], self.n[s])
        d = np.maximum(-h, 1e-300)
        y_star = np.zeros_like(theta)
        D_star = np.ones_like(theta)
        y_star[s] = theta[s] + g / d
        D_star[s] = 1.0 / d
        return y_star, D_star, g, d

    def system(self, sigma: float, phi: float) -> _LaplaceState:
        """Newton iterations to the mode of the latent field, then the expansion there.

        A Newton step needs a factorisation of the Gaussian system at the current expansion;
        the steps after the first are chord steps, which keep that factorisation (the
        variances of the pseudo-data of the first expansion) and change only the pseudo-data,
        so they cost solves. They converge linearly, fast from a warm start; when one shrinks
        the change by less than half, a Newton step is taken again. At convergence the
        system is expanded, and factorised, once more at the mode.
        """
        c, a = sigma * math.sqrt(phi), sigma**2 * (1.0 - phi)
        s = self.sampled
        theta = self._warm.copy()
        current: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        f_current = -math.inf
        anchor: GaussianSystem | None = None
        last_change = math.inf
        iterations = chords = 0
        while True:
            if iterations + chords >= _MAX_NEWTON:
                raise np.linalg.LinAlgError("Newton iterations for the latent field did not "
                                            "converge")
            y_star, D_star, g, d = self._expand(theta)
            if anchor is None:
                iterations += 1
                sys = anchor = self.gauss.system(sigma, phi, y_star, D_star)
            else:                                   # chord step: the anchor's variances
                chords += 1
                y_chord = theta.copy()
                y_chord[s] += g * anchor.D[s]
                sys = self.gauss.refit(anchor, y_chord)
            beta, u, theta_new = self.gauss.posterior_mean(sys)
            change = float(np.max(np.abs(theta_new - theta)))
            if change < _NEWTON_TOL:
                if sys is not anchor:               # expand and factorise at the mode
                    iterations += 1
                    sys = self.gauss.system(sigma, phi, y_star, D_star)
                break
            if sys is not anchor and change > 0.25 * last_change:
                anchor, last_change = None, math.inf    # slow: a Newton step from here
                continue
            last_change = change
            candidate = (beta, u, theta_new)
            if current is not None:
                # halve the step until the (concave) log joint density increases
                for _ in range(40):
                    f_new = self._objective(candidate[2], candidate[0], candidate[1], c, a)
                    if f_new >= f_current - 1e-10 * abs(f_current):
                        break
                    candidate = tuple(0.5 * (old + new) for old, new in
                                      zip(current, candidate, strict=True))
                f_current = f_new
            else:
                f_current = self._objective(theta_new, beta, u, c, a)
            current = candidate
            theta = candidate[2]
        self._warm = theta
        self.newton_iterations.append(iterations)
        self.chord_steps.append(chords)
        correction = float(np.sum(self.family.loglik(theta[s], self.y[s], self.n[s])
                                  + 0.5 * g * g / d - 0.5 * np.log(d)))
        return _LaplaceState(sys=sys, correction=correction, iterations=iterations,
                             sigma=sigma, phi=phi)

    def log_likelihood(self, state: _LaplaceState) -> float:
        """Laplace approximation of log p(y | sigma, phi), up to a constant, with the
        correction for the non-Gaussian likelihood (see [`_second_order`][_second_order])."""
        return (self.gauss.log_likelihood(state.sys) + state.correction
                + self._second_order(state))

    def _second_order(self, state: _LaplaceState) -> float:
        """Correction of the Laplace formula for the non-Gaussian likelihood (next terms).

        With z = eta - eta* Gaussian (covariance V, the Gaussian approximation) the exact
        log p(y | psi) exceeds the Laplace value by log E exp(sum_i r_i(z_i)), r_i the
        likelihood of area i minus its quadratic expansion. Its expansion (Shun & McCullagh
        1995) is sum l4 V_ii^2 / 8 + sum_ij l3_i l3_j (9 V_ii V_ij V_jj + 6 V_ij^3) / 72
        (l3, l4 the third and fourth derivatives at the mode). Here the terms of each area
        alone (i = j) are replaced by their exact one-dimensional value,
        log E exp(r_i(z_i)) by Gauss–Hermite quadrature, which stays bounded when an area's
        data push its effect far out (all or no respondents victims) where the series
        diverges; the cross terms keep 9 (a'Va - sum a_i^2 V_ii) / 72 with a = l3 diag(V)
        (one solve on the factorisation already made); the V_ij^3 cross terms (cubes of
        correlations) are dropped.
        """
        s, L = self.sampled, self.gauss.linked
        _, _, mean, var = state.gaussian_moments(self.gauss)
        rows = L[s]
        eta, v = mean[rows], var[rows]
        d = 1.0 / state.sys.D[s]
        grad = (state.sys.y[s] - eta) * d          # the gradient at the mode: d (y* - eta*)
        own = own_terms(self.family.compiled, eta, v, self.y[s], self.n[s], grad, d, _GH_X, _GH_W)
        a = self.family.third_derivative(eta, self.y[s], self.n[s]) * v
        y_shift = np.zeros(L.size)
        y_shift[s] = a * state.sys.D[s]
        beta_a, _, Va = self.gauss.posterior_mean(self.gauss.refit(state.sys, y_shift))
        state.skew_solve = beta_a, Va
        cross = 9.0 * (float(tdot(a, Va[s])) - float(np.sum(a * a * v))) / 72.0
        return float(np.sum(own)) + cross

    def moments(self, state: _LaplaceState) -> tuple[np.ndarray, ...]:
        """Gaussian approximation: mean and covariance of beta, means and variances of eta,
        and each area's Gaussianised likelihood term (precision d_i and d_i y*_i; 0 for an
        area without sample) for the local correction of the marginals."""
        beta, beta_cov, mean, var = state.gaussian_moments(self.gauss)
        m = mean.shape[0]
        s, L = self.sampled, self.gauss.linked
        rows = L[s]
        d_s = 1.0 / state.sys.D[s]
        # First-order skewness correction of the means (third-order term of the
        # log-likelihood): E[x] - x* = H^-1 A' r with r_j = l3_j Var(eta_j) / 2 (l3 the third
        # derivative): half the solve of the second-order correction (pseudo-data l3 Var / d;
        # the solve is linear in the pseudo-data).
        if state.skew_solve is None:
            self._second_order(state)
        d_beta, d_theta = (0.5 * part for part in state.skew_solve)
        l3 = self.family.third_derivative(mean[rows], self.y[s], self.n[s])
        mean = mean.copy()
        mean[L] += d_theta
        if self.gauss.free.size:
            mean[self.gauss.free] += self.X[self.gauss.free] @ d_beta
        # The area's own term (l3_i Var(eta_i)^2 / 2) is left to the local correction, which
        # replaces the area's Gaussianised likelihood by the exact one: the canonical data
        # term d y* absorbs it, so that the cavity excludes it.
        own = 0.5 * l3 * var[rows] ** 2
        d, dy = np.zeros(m), np.zeros(m)
        d[rows] = d_s
        dy[rows] = state.sys.y[s] * d_s + own / var[rows]
        return beta + d_beta, beta_cov, mean, var, d, dy


def fit_spatial(family: Family, direct_rate: np.ndarray, y_eff: np.ndarray, n_eff: np.ndarray,
                x: np.ndarray, names: tuple[str, ...], labels: np.ndarray, level: float,
                scale_out: float, in_sample: np.ndarray, direct_variance: np.ndarray,
                model: str, effects: BYM2Effects, *, correct: bool = True
                ) -> SpatialPrevalenceResult:
    """Fit the spatial binomial/Poisson model on validated arrays (see the module notes)."""
    spatial, prior, phi_prior = effects.model, effects.prior, effects.phi_prior
    adj = as_adjacency(effects.adjacency, labels)
    n_in, p = int(in_sample.sum()), x.shape[1]
    if n_in - p < max(prior.min_residual_df, 1):
        raise InputError(
            f"The model has {p} coefficients ({', '.join(names)}) and prior "
            f"{prior.describe()!r}: it needs at least {p + max(prior.min_residual_df, 1)} areas "
            f"with a sample; received {n_in}. Use fewer covariates or a proper prior such as "
            "HalfCauchy(scale=...).")
    if np.linalg.matrix_rank(x[in_sample]) < p:
        raise InputError(f"the covariates ({', '.join(names)}) are collinear in the sampled "
                         "areas; drop redundant columns.")
    icar = icar_structure(adj)
    y = np.where(in_sample, y_eff, 0.0)
    n = np.where(in_sample, n_eff, 0.0)
    cond = LaplaceField(family, y, n, x, icar, in_sample)
    hyper = HyperPosterior(cond, spatial, prior, phi_prior)
    # Starting psi from the Gaussian pseudo-data at the empirical link values.
    L = cond.gauss.linked
    theta0 = cond._warm
    y0, D0, _, _ = cond._expand(theta0)
    y_start = np.full(labels.size, np.nan)
    D_start = np.full(labels.size, np.nan)
    y_start[L[cond.sampled]] = theta0[cond.sampled]
    D_start[L[cond.sampled]] = D0[cond.sampled]
    grid = integrate(hyper, start_values(y_start, D_start, x, hyper.dim),
                     grid_step(hyper.dim, n_in))
    mode, psi, weights = grid.mode, grid.psi, grid.weights
    beta_k, cov_k, mean_k, var_k, d_k, dy_k = (np.array(part)
                                               for part in zip(*grid.moments, strict=True))
    sd_k = np.sqrt(var_k)
    tail = 0.5 * (1.0 - level)
    gaussian = _gaussian_marginals(family, weights, mean_k, sd_k, tail, scale_out,
                                   intervals=not correct)
    if correct:
        marg = _corrected_marginals(family, y, n, weights, mean_k, sd_k, d_k, dy_k, tail,
                                    scale_out, gaussian["eta_mean"], gaussian["eta_sd"])
    else:
        marg = gaussian
    estimate, sd_out, lower, upper = (marg[k] for k in ("estimate", "sd", "lower", "upper"))
    eta_mean, eta_sd = marg["eta_mean"], marg["eta_sd"]

    beta = weights @ beta_k
    dev = beta_k - beta
    beta_cov = (np.einsum("k,kpq->pq", weights, cov_k)
                + np.einsum("k,kp,kq->pq", weights, dev, dev))
    summary = hyper_summary(grid, tail)
    sigma, sigma_sd, sigma_interval = summary["sigma"]
    phi, phi_sd, phi_interval = summary["phi"]
    sigma2_k = np.exp(2.0 * psi[:, 0])
    sigma2 = float(weights @ sigma2_k)
    sigma2_sd = math.sqrt(max(float(weights @ (sigma2_k - sigma2) ** 2), 0.0))

    synth, prior_var, within = prior_moments(family, x, beta, math.sqrt(sigma2), scale_out)
    with np.errstate(divide="ignore", invalid="ignore"):
        noise = within * scale_out**2 / n_eff
        resid = np.where(in_sample, (direct_rate - synth) / np.sqrt(prior_var + noise), np.nan)
        cv = sd_out / np.abs(estimate)
    size_name = family.size_name
    ds = xr.Dataset(
        {"estimate": ("area", estimate), "sd": ("area", sd_out), "lower": ("area", lower),
         "upper": ("area", upper), "cv": ("area", cv), "direct": ("area", direct_rate),
         "direct_variance": ("area", direct_variance), "synthetic": ("area", synth),
         "standardised_residual": ("area", resid), size_name: ("area", n_eff),
         "in_sample": ("area", in_sample),
         "area_effect": ("area", eta_mean - x @ beta),
         "component": ("area", icar.component), "island": ("area", icar.island)},
        coords={"area": labels}, attrs={"level": level, "model": f"{model} ({spatial})"},
    )
    ds["area_effect"].attrs["description"] = "posterior mean of b_i (link scale)"
    ds["component"].attrs["description"] = "connected component of the adjacency (0 = largest)"
    ds["island"].attrs["description"] = "True if the area has no neighbour"
    newton, chords = (np.asarray(steps) for steps in cond.all_steps())
    diagnostics = {
        "approximation": "Laplace: Gaussian approximation of the latent field given "
                         "(sigma, phi), Newton with sparse Cholesky; grid over (log sigma, "
                         "logit phi) around the posterior mode",
        "prior": prior.describe(),
        "prior_phi": f"phi ~ Beta({phi_prior[0]:g}, {phi_prior[1]:g})" if hyper.dim == 2
                     else "phi = 1 (ICAR)",
        "prior_beta": "p(beta) ∝ 1 (flat)",
        "mode_sigma": math.exp(mode[0]),
        "mode_phi": float(special.expit(mode[1])) if hyper.dim == 2 else 1.0,
        "grid_step": grid.step, "grid_log_drop": LOG_DROP[hyper.dim],
        "likelihood_evaluations": hyper.evaluations,
        "newton_iterations_mean": float(newton.mean()) if newton.size else 0.0,
        "newton_iterations_max": int(newton.max()) if newton.size else 0,
        "chord_steps_mean": float(chords.mean()) if chords.size else 0.0,
        "max_node_weight": float(weights.max()),
        "eta_mean": eta_mean, "eta_sd": eta_sd,
        "local_correction": correct,
        "gaussian_estimate": gaussian["estimate"], "gaussian_sd": gaussian["sd"],
    }
    if not np.all(np.isfinite(estimate)):  # pragma: no cover - defensive
        raise EstimationError("the spatial model produced non-finite estimates")
    scaling = {int(c): float(s) for c, s in zip(icar.constrained, icar.scaling_factors,
                                                 strict=True)}
    return SpatialPrevalenceResult(
        estimates=ds, model=model, beta=beta, beta_se=np.sqrt(np.diag(beta_cov)),
        sigma2_u=sigma2, sigma2_u_se=sigma2_sd, covariate_names=names, level=level,
        loglik=float("nan"), converged=True, per=scale_out, diagnostics=diagnostics,
        spatial=spatial, sigma=sigma, sigma_sd=sigma_sd, sigma_interval=sigma_interval,
        phi=phi, phi_sd=phi_sd, phi_interval=phi_interval, scaling_factors=scaling,
        n_nodes=int(weights.size), islands=tuple(v.plain(a) for a in labels[icar.island]),
    )


def _gaussian_marginals(family: Family, weights: np.ndarray, mean_k: np.ndarray,
                        sd_k: np.ndarray, tail: float, scale_out: float, *,
                        intervals: bool = True) -> dict[str, np.ndarray]:
    """Area summaries from the mixture over nodes of the Gaussian approximations of eta.

    E[g(eta)] and E[g(eta)^2] by Gauss–Hermite within each node; the interval is g of the
    mixture's quantiles (left out when ``intervals`` is false: the locally corrected
    marginals replace them).
    """
    first, second = link_moments(family.compiled, weights, mean_k, sd_k, _GH_X, _GH_W)
    eta_mean = weights @ mean_k
    eta_sd = np.sqrt(weights @ (sd_k**2 + (mean_k - eta_mean) ** 2))
    out = {"estimate": first * scale_out,
           "sd": np.sqrt(np.clip(second - first**2, 0.0, None)) * scale_out,
           "eta_mean": eta_mean, "eta_sd": eta_sd}
    if not intervals:
        return out
    z = special.ndtri(1.0 - tail)
    tol = 1e-10 * eta_sd
    lower = mixture_quantiles(weights, mean_k, sd_k, tail, eta_mean - z * eta_sd, tol)
    upper = mixture_quantiles(weights, mean_k, sd_k, 1.0 - tail, eta_mean + z * eta_sd, tol)
    return out | {"lower": family.inverse_link(lower) * scale_out,
                  "upper": family.inverse_link(upper) * scale_out}


def _corrected_marginals(family: Family, y: np.ndarray, n: np.ndarray, weights: np.ndarray,
                         mean_k: np.ndarray, sd_k: np.ndarray, d_k: np.ndarray,
                         dy_k: np.ndarray, tail: float, scale_out: float,
                         centre: np.ndarray, spread: np.ndarray) -> dict[str, np.ndarray]:
    """Area marginals with each area's own likelihood term exact (local correction).

    Within a node, the Gaussian approximation of eta_i is the product of a Gaussian
    "cavity" (everything but area i's data: precision 1/var - d, canonical mean
    mean/var - d y*) and the Gaussianised likelihood of area i; that factor is replaced by
    the exact binomial or Poisson likelihood, and the product is normalised on a grid. For
    areas without sample nothing changes. The grid is common to the nodes (``_CORR_POINTS``
    points over the Gaussian mixture's mean +- ``_CORR_HALF_WIDTH`` SDs); the nodes' densities
    are mixed with their weights.
    """
    t = np.linspace(-_CORR_HALF_WIDTH, _CORR_HALF_WIDTH, _CORR_POINTS)
    eta = centre[:, None] + spread[:, None] * t[None, :]
    sampled = n > 0
    loglik = np.zeros_like(eta)
    loglik[sampled] = family.loglik(eta[sampled], y[sampled, None], n[sampled, None])
    precision = 1.0 / sd_k**2
    cav_prec = np.maximum(precision - d_k, 1e-12 * precision)
    cav_mean = (mean_k * precision - dy_k) / cav_prec
    density = corrected_density(loglik, eta, weights, cav_prec, cav_mean)
    density /= density.sum(axis=1, keepdims=True)
    g = family.inverse_link(eta)
    first = np.sum(density * g, axis=1)
    second = np.sum(density * g * g, axis=1)
    eta_mean = np.sum(density * eta, axis=1)
    eta_sd = np.sqrt(np.clip(np.sum(density * (eta - eta_mean[:, None]) ** 2, axis=1), 0, None))
    lower = grid_quantile(eta, density, tail)
    upper = grid_quantile(eta, density, 1.0 - tail)
    return {"estimate": first * scale_out,
            "sd": np.sqrt(np.clip(second - first**2, 0.0, None)) * scale_out,
            "lower": family.inverse_link(lower) * scale_out,
            "upper": family.inverse_link(upper) * scale_out,
            "eta_mean": eta_mean, "eta_sd": eta_sd,
            "edge_mass": np.maximum(density[:, 0], density[:, -1])}
