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
\\{1 / (D_i + a)\\}$ over sampled areas) is factorised by the sparse Cholesky of
`crimestats.sae._engine.sparse_cholesky` (`crimestats.sae._engine.gaussian_field` holds the
model given the hyperparameters); $\\beta$ is eliminated through its $p \\times p$ Schur complement,
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
density has dropped by a fixed amount (`crimestats.sae._engine.hyper_grid`). Each area's posterior is then an exact mixture
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

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from ... import _validate as v
from ..._options import BYM2
from ...errors import InputError
from .._engine.gaussian_field import GaussianField
from .._engine.hyper_grid import (
    LOG_DROP,
    HyperPosterior,
    grid_step,
    hyper_summary,
    integrate,
    start_values,
)
from .._engine.mixtures import mixture_quantiles
from .._estimates import hb_dataset
from ..area_level.eblup import check_fit_finite
from ..area_level.inputs import prepare_inputs
from ..priors import VariancePrior, check_phi_prior, check_prior
from ..results import BYM2Result
from .adjacency import as_adjacency
from .icar import IcarStructure, icar_structure

__all__ = ["bym2", "simulate_bym2_effects"]



# --------------------------------------------------------------------------------------------
# The Gaussian model given the hyperparameters
# --------------------------------------------------------------------------------------------


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
    model = BYM2["model"].check(model)
    level = v.check_level(level)
    prior = check_prior(prior)
    phi_prior = check_phi_prior(phi_prior, model)
    draws = v.as_draw_count(draws)
    y, d, X, names, labels = prepare_inputs(
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
    cond = GaussianField(y, D, X, icar)
    hyper = HyperPosterior(cond, model, prior, phi_prior)
    grid = integrate(hyper, start_values(y, D, X, hyper.dim),
                     grid_step(hyper.dim, int(cond.in_sample.sum())))
    mode, psi, weights = grid.mode, grid.psi, grid.weights
    beta_k, cov_k, mean_k, var_k = (np.array(part) for part in zip(*grid.moments, strict=True))
    sd_k = np.sqrt(var_k)

    # Areas: Gaussian mixtures over the nodes.
    estimate = weights @ mean_k
    sd = np.sqrt(weights @ (sd_k**2 + (mean_k - estimate) ** 2))
    tail = 0.5 * (1.0 - level)
    z = special.ndtri(1.0 - tail)
    tol = 1e-10 * sd
    lower = mixture_quantiles(weights, mean_k, sd_k, tail, estimate - z * sd, tol)
    upper = mixture_quantiles(weights, mean_k, sd_k, 1.0 - tail, estimate + z * sd, tol)

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
        "grid_step": grid.step,
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
        islands=tuple(v.plain(a) for a in labels[icar.island]),
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
