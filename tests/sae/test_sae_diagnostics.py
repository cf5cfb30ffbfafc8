"""Diagnostics: closed forms, behaviour under correct and wrong models, exact LOO."""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pytest
import xarray as xr
from scipy import stats

from crimestats import InputError
from crimestats.sae import (
    FayHerriotResult,
    diagnostics,
    fay_herriot,
    loo,
    posterior_predictive_check,
)


def _simulate(rng, m, sigma_u=0.05, d=None, effects=None):
    x = rng.uniform(0, 1, m)
    d = rng.uniform(0.001, 0.006, m) if d is None else np.full(m, d)
    u = rng.normal(0, sigma_u, m) if effects is None else effects
    theta = 0.1 + 0.2 * x + u
    y = theta + rng.normal(0, np.sqrt(d))
    return x, d, theta, y


def test_shrinkage_cv_gain_and_residuals_match_formulas(rng):
    x, d, _, y = _simulate(rng, 80)
    fit = fay_herriot(y, d, x)
    diag = diagnostics(fit)
    s2 = fit.sigma2_u
    est = fit.estimates
    np.testing.assert_allclose(diag.estimates["shrinkage"], d / (s2 + d), rtol=1e-10)
    gain = (np.sqrt(d) / np.abs(y)) / (est["rmse"].values / np.abs(est["estimate"].values))
    np.testing.assert_allclose(diag.estimates["cv_gain"], gain, rtol=1e-12)
    assert diag.median_cv_gain == pytest.approx(np.median(gain))
    r = (y - est["synthetic"].values) / np.sqrt(s2 + d)
    np.testing.assert_allclose(diag.estimates["standardised_residual"], r, rtol=1e-12)
    slope, intercept = np.polyfit(est["estimate"].values, y, 1)
    assert diag.calibration["slope"] == pytest.approx(slope, rel=1e-10)
    assert diag.calibration["intercept"] == pytest.approx(intercept, rel=1e-8)
    assert diag.ppc is None and diag.loo is None
    json.dumps(diag.to_dict())
    assert "CV gain" in diag.summary()


def test_residuals_standard_normal_under_model_and_skew_detected(rng):
    x, d, _, y = _simulate(rng, 600)
    diag = diagnostics(fay_herriot(y, d, x))
    r = diag.estimates["standardised_residual"].values
    # mean 0 (se 1/sqrt(600) = 0.04), sd 1 (se ~0.03)
    assert abs(r.mean()) < 0.15 and abs(r.std() - 1) < 0.1
    assert diag.residual_normality["p_value"] > 0.001
    skewed = rng.exponential(0.08, 600) - 0.08
    x, d, _, y = _simulate(rng, 600, effects=skewed)
    diag = diagnostics(fay_herriot(y, d, x))
    assert diag.residual_normality["p_value"] < 1e-4
    assert diag.residual_normality["skewness"] > 0.5


def test_calibration_slope_matches_its_value_under_the_model(rng):
    """The OLS slope of direct on EBLUP is 1 + mean(MSE) / Var(estimates); over-smoothing fails."""
    x, d, _, y = _simulate(rng, 2000, sigma_u=0.05, d=0.0025)
    fit = fay_herriot(y, d, x)
    cal = diagnostics(fit).calibration
    est = fit.estimates
    expected = 1 + np.mean(est["rmse"].values ** 2) / np.var(est["estimate"].values)
    assert cal["slope_under_model"] == pytest.approx(expected, rel=1e-12)
    # with MSE = g1 = s2 B it is the closed form for independent effects; g2 + 2 g3 add ~0.1%
    b = 0.0025 / (fit.sigma2_u + 0.0025)
    s_ss = np.var(est["synthetic"].values)
    closed = (s_ss + fit.sigma2_u) / (s_ss + fit.sigma2_u * (1 - b))
    assert cal["slope_under_model"] == pytest.approx(closed, rel=3e-3)
    assert cal["slope_under_model"] > 1.2
    assert abs(cal["slope"] - cal["slope_under_model"]) < 4 * cal["slope_se"]
    over_smoothed = fit.estimates.copy()
    synth = over_smoothed["synthetic"].values
    over_smoothed["estimate"] = ("area", synth + 0.05 * (y - synth))
    cal_bad = diagnostics(FayHerriotResult(estimates=over_smoothed,
                                           sigma2_u=fit.sigma2_u)).calibration
    assert cal_bad["p_value"] < 1e-6


