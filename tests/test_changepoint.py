"""`detect` at its public boundary: defaults, time handled as time, no silent switches, results."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import crimestats
from crimestats.changepoint import detect


def _steps(rng, n, starts, levels, noise="poisson"):
    mean = np.repeat(levels, np.diff(np.r_[0, starts, n]))
    if noise == "poisson":
        return rng.poisson(mean).astype(float)
    return mean + rng.normal(0, 1, n)


def _months(n, start="2017-01"):
    return pd.period_range(start, periods=n, freq="M")


# ---------------------------------------------------------------- defaults

def test_auto_picks_the_model_from_the_data(rng):
    big = _steps(rng, 50, [25], [300, 420])
    assert detect(big, draws=0).likelihood == "count_trend"
    small = _steps(rng, 50, [25], [3, 8])
    assert detect(small, draws=0).likelihood == "negbin"
    assert detect(big + 0.5, draws=0).likelihood == "log_trend"        # positive rates
    assert detect(big - 350.5, draws=0).likelihood == "trend"          # any real values


def test_negative_whole_numbers_under_auto_raise(rng):
    y = _steps(rng, 40, [20], [30, 50])
    y[7] = -3
    with pytest.raises(crimestats.InputError, match="negative values at time at position 7.*trend"):
        detect(y)
    assert detect(y, "trend", draws=0).likelihood == "trend"    # said explicitly: real values


def test_a_steady_trend_is_not_a_staircase(rng):
    t = np.arange(96)
    y = pd.Series(rng.poisson(200 * np.exp(0.012 * t)), index=_months(96))   # tripling
    res = detect(y, random_seed=0)
    assert res.changepoints == []
    assert res.prob_any_change < 0.5
    assert res.segments["slope"].iloc[0] == pytest.approx(0.012, abs=0.003)


def test_a_step_on_a_trend_is_found(rng):
    t = np.arange(72)
    y = pd.Series(rng.poisson(400 * np.exp(0.005 * t) * np.where(t >= 40, 1.3, 1.0)),
                  index=_months(72))
    res = detect(y, random_seed=0)
    assert res.changepoints == pytest.approx([40], abs=1)
    assert res.prob_any_change > 0.99


def test_same_seed_same_numbers(rng):
    y = _steps(rng, 80, [40], [5, 9])
    a = detect(y, "poisson", random_seed=3)
    b = detect(y, "poisson", random_seed=3)
    np.testing.assert_array_equal(a.n_changes_prob, b.n_changes_prob)
    np.testing.assert_array_equal(a.estimates["level"], b.estimates["level"])


def test_no_change_gives_no_change(rng):
    y = rng.poisson(15, 300)
    for lik in ("poisson", "negbin", "normal", "normal_mean", "trend"):
        res = detect(y, lik, random_seed=0, draws=0)
        assert res.changepoints == [], lik
        assert res.estimates["prob_change"].max() < 0.5
        assert detect(y, lik, method="pelt").changepoints == [], lik


# ---------------------------------------------------------------- time

def test_period_index_is_kept_and_written_as_text(rng):
    y = pd.Series(_steps(rng, 48, [30], [100, 60]), index=_months(48, "2018-01"))
    res = detect(y, "poisson", random_seed=0)
    assert res.changepoints == [30]
    assert res.changepoint_times == [pd.Period("2020-07", "M")]
    assert isinstance(res.estimates.indexes["time"], pd.PeriodIndex)
    doc = json.loads(res.to_json())
    assert doc["estimates"]["coords"]["time"][30] == "2020-07"
    assert doc["segments"]["start_time"][1] == "2020-07"


def test_missing_months_are_named_with_both_fixes(rng):
    y = pd.Series(_steps(rng, 24, [12], [4, 9]), index=_months(24))
    gaps = y.drop(y.index[[5, 6, 17]])
    with pytest.raises(crimestats.InputError, match="skips 3 period.*'2017-06'.*fill=0.*skip"):
        detect(gaps)
    filled = detect(gaps, fill=0, draws=0)
    assert filled.estimates.sizes["time"] == 24
    assert filled.estimates["y"].values[5] == 0
    assert filled.diagnostics["filled_or_skipped"] == [pd.Period(m, "M") for m in
                                                      ("2017-06", "2017-07", "2018-06")]
    skipped = detect(gaps, missing="skip", draws=0)
    assert np.isnan(skipped.estimates["y"].values[5])


def test_unsorted_descending_and_repeated_time_are_refused(rng):
    y = pd.Series(_steps(rng, 12, [6], [40, 20]), index=range(1989, 2001))
    with pytest.raises(crimestats.InputError, match="backwards"):
        detect(y[::-1])
    with pytest.raises(crimestats.InputError, match="time order"):
        detect(y.iloc[[0, 2, 1, *range(3, 12)]])
    with pytest.raises(crimestats.InputError, match="repeats"):
        detect(pd.Series(y.values, index=[1989, 1989, *range(1991, 2001)]))
    with pytest.raises(crimestats.InputError, match="1 labels|12 labels"):
        detect(y.values, time=[1, 2, 3])


def test_exposure_series_is_matched_by_label(rng):
    pop = pd.Series(np.r_[np.full(30, 1000.0), np.full(30, 2000.0)], index=range(1960, 2020))
    y = pd.Series(rng.poisson(0.01 * pop.to_numpy()), index=pop.index)
    res = detect(y, "poisson", exposure=pop.iloc[::-1], random_seed=0)      # reversed order
    assert res.changepoints == []
    with pytest.raises(crimestats.InputError, match="labels differ"):
        detect(y, "poisson", exposure=pop.set_axis(range(1900, 1960)))


def test_too_short_to_change_warns_and_flags():
    with pytest.warns(crimestats.DataWarning, match="no change can be placed"):
        res = detect([10, 12, 11], "poisson", min_size=2)
    assert res.changepoints == [] and res.diagnostics["too_short"]


def test_seasonality_from_the_calendar(rng):
    t = np.arange(96)
    season = np.exp(0.3 * np.cos(2 * np.pi * t / 12))
    y = pd.Series(rng.poisson(500 * season * np.where(t >= 60, 1.3, 1.0)), index=_months(96))
    res = detect(y, random_seed=0)
    assert res.diagnostics["seasonal"] == 12
    assert res.changepoints == pytest.approx([60], abs=1)
    flat = pd.Series(rng.poisson(500, 96), index=_months(96))
    assert detect(flat, draws=0).diagnostics["seasonal"] is None     # not significant
    assert detect(y.to_numpy(), draws=0).diagnostics["seasonal"] is None    # no calendar


# ---------------------------------------------------------------- bad input and options

@pytest.mark.parametrize("likelihood", ["poisson", "negbin", "count_trend"])
def test_negative_and_fractional_counts(likelihood):
    with pytest.raises(crimestats.InputError, match="negative"):
        detect([3, 4, -1, 5], likelihood)
    with pytest.raises(crimestats.InputError, match="whole numbers"):
        detect([3, 4, 1.5, 5], likelihood)


def test_nan_requires_explicit_choice(rng):
    y = _steps(rng, 60, [30], [5, 15])
    y[[10, 11]] = np.nan
    with pytest.raises(crimestats.InputError, match="missing='skip'"):
        detect(y, "poisson")
    res = detect(y, "poisson", missing="skip", random_seed=0)
    assert res.estimates.sizes["time"] == 60          # nothing dropped
    assert np.isnan(res.estimates["y"].values[10])
    assert res.changepoints == [30]


def test_options_a_model_does_not_take_are_refused():
    with pytest.raises(crimestats.InputError, match="`size` applies to likelihood 'negbin'"):
        detect([10, 20, 30, 40], "poisson", size=5)
    with pytest.raises(crimestats.InputError, match="`ar` applies"):
        detect([10, 20, 30, 40], "negbin", ar=0.5)
    with pytest.raises(crimestats.InputError, match="ar"):
        detect([1.0, 2.0, 3.0, 4.0], "trend", ar=1.2)


def test_short_series_and_bad_options():
    with pytest.raises(crimestats.InputError, match="minimum segment"):
        detect([1, 2, 3], "poisson", min_size=5)
    with pytest.raises(crimestats.InputError):
        detect([1.0], "normal")
    with pytest.raises(crimestats.InputError, match="likelihood"):
        detect([1, 2, 3, 4], "gaussian")
    with pytest.raises(crimestats.InputError, match="method"):
        detect([1, 2, 3, 4], "poisson", method="binseg")
    with pytest.raises(crimestats.InputError, match="prior_change"):
        detect([1, 2, 3, 4], "poisson", prior_change=1.5)
    with pytest.raises(crimestats.InputError, match="prior_any_change"):
        detect([1, 2, 3, 4], "poisson", prior_any_change=0)
    with pytest.raises(crimestats.InputError, match="draws"):
        detect([1, 2, 3, 4], "poisson", draws=-1)
    with pytest.raises(crimestats.InputError, match="exposure"):
        detect([1, 2, 3, 4], "poisson", exposure=[1, 2, 0, 1])
    with pytest.raises(crimestats.InputError, match="exposure"):
        detect([1, 2, 3, 4], "poisson", exposure=[1, 2])
    with pytest.raises(crimestats.InputError, match="infinite"):
        detect([1.0, np.inf, 3.0, 4.0], "normal")
    with pytest.raises(crimestats.InputError, match="detect_many"):
        detect(np.ones((5, 2)), "poisson")
    with pytest.raises(crimestats.InputError, match="seasonal"):
        detect(np.arange(40.0), "trend", seasonal="yearly")


# ---------------------------------------------------------------- models and results

def test_exposure_rate_change_only(rng):
    """Counts rise because the population doubles: no change in the rate per person."""
    pop = np.r_[np.full(50, 1000.0), np.full(50, 2000.0)]
    y = rng.poisson(0.01 * pop)
    found = detect(y, "poisson", random_seed=0).changepoints
    assert len(found) == 1 and abs(found[0] - 50) <= 2
    res = detect(y, "poisson", exposure=pop, random_seed=0)
    assert res.changepoints == []
    assert res.segments["lower"][0] < 0.01 < res.segments["upper"][0]


def test_negbin_overdispersed_counts_few_false_changes(rng):
    y = rng.negative_binomial(10, 10 / (10 + 200), size=200)     # mean 200, sd ~ 65
    res = detect(y, "negbin", random_seed=0)
    assert res.changepoints == []
    assert 5 <= max(res.hyperparameters["size"], key=res.hyperparameters["size"].get) <= 25
    with pytest.warns(crimestats.DataWarning, match="negbin"):
        pois = detect(y, "poisson", random_seed=0)
    assert len(pois.changepoints) > 5


def test_segment_interval_coverage(rng):
    """95% intervals of a segment rate cover the truth in about 95% of replicates."""
    hits = 0
    reps = 200
    for _ in range(reps):
        y = rng.poisson(np.repeat([4.0, 9.0], [60, 60]))
        res = detect(y, "poisson", method="pelt")
        seg = res.segments
        if len(seg) == 2:
            hits += (seg["lower"][1] <= 9.0 <= seg["upper"][1])
    rate = hits / reps
    assert abs(rate - 0.95) < 3 * np.sqrt(0.95 * 0.05 / reps) + 0.01


def test_trend_interval_covers_the_true_line(rng):
    """95% intervals of the trend path cover the true mean at about 95% of times."""
    t = np.arange(60)
    truth = 10 + 0.05 * t
    cover = []
    for _ in range(60):
        y = truth + rng.normal(0, 0.5, 60)
        res = detect(y, "trend", ar=0.0, draws=0)
        if res.changepoints == []:
            est = res.estimates
            cover.append(np.mean((est["lower"].values <= truth) & (truth <= est["upper"].values)))
    assert len(cover) > 50
    assert np.mean(cover) == pytest.approx(0.95, abs=0.04)


def test_variance_change_normal(rng):
    y = np.r_[rng.normal(0, 1, 100), rng.normal(0, 4, 100)]
    assert detect(y, "normal", random_seed=0).changepoints == pytest.approx([100], abs=5)
    z = np.r_[rng.normal(0, 2, 100), rng.normal(3, 2, 100)]
    assert detect(z, "normal_mean", random_seed=0).changepoints == pytest.approx([100], abs=5)


def test_degenerate_series():
    for y, lik in [(np.full(20, 5.0), "normal"), (np.zeros(30), "poisson"),
                   (np.zeros(30), "negbin"), (np.array([1.0, 2.0]), "normal"),
                   (np.full(20, 5.0), "trend")]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", crimestats.DataWarning)
            assert detect(y, lik, random_seed=0).changepoints == []
            assert detect(y, lik, method="pelt").changepoints == []


def test_nullable_integer_series(rng):
    y = pd.Series(_steps(rng, 40, [20], [5, 15]).astype(int), dtype="Int64")
    y.iloc[3] = pd.NA
    with pytest.raises(crimestats.InputError, match="missing"):
        detect(y, "poisson")
    assert detect(y, "poisson", missing="skip", random_seed=0).changepoints == [20]


def test_result_round_trips(rng, tmp_path):
    import xarray as xr

    y = pd.Series(_steps(rng, 30, [15], [5, 20]), index=[f"m{i}" for i in range(30)])
    res = detect(y, "poisson", random_seed=0)
    frame = res.to_dataframe()
    assert list(frame.index) == list(y.index) and "prob_change" in frame
    res.to_netcdf(tmp_path / "cp.nc")
    back = xr.open_dataset(tmp_path / "cp.nc")
    np.testing.assert_allclose(back["prob_change"], res.estimates["prob_change"])
    json.dumps(res.to_dict(), allow_nan=False)
