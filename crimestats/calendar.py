"""Calendars of crime statistics: dates to periods, and a survey on one calendar aligned to another.

Police recorded crime in England and Wales is published by financial year (April to March),
the Crime Survey for England and Wales (CSEW) by survey year (12 months of interviews ending
in March, June, September or December) and by calendar year before 2001, and police.uk by
month. This module

* names the calendars: [`financial_year`][crimestats.calendar.financial_year],
  [`calendar_year`][crimestats.calendar.calendar_year],
  [`survey_year`][crimestats.calendar.survey_year], [`quarter`][crimestats.calendar.quarter]
  and [`month`][crimestats.calendar.month];
* maps dates to the period containing them ([`period_of`][crimestats.calendar.period_of]);
* aligns a survey series on one calendar to recorded periods on another
  ([`overlap_weights`][crimestats.calendar.overlap_weights],
  [`align_survey`][crimestats.calendar.align_survey]).

**How a survey year is aligned.** Each survey period measures crime in a set of calendar
months, its *reference months*. Without recall (``recall_months=0``) these are the months of
the survey period itself. With the CSEW's recall of the 12 months before interview
(``recall_months=12``), an interview in month $m$ covers months $m-12, \\dots, m-1$; averaging
over the survey year's interview months gives a triangular spread over 23 months, centred
about six months before the middle of the survey year. The weight of a recorded period $t$ in
survey period $s$ is the share of $s$'s reference months that fall in $t$:

$$
w_{st} = \\frac{\\#\\{\\text{reference months of } s \\text{ in } t\\}}
{\\#\\{\\text{reference months of } s\\}},
$$

so a survey year ending in December compared with financial years ending in March gets
weight 3/12 on the financial year ending in March of the same year and 9/12 on the next. The
model then treats the survey's log estimate as the weighted mean of the log incidence of the
recorded periods (incidence is taken as constant within a period, and the log of a mean as
the mean of the logs: both differences are second order for the year-to-year changes of
crime rates).

**Labels.** Years and financial years are labelled by default with the year in which they end
(``2017`` for April 2016 – March 2017, as ``financial_year_ending`` in
`crimestats.datasets.load_recorded_crime`); ``label="span"`` gives ``"2016/17"``. Text labels
``"2016/17"``, ``"2016-17"`` and pandas ``Period`` objects are read as well. Quarters and months
are pandas ``Period`` objects (text such as ``"2020Q1"`` and ``"2020-03"`` is read).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd

from ._time import check_time_axis, json_time
from .errors import InputError

__all__ = [
    "AlignedSurvey",
    "Calendar",
    "align_survey",
    "as_calendar",
    "calendar_year",
    "financial_year",
    "month",
    "overlap_weights",
    "period_of",
    "quarter",
    "survey_year",
]

def _month_name(end_month: Any) -> str:
    if isinstance(end_month, bool) or not isinstance(end_month, (int, np.integer)) \
            or not 1 <= end_month <= 12:
        raise InputError(f"`end_month` must be 1 (January) to 12 (December); got "
                         f"{end_month!r}.")
    return _MONTHS[end_month - 1].title()


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_SPAN = re.compile(r"^\s*(\d{4})\s*[/-]\s*(\d{2}|\d{4})\s*$")
_LABELS = ("year_ending", "span", "period")


@dataclasses.dataclass(frozen=True)
class Calendar:
    """A calendar of periods: months, quarters, or years ending in a given month.

    Attributes
    ----------
    months : int
        Length of a period in months: 1, 3 or 12.
    end_month : int
        Month (1–12) in which each year or quarter ends (12 for calendar years, 3 for
        financial years); 12 for months.
    label : str
        How years are labelled: ``"year_ending"`` (int, the year in which the period ends),
        ``"span"`` (``"2016/17"``) or ``"period"`` (pandas ``Period``). Quarters and months
        are always pandas ``Period`` objects.
    name : str
        A readable name, used in messages.

    Examples
    --------
    >>> from crimestats import calendar
    >>> fy = calendar.financial_year()
    >>> fy.freq, fy.name
    ('Y-MAR', 'financial year (April to March)')
    """

    months: int
    end_month: int
    label: str = "year_ending"
    name: str = ""

    def __post_init__(self) -> None:
        if self.months not in (1, 3, 12):
            raise InputError(f"a calendar's periods last 1, 3 or 12 months; got {self.months}.")
        if not 1 <= self.end_month <= 12:
            raise InputError(f"`end_month` must be 1 (January) to 12 (December); got "
                             f"{self.end_month!r}.")
        if self.label not in _LABELS:
            raise InputError(f"`label` must be one of {list(_LABELS)}; got {self.label!r}.")

    @property
    def freq(self) -> str:
        """The pandas period frequency (``"Y-MAR"``, ``"Q-DEC"``, ``"M"``)."""
        if self.months == 1:
            return "M"
        return ("Q-" if self.months == 3 else "Y-") + _MONTHS[self.end_month - 1]

    def to_periods(self, labels: Any, name: str = "periods") -> pd.PeriodIndex:
        """Read labels of this calendar as pandas Periods (ints are years ending then)."""
        values = list(labels.tolist() if hasattr(labels, "tolist") else labels)
        out = []
        for v in values:
            try:
                out.append(self._one(v))
            except (ValueError, TypeError):
                raise InputError(
                    f"`{name}` has the label {v!r}, which is not a period of the {self.name}. "
                    f"{self._label_help()}") from None
        return pd.PeriodIndex(out, freq=self.freq) if out else pd.PeriodIndex([], freq=self.freq)

    def _label_help(self) -> str:
        if self.months == 12:
            return ("Give the year in which each period ends (2017 for the period ending in "
                    f"{_MONTHS[self.end_month - 1].title()} 2017), a span such as '2016/17', or "
                    "a pandas Period.")
        return "Give pandas Periods, or text such as '2020Q1' (quarters) or '2020-03' (months)."

    def _one(self, v: Any) -> pd.Period:
        if isinstance(v, pd.Period):
            return v.asfreq(self.freq) if v.freqstr != self.freq else v
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            if self.months != 12:
                raise ValueError
            return pd.Period(year=int(v), month=self.end_month, freq=self.freq)
        if isinstance(v, str):
            m = _SPAN.match(v)
            if m and self.months == 12:
                first, second = int(m.group(1)), m.group(2)
                end = int(second) if len(second) == 4 else first + 1
                if end != first + 1 or int(second) % 100 != (first + 1) % 100 \
                        or self.end_month == 12:
                    raise ValueError
                return pd.Period(year=end, month=self.end_month, freq=self.freq)
            if re.fullmatch(r"\s*\d{4}\s*", v) and self.months == 12:
                return pd.Period(year=int(v), month=self.end_month, freq=self.freq)
            return pd.Period(v.replace(" ", ""), freq=self.freq)
        if isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "month"):
            return pd.Period(pd.Timestamp(v), freq=self.freq)
        raise ValueError

    def labels(self, periods: pd.PeriodIndex) -> list[Any]:
        """Labels of pandas Periods in this calendar's label style."""
        periods = pd.PeriodIndex(periods).asfreq(self.freq)
        if self.months != 12 or self.label == "period":
            return list(periods)
        ends = periods.end_time.year
        if self.label == "year_ending":
            return [int(y) for y in ends]
        return [f"{y - 1}/{y % 100:02d}" for y in ends]

    def first_month(self, periods: pd.PeriodIndex) -> np.ndarray:
        """Ordinal (months since 1970-01) of the first month of each period."""
        return np.asarray(periods.asfreq("M", how="start").asi8, dtype=np.int64)


