"""Exact posterior over configurations, hyperparameters integrated by quadrature.

For each node $h = (\\tau, \\sigma)$ of the grid the model without changes is Gaussian,
$y \\sim N(X\\beta, \\Sigma_h)$ with $\\Sigma_h = \\operatorname{diag}(v + \\tau^2 r) +
\\sigma^2 S S^\\top$; the flat-prior levels and trends $\\beta$ are integrated out with the
restricted (REML) projection $P_h = \\Sigma_h^{-1} - \\Sigma_h^{-1} X (X^\\top \\Sigma_h^{-1}
X)^{-1} X^\\top \\Sigma_h^{-1}$, whose improper-prior constant is the same for every
configuration and node. Every configuration's Gaussian changes are then integrated in closed
form (see `_kernel`). Nothing is sampled until the posterior over configurations and nodes is
known; draws are used only to summarise mixtures (intervals, `prob_not_incidence`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import special

from ._configurations import INCIDENCE, Configurations
from ._grid import HyperGrid
from ._model import Design, smooth_basis

__all__ = ["PathDraws", "Posterior", "change_posterior", "draw_paths", "fit_configurations",
           "smooth_incidence"]


@dataclasses.dataclass(frozen=True)
class Posterior:
    """Posterior over configurations (exact) and over the hyperparameter grid.

    Attributes
    ----------
    configs, grid, design
        What was enumerated, the hyperparameter grid and the observation model.
    log_post : numpy.ndarray
        ``(n_capture, n_incidence)`` normalised log posterior of each configuration.
    log_post_h : numpy.ndarray
        Normalised log posterior of each grid node.
    columns : numpy.ndarray
        ``(n, n_shapes)`` columns of every candidate change on the observation rows.
    prior_var : numpy.ndarray
        Prior variance of the size of each candidate change.
    log_evidence : float
        Log marginal likelihood (up to the constant of the flat priors).
    gram, cross, base : numpy.ndarray
        Per node: restricted Gram matrix of the change columns, their cross-product with the
        observations, and the log evidence without changes.
    """

    configs: Configurations
    grid: HyperGrid
    design: Design
    log_post: np.ndarray
    log_post_h: np.ndarray
    columns: np.ndarray
    prior_var: np.ndarray
    log_evidence: float
    gram: np.ndarray
    cross: np.ndarray
    base: np.ndarray


def shape_columns(design: Design, configs: Configurations) -> np.ndarray:
    """Columns of every candidate change on the observation rows, ``(n, n_shapes)``."""
    shapes = configs.shapes
    pat = shapes.patterns(design.T)
    cols = np.zeros((design.n, pat.shape[0]))
    for comp, load in design.loads.items():
        idx = shapes.of(comp)
        cols[:, idx] = load @ pat[idx].T
    return cols


def _restricted(design: Design, grid: HyperGrid, columns: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per node: restricted Gram of the change columns, their cross-product with y, base evidence.

    $\\Sigma^{-1}$ by the Woodbury identity: with $D = \\operatorname{diag}(v + \\tau^2 r)$ and
    $S^\\top D^{-1} S = V \\Lambda V^\\top$, $R^\\top \\Sigma^{-1} R = R^\\top D^{-1} R -
    E^\\top (\\sigma^{-2} + \\Lambda)^{-1} E$ with $E = V^\\top S^\\top D^{-1} R$, and
    $\\log\\det\\Sigma = \\sum \\log D + \\sum \\log(1 + \\sigma^2 \\Lambda)$: one eigendecomposition
    per noise level, no $n \\times n$ factorisation per node.
    """
    n, k = design.fixed.shape
    g = columns.shape[1]
    R = np.concatenate([design.fixed, columns, design.y[:, None]], axis=1)
    S = design.smooth
    taus, t_index = np.unique(grid.tau, return_inverse=True)
    Q = np.empty((grid.size, R.shape[1], R.shape[1]))
    logdet = np.empty(grid.size)
    for ti, tau in enumerate(taus):
        dinv = 1.0 / (design.variance + tau ** 2 * design.noisy)
        RD = R.T * dinv
        QD = RD @ R
        lam, V = np.linalg.eigh((S.T * dinv) @ S)
        lam = np.maximum(lam, 0.0)
        E = V.T @ (S.T @ RD.T)
        nodes = np.flatnonzero(t_index == ti)
        sig2 = grid.sigma[nodes] ** 2
        shrink = 1.0 / (1.0 / sig2[:, None] + lam[None, :])
        Q[nodes] = QD[None] - np.einsum("mi,hm,mj->hij", E, shrink, E, optimize=True)
        logdet[nodes] = -np.log(dinv).sum() + np.log1p(sig2[:, None] * lam[None, :]).sum(axis=1)
    Qxx = Q[:, :k, :k]
    Qxr = Q[:, :k, k:]
    cx = np.linalg.cholesky(Qxx)
    W = np.linalg.solve(cx, Qxr)
    Rr = Q[:, k:, k:] - np.swapaxes(W, 1, 2) @ W
    A = np.ascontiguousarray(Rr[:, :g, :g])
    c = np.ascontiguousarray(Rr[:, :g, g])
    ypy = Rr[:, g, g]
    logdet = logdet + 2 * np.log(np.diagonal(cx, axis1=1, axis2=2)).sum(axis=1)
    base = -0.5 * (logdet + ypy + (n - k) * np.log(2 * np.pi))
    return A, c, base


