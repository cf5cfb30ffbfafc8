"""Input checks shared by every public function (one place, used everywhere).

Each check raises [`crimestats.InputError`][crimestats.InputError] with a message that says what was received,
which rows/areas are at fault (by label when labels are known) and what to do about it.
Private module: the functions here are called at the public boundary, after which the library
works on plain float arrays.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError

_MAX_SHOWN = 8


def describe_rows(positions: Iterable[int], labels: Sequence[Hashable] | None = None,
                  noun: str = "area") -> str:
    """Name offending rows compactly: ``"areas 'a', 'c' (positions 0, 2)"`` or ``"rows 3, 9, ..."``."""
    pos = [int(i) for i in positions]
    n = len(pos)
    shown = pos[:_MAX_SHOWN]
    more = f" and {n - _MAX_SHOWN} more" if n > _MAX_SHOWN else ""
    plural = noun if n == 1 else noun + "s"
    if labels is None:
        return f"{plural} at position{'s' if n != 1 else ''} {', '.join(map(str, shown))}{more}"
    names = ", ".join(repr(_plain(labels[i])) for i in shown)
    return f"{plural} {names}{more}"


def _plain(value: Any) -> Any:
    """Numpy scalars print as plain Python values in messages."""
    return value.item() if isinstance(value, np.generic) else value


def as_float_array(values: Any, name: str, *, ndim: int = 1, allow_nan: bool = False,
                   labels: Sequence[Hashable] | None = None) -> np.ndarray:
    """Convert ``values`` to a float64 array of dimension ``ndim`` and check it is finite.

    A 1-D input given where ``ndim=2`` is read as a single column. NaN is allowed only with
    ``allow_nan=True``; infinities never are.
    """
    if isinstance(values, (pd.DataFrame, pd.Series)):
        values = values.to_numpy()
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"`{name}` must be numeric; could not convert it to numbers ({exc}). "
            "Check for text such as '12,3' or 'n/a' in the column."
        ) from None
    if ndim == 2 and arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != ndim:
        raise InputError(f"`{name}` must be {ndim}-D; received an array of shape {arr.shape}.")
    bad_inf = np.isinf(arr)
    bad_nan = np.isnan(arr) if not allow_nan else np.zeros_like(bad_inf)
    bad = bad_inf | bad_nan
    if bad.any():
        rows = np.flatnonzero(bad.reshape(arr.shape[0], -1).any(axis=1)) if arr.ndim else [0]
        what = "infinite or NaN" if not allow_nan else "infinite"
        raise InputError(
            f"`{name}` has {what} values in {describe_rows(rows, labels)}. "
            "Remove or correct those values; crimestats never fills missing values silently."
        )
    return arr


def check_length(arr: np.ndarray, expected: int, name: str, reference: str) -> None:
    """Check that ``arr`` has ``expected`` rows, as ``reference`` has."""
    if arr.shape[0] != expected:
        raise InputError(
            f"`{name}` has {arr.shape[0]} rows but `{reference}` has {expected}; "
            "they must describe the same areas in the same order."
        )


def check_positive(arr: np.ndarray, name: str, labels: Sequence[Hashable] | None = None,
                   *, strict: bool = True) -> None:
    """Check ``arr > 0`` (or ``>= 0`` with ``strict=False``), ignoring NaN."""
    with np.errstate(invalid="ignore"):
        bad = arr <= 0 if strict else arr < 0
    if bad.any():
        rule = "positive" if strict else "non-negative"
        raise InputError(
            f"`{name}` must be {rule}; {describe_rows(np.flatnonzero(bad), labels)} "
            f"ha{'s' if bad.sum() == 1 else 've'} {arr[bad][:_MAX_SHOWN].tolist()}."
        )


def check_counts(arr: np.ndarray, name: str, labels: Sequence[Hashable] | None = None,
                 *, integer: bool = True, noun: str = "row") -> None:
    """Check that ``arr`` holds non-negative (integer) counts, ignoring NaN."""
    with np.errstate(invalid="ignore"):
        negative = arr < 0
    if negative.any():
        raise InputError(
            f"`{name}` holds counts, which cannot be negative; "
            f"{describe_rows(np.flatnonzero(negative), labels, noun)} "
            f"ha{'s' if negative.sum() == 1 else 've'} {arr[negative][:_MAX_SHOWN].tolist()}."
        )
    if integer:
        fractional = np.isfinite(arr) & (arr != np.round(arr))
        if fractional.any():
            raise InputError(
                f"`{name}` holds counts, which must be whole numbers; "
                f"{describe_rows(np.flatnonzero(fractional), labels, noun)} "
                f"ha{'s' if fractional.sum() == 1 else 've'} "
                f"{arr[fractional][:_MAX_SHOWN].tolist()}. "
                "For rates, use a likelihood for real values (e.g. 'normal')."
            )


def check_paired_nan(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str,
                     labels: Sequence[Hashable] | None = None) -> np.ndarray:
    """Check that ``a`` and ``b`` are missing together; return the mask of missing rows."""
    na, nb = np.isnan(a), np.isnan(b)
    odd = na != nb
    if odd.any():
        raise InputError(
            f"`{name_a}` and `{name_b}` must be missing together (an area with no sample has "
            f"neither); {describe_rows(np.flatnonzero(odd), labels)} "
            f"ha{'s' if odd.sum() == 1 else 've'} only one of them. Supply both or neither."
        )
    return na


def area_labels(labels: Any, m: int, name: str = "areas") -> np.ndarray:
    """Return ``m`` unique area labels: ``labels`` checked, or ``0 .. m-1`` when None."""
    if labels is None:
        return np.arange(m)
    out = np.asarray(labels)
    if out.ndim != 1 or out.shape[0] != m:
        raise InputError(f"`{name}` must be 1-D with {m} labels; received shape {out.shape}.")
    check_unique(out, name)
    return out


def check_unique(labels: Any, name: str) -> None:
    """Raise naming the duplicated labels if ``labels`` has repeats."""
    ser = pd.Series(np.asarray(labels))
    dup = ser[ser.duplicated(keep=False)]
    if not dup.empty:
        shown = list(dict.fromkeys(dup.tolist()))[:_MAX_SHOWN]
        raise InputError(
            f"`{name}` must be unique; {shown} appear more than once. "
            "Aggregate duplicated rows first or give each a distinct label."
        )


def require_columns(frame: pd.DataFrame, columns: Iterable[str | None], what: str = "data") -> None:
    """Check that every named column (None entries are skipped) is in ``frame``."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"`{what}` must be a pandas DataFrame; received {type(frame).__name__}.")
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise InputError(
            f"`{what}` has no column{'s' if len(missing) > 1 else ''} {missing}; "
            f"available columns are {list(frame.columns)}."
        )