def _grid_pairs(side):
    idx = np.arange(side * side).reshape(side, side)
    return np.r_[np.c_[idx[:, :-1].ravel(), idx[:, 1:].ravel()],
                 np.c_[idx[:-1].ravel(), idx[1:].ravel()]]


def _spatial_data(rng, side=20):
    """A BYM2 truth (70% of the effect variance spatial) on a rook grid."""
    from crimestats.sae import adjacency_from_pairs
    from crimestats.sae.spatial.icar import icar_structure

    m = side * side
    adj = adjacency_from_pairs(_grid_pairs(side), areas=range(m))
    u = icar_structure(adj).sample_prior(np.arange(m), 1, rng)[0]
    x = rng.normal(size=m)
    theta = 1.0 + 0.5 * x + 0.5 * (np.sqrt(0.7) * u + np.sqrt(0.3) * rng.normal(size=m))
    d = rng.uniform(0.05, 0.5, size=m)
    return theta + rng.normal(size=m) * np.sqrt(d), d, x, adj


def _spatial_fit(model, y, d, x, adj):
    from crimestats.sae import bym2

    if model == "sar":
        return fay_herriot(y, d, x, proximity=adj, areas=adj.areas)
    if model == "bym2":
        return bym2(y, d, x, adjacency=adj, areas=adj.areas)
    return fay_herriot(y, d, x)


@pytest.mark.parametrize("model", ["sar", "bym2"])
def test_calibration_null_of_spatial_fits_is_their_own(rng, model):
    """Spatial smoothing shrinks harder than independent effects: the null slope is far from 1,
    and the slope of a correct spatial fit agrees with the model's value."""
    y, d, x, adj = _spatial_data(rng)
    cal = diagnostics(_spatial_fit(model, y, d, x, adj)).calibration
    assert abs(cal["slope"] - 1.0) > 3 * cal["slope_se"]          # a null of 1 would reject
    assert abs(cal["z"]) < 3


def test_effective_shrinkage_for_fits_without_independent_effects(rng):
    """1 - MSE/D: equals B = D/(s2 + D) up to g2 + 2 g3 for Fay–Herriot; in [0, 1] for BYM2."""
    x, d, _, y = _simulate(rng, 400)
    fit = fay_herriot(y, d, x)
    no_b = FayHerriotResult(estimates=fit.estimates.drop_vars("shrinkage"),
                            sigma2_u=fit.sigma2_u)
    effective = diagnostics(no_b).estimates["shrinkage"].values
    np.testing.assert_allclose(effective, 1 - fit.estimates["rmse"].values ** 2 / d, rtol=1e-12)
    extra = (fit.estimates["rmse"].values ** 2 - fit.sigma2_u * d / (fit.sigma2_u + d)) / d
    np.testing.assert_allclose(effective, d / (fit.sigma2_u + d) - extra, rtol=1e-10)
    assert 0 < extra.max() < 0.02                   # g2 + 2 g3 are small at m = 400
    y_s, d_s, x_s, adj = _spatial_data(rng, side=8)
    spatial = diagnostics(_spatial_fit("bym2", y_s, d_s, x_s, adj)).estimates["shrinkage"]
    assert np.all((spatial > 0) & (spatial < 1))


@pytest.mark.slow
def test_calibration_test_holds_its_size_under_the_model():
    """40 replicates per model: the slope test's z is centred at 0 and rejects at most ~5%."""
    rng = np.random.default_rng(20261203)
    z = {"fh": [], "sar": [], "bym2": []}
    for _ in range(40):
        y, d, x, adj = _spatial_data(rng)
        x_fh, d_fh, _, y_fh = _simulate(rng, 400)
        z["fh"].append(diagnostics(fay_herriot(y_fh, d_fh, x_fh)).calibration["z"])
        for model in ("sar", "bym2"):
            z[model].append(diagnostics(_spatial_fit(model, y, d, x, adj)).calibration["z"])
    for model, values in z.items():
        values = np.asarray(values)
        print(f"{model}: mean z {values.mean():.3f}, sd {values.std():.3f}, "
              f"rejected at 5%: {np.mean(np.abs(values) > 1.96):.3f}")
        assert abs(values.mean()) < 3 * values.std() / np.sqrt(values.size) + 0.05
        assert np.mean(np.abs(values) > 1.96) <= 0.125


