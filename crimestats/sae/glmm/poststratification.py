"""Multilevel regression and post-stratification (MRP) for victimisation prevalence.

A logistic mixed model is fitted to respondents' 0/1 victimisation outcomes,

$$
P(y_{j} = 1) = \\mathrm{expit}(x_{c(j)}^\\top\\beta + u_{a(j)}), \\qquad
u_a \\sim N(0, \\sigma_u^2),
$$

where $c(j)$ is the respondent's post-stratification cell (e.g. sex × age group, plus
any area-level covariates) and $a(j)$ the area. Each area's prevalence is then the
population-weighted average over its cells,

$$
\\theta_a = \\sum_c N_{ac}\\, \\mathrm{expit}(x_c^\\top\\beta + u_a) \\Big/ \\sum_c N_{ac},
$$

which is defined for every area in the population table, including areas with no
respondents at all (their $u_a$ is drawn from its prior). The fit is the same exact
hierarchical Bayes machinery as [`logit_binomial`][crimestats.sae.logit_binomial] (flat priors on
$\\beta$ and $\\sigma_u^2$; adaptive Gauss–Hermite quadrature over each area effect,
a grid over $\\log\\sigma_u$, Laplace over $\\beta$), with the respondents
aggregated to binomial counts per area × cell, so no MCMC is needed.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from ... import _validate as v
from ...errors import ConvergenceWarning, EstimationError, InputError
from .._engine.mixtures import cubature_points
from .._engine.mrp_kernel import accumulate_node
from ..results import MRPResult
from .families import FAMILIES, Family
from .independent import GH_NODES, GH_WEIGHTS, Hyperparameters, fit_hyperparameters

__all__ = ["Groups", "grouped_marginal", "mrp", "poststratified_posteriors"]

#: MRP models a 0/1 outcome: the binomial family with the logit link.
_BINOMIAL = FAMILIES["binomial"]


# ------------------------------------------------------------------------------------------
# Grouped marginal likelihood: several binomial rows (cells) share one area effect
# ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Groups:
    """Rows sorted by area: ``starts`` are the first row of each area (for reduceat)."""

    index: np.ndarray  # group (0 .. n_areas-1) of each row, sorted
    starts: np.ndarray
    n_areas: int
    area_ids: np.ndarray  # the area (position in the population table) of each group

    def sum(self, values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, self.starts, axis=0)


def _group_modes(offset: np.ndarray, y: np.ndarray, n: np.ndarray, sigma: float,
                 groups: Groups) -> tuple[np.ndarray, np.ndarray]:
    """Per-area mode of sum_r l(offset_r + u) - u^2/(2 sigma^2) and the curvature there."""
    inv_s2 = 1.0 / sigma**2
    u = np.zeros(groups.n_areas)

    def objective(u_: np.ndarray) -> np.ndarray:
        return groups.sum(_BINOMIAL.loglik(offset + u_[groups.index], y, n)) \
            - 0.5 * u_**2 * inv_s2

    current = objective(u)
    for _ in range(100):
        d1, d2 = _BINOMIAL.derivatives(offset + u[groups.index], y, n)
        step = (groups.sum(d1) - u * inv_s2) / (inv_s2 - groups.sum(d2))
        new = objective(u + step)
        for _ in range(30):
            worse = new < current - 1e-12 * np.abs(current)
            if not worse.any():
                break
            step = np.where(worse, 0.5 * step, step)
            new = objective(u + step)
        u, current = u + step, new
        if np.max(np.abs(step)) < 1e-10 * max(1.0, sigma):
            break
    _, d2 = _BINOMIAL.derivatives(offset + u[groups.index], y, n)
    return u, inv_s2 - groups.sum(d2)


def grouped_marginal(groups: Groups) -> Callable[..., Any]:
    """A marginal-likelihood function with the signature of ``prevalence._marginal``."""
    def marginal(params: np.ndarray, family: Family, x: np.ndarray, y: np.ndarray,
                 n: np.ndarray, *, hessian: bool = False
                 ) -> tuple[float, np.ndarray, np.ndarray | None]:
        beta, sigma = params[:-1], float(np.exp(params[-1]))
        offset = x @ beta
        mode, curv = _group_modes(offset, y, n, sigma, groups)
        scale = np.sqrt(2.0 / curv)
        u = mode[:, None] + scale[:, None] * GH_NODES[None, :]  # (areas, K)
        eta = offset[:, None] + u[groups.index]  # (rows, K)
        row_ll = family.loglik(eta, y[:, None], n[:, None])
        logf = (groups.sum(row_ll) - 0.5 * (u / sigma) ** 2 + GH_NODES[None, :] ** 2
                + np.log(GH_WEIGHTS)[None, :])
        norm = special.logsumexp(logf, axis=1)
        loglik = norm + np.log(scale) - np.log(np.sqrt(2 * np.pi) * sigma)
        w = np.exp(logf - norm[:, None])  # (areas, K)
        d1, d2 = family.derivatives(eta, y[:, None], n[:, None])
        w_rows = w[groups.index]
        grad_beta = x.T @ np.sum(w_rows * d1, axis=1)
        grad_ls = np.sum(np.sum(w * u**2, axis=1) / sigma**2 - 1.0)
        hess = None
        if hessian:
            # Louis: sum_a E[sum_r x_r l''_r] + Cov(sum_r x_r l'_r) over the area posterior
            expected = (x * np.sum(w_rows * d2, axis=1)[:, None]).T @ x
            score = np.stack([groups.sum(x[:, [j]] * d1) for j in range(x.shape[1])], axis=2)
            mean_score = np.einsum("ak,akj->aj", w, score)
            second = np.einsum("ak,aki,akj->ij", w, score, score)
            hess = expected + second - mean_score.T @ mean_score
        return float(np.sum(loglik)), np.append(grad_beta, grad_ls), hess

    return marginal


# ------------------------------------------------------------------------------------------
# Post-stratified area posteriors
# ------------------------------------------------------------------------------------------


_PS_GRID = 161  # grid points per area effect
_PS_HALF_WIDTH = 9.0  # grid half-width in posterior SDs
_PS_MIN_WEIGHT = 1e-3  # sigma_u nodes with less posterior weight are left out (renormalised)
_PS_EDGES = 241  # points of logit(theta) per area where the posterior CDF is evaluated


def poststratified_posteriors(x_rows: np.ndarray, y: np.ndarray, n: np.ndarray,
                               groups: Groups, x_cells: np.ndarray, cell_area: np.ndarray,
                               cell_pop: np.ndarray, n_areas: int, hyper: Hyperparameters,
                               level: float) -> dict[str, np.ndarray]:
    """Posterior of theta_a = sum_c N_ac expit(x_c beta + u_a) / N_a for every area.

    Each area's effect u_a gets a grid of 161 points; theta_a is evaluated on it for every
    parameter node (sigma node with posterior weight above 0.001 x beta cubature point).
    Means and SDs are sums over the grids; for the quantiles each node's CDF (Simpson) is
    interpolated to 241 common points of logit(theta) per area and mixed.
    """
    k_mode = int(np.argmax(hyper.weights))
    sigma_wide = float(np.exp(hyper.log_sigma.max()))
    modes = np.zeros(n_areas)
    spread = np.full(n_areas, sigma_wide)
    sampled_ids = groups.area_ids
    if len(y):
        m_s, _ = _group_modes(x_rows @ hyper.betas[k_mode], y, n,
                              float(np.exp(hyper.log_sigma[k_mode])), groups)
        _, c_s = _group_modes(x_rows @ hyper.betas[k_mode], y, n, sigma_wide, groups)
        modes[sampled_ids] = m_s
        spread[sampled_ids] = np.sqrt(1.0 / c_s)
    t = np.linspace(-_PS_HALF_WIDTH, _PS_HALF_WIDTH, _PS_GRID)
    u = modes[:, None] + spread[:, None] * t[None, :]  # (areas, G)
    order = np.argsort(cell_area, kind="stable")
    c_area, c_pop, c_x = cell_area[order], cell_pop[order], x_cells[order]
    c_starts = np.flatnonzero(np.r_[True, c_area[1:] != c_area[:-1]])
    pop_area = np.add.reduceat(c_pop, c_starts)

    def theta_of(beta: np.ndarray) -> np.ndarray:
        eta = (c_x @ beta)[:, None] + u[c_area]
        return np.add.reduceat(c_pop[:, None] * special.expit(eta), c_starts, axis=0) \
            / pop_area[:, None]

    ref = special.logit(np.clip(theta_of(hyper.betas[k_mode]), 1e-300, 1 - 1e-16))
    edges = ref[:, 0][:, None] + (ref[:, -1] - ref[:, 0])[:, None] * np.linspace(
        0.0, 1.0, _PS_EDGES)[None, :]  # (areas, E), increasing in logit(theta)
    cdf_edges = np.zeros_like(edges)
    first = np.zeros(n_areas)
    second = np.zeros(n_areas)
    row_area = sampled_ids[groups.index] if len(y) else np.zeros(0, dtype=int)
    row_ptr = np.searchsorted(row_area, np.arange(n_areas + 1))
    cell_ptr = np.searchsorted(c_area, np.arange(n_areas + 1))
    keep = hyper.weights >= _PS_MIN_WEIGHT * hyper.weights.max()
    node_weights = hyper.weights[keep] / hyper.weights[keep].sum()
    for ls, weight, beta_k, cov_k in zip(hyper.log_sigma[keep], node_weights,
                                         hyper.betas[keep], hyper.covs[keep], strict=True):
        points = cubature_points(beta_k, cov_k)
        for point in points:
            accumulate_node(u, float(np.exp(-2.0 * ls)), row_ptr, x_rows @ point,
                            y.astype(float), n.astype(float), cell_ptr, c_x @ point,
                            c_pop.astype(float), pop_area.astype(float), edges,
                            weight / len(points), first, second, cdf_edges)
    rows = np.arange(n_areas)

    def quantile(prob: float) -> np.ndarray:
        j = np.clip(np.sum(cdf_edges < prob, axis=1), 1, _PS_EDGES - 1)
        c0, c1 = cdf_edges[rows, j - 1], cdf_edges[rows, j]
        frac = np.clip((prob - c0) / np.maximum(c1 - c0, 1e-300), 0.0, 1.0)
        return special.expit(edges[rows, j - 1] + frac * (edges[rows, j] - edges[rows, j - 1]))

    tail = (1.0 - level) / 2.0
    return {"estimate": first, "sd": np.sqrt(np.clip(second - first**2, 0.0, None)),
            "lower": quantile(tail), "upper": quantile(1.0 - tail)}


# ------------------------------------------------------------------------------------------
# Public function
# ------------------------------------------------------------------------------------------


def _encode(columns: Sequence[str], cells: pd.DataFrame, respondents: pd.DataFrame
            ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Design matrices (intercept first) for cells and respondents, coded identically."""
    blocks_c, blocks_r, names = [np.ones((len(cells), 1))], [np.ones((len(respondents), 1))], \
        ["intercept"]
    for col in columns:
        c_col, r_col = cells[col], respondents[col]
        if pd.api.types.is_numeric_dtype(c_col) and not pd.api.types.is_bool_dtype(c_col):
            blocks_c.append(v.as_float_array(c_col, f"cells[{col!r}]", ndim=2, noun="cell"))
            blocks_r.append(v.as_float_array(r_col, f"respondents[{col!r}]", ndim=2,
                                             noun="respondent"))
            v.check_range(blocks_c[-1], f"cells[{col!r}]", largest=1e10, noun="cell",
                          unit=" (standardise it)")
            names.append(str(col))
            continue
        levels = sorted(pd.unique(c_col).tolist(), key=str)  # respondents' levels checked
        for level in levels[1:]:
            blocks_c.append((c_col.to_numpy() == level).astype(float)[:, None])
            blocks_r.append((r_col.to_numpy() == level).astype(float)[:, None])
            names.append(f"{col}[T.{level}]")
    return np.hstack(blocks_c), np.hstack(blocks_r), tuple(names)


