"""Benchmarking: exact totals, closed forms, brute-force optimality and bad input."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import xarray as xr
from scipy import optimize

from crimestats import InputError
from crimestats.sae import BenchmarkResult, FayHerriotResult, benchmark, benchmark_draws


@pytest.fixture
def areas(rng):
    m = 30
    theta = rng.uniform(0.02, 0.2, m)
    pop = rng.integers(1_000, 50_000, m).astype(float)
    mse = rng.uniform(1e-5, 4e-4, m)
    region = np.array(["North", "South", "West"])[rng.integers(0, 3, m)]
    return theta, pop, mse, region


@pytest.mark.parametrize("method", ["ratio", "difference", "mse"])
def test_total_equals_target_exactly(areas, method):
    theta, pop, mse, _ = areas
    share = pop / pop.sum()
    fit = benchmark(theta, 0.123, weights=share, method=method, mse=mse)
    total = float(np.sum(fit.estimates["estimate"].values * share))
    assert total == pytest.approx(0.123, rel=1e-13, abs=0)
    np.testing.assert_allclose(fit.estimates["adjustment"].values,
                               fit.estimates["estimate"].values - theta, rtol=0, atol=1e-15)
    assert fit.totals_before["all"] == pytest.approx(np.sum(theta * share), rel=1e-14)


@pytest.mark.parametrize("method", ["ratio", "difference", "mse"])
def test_grouped_totals_exact(areas, method):
    theta, pop, mse, region = areas
    targets = {"North": 0.08, "South": 0.15, "West": 0.11}
    share = pop / np.array([pop[region == r].sum() for r in region])
    fit = benchmark(theta, targets, weights=share, groups=region, method=method, mse=mse)
    est = fit.estimates["estimate"].values
    for name, target in targets.items():
        sel = region == name
        assert np.sum(est[sel] * share[sel]) == pytest.approx(target, rel=1e-13)
    assert set(fit.estimates["group"].values) == set(targets)


def test_ratio_and_difference_closed_forms(areas):
    theta, pop, _, _ = areas
    total = np.sum(theta * pop)
    ratio = benchmark(theta, 2 * total, weights=pop)
    np.testing.assert_allclose(ratio.estimates["estimate"].values, 2 * theta, rtol=1e-14)
    assert ratio.ratios["all"] == pytest.approx(2.0)
    diff = benchmark(theta, total + 7.0, weights=pop, method="difference")
    np.testing.assert_allclose(diff.estimates["adjustment"].values, 7.0 / pop.sum(), rtol=1e-9)


def test_mse_allocation_is_the_constrained_least_squares_solution(areas):
    """Brute force: minimise sum (b - theta)^2 / mse subject to sum w b = T numerically."""
    theta, pop, mse, _ = areas
    w = pop / pop.sum()
    target = 0.2
    fit = benchmark(theta, target, weights=w, method="mse", mse=mse)
    scale = 1e4
    res = optimize.minimize(
        lambda b: scale * np.sum((b - theta) ** 2 / mse) / len(theta), theta,
        jac=lambda b: scale * 2 * (b - theta) / mse / len(theta),
        constraints=[{"type": "eq", "fun": lambda b: (w @ b - target) * 100,
                      "jac": lambda b: w * 100}],
        method="SLSQP", options={"ftol": 1e-15, "maxiter": 500})
    assert res.success
    np.testing.assert_allclose(fit.estimates["estimate"].values, res.x, rtol=1e-6)


def test_mse_with_equal_mse_and_equal_weights_equals_difference(areas):
    theta, _, _, _ = areas
    a = benchmark(theta, 3.0, method="mse", mse=np.full(theta.size, 0.01))
    b = benchmark(theta, 3.0, method="difference")
    np.testing.assert_allclose(a.estimates["estimate"], b.estimates["estimate"], rtol=1e-13)


def test_rmse_includes_squared_adjustment_and_result_serialises(areas, tmp_path):
    theta, pop, mse, _ = areas
    fit = benchmark(theta, 0.15, weights=pop / pop.sum(), mse=mse, level=0.9)
    adj = fit.estimates["adjustment"].values
    np.testing.assert_allclose(fit.estimates["rmse"].values ** 2, mse + adj ** 2, rtol=1e-12)
    assert fit.estimates.attrs["level"] == 0.9
    assert isinstance(fit, BenchmarkResult)
    json.dumps(fit.to_dict())
    if importlib.util.find_spec("h5py") is not None:
        fit.to_netcdf(tmp_path / "b.nc")
    assert "ratio" in fit.summary()


def test_accepts_a_fitted_result_with_labels_and_mse():
    ds = xr.Dataset({"estimate": ("area", np.array([1.0, 2.0, 3.0])),
                     "mse": ("area", np.array([0.1, 0.2, 0.3]))},
                    coords={"area": ["a", "b", "c"]})
    fit = benchmark(FayHerriotResult(estimates=ds), 12.0, method="mse")
    assert list(fit.estimates["area"].values) == ["a", "b", "c"]
    assert fit.estimates["estimate"].sum() == pytest.approx(12.0)
    # allocation proportional to MSE
    np.testing.assert_allclose(fit.estimates["adjustment"].values, [1.0, 2.0, 3.0])


def test_draws_every_draw_adds_up_and_fixed_target_has_zero_sd(rng):
    m, s = 12, 2000
    w = rng.uniform(1, 3, m)
    w /= w.sum()
    draws = rng.normal(0.1, 0.02, (s, m))
    for method in ("ratio", "difference", "mse"):
        fit = benchmark_draws(draws, 0.09, weights=w, method=method)
        np.testing.assert_allclose(fit.draws @ w, 0.09, rtol=1e-13)
        # the posterior mean is coherent too (linear in the draws)
        assert fit.estimates["estimate"].values @ w == pytest.approx(0.09, rel=1e-12)
        assert np.all(fit.estimates["lower"] <= fit.estimates["upper"])


def test_draws_random_target_propagates_its_sd(rng):
    m, s = 8, 20000
    w = np.full(m, 1 / m)
    draws = rng.normal(0.1, 0.02, (s, m))
    fit = benchmark_draws(draws, 0.09, weights=w, method="difference", target_sd=0.005,
                          random_seed=3)
    sums = fit.draws @ w
    # sd of the benchmarked weighted sum is the target's sd (MC error ~ 0.005/sqrt(2s))
    assert sums.std(ddof=1) == pytest.approx(0.005, rel=0.03)
    again = benchmark_draws(draws, 0.09, weights=w, method="difference", target_sd=0.005,
                            random_seed=3)
    np.testing.assert_array_equal(fit.draws, again.draws)


def test_draws_from_chain_draw_dataarray(rng):
    arr = xr.DataArray(rng.normal(1.0, 0.1, (2, 50, 4)), dims=("chain", "draw", "area"),
                       coords={"area": list("wxyz")})
    fit = benchmark_draws(arr, 8.0)
    assert fit.draws.shape == (100, 4)
    assert list(fit.estimates["area"].values) == list("wxyz")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"estimates": [1.0, np.nan], "target": 1.0}, "NaN"),
        ({"estimates": [1.0, 2.0], "target": 1.0, "weights": [1.0, -1.0]}, "non-negative"),
        ({"estimates": [1.0, 2.0], "target": 1.0, "weights": [1.0]}, "values"),
        ({"estimates": [1.0, -1.0], "target": 1.0}, "same sign"),
        ({"estimates": [1.0, 2.0], "target": 1.0, "method": "mse"}, "mse"),
        ({"estimates": [1.0, 2.0], "target": 1.0, "method": "raking"}, "method"),
        ({"estimates": [1.0, 2.0], "target": {"a": 1.0}, "groups": ["a", "b"]}, "'b'"),
        ({"estimates": [1.0, 2.0], "target": {"a": 1.0}}, "groups"),
        ({"estimates": [1.0, 2.0], "target": 1.0, "weights": [0.0, 0.0],
          "method": "difference"}, "sum to zero"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        benchmark(**kwargs)


def test_bad_draws():
    with pytest.raises(InputError, match="several"):
        benchmark_draws(np.ones((1, 3)), 1.0)
    with pytest.raises(InputError, match="same"):
        benchmark_draws(np.ones((5, 3)), {"a": 1.0}, groups=["a", "a", "b"])