def fit_configurations(design: Design, configs: Configurations, grid: HyperGrid,
                       prior_sd: dict[int, float]) -> Posterior:
    """Log posterior of every configuration (summed over the grid) and of every grid node."""
    from ._kernel import accumulate_evidence

    columns = shape_columns(design, configs)
    prior_var = np.array([prior_sd[int(c)] ** 2 for c in configs.shapes.component])
    A, c, base = _restricted(design, grid, columns)
    log_joint = np.full((configs.capture.shape[0], configs.incidence.size), -np.inf)
    log_h = np.full(grid.size, -np.inf)
    accumulate_evidence(A, c, base, grid.log_weight, prior_var, configs.capture,
                        configs.capture_log_prior, configs.incidence,
                        configs.incidence_log_prior, log_joint, log_h)
    log_ev = special.logsumexp(log_joint)
    return Posterior(configs, grid, design, log_joint - log_ev, log_h - log_ev, columns,
                     prior_var, float(log_ev), A, c, base)


def _config_columns(post: Posterior, a: int, i: int) -> np.ndarray:
    cols = post.configs.capture[a]
    cols = cols[cols >= 0]
    j = post.configs.incidence[i]
    return np.r_[cols, j] if j >= 0 else cols


@dataclasses.dataclass(frozen=True)
class PathDraws:
    """Posterior draws of each component's log path relative to the first period.

    Attributes
    ----------
    paths : dict
        Component code → ``(draws, T)`` log index (0 at the first period).
    change_size : dict
        Component code → ``(draws,)`` summed size of the component's changes (NaN for draws
        whose configuration has no change of it).
    """

    paths: dict[int, np.ndarray]
    change_size: dict[int, np.ndarray]