def mrp(respondents: pd.DataFrame, cells: pd.DataFrame, *, outcome: str, area: str,
        covariates: Sequence[str], population: str, level: float = 0.95) -> MRPResult:
    """Multilevel regression and post-stratification of a 0/1 victimisation outcome.

    Parameters
    ----------
    respondents : pandas.DataFrame
        One row per respondent: the ``outcome`` (0/1 or bool), the ``area`` label and the
        ``covariates`` that define the post-stratification cells (categorical columns are
        one-hot coded with the first level, in sorted order, as reference; numeric columns,
        e.g. area-level deprivation, enter linearly).
    cells : pandas.DataFrame
        The population table: one row per area × cell with the ``area``, the same
        ``covariates`` and the ``population`` count (e.g. Census adults). Every area to be
        estimated needs its cells here, also areas with no respondents.
    outcome, area, population : str
        Column names.
    covariates : sequence of str
        Column names of the cell-defining covariates, present in both tables.
    level : float
        Level of the equal-tailed posterior intervals.

    Returns
    -------
    MRPResult
        Prevalence estimates for every area in ``cells``.

    Raises
    ------
    InputError
        Non-binary outcomes; a respondent whose area or covariate cell is not in ``cells``;
        duplicated cells; negative or missing population counts; an area whose cells add up
        to zero population.

    References
    ----------
    Gelman, A. & Little, T. C. (1997). Poststratification into many categories using
    hierarchical logistic regression. *Survey Methodology* 23, 127–135.
    Park, D. K., Gelman, A. & Bafumi, J. (2004). Bayesian multilevel estimation with
    poststratification. *Political Analysis* 12, 375–385.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from crimestats.sae import mrp
    >>> rng = np.random.default_rng(3)
    >>> areas = [f"a{i}" for i in range(12)]
    >>> people = pd.DataFrame({"area": rng.choice(areas[:10], 1500),   # a10, a11: no sample
    ...                        "age": rng.choice(["16-34", "35+"], 1500)})
    >>> effect = dict(zip(areas, rng.normal(0, 0.3, 12)))
    >>> eta = np.where(people["age"] == "16-34", -2.0, -2.9) + people["area"].map(effect)
    >>> people["victim"] = rng.uniform(size=1500) < 1 / (1 + np.exp(-eta))
    >>> cells = pd.DataFrame({"area": np.repeat(areas, 2), "age": ["16-34", "35+"] * 12,
    ...                       "adults": rng.integers(200, 900, 24)})
    >>> fit = mrp(people, cells, outcome="victim", area="area", covariates=["age"],
    ...           population="adults")
    >>> est = fit.estimates
    >>> est["estimate"].values[-2:].round(3).tolist(), est["in_sample"].values[-2:].tolist()
    ([0.1, 0.103], [False, False])
    """
    level = v.check_level(level)
    covariates = list(covariates)
    v.require_columns(respondents, [outcome, area, *covariates], "respondents")
    v.require_columns(cells, [area, population, *covariates], "cells")
    if len(respondents) == 0:
        raise InputError("`respondents` has no rows; MRP needs respondents in at least 3 areas.")
    if len(cells) == 0:
        raise InputError("`cells` has no rows; give the population of every area × cell.")
    y_raw = respondents[outcome]
    if pd.api.types.is_bool_dtype(y_raw):
        y_resp = y_raw.to_numpy(dtype=float)
    else:
        y_resp = v.as_float_array(y_raw, f"respondents[{outcome!r}]",
                                  labels=respondents.index, noun="respondent")
    bad = np.flatnonzero((y_resp != 0) & (y_resp != 1))
    if bad.size:
        raise InputError(f"`{outcome}` must be 0/1 (victim or not); "
                         f"{v.describe_rows(bad, respondents.index, 'respondent')} "
                         f"ha{'s' if bad.size == 1 else 've'} "
                         f"{y_resp[bad][:8].tolist()}. Recode the outcome to 0/1.")
    for col in covariates + [area]:
        if respondents[col].isna().any() or cells[col].isna().any():
            raise InputError(f"column {col!r} has missing values in `respondents` or `cells`; "
                             "crimestats never fills missing values silently.")
    pop = v.as_float_array(cells[population], f"cells[{population!r}]", labels=cells.index,
                           noun="cell")
    v.check_counts(pop, f"cells[{population!r}]", cells.index, integer=False, noun="cell")
    v.check_range(pop, f"cells[{population!r}]", labels=cells.index, noun="cell")
    key_cols = [area, *covariates]
    dup = cells.duplicated(subset=key_cols, keep=False)
    if dup.any():
        shown = cells.loc[dup, key_cols].head(4).to_dict("records")
        raise InputError(f"`cells` lists some area × covariate cells more than once, e.g. "
                         f"{shown}; aggregate them to one row per cell.")
    area_labels = pd.Index(pd.unique(cells[area]))
    unknown_areas = pd.Index(pd.unique(respondents[area])).difference(area_labels)
    if len(unknown_areas):
        raise InputError(f"respondents live in areas {list(unknown_areas[:8])} that `cells` "
                         "does not list; give the population cells of every sampled area.")
    merged = respondents[key_cols].merge(cells[key_cols].assign(_cell=np.arange(len(cells))),
                                         on=key_cols, how="left")
    missing = np.flatnonzero(merged["_cell"].isna().to_numpy())
    if missing.size:
        shown = respondents.iloc[missing[:4]][key_cols].to_dict("records")
        raise InputError(f"{missing.size} respondents fall in area × covariate cells that "
                         f"`cells` does not have, e.g. {shown}; the cell counts must match "
                         "the covariate cells of the respondents.")
    cell_area = area_labels.get_indexer(cells[area])
    pop_area = np.bincount(cell_area, weights=pop, minlength=len(area_labels))
    empty = np.flatnonzero(pop_area <= 0)
    if empty.size:
        raise InputError(f"areas {list(area_labels[empty[:8]])} have zero population in "
                         "`cells`; drop them or give their cell counts.")
    x_cells, _, names = _encode(covariates, cells, respondents)
    # aggregate respondents to binomial counts per cell
    cell_of = merged["_cell"].to_numpy().astype(int)
    n_cell = np.bincount(cell_of, minlength=len(cells)).astype(float)
    y_cell = np.bincount(cell_of, weights=y_resp, minlength=len(cells))
    rows = np.flatnonzero(n_cell > 0)
    rows = rows[np.argsort(cell_area[rows], kind="stable")]
    row_area = cell_area[rows]
    starts = np.flatnonzero(np.r_[True, row_area[1:] != row_area[:-1]])
    group_of_row = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, rows.size]))
    groups = Groups(group_of_row, starts, starts.size, row_area[starts])
    x_rows, y_rows, n_rows = x_cells[rows], y_cell[rows], n_cell[rows]
    p = x_rows.shape[1]
    if np.linalg.matrix_rank(x_rows) < p:
        raise InputError(f"the covariates ({', '.join(names)}) cannot all be estimated from "
                         "the respondents (a level with no respondents, or collinear "
                         "columns); merge sparse levels or drop a covariate.")
    if groups.n_areas < 3:
        raise InputError("MRP needs respondents in at least 3 areas to estimate the "
                         "between-area variance.")
    if not y_rows.any() or (y_rows == n_rows).all():
        raise EstimationError(
            f"{'no' if not y_rows.any() else 'every'} respondent is a victim, so the MRP model "
            "has no finite estimate (its likelihood keeps rising as the prevalence goes to "
            f"{'0' if not y_rows.any() else '1'}). Pool areas or survey years.")
    with v.numerical_failures("MRP"):
        hyper = fit_hyperparameters(_BINOMIAL, x_rows, y_rows, n_rows,
                           grouped_marginal(groups))
        if not hyper.converged:
            warnings.warn("the MRP fit did not converge cleanly; check the estimates.",
                          ConvergenceWarning, stacklevel=2)
        post = poststratified_posteriors(x_rows, y_rows, n_rows, groups, x_cells, cell_area,
                                          pop, len(area_labels), hyper, level)
    beta = hyper.weights @ hyper.betas
    beta_cov = np.einsum("k,kij->ij", hyper.weights, hyper.covs) + np.einsum(
        "k,ki,kj->ij", hyper.weights, hyper.betas - beta, hyper.betas - beta)
    synth = np.bincount(cell_area, weights=pop * special.expit(x_cells @ beta),
                        minlength=len(area_labels)) / pop_area
    respondents_area = np.bincount(cell_area, weights=n_cell, minlength=len(area_labels))
    victims_area = np.bincount(cell_area, weights=y_cell, minlength=len(area_labels))
    v.check_finite_result({name: post[name] for name in ("estimate", "sd", "lower", "upper")}
                          | {"beta": beta}, "MRP", labels=area_labels.to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = post["sd"] / post["estimate"]
    ds = xr.Dataset(
        {"estimate": ("area", post["estimate"]), "sd": ("area", post["sd"]),
         "lower": ("area", post["lower"]), "upper": ("area", post["upper"]),
         "cv": ("area", cv), "synthetic": ("area", synth),
         "respondents": ("area", respondents_area), "victims": ("area", victims_area),
         "population": ("area", pop_area), "in_sample": ("area", respondents_area > 0)},
        coords={"area": area_labels.to_numpy()}, attrs={"level": level, "model": "mrp"},
    )
    sigma2 = np.exp(2 * hyper.log_sigma)
    return MRPResult(estimates=ds, beta=beta, beta_se=np.sqrt(np.diag(beta_cov)),
                     sigma2_u=float(hyper.weights @ sigma2), covariate_names=names,
                     level=level, converged=hyper.converged)
