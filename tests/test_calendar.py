"""Calendars: dates to periods, overlap weights, survey alignment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crimestats
from crimestats import calendar
from crimestats.calendar import (
    align_survey,
    as_calendar,
    financial_year,
    overlap_weights,
    period_of,
    survey_year,
)


def test_exported_from_the_package():
    assert crimestats.calendar is calendar


@pytest.mark.parametrize(("date", "cal", "label"), [
    ("2016-03-31", "financial_year", 2016),
    ("2016-04-01", "financial_year", 2017),
    ("2016-06-23", financial_year(label="span"), "2016/17"),
    ("2016-06-23", "calendar_year", 2016),
    ("2016-06-23", survey_year(6), 2016),
    ("2016-07-01", survey_year(6), 2017),
    ("2016-06-23", "quarter", pd.Period("2016Q2", "Q-DEC")),
    ("2016-06-23", calendar.quarter(3), pd.Period("2017Q1", "Q-MAR")),
    ("2016-06-23", "month", pd.Period("2016-06", "M")),
    (pd.Timestamp("2014-11-18"), "financial_year", 2015),
])
def test_period_of_maps_a_date_to_the_period_containing_it(date, cal, label):
    assert period_of(date, cal) == label


def test_period_of_lists_and_bad_dates():
    assert period_of(["2014-11-18", "2016-06-23"], "financial_year") == [2015, 2017]
    with pytest.raises(crimestats.InputError, match="dates"):
        period_of("not a date", "financial_year")


def test_as_calendar_reads_names_and_frequencies():
    assert as_calendar("Y-JUN").end_month == 6
    assert as_calendar("Q-DEC").months == 3
    assert as_calendar("M").months == 1
    assert as_calendar("financial_year").freq == "Y-MAR"
    with pytest.raises(crimestats.InputError, match="unknown calendar"):
        as_calendar("fortnight")
    with pytest.raises(crimestats.InputError, match="1 .January. to 12"):
        calendar.survey_year(13)


def test_labels_of_years_are_read_in_every_style():
    fy = financial_year()
    expected = pd.PeriodIndex([pd.Period("2017", "Y-MAR")] * 4)
    read = fy.to_periods([2017, "2016/17", "2016-17", pd.Period("2017", "Y-MAR")])
    assert (read == expected).all()
    with pytest.raises(crimestats.InputError, match="2016/18"):
        fy.to_periods(["2016/18"])
    with pytest.raises(crimestats.InputError, match="not a period"):
        calendar.calendar_year().to_periods(["2016/17"])    # spans are for split years


def test_december_survey_years_weigh_financial_years_by_month_overlap():
    w = overlap_weights([2015, 2016], [2015, 2016, 2017], source_calendar=survey_year(12),
                        target_calendar="financial_year")
    # Jan-Mar 2015 in the year ending March 2015, Apr-Dec 2015 in the next.
    np.testing.assert_allclose(w.loc[2015], [0.25, 0.75, 0.0])
    np.testing.assert_allclose(w.loc[2016], [0.0, 0.25, 0.75])


def test_recall_of_twelve_months_spreads_a_survey_year_over_two_financial_years():
    w = overlap_weights([2017], [2015, 2016, 2017], source_calendar=survey_year(3),
                        target_calendar="financial_year", recall_months=12)
    # interviews Apr 2016 - Mar 2017, each about the 12 months before: 78 of 144
    # interview-months fall in 2015/16, 66 in 2016/17
    np.testing.assert_allclose(w.loc[2017], [0.0, 78 / 144, 66 / 144])
    assert w.loc[2017].sum() == pytest.approx(1.0)
    with pytest.raises(crimestats.InputError, match="recall_months"):
        overlap_weights([2017], [2017], source_calendar=survey_year(3),
                        target_calendar="financial_year", recall_months=-1)


def test_quarters_and_months_align_to_years():
    w = overlap_weights(["2016Q1", "2016Q2"], [2016, 2017], source_calendar="quarter",
                        target_calendar="financial_year")
    np.testing.assert_allclose(w.to_numpy(), [[1.0, 0.0], [0.0, 1.0]])
    months = [str(p) for p in pd.period_range("2016-01", "2016-12", freq="M")]
    w = overlap_weights([2016], months, source_calendar="calendar_year", target_calendar="month")
    np.testing.assert_allclose(w.to_numpy(), np.full((1, 12), 1 / 12))


def _survey(periods):
    est = np.linspace(0.02, 0.018, len(periods))
    return pd.DataFrame({"period": periods, "estimate": est, "se": 0.05 * est})


def test_align_survey_raises_or_drops_partly_covered_years():
    survey = _survey([2014, 2015, 2016, 2017])
    recorded = pd.Series(np.arange(4.0) + 100, index=[2015, 2016, 2017, 2018])
    with pytest.raises(crimestats.InputError, match=r"2014 \(75% covered\).*partial='drop'"):
        align_survey(survey, recorded, survey_calendar=survey_year(12),
                     calendar="financial_year")
    out = align_survey(survey, recorded, survey_calendar=survey_year(12),
                       calendar="financial_year", partial="drop")
    assert out.dropped == [2014]
    assert list(out.weights.columns) == [2015, 2016, 2017, 2018]
    np.testing.assert_allclose(out.weights.sum(axis=1), 1.0)
    frame = out.to_dataframe()
    assert list(frame.columns[:3]) == ["period", "estimate", "se"] and len(frame) == 3


def test_align_survey_checks_its_inputs():
    recorded_periods = [2015, 2016, 2017]
    with pytest.raises(crimestats.InputError, match="repeats"):
        align_survey(_survey([2015, 2015]), recorded_periods, survey_calendar=survey_year(3),
                     calendar="financial_year")
    with pytest.raises(crimestats.InputError, match="time order"):
        align_survey(_survey([2016, 2015]), recorded_periods, survey_calendar=survey_year(3),
                     calendar="financial_year")
    with pytest.raises(crimestats.InputError, match="'se'"):
        align_survey(_survey([2015]).drop(columns="se"), recorded_periods,
                     survey_calendar=survey_year(3), calendar="financial_year")
    with pytest.raises(crimestats.InputError, match="partial"):
        align_survey(_survey([2015]), recorded_periods, survey_calendar=survey_year(3),
                     calendar="financial_year", partial="keep")
