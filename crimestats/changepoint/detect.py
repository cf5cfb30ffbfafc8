"""Change-point detection on one series: [`detect`][detect]."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._validate import as_rng, check_choice, check_level
from ..errors import DataWarning, InputError
from ._input import check_series
from ._results import ChangepointResult
from .bayes import bayes_fit, log_q_from_p
from .pelt import pelt_search, penalty_value
from .seasonal import seasonal_factors
from .segment_models import LIKELIHOODS, SegmentModel, make_segment_model

__all__ = ["detect"]

_SEASONAL_ROUNDS = 2


def detect(y: Any, likelihood: str = "auto", *, method: str = "bayes", exposure: Any = None,
           time: Any = None, min_size: int = 2, prior_change: float | None = None,
           penalty: str | float = "MBIC", size: float | str = "estimate",
           seasonal: int | None = None, missing: str = "error", level: float = 0.95,
           draws: int = 500, prune: float = 1e-6, prior: dict[str, float] | None = None,
           random_seed: Any = None) -> ChangepointResult:
    """Find the times at which the level of a series changes.

    Parameters
    ----------
    y : array-like or pandas.Series
        The series in time order: counts (crimes per month, week, year) or real values
        (rates, indices). A pandas Series' index labels the ``time`` dimension.
    likelihood : {"auto", "poisson", "negbin", "normal", "normal_mean"}
        Segment model ([`crimestats.changepoint.segment_models`][crimestats.changepoint.segment_models]). ``"auto"`` (default)
        picks ``"negbin"`` for non-negative whole numbers — recorded crime is nearly always
        overdispersed — and ``"normal"`` (mean and variance change) otherwise.
    method : {"bayes", "pelt"}
        ``"bayes"`` (default): exact Bayesian product-partition recursion giving the
        posterior probability of a change at each time; ``changepoints`` is the MAP
        (most probable) segmentation. ``"pelt"``: optimal penalised-likelihood segmentation
        (fast, no uncertainty); ``prob_change`` is then 1 at its change points.
    exposure : array-like, optional
        Counts only: population or days per period; the level is then a rate per unit of
        exposure.
    time : array-like, optional
        Labels of the periods (default: the index of a pandas Series, else 0..n-1).
    min_size : int
        Minimum number of observations in a segment (default 2, as R ``cpt.meanvar``).
    prior_change : float, optional
        Bayesian method: prior probability of a change at each time; default ``1/n`` (one
        change expected a priori in the whole series, whatever its length).
    penalty : {"MBIC", "BIC"} or float
        PELT penalty (see [`crimestats.changepoint.pelt`][crimestats.changepoint.pelt]).
    size : float or "estimate"
        Negative binomial size $r$ (variance $\\mu + \\mu^2/r$); by default
        estimated robustly from first differences and then held fixed
        ([`estimate_size`][crimestats.changepoint.segment_models.estimate_size]).
    seasonal : int, optional
        Period of the seasonal cycle (12 monthly, 52 weekly, 4 quarterly). Seasonal factors
        are estimated robustly and alternated with the segmentation
        ([`crimestats.changepoint.seasonal`][crimestats.changepoint.seasonal]). Default: no seasonality.
    missing : {"error", "skip"}
        NaN values raise (default) or, with ``"skip"``, mark unobserved periods that belong
        to a segment but add nothing to its likelihood.
    level : float
        Level of the credible intervals of the segment levels.
    draws : int
        Bayesian method: exact posterior draws of the segmentation used for the posterior of
        the number of changes and the averaged ``level``.
    prune : float
        Bayesian method: relative weight below which a candidate segment start is dropped
        (0 = exact $O(n^2)$ recursion; see [`crimestats.changepoint.bayes`][crimestats.changepoint.bayes]).
    prior : dict, optional
        Hyperparameters of the segment prior (see
        [`make_segment_model`][crimestats.changepoint.segment_models.make_segment_model]).
    random_seed : int, numpy.random.Generator or None
        Seed of the posterior draws (change points and ``prob_change`` are deterministic).

    Returns
    -------
    ChangepointResult
        ``changepoints`` (sorted 0-based start indices of new segments) and ``estimates``
        over ``time`` with ``prob_change``, the segment levels and their intervals.

    Raises
    ------
    InputError
        Negative or fractional counts with a count likelihood, NaN without
        ``missing='skip'``, a series shorter than ``min_size``, bad options.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.changepoint import detect
    >>> rng = np.random.default_rng(3)
    >>> y = np.r_[rng.poisson(20, 60), rng.poisson(40, 40)]
    >>> res = detect(y, likelihood="poisson", random_seed=1)
    >>> res.changepoints
    [60]
    >>> round(float(res.estimates["prob_change"][60]), 2)
    0.99
    >>> detect(y, likelihood="poisson", method="pelt").changepoints
    [60]
    """
    method = check_choice(method, "method", ("bayes", "pelt"))
    likelihood = check_choice(likelihood, "likelihood", ("auto", *LIKELIHOODS))
    if likelihood == "auto":
        likelihood = _auto_likelihood(y)
    level = check_level(level)
    if isinstance(y, pd.DataFrame) or np.ndim(y) == 2:
        raise InputError("`detect` takes one series; for a table of series (forces × offences) "
                         "use crimestats.changepoint.detect_many.")
    series = check_series(y, likelihood, exposure=exposure, time=time, missing=missing,
                          min_size=min_size)
    n = series.y.shape[0]
    if method == "bayes":
        p = 1.0 / n if prior_change is None else float(prior_change)
        if not 0.0 < p < 1.0:
            raise InputError(f"`prior_change` must be a probability in (0, 1); received "
                             f"{prior_change!r}.")
        p = min(p, 0.5)
        if not (isinstance(draws, (int, np.integer)) and draws >= 0):
            raise InputError(f"`draws` must be a non-negative integer; received {draws!r}.")
        if not (0.0 <= float(prune) < 1.0):
            raise InputError(f"`prune` must be in [0, 1); received {prune!r}.")
    rng = as_rng(random_seed)

    counts = likelihood in ("poisson", "negbin")
    season = np.ones(n) if counts else np.zeros(n)
    rounds = _SEASONAL_ROUNDS if seasonal is not None else 1
    cps: list[int] | None = None
    for _ in range(rounds):
        if seasonal is not None:
            season = seasonal_factors(series.y, seasonal, multiplicative=counts,
                                      exposure=series.exposure if counts else None,
                                      changepoints=cps)
        y_work = series.y if counts else series.y - season
        e_work = series.exposure * season if counts else series.exposure
        model = make_segment_model(likelihood, y_work, e_work, size=size, prior=prior)
        c0, c1, c2 = model.cumulative(y_work, e_work)
        if method == "pelt":
            pen, seg_term = penalty_value(penalty, n, model.diffparam)
            unit = likelihood == "poisson" and bool(np.all(np.diff(c0) == 1.0))
            cps, cost, kept = pelt_search(likelihood, c0, c1, c2, pen, min_size, seg_term, unit)
            fit = None
        else:
            fit = bayes_fit(model, c0, c1, c2, log_q=log_q_from_p(p, min_size),
                            min_size=min_size, prune=float(prune), draws=int(draws), rng=rng)
            cps = fit.map_changepoints
    if counts and model.likelihood == "poisson":
        _check_overdispersion(y_work, e_work, cps)
    return _build_result(series, model, c0, c1, c2, cps, fit, method, likelihood, level,
                         season, seasonal, pen if method == "pelt" else float("nan"),
                         cost if method == "pelt" else float("nan"),
                         kept if method == "pelt" else None, p if method == "bayes" else None,
                         min_size)


def _auto_likelihood(y: Any) -> str:
    """``"negbin"`` for non-negative whole numbers, else ``"normal"``."""
    try:
        arr = np.asarray(y.to_numpy() if isinstance(y, pd.Series) else y, dtype=float)
    except (TypeError, ValueError):
        return "normal"   # the validation reports the problem
    obs = arr[np.isfinite(arr)]
    if obs.size and np.all(obs >= 0) and np.all(obs == np.round(obs)):
        return "negbin"
    return "normal"


def _check_overdispersion(y: np.ndarray, e: np.ndarray, cps: list[int]) -> None:
    """Warn when counts vary far more than Poisson within the segments found."""
    bounds = [0, *cps, y.shape[0]]
    num = 0.0
    dof = 0
    for s, t in zip(bounds[:-1], bounds[1:], strict=True):
        yy, ee = y[s:t], e[s:t]
        ok = np.isfinite(yy)
        if ok.sum() < 2:
            continue
        rate = yy[ok].sum() / ee[ok].sum()
        mu = np.maximum(rate * ee[ok], 1e-12)
        num += float(np.sum((yy[ok] - mu) ** 2 / mu))
        dof += int(ok.sum()) - 1
    if dof >= 10 and num / dof > 2.0:
        warnings.warn(
            f"the counts vary {num / dof:.1f} times more than a Poisson model allows within "
            "the segments found; the Poisson likelihood then reports too many changes. Use "
            "likelihood='negbin' (or 'auto').", DataWarning, stacklevel=3)


def _build_result(series, model: SegmentModel, c0, c1, c2, cps, fit, method, likelihood,
                  level, season, seasonal, pen, cost, kept, p, min_size) -> ChangepointResult:
    n = series.y.shape[0]
    starts = np.array([0, *cps], dtype=np.int64)
    ends = np.array([*cps, n], dtype=np.int64)
    mean, sd, lo, hi = model.segment_posterior(c0, c1, c2, starts, ends, level)
    seg_id = np.repeat(np.arange(starts.size), ends - starts)
    times = series.time
    segments = pd.DataFrame({
        "start": starts, "end": ends, "start_time": times[starts],
        "estimate": mean, "sd": sd, "lower": lo, "upper": hi,
    })
    if fit is not None:
        prob = fit.prob_change
    else:
        prob = np.zeros(n)
        prob[cps] = 1.0
    data_vars: dict[str, Any] = {
        "y": ("time", series.y),
        "prob_change": ("time", prob),
        "estimate": ("time", mean[seg_id]),
        "sd": ("time", sd[seg_id]),
        "lower": ("time", lo[seg_id]),
        "upper": ("time", hi[seg_id]),
        "segment": ("time", seg_id),
        "seasonal_factor": ("time", season),
    }
    diagnostics: dict[str, Any] = {"min_size": int(min_size), "seasonal": seasonal}
    n_changes_prob = np.empty(0)
    if fit is not None:
        data_vars["level"] = ("time", fit.level_mean)
        if fit.n_changes_draws.size:
            n_changes_prob = (np.bincount(fit.n_changes_draws)
                              / fit.n_changes_draws.size)
            data_vars["prob_n_changes"] = ("n_changes", n_changes_prob)
        diagnostics.update(max_candidates=int(fit.candidates.max()),
                           mean_candidates=float(fit.candidates.mean()),
                           pruned_mass=fit.pruned_mass)
    else:
        diagnostics.update(max_candidates=int(kept.max()) if kept.size else 0)
    coords: dict[str, Any] = {"time": times}
    if "prob_n_changes" in data_vars:
        coords["n_changes"] = np.arange(n_changes_prob.size)
    ds = xr.Dataset(data_vars, coords=coords)
    ds["estimate"].attrs["description"] = ("posterior mean level of the MAP segment (rate per "
                                           "unit exposure for counts)")
    ds["lower"].attrs["level"] = level
    ds["upper"].attrs["level"] = level
    ds.attrs.update(method=method, likelihood=likelihood, level=level)
    return ChangepointResult(
        estimates=ds, changepoints=[int(c) for c in cps], method=method,
        likelihood=likelihood, segments=segments,
        prior_change=float(p) if p is not None else float("nan"), penalty=float(pen),
        log_evidence=fit.log_evidence if fit is not None else float(cost),
        n_changes_prob=n_changes_prob, size=float(model.size), level=level,
        diagnostics=diagnostics,
    )
