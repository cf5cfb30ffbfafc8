"""fay_herriot_many: one Fay–Herriot fit per table, equal to fay_herriot table by table, and
bit for bit the same in memory, on dask's threads and on a dask.distributed LocalCluster."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import crimestats._progress as progress_module
from crimestats import ConvergenceWarning, DataWarning, InputError
from crimestats.sae import fay_herriot, fay_herriot_many

AREAS = [f"area {i:02d}" for i in range(40)]
TYPES = ["burglary", "robbery", "vehicle"]
YEARS = [2016, 2017, 2018, 2019]
DIMS = ("area", "crime_type", "year")


def _tables(seed: int = 5, missing: float = 0.1) -> tuple[xr.DataArray, xr.DataArray,
                                                         xr.DataArray]:
    """3 crime types x 4 years over 40 areas; covariates 'deprivation' (fixed) and 'trend'
    (changing by year); about 10% of area-tables without a direct estimate."""
    rng = np.random.default_rng(seed)
    coords = {"area": AREAS, "crime_type": TYPES, "year": YEARS}
    shape = (len(AREAS), len(TYPES), len(YEARS))
    deprivation = rng.uniform(size=len(AREAS))
    trend = rng.normal(size=(len(AREAS), len(YEARS)))
    covariates = xr.DataArray(
        np.stack([np.repeat(deprivation[:, None], len(YEARS), axis=1), trend], axis=1),
        dims=("area", "covariate", "year"),
        coords={"area": AREAS, "covariate": ["deprivation", "trend"], "year": YEARS})
    variance = xr.DataArray(rng.uniform(0.5, 4.0, shape), dims=DIMS, coords=coords)
    sigma_u = rng.uniform(0.3, 2.0, size=(1, len(TYPES), len(YEARS)))
    mean = 10 + 5 * deprivation[:, None, None] + trend[:, None, :]
    direct = mean + sigma_u * rng.normal(size=shape) + np.sqrt(variance) * rng.normal(size=shape)
    absent = rng.uniform(size=shape) < missing
    return direct.where(~absent), variance.where(~absent), covariates


@pytest.mark.parametrize("method", ["reml", "ml", "fh"])
def test_each_table_equals_fay_herriot(method):
    direct, variance, covariates = _tables()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # a table or two with sigma2_u = 0
        fit = fay_herriot_many(direct, variance, covariates, method=method, level=0.9)
    assert fit.estimates["estimate"].dims == DIMS
    assert fit.covariate_names == ("intercept", "deprivation", "trend")
    for kind in TYPES:
        for year in YEARS:
            where = {"crime_type": kind, "year": year}
            x = covariates.sel(year=year).transpose("area", "covariate").to_numpy()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataWarning)
                one = fay_herriot(direct.sel(where).to_numpy(), variance.sel(where).to_numpy(), x,
                                  method=method, areas=AREAS, level=0.9)
            got = fit.estimates.sel(where)
            for name in ("estimate", "mse", "lower", "upper", "shrinkage", "synthetic", "cv"):
                np.testing.assert_allclose(got[name], one.estimates[name], rtol=1e-11,
                                           atol=1e-12, err_msg=f"{name} {where}")
            np.testing.assert_array_equal(got["in_sample"], one.estimates["in_sample"])
            par = fit.parameters.sel(where)
            np.testing.assert_allclose(par["sigma2_u"], one.sigma2_u, rtol=1e-11, atol=1e-14)
            np.testing.assert_allclose(par["beta"], one.beta, rtol=1e-11)
            np.testing.assert_allclose(par["beta_se"], one.beta_se, rtol=1e-11)
            assert int(par["iterations"]) == one.iterations and bool(par["converged"])


def test_dask_chunks_and_local_cluster_are_bit_for_bit_the_serial_fit(capsys, monkeypatch):
    monkeypatch.setattr(progress_module, "DELAY", 0)
    pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    direct, variance, covariates = _tables(seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        serial = fay_herriot_many(direct, variance, covariates)
        threads = fay_herriot_many(direct.chunk({"crime_type": 2, "year": 3}),
                                   variance.chunk({"crime_type": 2, "year": 3}), covariates)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster):
            cluster_fit = fay_herriot_many(direct.chunk({"year": 1, "area": 7}),
                                           variance.chunk({"year": 1}),
                                           covariates.chunk({"year": 2}), progress=True)
    assert "chunk" in capsys.readouterr().err  # the bar counts the chunks done on the workers
    assert direct.chunks is None and serial.estimates["estimate"].chunks is None
    for other in (threads, cluster_fit):
        xr.testing.assert_identical(other.estimates, serial.estimates)
        xr.testing.assert_identical(other.parameters, serial.parameters)


def test_dask_tables_are_fitted_in_one_pass(dask_graphs):
    direct, variance, covariates = _tables(seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        fay_herriot_many(direct.chunk({"crime_type": 2, "year": 3}),
                         variance.chunk({"crime_type": 2, "year": 3}), covariates)
    assert dask_graphs.graphs == 1


@pytest.mark.filterwarnings("ignore::crimestats.DataWarning")
def test_labels_are_matched_not_positions():
    direct, variance, covariates = _tables(seed=2, missing=0.0)
    fit = fay_herriot_many(direct, variance, covariates)
    shuffled = fay_herriot_many(direct, variance.isel(area=slice(None, None, -1)),
                                covariates.isel(area=slice(None, None, -1),
                                                year=[3, 2, 1, 0]))
    xr.testing.assert_identical(fit.estimates, shuffled.estimates)
    with pytest.raises(InputError, match=r"label 'area' differently: only in `variance`: "
                                         r"\['elsewhere'\]"):
        fay_herriot_many(direct, variance.assign_coords(area=[*AREAS[:-1], "elsewhere"]))
    with pytest.raises(InputError, match="dimensions"):
        fay_herriot_many(direct, variance.isel(year=0))
    with pytest.raises(InputError, match="no 'area'"):
        fay_herriot_many(direct.rename(area="lsoa"), variance.rename(area="lsoa"))
    with pytest.raises(InputError, match="xarray.DataArray"):
        fay_herriot_many(direct.to_numpy(), variance.to_numpy())


def test_data_frames_one_column_per_table():
    direct, variance, _ = _tables(seed=4, missing=0.0)
    wide_y = direct.sel(crime_type="burglary").to_pandas()
    wide_d = variance.sel(crime_type="burglary").to_pandas()
    deprivation = pd.DataFrame({"deprivation": np.linspace(0, 1, len(AREAS))}, index=AREAS)
    fit = fay_herriot_many(wide_y, wide_d, deprivation)
    assert fit.estimates["estimate"].dims == ("area", "table")
    assert list(fit.parameters["table"].values) == YEARS
    tidy = fit.to_dataframe()
    assert len(tidy) == len(AREAS) * len(YEARS) and "estimate" in tidy
    with pytest.raises(InputError, match="not numeric"):
        fay_herriot_many(wide_y, wide_d, deprivation.assign(kind="x"))


def test_bad_tables_are_named():
    direct, variance, covariates = _tables(seed=6, missing=0.0)
    bad = variance.copy()
    bad.loc[{"area": "area 03", "crime_type": "robbery", "year": 2018}] = -1.0
    with pytest.raises(InputError, match=r"1 table\(s\) where a sampling variance is not "
                                         r"positive.*crime_type='robbery', year=2018"):
        fay_herriot_many(direct, bad)
    half = direct.copy()
    half.loc[{"area": "area 05", "crime_type": "vehicle", "year": 2016}] = np.nan
    with pytest.raises(InputError, match="missing in different areas.*crime_type='vehicle'"):
        fay_herriot_many(half, variance)
    few = direct.where((direct["area"].isin(AREAS[:3])) | (direct["year"] != 2019))
    with pytest.raises(InputError, match=r"3 table\(s\) where there are no more areas"):
        fay_herriot_many(few, variance.where(few.notnull()), covariates)
    collinear = covariates.copy()
    collinear.loc[{"covariate": "trend", "year": 2017}] = collinear.sel(
        covariate="deprivation", year=2017) * 2 + 1
    with pytest.raises(InputError, match=r"3 table\(s\) where the covariates are collinear.*"
                                         r"year=2017"):
        fay_herriot_many(direct, variance, collinear)
    with pytest.raises(InputError, match="method"):
        fay_herriot_many(direct, variance, method="hb")


def test_warnings_name_the_tables():
    direct, variance, _ = _tables(seed=8, missing=0.0)
    flat = direct.copy()
    flat.loc[{"crime_type": "burglary", "year": 2016}] = 10.0  # no spread: sigma2_u = 0
    with pytest.warns(DataWarning, match=r"0 in 1 table\(s\): \(crime_type='burglary', "
                                         r"year=2016\)"):
        fit = fay_herriot_many(flat, variance)
    assert float(fit.parameters["sigma2_u"].sel(crime_type="burglary", year=2016)) == 0.0
    with pytest.warns(ConvergenceWarning, match="did not converge in 1 iterations"):
        fay_herriot_many(direct, variance, max_iter=1)


def test_progress_bar_serial_and_dask(capsys, monkeypatch):
    monkeypatch.setattr(progress_module, "DELAY", 0)
    direct, variance, _ = _tables(seed=1, missing=0.0)
    fay_herriot_many(direct, variance, progress=True)
    assert "Fay–Herriot tables" in capsys.readouterr().err
    fay_herriot_many(direct, variance)
    assert capsys.readouterr().err == ""
    pytest.importorskip("dask.array")
    fay_herriot_many(direct.chunk({"year": 1}), variance, progress=True)
    err = capsys.readouterr().err
    assert "Fay–Herriot tables" in err and "task" in err
