"""Many series at once, shared national change; seasonality."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import crimestats
from crimestats.changepoint import detect, detect_many, seasonal_factors


def _panel(rng, n=40, k=6, shared=True):
    base = rng.uniform(20, 60, size=k)
    if shared:
        at = np.full(k, 25)
    else:
        at = rng.choice(np.arange(8, 33), size=k, replace=False)
    step = np.where(np.arange(n)[:, None] >= at[None, :], 1.5, 1.0)
    return rng.poisson(base * step).astype(float), at


def test_shared_change_found(rng):
    y, _ = _panel(rng)
    res = detect_many(y, "poisson", random_seed=0)
    assert res.prob_national_change > 0.99
    assert res.national_time == 25
    assert res.estimates["prob_change"].dims == ("series", "time")
    assert res.estimates.sizes == {"series": 6, "time": 40}
    assert all(len(c) == 1 and abs(c[0] - 25) <= 1 for c in res.changepoints.values())
    json.dumps(res.to_dict())
    assert "shared (national) change" in res.summary()


def test_local_changes_are_not_national(rng):
    y, at = _panel(rng, shared=False)
    res = detect_many(y, "poisson", random_seed=0)
    assert res.prob_national_change < 0.05
    for j, cps in res.changepoints.items():
        assert len(cps) == 1 and abs(cps[0] - at[j]) <= 2


def test_long_table_threads_and_window(rng):
    y, _ = _panel(rng, k=4)
    y[26:, 0] = np.round(y[26:, 0] * 1.0)    # unchanged values, just a copy
    long = pd.DataFrame(y, index=pd.RangeIndex(40, name="month")).stack().rename("n")
    long = long.rename_axis(["month", "force"]).reset_index()
    long["force"] = long["force"].map(lambda j: f"force {j}")
    res = detect_many(long, "poisson", time="month", series="force", value="n", n_jobs=2,
                      window=1, random_seed=0)
    assert list(res.estimates["series"].values) == [f"force {j}" for j in range(4)]
    single = detect(y[:, 2], "poisson", random_seed=0)
    np.testing.assert_allclose(res.estimates["prob_change"].sel(series="force 2"),
                               single.estimates["prob_change"])
    assert res.prob_national_change > 0.99


def test_many_bad_input(rng):
    y, _ = _panel(rng, k=3)
    long = pd.DataFrame({"t": [0, 0, 1], "s": ["a", "a", "a"], "v": [1, 2, 3]})
    with pytest.raises(crimestats.InputError, match="repeated"):
        detect_many(long, "poisson", time="t", series="s", value="v")
    with pytest.raises(crimestats.InputError, match="column"):
        detect_many(long, "poisson", time="t", series="force", value="v")
    y[5, 1] = np.nan
    with pytest.raises(crimestats.InputError, match="missing"):
        detect_many(y, "poisson")
    with pytest.raises(crimestats.InputError, match="method"):
        detect_many(np.nan_to_num(y), "poisson", method="binseg")


# ---------------------------------------------------------------- seasonality

def _seasonal_counts(rng, years=6, change_at=40):
    t = np.arange(12 * years)
    season = np.exp(0.35 * np.cos(2 * np.pi * (t % 12) / 12))     # winter peak, summer trough
    level = np.where(t >= change_at, 260.0, 200.0)
    return rng.poisson(level * season).astype(float), season


def test_seasonal_model_stops_seasonal_false_changes(rng):
    y, _ = _seasonal_counts(rng)
    plain = detect(y, "poisson", random_seed=0, seasonal=None)
    seasonal = detect(y, "negbin", seasonal=12, random_seed=0)
    assert len(plain.changepoints) >= 4           # every winter looks like a change
    assert seasonal.changepoints == pytest.approx([40], abs=1)
    assert seasonal.estimates["seasonal_factor"].values[0] > 1.3


def test_seasonal_factors_recover_truth(rng):
    y, season = _seasonal_counts(rng, years=10)
    f = seasonal_factors(y, 12, changepoints=[40])
    truth = season / np.exp(np.mean(np.log(season[:12])))
    # SE of a median of 10 log-ratios with Poisson CV ~6%: ~0.025; allow 3 SE
    np.testing.assert_allclose(f[:12], truth[:12], rtol=0.08)


def test_seasonal_normal_and_errors(rng):
    t = np.arange(96)
    y = 2.0 * np.sin(2 * np.pi * t / 12) + np.where(t >= 50, 3.0, 0.0) + rng.normal(0, 0.5, 96)
    res = detect(y, "normal", seasonal=12, random_seed=0)
    assert res.changepoints == pytest.approx([50], abs=1)
    with pytest.raises(crimestats.InputError, match="two full"):
        detect(y[:20], "normal", seasonal=12)
    with pytest.raises(crimestats.InputError, match="period"):
        detect(y, "normal", seasonal=1)


# ---------------------------------------------------------------- one panel, one model

def test_auto_decides_once_for_the_panel(rng):
    y, _ = _panel(rng, k=4)
    big = y * 20
    res = detect_many(big, random_seed=0)
    assert {r.likelihood for r in res.results.values()} == {"count_trend"}
    small = detect_many(np.round(y / 10), random_seed=0)
    assert {r.likelihood for r in small.results.values()} == {"negbin"}


def test_panel_errors_name_the_series(rng):
    y, _ = _panel(rng, k=3)
    frame = pd.DataFrame(y, columns=["Cleveland", "Durham", "Kent"])
    frame.loc[4, "Durham"] = -2
    with pytest.raises(crimestats.InputError, match="'Durham'.*negative"):
        detect_many(frame)
    frame.loc[4, "Durham"] = 1.5
    with pytest.raises(crimestats.InputError, match="series 'Durham'"):
        detect_many(frame, "poisson")
    with pytest.raises(crimestats.InputError, match="n_jobs"):
        detect_many(np.abs(y), "poisson", n_jobs=0)


def test_panel_time_is_checked(rng):
    y, _ = _panel(rng, k=2, n=24)
    frame = pd.DataFrame(y, index=pd.period_range("2019-01", periods=24, freq="M"))
    with pytest.raises(crimestats.InputError, match="skips"):
        detect_many(frame.drop(frame.index[5]), "poisson")
    res = detect_many(frame.drop(frame.index[5]), "poisson", fill=0)
    assert res.estimates.sizes["time"] == 24
    assert isinstance(res.national_time, str)
