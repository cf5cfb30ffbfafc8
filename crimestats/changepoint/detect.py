"""Change-point detection on one series: `detect`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._validate import as_float_array, as_rng, check_choice, check_level
from ..errors import DataWarning, InputError
from ._input import Series, check_series, choose_likelihood
from ._results import ChangepointResult
from .bayes import BayesFit, bayes_fit, log_q_for_any_change, prior_log_q
from .pelt import pelt_search, penalty_value
from .seasonal import seasonal_factors, seasonal_period, seasonality_p_value
from .segments import Prepared, SegmentModel, SegmentSummary, get_model, model_names
from .segments._common import positions
from .segments.poisson import pearson_dispersion

__all__ = ["detect"]

_ROUNDS = 2
_SEASONAL_ALPHA = 0.01


def detect(y: Any, likelihood: str = "auto", *, method: str = "bayes", exposure: Any = None,
           time: Any = None, min_size: int = 2, prior_any_change: float = 0.15,
           prior_change: float | None = None, penalty: str | float = "MBIC",
           size: float | str = "estimate", ar: float | str = "estimate",
           seasonal: int | str | None = "auto", fill: float | None = None,
           missing: str = "error", level: float = 0.95, draws: int = 500,
           prune: float = 1e-6, prior: dict[str, float] | None = None,
           random_seed: Any = None) -> ChangepointResult:
    """Find the times at which the level or the trend of a series changes.

    Parameters
    ----------
    y : array-like or pandas.Series
        The series in time order: counts (crimes per month, week, year) or real values
        (rates, indices). A pandas Series' index gives the time labels: a `PeriodIndex`,
        dates, years or labels such as ``"2020-03"`` or ``"2019/20"`` are checked unique, in
        order and on a regular calendar, and kept in the results.
    likelihood : str
        Segment model (see [`segments`][crimestats.changepoint.segments]): ``"auto"``
        (default), ``"count_trend"``, ``"negbin"``, ``"poisson"``, ``"log_trend"``,
        ``"trend"``, ``"normal"`` or ``"normal_mean"``. ``"auto"`` picks ``"count_trend"``
        (level, trend or curve of the log rate per segment, overdispersion, autocorrelated
        errors) for non-negative whole numbers averaging 10 or more a period, ``"negbin"`` for
        smaller counts, ``"log_trend"`` (the same on the log of positive values) for positive
        values that are not whole numbers (rates, indices), and ``"trend"`` for other real
        values; whole numbers with a negative value raise (they look like counts with an
        error).
        The trend models are the defaults because real series trend and are autocorrelated:
        a model with a constant level per segment turns a trend into a staircase of changes.
    method : {"bayes", "pelt"}
        ``"bayes"`` (default): exact Bayesian product-partition recursion giving the
        posterior probability of a change at each time; ``changepoints`` is the MAP
        (most probable) segmentation. ``"pelt"``: optimal penalised-likelihood segmentation
        (fast, no uncertainty; hyperparameters such as the autocorrelation set to their most
        probable grid value); ``prob_change`` is then 1 at its change points.
    exposure : array-like or pandas.Series, optional
        Counts only: population or days per period; the level is then a rate per unit of
        exposure. A Series is matched to the series by label.
    time : array-like, optional
        Labels of the periods (default: the index of a pandas Series, else 0..n-1).
    min_size : int
        Minimum number of observations in a segment (default 2, as R ``cpt.meanvar``).
    prior_any_change : float
        Bayesian method: prior probability that the series changes at least once (default
        0.15), whatever its length; changes are then placed uniformly (see
        [`bayes`][crimestats.changepoint.bayes]). The default keeps false alarms at or below
        5% on realistic series without a change down to 15 annual values (docs: validation
        of change points); raise it when a change is expected.
    prior_change : float, optional
        Bayesian method: a prior probability of a change *per period* instead (the prior then
        expects ``prior_change * n`` changes, which grows with the length of the series).
    penalty : {"MBIC", "BIC"} or float
        PELT penalty (see [`pelt`][crimestats.changepoint.pelt]).
    size : float or "estimate"
        ``"negbin"`` only: the negative binomial size $r$ (variance $\\mu + \\mu^2/r$);
        by default integrated over a grid (estimated jointly with the segmentation).
    ar : float or "estimate"
        Trend models only: the autocorrelation of the errors; by default integrated over a
        grid from 0 to 0.9.
    seasonal : "auto", int or None
        Period of the seasonal cycle (12 monthly, 52 weekly, 4 quarterly). ``"auto"``
        (default) reads it from the calendar of the time labels when the series covers at
        least three cycles and the seasonal pattern is significant (analysis of variance by
        season, $p < 0.01$; a plain array has no calendar: pass the period); None turns
        seasonality off. Seasonal factors are estimated robustly and alternated with the
        segmentation ([`seasonal`][crimestats.changepoint.seasonal]).
    fill : float, optional
        Value of a period absent from the time labels, e.g. ``fill=0`` for police.uk files,
        which leave out a month with no crime. Without it (or ``missing="skip"``) a missing
        period raises.
    missing : {"error", "skip"}
        NaN values and absent periods raise (default) or, with ``"skip"``, are unobserved
        periods that belong to a segment but add nothing to its likelihood.
    level : float
        Level of the credible intervals of the segment levels.
    draws : int
        Bayesian method: exact posterior draws of the segmentation, used for the posterior of
        the number of changes and the model-averaged ``level`` (0 skips them; the change
        probabilities are exact without draws).
    prune : float
        Bayesian method: relative weight below which a candidate segment start is dropped
        (0 = exact $O(n^2)$ recursion; see [`bayes`][crimestats.changepoint.bayes]).
    prior : dict, optional
        Hyperparameters of the segment prior (each model's page lists its keys).
    random_seed : int, numpy.random.Generator or None
        Seed of the posterior draws (change points and probabilities are deterministic).

    Returns
    -------
    ChangepointResult
        ``changepoints`` (sorted 0-based start indices of new segments), ``prob_any_change``
        and ``estimates`` over ``time`` with ``prob_change``, the fitted path of the segments
        and its interval.

    Raises
    ------
    InputError
        Negative or fractional counts with a count likelihood, NaN or a missing period
        without ``missing='skip'`` or ``fill=``, time labels out of order or repeated, a series
        shorter than ``min_size``, bad options.

    Warns
    -----
    DataWarning
        The series is too short to hold a change at ``min_size`` (flagged in
        ``diagnostics["too_short"]``); Poisson counts far more variable than Poisson allows.

    Examples
    --------
    A rise of 30% in monthly counts after three years:

    >>> import numpy as np, pandas as pd
    >>> from crimestats.changepoint import detect
    >>> rng = np.random.default_rng(3)
    >>> months = pd.period_range("2017-01", periods=72, freq="M")
    >>> y = pd.Series(rng.poisson(np.where(np.arange(72) < 36, 400, 520)), index=months)
    >>> res = detect(y, random_seed=1)
    >>> res.likelihood, [str(t) for t in res.changepoint_times], round(res.prob_any_change, 2)
    ('count_trend', ['2020-01'], 1.0)

    A steady trend is not a staircase of changes:

    >>> trend = pd.Series(rng.poisson(300 * np.exp(0.01 * np.arange(72))), index=months)
    >>> detect(trend, random_seed=1).changepoints
    []
    """
    method = check_choice(method, "method", ("bayes", "pelt"))
    level = check_level(level)
    likelihood = _resolve_likelihood(y, likelihood, time)
    model = get_model(likelihood)
    series = check_series(y, likelihood, exposure=exposure, time=time, missing=missing,
                          fill=fill, min_size=min_size)
    n = series.y.shape[0]
    options = _model_options(model, size=size, ar=ar)
    if prior is not None and not isinstance(prior, Mapping):
        raise InputError(f"`prior` must be a dict of hyperparameters of the {likelihood!r} "
                         f"segment prior (or None); received {prior!r}.")
    if method == "bayes":
        log_q = prior_log_q(n, min_size, prior_any_change, prior_change)
        if not (isinstance(draws, (int, np.integer)) and not isinstance(draws, bool)
                and draws >= 0):
            raise InputError(f"`draws` must be a non-negative integer; received {draws!r}.")
        if not (isinstance(prune, (int, float, np.integer, np.floating))
                and 0.0 <= float(prune) < 1.0):
            raise InputError(f"`prune` must be a number in [0, 1); received {prune!r}.")
    period = seasonal_period(seasonal, series.axis.freq, series.y.shape[0])
    counts = model.data == "counts"
    ratio = model.data != "real"                # seasonal factors multiply (counts, positive)
    if period and isinstance(seasonal, str):     # "auto": only when the data are seasonal
        p_value = seasonality_p_value(series.y, period, multiplicative=ratio,
                                      exposure=series.exposure if counts else None)
        period = period if p_value < _SEASONAL_ALPHA else None
    rng = as_rng(random_seed)
    too_short = n < 2 * min_size
    if too_short:
        warnings.warn(f"the series has {n} periods: with min_size={min_size} no change can be "
                      f"placed (a change needs {min_size} periods on each side); the result "
                      "reports no change by construction (diagnostics['too_short']).",
                      DataWarning, stacklevel=2)

    season = np.ones(n) if ratio else np.zeros(n)
    reference = None
    for _ in range(_ROUNDS if period else 1):
        if period:
            season = seasonal_factors(series.y, period, multiplicative=ratio,
                                      exposure=series.exposure if counts else None,
                                      reference=reference)
        y_work = series.y if counts else (series.y / season if ratio else series.y - season)
        e_work = series.exposure * season if counts else series.exposure
        nodes = model.prepare(y_work, e_work, prior=prior, prior_any_change=prior_any_change,
                              **options)
        if method == "pelt":
            node_index = _most_probable_node(model, nodes, min_size) if len(nodes) > 1 else 0
            pen, seg_term = penalty_value(penalty, n, model.diffparam)
            cps, cost, kept = pelt_search(model, nodes[node_index], pen, min_size, seg_term)
            fit = None
        else:
            fit = bayes_fit(model, nodes, log_q=log_q, min_size=min_size, prune=float(prune),
                            draws=int(draws), rng=rng)
            all_nodes, nodes = nodes, fit.nodes
            cps, node_index = fit.map_changepoints, fit.map_node
        starts = np.array([0, *cps], dtype=np.int64)
        ends = np.array([*cps, n], dtype=np.int64)
        summary = model.describe(nodes[node_index], y_work, e_work, starts, ends, level)
        reference = summary.path
    if likelihood == "poisson":
        _check_overdispersion(y_work, e_work, cps)
    return _build_result(
        series, model, nodes, node_index, summary, starts, ends, cps, fit, method, level,
        season, period, y_work, e_work, all_nodes if method == "bayes" else nodes,
        pen=pen if method == "pelt" else float("nan"),
        cost=cost if method == "pelt" else float("nan"),
        kept=kept if method == "pelt" else None,
        log_q=log_q if method == "bayes" else float("nan"), min_size=min_size,
        too_short=too_short)


def _resolve_likelihood(y: Any, likelihood: Any, time: Any) -> str:
    names = model_names()
    if not isinstance(likelihood, str) or likelihood.lower() not in ("auto", *names):
        raise InputError(f"`likelihood` must be 'auto' or one of {list(names)}; received "
                         f"{likelihood!r}.")
    likelihood = likelihood.lower()
    if likelihood != "auto":
        return likelihood
    values = y.to_numpy(dtype=float, na_value=np.nan) if isinstance(y, pd.Series) and not (
        y.dtype == object or pd.api.types.is_string_dtype(y)) else y
    if np.ndim(values) != 1:
        raise InputError(f"`y` must be one series (1-D); received shape {np.shape(values)}. "
                         "For a table of series use crimestats.changepoint.detect_many.")
    arr = as_float_array(values, "y", allow_nan=True)
    labels = list(y.index) if isinstance(y, pd.Series) else (
        list(time) if time is not None and np.ndim(time) == 1 else None)
    return choose_likelihood(arr, "y", labels)


def _model_options(model: SegmentModel, **given: Any) -> dict[str, Any]:
    """The options this model takes; a non-default option it does not take is an error."""
    takes = model.options()
    out = {}
    for key, value in given.items():
        if key in takes:
            out[key] = value
        elif not (isinstance(value, str) and value == "estimate"):
            users = [m for m in model_names() if key in get_model(m).options()]
            raise InputError(f"`{key}` applies to likelihood {' or '.join(map(repr, users))}, "
                             f"not {model.name!r}.")
    return out


def _most_probable_node(model: SegmentModel, nodes: list[Prepared], min_size: int) -> int:
    """Index of the hyperparameter node with the highest evidence (for PELT)."""
    from . import _kernels

    n = nodes[0].stats.shape[0] - 1
    log_q = log_q_for_any_change(n, min_size, 0.5)
    scores = [node.log_weight + _kernels.forward(model.logml, node.params, node.stats, log_q,
                                                 min_size, float(np.log(1e-6)))[0][n]
              for node in nodes]
    return int(np.argmax(scores))


def _check_overdispersion(y: np.ndarray, e: np.ndarray, cps: list[int]) -> None:
    """Warn when counts vary far more than Poisson within the segments found."""
    ratio = pearson_dispersion(y, e, cps)
    if ratio > 2.0:
        warnings.warn(
            f"the counts vary {ratio:.1f} times more than a Poisson model allows within "
            "the segments found; the Poisson likelihood then reports too many changes. Use "
            "likelihood='negbin' or 'count_trend' (or 'auto').", DataWarning, stacklevel=3)


def _averaged_path(model: SegmentModel, nodes: list[Prepared], fit: BayesFit,
                   y: np.ndarray, e: np.ndarray, level: float) -> np.ndarray:
    """Posterior mean path averaged over the drawn segmentations (and nodes)."""
    n = y.shape[0]
    total = np.zeros(n)
    for j in np.unique(fit.draw_nodes):
        rows = fit.draw_ends[fit.draw_nodes == j]
        pairs: dict[tuple[int, int], int] = {}
        for row in rows:
            ends = row[row >= 0]
            for s, t in zip(np.r_[0, ends[:-1]], ends, strict=True):
                pairs[(int(s), int(t))] = pairs.get((int(s), int(t)), 0) + 1
        keys = np.array(list(pairs), dtype=np.int64)
        weight = np.array(list(pairs.values()), dtype=float)
        summary = model.describe(nodes[j], y, e, keys[:, 0], keys[:, 1], level)
        seg, pos = positions(keys[:, 0], keys[:, 1])
        np.add.at(total, pos, weight[seg] * summary.path)
    return total / fit.draw_ends.shape[0]


def _build_result(series: Series, model: SegmentModel, nodes: list[Prepared], node_index: int,
                  summary: SegmentSummary, starts: np.ndarray, ends: np.ndarray,
                  cps: list[int], fit: BayesFit | None, method: str, level: float,
                  season: np.ndarray, period: int | None, y_work: np.ndarray,
                  e_work: np.ndarray, all_nodes: list[Prepared], *, pen: float, cost: float, kept: np.ndarray | None,
                  log_q: float, min_size: int, too_short: bool) -> ChangepointResult:
    n = series.y.shape[0]
    times = series.time
    seg_id = np.repeat(np.arange(starts.size), ends - starts)
    segments = pd.DataFrame({
        "start": starts, "end": ends, "start_time": list(times[starts]),
        "estimate": summary.level, "sd": summary.level_sd, "lower": summary.level_lower,
        "upper": summary.level_upper, "slope": summary.slope,
    })
    if np.isfinite(summary.prob_trend).any():
        segments["prob_trend"] = summary.prob_trend
    if fit is not None:
        prob = fit.prob_change
    else:
        prob = np.zeros(n)
        prob[cps] = 1.0
    data_vars: dict[str, Any] = {
        "y": ("time", series.y),
        "prob_change": ("time", prob),
        "estimate": ("time", summary.path),
        "sd": ("time", summary.path_sd),
        "lower": ("time", summary.path_lower),
        "upper": ("time", summary.path_upper),
        "segment": ("time", seg_id),
        "seasonal_factor": ("time", season),
    }
    node = nodes[node_index]
    diagnostics: dict[str, Any] = {
        "min_size": int(min_size), "seasonal": period, "too_short": bool(too_short),
        "filled_or_skipped": [_plain(t) for t in times[series.inserted]],
        "hyperparameters": {k: v for k, v in node.info.items() if k not in ("loc", "scale")},
    }
    if method == "pelt":
        diagnostics["pelt_node"] = int(node_index)
    n_changes_prob = np.empty(0)
    hyper: dict[str, dict[float, float]] = {}
    if fit is not None:
        if fit.draw_ends.shape[0]:
            data_vars["level"] = ("time", _averaged_path(model, nodes, fit, y_work, e_work,
                                                         level))
            n_changes_prob = np.bincount(fit.n_changes_draws) / fit.n_changes_draws.size
            data_vars["prob_n_changes"] = ("n_changes", n_changes_prob)
        diagnostics.update(max_candidates=int(fit.candidates.max()),
                           mean_candidates=float(fit.candidates.mean()),
                           pruned_mass=fit.pruned_mass,
                           nodes_screened_out=len(all_nodes) - len(nodes))
        for key in ("ar", "size"):
            values = sorted({nd.info[key] for nd in all_nodes if key in nd.info})
            if len(values) > 1:
                hyper[key] = {float(v): float(sum(w for nd, w in zip(all_nodes, fit.all_weights,
                                                                     strict=True)
                                                  if nd.info.get(key) == v)) for v in values}
    else:
        diagnostics.update(max_candidates=int(kept.max()) if kept is not None and kept.size
                           else 0)
    coords: dict[str, Any] = {"time": times.rename("time")}
    if "prob_n_changes" in data_vars:
        coords["n_changes"] = np.arange(n_changes_prob.size)
    ds = xr.Dataset(data_vars, coords=coords)
    ds["estimate"].attrs["description"] = (
        "posterior estimate of the expected value in the MAP segmentation (rate per unit "
        "exposure for counts, seasonal factor excluded)")
    ds["lower"].attrs["level"] = level
    ds["upper"].attrs["level"] = level
    ds.attrs.update(method=method, likelihood=model.name, level=level)
    prob_any = fit.prob_any_change if fit is not None else float(bool(cps))
    return ChangepointResult(
        estimates=ds, changepoints=[int(c) for c in cps], method=method,
        likelihood=model.name, segments=segments, prob_any_change=float(prob_any),
        prior_change=float(np.exp(log_q)) if np.isfinite(log_q) else float("nan"),
        penalty=float(pen),
        log_evidence=fit.log_evidence if fit is not None else float(cost),
        n_changes_prob=n_changes_prob, size=float(node.info.get("size", np.nan)),
        hyperparameters=hyper, level=level, diagnostics=diagnostics)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