def check_same_keys(left: Iterable[Hashable], right: Iterable[Hashable], left_name: str,
                    right_name: str, noun: str = "area") -> None:
    """Check that two tables name the same set of keys (areas, periods, lists)."""
    a, b = pd.Index(list(left)).unique(), pd.Index(list(right)).unique()
    only_a, only_b = a.difference(b), b.difference(a)
    if len(only_a) or len(only_b):
        parts = []
        if len(only_a):
            parts.append(f"{noun}s only in {left_name}: {list(only_a[:_MAX_SHOWN])}")
        if len(only_b):
            parts.append(f"{noun}s only in {right_name}: {list(only_b[:_MAX_SHOWN])}")
        raise InputError(
            f"{left_name} and {right_name} must cover the same {noun}s; "
            + "; ".join(parts) + ". Add the missing rows (with NaN where nothing was observed)."
        )


def check_sorted(values: Any, name: str) -> None:
    """Check that ``values`` (periods, times) are strictly increasing."""
    arr = np.asarray(values)
    if arr.size > 1:
        wrong = np.flatnonzero(~(arr[1:] > arr[:-1]))
        if wrong.size:
            raise InputError(
                f"`{name}` must be strictly increasing; it does not increase after "
                f"{describe_rows(wrong, None, 'row')}. Sort by {name} and remove duplicates."
            )


def check_level(level: float) -> float:
    """Check an interval level strictly between 0 and 1."""
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise InputError(f"`level` must be a number in (0, 1); received {level!r}.") from None
    if not 0.0 < level < 1.0:
        raise InputError(
            f"`level` must be in (0, 1), e.g. 0.95 for a 95% interval; received {level}."
        )
    return level


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """Check that ``value`` is one of ``choices`` (case-insensitive); return it lower-cased."""
    options = list(choices)
    if not isinstance(value, str) or value.lower() not in options:
        raise InputError(f"`{name}` must be one of {options}; received {value!r}.")
    return value.lower()


def as_rng(random_seed: Any) -> np.random.Generator:
    """A numpy Generator from a seed, a Generator, or None (fresh entropy)."""
    if isinstance(random_seed, np.random.Generator):
        return random_seed
    try:
        return np.random.default_rng(random_seed)
    except (TypeError, ValueError):
        raise InputError(
            f"`random_seed` must be an int, a numpy Generator or None; received {random_seed!r}."
        ) from None


def aligned(values: Any, labels: Sequence[Hashable] | None, name: str, reference: str,
            *, noun: str = "area") -> Any:
    """Put a labelled input in the order of ``labels``: the one alignment rule.

    A pandas Series (or DataFrame) is matched to ``labels`` by its index: the same set of
    labels in any order is reordered; a label in one but not the other raises an
    :class:`~crimestats.errors.InputError` that names them. An input without labels (list,
    numpy array) is positional and must have ``len(labels)`` rows. With ``labels=None`` (the
    reference itself has no labels) a labelled input is returned as it is, in its own order.
    Values are returned unconverted (a Series stays a Series), ready for
    :func:`as_float_array`.

    Examples
    --------
    >>> import pandas as pd
    >>> aligned(pd.Series([1, 2], index=["b", "a"]), ["a", "b"], "population", "counts").tolist()
    [2, 1]
    """
    if not isinstance(values, (pd.Series, pd.DataFrame)) or labels is None:
        if labels is not None and np.ndim(values) >= 1 and len(values) != len(labels):
            raise InputError(
                f"`{name}` has {len(values)} values but `{reference}` has {len(labels)} "
                f"{noun}s; give one value per {noun} (or a pandas Series indexed by "
                f"{noun}, which is matched by label)."
            )
        return values
    ref = pd.Index(list(labels))
    idx = values.index
    if idx.has_duplicates:
        check_unique(idx, f"{name} index")
    only_values, only_ref = idx.difference(ref, sort=False), ref.difference(idx, sort=False)
    if len(only_values) or len(only_ref):
        parts = []
        if len(only_ref):
            parts.append(f"{noun}s of `{reference}` missing from `{name}`: "
                         f"{[_plain(v) for v in only_ref[:_MAX_SHOWN]]}")
        if len(only_values):
            parts.append(f"{noun}s of `{name}` not in `{reference}`: "
                         f"{[_plain(v) for v in only_values[:_MAX_SHOWN]]}")
        raise InputError(
            f"`{name}` is labelled by {noun} and is matched to `{reference}` by label, but "
            f"the labels differ: " + "; ".join(parts) + ". Give both the same labels "
            "(crimestats never pairs labelled inputs by position), or pass plain arrays in "
            "the same order."
        )
    return values.loc[ref] if isinstance(values, pd.Series) else values.loc[ref, :]
