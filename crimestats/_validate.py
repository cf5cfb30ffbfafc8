"""Input checks shared by every public function (one place, used everywhere).

Each check raises [`crimestats.InputError`][crimestats.InputError] with a message that says what was received,
which rows/areas are at fault (by label when labels are known) and what to do about it.
Private module: the functions here are called at the public boundary, after which the library
works on plain float arrays.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import EstimationError, InputError

_MAX_SHOWN = 8
#: Messages of numpy/scipy ValueErrors that mean a fit broke down numerically.
_NUMERICAL_VALUE_ERRORS = ("must not contain infs or NaNs", "empty sequence", "did not converge",
                           "xtol too small")
#: Largest magnitude of an input a model is fitted to: its squares and products stay finite.
LARGEST = 1e100


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
    names = ", ".join(repr(plain(labels[i])) for i in shown)
    return f"{plural} {names}{more}"


def plain(value: Any) -> Any:
    """Numpy scalars as plain Python values (for messages and JSON-friendly labels)."""
    return value.item() if isinstance(value, np.generic) else value


def as_float_array(values: Any, name: str, *, ndim: int = 1, allow_nan: bool = False,
                   labels: Sequence[Hashable] | None = None, noun: str = "area") -> np.ndarray:
    """Convert ``values`` to a float64 array of dimension ``ndim`` and check it is finite.

    A 1-D input given where ``ndim=2`` is read as a single column. NaN is allowed only with
    ``allow_nan=True``; infinities never are. Pandas missing values (``pd.NA``, ``None``) are
    NaN. Text, complex numbers and other non-numbers raise. ``noun`` names the rows in
    messages (``"area"``, ``"draw"``, ``"respondent"``, ``"time point"``...).
    """
    if isinstance(values, (pd.DataFrame, pd.Series, pd.Index)) or isinstance(
            values, pd.api.extensions.ExtensionArray):
        try:
            values = values.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            values = np.asarray(values, dtype=object)
    if np.iscomplexobj(values):
        raise InputError(f"`{name}` must hold real numbers; received complex numbers.")
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
            f"`{name}` has {what} values in {describe_rows(rows, labels, noun)}. "
            "Remove or correct those values; crimestats never fills missing values silently."
        )
    return arr


def as_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """An integer argument (``draws``, ``max_iter``...) of at least ``minimum``; bools refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < minimum:
        raise InputError(f"`{name}` must be an integer of at least {minimum}; "
                         f"received {value!r}.")
    return int(value)


def as_number(value: Any, name: str, *, positive: bool = False) -> float:
    """A finite scalar argument (``per``, ``target``, ``sigma``...) as a float."""
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"`{name}` must be a number; received {value!r}.")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"`{name}` must be a number; received {value!r}.") from None
    if not np.isfinite(out) or (positive and out <= 0):
        rule = "a positive, finite number" if positive else "a finite number"
        raise InputError(f"`{name}` must be {rule}; received {value!r}.")
    return out


def check_range(arr: np.ndarray, name: str, *, largest: float = LARGEST,
                smallest: float | None = None, labels: Sequence[Hashable] | None = None,
                noun: str = "area", unit: str = "") -> None:
    """Raise [`EstimationError`][crimestats.EstimationError] if values are too extreme to fit.

    Magnitudes above ``largest`` (or non-zero ones below ``smallest``) would overflow or
    underflow the squares and products a model takes in double precision; the message names
    the rows and suggests rescaling ``unit``.
    """
    with np.errstate(invalid="ignore"):
        mag = np.abs(arr)
        bad = mag > largest
        if smallest is not None:
            bad |= (mag > 0) & (mag < smallest)
    if bad.any():
        rows = np.flatnonzero(bad.reshape(arr.shape[0], -1).any(axis=1))
        shown = arr[bad][:3].tolist()
        span = f"between {smallest:g} and {largest:g}" if smallest is not None \
            else f"at most {largest:g} in magnitude"
        raise EstimationError(
            f"`{name}` is out of the range the model can fit in double precision: "
            f"{describe_rows(rows, labels, noun)} ha{'s' if rows.size == 1 else 've'} "
            f"{shown}; values must be {span}. Rescale it{unit} (e.g. express rates per "
            "1,000 instead of per person, or counts in thousands)."
        )