def financial_year(end_month: int = 3, *, label: str = "year_ending") -> Calendar:
    """Years ending in March (the UK financial year), or in ``end_month``.

    Examples
    --------
    >>> from crimestats.calendar import financial_year, period_of
    >>> period_of("2016-06-23", financial_year())
    2017
    >>> period_of(["2016-03-31", "2016-04-01"], financial_year(label="span"))
    ['2015/16', '2016/17']
    """
    name = ("financial year (April to March)" if end_month == 3 else
            f"year ending {_month_name(end_month)}")
    return Calendar(12, end_month, label, name)


def calendar_year(*, label: str = "year_ending") -> Calendar:
    """January to December.

    Examples
    --------
    >>> from crimestats.calendar import calendar_year, period_of
    >>> period_of("2016-06-23", calendar_year())
    2016
    """
    return Calendar(12, 12, label, "calendar year")


def survey_year(end_month: int, *, label: str = "year_ending") -> Calendar:
    """A survey year: the 12 months of interviews ending in ``end_month`` (1–12).

    The CSEW publishes years ending in March, June, September and December.

    Examples
    --------
    >>> from crimestats.calendar import survey_year, period_of
    >>> period_of("2016-06-23", survey_year(9))
    2016
    """
    name = f"survey year ending {_month_name(end_month)}"
    return Calendar(12, end_month, label, name)


