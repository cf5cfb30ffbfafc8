"""Every variance-component method × every MSE estimator of the Fay–Herriot EBLUP.

A method or estimator registered in `VARIANCE_METHODS` or `MSE_ESTIMATORS` is tested here
without further code: the contract of its results, agreement of the one-table and batched
forms of each variance method, and the MSE estimates against the true MSE of simulated areas
(the truth could prove them wrong: a biased estimator fails).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from crimestats import InputError
from crimestats.sae import BootstrapMSE, fay_herriot, fay_herriot_many
from crimestats.sae.area_level.mse import MSE_ESTIMATORS, MseEstimator
from crimestats.sae.area_level.variance import VARIANCE_METHODS

METHODS = sorted(VARIANCE_METHODS)
ESTIMATORS = sorted(MSE_ESTIMATORS)
SIGMA2_U, BETA = 0.5, np.array([1.0, 0.8])


def _areas(rng: np.random.Generator, m: int = 40) -> tuple[np.ndarray, ...]:
    """Simulated areas from the model: design, sampling variances, truth and direct estimates."""
    x = np.column_stack([np.ones(m), np.linspace(-1.0, 1.0, m)])
    d = np.linspace(0.2, 1.2, m)
    theta = x @ BETA + rng.normal(scale=np.sqrt(SIGMA2_U), size=m)
    return x, d, theta, theta + rng.normal(scale=np.sqrt(d))


def _estimator(name: str, replicates: int = 60) -> MseEstimator:
    return BootstrapMSE(replicates=replicates) if name == "bootstrap" else MSE_ESTIMATORS[name]


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("method", METHODS)
def test_every_method_and_estimator_give_a_complete_result(method, estimator):
    x, d, _, y = _areas(np.random.default_rng(2))
    y, d = y.copy(), d.copy()
    y[3] = d[3] = np.nan                                         # one area out of sample
    fit = fay_herriot(y, d, x[:, 1:], method=method, mse=_estimator(estimator),
                      random_seed=5)
    est = fit.estimates
    assert fit.method == method and fit.mse_method == estimator
    assert np.all(np.isfinite(est["mse"])) and np.all(est["mse"] > 0)
    np.testing.assert_allclose(est["rmse"] ** 2, est["mse"], rtol=1e-12)
    # the MSE never changes the estimates, only their uncertainty
    analytic = fay_herriot(y, d, x[:, 1:], method=method)
    np.testing.assert_array_equal(est["estimate"], analytic.estimates["estimate"])
    if estimator == "analytic":
        assert fit.mse_terms is not None
    else:                                   # a resampling estimator says how much it did
        assert fit.diagnostics[f"{estimator}_replicates"] >= 2
        mc_se = fit.diagnostics.get(f"{estimator}_mse_mc_se")
        assert mc_se is None or mc_se.shape == (40,)


@pytest.mark.parametrize("method", METHODS)
def test_one_table_and_batched_forms_of_each_method_agree(method):
    """The scalar estimating equation (fay_herriot) and the batched one (fay_herriot_many)."""
    rng = np.random.default_rng(2)
    tables = [_areas(rng) for _ in range(3)]
    direct = xr.DataArray(np.array([t[3] for t in tables]).T, dims=("area", "table"))
    variance = xr.DataArray(np.array([t[1] for t in tables]).T, dims=("area", "table"))
    cov = xr.DataArray(tables[0][0][:, 1:], dims=("area", "covariate"),
                       coords={"covariate": ["x"]})
    many = fay_herriot_many(direct, variance, cov, method=method)
    for k, (x, d, _, y) in enumerate(tables):
        one = fay_herriot(y, d, x[:, 1:], method=method)
        np.testing.assert_allclose(many.parameters["sigma2_u"].values[k], one.sigma2_u,
                                   rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(many.estimates["mse"].values[:, k],
                                   one.estimates["mse"].values, rtol=1e-7)


@pytest.mark.parametrize("method", METHODS)
def test_variance_method_moments_are_proper(method):
    x, d, _, y = _areas(np.random.default_rng(3))
    fit = fay_herriot(y, d, x[:, 1:], method=method)
    assert fit.diagnostics["sigma2_u_variance"] > 0
    assert np.isfinite(fit.diagnostics["sigma2_u_bias"])
    if method == "reml":
        assert fit.diagnostics["sigma2_u_bias"] == 0.0


def _mse_against_truth(method: str, estimator: str, datasets: int, replicates: int
                       ) -> tuple[float, float]:
    """Mean estimated MSE / mean squared error over simulated data sets, and the MC SE."""
    rng = np.random.default_rng(20)
    estimated, squared = [], []
    for _ in range(datasets):
        x, d, theta, y = _areas(rng, m=30)
        fit = fay_herriot(y, d, x[:, 1:], method=method,
                          mse=_estimator(estimator, replicates), random_seed=rng)
        estimated.append(fit.estimates["mse"].values)
        squared.append((fit.estimates["estimate"].values - theta) ** 2)
    est, sq = np.array(estimated), np.array(squared)
    per_set = sq.mean(axis=1) / est.mean()
    return float(est.mean() / sq.mean()), float(per_set.std(ddof=1) / np.sqrt(datasets))


@pytest.mark.filterwarnings("ignore:sigma2_u was estimated as 0")
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_mse_estimates_match_the_true_mse_of_simulated_areas(estimator):
    """REML, 30 areas, 120 data sets: the average estimated MSE is the average squared error
    within 4 Monte Carlo standard errors (about 10%; the naive bootstrap, 14% low, fails)."""
    ratio, se = _mse_against_truth("reml", estimator, datasets=120, replicates=40)
    assert abs(ratio - 1.0) < 4 * se, (ratio, se)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:sigma2_u was estimated as 0")
@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("method", METHODS)
def test_mse_estimates_match_the_true_mse_long(method, estimator):
    ratio, se = _mse_against_truth(method, estimator, datasets=400, replicates=100)
    assert abs(ratio - 1.0) < 3 * se, (method, estimator, ratio, se)


def test_mse_option_errors_name_the_choices():
    x, d, _, y = _areas(np.random.default_rng(4))
    with pytest.raises(InputError, match=r"`mse` must be one of \['analytic', 'bootstrap'"):
        fay_herriot(y, d, method="reml", mse="jackknife-typo")
    with pytest.raises(InputError, match="spatial model has its own analytic MSE"):
        fay_herriot(y, d, method="hb", mse="bootstrap")
    with pytest.raises(InputError, match="replicates"):
        BootstrapMSE(replicates=1)


def test_bootstrap_mse_is_seeded():
    x, d, _, y = _areas(np.random.default_rng(5))
    a = fay_herriot(y, d, x[:, 1:], mse="bootstrap", random_seed=9)
    b = fay_herriot(y, d, x[:, 1:], mse="bootstrap", random_seed=9)
    np.testing.assert_array_equal(a.estimates["mse"], b.estimates["mse"])