def check_finite_result(values: Mapping[str, Any], model: str,
                        labels: Sequence[Hashable] | None = None, noun: str = "area") -> None:
    """Raise [`EstimationError`][crimestats.EstimationError] naming non-finite results.

    The safety net at the end of every estimator: a number promised to the caller is never
    NaN or infinite without an error saying so.
    """
    problems = []
    for key, value in values.items():
        arr = np.asarray(value, dtype=np.float64)
        bad = ~np.isfinite(arr)
        if bad.any():
            where = (f" in {describe_rows(np.flatnonzero(bad.reshape(arr.shape[0], -1).any(axis=1)), labels, noun)}"
                     if arr.ndim else "")
            problems.append(f"{key}{where}")
    if problems:
        raise EstimationError(
            f"the {model} fit produced NaN or infinite values ({'; '.join(problems)}): the "
            "inputs are beyond what the model can be fitted to in double precision (values "
            "of very different magnitudes, or degenerate data). Check and rescale the inputs."
        )


@contextlib.contextmanager
def numerical_failures(model: str) -> Iterator[None]:
    """Turn a linear-algebra or floating-point failure inside a fit into an EstimationError."""
    try:
        yield
    except ValueError as exc:
        if isinstance(exc, InputError) or not any(
                text in str(exc) for text in _NUMERICAL_VALUE_ERRORS):
            raise
        raise EstimationError(
            f"the {model} fit failed numerically ({exc}); the inputs are degenerate or of "
            "extreme magnitude. Check and rescale them."
        ) from exc
    except (np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError,
            OverflowError) as exc:
        raise EstimationError(
            f"the {model} fit failed numerically ({type(exc).__name__}: {exc}); the inputs "
            "are degenerate or of extreme magnitude. Check and rescale them."
        ) from exc


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


def as_draw_count(draws: Any) -> int:
    """A number of posterior draws to keep: a whole number >= 0 (0 keeps none)."""
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 0:
        raise InputError(
            f"`draws` must be a whole number >= 0 (0 stores no posterior draws); received {draws!r}."
        )
    return int(draws)


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
                         f"{[plain(v) for v in only_ref[:_MAX_SHOWN]]}")
        if len(only_values):
            parts.append(f"{noun}s of `{name}` not in `{reference}`: "
                         f"{[plain(v) for v in only_values[:_MAX_SHOWN]]}")
        raise InputError(
            f"`{name}` is labelled by {noun} and is matched to `{reference}` by label, but "
            f"the labels differ: " + "; ".join(parts) + ". Give both the same labels "
            "(crimestats never pairs labelled inputs by position), or pass plain arrays in "
            "the same order."
        )
    return values.loc[ref] if isinstance(values, pd.Series) else values.loc[ref, :]


