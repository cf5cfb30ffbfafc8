"""MRP: grouped quadrature against brute force, post-stratification, bad input, and the
no-respondent areas against the synthetic regression estimate on simulated surveys."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from crimestats import InputError
from crimestats.datasets import simulate_survey
from crimestats.sae import mrp
from crimestats.sae.glmm.families import FAMILIES
from crimestats.sae.glmm.independent import marginal_likelihood
from crimestats.sae.glmm.poststratification import Groups, grouped_marginal


def _groups(area_of_row):
    starts = np.flatnonzero(np.r_[True, area_of_row[1:] != area_of_row[:-1]])
    index = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, area_of_row.size]))
    return Groups(index, starts, starts.size, area_of_row[starts])


def test_grouped_marginal_equals_ungrouped_with_one_row_per_area():
    y, n = np.array([0.0, 3.0, 12.0, 1.0]), np.array([40.0, 55.0, 60.0, 2.0])
    x = np.column_stack([np.ones(4), [0.0, 1.0, -1.0, 0.5]])
    params = np.array([-1.3, 0.4, np.log(0.7)])
    grouped = grouped_marginal(_groups(np.arange(4)))
    a = grouped(params, FAMILIES["binomial"], x, y, n, hessian=True)
    b = marginal_likelihood(params, FAMILIES["binomial"], x, y, n, hessian=True)
    assert a[0] == pytest.approx(b[0], rel=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a[2], b[2], rtol=1e-9, atol=1e-12)


def test_grouped_marginal_matches_brute_force_with_several_cells_per_area():
    area = np.array([0, 0, 0, 1, 1, 2])
    y = np.array([2.0, 0.0, 5.0, 1.0, 7.0, 0.0])
    n = np.array([30.0, 12.0, 40.0, 9.0, 50.0, 3.0])
    x = np.column_stack([np.ones(6), [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]])
    params = np.array([-2.0, 0.6, np.log(0.5)])
    value, grad, hess = grouped_marginal(_groups(area))(params, FAMILIES["binomial"], x, y, n,
                                                                 hessian=True)

    def brute(theta):
        total = 0.0
        u = np.linspace(-7, 7, 20_001)
        for a in range(3):
            sel = area == a
            eta = (x[sel] @ theta[:2])[:, None] + u[None, :]
            ll = np.sum(y[sel, None] * eta - n[sel, None] * np.logaddexp(0, eta), axis=0)
            ref = ll.max()
            total += np.log(integrate.simpson(np.exp(ll - ref)
                                              * stats.norm.pdf(u, 0, np.exp(theta[2])), x=u))
            total += ref
        return total
    assert value == pytest.approx(brute(params), abs=1e-8)
    h = 1e-5
    for j in range(3):
        up, down = params.copy(), params.copy()
        up[j] += h
        down[j] -= h
        assert grad[j] == pytest.approx((brute(up) - brute(down)) / (2 * h), abs=1e-5)
    for j in range(2):
        up, down = params.copy(), params.copy()
        up[j] += 1e-4
        down[j] -= 1e-4
        fd = (grouped_marginal(_groups(area))(up, FAMILIES["binomial"], x, y, n)[1]
              - grouped_marginal(_groups(area))(down, FAMILIES["binomial"], x, y, n)[1]) / 2e-4
        np.testing.assert_allclose(hess[:, j], fd[:2], atol=1e-5)


def _survey(seed, n_areas=80):
    sim = simulate_survey(n_areas, random_seed=seed)
    areas = sim.areas
    people = sim.respondents.merge(areas[["area", "x1", "x2"]], on="area")
    cells = pd.concat([
        areas.assign(young=0, adults=areas["population"] * (1 - areas["young_share"])),
        areas.assign(young=1, adults=areas["population"] * areas["young_share"]),
    ])[["area", "young", "x1", "x2", "adults"]]
    return sim, people, cells


def test_mrp_estimates_every_area_and_post_stratifies():
    sim, people, cells = _survey(3, n_areas=40)
    fit = mrp(people, cells, outcome="victim", area="area", covariates=["young", "x1", "x2"],
              population="adults", level=0.9)
    est = fit.estimates
    assert est.sizes["area"] == 40
    assert set(est["area"].values) == set(sim.areas["area"])
    assert (~est["in_sample"]).sum() == (sim.areas["n_sampled"] == 0).sum()
    assert np.all((est["lower"] > 0) & (est["lower"] <= est["estimate"])
                  & (est["estimate"] <= est["upper"]) & (est["upper"] < 1))
    # synthetic = population-weighted expit of the fixed part
    beta = fit.beta
    c = cells.set_index("area").loc[est["area"].values]
    eta = beta[0] + beta[1] * c["young"] + beta[2] * c["x1"] + beta[3] * c["x2"]
    synth = (c["adults"] * special.expit(eta)).groupby(level=0, sort=False).sum() \
        / c["adults"].groupby(level=0, sort=False).sum()
    np.testing.assert_allclose(est["synthetic"].values, synth.values, rtol=1e-10)
    assert est["respondents"].sum() == len(people)
    json.dumps(fit.to_dict())
    assert "MRP" in fit.summary()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda p, c: (p.assign(victim=p["victim"] * 2), c), "0/1"),
        (lambda p, c: (p, c[~((c["area"] == "A01") & (c["young"] == 1))]), "cells"),
        (lambda p, c: (p, c[c["area"] != "A02"]), "A02"),
        (lambda p, c: (p, pd.concat([c, c.iloc[[0]]])), "more than once"),
        (lambda p, c: (p, c.assign(adults=-c["adults"])), "negative"),
        (lambda p, c: (p.assign(young=p["young"].astype(str)),
                       c.assign(young=c["young"].map({0: "0", 1: "1"}).where(
                           c["young"] == 0, "y"))), "cell counts must match"),
        (lambda p, c: (p.drop(columns="x1"), c), "x1"),
    ],
)
def test_bad_input(change, match):
    _, people, cells = _survey(4, n_areas=12)
    p, c = change(people, cells)
    with pytest.raises(InputError, match=match):
        mrp(p, c, outcome="victim", area="area", covariates=["young", "x1", "x2"],
            population="adults")


def _synthetic_regression(people, cells):
    """Logistic regression without area effects (IRLS), post-stratified to the cells."""
    x = np.column_stack([np.ones(len(people)), people[["young", "x1", "x2"]].to_numpy(float)])
    y = people["victim"].to_numpy(float)
    beta = np.zeros(4)
    for _ in range(30):
        p = special.expit(x @ beta)
        beta += np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x, x.T @ (y - p))
    xc = np.column_stack([np.ones(len(cells)), cells[["young", "x1", "x2"]].to_numpy(float)])
    num = (cells["adults"] * special.expit(xc @ beta)).groupby(cells["area"]).sum()
    return num / cells["adults"].groupby(cells["area"]).sum()


@pytest.mark.slow
def test_simulation_mrp_no_worse_than_synthetic_for_areas_without_respondents():
    err_mrp, err_syn, cover, n_out = [], [], [], 0
    for seed in range(40):
        sim, people, cells = _survey(100 + seed, n_areas=150)
        fit = mrp(people, cells, outcome="victim", area="area",
                  covariates=["young", "x1", "x2"], population="adults", level=0.9)
        est = fit.estimates.to_dataframe()
        truth = sim.true_prevalence.reindex(est.index)
        syn = _synthetic_regression(people, cells).reindex(est.index)
        out = ~est["in_sample"]
        n_out += int(out.sum())
        err_mrp.append(((est["estimate"] - truth)[out] ** 2).sum())
        err_syn.append(((syn - truth)[out] ** 2).sum())
        cover.append(((est["lower"] <= truth) & (truth <= est["upper"])).mean())
    rmse_mrp = np.sqrt(np.sum(err_mrp) / n_out)
    rmse_syn = np.sqrt(np.sum(err_syn) / n_out)
    cover = np.array(cover)
    print(f"\nMRP, {n_out} areas without respondents: rmse {rmse_mrp:.5f} vs synthetic "
          f"{rmse_syn:.5f}; coverage (all areas) {cover.mean():.4f} "
          f"(MC se {cover.std(ddof=1) / np.sqrt(cover.size):.4f})")
    assert rmse_mrp <= rmse_syn
    assert abs(cover.mean() - 0.9) < 2 * cover.std(ddof=1) / np.sqrt(cover.size)


def test_poststratified_posterior_matches_brute_force():
    """With fixed (beta, sigma_u) the posterior mean and 5% quantile of
    theta_a = sum_c N_c expit(x_c beta + u_a) / N_a match direct integration."""
    from crimestats.sae.glmm.independent import Hyperparameters
    from crimestats.sae.glmm.poststratification import poststratified_posteriors

    area = np.array([0, 0, 1])
    y, n = np.array([3.0, 1.0, 0.0]), np.array([40.0, 25.0, 12.0])
    x_rows = np.column_stack([np.ones(3), [0.0, 1.0, 1.0]])
    x_cells = np.column_stack([np.ones(6), [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]])
    cell_area = np.array([0, 0, 1, 1, 2, 2])
    pop = np.array([300.0, 700.0, 500.0, 500.0, 100.0, 900.0])
    beta, sigma = np.array([-2.5, 0.7]), 0.6
    hyper = Hyperparameters(np.array([np.log(sigma)]), np.ones(1), beta[None], np.zeros((1, 2, 2)),
                   0.0, True, np.log(sigma))
    post = poststratified_posteriors(x_rows, y, n, _groups(area), x_cells, cell_area, pop, 3,
                                      hyper, 0.9)
    u = np.linspace(-8, 8, 200_001)
    for a in range(3):
        logd = stats.norm.logpdf(u, 0, sigma)
        for r in np.flatnonzero(np.r_[area, -1][:3] == a):
            eta = x_rows[r] @ beta + u
            logd = logd + y[r] * eta - n[r] * np.logaddexp(0, eta)
        dens = np.exp(logd - logd.max())
        cells_a = cell_area == a
        theta = (pop[cells_a, None] * special.expit((x_cells[cells_a] @ beta)[:, None]
                                                    + u)).sum(0) / pop[cells_a].sum()
        z = integrate.simpson(dens, x=u)
        mean = integrate.simpson(theta * dens, x=u) / z
        cdf = integrate.cumulative_simpson(dens, x=u, initial=0) / z
        q05 = np.interp(0.05, cdf, theta)  # theta is increasing in u
        assert post["estimate"][a] == pytest.approx(mean, rel=1e-7)
        assert post["lower"][a] == pytest.approx(q05, rel=2e-3)


def test_poststratification_kernel_matches_numpy() -> None:
    """The compiled per-area loop equals the plain NumPy/SciPy computation it replaces."""
    from scipy import integrate, special

    from crimestats.sae._engine.mrp_kernel import accumulate_node

    rng = np.random.default_rng(5)
    grid, n_edges = 41, 30
    u = np.linspace(-3, 3, grid)[None, :] + rng.normal(size=(2, 1))  # two areas
    row_ptr, cell_ptr = np.array([0, 2, 2]), np.array([0, 2, 5])  # area 1 has no respondents
    row_eta, y, n = np.array([-2.0, -1.0]), np.array([1.0, 3.0]), np.array([9.0, 12.0])
    cell_eta, pop = rng.normal(-2, 0.5, 5), rng.uniform(100, 900, 5)
    pop_area = np.array([pop[:2].sum(), pop[2:].sum()])
    edges = np.sort(rng.uniform(-4, 0, (2, n_edges)), axis=1)
    first, second, cdf_edges = np.zeros(2), np.zeros(2), np.zeros((2, n_edges))
    accumulate_node(u, 1 / 0.8**2, row_ptr, row_eta, y, n, cell_ptr, cell_eta, pop, pop_area,
                    edges, 0.25, first, second, cdf_edges)
    for a in range(2):
        logp = -0.5 * (u[a] / 0.8) ** 2
        rows = slice(row_ptr[a], row_ptr[a + 1])
        eta = row_eta[rows, None] + u[a][None, :]
        logp = logp + np.sum(y[rows, None] * eta - n[rows, None] * np.logaddexp(0, eta), axis=0)
        mass = np.exp(logp - special.logsumexp(logp))
        cells = slice(cell_ptr[a], cell_ptr[a + 1])
        theta = pop[cells] @ special.expit(cell_eta[cells, None] + u[a][None, :]) / pop_area[a]
        np.testing.assert_allclose(first[a], 0.25 * mass @ theta, rtol=1e-12)
        np.testing.assert_allclose(second[a], 0.25 * mass @ theta**2, rtol=1e-12)
        cdf = integrate.cumulative_simpson(mass, dx=1.0, initial=0.0)
        expected = np.interp(edges[a], special.logit(theta), cdf / cdf[-1])
        np.testing.assert_allclose(cdf_edges[a], 0.25 * expected, rtol=1e-10, atol=1e-14)
