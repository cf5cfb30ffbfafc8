"""Many series at once (all forces × offences), with a shared national change allowed.

Each series gets its own product-partition model (exactly what `detect` computes for it);
the series are independent given the model, so they are fitted chunk by chunk — in one
compiled call per chunk, in ``n_jobs`` processes, or on dask workers. On top, a
*national* change — a recording-standard change that hits every force at the same time —
is tested against local changes only:

* $M_0$: every series has its own changes (independent product-partition priors; the share
  of series that change is learned from the panel);
* $M_1$: in addition, every series changes at a common time $\\tau$ (within
  ``window`` periods), $\\tau$ uniform over the interior times.

Because the Bayesian recursion gives each series' evidence for a change and its posterior
probability of a change near $\\tau$, neither model needs a new recursion; the evidence is
in [`national`][crimestats.changepoint.national].

The panel is checked as a whole: one time axis (sorted, unique, regular; a missing period is
an error unless ``fill=`` or ``missing="skip"``), one segment model for every series
(``likelihood="auto"`` decides from the whole panel: counts if every value is a non-negative
whole number, ``"count_trend"`` when the series average 10 or more a period in the median,
``"negbin"`` otherwise, real values ``"trend"``), and every error names the series.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._progress import progress_bar, show_progress
from .._time import check_time_axis, json_time
from .._validate import (
    as_float_array,
    check_choice,
    check_level,
    describe_rows,
    require_columns,
)
from ..errors import CrimestatsError, DataWarning, InputError
from ..results import Result
from ._batch import OUTPUTS, PanelSettings, fit_panel
from ._input import MISSING
from ._results import ChangepointResult
from .bayes import prior_any_change_probability, prior_change_probability, prior_log_q
from .detect import detect
from .national import national_change
from .pelt import penalty_value
from .seasonal import seasonal_period
from .segments import get_model, model_names

__all__ = ["detect_many", "ManyChangepointResult"]


@dataclasses.dataclass(frozen=True)
class ManyChangepointResult(Result):
    """Change points of many series and the evidence for a shared (national) change.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over ``series`` and ``time``: ``y``, ``prob_change``, ``estimate``, ``lower``,
        ``upper`` (as in [`ChangepointResult`][ChangepointResult]); over ``time``: ``prob_national``
        (posterior probability that the national change is at ``t``, given there is one).
    changepoints : dict
        Series label → sorted list of change-point indices (MAP segmentation of each series).
    prob_national_change : float
        Posterior probability of a change shared by every series (prior 0.5).
    national_time : object
        Most probable time of the shared change.
    log_bayes_factor : float
        Log Bayes factor of a shared change against local changes only.
    results : Mapping
        Series label → [`ChangepointResult`][ChangepointResult] (made by `detect` when first
        read).

    Examples
    --------
    Three series with a shared 50% rise at time 20:

    >>> import numpy as np
    >>> from crimestats.changepoint import detect_many
    >>> rng = np.random.default_rng(0)
    >>> base = rng.uniform(20, 60, size=3)
    >>> y = rng.poisson(base * np.where(np.arange(30)[:, None] >= 20, 1.5, 1.0))
    >>> res = detect_many(y, "poisson", random_seed=0)
    >>> type(res).__name__, res.national_time, round(res.prob_national_change, 2)
    ('ManyChangepointResult', 20, 1.0)
    >>> res.changepoints, dict(res.estimates.sizes)
    ({0: [20], 1: [20], 2: [20]}, {'series': 3, 'time': 30})
    """

    changepoints: dict[Any, list[int]] = dataclasses.field(default_factory=dict)
    prob_national_change: float = float("nan")
    national_time: Any = None
    log_bayes_factor: float = float("nan")
    results: Mapping[Any, ChangepointResult] = dataclasses.field(default_factory=dict)

    _skip_in_dict = ("idata", "results")

    def summary(self) -> str:
        """Plain-text report: the shared change and the number of changes per series."""
        counts = pd.Series({k: len(v) for k, v in self.changepoints.items()})
        return "\n".join([
            f"Change points in {len(self.changepoints)} series",
            f"shared (national) change: posterior probability {self.prob_national_change:.3f}"
            f", most probable at {self.national_time!r}",
            f"changes per series: median {counts.median():.0f}, max {counts.max()}",
        ])


def _as_wide(data: Any, time: str | None, series: str | None, value: str | None
             ) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame) and (time or series or value):
        if not (time and series and value):
            raise InputError("a long table needs all three column names: `time`, `series` and "
                             f"`value`; received time={time!r}, series={series!r}, "
                             f"value={value!r}. A wide table (rows = time, columns = series) "
                             "needs none.")
        require_columns(data, [time, series, value], "data")
        for column in (time, series):
            unlabelled = np.flatnonzero(data[column].isna().to_numpy())
            if unlabelled.size:
                raise InputError(f"`data[{column!r}]` is missing at rows "
                                 f"{unlabelled[:8].tolist()} (positions): every row needs its "
                                 f"{'period' if column == time else 'series'} label.")
        dup = data.duplicated([time, series])
        if dup.any():
            raise InputError(f"`data` has repeated (time, series) rows at positions "
                             f"{np.flatnonzero(dup)[:8].tolist()}; aggregate them first.")
        wide = data.pivot(index=time, columns=series, values=value).sort_index()
        return wide
    if isinstance(data, pd.DataFrame):
        return data
    arr = as_float_array(data, "data", ndim=2, allow_nan=True)
    return pd.DataFrame(arr)


def detect_many(data: Any, likelihood: str = "auto", *, time: str | None = None,
                series: str | None = None, value: str | None = None, window: int = 0,
                n_jobs: int = 1, draws: int = 0, progress: bool | None = None,
                **kwargs: Any) -> ManyChangepointResult:
    """Detect change points in many series and test for a change shared by all of them.

    Parameters
    ----------
    data : pandas.DataFrame, 2-D array or xarray.DataArray
        Wide (rows = time, columns = series; the index gives the time labels), long with
        the column names given by ``time``, ``series`` and ``value``, or a DataArray with
        dimensions ``time`` and ``series`` — which may be backed by dask (chunked along
        ``series``; see Notes). In long form, a (time, series) pair absent from the table
        becomes NaN, which raises unless ``missing='skip'`` (or ``fill=``) is passed.
    likelihood : str
        Segment model of every series (see `detect`);
        ``"auto"`` decides once for the whole panel.
    time, series, value : str, optional
        Column names of a long table.
    window : int
        A shared change counts for a series if it changes within ``window`` periods of the
        common time (0: the same period).
    n_jobs : int
        Processes that fit the series (1: in this process), through joblib's ``loky``
        backend, whose workers stay up between calls: the first call pays for starting them
        (importing crimestats, a second or two each).
    draws : int
        Posterior draws per series, made only for the per-series results that are asked
        for in ``results`` (default 0: the change probabilities are exact without them).
    progress : bool or None
        Progress bar on standard error (series fitted, or dask chunks): ``None`` (default)
        shows it only on a terminal, ``True`` always, ``False`` never.
    **kwargs
        Options of `detect`. With ``method="pelt"`` each series gets its PELT change points
        (``prob_change`` 1 at them) and the shared-change evidence is not computed (NaN):
        PELT weighs no evidence.

    Returns
    -------
    ManyChangepointResult

    Raises
    ------
    InputError
        Bad time labels, a series with invalid values (the message names the series), bad
        options.

    Warns
    -----
    DataWarning
        Series too short to hold a change; Poisson counts far more variable than Poisson
        allows (the series are named).

    Notes
    -----
    **Many series at once.** Every series gets exactly what `detect` computes for it (the
    same segment model, seasonal test and factors, recursions and posterior path; a test
    checks it to rounding), but the panel is checked once and the recursions of a chunk of
    series run in one compiled call (`crimestats.changepoint._batch_kernels`), with each
    segment likelihood computed once for the forward and backward passes. The per-series
    `ChangepointResult` objects (segment tables, draws) are made only when
    ``results[label]`` is read, by calling `detect` on that series. On two cores
    (``n_jobs=2``) about 1,750 series of 60 small monthly counts a second (the default
    ``negbin``; 490,000 LSOA-sized series in under five minutes) or about 200 of large counts
    (``count_trend``); see the change-point benchmarks in the docs.

    **Dask.** When ``data`` is a DataArray backed by dask, chunks along ``series`` are fitted
    through `xarray.apply_ufunc` with ``dask="parallelized"`` on whatever scheduler dask
    uses (threads by default, or the workers of a ``dask.distributed.Client``: a
    `LocalCluster` or a real cluster); install ``crimestats[dask]``. Each chunk's series are
    fitted from their own values alone, and the shared-change evidence is a sum over series
    computed once all chunks are in, so the result equals the in-memory one bit for bit.
    ``likelihood="auto"`` reads the data once more first (to choose the model from the whole
    panel); name the likelihood to read them once.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.changepoint import detect_many
    >>> rng = np.random.default_rng(0)
    >>> base = rng.uniform(20, 60, size=6)
    >>> y = rng.poisson(base * np.where(np.arange(40)[:, None] >= 25, 1.4, 1.0))
    >>> res = detect_many(y, "poisson", random_seed=0)
    >>> round(res.prob_national_change, 3), res.national_time
    (1.0, 25)
    """
    if not isinstance(window, (int, np.integer)) or isinstance(window, bool) or window < 0:
        raise InputError(f"`window` must be a non-negative integer; received {window!r}.")
    if not isinstance(n_jobs, (int, np.integer)) or isinstance(n_jobs, bool) or n_jobs < 1:
        raise InputError(f"`n_jobs` must be a positive integer (processes); received "
                         f"{n_jobs!r}.")
    if not (isinstance(draws, (int, np.integer)) and not isinstance(draws, bool) and draws >= 0):
        raise InputError(f"`draws` must be a non-negative integer; received {draws!r}.")
    if "time" in kwargs or "exposure" in kwargs:
        raise InputError("detect_many takes the time labels from the table (its index, or the "
                         "`time` column of a long table) and no exposure; divide by it first.")
    unknown = sorted(set(kwargs) - set(_DETECT_OPTIONS))
    if unknown:
        raise InputError(f"detect_many got unknown options {unknown}; it takes those of "
                         f"detect: {sorted(_DETECT_OPTIONS)}.")
    show_progress(progress)
    options = {**_DETECT_OPTIONS, **kwargs}
    options["method"] = check_choice(options["method"], "method", ("bayes", "pelt"))
    panel = _panel(data, time, series, value, options)
    n = len(panel.axis.labels)
    if 2 * window + 1 > n:
        raise InputError(f"`window` ({window}) must be shorter than half the series ({n} "
                         f"periods): a window of ±{window} periods covers every time, so no "
                         "time of a shared change could be told apart.")
    name = _choose_panel_likelihood(panel, likelihood)
    settings = _settings(name, panel, options)
    if panel.lazy is None:
        _check_values(panel.values, panel.labels, settings, options["missing"])
    if n < 2 * settings.min_size:
        warnings.warn(f"the series have {n} periods: with min_size={settings.min_size} no "
                      "change can be placed; the results report no change by construction.",
                      DataWarning, stacklevel=2)
    fit = _fit(panel, settings, int(n_jobs), progress, options["missing"])
    return _result(panel, settings, fit, int(window), draws, options)


#: The options of `detect` (and their defaults) that detect_many passes on.
_DETECT_OPTIONS = {name: p.default for name, p in inspect.signature(detect).parameters.items()
                   if p.kind is inspect.Parameter.KEYWORD_ONLY
                   and name not in ("exposure", "time", "draws")}


@dataclasses.dataclass(frozen=True)
class _Panel:
    """The panel on its full calendar: ``values`` ``(n, k)`` in memory, or ``lazy`` (a dask
    DataArray over (series, time)); the series labels and the checked time axis."""

    values: np.ndarray | None
    lazy: Any
    labels: list[Any]
    axis: Any
    column: Any        # label -> pandas Series as given (for the per-series results)


def _panel(data: Any, time: str | None, series: str | None, value: str | None,
           options: dict[str, Any]) -> _Panel:
    fill, missing = options["fill"], check_choice(options["missing"], "missing", MISSING)
    if fill is not None:
        try:
            fill = float(fill)
        except (TypeError, ValueError):
            raise InputError(f"`fill` must be a number (the value of a period absent from the "
                             f"series, e.g. 0 crimes); received {fill!r}.") from None
        if not np.isfinite(fill):
            raise InputError(f"`fill` must be a finite number; received {fill!r}.")
    gaps = fill is not None or missing == "skip"
    if isinstance(data, xr.DataArray):
        if set(data.dims) != {"time", "series"}:
            raise InputError(f"a DataArray `data` must have the dimensions ('time', 'series'); "
                             f"received {data.dims}.")
        data = data.transpose("series", "time")
        index = data.indexes["time"]
        labels = list(data.indexes["series"]) if "series" in data.indexes else \
            list(range(data.sizes["series"]))
        if pd.Index(labels).has_duplicates:
            raise InputError("`data` repeats series labels; give each series one label.")
        axis = check_time_axis(index, name="time", fill=gaps)
        if data.chunks is not None:
            full = data.reindex(time=axis.labels, fill_value=np.nan if fill is None else fill) \
                if len(axis.labels) != len(index) else data
            full = full.chunk({"time": -1})
            return _Panel(None, full, labels, axis, functools.partial(_select, data))
        data = pd.DataFrame(data.values.T, index=index, columns=labels)
    wide = _as_wide(data, time, series, value)
    if wide.shape[1] == 0:
        raise InputError("`data` has no series.")
    if wide.columns.has_duplicates:
        raise InputError(f"`data` repeats the series {list(wide.columns[wide.columns.duplicated()])};"
                         " give each series one column.")
    if wide.shape[0] == 0:
        raise InputError("`data` has no rows (time periods).")
    axis = check_time_axis(wide.index, name="time" if time else "data index", fill=gaps)
    values = _numeric(wide)
    full = np.full((len(axis.labels), values.shape[1]), np.nan if fill is None else fill)
    full[axis.positions] = values
    return _Panel(full, None, list(wide.columns), axis, wide.__getitem__)


def _numeric(wide: pd.DataFrame) -> np.ndarray:
    """The panel's values as floats; text and infinite values raise, naming the series."""
    labels = list(wide.columns)
    other = np.flatnonzero(~wide.dtypes.map(pd.api.types.is_numeric_dtype).to_numpy(bool))
    numeric = wide.copy() if other.size else wide
    for j in other:                     # only columns not already numbers (text, objects)
        numeric.isetitem(j, pd.to_numeric(wide.iloc[:, j], errors="coerce"))
    text = (numeric.isna() & wide.notna()).to_numpy().any(axis=0)
    if text.any():
        raise InputError(f"{_series_named(np.flatnonzero(text), labels)} ha"
                         f"{'s' if text.sum() == 1 else 've'} values that are not numbers; "
                         "correct them (or leave the cell empty for a missing period).")
    values = numeric.to_numpy(dtype=float, na_value=np.nan)
    infinite = np.isinf(values).any(axis=0)
    if infinite.any():
        raise InputError(f"{_series_named(np.flatnonzero(infinite), labels)} ha"
                         f"{'s' if infinite.sum() == 1 else 've'} infinite values; remove or "
                         "correct them (crimestats never fills missing values silently).")
    return values