@dataclasses.dataclass(frozen=True)
class RowLabels:
    """The labels of a function's rows (areas, units) and the one rule that aligns inputs.

    Built by [`row_labels`][row_labels]. ``values`` are the output labels in order; ``given`` says
    whether the caller labelled the rows (messages then name labels, else positions);
    ``rows`` is the index of a pandas ``areas`` Series or ``data`` frame the labels came from
    (a Series of ``data`` is matched by that index).
    """

    values: np.ndarray
    given: bool
    reference: str
    noun: str = "area"
    rows: pd.Index | None = None

    @property
    def shown(self) -> np.ndarray | None:
        """Labels to name in messages (None: name positions)."""
        return self.values if self.given else None

    def align(self, values: Any, name: str) -> Any:
        """``values`` in the order of the rows: labelled inputs by label, others by position.

        A Series or DataFrame is matched by its index to the row labels (or, when the labels
        came from a pandas object, to its index); labels that differ raise an
        [`InputError`][crimestats.InputError] naming them. Plain arrays must have one value per row.
        """
        if values is None:
            return None
        if isinstance(values, (pd.Series, pd.DataFrame)) and self.rows is not None:
            idx = values.index
            if idx.equals(self.rows):
                return values
            if (not idx.has_duplicates and len(idx) == len(self.rows)
                    and idx.difference(self.rows).empty
                    and not _same_set(idx, self.values)):
                return aligned(values, list(self.rows), name, self.reference, noun=self.noun)
        if not isinstance(values, (pd.Series, pd.DataFrame)) and np.ndim(values) == 0:
            return values
        try:
            return aligned(values, list(self.values), name, self.reference, noun=self.noun)
        except InputError as exc:
            if isinstance(getattr(values, "index", None), pd.RangeIndex):
                raise InputError(
                    f"{exc} (A pandas object with the default index 0, 1, ... is labelled by "
                    "row number: pass the labels as the column of the same table, e.g. "
                    "`areas=df['area']`, or give plain arrays with `.to_numpy()`.)") from None
            raise


def _same_set(index: pd.Index, labels: np.ndarray) -> bool:
    try:
        return index.difference(pd.Index(labels)).empty and len(index) == len(labels)
    except TypeError:
        return False


def row_labels(inputs: Mapping[str, Any], labels: Any = None, *, labels_name: str = "areas",
               noun: str = "area", data: pd.DataFrame | None = None) -> RowLabels:
    """The row labels of a call: ``labels`` if given, else the first labelled input's index.

    ``inputs`` maps argument names to the per-row inputs in the order they are documented
    (the first is the reference named in messages). ``labels`` (e.g. ``areas=``) wins when
    given: a labelled input is then matched to it by label, never relabelled by position. A
    pandas Series given as ``labels`` is matched by its index as well as its values, so
    ``areas=df["force"]`` pairs with ``df["rate"]``; ``data`` (a frame whose columns were
    named) does the same. Without any labels the rows are numbered ``0 .. m-1``.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = row_labels({"direct": pd.Series([1.0, 2.0], index=["b", "a"])}, ["a", "b"])
    >>> rows.align(pd.Series([1.0, 2.0], index=["b", "a"]), "direct").tolist()
    [2.0, 1.0]
    """
    names = [k for k, val in inputs.items() if val is not None]
    if not names:
        raise InputError(f"no input was given to label by {noun}.")
    reference = names[0]
    first = inputs[reference]
    rows = None
    if data is not None:
        rows = data.index
    if labels is not None:
        if isinstance(labels, pd.Series):
            rows = labels.index if rows is None else rows
            values = labels.to_numpy()
        elif isinstance(labels, pd.Index):
            values = labels.to_numpy()
        else:
            values = np.asarray(labels)
        m = _length(first, reference)
        if values.ndim != 1 or values.shape[0] != m:
            raise InputError(f"`{labels_name}` must be 1-D with {m} labels (one per {noun} of "
                             f"`{reference}`); received shape {values.shape}.")
        if pd.isna(pd.Series(values, dtype=object)).any():
            raise InputError(f"`{labels_name}` has missing labels; give every {noun} a label.")
        check_unique(values, labels_name)
        return RowLabels(values, True, labels_name, noun, rows)
    if data is not None:
        return RowLabels(data.index.to_numpy(), True, reference, noun, rows)
    for name in names:
        value = inputs[name]
        if isinstance(value, (pd.Series, pd.DataFrame)):
            if value.index.has_duplicates:
                check_unique(value.index, f"{name} index")
            return RowLabels(value.index.to_numpy(), True, name, noun, None)
    return RowLabels(np.arange(_length(first, reference)), False, reference, noun, None)


def _length(values: Any, name: str) -> int:
    if np.ndim(values) == 0:
        raise InputError(f"`{name}` must be an array with one value per row; received "
                         f"{type(values).__name__} {values!r}.")
    return len(values)
