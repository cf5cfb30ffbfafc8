"""Many series at once (all forces × offences), with a shared national change allowed.

Each series gets its own product-partition model (`detect`);
the series are independent given the model, so they are fitted one by one (or in threads,
``n_jobs``). On top, a *national* change — a recording-standard change that hits every
force at the same time — is tested against local changes only:

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
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._time import check_time_axis, json_time
from .._validate import as_float_array, describe_rows, require_columns
from ..errors import CrimestatsError, InputError
from ..results import Result
from ._results import ChangepointResult
from .bayes import prior_any_change_probability, prior_change_probability
from .detect import detect
from .national import national_change

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
    results : dict
        Series label → [`ChangepointResult`][ChangepointResult].

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
    results: dict[Any, ChangepointResult] = dataclasses.field(default_factory=dict)

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


def _choose_panel_likelihood(wide: pd.DataFrame, likelihood: Any) -> str:
    """One segment model for the whole panel (see the module notes)."""
    if not isinstance(likelihood, str) or likelihood.lower() != "auto":
        return likelihood
    values = wide.to_numpy(dtype=float)
    obs = np.isfinite(values)
    whole = bool(np.all(values[obs] == np.round(values[obs])))
    if whole:
        negative = (values < 0) & obs
        if negative.any():
            bad = np.flatnonzero(negative.any(axis=0))
            raise InputError(
                f"the panel holds whole numbers like counts but "
                f"{describe_rows(bad, list(wide.columns), 'series')} ha"
                f"{'s' if bad.size == 1 else 've'} negative values. Counts cannot be negative: "
                "correct them, or pass likelihood='trend' if the series are not counts.")
        means = np.nanmean(np.where(obs, values, np.nan), axis=0)
        return "count_trend" if float(np.nanmedian(means)) >= 10.0 else "negbin"
    return "log_trend" if bool(np.all(values[obs] > 0)) else "trend"


def detect_many(data: Any, likelihood: str = "auto", *, time: str | None = None,
                series: str | None = None, value: str | None = None, window: int = 0,
                n_jobs: int = 1, draws: int = 0, **kwargs: Any) -> ManyChangepointResult:
    """Detect change points in many series and test for a change shared by all of them.

    Parameters
    ----------
    data : pandas.DataFrame or 2-D array
        Wide (rows = time, columns = series; the index gives the time labels) or long with
        the column names given by ``time``, ``series`` and ``value``. In long form, a
        (time, series) pair absent from the table becomes NaN, which raises unless
        ``missing='skip'`` (or ``fill=``) is passed.
    likelihood : str
        Segment model of every series (see `detect`);
        ``"auto"`` decides once for the whole panel.
    time, series, value : str, optional
        Column names of a long table.
    window : int
        A shared change counts for a series if it changes within ``window`` periods of the
        common time (0: the same period).
    n_jobs : int
        Threads used to fit the series (the compiled recursions release the GIL).
    draws : int
        Posterior draws per series (default 0: the change probabilities are exact without
        them; see `detect`).
    **kwargs
        Passed to `detect` (``method`` must stay ``"bayes"``).

    Returns
    -------
    ManyChangepointResult

    Raises
    ------
    InputError
        Bad time labels, a series with invalid values (the message names the series), bad
        options.

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
    if kwargs.get("method", "bayes") != "bayes":
        raise InputError("detect_many uses the Bayesian method (its evidence tests the shared "
                         "change); call detect(..., method='pelt') per series for PELT.")
    if not isinstance(window, (int, np.integer)) or isinstance(window, bool) or window < 0:
        raise InputError(f"`window` must be a non-negative integer; received {window!r}.")
    if not isinstance(n_jobs, (int, np.integer)) or isinstance(n_jobs, bool) or n_jobs < 1:
        raise InputError(f"`n_jobs` must be a positive integer (threads); received {n_jobs!r}.")
    if "time" in kwargs or "exposure" in kwargs:
        raise InputError("detect_many takes the time labels from the table (its index, or the "
                         "`time` column of a long table) and no exposure; divide by it first.")
    wide = _as_wide(data, time, series, value)
    if wide.shape[1] == 0:
        raise InputError("`data` has no series.")
    if wide.columns.has_duplicates:
        raise InputError(f"`data` repeats the series {list(wide.columns[wide.columns.duplicated()])};"
                         " give each series one column.")
    if wide.shape[0] == 0:
        raise InputError("`data` has no rows (time periods).")
    labels = list(wide.columns)
    axis = check_time_axis(wide.index, name="time" if time else "data index",
                           fill=kwargs.get("fill") is not None or kwargs.get("missing") == "skip")
    if 2 * window + 1 > len(axis.labels):
        raise InputError(f"`window` ({window}) must be shorter than half the series "
                         f"({len(axis.labels)} periods): a window of ±{window} periods covers "
                         "every time, so no time of a shared change could be told apart.")
    likelihood = _choose_panel_likelihood(wide, likelihood)

    def fit(col: Any) -> ChangepointResult:
        try:
            return detect(wide[col], likelihood, draws=draws, **kwargs)
        except CrimestatsError as err:
            raise type(err)(f"series {_plain(col)!r}: {err}") from None

    if n_jobs > 1:
        with ThreadPoolExecutor(max_workers=int(n_jobs)) as pool:
            fitted = list(pool.map(fit, labels))
    else:
        fitted = [fit(c) for c in labels]
    results = dict(zip(labels, fitted, strict=True))

    times = fitted[0].estimates["time"].to_index()
    n = len(times)
    min_size = int(fitted[0].diagnostics["min_size"])
    log_q = [float(np.log(r.prior_change)) for r in fitted]
    evidence = national_change(
        np.vstack([r.estimates["prob_change"].values for r in fitted]),
        np.array([r.prob_any_change for r in fitted]),
        np.vstack([prior_change_probability(n, min_size, lq) for lq in log_q]),
        np.array([prior_any_change_probability(n, min_size, lq) for lq in log_q]), window)
    post_t = evidence.prob_time

    def stack(name: str) -> np.ndarray:
        return np.vstack([r.estimates[name].values for r in fitted])

    ds = xr.Dataset(
        {name: (("series", "time"), stack(name))
         for name in ("y", "prob_change", "estimate", "lower", "upper")},
        coords={"series": np.asarray([str(v) for v in labels], dtype=object)
                if any(isinstance(v, str) for v in labels) else np.asarray(labels),
                "time": times})
    ds["prob_national"] = ("time", post_t)
    ds["prob_any_change"] = ("series", np.array([r.prob_any_change for r in fitted]))
    level = fitted[0].level
    ds["lower"].attrs["level"] = level
    ds["upper"].attrs["level"] = level
    ds.attrs.update(likelihood=fitted[0].likelihood)
    return ManyChangepointResult(
        estimates=ds, changepoints={k: r.changepoints for k, r in results.items()},
        prob_national_change=evidence.prob_national_change,
        national_time=json_time(times[int(np.argmax(post_t))]),
        log_bayes_factor=evidence.log_bayes_factor, results=results)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