def _select(data: xr.DataArray, label: Any) -> pd.Series:
    """One series of a (dask-backed) DataArray, computed, as a pandas Series over time."""
    return data.sel(series=label).to_pandas()


def _choose_panel_likelihood(panel: _Panel, likelihood: Any) -> str:
    """One segment model for the whole panel (see the module notes)."""
    names = model_names()
    if not isinstance(likelihood, str) or likelihood.lower() not in ("auto", *names):
        raise InputError(f"`likelihood` must be 'auto' or one of {list(names)}; received "
                         f"{likelihood!r}.")
    if likelihood.lower() != "auto":
        return likelihood.lower()
    if panel.lazy is not None:
        from .._progress import compute

        obs = np.isfinite(panel.lazy)
        stats = xr.Dataset({
            "whole": (panel.lazy == panel.lazy.round()).where(obs, True).all("time"),
            "negative": ((panel.lazy < 0) & obs).any("time"),
            "positive": (panel.lazy > 0).where(obs, True).all("time"),
            "mean": panel.lazy.mean("time", skipna=True)})
        stats = compute(stats, desc="Reading the panel", progress=False)
        whole, negative = bool(stats["whole"].all()), stats["negative"].values
        means, positive = stats["mean"].values, bool(stats["positive"].all())
    else:
        values = panel.values
        obs = np.isfinite(values)
        whole = bool(np.all(values[obs] == np.round(values[obs])))
        negative = ((values < 0) & obs).any(axis=0)
        means = np.nanmean(np.where(obs, values, np.nan), axis=0)
        positive = bool(np.all(values[obs] > 0))
    if whole:
        if negative.any():
            bad = np.flatnonzero(negative)
            raise InputError(
                f"the panel holds whole numbers like counts but "
                f"{_series_named(bad, panel.labels)} ha"
                f"{'s' if bad.size == 1 else 've'} negative values. Counts cannot be negative: "
                "correct them, or pass likelihood='trend' if the series are not counts.")
        return "count_trend" if float(np.nanmedian(means)) >= 10.0 else "negbin"
    return "log_trend" if positive else "trend"


