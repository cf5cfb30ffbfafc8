"""Change tests: the statistic by hand, variability estimates, time axes, panels, FDR, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crimestats import DataWarning, InputError
from crimestats.compare import change_test, change_tests
from crimestats.compare._variability import estimate_variability
from crimestats.datasets import load_recorded_crime, simulate_count_panel


def test_year_on_year_statistic_by_hand():
    counts = pd.Series([900, 950, 1000, 1040, 1100, 1210], index=range(2013, 2019))
    pop = pd.Series([1.0e5, 1.0e5, 1.1e5, 1.1e5, 1.2e5, 1.25e5], index=range(2013, 2019))
    res = change_test(counts, pop, kappa=0.002)
    row = res.to_dataframe().iloc[0]
    a, b, na, nb = 1210, 1100, 1.25e5, 1.2e5
    lam = (a + b) / (na + nb)
    z = (a / na - b / nb) / np.sqrt(lam * (1 / na + 1 / nb) + 0.002 * lam**2 * 2)
    assert row["z"] == pytest.approx(z)
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert row["rate_ratio"] == pytest.approx((a / na) / (b / nb))
    half = stats.norm.isf(0.025) * np.sqrt(1 / a + 1 / b + 0.002 * 2)
    assert row["upper"] == pytest.approx(np.exp(np.log((a / na) / (b / nb)) + half))
    assert res.recent == (2018,) and res.previous == (2017,)
    json.dumps(res.to_dict())


def test_three_year_average_with_autocorrelation_by_hand():
    counts = np.array([500, 520, 480, 510, 530, 560, 600, 610, 640.0])
    res = change_test(counts, compare="three_year", kappa=0.003, autocorrelation=0.5)
    row = res.to_dataframe().iloc[0]
    a, b = 600 + 610 + 640, 510 + 530 + 560
    lam = (a + b) / 6
    w = np.r_[-np.ones(3) / 3, np.ones(3) / 3]
    corr = 0.5 ** np.abs(np.subtract.outer(np.arange(6), np.arange(6)))
    c = w @ corr @ w
    z = (a / 3 - b / 3) / np.sqrt(lam * (2 / 3) + 0.003 * lam**2 * c)
    assert row["z"] == pytest.approx(z)
    assert row["autocorrelation"] == 0.5
    assert res.recent == (6, 7, 8)


def test_variability_estimates_recover_the_truth():
    rng = np.random.default_rng(4)

    def wide(sim):
        y = sim.data["count"].to_numpy(float).reshape(430, 16)
        return y, np.ones_like(y)

    flat = estimate_variability(*wide(simulate_count_panel(
        43, 10, 16, kappa=0.004, trend="flat", random_seed=rng)), "local", None, True)
    assert flat.kappa0[0] == pytest.approx(0.004, rel=0.1)
    assert abs(flat.rho[0]) < 0.15
    ar = wide(simulate_count_panel(43, 10, 16, kappa=0.004, trend="flat", autocorrelation=0.5,
                                   random_seed=rng))
    # the polynomial detrending is the more efficient here; second differences are noisier
    # about the autocorrelation
    assert estimate_variability(*ar, 2, None, True).rho[0] == pytest.approx(0.5, abs=0.08)
    assert 0.15 < estimate_variability(*ar, "local", None, True).rho[0] < 0.75


def test_null_false_positive_rate_quick():
    """Quick version of the validation run: 3 null panels of 430 series, year on year."""
    rng = np.random.default_rng(8)
    rates = []
    for _ in range(3):
        sim = simulate_count_panel(43, 10, 16, kappa=0.004, trend="kink", random_seed=rng)
        for dispersion in ("series", "pooled"):
            res = change_tests(sim.data, count="count", time="year", by=["force", "offence"],
                               dispersion=dispersion)
            rates.append(res.estimates["significant"].values.mean())
    assert np.mean(rates) <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / (6 * 430))


def test_fdr_controlled_quick():
    rng = np.random.default_rng(9)
    fdp = []
    for _ in range(4):
        sim = simulate_count_panel(43, 10, 16, kappa=0.004, changed=0.1, change=0.3,
                                   random_seed=rng)
        res = change_tests(sim.data, count="count", time="year", by=["force", "offence"])
        disc = res.estimates["discovery"].values
        truth = sim.changed.to_numpy()
        assert (disc & truth).sum() > 0.1 * truth.sum()
        fdp.append((disc & ~truth).sum() / disc.sum())
    assert np.mean(fdp) <= 0.05


def test_panel_on_bundled_recorded_crime():
    crime = load_recorded_crime(offence=["Robbery", "Shoplifting"], years=range(2009, 2019))
    res = change_tests(crime, count="offences", time="financial_year_ending",
                       by=["force", "offence"], fdr_method="by")
    est = res.estimates
    assert est.sizes["series"] == 86
    assert set(est.coords) >= {"series", "force", "offence"}
    q = stats.false_discovery_control(est["p_value"].values, method="by")
    np.testing.assert_allclose(est["q_value"].values, q)
    assert (est["discovery"].values == (q <= 0.05)).all()
    kent = res.to_dataframe().set_index(["force", "offence"]).loc[("Kent", "Robbery")]
    assert kent["recent"] == crime.query(
        "force == 'Kent' and offence == 'Robbery' and financial_year_ending == 2018"
    )["offences"].item()
    assert "discoveries at FDR 5% (BY)" in res.summary()
    assert set(res.discoveries().index) == set(res.to_dataframe().index[est["discovery"].values])


def test_time_labels_are_checked():
    counts = [10, 12, 11, 13, 12, 15]
    with pytest.raises(InputError, match="time order"):
        change_test(counts, time=[2013, 2012, 2014, 2015, 2016, 2017])
    with pytest.raises(InputError, match="repeats"):
        change_test(counts, time=[2012, 2012, 2014, 2015, 2016, 2017])
    with pytest.raises(InputError, match="skips"):
        change_test(counts, time=[2010, 2012, 2014, 2015, 2016, 2017])
    res = change_test(counts, time=["2012/13", "2013/14", "2014/15", "2015/16", "2016/17",
                                    "2017/18"], trend=1)
    assert res.recent == ("2017/18",)
    fy = pd.Series(counts, index=pd.period_range("2018-01", periods=6, freq="M"))
    assert change_test(fy, trend=1).recent == ("2018-06",)


def test_exposure_series_matched_by_period():
    counts = pd.Series([100, 110, 105, 120, 118, 150], index=range(2013, 2019))
    pop = pd.Series([1e4, 1e4, 1e4, 1e4, 2e4, 1e4], index=[2017, 2013, 2014, 2015, 2016, 2018])
    res = change_test(counts, pop, kappa=0.0)
    assert res.to_dataframe().iloc[0]["rate_ratio"] == pytest.approx((150 / 1e4) / (118 / 1e4))
    with pytest.raises(InputError, match="labels differ"):
        change_test(counts, pop.rename({2018: 2019}), kappa=0.0)


@pytest.mark.parametrize("call, match", [
    (lambda: change_test([1, 2, 3, 4, 5, 6]), "at least 6 periods before the latest 1"),
    (lambda: change_test([1, -2, 3, 4, 5, 6, 7]), "cannot be negative"),
    (lambda: change_test([1, 2.5, 3, 4, 5, 6, 7]), "whole numbers"),
    (lambda: change_test([1, 2, 3, 4, 5, 6, 7], compare="weekly"), "compare"),
    (lambda: change_test([1, 2, 3, 4, 5], compare="three_year", kappa=0.0), "at least 6"),
    (lambda: change_test([1, 2, 3, 4, 5, 6, 7], kappa=-1.0), "kappa"),
    (lambda: change_test([1, 2, 3, 4, 5, 6, 7], autocorrelation=1.5), "autocorrelation"),
    (lambda: change_test([1, 2, 3, 4, 5, 6, 7], [1, 1, 0, 1, 1, 1, 1]), "must be positive"),
    (lambda: change_test("offences"), "data"),
])
def test_bad_single_series(call, match):
    with pytest.raises(InputError, match=match):
        call()


def test_bad_panels():
    crime = load_recorded_crime(offence=["Robbery"], years=range(2010, 2019))
    with pytest.raises(InputError, match="missing from `data`"):
        change_tests(crime.drop(index=5), count="offences", time="financial_year_ending",
                     by="force")
    with pytest.raises(InputError, match="repeats"):
        change_tests(pd.concat([crime, crime.iloc[:1]]), count="offences",
                     time="financial_year_ending", by="force")
    with pytest.raises(InputError, match="pool_by"):
        change_tests(crime, count="offences", time="financial_year_ending", by="force",
                     pool_by="offence")
    with pytest.raises(InputError, match="no column"):
        change_tests(crime, count="count", time="financial_year_ending", by="force")


def test_series_without_counts_warn():
    data = pd.DataFrame({"area": ["a"] * 7 + ["b"] * 7, "year": list(range(7)) * 2,
                         "count": [5, 6, 7, 6, 5, 0, 0] + [10, 12, 11, 13, 12, 14, 15]})
    with pytest.warns(DataWarning, match="no counts in either window"):
        res = change_tests(data, count="count", time="year", by="area", dispersion=0.0)
    assert res.to_dataframe().loc["a", "p_value"] == 1.0