def draw_paths(post: Posterior, draws: int, rng: np.random.Generator,
               components: tuple[int, ...]) -> PathDraws:
    """Draw a configuration, then a grid node given it, then the Gaussian latent paths.

    Given a configuration and a node the latent vector is Gaussian: the change sizes are drawn
    from their posterior with everything else integrated out (`change_posterior`), then the
    target's trend and smooth incidence curve given them (`smooth_incidence`) — together an
    exact draw from the joint posterior.
    """
    T = post.design.T
    shape = post.log_post.shape
    w = np.exp(post.log_post.ravel())
    pick = rng.choice(w.size, size=draws, p=w / w.sum())
    keys, which_key = np.unique(pick, return_inverse=True)
    configs = [_config_columns(post, *map(int, np.unravel_index(key, shape))) for key in keys]
    lh = _node_log_post(post, configs)
    cdf = np.cumsum(np.exp(lh - lh.max(axis=1, keepdims=True)), axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(draws)
    node = np.minimum((cdf[which_key] < u[:, None]).sum(axis=1), post.grid.size - 1)
    # change sizes: Gaussian given (configuration, node), from the Gram matrices
    pair, which = np.unique(np.c_[which_key, node], axis=0, return_inverse=True)
    which = which.ravel()
    qmax = max(max(J.size for J in configs), 1)
    cols = np.full((pair.shape[0], qmax), -1)
    for row, (ci, _) in enumerate(pair):
        cols[row, :configs[ci].size] = configs[ci]
    mean, chol = change_posterior(post, cols, pair[:, 1])
    z = rng.standard_normal((draws, qmax, 1))
    delta = mean[which] + np.linalg.solve(np.swapaxes(chol, 1, 2)[which], z)[:, :, 0]
    dcols = cols[which]
    on = dcols >= 0
    shapes = post.configs.shapes
    pattern = shapes.patterns(T)
    dcomp = np.where(on, shapes.component[np.maximum(dcols, 0)], -1)
    dpat = np.where(on[:, :, None], pattern[np.maximum(dcols, 0)], 0.0)
    paths, sizes = {}, {}
    for comp in components:
        mine = dcomp == comp
        own = np.where(mine, delta, 0.0)
        path = np.einsum("dq,dqt->dt", own, dpat)
        sizes[comp] = np.where(mine.any(axis=1), own.sum(axis=1), np.nan)
        if comp == INCIDENCE:
            path = path + smooth_incidence(post, node, dcols, np.where(on, delta, 0.0), rng)
        paths[comp] = path - path[:, :1]
    return PathDraws(paths, sizes)


def change_posterior(post: Posterior, cols: np.ndarray, nodes: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and Cholesky factor of the precision of the change sizes, per (change
    columns, node): $N(M^{-1} c_J, M^{-1})$ with $M = A_{JJ} + \\operatorname{diag}(s_J^{-2})$,
    the levels, trends and smooth curves integrated out. Unused (padded) columns are
    independent $N(0, 1)$ dummies."""
    U, qmax = cols.shape
    on = cols >= 0
    c0 = np.maximum(cols, 0)
    M = post.gram[nodes[:, None, None], c0[:, :, None], c0[:, None, :]]
    M = np.where(on[:, :, None] & on[:, None, :], M, 0.0)
    M[:, np.arange(qmax), np.arange(qmax)] += np.where(on, 1.0 / post.prior_var[c0], 1.0)
    b = np.where(on, post.cross[nodes[:, None], c0], 0.0)
    return np.linalg.solve(M, b[:, :, None])[:, :, 0], np.linalg.cholesky(M)


def smooth_incidence(post: Posterior, node: np.ndarray, cols: np.ndarray, delta: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """Draws of the target's incidence trend and smooth curve given each draw's node and
    change sizes: $\\theta_0 \\mid \\delta \\sim N(\\Lambda_0^{-1} H_0^\\top D^{-1}(y - G\\delta),
    \\Lambda_0^{-1})$ with $H_0$ the level, trend and smooth columns, $\\Lambda_0 = H_0^\\top
    D^{-1} H_0 + \\operatorname{diag}(0, \\sigma^{-2})$; returned as paths relative to the first
    period, ``(draws, T)``."""
    d = post.design
    T = d.T
    k, m = d.fixed.shape[1], d.smooth.shape[1]
    H0 = np.hstack([d.fixed, d.smooth])
    F = np.zeros((T, k + m))                      # target incidence path minus its first value
    F[:, d.target_trend] = d.trend - d.trend[0]
    Z = smooth_basis(T)
    F[:, k + d.target_smooth.start:k + d.target_smooth.stop] = Z - Z[:1]
    F = F[1:]
    nodes, which = np.unique(node, return_inverse=True)
    tau, sigma = post.grid.tau[nodes], post.grid.sigma[nodes]
    dinv = 1.0 / (d.variance[None, :] + tau[:, None] ** 2 * d.noisy[None, :])
    prec = np.einsum("ni,hn,nj->hij", H0, dinv, H0)
    idx = np.arange(k, k + m)
    prec[:, idx, idx] += 1.0 / sigma[:, None] ** 2
    rhs = np.einsum("ni,hn,nr->hir", H0, dinv, np.hstack([d.y[:, None], post.columns]))
    sol = np.linalg.solve(prec, rhs)                              # (nodes, k + m, 1 + g)
    mean_y = F @ sol[:, :, 0][..., None]                          # (nodes, T - 1, 1)
    per_change = np.einsum("tp,hpg->htg", F, sol[:, :, 1:])        # (nodes, T - 1, g)
    cov = F @ np.linalg.solve(prec, np.broadcast_to(F.T, (nodes.size, *F.T.shape)))
    chol = np.linalg.cholesky(cov + 1e-14 * np.eye(T - 1))
    gathered = np.take_along_axis(per_change[which], np.maximum(cols, 0)[:, None, :], axis=2)
    out = np.zeros((node.size, T))
    out[:, 1:] = (mean_y[which][:, :, 0] - np.einsum("dtq,dq->dt", gathered, delta)
                  + np.einsum("dts,ds->dt", chol[which],
                              rng.standard_normal((node.size, T - 1))))
    return out


def _node_log_post(post: Posterior, configs: list[np.ndarray]) -> np.ndarray:
    """Log p(y | configuration, node) + log weight of the node: ``(len(configs), n_nodes)``."""
    out = np.empty((len(configs), post.grid.size))
    sizes = np.array([J.size for J in configs])
    for q in np.unique(sizes):
        rows = np.flatnonzero(sizes == q)
        if q == 0:
            out[rows] = post.base[None, :]
            continue
        J = np.stack([configs[u] for u in rows])                       # (U, q)
        A = post.gram[:, J[:, :, None], J[:, None, :]].transpose(1, 0, 2, 3)   # (U, H, q, q)
        c = post.cross[:, J].transpose(1, 0, 2)                        # (U, H, q)
        s2 = post.prior_var[J]                                         # (U, q)
        M = A + (np.eye(q)[None] / s2[:, :, None])[:, None]
        chol = np.linalg.cholesky(M)
        r = np.linalg.solve(chol, c[..., None])[..., 0]
        logdet = 2 * np.log(np.diagonal(chol, axis1=2, axis2=3)).sum(axis=2)
        out[rows] = post.base[None, :] - 0.5 * (np.log(s2).sum(axis=1)[:, None] + logdet
                                                 - (r ** 2).sum(axis=2))
    return out + post.grid.log_weight[None, :]