def _settings(name: str, panel: _Panel, options: dict[str, Any]) -> PanelSettings:
    """`detect`'s options checked once for the panel (same rules, same messages)."""
    model = get_model(name)
    level = check_level(options["level"])
    min_size = options["min_size"]
    if not isinstance(min_size, (int, np.integer)) or isinstance(min_size, bool) or min_size < 1:
        raise InputError(f"`min_size` must be a positive integer; received {min_size!r}.")
    n = len(panel.axis.labels)
    if n < max(int(min_size), 2):
        raise InputError(f"the series have {n} periods; at least {max(int(min_size), 2)} are "
                         f"needed (min_size={min_size}).")
    prune = options["prune"]
    if not (0.0 <= float(prune) < 1.0):
        raise InputError(f"`prune` must be in [0, 1); received {prune!r}.")
    takes = model.options()
    model_options = {}
    for key in ("size", "ar"):
        value = options[key]
        if key in takes:
            model_options[key] = value
        elif not (isinstance(value, str) and value == "estimate"):
            users = [m for m in model_names() if key in get_model(m).options()]
            raise InputError(f"`{key}` applies to likelihood {' or '.join(map(repr, users))}, "
                             f"not {name!r}.")
    period = seasonal_period(options["seasonal"], panel.axis.freq, n)
    test = isinstance(options["seasonal"], str) and period is not None
    penalty, seg_len_term = penalty_value(options["penalty"], n, model.diffparam)
    return PanelSettings(
        likelihood=name, min_size=int(min_size),
        log_q=prior_log_q(n, int(min_size), options["prior_any_change"],
                          options["prior_change"]),
        prune=float(prune), level=level, period=period, test_season=test,
        prior_any_change=options["prior_any_change"], prior=options["prior"],
        options=model_options, method=options["method"], penalty=penalty,
        seg_len_term=seg_len_term)


