"""Many series at once (all forces × offences), with a shared national change allowed.

Each series gets its own product-partition model (`detect`);
the series are independent given the model, so they are fitted one by one (or in threads,
``n_jobs``). On top, a *national* change — a recording-standard change that hits every
force at the same time — is tested against local changes only:

* $M_0$: every series has its own changes (independent product-partition priors);
* $M_1$: in addition, every series changes at a common time $\\tau$ (within
  ``window`` periods), $\\tau$ uniform over the interior times.

Because the Bayesian recursion gives each series' evidence and its posterior probability of
a change near $\\tau$, the evidence of $M_1$ needs no new recursion:
$p(y_i \\mid \\tau, M_1) = p(y_i \\mid M_0)\\, P_i(\\text{change near } \\tau \\mid y_i)
/ P(\\text{change near } \\tau)$, where the prior probability of a change in a window of
$w$ periods is taken as $1-(1-p)^{w}$ (exact without a minimum segment length).
So $\\log BF(\\tau) = \\sum_i [\\log P_i(\\text{change near }\\tau \\mid y_i) -
\\log P(\\text{change near }\\tau)]$ and $P(M_1 \\mid y)$ follows with prior odds 1.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from .._validate import as_float_array, require_columns
from ..errors import InputError
from ..results import Result
from ._results import ChangepointResult
from .detect import detect

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
        require_columns(data, [time, series, value], "data")
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
                n_jobs: int = 1, **kwargs: Any) -> ManyChangepointResult:
    """Detect change points in many series and test for a change shared by all of them.

    Parameters
    ----------
    data : pandas.DataFrame or 2-D array
        Wide (rows = time, columns = series) or long with the column names given by
        ``time``, ``series`` and ``value``. In long form, a (time, series) pair absent from
        the table becomes NaN, which raises unless ``missing='skip'`` is passed.
    likelihood : str
        Segment likelihood of every series (see `detect`).
    time, series, value : str, optional
        Column names of a long table.
    window : int
        A shared change counts for a series if it changes within ``window`` periods of the
        common time (0: the same period).
    n_jobs : int
        Threads used to fit the series (the compiled recursions release the GIL).
    **kwargs
        Passed to `detect` (``method`` must stay ``"bayes"``).

    Returns
    -------
    ManyChangepointResult

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
    if not isinstance(window, (int, np.integer)) or window < 0:
        raise InputError(f"`window` must be a non-negative integer; received {window!r}.")
    wide = _as_wide(data, time, series, value)
    if wide.shape[1] == 0:
        raise InputError("`data` has no series.")
    labels = list(wide.columns)
    times = wide.index.to_numpy()

    def fit(col: Any) -> ChangepointResult:
        return detect(wide[col].to_numpy(dtype=float), likelihood, time=times, **kwargs)

    if n_jobs > 1:
        with ThreadPoolExecutor(max_workers=int(n_jobs)) as pool:
            fitted = list(pool.map(fit, labels))
    else:
        fitted = [fit(c) for c in labels]
    results = dict(zip(labels, fitted, strict=True))

    n = len(times)
    prob = np.vstack([r.estimates["prob_change"].values for r in fitted])
    # probability of a change within +-window of each time, and its prior counterpart
    kernel = np.ones(2 * window + 1)
    near = np.vstack([np.convolve(p, kernel, mode="same") for p in prob]).clip(1e-300, 1.0)
    p_prior = np.array([r.prior_change for r in fitted])
    prior_near = 1.0 - (1.0 - p_prior) ** (2 * window + 1)
    log_bf_t = np.sum(np.log(near) - np.log(prior_near)[:, None], axis=0)
    log_bf_t[0] = -np.inf
    log_bf = float(special.logsumexp(log_bf_t[1:]) - np.log(n - 1))
    prob_national = float(special.expit(log_bf))
    post_t = np.exp(log_bf_t - special.logsumexp(log_bf_t))

    def stack(name: str) -> np.ndarray:
        return np.vstack([r.estimates[name].values for r in fitted])

    ds = xr.Dataset(
        {name: (("series", "time"), stack(name))
         for name in ("y", "prob_change", "estimate", "lower", "upper")},
        coords={"series": np.asarray(labels, dtype=object), "time": times})
    ds["prob_national"] = ("time", post_t)
    level = fitted[0].level
    ds["lower"].attrs["level"] = level
    ds["upper"].attrs["level"] = level
    return ManyChangepointResult(
        estimates=ds, changepoints={k: r.changepoints for k, r in results.items()},
        prob_national_change=prob_national, national_time=_plain(times[int(np.argmax(post_t))]),
        log_bayes_factor=log_bf, results=results)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