def _bayes_fit(rng, m=50, draws=2000, s2_assumed=0.001):
    """Exact posterior draws of theta for the FH model with known beta and sigma_u^2.

    D > sigma_u^2 keeps the leave-one-out importance weights well behaved (Pareto k < 0.7).
    """
    mu, s2 = 0.2, 0.001
    d = rng.uniform(0.002, 0.006, m)
    theta = mu + rng.normal(0, np.sqrt(s2), m)
    y = theta + rng.normal(0, np.sqrt(d))
    d_used = d
    b = d_used / (s2_assumed + d_used)
    post_mean = (1 - b) * y + b * mu
    post_sd = np.sqrt((1 - b) * d_used)
    theta_draws = post_mean + post_sd * rng.standard_normal((2, draws // 2, m))
    idata = az.from_dict({"posterior": {"theta": theta_draws}}, dims={"theta": ["area"]})
    ds = xr.Dataset({"estimate": ("area", post_mean), "sd": ("area", post_sd),
                     "direct": ("area", y), "direct_variance": ("area", d_used),
                     "synthetic": ("area", np.full(m, mu))}, coords={"area": np.arange(m)})
    fit = FayHerriotResult(estimates=ds, sigma2_u=s2, method="hb", idata=idata)
    return fit, y, d_used, mu, s2


def test_loo_matches_exact_leave_one_out_density(rng):
    """With beta and sigma_u^2 known, p(y_i | y_-i) = N(y_i; mu, sigma_u^2 + D_i) exactly."""
    fit, y, d, mu, s2 = _bayes_fit(rng, draws=8000)
    exact = stats.norm.logpdf(y, mu, np.sqrt(s2 + d)).sum()
    res = loo(fit)
    assert res["elpd_loo"] == pytest.approx(exact, abs=0.05 * len(y) ** 0.5)
    assert res["max_pareto_k"] < 0.7
    assert res["pareto_k"].shape == (50,)


def test_ppc_passes_a_correct_model_and_flags_understated_variances(rng):
    fit, *_ = _bayes_fit(rng)
    res, p_area = posterior_predictive_check(fit, random_seed=1)
    assert 0.05 < res["p_value"] < 0.95
    assert np.all((p_area >= 0) & (p_area <= 1))
    again, _ = posterior_predictive_check(fit, random_seed=1)
    assert again == res
    bad, *_ = _bayes_fit(rng, m=200, s2_assumed=1e-5)  # over-shrinks
    assert posterior_predictive_check(bad, random_seed=1)[0]["p_value"] < 0.01
    diag = diagnostics(fit, random_seed=2)
    assert diag.ppc is not None and diag.loo is not None
    assert "ppc_pvalue" in diag.estimates and "PSIS-LOO" in diag.summary()


def test_bad_input(rng):
    with pytest.raises(InputError, match="estimates"):
        diagnostics(np.ones(3))
    ds = xr.Dataset({"estimate": ("area", np.ones(4)), "rmse": ("area", np.ones(4))})
    with pytest.raises(InputError, match="direct"):
        diagnostics(FayHerriotResult(estimates=ds))
    x, d, _, y = _simulate(rng, 20)
    fit = fay_herriot(y, d, x)
    with pytest.raises(InputError, match="posterior"):
        loo(fit)
    with pytest.raises(InputError, match="posterior"):
        posterior_predictive_check(fit)


def test_diagnostics_of_prevalence_models_test_the_model_slope(rng):
    """Prevalence fits: the calibration null is the model's own slope, not 1."""
    from crimestats.sae import arcsin_fay_herriot, logit_binomial

    m = 400
    n = rng.integers(50, 400, m).astype(float)
    truth = 1 / (1 + np.exp(-(-2.6 + rng.normal(0, 0.4, m))))
    p = rng.binomial(n.astype(int), truth) / n
    for fit in (logit_binomial(p, n), arcsin_fay_herriot(p, n)):
        diag = diagnostics(fit)
        cal = diag.calibration
        assert cal["slope_under_model"] > 1.1
        assert abs(cal["z"]) < 3
        np.testing.assert_allclose(diag.estimates["standardised_residual"],
                                   fit.estimates["standardised_residual"])