def _check_values(values: np.ndarray, labels: list[Any], settings: PanelSettings,
                  missing: str) -> None:
    """NaN without ``missing='skip'``, empty series and bad counts raise, naming the series."""
    nan = np.isnan(values)
    bad = nan.any(axis=0) if missing == "error" else nan.all(axis=0)
    if bad.any():
        cols = np.flatnonzero(bad)
        raise InputError(
            f"{_series_named(cols, labels)} ha{'s' if cols.size == 1 else 've'} "
            + ("missing values (NaN). crimestats never drops or fills them silently: pass "
               "missing='skip' to treat those periods as unobserved, or supply the values."
               if missing == "error" else "no observed values."))
    if get_model(settings.likelihood).data == "counts":
        with np.errstate(invalid="ignore"):
            wrong = (values < 0) | (np.isfinite(values) & (values != np.round(values)))
        if wrong.any():
            cols = np.flatnonzero(wrong.any(axis=0))
            raise InputError(
                f"likelihood {settings.likelihood!r} takes counts (non-negative whole numbers), "
                f"but {_series_named(cols, labels)} ha"
                f"{'s' if cols.size == 1 else 've'} other values. For rates, use a likelihood "
                "for real values (e.g. 'log_trend' or 'trend').")


#: Series per chunk of work (one compiled call; the unit of the progress bar and of the
#: processes' work).
CHUNK = 256