def quarter(year_end_month: int = 12) -> Calendar:
    """Quarters of years ending in ``year_end_month`` (12: calendar quarters; 3: financial).

    Examples
    --------
    >>> from crimestats.calendar import quarter, period_of
    >>> str(period_of("2016-06-23", quarter()))
    '2016Q2'
    """
    _month_name(year_end_month)
    return Calendar(3, year_end_month, "period",
                    "calendar quarter" if year_end_month == 12 else
                    f"quarter of years ending {_month_name(year_end_month)}")


def month() -> Calendar:
    """Calendar months.

    Examples
    --------
    >>> from crimestats.calendar import month, period_of
    >>> str(period_of("2016-06-23", month()))
    '2016-06'
    """
    return Calendar(1, 12, "period", "month")


_NAMED = {"financial_year": financial_year, "calendar_year": calendar_year, "quarter": quarter,
          "month": month}


def as_calendar(spec: Any) -> Calendar:
    """A [`Calendar`][crimestats.calendar.Calendar] from itself, a name or a pandas frequency.

    Names: ``"financial_year"``, ``"calendar_year"``, ``"quarter"``, ``"month"``; pandas
    period frequencies ``"Y-JUN"`` (a year ending in June), ``"Q-DEC"``, ``"M"``.

    Examples
    --------
    >>> from crimestats.calendar import as_calendar
    >>> as_calendar("Y-JUN").name, as_calendar("financial_year").freq
    ('survey year ending Jun', 'Y-MAR')
    """
    if isinstance(spec, Calendar):
        return spec
    if isinstance(spec, str):
        if spec in _NAMED:
            return _NAMED[spec]()
        m = re.fullmatch(r"(Y|A|Q)-([A-Z]{3})", spec.upper())
        if m and m.group(2) in _MONTHS:
            end = _MONTHS.index(m.group(2)) + 1
            return survey_year(end) if m.group(1) != "Q" else quarter(end)
        if spec.upper() in ("M", "ME", "MS"):
            return month()
    raise InputError(f"unknown calendar {spec!r}: give a crimestats.calendar.Calendar (e.g. "
                     "calendar.survey_year(12)), one of "
                     f"{sorted(_NAMED)}, or a pandas frequency such as 'Y-JUN'.")


def period_of(dates: Any, calendar: Any) -> Any:
    """The period of ``calendar`` that contains each date.

    Parameters
    ----------
    dates : str, date, numpy.datetime64, pandas.Timestamp or a list of them
        Dates (text in ISO form, ``"2016-06-23"``).
    calendar : Calendar or str
        See [`as_calendar`][crimestats.calendar.as_calendar].

    Returns
    -------
    label or list of labels
        One label (a single date) or a list, in the calendar's label style.

    Raises
    ------
    crimestats.InputError
        A value that is not a date.

    Examples
    --------
    >>> from crimestats.calendar import period_of
    >>> period_of(["2014-11-18", "2016-06-23"], "financial_year")
    [2015, 2017]
    """
    cal = as_calendar(calendar)
    single = np.ndim(dates) == 0
    values = [dates] if single else list(dates)
    try:
        stamps = pd.DatetimeIndex([pd.Timestamp(v) for v in values])
    except (ValueError, TypeError):
        raise InputError(f"`dates` must be dates such as '2016-06-23'; received "
                         f"{values[:3]!r}.") from None
    if stamps.hasnans:
        raise InputError(f"`dates` is missing at position(s) "
                         f"{np.flatnonzero(stamps.isna())[:8].tolist()}; give a date for each "
                         "(crimestats never drops or fills a missing value silently).")
    labels = cal.labels(stamps.to_period(cal.freq))
    return labels[0] if single else labels


