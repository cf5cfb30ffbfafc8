"""Capture-history tables: validation and the full table of observable cells.

A table with ``t`` lists has ``2**t - 1`` observable capture histories (every non-empty subset
of lists); the all-zero history is the unobserved "dark figure". Internally a table is the
matrix of all observable histories (one row per history, ordered by the number of lists and
then lexicographically) and a vector of counts, zeros included.
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from functools import lru_cache

import numpy as np
import pandas as pd

from .._validate import check_counts, describe_rows, require_columns
from ..errors import DataWarning, InputError

__all__: list[str] = []

MAX_OBSERVED = 1e10  # people on the lists; beyond this the counts cannot be of people


@dataclasses.dataclass(frozen=True)
class CaptureTable:
    """All observable capture histories of ``t`` lists and their counts (zeros included)."""

    lists: tuple[str, ...]
    histories: np.ndarray  # (2**t - 1, t) of 0/1
    counts: np.ndarray  # (2**t - 1,) float
    notes: tuple[str, ...] = ()

    @property
    def n_lists(self) -> int:
        return len(self.lists)

    @property
    def observed(self) -> float:
        return float(self.counts.sum())

    def with_counts(self, counts: np.ndarray) -> CaptureTable:
        return dataclasses.replace(self, counts=np.asarray(counts, dtype=float))


@lru_cache(maxsize=16)
def all_histories(t: int) -> np.ndarray:
    """The ``2**t - 1`` non-empty capture histories, by number of lists then lexicographically."""
    rows = [h for k in range(1, t + 1) for h in _subsets(t, k)]
    out = np.array(rows, dtype=np.int8)
    out.setflags(write=False)
    return out


def _subsets(t: int, k: int) -> list[tuple[int, ...]]:
    out = []
    for chosen in itertools.combinations(range(t), k):
        row = [0] * t
        for i in chosen:
            row[i] = 1
        out.append(tuple(row))
    return out


def history_codes(histories: np.ndarray) -> np.ndarray:
    """Integer code of each history (list ``j`` contributes ``2**j``)."""
    t = histories.shape[1]
    return histories.astype(np.int64) @ (1 << np.arange(t, dtype=np.int64))


def capture_table(table: pd.DataFrame, lists: list[str] | None = None,
                  count: str | None = "count") -> CaptureTable:
    """Validate a table of capture histories and return the full [`CaptureTable`][CaptureTable].

    ``table`` has one 0/1 column per list and a ``count`` column, or one row per person
    (``count=None`` or no such column). Duplicate histories are summed (with a note).
    """
    if not isinstance(table, pd.DataFrame):
        raise InputError(
            "`table` must be a pandas DataFrame with one 0/1 column per list and a count "
            f"column (or one row per person); received {type(table).__name__}."
        )
    has_count = count is not None and count in table.columns
    if lists is None:
        lists = [c for c in table.columns if not (has_count and c == count)]
    require_columns(table, list(lists), "table")
    if len(lists) < 2:
        raise InputError(
            f"Multiple-systems estimation needs at least two lists; the table has {len(lists)} "
            f"list column(s) {list(lists)}. Add the other agencies' lists."
        )
    if len(lists) > 15:
        raise InputError(f"At most 15 lists are supported; received {len(lists)}.")
    names = tuple(str(c) for c in lists)
    raw = table[list(lists)]
    try:
        hist = raw.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise InputError(
            "List columns must hold 0/1 (captured or not); some values are not numbers. "
            f"Columns: {list(names)}."
        ) from None
    bad = ~np.isin(hist, (0.0, 1.0))
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        cols = [names[j] for j in np.flatnonzero(bad.any(axis=0))]
        if not has_count and count is not None:
            raise InputError(
                f"The table has no `{count}` column, so every column was read as a list (one "
                f"row per person), but column(s) {cols} hold values other than 0/1 in "
                f"{describe_rows(rows, list(table.index), 'row')}. If {cols} hold the number "
                "of people with each capture history, pass count=<that column> (on the "
                "command line --count); otherwise recode them as 0/1."
            )
        raise InputError(
            f"List columns must hold only 0 or 1; column(s) {cols} have other values (or "
            f"missing values) in {describe_rows(rows, list(table.index), 'row')}. "
            "Recode them as 0 = not on the list, 1 = on the list."
        )
    if has_count:
        counts = _count_column(table, count)
    else:
        counts = np.ones(len(table))
    zero_row = (hist.sum(axis=1) == 0) & (counts > 0)
    if zero_row.any():
        raise InputError(
            "A history on no list cannot have been observed; "
            f"{describe_rows(np.flatnonzero(zero_row), list(table.index), 'row')} "
            "are all-zero with a positive count. Remove them (the all-zero cell is what "
            "multiple-systems estimation estimates)."
        )
    t = len(names)
    full = all_histories(t)
    index = {int(c): i for i, c in enumerate(history_codes(full))}
    codes = history_codes(hist.astype(np.int8))
    full_counts = np.zeros(full.shape[0])
    keep = hist.sum(axis=1) > 0
    np.add.at(full_counts, [index[int(c)] for c in codes[keep]], counts[keep])
    notes: list[str] = []
    n_dup = int(keep.sum() - np.unique(codes[keep]).size)
    if has_count and n_dup > 0:
        notes.append(f"{n_dup} duplicate capture-history row(s) were summed.")
    if not has_count:
        notes.append(f"One row per person: {len(table)} rows tabulated into histories.")
    out = CaptureTable(names, full, full_counts, tuple(notes))
    if out.observed <= 0:
        raise InputError("The table has no observed cases (all counts are zero).")
    return out


def _count_column(table: pd.DataFrame, count: str) -> np.ndarray:
    """The count column as floats: numbers only, none missing or infinite, whole, >= 0."""
    raw = table[count]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    labels = list(table.index)
    text = np.isnan(values) & raw.notna().to_numpy()
    if text.any():
        rows = np.flatnonzero(text)
        raise InputError(
            f"`{count}` must hold numbers (people with each capture history); "
            f"{describe_rows(rows, labels, 'row')} hold {raw.iloc[rows[:5]].tolist()}. "
            "Correct them (e.g. remove thousands separators or notes).")
    if np.isnan(values).any():
        rows = np.flatnonzero(np.isnan(values))
        raise InputError(
            f"`{count}` has missing values in {describe_rows(rows, labels, 'row')}; "
            "give 0 for histories nobody has.")
    if np.isinf(values).any():
        rows = np.flatnonzero(np.isinf(values))
        raise InputError(
            f"`{count}` has infinite values in {describe_rows(rows, labels, 'row')}; counts "
            "of people must be finite whole numbers.")
    check_counts(values, count, labels)
    if values.sum() > MAX_OBSERVED:
        raise InputError(
            f"`{count}` adds up to {values.sum():.3g} people, more than {MAX_OBSERVED:.0e} "
            "(above the world's population): check the column holds counts of people.")
    return values


def overlap_matrix(tab: CaptureTable) -> np.ndarray:
    """Number of cases on both list ``i`` and list ``j`` (diagonal: list sizes)."""
    h = tab.histories.astype(float)
    return (h * tab.counts[:, None]).T @ h


def diagnose(tab: CaptureTable) -> dict[str, object]:
    """Diagnostics of a capture table: list sizes, empty pairwise overlaps, isolated lists."""
    ov = overlap_matrix(tab)
    t = tab.n_lists
    sizes = {tab.lists[j]: float(ov[j, j]) for j in range(t)}
    empty_pairs = [f"{tab.lists[i]}:{tab.lists[j]}" for i in range(t) for j in range(i + 1, t)
                   if ov[i, j] == 0]
    isolated = [tab.lists[j] for j in range(t)
                if all(ov[j, k] == 0 for k in range(t) if k != j)]
    empty_lists = [name for name, s in sizes.items() if s == 0]
    zero_cells = int((tab.counts == 0).sum())
    return {
        "list_sizes": sizes,
        "empty_overlaps": empty_pairs,
        "isolated_lists": isolated,
        "empty_lists": empty_lists,
        "zero_cells": zero_cells,
        "cells": int(tab.counts.size),
        "notes": list(tab.notes),
    }


def warn_about(diag: dict[str, object]) -> None:
    """Issue a [`DataWarning`][DataWarning] for lists that overlap no other list or are empty."""
    if diag["empty_lists"]:
        warnings.warn(
            f"List(s) {diag['empty_lists']} hold no cases and carry no information; "
            "consider removing them.", DataWarning, stacklevel=3)
    if diag["isolated_lists"]:
        warnings.warn(
            f"List(s) {diag['isolated_lists']} overlap no other list: the overlap pattern "
            "cannot say how many such cases are missed, so the estimate rests on the model's "
            "assumptions for them (see `diagnostics['isolated_lists']`).",
            DataWarning, stacklevel=3)
