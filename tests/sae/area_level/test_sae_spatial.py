"""Spatial (SAR) Fay–Herriot: R sae eblupSFH/mseSFH reference on grapes, inputs, simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from crimestats import InputError
from crimestats.errors import DataWarning
from crimestats.sae import (
    SpatialFayHerriotResult,
    adjacency_from_pairs,
    fay_herriot,
)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Dense m x m algebra: one BLAS thread avoids oversubscribing the shared test machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def grapes(data_dir):
    folder = data_dir / "sae"
    data = pd.read_csv(folder / "grapes.csv")
    t = pd.read_csv(folder / "grapesprox_triplets.csv")
    W = np.zeros((274, 274))
    W[t.row - 1, t.col - 1] = t.value
    fit_ref = pd.read_csv(folder / "grapes_SFH_fit.csv").set_index("method")
    ref = {m: (pd.read_csv(folder / f"grapes_SFH_{m}_eblup_mse.csv"),
               pd.read_csv(folder / f"grapes_SFH_{m}_beta.csv"), fit_ref.loc[m])
           for m in ("REML", "ML")}
    return data, W, ref


def _fit(data, W, method, tol, proximity=None):
    return fay_herriot(data["grapehect"], data["var"], data[["area", "workdays"]],
                       intercept=False, method=method, proximity=W if proximity is None
                       else proximity, tol=tol)


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a, float) / np.asarray(b, float) - 1.0)))


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_grapes_matches_r_at_r_precision(grapes, method):
    """With sae's stopping rule (PRECISION = 1e-4) the R numbers are reproduced exactly."""
    data, W, ref = grapes
    eb, beta, fit_r = ref[method]
    fit = _fit(data, W, method.lower(), tol=1e-4)
    assert isinstance(fit, SpatialFayHerriotResult)
    assert fit.iterations == int(fit_r["iterations"])
    assert _rel(fit.sigma2_u, fit_r["refvar"]) < 1e-10
    assert _rel(fit.rho, fit_r["spatialcorr"]) < 1e-10
    assert _rel(fit.beta, beta["beta"]) < 1e-10
    assert _rel(fit.beta_se, beta["std.error"]) < 1e-10
    assert _rel(fit.estimates["estimate"], eb["eblup"]) < 1e-10
    assert _rel(fit.estimates["mse"], eb["mse"]) < 1e-8
    if method == "ML":  # sae reports the ML log-likelihood
        assert abs(fit.loglik - fit_r["loglike"]) < 1e-8


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_grapes_fully_converged_within_1e3_of_r(grapes, method):
    data, W, ref = grapes
    eb, beta, fit_r = ref[method]
    fit = _fit(data, W, method.lower(), tol=1e-12)
    assert fit.converged
    est = fit.estimates
    # the contract: estimates carry these variables over "area"
    for name in ("estimate", "mse", "rmse", "lower", "upper", "cv", "direct",
                 "direct_variance", "in_sample"):
        assert est[name].dims == ("area",)
    assert est.attrs["level"] == 0.95
    for got, want in [(fit.sigma2_u, fit_r["refvar"]), (fit.rho, fit_r["spatialcorr"]),
                      (fit.beta, beta["beta"]), (est["estimate"], eb["eblup"]),
                      (est["mse"], eb["mse"])]:
        assert _rel(got, want) < 1e-3
    # recorded in the docs: the R fit stopped early; the converged values differ by < 1e-5
    assert _rel(est["estimate"], eb["eblup"]) < 1e-5
    assert _rel(fit.rho, fit_r["spatialcorr"]) < 1e-5
    np.testing.assert_allclose(est["rmse"] ** 2, est["mse"], rtol=1e-12)
    z = (est["upper"] - est["estimate"]) / est["rmse"]
    np.testing.assert_allclose(z, 1.959963984540054, rtol=1e-12)
    assert "rho" in fit.summary()


def _grid_data(side: int = 6, seed: int = 5):
    m = side * side
    pairs = [(r * side + c, r * side + c + 1) for r in range(side) for c in range(side - 1)]
    pairs += [(r * side + c, (r + 1) * side + c) for r in range(side - 1) for c in range(side)]
    adj = adjacency_from_pairs(pairs, areas=range(m))
    W = adj.row_standardised().toarray()
    rng = np.random.default_rng(seed)
    x = rng.normal(size=m)
    v = np.linalg.solve(np.eye(m) - 0.6 * W, rng.normal(size=m))
    y = 3 + x + v + rng.normal(scale=0.6, size=m)
    return y, np.full(m, 0.36), x, W, adj


