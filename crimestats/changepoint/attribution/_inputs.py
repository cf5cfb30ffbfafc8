"""Checks at the public boundary of `attribute`: labels, alignment, calendars, shocks.

Every labelled input is matched by label (never by position), time labels are checked sorted,
unique and consecutive with `crimestats._time.check_time_axis`, and a survey on another
calendar is accepted once aligned with `crimestats.calendar.align_survey`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..._time import TimeAxis, check_time_axis, json_time
from ..._validate import aligned, as_float_array, check_counts, check_positive, describe_rows
from ...calendar import AlignedSurvey, Calendar, as_calendar, financial_year
from ...errors import InputError
from ._configurations import MIN_SEGMENT
from ._model import Block

__all__ = ["Inputs", "read_inputs"]

_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")


@dataclasses.dataclass(frozen=True)
class Inputs:
    """Validated inputs as model blocks.

    Attributes
    ----------
    times : pandas.Index
        Recorded periods (the input's own labels).
    rate : numpy.ndarray
        Recorded offences per person.
    recorded, survey, share : Block
        Target blocks (``share`` may be None).
    controls : list of (Block, Block)
        Recorded and survey blocks of each control.
    survey_on_time : numpy.ndarray
        Survey estimate at each recorded period where a survey period coincides with it
        (NaN elsewhere).
    shocks : numpy.ndarray or None
        Positions of the periods named in ``shocks``.
    """

    times: pd.Index
    rate: np.ndarray
    recorded: Block
    survey: Block
    share: Block | None
    controls: list[tuple[Block, Block]]
    survey_on_time: np.ndarray
    shocks: np.ndarray | None


_MAX_RELATIVE_SE = 1e3     # a standard error 1,000 times the estimate: no information


def _recorded(values: Any, name: str, times: pd.Index | None = None
              ) -> tuple[np.ndarray, pd.Index, TimeAxis | None]:
    """Counts as floats with their period labels (checked), aligned to ``times`` if given."""
    if times is not None:
        values = aligned(values, list(times), name, "recorded", noun="period")
    if isinstance(values, pd.DataFrame):
        raise InputError(f"`{name}` must be one series of counts (a pandas Series indexed by "
                         f"period, or an array); received a DataFrame with columns "
                         f"{list(values.columns)[:5]}.")
    labels = values.index if isinstance(values, pd.Series) else None
    axis = None
    if times is None:
        if labels is None:
            labels = pd.RangeIndex(np.asarray(values).shape[0] if np.ndim(values) else 0)
        axis = check_time_axis(labels, name=name, what="recorded",
                               fixes="the periods with their counts (attribute needs every "
                                     "recorded period)")
    arr = as_float_array(values, name, labels=list(labels) if labels is not None else None)
    check_counts(arr, name, list(labels) if labels is not None else None, integer=False,
                 noun="period")
    check_positive(arr, name, list(labels) if labels is not None else None)
    return arr, pd.Index(labels if times is None else times), axis


def _population(population: Any, times: pd.Index) -> np.ndarray:
    T = len(times)
    if population is None:
        return np.ones(T)
    if np.ndim(population) == 0 and not isinstance(population, (pd.Series, pd.DataFrame)):
        pop = np.full(T, as_float_array([population], "population")[0])
    else:
        pop = as_float_array(aligned(population, list(times), "population", "recorded",
                                     noun="period"), "population")
    check_positive(pop, "population", list(times))
    return pop


def _frame(survey: Any, name: str, times: pd.Index, *, share: bool = False) -> Block:
    """A survey frame or an AlignedSurvey as a block of log estimates and their variances."""
    if isinstance(survey, AlignedSurvey):
        frame = survey.survey
        weights = aligned(survey.weights.T, list(times), f"{name}.weights columns",
                          "recorded", noun="period").T.to_numpy(dtype=float)
        labels = list(frame["period"])
    else:
        if not isinstance(survey, pd.DataFrame):
            raise InputError(f"`{name}` must be a DataFrame with columns 'period', 'estimate', "
                             f"'se' (or a crimestats.calendar.AlignedSurvey); received "
                             f"{type(survey).__name__}.")
        missing = [c for c in ("period", "estimate", "se") if c not in survey.columns]
        if missing:
            raise InputError(f"`{name}` has no column(s) {missing}; it needs 'period', "
                             f"'estimate' and 'se' (standard error); available: "
                             f"{list(survey.columns)}.")
        frame = survey
        periods = pd.Index(survey["period"])
        check_time_axis(periods, name=f"{name}['period']", fill=True)
        pos = times.get_indexer(periods)
        if (pos < 0).any():
            unknown = [json_time(p) for p in periods[pos < 0]]
            raise InputError(
                f"`{name}` has periods {unknown[:8]} that are not periods of the recorded "
                f"series ({[json_time(t) for t in times[:3]]} ...). Align the calendars first: "
                "crimestats.calendar.align_survey(survey, recorded, survey_calendar=..., "
                "calendar=...) maps a survey year on another calendar to the recorded periods "
                "it covers; or label both series with the same periods.")
        weights = np.zeros((len(periods), len(times)))
        weights[np.arange(len(periods)), pos] = 1.0
        labels = list(periods)
    est = as_float_array(frame["estimate"], f"{name}['estimate']", labels=labels)
    se = as_float_array(frame["se"], f"{name}['se']", labels=labels)
    check_positive(est, f"{name}['estimate']", labels)
    check_positive(se, f"{name}['se']", labels)
    vague = np.flatnonzero(se > _MAX_RELATIVE_SE * est)
    if vague.size:
        raise InputError(
            f"`{name}['se']` is more than {_MAX_RELATIVE_SE:,.0f} times the estimate at "
            f"{describe_rows(vague, labels, 'period')}: such a survey value carries no "
            "information (and is beyond the accuracy of the log-scale model). Check the units "
            "of 'se', or leave those periods out (missing survey periods are allowed).")
    if share:
        bad = np.flatnonzero(est >= 1.0)
        if bad.size:
            raise InputError(
                f"`{name}['estimate']` is a share of incidents reported to the police and must "
                f"be between 0 and 1 (exclusive); {describe_rows(bad, labels, 'period')} "
                f"ha{'s' if bad.size == 1 else 've'} {est[bad][:8].tolist()}. Give proportions "
                "(0.42), not percentages (42).")
    return Block(np.log(est), (se / est) ** 2, weights)


def _calendar_of(axis: TimeAxis, calendar: Any) -> Calendar | None:
    if calendar is not None:
        return as_calendar(calendar)
    if axis.kind == "period":
        return as_calendar(str(axis.freq))
    if axis.kind == "financial_year":
        return financial_year(label="span")
    if axis.kind == "datetime" and str(axis.freq).upper() in ("MS", "ME", "M"):
        return as_calendar("M")
    return None


def _is_date(value: Any) -> bool:
    if isinstance(value, (pd.Timestamp, np.datetime64, dt.date)):
        return True
    return isinstance(value, str) and bool(_DATE.match(value))


def _shocks(shocks: Any, times: pd.Index, axis: TimeAxis, calendar: Any) -> np.ndarray | None:
    if shocks is None:
        return None
    values = list(np.atleast_1d(np.asarray(shocks, dtype=object)))
    positions = []
    for v in values:
        v = v.item() if isinstance(v, np.generic) else v
        pos = times.get_indexer([v])[0] if not _is_date(v) or v in times else -1
        if pos < 0 and _is_date(v):
            cal = _calendar_of(axis, calendar)
            if cal is None:
                raise InputError(
                    f"`shocks` has the date {json_time(v)!r}, but the recorded periods "
                    f"{[json_time(t) for t in times[:3]]} ... do not say which calendar they "
                    "are on. Pass calendar='financial_year' (years ending in March, labelled "
                    "by the year they end), 'calendar_year', or another "
                    "crimestats.calendar.Calendar.")
            period = pd.Period(pd.Timestamp(v), freq=cal.freq)
            known = cal.to_periods(times, "recorded periods")
            hit = np.flatnonzero(known == period)
            if not hit.size:
                raise InputError(
                    f"`shocks` date {json_time(v)!r} falls in the {cal.name} {period}, which "
                    f"is not one of the recorded periods ({json_time(times[0])!r} to "
                    f"{json_time(times[-1])!r}).")
            pos = int(hit[0])
        if pos < 0:
            raise InputError(
                f"`shocks` {json_time(v)!r} is not a period of `recorded` "
                f"({[json_time(t) for t in times[:3]]} ...). Give period labels, or dates such "
                "as '2016-06-23' (mapped to the period containing them).")
        if pos < MIN_SEGMENT or pos > len(times) - MIN_SEGMENT:
            raise InputError(
                f"`shocks` {json_time(v)!r} is too close to the "
                f"{'start' if pos < MIN_SEGMENT else 'end'} of the recorded periods: a change "
                f"needs {MIN_SEGMENT} periods before and after it to be told from a one-off "
                "year. Give a longer series.")
        positions.append(pos)
    return np.unique(np.array(positions, dtype=np.int64))


def read_inputs(recorded: Any, survey: Any, population: Any, reported_share: Any,
                controls: Mapping[str, Any] | None, shocks: Any, calendar: Any) -> Inputs:
    """Validate every input of `attribute` and turn it into model blocks."""
    rec, times, axis = _recorded(recorded, "recorded")
    T = rec.size
    if T < 4:
        raise InputError(f"`recorded` has {T} periods; attribution needs at least 4.")
    if calendar is not None and axis is not None and axis.kind != "label":
        as_calendar(calendar).to_periods(times, "recorded periods")
    pop = _population(population, times)
    rate = rec / pop
    rec_block = Block(np.log(rate), 1.0 / rec, np.eye(T))
    sur = _frame(survey, "survey", times)
    if sur.values.size < 2:
        raise InputError("`survey` needs estimates for at least 2 periods to identify incidence.")
    share = None if reported_share is None else _frame(reported_share, "reported_share", times,
                                                      share=True)
    blocks = []
    if controls is not None and not isinstance(controls, Mapping):
        raise InputError("`controls` must be a dict {name: (recorded, survey)}; received "
                         f"{type(controls).__name__}.")
    for name, pair in dict(controls or {}).items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise InputError(f"controls[{name!r}] must be a (recorded, survey) pair.")
        rc, _, _ = _recorded(pair[0], f"controls[{name!r}] recorded", times)
        blocks.append((Block(np.log(rc / pop), 1.0 / rc, np.eye(T)),
                       _frame(pair[1], f"controls[{name!r}] survey", times)))
    on_time = np.full(T, np.nan)
    unit = np.isclose(sur.weights.max(axis=1), 1.0)
    on_time[np.argmax(sur.weights[unit], axis=1)] = np.exp(sur.values[unit])
    return Inputs(times, rate, rec_block, sur, share, blocks, on_time,
                  _shocks(shocks, times, axis, calendar))
