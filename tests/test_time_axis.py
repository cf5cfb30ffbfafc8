"""The shared time-axis rule (sorted, unique, regular) and the label-alignment rule."""

import numpy as np
import pandas as pd
import pytest

from crimestats._time import check_time_axis, json_time
from crimestats._validate import aligned
from crimestats.errors import InputError


@pytest.mark.parametrize("labels, kind, freq", [
    (pd.period_range("2019-01", periods=6, freq="M"), "period", "M"),
    (pd.date_range("2019-01-01", periods=6, freq="MS"), "datetime", "MS"),
    (pd.date_range("2019-01-31", periods=6, freq="ME"), "datetime", "ME"),
    (pd.date_range("2019-01-07", periods=6, freq="W-MON"), "datetime", "W-MON"),
    (pd.date_range("2019-01-01", periods=6, freq="QS"), "datetime", "QS-JAN"),
    (pd.date_range("2019-01-01", periods=6, freq="YS"), "datetime", "YS"),
    (list(range(2003, 2009)), "integer", 1),
    (["2019-01", "2019-02", "2019-03"], "period", "M"),
    (["2019Q3", "2019Q4", "2020Q1"], "period", "Q-DEC"),
    (["2003/04", "2004/05", "2005/06"], "financial_year", 1),
    (["2003-04", "2004-05"], "financial_year", 1),
])
def test_regular_axes_are_recognised_and_kept(labels, kind, freq):
    axis = check_time_axis(labels)
    assert (axis.kind, axis.freq) == (kind, freq)
    assert list(axis.labels) == list(labels)            # the input's own labels and type
    np.testing.assert_array_equal(axis.positions, np.arange(len(labels)))


@pytest.mark.parametrize("labels, gap", [
    (pd.period_range("2019-01", periods=6, freq="M").delete([2, 3]), "'2019-03', '2019-04'"),
    (["2019-01", "2019-02", "2019-04"], "'2019-03'"),
    ([2003, 2004, 2006], "2005"),
    (["2003/04", "2004/05", "2006/07"], "'2005/06'"),
    (pd.date_range("2019-01-01", periods=5, freq="MS").delete(1), "'2019-02-01'"),
])
def test_missing_periods_are_named_with_the_two_fixes(labels, gap):
    with pytest.raises(InputError, match="skips") as err:
        check_time_axis(labels)
    assert gap in str(err.value)
    assert "fill=0" in str(err.value) and "missing='skip'" in str(err.value)
    axis = check_time_axis(labels, fill=True)
    assert len(axis.labels) == len(labels) + len(axis.missing)
    assert list(axis.labels[axis.positions]) == [json_time(v) if isinstance(v, str) else v
                                                 for v in labels]


def test_unsorted_descending_and_repeated_labels_are_refused():
    with pytest.raises(InputError, match="runs? backwards|newest first"):
        check_time_axis([2006, 2005, 2004])
    with pytest.raises(InputError, match="'2019-03' comes after '2019-04'|comes after"):
        check_time_axis(["2019-01", "2019-02", "2019-04", "2019-03"])
    with pytest.raises(InputError, match="repeats the time label"):
        check_time_axis([2003, 2004, 2004, 2005])


def test_fractional_and_time_of_day_labels_are_refused():
    with pytest.raises(InputError, match="fractional"):
        check_time_axis([1.0, 2.0, 3.5])
    with pytest.raises(InputError, match="time of day"):
        check_time_axis(pd.date_range("2020-01-01 10:00", periods=3, freq="D"))


def test_free_text_labels_are_checked_unique_only():
    axis = check_time_axis(["before", "during", "after"])
    assert axis.kind == "label" and axis.freq is None
    with pytest.raises(InputError, match="repeats"):
        check_time_axis(["a", "b", "a"])


def test_json_time_writes_periods_as_text():
    assert json_time(pd.Period("2020-03", "M")) == "2020-03"
    assert json_time(pd.Timestamp("2020-03-01")) == "2020-03-01"
    assert json_time(np.int64(2019)) == 2019


def test_labelled_inputs_are_aligned_by_label_or_rejected():
    out = aligned(pd.Series([1.0, 2.0, 3.0], index=["c", "a", "b"]), ["a", "b", "c"],
                  "population", "counts")
    assert out.tolist() == [2.0, 3.0, 1.0]
    with pytest.raises(InputError, match=r"missing from `population`: \['d'\]"):
        aligned(pd.Series([1.0, 2.0, 3.0], index=["c", "a", "b"]), ["a", "b", "d"],
                "population", "counts")
    with pytest.raises(InputError, match="3 values but `counts` has 2"):
        aligned([1.0, 2.0, 3.0], ["a", "b"], "population", "counts")
    assert aligned([1.0, 2.0], ["a", "b"], "population", "counts") == [1.0, 2.0]