def test_proximity_as_sparse_pairs_or_adjacency_gives_same_fit():
    y, d, x, W, adj = _grid_data()
    base = fay_herriot(y, d, x, proximity=W)
    assert base.sigma2_u > 0 and 0 < base.rho < 1
    pairs = adj.to_pairs()[["area_a", "area_b"]]
    for prox in (sp.csr_array(W), (W > 0).astype(float), adj, pairs,
                 list(pairs.itertuples(index=False, name=None))):
        other = fay_herriot(y, d, x, proximity=prox, areas=np.arange(y.size))
        np.testing.assert_allclose(other.estimates["estimate"], base.estimates["estimate"],
                                   rtol=1e-12)
        assert abs(other.rho - base.rho) < 1e-12


def test_adjacency_matched_by_area_label():
    y, d, x, W, adj = _grid_data()
    labels = np.array([f"area{i:02d}" for i in range(y.size)])
    named = adjacency_from_pairs([(labels[a], labels[b]) for a, b in
                                  adj.to_pairs()[["area_a", "area_b"]].itertuples(index=False)])
    fit = fay_herriot(y, d, x, proximity=named, areas=labels)
    order = np.arange(y.size)[::-1]   # the same data in reverse order: labels keep the matching
    rev = fay_herriot(y[order], d, x[order], proximity=named, areas=labels[order])
    np.testing.assert_allclose(rev.estimates["estimate"].sel(area=labels),
                               fit.estimates["estimate"].sel(area=labels), rtol=1e-8)
    base = fay_herriot(y, d, x, proximity=W)
    np.testing.assert_allclose(fit.estimates["estimate"], base.estimates["estimate"], rtol=1e-12)


def test_labelled_matrix_is_aligned_by_area():
    y, d, x, W, _ = _grid_data()
    labels = np.array([f"a{i:02d}" for i in range(y.size)])
    frame = pd.DataFrame(W, index=labels, columns=labels)
    order = np.arange(y.size)[::-1]
    fit = fay_herriot(y[order], d, x[order], proximity=frame, areas=labels[order])
    base = fay_herriot(y, d, x, proximity=W, areas=labels)
    np.testing.assert_allclose(fit.estimates["estimate"].sel(area=labels),
                               base.estimates["estimate"], rtol=1e-8)
    with pytest.raises(InputError, match="do not match"):
        fay_herriot(y, d, x, proximity=frame.rename(index={"a00": "zz"}, columns={"a00": "zz"}),
                    areas=labels)


def test_no_spatial_signal_gives_zero_variance_with_warning():
    rng = np.random.default_rng(0)
    m = 25
    x = rng.normal(size=m)
    y = 1 + x + rng.normal(scale=0.3, size=m)     # no area effects at all
    pairs = [(i, i + 1) for i in range(m - 1)]
    with pytest.warns(DataWarning, match="sigma2_u was estimated as 0"):
        fit = fay_herriot(y, np.ones(m), x, proximity=pairs, areas=np.arange(m))
    assert fit.sigma2_u == 0.0 and fit.converged
    np.testing.assert_allclose(fit.estimates["estimate"], fit.estimates["synthetic"])


def test_out_of_sample_areas_predicted_from_neighbours():
    y, d, x, W, _ = _grid_data()
    y_out, d_out = y.copy(), d.copy()
    y_out[[7, 20]] = np.nan
    d_out[[7, 20]] = np.nan
    fit = fay_herriot(y_out, d_out, x, proximity=W)
    est = fit.estimates
    assert not est["in_sample"][7] and not est["in_sample"][20] and est["in_sample"].sum() == 34
    assert np.isfinite(est["estimate"]).all() and np.isfinite(est["mse"]).all()
    # the prediction of an unsampled area is the conditional mean given its sampled neighbours:
    # it uses them (differs from the synthetic part) and is less certain than sampled areas
    assert abs(est["estimate"][7] - est["synthetic"][7]) > 1e-3
    assert est["mse"][7] > est["mse"][est["in_sample"]].max()


@pytest.mark.parametrize(
    ("proximity", "message"),
    [
        (np.eye(3), "diagonal"),
        (np.ones((4, 5)), "square"),
        (np.zeros((5, 5)), "5 × 5"),
    ],
)
def test_bad_proximity_shapes(proximity, message):
    y = np.array([1.0, 2.0, 3.0, 2.5, 1.5])
    if message == "5 × 5":
        proximity = np.zeros((4, 4))
    with pytest.raises(InputError, match=message):
        fay_herriot(y, np.ones(5), proximity=proximity)


