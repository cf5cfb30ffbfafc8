"""Spatio-temporal Fay–Herriot: R sae eblupSTFH reference on spacetime, inputs, simulation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from crimestats import ConvergenceWarning, InputError
from crimestats.sae import SpatioTemporalResult, spatio_temporal_fay_herriot


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Dense algebra on small matrices: one BLAS thread avoids oversubscribing the machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def spacetime(data_dir):
    folder = data_dir / "sae"
    data = pd.read_csv(folder / "spacetime.csv")
    W = pd.read_csv(folder / "spacetimeprox.csv").to_numpy()
    varcomp = pd.read_csv(folder / "spacetime_STFH_varcomp.csv")
    ref = {m: (pd.read_csv(folder / f"spacetime_STFH_{m}_eblup.csv"),
               pd.read_csv(folder / f"spacetime_STFH_{m}_beta.csv"),
               varcomp[varcomp["model"] == m])
           for m in ("S", "ST")}
    return data, W, ref


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a, float) / np.asarray(b, float) - 1.0)))


def _fit(data, W, model, tol):
    return spatio_temporal_fay_herriot("Y", "Var", ["X1", "X2"], area="Area", period="Time",
                                       proximity=W, model=model, data=data, tol=tol)


def _theta(fit):
    out = [fit.sigma2_area, fit.rho_space, fit.sigma2_time]
    return out + ([fit.rho_time] if fit.model == "ar1" else [])


@pytest.mark.parametrize("model", ["S", "ST"])
def test_spacetime_matches_r_at_r_precision(spacetime, model):
    data, W, ref = spacetime
    eblup, beta, vc = ref[model]
    fit = _fit(data, W, model, tol=1e-4)
    assert isinstance(fit, SpatioTemporalResult)
    assert fit.model == ("ar1" if model == "ST" else "independent")
    assert fit.iterations == int(vc["iterations"].iloc[0])
    est = fit.estimates
    assert est["estimate"].dims == ("area", "period")
    assert est["area"].values.tolist() == eblup["Area"].unique().tolist()
    assert _rel(est["estimate"].values.ravel(), eblup["eblup"]) < 1e-10
    assert _rel(fit.beta, beta["beta"]) < 1e-10
    assert _rel(fit.beta_se, beta["std.error"]) < 1e-10
    assert _rel(_theta(fit), vc["estimate"]) < 1e-10
    # sae reports the information at the last-but-one iterate: agreement to ~1e-4 only
    assert _rel(list(fit.variance_components_se.values()), vc["std.error"]) < 1e-3


@pytest.mark.parametrize("model", ["S", "ST"])
def test_spacetime_fully_converged_close_to_r(spacetime, model):
    data, W, ref = spacetime
    eblup, beta, vc = ref[model]
    fit = _fit(data, W, model, tol=1e-10)
    assert fit.converged
    assert _rel(fit.estimates["estimate"].values.ravel(), eblup["eblup"]) < 1e-4
    assert _rel(fit.beta, beta["beta"]) < 1e-3
    assert _rel(_theta(fit), vc["estimate"]) < 1e-3
    est = fit.estimates
    g1 = fit.diagnostics["g1"].reshape(est["mse"].shape)
    assert np.all(est["mse"] >= g1) and np.all(g1 > 0)
    assert float(est["mse"].mean()) < float(est["direct_variance"].mean())
    np.testing.assert_allclose(est["estimate"], est["synthetic"] + est["area_effect"]
                               + est["area_period_effect"], rtol=1e-12)
    assert "rho" in fit.summary()


def test_row_order_and_labels_do_not_matter(spacetime):
    data, W, _ = spacetime
    base = _fit(data, W, "ST", tol=1e-11)
    shuffled = data.sample(frac=1.0, random_state=3)
    # rows shuffled; areas first appear in a new order, so give the matrix as labelled pairs
    areas = data["Area"].unique()
    i, j = np.nonzero(W)
    pairs = pd.DataFrame({"a": areas[i], "b": areas[j]})
    fit = spatio_temporal_fay_herriot("Y", "Var", ["X1", "X2"], area="Area", period="Time",
                                      proximity=pairs, data=shuffled, tol=1e-11)
    a = fit.estimates["estimate"].sel(area=areas)
    # spacetimeprox stores 1/3 as 0.333333 (6 digits); rebuilt from pairs it is exact
    np.testing.assert_allclose(a, base.estimates["estimate"], rtol=1e-5)


def test_missing_cells_predicted(spacetime):
    data, W, _ = spacetime
    gap = data.copy()
    gap.loc[4, ["Y", "Var"]] = np.nan          # area 3, period 2 not sampled
    fit = _fit(gap, W, "ST", tol=1e-8)
    est = fit.estimates
    assert not bool(est["in_sample"].sel(area=3, period=2))
    val = float(est["estimate"].sel(area=3, period=2))
    assert np.isfinite(val) and float(est["mse"].sel(area=3, period=2)) > 0
    # the unsampled period borrows from the same area's other periods
    neighbours = est["estimate"].sel(area=3, period=[1, 3]).values
    assert abs(val - neighbours.mean()) < abs(float(est["synthetic"].sel(area=3, period=2))
                                              - neighbours.mean())


def test_bad_inputs(spacetime):
    data, W, _ = spacetime
    with pytest.raises(InputError, match="every area in every period"):
        _fit(data.drop(index=5), W, "ST", 1e-4)
    with pytest.raises(InputError, match="appear once"):
        _fit(pd.concat([data, data.iloc[[0]]]), W, "ST", 1e-4)
    with pytest.raises(InputError, match="11 × 11"):
        _fit(data, W[:10, :10], "ST", 1e-4)
    with pytest.raises(InputError, match="model"):
        _fit(data, W, "AR2", 1e-4)


def _stfh_replicates(n_areas: int, n_per: int, seed: int):
    """Data sets with known truth, one per iteration: ``(theta, y, d, x, area, period, W)``.

    Areas on a ring with chords, SAR area effects (rho1 = 0.6, s1 = 0.4) and AR(1) area-by-
    period effects (rho2 = 0.6, s2 = 0.2).
    """
    from crimestats.sae import adjacency_from_pairs

    rng = np.random.default_rng(seed)
    pairs = [(i, (i + 1) % n_areas) for i in range(n_areas)]
    pairs += [(i, (i + 7) % n_areas) for i in range(0, n_areas, 3)]
    W = adjacency_from_pairs(pairs, areas=range(n_areas)).row_standardised().toarray()
    area = np.repeat(np.arange(n_areas), n_per)
    period = np.tile(np.arange(n_per), n_areas)
    x = rng.normal(size=area.size)
    d = rng.uniform(0.2, 1.0, size=area.size)
    a_inv = np.linalg.inv(np.eye(n_areas) - 0.6 * W)
    s1, s2, rho2 = 0.4, 0.2, 0.6
    while True:
        u1 = a_inv @ rng.normal(scale=np.sqrt(s1), size=n_areas)
        u2 = np.empty((n_areas, n_per))
        u2[:, 0] = rng.normal(scale=np.sqrt(s2 / (1 - rho2**2)), size=n_areas)
        for t in range(1, n_per):
            u2[:, t] = rho2 * u2[:, t - 1] + rng.normal(scale=np.sqrt(s2), size=n_areas)
        theta = 1 + 0.5 * x + u1[area] + u2.ravel()
        yield theta, theta + rng.normal(scale=np.sqrt(d)), d, x, area, period, W


def _stfh_simulation(n_areas: int, n_per: int, reps: int, seed: int):
    """Coverage of 90% intervals and mean squared errors over ``reps`` data sets."""
    from crimestats.sae import fay_herriot

    cover, e_st, e_fh, e_dir = [], [], [], []
    replicates = _stfh_replicates(n_areas, n_per, seed)
    for _ in range(reps):
        theta, y, d, x, area, period, W = next(replicates)
        fit = spatio_temporal_fay_herriot(y, d, x, area=area, period=period, proximity=W,
                                          level=0.90, tol=1e-6)
        est = fit.estimates
        lo, hi = est["lower"].values.ravel(), est["upper"].values.ravel()
        cover.append(np.mean((lo <= theta) & (theta <= hi)))
        e_st.append(np.mean((est["estimate"].values.ravel() - theta) ** 2))
        basic = fay_herriot(y, d, x)
        e_fh.append(np.mean((basic.estimates["estimate"].values - theta) ** 2))
        e_dir.append(np.mean((y - theta) ** 2))
    cover = np.asarray(cover)
    mc_se = cover.std(ddof=1) / np.sqrt(reps)
    print(f"STFH {n_areas} x {n_per}: coverage {cover.mean():.4f} (MC SE {mc_se:.4f}), RMSE "
          f"stfh {np.sqrt(np.mean(e_st)):.4f} fh {np.sqrt(np.mean(e_fh)):.4f} direct "
          f"{np.sqrt(np.mean(e_dir)):.4f}")
    return cover.mean(), mc_se, np.mean(e_st), np.mean(e_fh), np.mean(e_dir)


def test_dense_scoring_that_cycles_is_refitted_on_the_sparse_path():
    """Replicate 42 of the 40 x 5 simulation: dense Fisher scoring cycles for 200 iterations
    on a likelihood flat in rho_time; "auto" refits with the line-searched sparse scoring."""
    replicates = _stfh_replicates(40, 5, seed=7)
    for _ in range(42):
        next(replicates)
    _, y, d, x, area, period, W = next(replicates)
    args = dict(area=area, period=period, proximity=W, tol=1e-6)
    with pytest.warns(ConvergenceWarning):
        dense = spatio_temporal_fay_herriot(y, d, x, algorithm="dense", **args)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        auto = spatio_temporal_fay_herriot(y, d, x, **args)
    assert not dense.converged and auto.converged
    assert auto.diagnostics["algorithm"] == "sparse (dense Fisher scoring did not converge)"
    assert auto.loglik >= dense.loglik - 1e-9
    for name in ("sigma2_area", "rho_space", "sigma2_time", "rho_time"):
        assert abs(getattr(auto, name) - getattr(dense, name)) < 1e-3


@pytest.mark.slow
def test_simulation_coverage_and_rmse():
    """120 areas x 5 periods: coverage within 2 MC SE of 90%, RMSE below basic FH and direct."""
    cover, mc_se, e_st, e_fh, e_dir = _stfh_simulation(120, 5, 100, seed=7)
    assert abs(cover - 0.90) < 2 * mc_se, (cover, mc_se)
    assert e_st < e_fh < e_dir


@pytest.mark.slow
def test_simulation_few_areas_is_conservative():
    """40 areas x 5 periods: four variance parameters from few areas make the 2 g3 term
    conservative; the intervals must not under-cover (recorded in the validation page)."""
    cover, mc_se, e_st, e_fh, e_dir = _stfh_simulation(40, 5, 100, seed=7)
    assert 0.90 - 2 * mc_se < cover < 0.92, (cover, mc_se)
    assert e_st < e_fh < e_dir


def test_result_serialises(spacetime, tmp_path):
    import json

    import xarray as xr

    data, W, _ = spacetime
    fit = _fit(data, W, "ST", tol=1e-4)
    assert json.loads(fit.to_json())["model"] == "ar1"
    fit.to_netcdf(tmp_path / "stfh.nc")
    back = xr.open_dataset(tmp_path / "stfh.nc")
    np.testing.assert_allclose(back["estimate"], fit.estimates["estimate"])
    assert fit.to_dataframe().shape == (33, 12)


@pytest.mark.parametrize("model", ["S", "ST"])
def test_spacetime_sparse_path_close_to_r(spacetime, model):
    """The sparse precision-form path (forced) against R, as the converged dense fit."""
    data, W, ref = spacetime
    eblup, beta, vc = ref[model]
    fit = spatio_temporal_fay_herriot("Y", "Var", ["X1", "X2"], area="Area", period="Time",
                                      proximity=W, model=model, data=data, tol=1e-10,
                                      algorithm="sparse")
    dense = _fit(data, W, model, tol=1e-10)
    assert fit.converged and fit.diagnostics["algorithm"] == "sparse"
    assert _rel(fit.estimates["estimate"].values.ravel(), eblup["eblup"]) < 1e-4
    assert _rel(fit.beta, beta["beta"]) < 1e-3
    assert _rel(_theta(fit), vc["estimate"]) < 1e-3
    # the dense Fisher scoring stops ~1e-5 (relative) short of the optimum on this tiny data set
    # (its REML score there is 50 times the sparse fit's), hence the MSEs differ by ~3e-6
    assert _rel(fit.estimates["mse"], dense.estimates["mse"]) < 1e-5
