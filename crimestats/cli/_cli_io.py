"""Input and output of the ``crimestats`` command: reading a user's CSV, JSON documents, progress.

Everything that can be wrong with a user's file is reported as a one-line
[`crimestats.InputError`][crimestats.InputError] naming the column and the rows (counted from 1 after the header).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import InputError
from ..results import json_safe

_SHOWN = 6


def read_table(path: str | Path, *, required: Sequence[str], numeric: Sequence[str],
               unique: str | None = None) -> pd.DataFrame:
    """Read a CSV file and check the columns a command needs.

    Parameters
    ----------
    path : str or Path
        The CSV file (comma-separated, header on the first line).
    required : sequence of str
        Columns that must exist.
    numeric : sequence of str
        Columns that must hold numbers. Empty cells and the usual missing-value markers
        (``NA``, ``NaN``, ``n/a``, ``null``) are missing values; any other text is an error.
    unique : str, optional
        A column whose values must be present and unique (the area or time labels).

    Returns
    -------
    pandas.DataFrame
        The table with ``numeric`` columns converted to float.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the path of a CSV file.")
    try:
        frame = pd.read_csv(path, skipinitialspace=True)
    except FileNotFoundError:
        raise InputError(f"No such file: {path}.") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a UTF-8 text file; save it as CSV (UTF-8).") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty; expected a CSV file with a header line.") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise InputError(f"{path} is not a well-formed CSV file ({detail}).") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in dict.fromkeys(required) if c not in frame.columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        hint = next((f" The file seems to use {sep!r} between columns; save it as "
                     "comma-separated (CSV)." for sep in (";", "\t", "|")
                     if len(frame.columns) == 1 and sep in frame.columns[0]), "")
        raise InputError(
            f"{path.name} has no column{'s' if len(missing) > 1 else ''} {names}; its columns are "
            f"{', '.join(repr(c) for c in frame.columns)}.{hint}"
        )
    if frame.empty:
        raise InputError(f"{path.name} has a header but no data rows.")
    for column in dict.fromkeys(numeric):
        frame[column] = _as_numbers(frame[column], column, path.name)
    if unique is not None:
        _check_labels(frame[unique], unique, path.name)
    return frame


def _rows(positions: Sequence[int] | np.ndarray) -> str:
    """Data rows counted from 1 after the header: ``"rows 3, 9"``."""
    pos = [int(p) + 1 for p in positions]
    more = f" and {len(pos) - _SHOWN} more" if len(pos) > _SHOWN else ""
    word = "row" if len(pos) == 1 else "rows"
    return f"{word} {', '.join(map(str, pos[:_SHOWN]))}{more}"


def _as_numbers(column: pd.Series, name: str, file: str) -> pd.Series:
    """Convert a column to float, naming the rows that hold text."""
    if pd.api.types.is_bool_dtype(column):
        raise InputError(f"Column {name!r} in {file} holds true/false values; numbers are expected.")
    if pd.api.types.is_numeric_dtype(column):
        return column.astype("float64")
    converted = pd.to_numeric(column, errors="coerce")
    text = converted.isna() & column.notna()
    if text.any():
        where = np.flatnonzero(text.to_numpy())
        shown = ", ".join(repr(v) for v in column[text].iloc[:3])
        raise InputError(
            f"Column {name!r} in {file} must hold numbers but has text in {_rows(where)} "
            f"({shown}); write numbers with a decimal point and leave missing values empty "
            "(rows counted from 1 after the header)."
        )
    return converted.astype("float64")


def _check_labels(labels: pd.Series, name: str, file: str) -> None:
    """Labels must be present and unique; duplicates are named with their rows."""
    empty = labels.isna().to_numpy()
    if empty.any():
        raise InputError(f"Column {name!r} in {file} is empty in {_rows(np.flatnonzero(empty))}.")
    dup = labels.duplicated(keep=False).to_numpy()
    if dup.any():
        groups = []
        for value, idx in labels[dup].groupby(labels[dup], sort=False).groups.items():
            groups.append(f"{value!r} ({_rows(labels.index.get_indexer(idx))})")
        raise InputError(
            f"Column {name!r} in {file} must name each {name} once; duplicated: "
            f"{'; '.join(groups[:_SHOWN])}. Aggregate or remove the repeated rows."
        )


def split_names(text: str | None) -> list[str]:
    """``"a, b,c"`` → ``["a", "b", "c"]``; None or empty → ``[]``."""
    if not text:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def document(command: str, *, file: str | None, rows: int | None, model: dict[str, Any],
             estimates: pd.DataFrame, captured: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON document every ``--json`` command prints (schema ``crimestats-cli/1``)."""
    records = _records(estimates.reset_index())
    return {
        "schema": "crimestats-cli/1",
        "crimestats_version": __version__,
        "command": command,
        "input": {"file": file, "rows": rows},
        "model": json_safe(model),
        "estimates": records,
        "warnings": list(captured),
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts of plain Python values; NaN and infinities become None."""
    frame = frame.replace([np.inf, -np.inf], np.nan)
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def write_json(doc: dict[str, Any], stream: TextIO) -> None:
    """Write a JSON document (strict JSON: NaN already turned into null) in one write."""
    stream.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")


@contextlib.contextmanager
def capture_warnings() -> Iterator[list[str]]:
    """Collect crimestats warnings as one-line messages (printed or put in the JSON)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        messages: list[str] = []
        yield messages
    for item in caught:
        messages.append(f"{item.category.__name__}: {' '.join(str(item.message).split())}")


class Progress:
    """Stage messages on stderr, shown only when stderr is a terminal (never in pipes or logs)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())

    @contextlib.contextmanager
    def step(self, message: str) -> Iterator[None]:
        """Show ``message …`` while the block runs, then its duration."""
        start = time.perf_counter()
        if self.enabled:
            self.stream.write(f"{message} …")
            self.stream.flush()
        try:
            yield
        finally:
            if self.enabled:
                self.stream.write(f" {time.perf_counter() - start:.1f} s\n")
                self.stream.flush()