def _fit(panel: _Panel, settings: PanelSettings, n_jobs: int, progress: Any,
         missing: str) -> dict[str, np.ndarray]:
    """Fit every series: in this process, in ``n_jobs`` processes, or on dask."""
    if panel.lazy is not None:
        return _fit_dask(panel, settings, progress, missing)
    k = panel.values.shape[1]
    # with processes, about four chunks per process (balance), of at least 32 series
    size = CHUNK if n_jobs == 1 else min(CHUNK, max(32, -(-k // (4 * n_jobs))))
    bounds = list(range(0, k, size)) + [k]
    blocks = [panel.values[:, a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    n = panel.values.shape[0]
    out = {name: np.empty((k, n) if name in OUTPUTS else k,
                          dtype=bool if name == "changepoint" else float) for name in _OUT}
    with progress_bar(k, desc="Change points", unit="series", progress=progress) as bar:
        if n_jobs > 1 and len(blocks) > 1:
            from joblib import Parallel, delayed

            with Parallel(n_jobs=n_jobs, backend="loky", return_as="generator") as parallel:
                parts = parallel(delayed(fit_block)(b, settings) for b in blocks)
                for a, b, part in zip(bounds[:-1], bounds[1:], parts, strict=True):
                    _store(out, a, b, part)
                    bar.update(b - a)
        else:
            for a, b, block in zip(bounds[:-1], bounds[1:], blocks, strict=True):
                _store(out, a, b, fit_block(block, settings))
                bar.update(b - a)
    return out


def _store(out: dict[str, np.ndarray], a: int, b: int, part: tuple[np.ndarray, ...]) -> None:
    """Copy a chunk's arrays into the panel's (series ``a:b``), so no chunk is kept."""
    for name, values in zip(_OUT, part, strict=True):
        out[name][a:b] = values


_OUT = (*OUTPUTS, "prob_any_change", "overdispersion")


def fit_block(y: np.ndarray, settings: PanelSettings, missing: str | None = None,
              labels: Any = None) -> tuple[np.ndarray, ...]:
    """Fit a ``(n, k)`` block of series; the arrays of `_OUT` over (series, ...).

    Module-level (picklable) for the processes and the dask workers; ``missing`` given, the
    block's values are checked first (dask chunks are checked where they are computed).
    """
    if missing is not None:
        _check_values(y, list(labels), settings, missing)
    fit = fit_panel(y, settings)
    return tuple(getattr(fit, name) for name in _OUT)


def _fit_dask(panel: _Panel, settings: PanelSettings, progress: Any, missing: str
              ) -> dict[str, np.ndarray]:
    from .._progress import compute

    def block(values: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, ...]:
        return fit_block(values.T, settings, missing, labels)

    lazy = panel.lazy
    labels = xr.DataArray(np.asarray(panel.labels, dtype=object), dims="series").chunk(
        {"series": lazy.chunks[0]})
    outputs = xr.apply_ufunc(
        block, lazy, labels, input_core_dims=[["time"], []],
        output_core_dims=[["time"]] * len(OUTPUTS) + [[]] * 2, dask="parallelized",
        output_dtypes=[float] * 4 + [bool] + [float] * 2)
    # the values are computed in the same graph as the fits, so the data are read once
    fitted = compute(xr.Dataset({**dict(zip(_OUT, outputs, strict=True)), "y": lazy}),
                     desc="Change points", progress=progress)
    return {name: fitted[name].values for name in (*_OUT, "y")}


def _national(prob: np.ndarray, prob_any: np.ndarray, settings: PanelSettings, window: int
              ) -> tuple[np.ndarray, float, float]:
    """Posterior of the shared change's time, its log Bayes factor and probability."""
    k, n = prob.shape
    prior = prior_change_probability(n, settings.min_size, settings.log_q)
    pi0 = prior_any_change_probability(n, settings.min_size, settings.log_q)
    evidence = national_change(prob, prob_any, np.broadcast_to(prior, prob.shape),
                               np.full(k, pi0), window)
    return evidence.prob_time, evidence.log_bayes_factor, evidence.prob_national_change


def _result(panel: _Panel, settings: PanelSettings, fit: dict[str, np.ndarray], window: int,
            draws: int, options: dict[str, Any]) -> ManyChangepointResult:
    labels = panel.labels
    times = panel.axis.labels
    dispersed = np.flatnonzero(fit["overdispersion"] > 2.0)
    if dispersed.size:
        warnings.warn(
            f"the counts of {_series_named(dispersed, labels)} vary more than twice "
            "as much as a Poisson model allows within the segments found; the Poisson "
            "likelihood then reports too many changes. Use likelihood='negbin' or "
            "'count_trend' (or 'auto').", DataWarning, stacklevel=3)
    if settings.method == "bayes":
        post_t, log_bf, prob_national = _national(fit["prob_change"],
                                                   fit["prob_any_change"], settings, window)
    else:                   # PELT gives no evidence to weigh a shared change with
        warnings.warn("method='pelt' gives each series' change points but no evidence to weigh "
                      "a shared change with: prob_national_change and prob_national are NaN. "
                      "Use method='bayes' (the default) for the national-change test.",
                      DataWarning, stacklevel=3)
        post_t, log_bf, prob_national = np.full(len(times), np.nan), np.nan, np.nan
    y = panel.values.T if panel.lazy is None else fit["y"]
    ds = xr.Dataset(
        {"y": (("series", "time"), y),
         **{name: (("series", "time"), fit[name])
            for name in ("prob_change", "estimate", "lower", "upper")}},
        coords={"series": np.asarray([str(v) for v in labels], dtype=object)
                if any(isinstance(v, str) for v in labels) else np.asarray(labels),
                "time": times.rename("time")})
    ds["prob_national"] = ("time", post_t)
    ds["prob_any_change"] = ("series", fit["prob_any_change"])
    ds["lower"].attrs["level"] = settings.level
    ds["upper"].attrs["level"] = settings.level
    ds.attrs.update(likelihood=settings.likelihood)
    rows, cols = np.nonzero(fit["changepoint"])
    split = np.searchsorted(rows, np.arange(1, len(labels)))
    changepoints = {label: c.tolist() for label, c in zip(labels, np.split(cols, split),
                                                          strict=True)}
    detect_options = dict(options)
    return ManyChangepointResult(
        estimates=ds, changepoints=changepoints, prob_national_change=prob_national,
        national_time=json_time(times[int(np.argmax(post_t))]) if settings.method == "bayes"
        else None, log_bayes_factor=log_bf,
        results=SeriesResults(labels, panel.column, settings.likelihood,
                              {**detect_options, "draws": draws}))


class SeriesResults(Mapping):
    """Series label → [`ChangepointResult`][ChangepointResult], made when first read.

    Each is `detect` on that series with the options of the `detect_many` call (so its
    change points and probabilities are those of the panel's result); reading every series
    of a large panel costs what a loop of `detect` costs.
    """

    def __init__(self, labels: list[Any], column: Any, likelihood: str,
                 options: dict[str, Any]) -> None:
        self._labels = labels
        self._index = {label: i for i, label in enumerate(labels)}
        self._column = column
        self._likelihood = likelihood
        self._options = options
        self._cache: dict[Any, ChangepointResult] = {}

    def __getitem__(self, label: Any) -> ChangepointResult:
        if label not in self._index:
            raise KeyError(label)
        if label not in self._cache:
            try:
                self._cache[label] = detect(self._column(label), self._likelihood,
                                            **self._options)
            except CrimestatsError as err:
                raise type(err)(f"series {_plain(label)!r}: {err}") from None
        return self._cache[label]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)


def _series_named(positions: np.ndarray, labels: list[Any]) -> str:
    """``"series 'a', 'b' and 3 more"`` (`describe_rows`, with the plural of "series")."""
    return describe_rows(positions, labels, "series").replace("seriess ", "series ", 1)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
