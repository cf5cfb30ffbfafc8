"""Checks and integer coding of respondent-level survey data (private).

Everything the public functions of [`crimestats.survey`][crimestats.survey] receive passes through here once:
columns are checked, labels are turned into integer codes, and a [`crimestats.InputError`][crimestats.InputError]
names the offending rows (by the data frame's index) and columns.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._validate import check_range, describe_rows, require_columns
from ..errors import InputError


def numeric_column(df: pd.DataFrame, column: str, *, role: str) -> np.ndarray:
    """Column ``column`` as finite float64, or an error naming non-numeric / missing rows."""
    ser = df[column]
    if isinstance(ser.dtype, pd.CategoricalDtype):
        ser = ser.astype(object)
    if pd.api.types.is_bool_dtype(ser.dtype):
        ser = ser.astype(np.float64)
    values = pd.to_numeric(ser, errors="coerce")
    arr = np.asarray(values, dtype=np.float64)
    missing = np.asarray(ser.isna())
    text = np.isnan(arr) & ~missing
    if text.any():
        bad = np.flatnonzero(text)
        shown = [ser.iloc[i] for i in bad[:5]]
        raise InputError(
            f"{role} column {column!r} must be numeric; {describe_rows(bad, df.index, 'row')} "
            f"hold text {shown}. Convert it to numbers (e.g. 0/1 for victimised) first."
        )
    if missing.any():
        raise InputError(
            f"{role} column {column!r} has missing values in "
            f"{describe_rows(np.flatnonzero(missing), df.index, 'row')}. Remove those respondents "
            "or impute them explicitly; crimestats never drops or fills rows silently."
        )
    inf = np.isinf(arr)
    if inf.any():
        raise InputError(
            f"{role} column {column!r} has infinite values in "
            f"{describe_rows(np.flatnonzero(inf), df.index, 'row')}."
        )
    return arr


def label_column(df: pd.DataFrame, column: str, *, role: str) -> pd.Series:
    """A label column (area, stratum, PSU, period) checked for missing values."""
    ser = df[column]
    missing = np.asarray(ser.isna())
    if missing.any():
        raise InputError(
            f"{role} column {column!r} has missing values in "
            f"{describe_rows(np.flatnonzero(missing), df.index, 'row')}. Every respondent "
            f"needs a {role.lower()}; fix or remove those rows."
        )
    return ser


def sorted_unique(values: pd.Series) -> np.ndarray:
    """Unique labels, sorted when they can be compared (else in order of appearance)."""
    uniq = np.asarray(pd.unique(values))
    try:
        return np.sort(uniq)
    except TypeError:
        return uniq


def codes_for(values: pd.Series, categories: Sequence[Hashable], *, role: str,
              column: str) -> np.ndarray:
    """Integer codes of ``values`` in ``categories``; unknown labels raise."""
    index = pd.Index(categories)
    codes = index.get_indexer(values)
    unknown = codes < 0
    if unknown.any():
        labels = list(dict.fromkeys(np.asarray(values)[unknown].tolist()))[:8]
        raise InputError(
            f"{role} column {column!r} has labels not in the `{role.lower()}s` list you gave: "
            f"{labels}. Add them to the list or remove those respondents."
        )
    return codes.astype(np.int64)


@dataclass(frozen=True)
class SurveyDesign:
    """Validated respondent data as arrays (private)."""

    y: np.ndarray
    weight: np.ndarray
    area: pd.Series
    period: pd.Series | None
    stratum: np.ndarray
    psu: np.ndarray
    fpc_factor: np.ndarray


def read_design(df: Any, *, y: str, area: str, weight: str, strata: str | None,
                psu: str | None, period: str | None, fpc: str | None) -> SurveyDesign:
    """Check the data frame and code strata and PSUs.

    Strata are nested in periods (each period is an independent sample) and PSUs are nested in
    strata (``nest=TRUE`` in R ``survey``). Without ``psu`` each respondent is its own PSU;
    without ``strata`` there is one stratum (per period).
    """
    for name, value in (("y", y), ("area", area), ("weight", weight)):
        if not isinstance(value, str):
            raise InputError(f"`{name}` must be a column name (a string); received {value!r}.")
    require_columns(df, [y, area, weight, strata, psu, period, fpc], what="data")
    if len(df) == 0:
        raise InputError("`data` has no rows; direct estimates need at least one respondent.")
    yv = numeric_column(df, y, role="Outcome")
    wv = numeric_column(df, weight, role="Weight")
    check_range(yv, f"data[{y!r}]", labels=df.index, noun="respondent")
    check_range(wv, f"data[{weight!r}]", largest=1e150, labels=df.index, noun="respondent")
    nonpos = wv <= 0
    if nonpos.any():
        bad = np.flatnonzero(nonpos)
        raise InputError(
            f"Weight column {weight!r} must be positive; "
            f"{describe_rows(bad, df.index, 'row')} have {wv[bad][:8].tolist()}. "
            "Respondents outside the population of interest should be removed, not given "
            "weight zero (use the `area` or a domain column to select subgroups)."
        )
    area_ser = label_column(df, area, role="Area")
    period_ser = label_column(df, period, role="Period") if period is not None else None

    n = len(df)
    stratum_codes = np.zeros(n, dtype=np.int64)
    if period_ser is not None:
        stratum_codes = _combine(stratum_codes, period_ser)
    if strata is not None:
        stratum_codes = _combine(stratum_codes, label_column(df, strata, role="Stratum"))
    if psu is not None:
        psu_codes = _combine(stratum_codes, label_column(df, psu, role="PSU"))
    else:
        psu_codes = np.arange(n, dtype=np.int64)

    n_strata = int(stratum_codes.max()) + 1
    fpc_factor = np.ones(n_strata)
    if fpc is not None:
        fpc_factor = _fpc_factor(df, fpc, stratum_codes, psu_codes, n_strata)
    return SurveyDesign(y=yv, weight=wv, area=area_ser, period=period_ser,
                        stratum=stratum_codes, psu=psu_codes, fpc_factor=fpc_factor)


def _combine(outer: np.ndarray, labels: pd.Series) -> np.ndarray:
    """Codes ``0 .. K-1`` of the pairs (outer code, label), i.e. labels nested in ``outer``."""
    inner, uniques = pd.factorize(labels, sort=False)
    pair = outer.astype(np.int64) * max(len(uniques), 1) + inner
    codes, _ = pd.factorize(pair, sort=True)
    return codes.astype(np.int64)


def _fpc_factor(df: pd.DataFrame, fpc: str, stratum: np.ndarray, psu: np.ndarray,
                n_strata: int) -> np.ndarray:
    """$1 - n_h/N_h$ per stratum from a column of population PSU counts or fractions."""
    values = numeric_column(df, fpc, role="Finite population correction")
    per_stratum = pd.Series(values).groupby(stratum)
    varying = per_stratum.nunique() > 1
    if varying.any():
        raise InputError(
            f"Column {fpc!r} must be constant within each stratum (it is the number of PSUs in "
            f"the stratum's population); it varies in {int(varying.sum())} strata."
        )
    pop = per_stratum.first().reindex(range(n_strata)).to_numpy()
    psu_stratum = np.zeros(int(psu.max()) + 1, dtype=np.int64)
    psu_stratum[psu] = stratum
    n_h = np.bincount(psu_stratum, minlength=n_strata)
    if (pop <= 0).any():
        raise InputError(f"Column {fpc!r} must be positive.")
    if (pop <= 1).all():  # sampling fractions, as R survey reads values <= 1
        return 1.0 - pop
    if (pop < n_h).any():
        raise InputError(
            f"Column {fpc!r} gives fewer population PSUs than were sampled in "
            f"{int((pop < n_h).sum())} strata; it must be the population number of PSUs "
            "(or, for every stratum, the sampling fraction <= 1)."
        )
    return 1.0 - n_h / pop
