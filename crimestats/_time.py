"""Time axes checked as time: sorted, unique and on a regular calendar (shared by every function).

Every function that takes periods (change points, attribution, the CLI) calls
:func:`check_time_axis` at its public boundary. It recognises

* pandas ``Period`` labels (``PeriodIndex``, or ``pd.Period`` objects): the calendar is the
  period's frequency;
* dates (``DatetimeIndex``, ``datetime64``, ``datetime.date``): monthly when every date is the
  same day of its month (or every one a month end), quarterly or yearly likewise, weekly when
  dates are whole weeks apart, daily otherwise;
* whole numbers (years, period numbers): the smallest step between labels;
* text that reads as a period: ``"2020-03"``, ``"Mar-20"`` or ``"March 2020"`` (month),
  ``"2020Q1"`` (quarter), ``"2020"`` (year), and financial or survey years ``"2019/20"`` or
  ``"2019-20"`` (one a year).

Labels of any other kind (free text) are checked unique and taken in the order given.

A gap in a regular calendar is an error that names the missing periods and offers the two
honest fixes: fill them with zero where absence means zero (police.uk files omit a month with no
crime) or mark them missing. Out-of-order and repeated labels are errors too: crimestats never
sorts or de-duplicates time silently.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pandas as pd

from ._validate import plain
from .errors import InputError

__all__ = ["TimeAxis", "check_time_axis", "json_time"]

_MAX_SHOWN = 8
_FY = re.compile(r"^\s*(\d{4})\s*[/-]\s*(\d{2}|\d{4})\s*$")


@dataclasses.dataclass(frozen=True)
class TimeAxis:
    """A checked time axis.

    Attributes
    ----------
    labels : pandas.Index
        Every period from the first to the last label, in order, in the input's own type
        (a ``PeriodIndex`` stays one); equal to the input when nothing is missing.
    positions : numpy.ndarray
        Position in ``labels`` of each input label (``arange(n)`` when nothing is missing).
    kind : str
        ``"period"``, ``"datetime"``, ``"integer"``, ``"financial_year"`` or ``"label"``.
    freq : str or None
        Calendar step: a pandas frequency (``"M"``, ``"Q-DEC"``, ``"Y-DEC"``, ``"W-SUN"``...), the
        integer step for whole numbers, or None for free-text labels.
    """

    labels: pd.Index
    positions: np.ndarray
    kind: str
    freq: Any

    @property
    def missing(self) -> pd.Index:
        """The periods of the regular calendar that the input did not have."""
        mask = np.ones(len(self.labels), dtype=bool)
        mask[self.positions] = False
        return self.labels[mask]


def _show(values: Any) -> str:
    vals = [json_time(v) for v in list(values)[:_MAX_SHOWN]]
    more = f" and {len(values) - _MAX_SHOWN} more" if len(values) > _MAX_SHOWN else ""
    return ", ".join(repr(v) for v in vals) + more


def json_time(value: Any) -> Any:
    """A time label as a plain, JSON-friendly value: ``Period('2020-03')`` → ``"2020-03"``.

    Timestamps at midnight print as their date (``"2020-03-01"``); numbers and text stay as they
    are.

    Examples
    --------
    >>> import pandas as pd
    >>> json_time(pd.Period("2020-03", "M")), json_time(pd.Timestamp("2020-03-01")), json_time(2019)
    ('2020-03', '2020-03-01', 2019)
    """
    if isinstance(value, pd.Period):
        return str(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(value)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()
    return plain(value)


def _as_index(labels: Any) -> pd.Index:
    if isinstance(labels, pd.Index):
        return labels
    arr = np.asarray(labels) if not isinstance(labels, (list, tuple)) else None
    if arr is not None and arr.dtype.kind == "M":
        return pd.DatetimeIndex(arr)
    values = list(labels)
    if values and all(isinstance(v, pd.Period) for v in values):
        return pd.PeriodIndex(values)
    return pd.Index(values)


def _is_text_or_object(idx: pd.Index) -> bool:
    return idx.dtype == object or pd.api.types.is_string_dtype(idx.dtype)


def _date_freq(idx: pd.DatetimeIndex) -> str:
    """The calendar of dates: month, quarter or year starts/ends, weeks or days."""
    if len(idx) < 2:
        return "D"
    if (idx != idx.normalize()).any():
        raise InputError("time labels with a time of day are not a calendar of periods; give "
                         "dates, or pandas Periods (e.g. series.index.to_period('M')).")
    days = np.diff(idx.asi8) // (86_400 * 10**9)
    if idx.is_month_start.all() or idx.is_month_end.all():
        start = idx.is_month_start.all()
        months = np.diff(idx.year * 12 + idx.month)
        step = int(np.min(months)) if months.size else 1
        if step % 12 == 0 and months.size and np.all(months % 12 == 0):
            return "YS" if start else "YE"
        if step % 3 == 0 and np.all(months % 3 == 0):
            return ("QS-" if start else "QE-") + pd.Timestamp(idx[0]).strftime("%b").upper()
        return "MS" if start else "ME"
    if len(set(idx.day)) == 1 and (idx.day[0] <= 28):
        return "MS" if idx.day[0] == 1 else f"MS+{idx.day[0] - 1}D"
    if np.all(days % 7 == 0):
        return "W-" + pd.Timestamp(idx[0]).strftime("%a").upper()
    return "D"


def _regular_dates(idx: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    if freq.startswith("MS+"):
        offset = pd.Timedelta(days=int(freq[3:-1]))
        base = pd.date_range(idx[0] - offset, idx[-1] - offset, freq="MS")
        return base + offset
    return pd.date_range(idx[0], idx[-1], freq=freq)


def _parse_text(idx: pd.Index) -> tuple[pd.Index, str] | None:
    """Read text labels as periods: months, quarters, years or financial years."""
    texts = [str(v).strip() for v in idx]
    fy = [_FY.match(t) for t in texts]
    if all(fy):
        first = np.array([int(m.group(1)) for m in fy])
        second = [m.group(2) for m in fy]
        ok = all(int(s) % 100 == (f + 1) % 100 for f, s in zip(first, second, strict=True))
        if ok:
            return pd.Index(first), "financial_year"
    if all(re.match(r"^-?\d+$", t) for t in texts):        # years (or other whole numbers)
        return pd.Index([int(t) for t in texts]), "integer"
    for fmt in ("%b-%y", "%b-%Y", "%b %Y", "%B %Y", "%b %y"):  # months such as "Mar-20"
        try:
            stamps = pd.to_datetime(pd.Series(texts), format=fmt)
        except (ValueError, TypeError):
            continue
        return pd.PeriodIndex(stamps, freq="M"), "period"
    for freq, pattern in (("M", r"^\d{4}-\d{2}$"), ("Q-DEC", r"^\d{4}\s*-?Q[1-4]$")):
        if all(re.match(pattern, t) for t in texts):
            try:
                return pd.PeriodIndex([pd.Period(t.replace(" ", ""), freq=freq)
                                       for t in texts]), "period"
            except (ValueError, TypeError):
                return None
    return None


#: Label styles of time axes given as text (financial years, years, months, quarters).
_STYLES = (_FY, re.compile(r"^-?\d+$"), re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"),
           re.compile(r"^\d{4}\s*-?Q[1-4]$"))


def _odd_labels(idx: pd.Index) -> list[str]:
    """Labels that break the style most labels share (e.g. a 'Total' row among months, or
    '2019-13' among '2019-01' ...), or [] when no style is shared by most."""
    texts = [str(v).strip() for v in idx]
    for style in _STYLES:
        hits = [bool(style.match(t)) for t in texts]
        if 2 * sum(hits) > len(texts) and not all(hits):
            return [t for t, hit in zip(texts, hits, strict=True) if not hit]
    return []


def check_time_axis(labels: Any, *, name: str = "time", fill: bool = False,
                    what: str = "series", fixes: str | None = None) -> TimeAxis:
    """Check that time labels are unique, sorted and regular; name what is wrong if not.

    Parameters
    ----------
    labels : array-like or pandas.Index
        The time labels, one per observation, in the order of the data.
    name : str
        Name of the argument in messages (``"time"``, ``"recorded"`` ...).
    fill : bool
        Missing periods are allowed (the caller fills them, with zero or as missing); they
        are returned in :attr:`TimeAxis.labels` and :attr:`TimeAxis.missing`. Without it
        they raise.
    what : str
        What the labels index, for messages (``"series"``, ``"recorded"``).
    fixes : str, optional
        The caller's own options for missing periods, quoted in the message (default:
        ``fill=0`` or ``missing='skip'``).

    Returns
    -------
    TimeAxis

    Raises
    ------
    InputError
        Repeated labels, labels out of order, labels of mixed kinds, or missing periods
        without ``fill``.

    Examples
    --------
    >>> import pandas as pd
    >>> axis = check_time_axis(pd.period_range("2020-01", periods=4, freq="M"))
    >>> axis.kind, axis.freq, len(axis.labels)
    ('period', 'M', 4)
    >>> check_time_axis(["2020-01", "2020-02", "2020-04"], fill=True).missing.astype(str).tolist()
    ['2020-03']
    """
    idx = _as_index(labels)
    n = len(idx)
    if idx.has_duplicates:
        dup = idx[idx.duplicated(keep="first")].unique()
        raise InputError(
            f"`{name}` repeats the time label(s) {_show(dup)}: each period must appear once. "
            "Aggregate the repeated rows (e.g. sum counts of the same month) or correct the "
            "labels.")
    kind, freq = "label", None
    work: pd.Index = idx
    if isinstance(idx, pd.PeriodIndex):
        kind, freq = "period", idx.freqstr
    elif isinstance(idx, pd.DatetimeIndex):
        kind = "datetime"
        freq = _date_freq(idx.sort_values())
    elif n and pd.api.types.is_integer_dtype(idx.dtype):
        kind = "integer"
    elif n and pd.api.types.is_float_dtype(idx.dtype):
        vals = idx.to_numpy(dtype=float)
        if np.all(np.isfinite(vals)) and np.all(vals == np.round(vals)):
            kind, work = "integer", pd.Index(vals.astype(np.int64))
        else:
            raise InputError(f"`{name}` has fractional time labels {_show(idx[:3])}; give "
                             "whole numbers (years), dates or pandas Periods.")
    elif n and _is_text_or_object(idx):
        parsed = _parse_text(idx)
        if parsed is not None:
            work, kind = parsed
            freq = work.freqstr if kind == "period" else (1 if kind == "financial_year" else None)
        elif any(isinstance(v, (pd.Timestamp, np.datetime64)) for v in idx) or all(
                hasattr(v, "year") and hasattr(v, "month") and hasattr(v, "day") for v in idx):
            try:
                work = pd.DatetimeIndex(idx)
            except (TypeError, ValueError):
                raise InputError(f"`{name}` mixes dates with other labels.") from None
            kind, freq = "datetime", _date_freq(work.sort_values())
        elif odd := _odd_labels(idx):
            raise InputError(
                f"`{name}` has labels like periods but {len(odd)} that "
                f"{'is' if len(odd) == 1 else 'are'} not: {_show(pd.Index(odd))}. Correct them, "
                "or remove rows that are not periods (e.g. a total); crimestats never guesses "
                "which period a label means.")
    if kind == "label":
        return TimeAxis(idx, np.arange(n), kind, None)

    order = work.asi8 if kind == "datetime" else (
        work.asi8 if kind == "period" else work.to_numpy(dtype=np.int64))
    down = np.flatnonzero(np.diff(order) <= 0)
    if down.size:
        k = int(down[0])
        desc = bool(np.all(np.diff(order) < 0))
        hint = ("The labels run backwards (newest first): reverse the series "
                "(e.g. series.sort_index()) before calling." if desc else
                "Sort the series by time (e.g. series.sort_index()) before calling.")
        raise InputError(
            f"`{name}` must be in time order, oldest first; {json_time(idx[k + 1])!r} comes "
            f"after {json_time(idx[k])!r}. {hint} crimestats never reorders time silently.")

    if kind == "period":
        full_ord = np.arange(order[0], order[-1] + 1)
        positions = (order - order[0]).astype(np.int64)
        full = pd.PeriodIndex.from_ordinals(full_ord, freq=work.freq)
    elif kind == "datetime":
        full = _regular_dates(work, freq)
        positions = full.get_indexer(work)
        if (positions < 0).any():
            bad = work[positions < 0]
            raise InputError(f"`{name}` is not on a regular calendar: {_show(bad)} do not "
                             f"fall on the {freq} calendar of the other labels. Give one "
                             "label per period (e.g. the first day of each month).")
    else:
        step = freq if kind == "financial_year" else int(np.gcd.reduce(np.diff(order))) or 1
        freq = step
        full_vals = np.arange(order[0], order[-1] + 1, step)
        positions = ((order - order[0]) // step).astype(np.int64)
        full = pd.Index(full_vals)
    if len(full) > n:
        mask = np.ones(len(full), dtype=bool)
        mask[positions] = False
        gaps = full[mask]
        if not fill:
            if kind == "financial_year":
                gaps = pd.Index([f"{y}/{(y + 1) % 100:02d}" for y in gaps])
            elif _is_text_or_object(idx) and kind in ("period", "integer"):
                gaps = pd.Index([str(p) for p in gaps])
            options = fixes or ("fill=0 where an absent period means zero events (police.uk "
                                "files leave out a month with no crime), or missing='skip' to "
                                "treat the periods as unobserved")
            raise InputError(
                f"`{name}` skips {len(gaps)} period(s) of its regular calendar: {_show(gaps)} "
                f"({len(full)} periods from {json_time(idx[0])!r} to "
                f"{json_time(idx[-1])!r}, {n} given). crimestats never treats "
                f"non-consecutive periods as consecutive. Either pass {options}, or supply "
                "the periods.")
    if len(full) == n:
        full = idx                      # nothing missing: the input's own labels
    elif kind == "financial_year":
        sep = "/" if "/" in str(idx[0]) else "-"
        wide = len(_FY.match(str(idx[0])).group(2)) == 4
        full = pd.Index([f"{y}{sep}{y + 1 if wide else f'{(y + 1) % 100:02d}'}"
                         for y in full])
    elif _is_text_or_object(idx) and kind in ("period", "integer"):
        full = pd.Index([str(p) for p in full])     # text labels stay text
    return TimeAxis(full, positions, kind, freq)

