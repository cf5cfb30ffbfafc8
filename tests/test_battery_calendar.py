"""Named bad and awkward inputs of `crimestats.calendar`, judged by ``input_harness.Named``
(issue 13). The same table feeds ``benchmarks/input_battery.py``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from input_harness import Named

from crimestats.calendar import (
    align_survey,
    as_calendar,
    calendar_year,
    financial_year,
    month,
    overlap_weights,
    period_of,
    quarter,
    survey_year,
)

SURVEY = pd.DataFrame({"period": [2014, 2015, 2016], "estimate": [0.020, 0.019, 0.018],
                       "se": [0.001, 0.001, 0.001]})
RECORDED = [2015, 2016, 2017]


def _align(survey=SURVEY, periods=RECORDED, **kw):
    return align_survey(survey, periods, **{"survey_calendar": survey_year(12),
                                            "calendar": "financial_year", "partial": "drop",
                                            **kw})


def _weights_sum_to_one(result):
    sums = result.weights.sum(axis=1).to_numpy()
    return None if np.allclose(sums, 1.0) else f"weights sum to {sums.tolist()}, not 1"


def cases() -> list[Named]:
    """Every named case of the calendar functions (also run by the input battery)."""
    fn = "calendar"
    rows = [
        ("period_of_valid", lambda: period_of(["2016-03-31", "2016-04-01"], financial_year()),
         "ok", ""),
        ("period_of_bad_date", lambda: period_of("2016-13-45", financial_year()),
         "input_error", "2016-13-45"),
        ("period_of_text", lambda: period_of("brexit", "financial_year"), "input_error",
         "brexit"),
        ("period_of_none", lambda: period_of(None, "financial_year"), "input_error", ""),
        ("period_of_nan_in_list", lambda: period_of(["2016-03-31", np.nan], month()),
         "input_error", ""),
        ("period_of_empty", lambda: period_of([], quarter()), "any", ""),
        ("period_of_number", lambda: period_of(2016, calendar_year()), "any", ""),
        ("period_of_timestamp", lambda: period_of(pd.Timestamp("2016-06-23"), quarter()), "ok",
         ""),
        ("period_of_calendar_bogus", lambda: period_of("2016-06-23", "lunar"), "input_error",
         "lunar"),
        ("as_calendar_bogus", lambda: as_calendar("fortnight"), "input_error", "fortnight"),
        ("as_calendar_none", lambda: as_calendar(None), "input_error", ""),
        ("as_calendar_number", lambda: as_calendar(12), "input_error", ""),
        ("as_calendar_freq", lambda: as_calendar("Y-JUN"), "ok", ""),
        ("financial_year_13", lambda: financial_year(13), "input_error", "13"),
        ("financial_year_0", lambda: financial_year(0), "input_error", ""),
        ("financial_year_fraction", lambda: financial_year(2.5), "input_error", ""),
        ("financial_year_text", lambda: financial_year("march"), "input_error", ""),
        ("financial_year_label_bogus", lambda: financial_year(label="middle"), "input_error",
         "label"),
        ("survey_year_negative", lambda: survey_year(-3), "input_error", ""),
        ("quarter_13", lambda: quarter(13), "input_error", ""),
        ("overlap_valid", lambda: overlap_weights([2016], [2016, 2017],
                                                  source_calendar=survey_year(12),
                                                  target_calendar="financial_year"), "ok", ""),
        ("overlap_recall_negative", lambda: overlap_weights(
            [2016], [2016, 2017], source_calendar=survey_year(12),
            target_calendar="financial_year", recall_months=-1), "input_error", "recall"),
        ("overlap_recall_fraction", lambda: overlap_weights(
            [2016], [2016, 2017], source_calendar=survey_year(12),
            target_calendar="financial_year", recall_months=1.5), "input_error", "recall"),
        ("overlap_recall_text", lambda: overlap_weights(
            [2016], [2016, 2017], source_calendar=survey_year(12),
            target_calendar="financial_year", recall_months="12"), "any", ""),
        ("overlap_source_text", lambda: overlap_weights(
            ["x"], [2016, 2017], source_calendar=survey_year(12),
            target_calendar="financial_year"), "input_error", "x"),
        ("overlap_target_empty", lambda: overlap_weights(
            [2016], [], source_calendar=survey_year(12), target_calendar="financial_year"),
         "input_error", "target"),
        ("overlap_target_duplicated", lambda: overlap_weights(
            [2016], [2016, 2016], source_calendar=survey_year(12),
            target_calendar="financial_year"), "input_error", "2016"),
        ("align_valid", lambda: _align(), "ok", ""),
        ("align_weights_sum_to_one", lambda: _align(), "ok", "", _weights_sum_to_one),
        ("align_partial_raise", lambda: _align(partial="raise"), "input_error", "2014"),
        ("align_partial_bogus", lambda: _align(partial="keep"), "input_error", "partial"),
        ("align_missing_column", lambda: _align(SURVEY.drop(columns="se")), "input_error",
         "se"),
        ("align_not_frame", lambda: _align(SURVEY.to_numpy()), "input_error", "DataFrame"),
        ("align_survey_unsorted", lambda: _align(SURVEY.iloc[::-1]), "input_error", "order"),
        ("align_survey_duplicated", lambda: _align(pd.concat([SURVEY, SURVEY.iloc[[1]]])),
         "input_error", "2015"),
        ("align_survey_nan_period", lambda: _align(SURVEY.assign(
            period=[2014, None, 2016])), "input_error", ""),
        ("align_survey_no_rows", lambda: _align(SURVEY.iloc[:0]), "input_error", "`survey`"),
        ("align_recorded_gap", lambda: _align(periods=[2015, 2017, 2018]), "input_error",
         "2016"),
        ("align_recorded_unsorted", lambda: _align(periods=[2016, 2015, 2017]),
         "input_error", "order"),
        ("align_recorded_series", lambda: _align(periods=pd.Series(1.0, index=RECORDED)),
         "ok", ""),
        ("align_recorded_empty", lambda: _align(periods=[]), "input_error", "`periods`"),
        ("align_recorded_text", lambda: _align(periods=["a", "b", "c"]), "input_error", ""),
        ("align_recall_12", lambda: _align(recall_months=12), "ok", "", _weights_sum_to_one),
        ("align_calendar_bogus", lambda: _align(calendar="lunar"), "input_error", "lunar"),
    ]
    return [Named(fn, row[0], row[1], row[2], row[3], promised=(), contract=False,
                  check=row[4] if len(row) > 4 else None) for row in rows]


CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_named_case(case):
    problem = case.problem(case.run())
    assert problem is None, problem
