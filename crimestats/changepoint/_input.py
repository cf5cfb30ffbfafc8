"""Validation of one series at the public boundary of the change-point functions.

The series is checked as a series in time: its labels (a pandas index, or ``time=``) must be
unique, in order and on a regular calendar ([`check_time_axis`][crimestats._time]); a period
missing from the calendar raises unless ``fill=`` (an absent period means that many events,
usually 0) or ``missing="skip"`` (an unobserved period) says what it is. Labelled exposures are
matched to the series by label.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .._time import TimeAxis, check_time_axis
from .._validate import aligned, as_float_array, check_choice, check_counts, describe_rows
from ..errors import EstimationError, InputError
from .segments import get_model, model_names

MISSING = ("error", "skip")

__all__ = ["Series", "check_series", "choose_likelihood", "MISSING"]


@dataclasses.dataclass(frozen=True)
class Series:
    """A validated series on its full calendar.

    ``y`` has NaN where a period is unobserved (``missing="skip"``); ``exposure`` is 1 where
    none was given; ``axis`` holds the time labels (in the input's own type) and the positions
    of the observations the caller gave; ``inserted`` marks periods that were absent from the
    input and filled or skipped.
    """

    y: np.ndarray
    exposure: np.ndarray
    axis: TimeAxis
    inserted: np.ndarray

    @property
    def time(self) -> pd.Index:
        """Time labels of every period."""
        return self.axis.labels


def _values(y: Any) -> Any:
    if isinstance(y, pd.Series) and not (y.dtype == object or pd.api.types.is_string_dtype(y)):
        try:   # nullable dtypes (Int64, Float64): pd.NA becomes NaN, then handled as missing
            return y.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            return y
    return y


def _labels(y: Any, n: int, time: Any) -> Any:
    if time is not None:
        if isinstance(time, str):
            raise InputError(f"`time` must be the time labels of the series (one per "
                             f"observation); received the text {time!r}. To name a column of a "
                             "table, select it first: detect(table.set_index(time)[value]).")
        labels = time if isinstance(time, pd.Index) else np.asarray(time)
        if np.ndim(labels) != 1 or len(labels) != n:
            raise InputError(f"`time` must be 1-D with {n} labels (one per observation); "
                             f"received shape {np.shape(labels)}.")
        return labels
    if isinstance(y, pd.Series):
        return y.index
    return np.arange(n)


def check_series(y: Any, likelihood: str, *, exposure: Any = None, time: Any = None,
                 missing: str = "error", fill: float | None = None, min_size: int = 1,
                 name: str = "y", noun: str = "time") -> Series:
    """Validate one series for `detect`; return float arrays.

    ``likelihood`` is a registered model name (after ``"auto"`` is resolved).
    """
    model = get_model(likelihood)
    missing = check_choice(missing, "missing", MISSING)
    if isinstance(y, pd.DataFrame) or np.ndim(y) != 1:
        raise InputError(f"`{name}` must be one series (1-D); received shape {np.shape(y)}. "
                         "For a table of series use crimestats.changepoint.detect_many.")
    arr = as_float_array(_values(y), name, allow_nan=True)
    n = arr.shape[0]
    raw_labels = _labels(y, n, time)
    if fill is not None:
        try:
            fill = float(fill)
        except (TypeError, ValueError):
            raise InputError(f"`fill` must be a number (the value of a period absent from the "
                             f"series, e.g. 0 crimes); received {fill!r}.") from None
        if not np.isfinite(fill):
            raise InputError(f"`fill` must be a finite number; received {fill!r}.")
    axis = check_time_axis(raw_labels, name="time" if time is not None else f"{name} index",
                           fill=fill is not None or missing == "skip")
    labels = list(axis.labels[axis.positions])
    nan = np.isnan(arr)
    if nan.any() and missing == "error":
        raise InputError(
            f"`{name}` has missing values (NaN) at {describe_rows(np.flatnonzero(nan), labels, noun)}."
            " crimestats never drops or fills them silently: pass missing='skip' to treat those "
            "periods as unobserved (they belong to a segment but add no information), or "
            "supply the values.")
    if nan.all():
        raise InputError(f"`{name}` has no observed values.")
    if model.data == "counts":
        check_counts(arr, name, labels, noun=noun)
        _check_count_range(arr, model, name, labels, noun)
        if fill is not None and axis.missing.size and not (fill >= 0 and fill == round(fill)):
            raise InputError(f"`fill` is the count of a period absent from the series and must "
                             f"be a non-negative whole number with the {model.name!r} "
                             f"likelihood; received {fill!r}.")
    full_n = len(axis.labels)
    inserted = np.ones(full_n, dtype=bool)
    inserted[axis.positions] = False
    yy = np.full(full_n, np.nan if fill is None else fill)
    yy[axis.positions] = arr

    exp = _exposure(exposure, y, arr, axis, yy, inserted, model, name)
    if not isinstance(min_size, (int, np.integer)) or isinstance(min_size, bool) or min_size < 1:
        raise InputError(f"`min_size` must be a positive integer; received {min_size!r}.")
    if full_n < min_size:
        raise InputError(f"`{name}` has {full_n} periods, fewer than the minimum segment "
                         f"length min_size={min_size}; give a longer series or a smaller "
                         "min_size.")
    if full_n < 2:
        raise InputError(f"`{name}` needs at least 2 observations to look for a change.")
    return Series(yy, exp, axis, inserted)


def _check_count_range(arr: np.ndarray, model: Any, name: str, labels: list[Any],
                       noun: str) -> None:
    """Counts above the model's ``max_count`` are beyond the accuracy of its likelihood."""
    big = np.flatnonzero(arr > model.max_count)
    if big.size:
        raise EstimationError(
            f"`{name}` is out of the range of the {model.name!r} likelihood: counts above "
            f"{model.max_count:.0e} at {describe_rows(big, labels, noun)} (largest "
            f"{np.nanmax(arr):.3g}) cannot be computed accurately. Check the units (counts of "
            "crimes per period), or use likelihood='count_trend' or 'log_trend'.")


def _exposure(exposure: Any, y: Any, arr: np.ndarray, axis: TimeAxis, yy: np.ndarray,
              inserted: np.ndarray, model: Any, name: str) -> np.ndarray:
    """Exposure on the full calendar: a Series by label, an array by position.

    A period inserted with ``fill=`` is observed and needs an exposure: give the exposure as a
    Series that covers it. A period inserted with ``missing="skip"`` is unobserved and needs
    none.
    """
    full_n = inserted.size
    if exposure is None:
        return np.ones(full_n)
    if model.data != "counts":
        raise InputError("`exposure` applies to count likelihoods ("
                         f"{', '.join(repr(m) for m in model_names('counts'))}); for real values "
                         "divide the series by it first.")
    labels = list(axis.labels)
    if isinstance(exposure, pd.Series):
        if inserted.any() and exposure.index.isin(axis.labels).all():
            exposure = exposure.reindex(axis.labels)      # NaN where a period has none
        exp = as_float_array(aligned(exposure, labels, "exposure", name, noun="period"),
                             "exposure", allow_nan=True)
    else:
        given = as_float_array(exposure, "exposure")
        if given.shape[0] != arr.shape[0]:
            raise InputError(f"`exposure` has {given.shape[0]} values but `{name}` has "
                             f"{arr.shape[0]}; give one exposure (population, days) per "
                             "observation.")
        exp = np.full(full_n, np.nan)
        exp[axis.positions] = given
    unobserved = np.isnan(yy)
    needed = np.isnan(exp) & ~unobserved
    if needed.any():
        raise InputError(f"`exposure` is missing for {describe_rows(np.flatnonzero(needed), labels, 'period')}"
                         ", which the series fills; give the exposure as a pandas Series "
                         "indexed by period that covers every period of the calendar.")
    exp = np.where(unobserved & np.isnan(exp), 1.0, exp)
    bad = ~(exp > 0)
    if bad.any():
        raise InputError(f"`exposure` must be positive; "
                         f"{describe_rows(np.flatnonzero(bad), labels, 'time')} "
                         f"ha{'s' if bad.sum() == 1 else 've'} {exp[bad][:8].tolist()}.")
    return exp


def choose_likelihood(values: np.ndarray, name: str = "y",
                      labels: list[Any] | None = None) -> str:
    """The model ``likelihood="auto"`` picks for a series (see the module notes of `detect`).

    Non-negative whole numbers are counts: ``"count_trend"`` when they average 10 or more a
    period, ``"negbin"`` otherwise. Other positive values (rates, indices): ``"log_trend"``;
    other real values: ``"trend"``. Whole numbers with a negative value are refused: they look
    like counts with an error in them.
    """
    obs = values[np.isfinite(values)]
    if obs.size == 0:
        raise InputError(f"`{name}` has no observed values.")
    whole = bool(np.all(obs == np.round(obs)))
    if whole and np.any(obs < 0):
        neg = np.flatnonzero(np.isfinite(values) & (values < 0))
        raise InputError(
            f"`{name}` holds whole numbers like counts but has negative values at "
            f"{describe_rows(neg, labels, 'time')}. Counts cannot be negative: correct those "
            "values, or, if the series is not counts (differences, balances), say so with "
            "likelihood='trend' (real values).")
    if whole:
        return "count_trend" if float(np.mean(obs)) >= 10.0 else "negbin"
    return "log_trend" if bool(np.all(obs > 0)) else "trend"