def test_bad_proximity_values():
    y = np.array([1.0, 2.0, 3.0, 2.5])
    asym = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]], float)
    with pytest.raises(InputError, match="not symmetric"):
        fay_herriot(y, np.ones(4), proximity=asym)
    neg = np.array([[0, -1, 0, 0], [-1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], float)
    with pytest.raises(InputError, match="negative"):
        fay_herriot(y, np.ones(4), proximity=neg)
    weighted = np.array([[0, 2, 0, 0], [2, 0, 0, 0], [0, 0, 0, 3], [0, 0, 3, 0]], float)
    with pytest.raises(InputError, match="row-standardised"):
        fay_herriot(y, np.ones(4), proximity=weighted)
    with pytest.raises(InputError, match="'e'"):
        fay_herriot(y, np.ones(4), proximity=[("a", "b"), ("c", "e")], areas=list("abcd"))
    extra = adjacency_from_pairs([("a", "b"), ("c", "d"), ("d", "z")])
    with pytest.raises(InputError, match="'z'"):
        fay_herriot(y, np.ones(4), proximity=extra, areas=list("abcd"))


def _grid_weights(side: int) -> np.ndarray:
    pairs = [(r * side + c, r * side + c + 1) for r in range(side) for c in range(side - 1)]
    pairs += [(r * side + c, (r + 1) * side + c) for r in range(side - 1) for c in range(side)]
    return adjacency_from_pairs(pairs, areas=range(side * side)).row_standardised().toarray()


@pytest.mark.slow
def test_simulation_coverage_and_rmse(data_dir):
    """SAR truth on the 314 CSPs: 90% intervals cover, RMSE below direct and basic FH."""
    lookup = pd.read_csv(data_dir / "sae" / "lad17_csp17_pfa17_lookup.csv", encoding="utf-8-sig")
    codes = lookup["CSP17CD"].drop_duplicates().sort_values().to_numpy()
    adj = adjacency_from_pairs(pd.read_csv(data_dir / "sae" / "csp17_adjacency.csv"),
                               areas=codes)
    W = adj.row_standardised().toarray()
    m = W.shape[0]
    rng = np.random.default_rng(2026)
    x = rng.normal(size=m)
    d = rng.uniform(0.3, 2.0, size=m)
    rho, sigma2 = 0.8, 0.5
    a_inv = np.linalg.inv(np.eye(m) - rho * W)
    reps = 150
    cover, err_sfh, err_fh, err_dir = [], [], [], []
    for _ in range(reps):
        theta = 1.0 + 0.5 * x + a_inv @ rng.normal(scale=np.sqrt(sigma2), size=m)
        y = theta + rng.normal(scale=np.sqrt(d))
        fit = fay_herriot(y, d, x, proximity=W, level=0.90, tol=1e-6)
        basic = fay_herriot(y, d, x)
        est = fit.estimates
        cover.append(np.mean((est["lower"].values <= theta) & (theta <= est["upper"].values)))
        err_sfh.append(np.mean((est["estimate"].values - theta) ** 2))
        err_fh.append(np.mean((basic.estimates["estimate"].values - theta) ** 2))
        err_dir.append(np.mean((y - theta) ** 2))
    cover = np.asarray(cover)
    mc_se = cover.std(ddof=1) / np.sqrt(reps)
    print(f"SFH: coverage {cover.mean():.4f} (MC SE {mc_se:.4f}), RMSE sfh "
          f"{np.sqrt(np.mean(err_sfh)):.4f} fh {np.sqrt(np.mean(err_fh)):.4f} direct "
          f"{np.sqrt(np.mean(err_dir)):.4f}")
    assert abs(cover.mean() - 0.90) < 2 * mc_se, (cover.mean(), mc_se)
    assert np.mean(err_sfh) < np.mean(err_fh) < np.mean(err_dir)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_grapes_sparse_path_matches_r(grapes, method):
    """The sparse precision-form path (forced; exact traces) against R: as close as the dense."""
    from crimestats.sae.spatial import fit_spatial_fay_herriot

    data, W, ref = grapes
    eb, beta, fit_r = ref[method]
    fit = fit_spatial_fay_herriot(data["grapehect"].to_numpy(), data["var"].to_numpy(),
                                  data[["area", "workdays"]].to_numpy(), W,
                                  method=method.lower(), tol=1e-12, algorithm="sparse")
    dense = _fit(data, W, method.lower(), tol=1e-12)
    assert fit.converged and fit.diagnostics["algorithm"] == "sparse"
    for got, want in [(fit.sigma2_u, fit_r["refvar"]), (fit.rho, fit_r["spatialcorr"]),
                      (fit.beta, beta["beta"]), (fit.estimates["estimate"], eb["eblup"])]:
        assert _rel(got, want) < 1e-5
    assert _rel(fit.estimates["mse"], eb["mse"]) < 1e-5
    assert _rel(fit.estimates["mse"], dense.estimates["mse"]) < 1e-7
    assert _rel([fit.sigma2_u_se, fit.rho_se], [dense.sigma2_u_se, dense.rho_se]) < 1e-7
