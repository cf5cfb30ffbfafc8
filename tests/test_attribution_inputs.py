"""Input rules of `attribute`: one test per rule, each naming the offending labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crimestats
from crimestats.changepoint import attribute
from crimestats.datasets import load_csew_prevalence

YEARS = np.arange(2005, 2019)


@pytest.fixture(scope="module")
def series():
    """A reporting step of +50% in 2014 while survey incidence falls 2% a year."""
    inc = 0.05 * 0.98 ** np.arange(14)
    recorded = pd.Series(np.round(1e6 * inc * np.where(YEARS >= 2014, 0.6, 0.4)), index=YEARS)
    survey = pd.DataFrame({"period": YEARS, "estimate": inc, "se": 0.03 * inc})
    return recorded, survey


def _fit(recorded, survey, **kw):
    kw.setdefault("population", 1e6)
    kw.setdefault("draws", 200)
    kw.setdefault("random_seed", 0)
    return attribute(recorded, survey, **kw)


def test_descending_periods_are_refused_not_flipped(series):
    recorded, survey = series
    with pytest.raises(crimestats.InputError, match=r"time order.*2017.*2018.*backwards"):
        _fit(recorded[::-1], survey)


def test_unsorted_and_repeated_periods_are_refused(series):
    recorded, survey = series
    shuffled = recorded.iloc[[0, 2, 1, *range(3, 14)]]
    with pytest.raises(crimestats.InputError, match="time order"):
        _fit(shuffled, survey)
    repeated = pd.concat([recorded, recorded.iloc[[5]]]).sort_index()
    with pytest.raises(crimestats.InputError, match="repeats the time label.*2010"):
        _fit(repeated, survey)
    with pytest.raises(crimestats.InputError, match="repeats the time label.*2009"):
        _fit(recorded, pd.concat([survey, survey.iloc[[4]]]).sort_values("period"))
    with pytest.raises(crimestats.InputError, match=r"survey\['period'\].*time order"):
        _fit(recorded, survey.iloc[::-1])


def test_gaps_in_recorded_periods_are_refused(series):
    recorded, survey = series
    with pytest.raises(crimestats.InputError, match="skips 1 period.*2010"):
        _fit(recorded.drop(2010), survey)


def test_shares_must_be_proportions(series):
    recorded, survey = series
    share = pd.DataFrame({"period": YEARS, "estimate": np.full(14, 0.4), "se": 0.02})
    share.loc[3, "estimate"] = 1.4
    with pytest.raises(crimestats.InputError, match=r"between 0 and 1.*2008.*\[1\.4\]"):
        _fit(recorded, survey, reported_share=share)
    with pytest.raises(crimestats.InputError, match="positive"):
        _fit(recorded, survey, reported_share=share.assign(estimate=0.0))


def test_population_is_matched_by_label(series):
    recorded, survey = series
    pop = pd.Series(np.full(14, 1e6), index=YEARS)
    pop.loc[2018] = 2e6                    # a different population in the last year only
    ordered = _fit(recorded, survey, population=pop)
    shuffled = _fit(recorded, survey, population=pop.sample(frac=1, random_state=1))
    pd.testing.assert_frame_equal(ordered.effects, shuffled.effects)
    assert ordered.estimates["recorded_rate"].sel(time=2018) == recorded[2018] / 2e6
    with pytest.raises(crimestats.InputError, match=r"missing from `population`: \[2018\]"):
        _fit(recorded, survey, population=pop.drop(2018))
    with pytest.raises(crimestats.InputError, match="13 values"):
        _fit(recorded, survey, population=np.full(13, 1e6))
    with pytest.raises(crimestats.InputError, match="positive"):
        _fit(recorded, survey, population=pop.replace(2e6, -1.0))


def test_controls_are_matched_by_label(series):
    recorded, survey = series
    control = pd.Series(np.round(1e6 * 0.02 * 0.9 * np.ones(14)), index=YEARS)
    c_survey = pd.DataFrame({"period": YEARS, "estimate": 0.02, "se": 0.001})
    a = _fit(recorded, survey, controls={"vehicle": (control, c_survey)})
    b = _fit(recorded, survey, controls={"vehicle": (control[::-1], c_survey)})
    pd.testing.assert_frame_equal(a.effects, b.effects)
    with pytest.raises(crimestats.InputError, match="missing from `controls"):
        _fit(recorded, survey, controls={"vehicle": (control.drop(2012), c_survey)})
    with pytest.raises(crimestats.InputError, match="pair"):
        _fit(recorded, survey, controls={"vehicle": control})


def test_draws_must_be_at_least_one(series):
    recorded, survey = series
    for bad in (0, -3, 2.5, True):
        with pytest.raises(crimestats.InputError, match="draws"):
            _fit(recorded, survey, draws=bad)
    assert np.isfinite(_fit(recorded, survey, draws=1).prob_not_incidence)


def test_other_arguments_are_checked(series):
    recorded, survey = series
    with pytest.raises(crimestats.InputError, match="prior_change"):
        _fit(recorded, survey, prior_change=1.0)
    with pytest.raises(crimestats.InputError, match="max_changes"):
        _fit(recorded, survey, max_changes=4)
    with pytest.raises(crimestats.InputError, match="ramp_lengths"):
        _fit(recorded, survey, ramp_lengths=[0, 2])
    with pytest.raises(crimestats.InputError, match="level"):
        _fit(recorded, survey, level=95)
    with pytest.raises(crimestats.InputError, match="at least 4"):
        _fit(recorded.iloc[:3], survey.iloc[:3])
    with pytest.raises(crimestats.InputError, match="at least 2"):
        _fit(recorded, survey.iloc[:1])
    with pytest.raises(crimestats.InputError, match="'se'"):
        _fit(recorded, survey.drop(columns="se"))
    with pytest.raises(crimestats.InputError, match="negative"):
        _fit(recorded.where(recorded.index != 2008, -5.0), survey)
    with pytest.raises(crimestats.InputError, match="Align the calendars.*align_survey"):
        _fit(recorded, survey.assign(period=YEARS + 100))


def test_shocks_as_labels_or_dates(series):
    recorded, survey = series
    by_label = _fit(recorded, survey, shocks=[2017])
    by_date = _fit(recorded, survey, shocks=["2016-06-23"], calendar="financial_year")
    pd.testing.assert_frame_equal(by_label.effects, by_date.effects)
    with pytest.raises(crimestats.InputError, match="calendar="):
        _fit(recorded, survey, shocks=["2016-06-23"])
    with pytest.raises(crimestats.InputError, match="not one of the recorded periods"):
        _fit(recorded, survey, shocks=["2020-01-01"], calendar="financial_year")
    with pytest.raises(crimestats.InputError, match="not a period of `recorded`"):
        _fit(recorded, survey, shocks=[1990])
    for edge in (2005, 2006, 2018):
        with pytest.raises(crimestats.InputError, match="too close to the"):
            _fit(recorded, survey, shocks=[edge])
    # financial-year labels carry their calendar: dates need no `calendar=`
    labels = [f"{y - 1}/{y % 100:02d}" for y in YEARS]
    text = _fit(pd.Series(recorded.to_numpy(), index=labels), survey.assign(period=labels),
                shocks=["2016-06-23"])
    pd.testing.assert_frame_equal(text.effects.drop(columns="time"),
                                  by_label.effects.drop(columns="time"))
    assert text.effects.set_index("component").loc["reporting", "time"] == "2013/14"


def test_pandas_periods_as_labels(series):
    recorded, survey = series
    periods = pd.PeriodIndex([pd.Period(str(y), "Y-MAR") for y in YEARS])
    res = _fit(pd.Series(recorded.to_numpy(), index=periods), survey.assign(period=periods),
               shocks=[pd.Timestamp("2016-06-23")])
    assert res.explanation == "reporting"
    assert list(res.estimates["time"].values) == list(periods)


def test_csew_standard_errors_vary_by_year():
    """The bundled CSEW series has approximate standard errors that vary by year."""
    violence = load_csew_prevalence("Violence", standard_errors=True)
    fy = violence[violence["survey_year"].str.contains("/")]
    rse = fy["standard_error"] / fy["prevalence"]
    assert rse.between(0.03, 0.06).all() and rse.std() > 0.005
    # 2018: the design effect and sample size of the year to December 2018 give back its
    # published relative standard error (0.000929 / 0.0175 = 5.3%) up to the prevalence
    assert rse.iloc[-1] == pytest.approx(0.053, abs=0.002)
    assert violence.loc[~violence["survey_year"].str.contains("/"), "standard_error"].isna().all()
    vehicle = load_csew_prevalence("Vehicle-related theft (all households)",
                                   standard_errors=True)
    assert vehicle["standard_error"].notna().sum() == 17
