"""Argument checks shared by the loaders: pick named categories and years from a table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from ..errors import InputError


def as_list(value: Any, name: str) -> list[Any] | None:
    """``None`` → None; a single string or number → a one-item list; an iterable → a list."""
    if value is None:
        return None
    if isinstance(value, (str, int)):
        return [value]
    if isinstance(value, Iterable):
        out = list(value)
        if not out:
            raise InputError(f"`{name}` is empty; pass None to keep everything.")
        return out
    raise InputError(f"`{name}` must be a name, a list of names or None; received {value!r}.")


def select(frame: pd.DataFrame, column: str, wanted: Any, name: str,
           available: Sequence[Any] | None = None) -> pd.DataFrame:
    """Keep the rows of ``frame`` whose ``column`` is in ``wanted``; unknown values are an error."""
    values = as_list(wanted, name)
    if values is None:
        return frame
    known = list(available) if available is not None else list(pd.unique(frame[column]))
    unknown = [v for v in values if v not in known]
    if unknown:
        raise InputError(f"`{name}` has unknown value(s) {unknown}; available: {known}.")
    return frame[frame[column].isin(values)].reset_index(drop=True)
