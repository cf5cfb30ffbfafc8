"""Hierarchical Bayes Fay–Herriot (`fay_herriot(..., method="hb")`, `crimestats.sae._hb`).

The exact fit integrates sigma_u by quadrature and uses the Gaussian conditionals of beta and
theta. It is checked against computations that share none of its formulas: (1) adaptive
quadrature over sigma2_u of conditionals obtained from the dense joint precision matrix of
(theta, beta); (2) brute-force 2-D integration over (sigma_u, beta) of the joint posterior.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

import crimestats
from crimestats.sae import FlatSD, FlatVariance, HalfCauchy, HalfNormal, fay_herriot
from crimestats.sae.area_level import hb
from crimestats.sae.area_level.hb import fit_hb


def _fit(y, D, X, **kwargs):
    kwargs.setdefault("draws", 0)
    names = tuple(f"x{j}" for j in range(X.shape[1]))
    return fit_hb(np.asarray(y, float), np.asarray(D, float), X, areas=np.arange(len(y)),
                  covariate_names=names, **kwargs)


def _problem(rng, m=15, p=3, n_out=1, s2u=0.6):
    X = np.column_stack([np.ones(m), rng.normal(size=(m, p - 1))])
    D = rng.uniform(0.2, 1.5, m)
    theta = X @ rng.normal(size=p) + rng.normal(0, math.sqrt(s2u), m)
    y = theta + rng.normal(0, np.sqrt(D))
    y[m - n_out:] = np.nan
    D[m - n_out:] = np.nan
    return y, D, X


# ------------------------------------------------------------------------------------------
# Exactness


def _dense_conditional(y, D, X, A):
    """log p(y | A) (flat beta, up to a constant), and the moments of theta, beta | A, y.

    Dense (m + p)^2 algebra that shares nothing with the fit: write theta = X beta + sqrt(A) v
    with v ~ N(0, I) and beta flat, so that y_obs = X_obs beta + sqrt(A) v_obs + e; the
    precision of z = (v, beta) is diag(I, 0) + G' D^-1 G with G = [sqrt(A) E_obs, X_obs]
    (well conditioned for every A >= 0), and p(y | A) is proportional to
    |Q|^(-1/2) exp(b' Q^-1 b / 2), b = G' D^-1 y.
    """
    m, p = X.shape
    obs = np.flatnonzero(~np.isnan(y))
    G = np.zeros((obs.size, m + p))
    G[np.arange(obs.size), obs] = math.sqrt(A)
    G[:, m:] = X[obs]
    Q = G.T @ (G / D[obs, None])
    Q[np.arange(m), np.arange(m)] += 1.0
    b = G.T @ (y[obs] / D[obs])
    chol = np.linalg.cholesky(Q)
    cov_z = np.linalg.inv(Q)
    mean_z = cov_z @ b
    loglik = -np.log(np.diag(chol)).sum() + 0.5 * b @ mean_z
    T = np.zeros((m + p, m + p))  # (theta, beta) = T z
    T[:m, :m] = math.sqrt(A) * np.eye(m)
    T[:m, m:] = X
    T[m:, m:] = np.eye(p)
    return loglik, T @ mean_z, T @ cov_z @ T.T


def _reference_by_quadrature(y, D, X, log_prior_sigma, lower, upper, interval_A):
    """Posterior summaries by adaptive quadrature over sigma_u (scipy.integrate.quad_vec)."""
    m, p = X.shape

    def log_post(sigma):
        return log_prior_sigma(sigma) + _dense_conditional(y, D, X, sigma**2)[0]

    # Locate the bulk independently: a crude scan, then integrate from zero to where the log
    # density is 60 below its maximum.
    grid = np.geomspace(1e-4, 1e4, 400)
    lp = np.array([log_post(s) for s in grid])
    top = lp.max()
    lo, hi = 0.0, 2 * grid[lp > top - 60][-1]
    mode = grid[np.argmax(lp)]

    def integrand(sigma):
        A = sigma**2
        loglik, mean, cov = _dense_conditional(y, D, X, A)
        dens = math.exp(log_prior_sigma(sigma) + loglik - top)
        sd = np.sqrt(np.diag(cov))
        th_mean, th_sd = mean[:m], sd[:m]
        return dens * np.concatenate([
            [1.0, A, A**2, float(A <= interval_A[0]), float(A <= interval_A[1])],
            mean[m:], mean[m:] ** 2 + sd[m:] ** 2,
            th_mean, th_mean**2 + th_sd**2,
            stats.norm.cdf((lower - th_mean) / th_sd), stats.norm.cdf((upper - th_mean) / th_sd),
        ])

    total = np.zeros(5 + 2 * p + 4 * m)
    edges = [lo, mode, math.sqrt(interval_A[0]), math.sqrt(interval_A[1]), hi]
    edges = sorted(e for e in edges if lo <= e <= hi)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        total += integrate.quad_vec(integrand, a, b, epsabs=0, epsrel=1e-12, norm="max")[0]
    total /= total[0]
    out = {"A": total[1], "A_sd": math.sqrt(total[2] - total[1] ** 2),
           "A_cdf": total[3:5]}
    k = 5
    out["beta"] = total[k:k + p]
    out["beta_sd"] = np.sqrt(total[k + p:k + 2 * p] - out["beta"] ** 2)
    k += 2 * p
    out["theta"] = total[k:k + m]
    out["theta_sd"] = np.sqrt(total[k + m:k + 2 * m] - out["theta"] ** 2)
    k += 2 * m
    out["cdf_lower"], out["cdf_upper"] = total[k:k + m], total[k + m:k + 2 * m]
    return out


@pytest.mark.parametrize("prior", [FlatVariance(), FlatSD(), HalfCauchy(scale=0.5),
                                   HalfNormal(scale=2.0)], ids=str)
def test_exact_against_dense_quadrature(prior, rng):
    y, D, X = _problem(rng, m=16, p=3, n_out=2)
    fit = _fit(y, D, X, prior=prior, level=0.9)
    est = fit.estimates
    ref = _reference_by_quadrature(
        y, D, X, lambda s: float(prior.log_density(np.array([s]))[0]),
        est["lower"].values, est["upper"].values, fit.diagnostics["sigma2_u_interval"])
    assert fit.sigma2_u == pytest.approx(ref["A"], rel=1e-9)
    assert fit.diagnostics["sigma2_u_sd"] == pytest.approx(ref["A_sd"], rel=1e-8)
    np.testing.assert_allclose(ref["A_cdf"], [0.05, 0.95], atol=1e-6)
    np.testing.assert_allclose(fit.beta, ref["beta"], rtol=0, atol=1e-9 * ref["beta_sd"].max())
    np.testing.assert_allclose(fit.beta_se, ref["beta_sd"], rtol=1e-8)
    np.testing.assert_allclose(est["estimate"], ref["theta"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(est["sd"], ref["theta_sd"], rtol=1e-8)
    # The interval ends are the 5% and 95% quantiles of the exact posterior.
    np.testing.assert_allclose(ref["cdf_lower"], 0.05, atol=1e-9)
    np.testing.assert_allclose(ref["cdf_upper"], 0.95, atol=1e-9)


def test_exact_against_brute_force_2d_integration():
    """Intercept-only model: integrate the joint posterior of (sigma_u, beta) on a fine grid."""
    y = np.array([1.9, 0.4, 1.2, 2.6, 0.8, 1.5, 0.1, np.nan])
    D = np.array([0.5, 0.3, 0.9, 0.6, 0.2, 0.4, 0.8, np.nan])
    fit = _fit(y, D, np.ones((8, 1)), level=0.8)
    obs = ~np.isnan(y)

    # sigma = s u / (1 - u) on u in (0, 1); beta = centre + half_width(sigma) z on z in (-1, 1).
    u, wu = np.polynomial.legendre.leggauss(400)
    u, wu = 0.5 * (u + 1), 0.5 * wu
    s = 1.0
    sigma = s * u / (1 - u)
    jac_sigma = s / (1 - u) ** 2
    z, wz = np.polynomial.legendre.leggauss(150)
    centre = y[obs].mean()
    half = 14.0 * np.sqrt((sigma**2 + D[obs].max()) / obs.sum())
    beta = centre + half[:, None] * z[None, :]
    A = (sigma**2)[:, None, None]
    var = A + D[obs]
    resid = y[obs] - beta[:, :, None]
    log_lik = -0.5 * (np.log(var) + resid**2 / var).sum(axis=2)
    log_prior = np.log(sigma)[:, None]  # flat on sigma2_u, in sigma_u
    log_dens = log_lik + log_prior
    weight = np.exp(log_dens - log_dens.max()) * (wu * jac_sigma * half)[:, None] * wz[None, :]
    weight /= weight.sum()
    A2 = sigma[:, None] ** 2
    gamma = A2[:, :, None] / (A2[:, :, None] + D[obs])
    mean_in = gamma * y[obs] + (1 - gamma) * beta[:, :, None]
    var_in = gamma * D[obs]
    e_theta = np.einsum("kj,kji->i", weight, mean_in)
    sd_theta = np.sqrt(np.einsum("kj,kji->i", weight, var_in + mean_in**2) - e_theta**2)
    lower = fit.estimates["lower"].values
    cdf_lower = np.einsum("kj,kji->i", weight,
                          special.ndtr((lower[obs] - mean_in) / np.sqrt(var_in)))
    e_beta = float((weight * beta).sum())
    e_A = float((weight * A2).sum())
    # Out-of-sample area: theta = beta + u, u ~ N(0, sigma2_u).
    sd_out = math.sqrt(e_A + float((weight * beta**2).sum()) - e_beta**2)

    assert fit.sigma2_u == pytest.approx(e_A, rel=1e-10)
    assert fit.beta[0] == pytest.approx(e_beta, abs=1e-10)
    np.testing.assert_allclose(fit.estimates["estimate"].values[obs], e_theta, atol=1e-10)
    np.testing.assert_allclose(fit.estimates["sd"].values[obs], sd_theta, rtol=1e-9)
    # The grid integrates the CDF less well (its integrand becomes a step in beta as
    # sigma_u -> 0): 1.1e-5 here, 1.2e-6 on a 800 x 300 grid. The quantiles are checked to
    # 1e-9 against the dense quadrature above.
    np.testing.assert_allclose(cdf_lower, 0.1, atol=3e-5)
    assert fit.estimates["estimate"].values[-1] == pytest.approx(e_beta, abs=1e-10)
    assert fit.estimates["sd"].values[-1] == pytest.approx(sd_out, rel=1e-9)


def test_posterior_draws_follow_the_exact_posterior():
    """Independent draws: their means and tail frequencies match the exact summaries."""
    y, D, X = _problem(np.random.default_rng(5), m=30, p=2, n_out=1)
    n = 20_000
    fit = _fit(y, D, X, draws=n, random_seed=3, level=0.9)
    post = fit.idata["posterior"]
    A = post["sigma2_u"].values.ravel()
    theta = post["theta"].values.reshape(n, -1)
    beta = post["beta"].values.reshape(n, -1)
    est = fit.estimates
    # Monte Carlo error bound: 4.5 standard errors (all comparisons together fail by chance
    # with probability < 1e-3).
    se = est["sd"].values / math.sqrt(n)
    assert np.all(np.abs(theta.mean(axis=0) - est["estimate"].values) < 4.5 * se)
    assert np.all(np.abs(beta.mean(axis=0) - fit.beta) < 4.5 * fit.beta_se / math.sqrt(n))
    sd_A = fit.diagnostics["sigma2_u_sd"]
    assert abs(A.mean() - fit.sigma2_u) < 4.5 * sd_A / math.sqrt(n)
    below = (theta < est["lower"].values).mean(axis=0)
    assert np.all(np.abs(below - 0.05) < 4.5 * math.sqrt(0.05 * 0.95 / n))
    lo, hi = fit.diagnostics["sigma2_u_interval"]
    assert abs((A < lo).mean() - 0.05) < 4.5 * math.sqrt(0.05 * 0.95 / n)
    assert abs((A > hi).mean() - 0.05) < 4.5 * math.sqrt(0.05 * 0.95 / n)


@pytest.mark.parametrize("m, p, signal, prior", [
    (8, 1, 0.01, FlatVariance()), (12, 3, 100.0, HalfNormal(1.0)), (30, 2, 0.0, FlatSD()),
    (200, 2, 1.0, FlatVariance()), (2000, 3, 0.01, HalfCauchy(1.0)), (2000, 2, 0.0, FlatSD()),
])
def test_adaptive_choices_match_a_fine_fixed_grid(m, p, signal, prior, monkeypatch):
    """The adaptive node count and the short Gauss rule for the area mixtures lose nothing
    against 512 nodes used throughout, from tiny to large m, sigma2_u = 0 to 100 D, and
    sampling variances spread over three orders of magnitude."""
    rng = np.random.default_rng(m + p)
    X = np.column_stack([np.ones(m), rng.normal(size=(m, p - 1))])
    D = np.exp(rng.uniform(0, math.log(1000), m))
    y = X @ rng.normal(size=p) + rng.normal(0, math.sqrt(signal * np.median(D)), m)
    y += rng.normal(0, np.sqrt(D))
    y[:1], D[:1] = np.nan, np.nan
    fit = _fit(y, D, X, prior=prior, level=0.9)
    monkeypatch.setattr(hb, "_MIN_NODES", 512)
    monkeypatch.setattr(hb, "_MAX_NODES", 512)
    monkeypatch.setattr(hb, "_area_rule", lambda post, t, w, A, b, V, *args: (w, A, b, V))
    ref = _fit(y, D, X, prior=prior, level=0.9)
    sd = ref.estimates["sd"].values
    assert fit.sigma2_u == pytest.approx(ref.sigma2_u, rel=1e-12)
    for name in ("estimate", "lower", "upper"):
        assert np.max(np.abs(fit.estimates[name].values - ref.estimates[name].values) / sd) < 1e-8
    np.testing.assert_allclose(fit.estimates["sd"].values, sd, rtol=1e-10)


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_equivariant_under_change_of_units(scale):
    """Flat priors are scale-free: y -> a y + b moves every summary exactly along."""
    y, D, X = _problem(np.random.default_rng(2), m=25, p=2)
    base = _fit(y, D, X)
    moved = _fit(scale * y + 3.0 * scale, scale**2 * D, X)
    for name in ("estimate", "lower", "upper", "synthetic"):
        np.testing.assert_allclose(moved.estimates[name], scale * base.estimates[name] + 3.0 * scale,
                                   rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(moved.estimates["sd"], scale * base.estimates["sd"], rtol=1e-9)
    np.testing.assert_allclose(moved.estimates["shrinkage"], base.estimates["shrinkage"],
                               rtol=1e-9)
    assert moved.sigma2_u == pytest.approx(scale**2 * base.sigma2_u, rel=1e-9)


# ------------------------------------------------------------------------------------------
# Agreement with the EBLUP


def _milk(data_dir):
    milk = pd.read_csv(data_dir / "sae" / "milk.csv")
    X = np.column_stack([np.ones(len(milk)),
                         pd.get_dummies(milk["MajorArea"], drop_first=True).to_numpy(float)])
    return milk, X


def test_milk_close_to_reml_eblup(data_dir):
    """HB on milk is close to R sae's REML EBLUP.

    The two differ only through sigma2_u: REML plugs in its estimate (0.0186), HB averages over
    the posterior (mean 0.0227, SD 0.0094). Posterior mean and EBLUP then agree to O(1/m)
    (Datta, Rao and Smith 2005): 0.10 posterior SD at most on milk (m = 43). The bound 0.15
    posterior SD leaves room for rounding only; a wrong shrinkage factor or coefficient moves
    estimates by a sizeable fraction of an SD. The posterior SDs, which add the uncertainty of
    sigma2_u, are within -3% and +8% of the Prasad-Rao root MSE.
    """
    milk, X = _milk(data_dir)
    ref = pd.read_csv(data_dir / "sae" / "milk_FH_REML_PRECISION1e-12_eblup_mse.csv")
    fit = _fit(milk["yi"], milk["SD"] ** 2, X)
    est = fit.estimates
    diff = np.abs(est["estimate"].values - ref["eblup"].values)
    assert diff.max() < 0.0125  # 0.01244 measured
    assert (diff / est["sd"].values).max() < 0.15
    ratio = est["sd"].values / np.sqrt(ref["mse"].values)
    assert 0.95 < ratio.min() and ratio.max() < 1.10
    fit_ref = pd.read_csv(data_dir / "sae" / "milk_FH_PRECISION1e-12_fit.csv")
    beta_reml = fit_ref.loc[fit_ref["method"] == "REML", "beta"].to_numpy(float)
    assert np.all(np.abs(fit.beta - beta_reml) < 0.1 * fit.beta_se)
    reml = float(fit_ref.loc[fit_ref["method"] == "REML", "refvar"].iloc[0])
    lo, hi = fit.diagnostics["sigma2_u_interval"]
    assert lo < reml < hi


def test_converges_to_eblup_as_areas_grow():
    """With many areas the posterior of sigma2_u concentrates and HB -> REML EBLUP."""
    rng = np.random.default_rng(11)
    m = 3000
    X = np.column_stack([np.ones(m), rng.normal(size=m)])
    D = rng.uniform(0.3, 2.0, m)
    y = X @ [1.0, 0.5] + rng.normal(0, 1.0, m) + rng.normal(0, np.sqrt(D))
    hb = fay_herriot(y, D, X[:, 1], method="hb", random_seed=1, draws=0)
    reml = fay_herriot(y, D, X[:, 1], method="reml")
    diff = np.abs(hb.estimates["estimate"] - reml.estimates["estimate"]) / hb.estimates["sd"]
    assert float(diff.max()) < 0.01
    ratio = hb.estimates["sd"] / reml.estimates["rmse"]
    assert 0.995 < float(ratio.min()) and float(ratio.max()) < 1.005
    assert hb.sigma2_u == pytest.approx(reml.sigma2_u, rel=0.02)


# ------------------------------------------------------------------------------------------
# Public entry point, out-of-sample areas, seeds, ArviZ data


def test_public_entry_point(data_dir):
    milk, _ = _milk(data_dir)
    covariates = pd.get_dummies(milk["MajorArea"].astype(str), drop_first=True).astype(float)
    fit = fay_herriot(milk["yi"], milk["SD"] ** 2, covariates, method="hb", random_seed=1,
                      level=0.9)
    assert fit.method == "hb"
    assert fit.estimates.attrs["level"] == 0.9
    assert fit.estimates["lower"].attrs["level"] == 0.9
    assert fit.beta.shape == (4,) and fit.beta_se.shape == (4,)
    assert np.all(fit.estimates["lower"] < fit.estimates["estimate"])
    assert np.all(fit.estimates["estimate"] < fit.estimates["upper"])
    np.testing.assert_array_equal(fit.estimates["rmse"], fit.estimates["sd"])
    assert fit.diagnostics["independent_draws"] is True
    json.dumps(fit.to_dict())
    assert "sigma2_u" in fit.summary()
    with_prior = fay_herriot(milk["yi"], milk["SD"] ** 2, covariates, method="hb",
                             prior=HalfCauchy(scale=0.5), draws=0)
    assert with_prior.diagnostics["prior"] == "sigma_u ~ HalfCauchy(scale=0.5)"
    assert with_prior.idata is None
    lean = fay_herriot(milk["yi"], milk["SD"] ** 2, covariates, method="hb", draws=30,
                       theta_draws=False, random_seed=1)
    assert lean.diagnostics["theta_draws"] is False
    assert "theta" not in lean.idata["posterior"]
    with pytest.raises(crimestats.InputError, match="only to method='hb'"):
        fay_herriot(milk["yi"], milk["SD"] ** 2, covariates, method="reml", sampler="nuts")


def test_out_of_sample_areas_get_posterior_predictions(rng):
    y, D, X = _problem(rng, m=20, p=2, n_out=3)
    fit = _fit(y, D, X, draws=200, random_seed=4)
    est = fit.estimates
    out = ~est["in_sample"].values
    assert out.sum() == 3
    assert np.all(np.isfinite(est["estimate"])) and np.all(np.isfinite(est["sd"]))
    # theta = x'beta + u out of sample: mean x'E(beta), variance E(sigma2_u) + x' Cov(beta) x.
    np.testing.assert_allclose(est["estimate"].values[out], X[out] @ fit.beta, rtol=1e-12)
    theta_draws = fit.idata["posterior"]["theta"].values.reshape(200, -1)
    assert np.all(np.isfinite(theta_draws[:, out]))
    np.testing.assert_array_equal(est["shrinkage"].values[out], 1.0)
    assert np.all(est["sd"].values[out] > np.sqrt(fit.sigma2_u))
    # Adding out-of-sample areas changes nothing for the others.
    alone = _fit(y[~out], D[~out], X[~out])
    np.testing.assert_allclose(alone.estimates["estimate"], est["estimate"].values[~out],
                               rtol=1e-12)
    np.testing.assert_allclose(alone.estimates["upper"], est["upper"].values[~out], rtol=1e-12)


def test_out_of_sample_variance_identity():
    """Intercept only: Var(theta_new | y) = E(sigma2_u | y) + Var(beta | y)."""
    y = np.array([1.9, 0.4, 1.2, 2.6, 0.8, 1.5, 0.1, np.nan])
    D = np.array([0.5, 0.3, 0.9, 0.6, 0.2, 0.4, 0.8, np.nan])
    fit = _fit(y, D, np.ones((8, 1)))
    sd_new = float(fit.estimates["sd"][-1])
    assert sd_new**2 == pytest.approx(fit.sigma2_u + fit.beta_se[0] ** 2, rel=1e-12)


def test_same_seed_same_draws():
    y, D, X = _problem(np.random.default_rng(8), m=12, p=2)
    a = _fit(y, D, X, draws=50, random_seed=7)
    b = _fit(y, D, X, draws=50, random_seed=7)
    c = _fit(y, D, X, draws=50, random_seed=8)
    for name in ("sigma2_u", "beta", "theta"):
        np.testing.assert_array_equal(a.idata["posterior"][name], b.idata["posterior"][name])
        assert not np.array_equal(a.idata["posterior"][name], c.idata["posterior"][name])
    g = _fit(y, D, X, draws=50, random_seed=np.random.default_rng(7))
    np.testing.assert_array_equal(g.idata["posterior"]["theta"], a.idata["posterior"]["theta"])
    # The exact summaries do not depend on the seed.
    np.testing.assert_array_equal(a.estimates["estimate"], c.estimates["estimate"])


def test_idata_layout_and_theta_draws_option(monkeypatch):
    y, D, X = _problem(np.random.default_rng(9), m=12, p=2)
    fit = _fit(y, D, X, draws=40, random_seed=1)
    post = fit.idata["posterior"]
    assert post["sigma2_u"].dims == ("chain", "draw")
    assert post["beta"].dims == ("chain", "draw", "coef")
    assert post["theta"].dims == ("chain", "draw", "area")
    assert list(post["coef"].values) == ["x0", "x1"]
    assert post.sizes["draw"] == 40 and post.sizes["chain"] == 1
    # Draws of beta do not depend on whether theta draws are kept.
    lean = _fit(y, D, X, draws=40, random_seed=1, theta_draws=False)
    assert "theta" not in lean.idata["posterior"]
    assert lean.diagnostics["theta_draws"] is False
    np.testing.assert_array_equal(lean.idata["posterior"]["beta"], post["beta"])
    # By default theta draws are skipped when draws x areas is large (10 million).
    monkeypatch.setattr(hb, "_THETA_DRAWS_LIMIT", 40 * 12 - 1)
    many = _fit(y, D, X, draws=40, random_seed=1)
    assert "theta" not in many.idata["posterior"]
    assert "theta_draws=True" in many.diagnostics["theta_draws_note"]


# ------------------------------------------------------------------------------------------
# Priors and bad input


def test_prior_objects():
    sigma = np.array([0.0, 0.5, 2.0])
    assert np.isneginf(FlatVariance().log_density(sigma)[0])
    np.testing.assert_allclose(np.diff(FlatVariance().log_density(sigma[1:])), math.log(4))
    np.testing.assert_array_equal(FlatSD().log_density(sigma), 0.0)
    np.testing.assert_allclose(HalfCauchy(2.0).log_density(sigma),
                               stats.halfcauchy.logpdf(sigma, scale=2.0)
                               - stats.halfcauchy.logpdf(0, scale=2.0))
    np.testing.assert_allclose(HalfNormal(2.0).log_density(sigma),
                               stats.halfnorm.logpdf(sigma, scale=2.0)
                               - stats.halfnorm.logpdf(0, scale=2.0))
    assert [p.min_residual_df for p in (FlatVariance(), FlatSD(), HalfCauchy(1), HalfNormal(1))] \
        == [5, 4, 2, 1]
    for bad in (0, -1.0, float("inf"), "wide"):
        with pytest.raises(crimestats.InputError, match="scale"):
            HalfCauchy(bad)


def test_bad_input_is_rejected():
    y, D, X = _problem(np.random.default_rng(3), m=12, p=2)
    with pytest.raises(crimestats.InputError, match="prior"):
        _fit(y, D, X, prior={"sigma_u": ("halfcauchy", 1.0)})
    with pytest.raises(crimestats.InputError, match="draws"):
        _fit(y, D, X, draws=-1)
    with pytest.raises(crimestats.InputError, match="draws"):
        _fit(y, D, X, draws=2.5)
    with pytest.raises(crimestats.InputError, match="at least 7 in-sample areas"):
        _fit(y[:6], D[:6], X[:6])
    _fit(y[:6], D[:6], X[:6], prior=HalfCauchy(1.0))  # a proper prior needs fewer areas
    collinear = np.column_stack([X, 2 * X[:, 1]])
    with pytest.raises(crimestats.InputError, match="collinear"):
        _fit(y, D, collinear)
    with pytest.raises(crimestats.InputError, match="level"):
        _fit(y, D, X, level=95)
    with pytest.raises(crimestats.InputError, match="prior"):
        fay_herriot(y, D, X[:, 1], method="reml", prior=FlatSD())


def test_posterior_variance_of_sigma2_u_reported_infinite_when_it_is():
    """Flat prior on sigma2_u with m - p = 5: the posterior mean exists, its variance does not."""
    y = np.array([1.9, 0.4, 1.2, 2.6, 0.8, 1.5])
    D = np.array([0.5, 0.3, 0.9, 0.6, 0.2, 0.4])
    fit = _fit(y, D, np.ones((6, 1)))
    assert math.isinf(fit.diagnostics["sigma2_u_sd"])
    assert math.isfinite(fit.sigma2_u)
    assert _fit(y, D, np.ones((6, 1)), prior=HalfCauchy(1.0)).diagnostics["sigma2_u_sd"] < 10


# ------------------------------------------------------------------------------------------
# Slow validation: frequentist coverage (run with `pytest -m slow`)


def _coverage(m, draw_truth, prior, replicates, level, seed):
    """Share of `level` intervals covering the true theta, and its Monte Carlo SE.

    ``draw_truth(rng)`` returns (sigma_u, D) for one data set; y = X beta + u + e with
    beta = (1, 0.5) and x ~ U(0, 1) fixed across data sets. The SE treats data sets as the
    independent replicates (areas within a data set share sigma2_u and beta estimates).
    """
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(m), rng.uniform(0, 1, m)])
    beta = np.array([1.0, 0.5])
    covered = np.empty(replicates)
    for r in range(replicates):
        sigma_u, D = draw_truth(rng)
        theta = X @ beta + rng.normal(0, sigma_u, m)
        y = theta + rng.normal(0, np.sqrt(D))
        est = _fit(y, D, X, prior=prior, level=level).estimates
        covered[r] = np.mean((est["lower"].values <= theta) & (theta <= est["upper"].values))
    return covered.mean(), covered.std(ddof=1) / math.sqrt(replicates)


@pytest.mark.slow
def test_coverage_of_90_percent_intervals_default_prior():
    """Default prior, fixed truth: sigma2_u = 1, D from 0.3 to 3 (signal-to-noise 0.33-3.3),
    m = 30, 1,000 data sets. Coverage within 2 Monte Carlo SEs of 90% (the validation page
    lists other settings, including conservative coverage when sigma2_u is small against D).
    """
    D = np.linspace(0.3, 3.0, 30)
    cover, se = _coverage(30, lambda rng: (1.0, D), None, replicates=1000, level=0.9,
                          seed=2026)
    print(f"default prior: coverage {cover:.4f} (MC SE {se:.4f})")  # shown with pytest -s
    assert abs(cover - 0.9) < 2 * se, (cover, se)


@pytest.mark.slow
def test_intervals_calibrated_when_truth_drawn_from_the_prior():
    """Simulation-based calibration: sigma_u drawn from the HalfNormal(1) prior in each of
    1,000 data sets (m = 20, D ~ U(0.3, 3)), so the 90% intervals must cover exactly 90% on
    average. The flat prior on beta makes the posterior equivariant under y -> y + X b, so a
    fixed beta is as good as one drawn from a vague prior.
    """
    def truth(rng):
        return abs(rng.normal(0.0, 1.0)), rng.uniform(0.3, 3.0, 20)

    cover, se = _coverage(20, truth, HalfNormal(scale=1.0), replicates=1000, level=0.9,
                          seed=7)
    print(f"calibration: coverage {cover:.4f} (MC SE {se:.4f})")  # shown with pytest -s
    assert abs(cover - 0.9) < 2 * se, (cover, se)


@pytest.mark.slow
def test_nuts_cross_check_agrees_with_exact_posterior(data_dir):
    """PyMC NUTS on the same marginal model (milk, default prior) agrees with the exact fit
    within 5 Monte Carlo SEs (posterior SD / sqrt(smallest bulk ESS)); r-hat and divergences
    are reported."""
    milk, X = _milk(data_dir)
    y, D = milk["yi"].to_numpy(float), milk["SD"].to_numpy(float) ** 2
    nuts = _fit(y, D, X, sampler="nuts", draws=2000, random_seed=1, level=0.9)
    exact = _fit(y, D, X, level=0.9)
    diag = nuts.diagnostics
    assert diag["rhat_max"] < 1.01 and diag["divergences"] == 0
    n_eff = diag["ess_bulk_min"]
    assert n_eff > 400
    sd = exact.estimates["sd"].values
    assert np.all(np.abs(nuts.estimates["estimate"].values - exact.estimates["estimate"].values)
                  < 5 * sd / math.sqrt(n_eff))
    assert abs(nuts.sigma2_u - exact.sigma2_u) < 5 * exact.diagnostics["sigma2_u_sd"] / math.sqrt(n_eff)
    assert np.all(np.abs(nuts.beta - exact.beta) < 5 * exact.beta_se / math.sqrt(n_eff))
    np.testing.assert_allclose(nuts.estimates["sd"], sd, rtol=0.05)
    assert nuts.idata["posterior"]["theta"].dims == ("chain", "draw", "area")
