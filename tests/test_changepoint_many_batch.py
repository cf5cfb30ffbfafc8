"""detect_many's batched engine gives, series by series, what detect gives; in processes and
on dask (threads and a dask.distributed LocalCluster) bit for bit what it gives in memory."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import crimestats
from crimestats import DataWarning
from crimestats.changepoint import detect, detect_many

MONTHS = pd.period_range("2019-01", periods=60, freq="M")


def _mixed_panel(seed: int = 5, k: int = 8) -> pd.DataFrame:
    """Monthly counts of every kind a national scan meets: seasonal or not, steps, trends,
    overdispersion, small and large counts."""
    rng = np.random.default_rng(seed)
    t = np.arange(MONTHS.size)
    cols = {}
    for j in range(k):
        base = rng.uniform(12, 200)
        season = np.exp((0.3 if j % 3 == 0 else 0.0) * np.cos(2 * np.pi * t / 12))
        step = np.where(t >= 20 + 3 * j, 1.5 if j % 2 else 1.0, 1.0)
        trend = np.exp(0.01 * (j % 4) * t)
        mu = base * season * step * trend
        cols[f"area {j}"] = rng.negative_binomial(30, 30 / (30 + mu)).astype(float)
    return pd.DataFrame(cols, index=MONTHS)


def _assert_as_detect(res, frame: pd.DataFrame, **options) -> None:
    likelihood = res.estimates.attrs["likelihood"]
    for label in frame.columns:
        one = detect(frame[label], likelihood, draws=0, **options)
        assert res.changepoints[label] == one.changepoints, label
        got = res.estimates.sel(series=label)
        for name in ("prob_change", "estimate", "lower", "upper"):
            np.testing.assert_allclose(got[name], one.estimates[name], rtol=1e-12,
                                       atol=1e-14, err_msg=f"{name} {label}")
        np.testing.assert_allclose(float(got["prob_any_change"]), one.prob_any_change,
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("likelihood", "transform", "options"), [
    ("auto", lambda w: w, {}),                                   # count_trend, seasonal test
    ("negbin", lambda w: w // 8, {}),
    ("trend", np.log1p, {"seasonal": None}),
    ("auto", lambda w: w.drop(w.index[[7, 30]]), {"fill": 0}),
    ("auto", lambda w: w.mask(np.arange(w.shape[0])[:, None] == 10 + np.zeros(w.shape, bool)),
     {"missing": "skip"}),
])
def test_each_series_as_detect_finds_it(likelihood, transform, options):
    frame = transform(_mixed_panel())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        res = detect_many(frame, likelihood, **options)
        _assert_as_detect(res, frame, **options)
    if likelihood == "auto":
        assert res.estimates.attrs["likelihood"] == "count_trend"


def test_results_are_detect_on_the_series_made_when_read():
    frame = _mixed_panel(k=3)
    res = detect_many(frame, "negbin", draws=50, random_seed=1)
    assert len(res.results) == 3 and list(res.results) == list(frame.columns)
    one = res.results["area 1"]
    assert one is res.results["area 1"]                   # made once
    assert one.changepoints == res.changepoints["area 1"]
    assert one.n_changes_prob.size > 0                    # the draws asked for
    with pytest.raises(KeyError):
        res.results["nowhere"]


def test_series_named_in_errors():
    frame = _mixed_panel(k=3)
    frame.iloc[4, 1] = np.nan
    with pytest.raises(crimestats.InputError, match="^series 'area 1'.*missing"):
        detect_many(frame)
    frame.iloc[4, 1] = 2.5
    with pytest.raises(crimestats.InputError, match="'area 1'"):
        detect_many(frame, "negbin")
    with pytest.raises(crimestats.InputError, match="unknown options"):
        detect_many(_mixed_panel(k=2), prior_anychange=0.5)


def test_processes_give_the_serial_result(monkeypatch):
    from crimestats.changepoint import many

    monkeypatch.setattr(many, "CHUNK", 3)
    frame = _mixed_panel(k=7) // 8
    serial = detect_many(frame, "negbin")
    parallel = detect_many(frame, "negbin", n_jobs=2)
    xr.testing.assert_identical(parallel.estimates, serial.estimates)
    assert parallel.changepoints == serial.changepoints


def test_dask_threads_and_local_cluster_are_bit_for_bit_the_serial_run():
    pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    frame = _mixed_panel(k=6)
    array = xr.DataArray(frame.to_numpy(), dims=("time", "series"),
                         coords={"time": MONTHS, "series": list(frame.columns)})
    serial = detect_many(frame, window=1)
    threads = detect_many(array.chunk({"series": 4}), window=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        cluster_fit = detect_many(array.chunk({"series": 2}), window=1)
    for other in (threads, cluster_fit):
        xr.testing.assert_identical(other.estimates, serial.estimates)
        assert other.changepoints == serial.changepoints
        assert other.prob_national_change == serial.prob_national_change
        assert other.log_bayes_factor == serial.log_bayes_factor
    assert array.chunk({"series": 2}).sel(series="area 0").chunks is not None


def test_dask_panel_is_read_in_two_passes_and_never_pulled_whole(dask_graphs):
    """One pass for the checks that choose the model, one for the fits: no numpy function on
    the way turns the lazy panel into an in-memory array (np.round once did, which on a
    cluster brought the whole panel into the client)."""
    frame = _mixed_panel(k=6) // 8
    array = xr.DataArray(frame.to_numpy(), dims=("time", "series"),
                         coords={"time": MONTHS, "series": list(frame.columns)})
    lazy = detect_many(array.chunk({"series": 2}), window=1)
    assert dask_graphs.graphs == 2
    assert lazy.changepoints == detect_many(frame, window=1).changepoints


def test_dask_chunk_errors_name_the_series():
    pytest.importorskip("dask.array")
    frame = _mixed_panel(k=4)
    frame.iloc[3, 2] = np.nan
    array = xr.DataArray(frame.to_numpy(), dims=("time", "series"),
                         coords={"time": MONTHS, "series": list(frame.columns)})
    with pytest.raises(crimestats.InputError, match="'area 2'.*missing"):
        detect_many(array.chunk({"series": 2}), "count_trend")


@pytest.mark.parametrize(("likelihood", "transform"), [
    ("poisson", lambda w: w // 8), ("negbin", lambda w: w // 8), ("count_trend", lambda w: w)])
def test_pelt_over_the_panel_is_pelt_on_each_series(likelihood, transform):
    frame = transform(_mixed_panel(k=5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        res = detect_many(frame, likelihood, method="pelt")
        for label in frame.columns:
            one = detect(frame[label], likelihood, method="pelt")
            assert res.changepoints[label] == one.changepoints, label
            got = res.estimates.sel(series=label)
            np.testing.assert_array_equal(got["prob_change"], one.estimates["prob_change"])
            np.testing.assert_allclose(got["estimate"], one.estimates["estimate"], rtol=1e-12)
    assert np.isnan(res.prob_national_change) and res.national_time is None


def test_seasonal_test_of_the_panel_is_the_test_of_each_series():
    from crimestats.changepoint._batch import seasonality_p_values
    from crimestats.changepoint.seasonal import seasonality_p_value

    rng = np.random.default_rng(0)
    t = np.arange(60)
    y = rng.poisson(rng.uniform(0.05, 100, 60)[None, :]
                    * np.exp(rng.uniform(0, 0.5, 60)[None, :] * np.cos(2 * np.pi * t / 12)[:, None])
                    ).astype(float)
    y[rng.integers(0, 60, 20), rng.integers(0, 60, 20)] = np.nan
    y[:, 5] = 0.0                                   # constant: no test possible (NaN)
    for multiplicative, exposure in ((True, np.ones(60)), (False, None), (True, None)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            one = [seasonality_p_value(y[:, i], 12, multiplicative=multiplicative,
                                       exposure=exposure) for i in range(y.shape[1])]
        np.testing.assert_allclose(seasonality_p_values(y, 12, multiplicative=multiplicative,
                                                        exposure=exposure), one, rtol=1e-10)


def test_progress_bar_counts_series_when_asked_and_is_silent_otherwise(capsys, monkeypatch):
    import crimestats._progress as progress_module

    monkeypatch.setattr(progress_module, "DELAY", 0)
    frame = _mixed_panel(k=3) // 8
    detect_many(frame, "negbin", progress=True)
    err = capsys.readouterr().err
    assert "Change points" in err and "/3" in err and "series" in err
    detect_many(frame, "negbin")                       # stderr is not a terminal here
    assert capsys.readouterr().err == ""
    with pytest.raises(crimestats.InputError, match="progress"):
        detect_many(frame, "negbin", progress="yes")


def test_result_pickles_with_its_lazy_per_series_results():
    import pickle

    frame = _mixed_panel(k=2) // 8
    res = pickle.loads(pickle.dumps(detect_many(frame, "negbin")))
    assert res.results["area 0"].changepoints == res.changepoints["area 0"]
