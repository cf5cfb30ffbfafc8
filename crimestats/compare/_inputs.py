"""Validation of the per-area inputs of the comparison functions (counts, exposures, labels).

Private module: the public functions call [`area_counts`][area_counts] at their boundary and work
on plain float arrays afterwards.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import _validate as v
from ..errors import InputError

__all__ = ["AreaCounts", "area_counts", "column", "positive_number"]


class AreaCounts:
    """Checked counts and exposures of ``m`` areas, with their labels."""

    __slots__ = ("observed", "exposure", "labels")

    def __init__(self, observed: np.ndarray, exposure: np.ndarray, labels: np.ndarray) -> None:
        self.observed = observed
        self.exposure = exposure
        self.labels = labels


def column(value: Any, name: str, data: pd.DataFrame | None) -> Any:
    """``data[value]`` when ``value`` is a column name, else ``value`` (a name without data raises)."""
    if isinstance(value, str):
        if data is None:
            raise InputError(f"`{name}` is a column name ({value!r}) but `data` is missing; "
                             "pass the data frame as `data=`.")
        v.require_columns(data, [value], "data")
        return data[value]
    if data is not None and value is not None and np.ndim(value) >= 1 and len(value) != len(data):
        raise InputError(f"`{name}` has {len(value)} rows but `data` has {len(data)}.")
    return value


def area_counts(observed: Any, exposure: Any, areas: Any = None, data: pd.DataFrame | None = None,
                *, proportion: bool = False, exposure_name: str = "exposure") -> AreaCounts:
    """Validate counts and exposures of areas; labels from ``areas``, the data's or the Series' index.

    A pandas Series of exposures is matched to the counts by label
    (`crimestats._validate.aligned`): to the index of ``observed`` when that is a Series too,
    else to ``areas``; plain arrays are positional. Counts must be whole numbers
    $\\ge 0$, exposures finite and $> 0$; for proportions the count cannot exceed its
    denominator.
    """
    from_data = isinstance(exposure, str)
    obs_name = f"data[{observed!r}]" if isinstance(observed, str) else "observed"
    obs_labelled = isinstance(observed, pd.Series)      # labelled by area, not a column
    if obs_labelled and isinstance(areas, pd.Series):
        # columns of one table (areas=frame["force"]): rows matched by the shared index
        areas = v.aligned(areas, list(observed.index), "areas", "observed", noun="row")
    explicit_areas = areas is not None and not isinstance(areas, (str, pd.Series))
    observed = column(observed, "observed", data)
    exposure = column(exposure, exposure_name, data)
    if from_data:
        exposure = exposure.to_numpy()
    areas = column(areas, "areas", data)
    if isinstance(observed, (pd.DataFrame,)) or np.ndim(observed) != 1:
        raise InputError(f"`observed` must be 1-D (one count per area); received shape "
                         f"{np.shape(observed)}.")
    m = len(observed)
    if m == 0:
        raise InputError("`observed` is empty; at least one area is needed.")
    if areas is None:
        if data is not None:
            areas = data.index
        elif isinstance(observed, pd.Series):
            areas = observed.index
    if isinstance(areas, (pd.Index, pd.Series)):
        areas = areas.to_numpy()
    labels = v.area_labels(areas, m)
    shown = None if areas is None else labels
    if obs_labelled and explicit_areas:
        # `areas` orders a labelled Series by label (never relabels it by position)
        observed = v.aligned(observed, list(labels), "observed", "areas")
        exposure = v.aligned(exposure, list(labels), exposure_name, "areas")
    elif isinstance(observed, pd.Series) and isinstance(exposure, pd.Series):
        # two Series (e.g. columns of one table, with `areas` naming the rows): match the
        # exposures to the counts' own index
        exposure = v.aligned(exposure, list(observed.index), exposure_name, "observed")
    else:
        exposure = v.aligned(exposure, None if shown is None else list(labels), exposure_name,
                             "observed")
    y = v.as_float_array(observed, obs_name, labels=shown)
    n = v.as_float_array(exposure, exposure_name, labels=shown)
    v.check_length(n, m, exposure_name, "observed")
    v.check_counts(y, "observed", shown, noun="area")
    v.check_positive(n, exposure_name, shown)
    if proportion:
        v.check_counts(n, exposure_name, shown, noun="area")
        over = np.flatnonzero(y > n)
        if over.size:
            raise InputError(
                f"A proportion's count cannot exceed its denominator; "
                f"{v.describe_rows(over, shown)} ha{'s' if over.size == 1 else 've'} "
                f"`observed` > `{exposure_name}`. Check that the columns are not swapped.")
    return AreaCounts(y, n, labels)


def positive_number(value: Any, name: str) -> float:
    """``value`` as a finite float $> 0$, or an [`InputError`][crimestats.InputError] naming ``name``."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"`{name}` must be a positive number; received {value!r}.") from None
    if not (np.isfinite(out) and out > 0):
        raise InputError(f"`{name}` must be a positive number; received {value!r}.")
    return out
