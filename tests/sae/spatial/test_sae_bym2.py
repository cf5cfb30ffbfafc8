"""Spatial hierarchical Bayes Fay–Herriot model with BYM2 / ICAR effects (`crimestats.sae.bym2`).

Every number is checked against a computation that shares none of the fit's formulas: dense
Gaussian conditioning with the prior covariance built from a Moore–Penrose inverse, and a
brute-force tensor Gauss–Legendre integration over (sigma, phi).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import xarray as xr
from scipy import special
from spatial_maps import PAIRS, M, dense_prior_covariance, grid_pairs

from crimestats import InputError
from crimestats.sae import Adjacency, BYM2Result, HalfCauchy, adjacency_from_pairs, bym2
from crimestats.sae._engine.gaussian_field import GaussianField
from crimestats.sae.spatial.icar import icar_structure

# --------------------------------------------------------------------------------------------
# The small geography of spatial_maps.py: a 4 x 5 grid, a separate 3 x 3 grid and an island
# --------------------------------------------------------------------------------------------


def dense_posterior(y, D, X, prior_cov, sigma, phi):
    """Restricted log-likelihood, beta's posterior and theta's posterior given (sigma, phi),
    by dense Gaussian conditioning (flat prior on beta)."""
    m = y.size
    inside = ~np.isnan(y)
    cov_b = sigma**2 * phi * prior_cov + sigma**2 * (1.0 - phi) * np.eye(m)
    V = cov_b[np.ix_(inside, inside)] + np.diag(D[inside])
    Vi = np.linalg.inv(V)
    Xi = X[inside]
    info = Xi.T @ Vi @ Xi
    beta_cov = np.linalg.inv(info)
    beta = beta_cov @ Xi.T @ Vi @ y[inside]
    resid = y[inside] - Xi @ beta
    C = cov_b[:, inside]
    mean = X @ beta + C @ Vi @ resid
    K = X - C @ Vi @ Xi
    var = np.diag(cov_b - C @ Vi @ C.T + K @ beta_cov @ K.T)
    loglik = (-0.5 * np.linalg.slogdet(V)[1] - 0.5 * np.linalg.slogdet(info)[1]
              - 0.5 * resid @ Vi @ resid)
    return loglik, beta, beta_cov, mean, var


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(7)
    adj = adjacency_from_pairs(PAIRS, areas=range(M))
    X = np.column_stack([np.ones(M), rng.normal(size=M)])
    D = rng.uniform(0.2, 1.0, M)
    prior_cov, _ = dense_prior_covariance(adj.to_dense())
    field = np.linalg.cholesky(prior_cov + 1e-12 * np.eye(M)) @ rng.normal(size=M)
    theta = X @ [1.0, 0.5] + 0.8 * (np.sqrt(0.7) * field + np.sqrt(0.3) * rng.normal(size=M))
    y = theta + rng.normal(size=M) * np.sqrt(D)
    y[[3, 25]] = np.nan                     # two areas without a sample
    D[[3, 25]] = np.nan
    return adj, y, D, X, prior_cov


# --------------------------------------------------------------------------------------------
# 1. Exactness
# --------------------------------------------------------------------------------------------


def test_scaling_factors_match_dense_generalised_inverse(problem):
    adj, *_ = problem
    icar = icar_structure(adj)
    _, factors = dense_prior_covariance(adj.to_dense())
    np.testing.assert_allclose(icar.scaling_factors, factors, rtol=1e-12)
    assert icar.island.tolist() == [False] * 29 + [True]
    for c in icar.constrained:
        members = icar.component == c
        assert np.exp(np.mean(np.log(icar.prior_variance[members]))) == pytest.approx(1, 1e-12)
    # The larger Delaunay-like case: a 12 x 12 grid with one extra diagonal per cell.
    pairs = grid_pairs(12, 12) + [(r * 12 + c, (r + 1) * 12 + c + 1)
                                  for r in range(11) for c in range(11)]
    big = adjacency_from_pairs(pairs, areas=range(144))
    _, factors = dense_prior_covariance(big.to_dense())
    np.testing.assert_allclose(icar_structure(big).scaling_factors, factors, rtol=1e-11)


@pytest.mark.parametrize("free_component", [False, True])
def test_conditional_posterior_matches_dense_conditioning(problem, free_component):
    """Given (sigma, phi): beta, every theta_i (mean and variance) and the marginal likelihood
    (up to one constant) equal dense Gaussian conditioning with explicit constraints."""
    adj, y, D, X, prior_cov = problem
    y, D = y.copy(), D.copy()
    if free_component:                      # the 3 x 3 component has no sample at all
        y[20:29] = np.nan
        D[20:29] = np.nan
    cond = GaussianField(y, D, X, icar_structure(adj))
    assert cond.free.size == (9 if free_component else 0)
    offsets = []
    for sigma, phi in [(0.7, 0.6), (1.3, 0.2), (0.2, 0.95), (1.0, 1.0), (0.05, 0.5),
                       (5.0, 0.999)]:
        system = cond.system(sigma, phi)
        beta, beta_cov, mean, var = cond.moments(system)
        ref_ll, ref_beta, ref_cov, ref_mean, ref_var = dense_posterior(y, D, X, prior_cov,
                                                                       sigma, phi)
        scale = np.sqrt(ref_var)
        np.testing.assert_allclose(beta, ref_beta, atol=1e-10 * np.sqrt(np.diag(ref_cov)).min())
        np.testing.assert_allclose(beta_cov, ref_cov, rtol=1e-9)
        np.testing.assert_allclose(mean, ref_mean, atol=1e-10 * scale.min())
        np.testing.assert_allclose(var, ref_var, rtol=1e-9)
        offsets.append(cond.log_likelihood(system) - ref_ll)
    assert np.ptp(offsets) < 1e-8


def _brute_force(y, D, X, prior_cov, n_sigma=120, n_phi=80, sigma_max=6.0):
    """Posterior means and SDs of theta and of (sigma, phi) by tensor Gauss-Legendre over
    sigma in (0, sigma_max) and phi in (0, 1), default priors (flat on sigma^2, uniform phi)."""
    xs, ws = np.polynomial.legendre.leggauss(n_sigma)
    xp, wp = np.polynomial.legendre.leggauss(n_phi)
    sigmas, w_sigma = 0.5 * sigma_max * (xs + 1), 0.5 * sigma_max * ws
    phis, w_phi = 0.5 * (xp + 1), 0.5 * wp
    log_w, means, variances, hyper = [], [], [], []
    for s, ws_ in zip(sigmas, w_sigma, strict=True):
        for f, wf in zip(phis, w_phi, strict=True):
            ll, _, _, mean, var = dense_posterior(y, D, X, prior_cov, s, f)
            log_w.append(ll + np.log(s) + np.log(ws_ * wf))      # p(sigma) ∝ sigma
            means.append(mean)
            variances.append(var)
            hyper.append((s, f))
    log_w = np.array(log_w)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    means, variances, hyper = np.array(means), np.array(variances), np.array(hyper)
    mean = w @ means
    sd = np.sqrt(w @ (variances + (means - mean) ** 2))
    grid = w.reshape(n_sigma, n_phi)

    def quantiles(x, mass):            # 5% and 95% from the marginal masses at the nodes
        return np.interp([0.05, 0.95], np.cumsum(mass) - 0.5 * mass, x)

    return dict(w=w, means=means, sds=np.sqrt(variances), mean=mean, sd=sd,
                sigma=w @ hyper[:, 0], phi=w @ hyper[:, 1], edge=grid[-1].sum(),
                sigma_q=quantiles(sigmas, grid.sum(axis=1)), phi_q=quantiles(phis, grid.sum(axis=0)))


@pytest.fixture(scope="module")
def brute(problem):
    _, y, D, X, prior_cov = problem
    return _brute_force(y, D, X, prior_cov)


def test_full_posterior_matches_brute_force_integration(problem, brute):
    """Area means, SDs, interval ends and hyperparameter means against an independent
    integration over (sigma, phi) on a 120 x 80 Gauss-Legendre grid."""
    adj, y, D, X, _ = problem
    assert brute["edge"] < 1e-12                         # sigma_max holds all the mass
    fit = bym2(y, D, X[:, 1:], adjacency=adj, level=0.9)
    est = fit.estimates
    print("max |mean error| / sd", np.abs((est["estimate"].values - brute["mean"])
                                         / brute["sd"]).max(),
          "max sd relative error", np.abs(est["sd"].values / brute["sd"] - 1).max())
    np.testing.assert_allclose(est["estimate"], brute["mean"], atol=2e-4 * brute["sd"].min())
    np.testing.assert_allclose(est["sd"], brute["sd"], rtol=2e-4)
    for name, prob in (("lower", 0.05), ("upper", 0.95)):
        z = (est[name].values - brute["means"]) / brute["sds"]
        np.testing.assert_allclose(brute["w"] @ special.ndtr(z), prob, atol=1e-4)
    assert fit.sigma == pytest.approx(brute["sigma"], rel=2e-4)
    assert fit.phi == pytest.approx(brute["phi"], rel=2e-4)
    print("sigma interval", fit.sigma_interval, brute["sigma_q"], "phi interval",
          fit.phi_interval, brute["phi_q"])
    np.testing.assert_allclose(fit.sigma_interval, brute["sigma_q"], atol=0.03 * fit.sigma_sd)
    np.testing.assert_allclose(fit.phi_interval, brute["phi_q"], atol=0.03 * fit.phi_sd)
    assert fit.scaling_factors == pytest.approx({0: icar_structure(adj).scaling_factors[0],
                                                 1: icar_structure(adj).scaling_factors[1]})
    assert fit.islands == (29,)
    assert not est["in_sample"].values[[3, 25]].any()


def test_icar_model_matches_one_dimensional_integration(problem):
    adj, y, D, X, prior_cov = problem
    x, wx = np.polynomial.legendre.leggauss(400)
    sigmas, w_s = 2.0 * (x + 1), 2.0 * wx
    rows = [dense_posterior(y, D, X, prior_cov, s, 1.0) for s in sigmas]
    log_w = np.array([r[0] for r in rows]) + np.log(sigmas) + np.log(w_s)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    means = np.array([r[3] for r in rows])
    mean = w @ means
    sd = np.sqrt(w @ (np.array([r[4] for r in rows]) + (means - mean) ** 2))
    fit = bym2(y, D, X[:, 1:], adjacency=adj, model="icar")
    np.testing.assert_allclose(fit.estimates["estimate"], mean, atol=2e-6 * sd.min())
    np.testing.assert_allclose(fit.estimates["sd"], sd, rtol=2e-6)
    assert fit.sigma == pytest.approx(w @ sigmas, rel=1e-6)
    assert fit.phi == 1.0 and fit.model == "icar"


@pytest.mark.parametrize("model", ["bym2", "icar"])
def test_without_neighbours_it_is_the_hb_fay_herriot_model(model):
    """On a map of islands only, both models are the basic HB Fay–Herriot model (effects
    N(0, sigma^2), phi unidentified), whose exact fit is validated separately."""
    from crimestats.sae import fay_herriot

    rng = np.random.default_rng(5)
    m = 40
    X = rng.normal(size=(m, 1))
    D = rng.uniform(0.2, 1.0, m)
    y = 1 + 0.5 * X[:, 0] + rng.normal(size=m) * np.sqrt(D + 0.3)
    y[[4, 9]] = D[[4, 9]] = np.nan
    islands = Adjacency(np.arange(m), sp.csr_array((m, m)))
    fit = bym2(y, D, X, adjacency=islands, model=model, level=0.9)
    hb = fay_herriot(y, D, X, method="hb", draws=0, level=0.9).estimates
    # BYM2: the grid is truncated where the density has dropped by e^-11 (the flat direction of
    # phi has exponential tails), which moves the tail quantiles most.
    tol, tol_q = (5e-5, 5e-4) if model == "bym2" else (1e-7, 1e-7)
    est = fit.estimates
    np.testing.assert_allclose(est["estimate"], hb["estimate"], atol=tol * hb["sd"].min())
    np.testing.assert_allclose(est["sd"], hb["sd"], rtol=tol)
    for name in ("lower", "upper"):
        np.testing.assert_allclose(est[name], hb[name], atol=tol_q * hb["sd"].min())
    assert fit.phi == pytest.approx(0.5 if model == "bym2" else 1.0, abs=1e-9)
    assert fit.islands == tuple(range(m)) and fit.scaling_factors == {}


def test_posterior_draws_follow_the_exact_posterior(problem):
    adj, y, D, X, _ = problem
    fit = bym2(y, D, X[:, 1:], adjacency=adj, draws=4000, random_seed=3)
    post = fit.idata["posterior"]
    theta = post["theta"].values.reshape(-1, M)
    se = fit.estimates["sd"].values / np.sqrt(theta.shape[0])
    assert np.abs((theta.mean(axis=0) - fit.estimates["estimate"].values) / se).max() < 4.5
    assert float(post["sigma"].mean()) == pytest.approx(fit.sigma, abs=4.5 * fit.sigma_sd / 63)
    below = (theta < fit.estimates["lower"].values).mean(axis=0)
    assert np.abs(below - 0.025).max() < 4.5 * np.sqrt(0.025 * 0.975 / theta.shape[0])
    again = bym2(y, D, X[:, 1:], adjacency=adj, draws=4000, random_seed=3)
    np.testing.assert_array_equal(again.idata["posterior"]["theta"].values,
                                  post["theta"].values)


def test_equivariant_under_change_of_units(problem):
    adj, y, D, X, _ = problem
    base = bym2(y, D, X[:, 1:], adjacency=adj)
    for a in (1e-3, 1e3):
        fit = bym2(a * y + 5.0 * a, a * a * D, X[:, 1:], adjacency=adj)
        for name in ("estimate", "sd", "lower", "upper"):
            shift = 5.0 * a if name in ("estimate", "lower", "upper") else 0.0
            np.testing.assert_allclose(fit.estimates[name], a * base.estimates[name] + shift,
                                       rtol=1e-6, atol=1e-6 * a)
        assert fit.phi == pytest.approx(base.phi, rel=1e-6)


# --------------------------------------------------------------------------------------------
# Inputs and result
# --------------------------------------------------------------------------------------------


def test_adjacency_formats_give_the_same_fit(problem):
    adj, y, D, X, _ = problem
    labels = [f"A{i:02d}" for i in range(M)]
    named = Adjacency(np.array(labels), adj.weights)
    # The one-dimensional ICAR fit is quick and uses the same adjacency handling.
    ref = bym2(y, D, X[:, 1:], adjacency=named, areas=labels,
               model="icar").estimates["estimate"].values
    pairs = pd.DataFrame([(labels[i], labels[j]) for i, j in PAIRS], columns=["a", "b"])
    dense = adj.to_dense()
    order = np.random.default_rng(0).permutation(M)
    shuffled = pd.DataFrame(dense[np.ix_(order, order)], index=np.array(labels)[order],
                            columns=np.array(labels)[order])
    row_standardised = adj.row_standardised().toarray()      # as R's sae takes it: binary again
    for given in (pairs, dense, sp.csr_array(dense), shuffled, named.subset(labels[::-1]),
                  row_standardised):
        est = bym2(y, D, X[:, 1:], adjacency=given, areas=labels, model="icar").estimates
        np.testing.assert_allclose(est["estimate"].values, ref, rtol=1e-10)
    frame = pd.DataFrame({"csp": labels, "rate": y, "var": D, "deprivation": X[:, 1]})
    est = bym2("rate", "var", ["deprivation"], data=frame, areas="csp", adjacency=pairs,
               model="icar").estimates
    np.testing.assert_allclose(est["estimate"].values, ref, rtol=1e-10)
    assert est["area"].values.tolist() == labels


@pytest.mark.parametrize("bad, message", [
    (lambda adj, labels: Adjacency(np.array([*labels[:-1], "ZZ"]), adj.weights),
     r"not in the data: \['ZZ'\].*missing from it: \['A29'\]"),
    (lambda adj, labels: adj.subset(list(range(M - 1))) and Adjacency(
        np.array(labels[:-1]), adj.subset(list(range(M - 1))).weights),
     r"missing from it: \['A29'\]"),
    (lambda adj, labels: [("A00", "A01"), ("A01", "Nowhere")], r"Nowhere"),
    (lambda adj, labels: pd.DataFrame(adj.to_dense()[:-1, :-1], index=labels[:-1],
                                      columns=labels[:-1]), r"missing from it: \['A29'\]"),
    (lambda adj, labels: np.eye(4)[:, :3], r"square"),
    (lambda adj, labels: np.ones((5, 5)) - np.eye(5), r"must be 30 × 30"),
    (lambda adj, labels: np.triu(adj.to_dense()), r"not symmetric"),
    (lambda adj, labels: None, r"`adjacency` is required"),
])
def test_bad_adjacency_is_an_input_error(problem, bad, message):
    adj, y, D, X, _ = problem
    labels = [f"A{i:02d}" for i in range(M)]
    with pytest.raises(InputError, match=message):
        bym2(y, D, X[:, 1:], adjacency=bad(adj, labels), areas=labels)


@pytest.mark.parametrize("kwargs, message", [
    ({"model": "leroux"}, r"`model` must be one of"),
    ({"phi_prior": (0.0, 1.0)}, r"positive and finite"),
    ({"phi_prior": "uniform"}, r"Beta prior"),
    ({"model": "icar", "phi_prior": (2.0, 2.0)}, r"only to model='bym2'"),
    ({"prior": 0.5}, r"`prior` must be"),
    ({"draws": -1}, r"`draws` must be"),
    ({"level": 1.5}, r"`level` must be in"),
])
def test_bad_options_are_input_errors(problem, kwargs, message):
    adj, y, D, X, _ = problem
    with pytest.raises(InputError, match=message):
        bym2(y, D, X[:, 1:], adjacency=adj, **kwargs)


def test_bad_data_are_input_errors(problem):
    adj, y, D, X, _ = problem
    bad = D.copy()
    bad[0] = -1.0
    with pytest.raises(InputError, match="positive"):
        bym2(y, bad, adjacency=adj)
    only_one = y.copy()
    only_one[0] = np.nan
    with pytest.raises(InputError, match="missing together"):
        bym2(only_one, D, adjacency=adj)
    with pytest.raises(InputError, match="at least"):
        bym2(y[:4], D[:4], adjacency=[(0, 1), (1, 2), (2, 3)])


def test_result_reads_like_the_fay_herriot_result(problem, tmp_path):
    adj, y, D, X, _ = problem
    fit = bym2(y, D, X[:, 1:], adjacency=adj, prior=HalfCauchy(scale=1.0), phi_prior=(2, 2))
    assert isinstance(fit, BYM2Result)
    assert fit.method == "hb" and fit.level == 0.95
    est = fit.estimates
    for name in ("estimate", "sd", "rmse", "lower", "upper", "cv", "direct", "direct_variance",
                 "synthetic", "area_effect", "in_sample", "component", "island"):
        assert name in est and est[name].dims == ("area",)
    assert est["lower"].attrs["level"] == 0.95
    assert (est["lower"] < est["estimate"]).all() and (est["estimate"] < est["upper"]).all()
    assert fit.sigma_interval[0] < fit.sigma < fit.sigma_interval[1]
    assert fit.phi_interval[0] < fit.phi < fit.phi_interval[1]
    assert fit.coefficients().shape == (2, 4)
    text = fit.summary()
    assert "BYM2" in text and "islands=1" in text and "components=3" in text
    assert "Beta(2, 2)" in fit.diagnostics["prior_phi"]
    assert json.loads(fit.to_json())["scaling_factors"] == {"0": fit.scaling_factors[0],
                                                            "1": fit.scaling_factors[1]}
    fit.to_netcdf(tmp_path / "bym2.nc")
    with xr.open_dataset(tmp_path / "bym2.nc") as back:
        np.testing.assert_allclose(back["estimate"].values, est["estimate"].values)


# --------------------------------------------------------------------------------------------
# 2. An independent sampled cross-check (PyMC NUTS), and 3. simulation with known truth
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_nuts_cross_check(problem):
    """PyMC's own NUTS on the same model, written independently: the field as U sqrt(L) z from
    the eigen-decomposition of the dense prior covariance, the iid part integrated out."""
    import arviz as az
    import pymc as pm

    adj, y, D, X, prior_cov = problem
    inside = ~np.isnan(y)
    values, vectors = np.linalg.eigh(prior_cov)
    keep = values > 1e-9
    root = vectors[:, keep] * np.sqrt(values[keep])          # prior_cov = root root'
    with pm.Model():
        beta = pm.Flat("beta", shape=2)
        sigma = pm.HalfFlat("sigma")
        pm.Potential("flat_variance_jacobian", pm.math.log(sigma))
        phi = pm.Uniform("phi", 0.0, 1.0)
        z = pm.Normal("z", 0.0, 1.0, shape=int(keep.sum()))
        u = pm.math.dot(root, z)
        eta = pm.math.dot(X, beta) + sigma * pm.math.sqrt(phi) * u
        pm.Deterministic("eta", eta)
        pm.Normal("direct", mu=eta[inside],
                  sigma=pm.math.sqrt(D[inside] + sigma**2 * (1.0 - phi)), observed=y[inside])
        idata = pm.sample(draws=2000, tune=2000, chains=2, cores=1, nuts_sampler="pymc",
                          random_seed=11, progressbar=False, target_accept=0.95,
                          compute_convergence_checks=False)
    post = idata["posterior"]
    assert int(idata["sample_stats"]["diverging"].sum()) < 20
    s2 = post["sigma"].values ** 2
    a = s2 * (1.0 - post["phi"].values)
    eta = post["eta"].values
    gamma = a[..., None] / (a[..., None] + np.where(inside, D, np.inf))
    # E(theta | eta, sigma, phi, y): Rao-Blackwellised per draw.
    theta_mean = np.where(inside, (1.0 - gamma) * eta + gamma * np.nan_to_num(y), eta)
    draws = az.from_dict({"posterior": {"theta": theta_mean, "sigma": post["sigma"].values,
                                        "phi": post["phi"].values}},
                         dims={"theta": ["area"]})
    ess = az.ess(draws["posterior"], method="mean")
    fit = bym2(y, D, X[:, 1:], adjacency=adj)
    mc_se = fit.estimates["sd"].values / np.sqrt(ess["theta"].values)
    diff = (theta_mean.mean(axis=(0, 1)) - fit.estimates["estimate"].values) / mc_se
    print(f"NUTS: max |diff| {np.abs(diff).max():.2f} MC SE; sigma {post['sigma'].mean():.4f} "
          f"vs {fit.sigma:.4f} (ESS {float(ess['sigma']):.0f}); phi {post['phi'].mean():.4f} vs "
          f"{fit.phi:.4f} (ESS {float(ess['phi']):.0f}); min ESS of the areas "
          f"{ess['theta'].values.min():.0f}; divergences "
          f"{int(idata['sample_stats']['diverging'].sum())}")
    assert np.abs(diff).max() < 4.0
    for name, exact, spread in (("sigma", fit.sigma, fit.sigma_sd), ("phi", fit.phi, fit.phi_sd)):
        se = spread / np.sqrt(float(ess[name]))
        assert abs(float(post[name].mean()) - exact) < 4.0 * se


@pytest.mark.slow
def test_simulation_on_the_csp_geography(data_dir):
    """Known truth on the real 314-CSP adjacency (2 islands, 3 components): BYM2 effects with
    sigma = 0.6, phi = 0.8, one covariate, sampling variances 0.1 to 1, and 30 CSPs (drawn
    afresh each time) without a sample. 90% intervals cover within 2 MC SEs, in and out of
    sample, and the RMSE beats the direct estimates and the basic FH (REML)."""
    from crimestats.sae import fay_herriot

    lookup = pd.read_csv(data_dir / "sae" / "lad17_csp17_pfa17_lookup.csv", encoding="utf-8-sig")
    areas = np.sort(lookup["CSP17CD"].unique())
    adj = adjacency_from_pairs(pd.read_csv(data_dir / "sae" / "csp17_adjacency.csv"),
                               areas=areas)
    icar = icar_structure(adj)
    m, reps = adj.n_areas, 150
    rng = np.random.default_rng(2026)
    x = rng.normal(size=m)
    D_all = rng.uniform(0.1, 1.0, size=m)
    cover_in, cover_out, cover_icar = [], [], []
    sq = {name: [] for name in ("bym2", "icar", "fh", "direct", "bym2_out", "fh_out")}
    for _ in range(reps):
        field = icar.sample_prior(np.arange(m), 1, rng)[0]
        theta = 1.0 + 0.5 * x + 0.6 * (np.sqrt(0.8) * field + np.sqrt(0.2) * rng.normal(size=m))
        y = theta + rng.normal(size=m) * np.sqrt(D_all)
        D = D_all.copy()
        out = np.zeros(m, dtype=bool)
        out[rng.choice(m, size=30, replace=False)] = True
        y[out] = D[out] = np.nan
        est = bym2(y, D, x[:, None], adjacency=adj, areas=areas, level=0.9).estimates
        inside = (est["lower"].values <= theta) & (theta <= est["upper"].values)
        cover_in.append(inside[~out].mean())
        cover_out.append(inside[out].mean())
        err = est["estimate"].values - theta
        sq["bym2"].append(np.mean(err[~out] ** 2))
        sq["bym2_out"].append(np.mean(err[out] ** 2))
        icar_est = bym2(y, D, x[:, None], adjacency=adj, areas=areas, level=0.9,
                        model="icar").estimates
        cover_icar.append(((icar_est["lower"].values <= theta)
                           & (theta <= icar_est["upper"].values))[~out].mean())
        sq["icar"].append(np.mean((icar_est["estimate"].values - theta)[~out] ** 2))
        fh_err = fay_herriot(y, D, x[:, None], method="reml").estimates["estimate"].values - theta
        sq["fh"].append(np.mean(fh_err[~out] ** 2))
        sq["fh_out"].append(np.mean(fh_err[out] ** 2))
        sq["direct"].append(np.mean((y - theta)[~out] ** 2))

    def mean_se(values):
        values = np.asarray(values)
        return float(values.mean()), float(values.std(ddof=1) / np.sqrt(reps))

    (c_in, se_in), (c_out, se_out) = mean_se(cover_in), mean_se(cover_out)
    rmse = {k: round(float(np.sqrt(np.mean(v))), 4) for k, v in sq.items()}
    print(f"coverage in sample {c_in:.4f} (MC SE {se_in:.4f}), out of sample {c_out:.4f} "
          f"(MC SE {se_out:.4f}); ICAR (misspecified) in sample {mean_se(cover_icar)}; "
          f"RMSE {rmse}")
    assert abs(c_in - 0.9) < 2.0 * se_in
    assert abs(c_out - 0.9) < 2.0 * se_out
    assert rmse["bym2"] < rmse["fh"] < rmse["direct"]
    assert rmse["bym2_out"] < rmse["fh_out"]
    # The gain over FH is systematic, not a few lucky replicates.
    for ours, theirs in (("bym2", "fh"), ("bym2_out", "fh_out")):
        gain = np.array(sq[theirs]) - np.array(sq[ours])
        assert gain.mean() > 3.0 * gain.std(ddof=1) / np.sqrt(reps)


def test_simulated_effects_follow_the_bym2_prior():
    """Per-area variances sigma^2 ((1 - phi) + phi * scaled ICAR variance); components sum
    to zero when phi = 1; the same seed gives the same draws."""
    from crimestats.sae import adjacency_from_pairs, simulate_bym2_effects
    from crimestats.sae.spatial.icar import icar_structure

    pairs = grid_pairs(4, 5) + grid_pairs(3, 3, offset=20)        # two components + island 29
    adj = adjacency_from_pairs(pairs, areas=range(30))
    draws = simulate_bym2_effects(adj, sigma=0.8, phi=0.6, size=40_000, random_seed=3)
    assert draws.shape == (40_000, 30)
    expected = 0.64 * (0.4 + 0.6 * icar_structure(adj).prior_variance)
    # relative MC SE of a variance from 40,000 draws: sqrt(2 / 40,000) = 0.7%
    np.testing.assert_allclose(draws.var(axis=0), expected, rtol=0.035)
    icar_only = simulate_bym2_effects(adj, sigma=0.8, phi=1.0, size=5, random_seed=4)
    assert np.abs(icar_only[:, :20].sum(axis=1)).max() < 1e-12
    assert np.abs(icar_only[:, 20:29].sum(axis=1)).max() < 1e-12
    np.testing.assert_array_equal(simulate_bym2_effects(adj, random_seed=5),
                                  simulate_bym2_effects(adj, random_seed=5))
    with pytest.raises(InputError, match="phi"):
        simulate_bym2_effects(adj, phi=1.5)
    # the neighbour pairs bym2 accepts give the same draws (area 29, in no pair, is named)
    np.testing.assert_array_equal(simulate_bym2_effects(pairs, areas=range(30), random_seed=5),
                                  simulate_bym2_effects(adj, random_seed=5))
    assert simulate_bym2_effects(pairs, random_seed=5).shape == (29,)   # the paired areas
    with pytest.raises(InputError, match="not symmetric"):
        simulate_bym2_effects(np.triu(adj.to_dense()))