def _reference_mass(first: np.ndarray, n_months: int, recall: int) -> tuple[int, np.ndarray]:
    """Per period: mass over calendar months of the crimes it measures (rows sum to 1)."""
    lo = int(first.min()) - recall
    hi = int(first.max()) + n_months
    mass = np.zeros((first.size, hi - lo))
    for i, f in enumerate(first):
        for m in range(f, f + n_months):
            if recall:
                mass[i, m - recall - lo:m - lo] += 1.0 / (recall * n_months)
            else:
                mass[i, m - lo] += 1.0 / n_months
    return lo, mass


def overlap_weights(source: Any, target: Any, *, source_calendar: Any, target_calendar: Any,
                    recall_months: int = 0) -> pd.DataFrame:
    """Share of each source period's reference months that falls in each target period.

    Parameters
    ----------
    source, target : array-like
        Period labels (e.g. survey years, recorded financial years).
    source_calendar, target_calendar : Calendar or str
        Their calendars.
    recall_months : int
        0: a source period measures its own months; 12: it measures the 12 months before each
        interview, interviews spread evenly over the period (the CSEW since 2001/02).

    Returns
    -------
    pandas.DataFrame
        Rows ``source`` labels, columns ``target`` labels. A row sums to 1 when the target
        periods cover all of the source period's reference months, to less otherwise.

    Examples
    --------
    >>> from crimestats.calendar import overlap_weights, survey_year
    >>> w = overlap_weights([2016], [2016, 2017], source_calendar=survey_year(12),
    ...                     target_calendar="financial_year")
    >>> w.loc[2016].tolist()
    [0.25, 0.75]
    >>> w = overlap_weights([2017], [2015, 2016, 2017], source_calendar=survey_year(3),
    ...                     target_calendar="financial_year", recall_months=12)
    >>> w.loc[2017].round(3).tolist()                 # CSEW year ending March 2017
    [0.0, 0.542, 0.458]
    """
    src_cal, tgt_cal = as_calendar(source_calendar), as_calendar(target_calendar)
    if not isinstance(recall_months, (int, np.integer)) or not 0 <= recall_months <= 36:
        raise InputError(f"`recall_months` must be a whole number of months from 0 to 36; got "
                         f"{recall_months!r}.")
    src = src_cal.to_periods(source, "source")
    tgt = tgt_cal.to_periods(target, "target")
    for name, periods in (("source", src), ("target", tgt)):
        if len(periods) == 0:
            raise InputError(f"`{name}` has no periods.")
        if periods.has_duplicates:
            raise InputError(f"`{name}` repeats the period(s) "
                             f"{[str(p) for p in periods[periods.duplicated()].unique()][:8]}; "
                             "give each period once.")
    lo, mass = _reference_mass(src_cal.first_month(src), src_cal.months, int(recall_months))
    weights = np.zeros((len(src), len(tgt)))
    tgt_first = tgt_cal.first_month(tgt)
    for j, f in enumerate(tgt_first):
        a, b = max(f - lo, 0), min(f + tgt_cal.months - lo, mass.shape[1])
        if b > a:
            weights[:, j] = mass[:, a:b].sum(axis=1)
    src_labels = list(source.tolist() if hasattr(source, "tolist") else source)
    tgt_labels = list(target.tolist() if hasattr(target, "tolist") else target)
    return pd.DataFrame(weights, index=pd.Index(src_labels), columns=pd.Index(tgt_labels))


@dataclasses.dataclass(frozen=True)
class AlignedSurvey:
    """A survey series on its own calendar, with its weights on the recorded periods.

    Pass it wherever `crimestats.changepoint.attribute` takes a survey frame (``survey``,
    ``reported_share``, the survey of a control).

    Attributes
    ----------
    survey : pandas.DataFrame
        The survey rows kept: ``period`` (survey labels), ``estimate``, ``se``.
    weights : pandas.DataFrame
        Rows the survey periods, columns the recorded periods; each row sums to 1.
    dropped : list
        Survey periods left out because the recorded periods do not cover all their reference
        months (only with ``partial="drop"``).
    recall_months : int
        The recall period used.
    survey_calendar, calendar : Calendar
        The two calendars.
    """

    survey: pd.DataFrame
    weights: pd.DataFrame
    dropped: list[Hashable]
    recall_months: int
    survey_calendar: Calendar
    calendar: Calendar

    def to_dataframe(self) -> pd.DataFrame:
        """The survey rows next to their weights (one column per recorded period)."""
        w = self.weights.copy()
        w.columns = [f"weight_{c}" for c in w.columns]
        return pd.concat([self.survey.reset_index(drop=True), w.reset_index(drop=True)], axis=1)


