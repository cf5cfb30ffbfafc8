"""Validation of one series at the public boundary of the change-point functions."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .._validate import as_float_array, check_choice, check_counts, check_positive, describe_rows
from ..errors import InputError
from .segment_models import LIKELIHOODS

MISSING = ("error", "skip")


@dataclasses.dataclass(frozen=True)
class Series:
    """A validated series: values (NaN where missing and ``missing='skip'``), exposure, labels."""

    y: np.ndarray
    exposure: np.ndarray
    time: np.ndarray
    missing: np.ndarray


def time_labels(y: Any, n: int, time: Any = None) -> np.ndarray:
    """Labels of the time axis: ``time`` if given, else the index of a pandas Series, else 0..n-1."""
    if time is not None:
        labels = np.asarray(time)
        if labels.ndim != 1 or labels.shape[0] != n:
            raise InputError(f"`time` must be 1-D with {n} labels (one per observation); "
                             f"received shape {labels.shape}.")
        return labels
    if isinstance(y, pd.Series):
        idx = y.index
        if isinstance(idx, pd.PeriodIndex):
            return idx.to_timestamp().to_numpy()
        return idx.to_numpy()
    return np.arange(n)


def check_series(y: Any, likelihood: str, *, exposure: Any = None, time: Any = None,
                 missing: str = "error", min_size: int = 1, name: str = "y") -> Series:
    """Validate one series for [`detect`][detect] and return it as float arrays."""
    likelihood = check_choice(likelihood, "likelihood", LIKELIHOODS)
    missing = check_choice(missing, "missing", MISSING)
    values = y
    if isinstance(y, pd.Series) and y.dtype != object:
        try:   # nullable dtypes (Int64, Float64): pd.NA becomes NaN, then handled as missing
            values = y.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            values = y
    arr = as_float_array(values, name, allow_nan=True)
    n = arr.shape[0]
    labels = time_labels(y, n, time)
    nan = np.isnan(arr)
    if nan.any() and missing == "error":
        pos = np.flatnonzero(nan)
        raise InputError(
            f"`{name}` has missing values (NaN) at {describe_rows(pos, list(labels), 'time')}. "
            "crimestats never drops or fills them silently: pass missing='skip' to treat those "
            "periods as unobserved (they belong to a segment but add no information), or "
            "supply the values."
        )
    if nan.all():
        raise InputError(f"`{name}` has no observed values.")
    if likelihood in ("poisson", "negbin"):
        check_counts(arr, name, list(labels), noun="time")
    if exposure is None:
        exp = np.ones(n)
    else:
        exp = as_float_array(exposure, "exposure")
        if exp.shape[0] != n:
            raise InputError(f"`exposure` has {exp.shape[0]} values but `{name}` has {n}; give "
                             "one exposure (population, days) per observation.")
        check_positive(exp, "exposure", list(labels))
        if likelihood not in ("poisson", "negbin"):
            raise InputError("`exposure` applies to count likelihoods ('poisson', 'negbin'); "
                             "for a normal likelihood divide the series by it first.")
    if not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise InputError(f"`min_size` must be a positive integer; received {min_size!r}.")
    if n < min_size:
        raise InputError(f"`{name}` has {n} observations, fewer than the minimum segment length "
                         f"min_size={min_size}; give a longer series or a smaller min_size.")
    if n < 2:
        raise InputError(f"`{name}` needs at least 2 observations to look for a change.")
    return Series(arr, exp, labels, nan)