def align_survey(survey: pd.DataFrame, periods: Any, *, survey_calendar: Any, calendar: Any,
                 recall_months: int = 0, partial: str = "raise") -> AlignedSurvey:
    """Align a survey series on one calendar to recorded periods on another, in one call.

    Parameters
    ----------
    survey : pandas.DataFrame
        Columns ``period`` (labels of ``survey_calendar``), ``estimate`` and ``se``.
    periods : array-like or pandas.Series
        The recorded periods (labels of ``calendar``), or the recorded series itself (its
        index is used).
    survey_calendar, calendar : Calendar or str
        Calendars of the survey and of the recorded periods.
    recall_months : int
        See [`overlap_weights`][crimestats.calendar.overlap_weights]: 12 for the CSEW, whose
        respondents report crimes of the 12 months before interview.
    partial : {"raise", "drop"}
        What to do with survey periods whose reference months are not all inside the recorded
        periods: raise an error naming them (default) or leave them out (listed in
        ``dropped``).

    Returns
    -------
    AlignedSurvey

    Raises
    ------
    crimestats.InputError
        Missing columns, labels that are not periods of the calendars, survey periods out of
        order or repeated, recorded periods not consecutive, or (with ``partial="raise"``)
        survey periods only partly covered by the recorded periods.

    Examples
    --------
    >>> import pandas as pd
    >>> from crimestats.calendar import align_survey, survey_year
    >>> survey = pd.DataFrame({"period": [2014, 2015, 2016], "estimate": [0.020, 0.019, 0.018],
    ...                        "se": [0.001, 0.001, 0.001]})
    >>> aligned = align_survey(survey, [2015, 2016, 2017], survey_calendar=survey_year(12),
    ...                        calendar="financial_year", partial="drop")
    >>> aligned.dropped, aligned.weights.loc[2015].tolist()
    ([2014], [0.25, 0.75, 0.0])
    """
    if partial not in ("raise", "drop"):
        raise InputError(f"`partial` must be 'raise' or 'drop'; got {partial!r}.")
    if not isinstance(survey, pd.DataFrame):
        raise InputError(f"`survey` must be a DataFrame with columns 'period', 'estimate', "
                         f"'se'; received {type(survey).__name__}.")
    missing = [c for c in ("period", "estimate", "se") if c not in survey.columns]
    if missing:
        raise InputError(f"`survey` has no column(s) {missing}; it needs 'period', 'estimate' "
                         f"and 'se'; available: {list(survey.columns)}.")
    labels = periods.index if isinstance(periods, pd.Series) else pd.Index(list(periods))
    for name, n in (("survey", len(survey)), ("periods", len(labels))):
        if n == 0:
            raise InputError(f"`{name}` is empty; give at least one period.")
    check_time_axis(labels, name="periods")
    check_time_axis(pd.Index(survey["period"]), name="survey['period']", fill=True)
    src_cal, tgt_cal = as_calendar(survey_calendar), as_calendar(calendar)
    w = overlap_weights(survey["period"], labels, source_calendar=src_cal,
                        target_calendar=tgt_cal, recall_months=recall_months)
    covered = w.sum(axis=1).to_numpy()
    short = np.flatnonzero(covered < 1.0 - 1e-9)
    dropped = [json_time(w.index[i]) for i in short]
    if short.size and partial == "raise":
        shown = ", ".join(f"{json_time(w.index[i])!r} ({covered[i]:.0%} covered)"
                          for i in short[:8])
        raise InputError(
            f"survey period(s) {shown} measure months outside the recorded periods "
            f"{json_time(labels[0])!r} to {json_time(labels[-1])!r}; their estimates cannot be compared with the "
            "recorded series. Pass partial='drop' to leave them out, or give recorded periods "
            "that cover them.")
    keep = covered >= 1.0 - 1e-9
    rows = survey.loc[keep, ["period", "estimate", "se"]].reset_index(drop=True)
    return AlignedSurvey(rows, w.loc[keep], dropped, int(recall_months), src_cal, tgt_cal)
