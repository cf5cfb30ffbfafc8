"""Is this year's change real? Tests of change in counts with over-dispersion, singly and en masse.

Recorded crime counts vary from year to year more than Poisson noise allows: a force's
burglaries move with events, operations and recording practice. With the negative-binomial
(NB2) variance $\\operatorname{Var}(y_t) = \\mu_t + \\kappa\\mu_t^2$, $\\sqrt\\kappa$ is the
coefficient of variation of that extra year-to-year variation. The test compares two windows
of periods — the latest period with the one before (year on year), or the average of the
latest three with the three before (three-year average) — as the "statistically significant
change" flag of official bulletins does for survey estimates, with $\\kappa$ estimated from
the series' own history around a smooth trend (or pooled over series, or given).

Across many series (all forces × offences) the false-discovery rate is controlled with the
Benjamini–Hochberg procedure. Its FDR guarantee needs independent or positively dependent
(PRDS) test statistics. Different forces' counts have independent noise, and different offences
of one force are positively correlated at most (a force-wide recording drive raises several
together), which is the positive dependence BH tolerates; two-sided tests of positively
correlated normal statistics are not covered by the PRDS theorem but keep the FDR in every
study we know of and in our simulations with correlated offences (validation page). The
Benjamini–Yekutiel procedure (``fdr_method="by"``) is valid under any dependence, at a cost in
power of about $\\sum_{i \\le m} 1/i$ (7.4 for 946 series).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from .. import _validate as v
from .._time import check_time_axis, json_time
from ..errors import DataWarning, InputError
from ._variability import Variability, ar1_correlation, estimate_variability
from .results import ChangeResult

__all__ = ["change_test", "change_tests", "COMPARISONS"]

#: Window length (periods) of each comparison.
COMPARISONS = {"year_on_year": 1, "three_year": 3}


def change_test(counts: Any, exposure: Any = None, *, time: Any = None,
                compare: str = "year_on_year", kappa: float | None = None,
                autocorrelation: float | None = None, trend: int | str = "local",
                level: float = 0.95, data: pd.DataFrame | None = None) -> ChangeResult:
    """Test whether the latest period (or three periods) differs from the one(s) before.

    Model: the count in period $t$ has mean $\\mu_t = N_t \\lambda_t$ (exposure $N_t$,
    rate $\\lambda_t$) and relative variance $1/\\mu_t + \\kappa$, the extra part
    correlated between periods as AR(1) with $\\rho$ (see `crimestats.compare._variability`;
    $\\rho = 0$ is the negative binomial variance $\\mu + \\kappa\\mu^2$). With windows
    $R$ (recent) and $P$ (previous) of $k$ periods, counts $A = \\sum_R y_t$,
    $B = \\sum_P y_t$ and exposures $N_A$, $N_B$, the null hypothesis is a common rate in
    both windows, estimated by $\\hat\\lambda = (A + B)/(N_A + N_B)$, and

    $$
    z = \\frac{A/N_A - B/N_B}{\\sqrt{\\hat\\lambda (1/N_A + 1/N_B)
        + \\hat\\lambda^2 V}}, \\qquad
    V = \\max\\{\\hat\\kappa_\\rho\\, w^\\top \\Sigma_{\\hat\\rho}\\, w,\\
                 \\hat\\kappa_0\\, w^\\top w\\} ,
    $$

    where $w_t = N_t/N_A$ in $R$, $-N_t/N_B$ in $P$, $\\Sigma_\\rho = (\\rho^{|i-j|})$,
    and $\\hat\\kappa_\\rho$, $\\hat\\kappa_0$ are the extra variance estimated with the
    estimated autocorrelation and assuming none ($w^\\top w = 2/k$ for equal exposures):
    whichever model implies more variability for the contrast is used, because an
    autocorrelation estimated from a few periods is too rough to earn a narrower test.
    $\\kappa$ and $\\rho$ are estimated by moments from the periods before the recent window
    (so the change under test cannot inflate them): by default from the second differences of
    the log rates, which remove any locally linear trend, or around a Poisson log-linear
    polynomial trend, in either case correcting exactly for the detrending (see
    `crimestats.compare._variability`). $z$ is referred to a $t$ distribution with
    Satterthwaite degrees of freedom (normal when $\\kappa$ is given). The rate ratio
    $(A/N_A)/(B/N_B)$ gets a Wald interval on the log scale,
    $\\log RR \\pm t\\sqrt{1/A + 1/B + V}$.

    Parameters
    ----------
    counts : array-like, pandas.Series or str
        Counts per period, oldest first (a Series indexed by period, or a column of ``data``).
    exposure : array-like, pandas.Series or str, optional
        Exposure per period (population); default 1 (compare counts). A Series is matched by
        period.
    time : array-like or str, optional
        Period labels (default the Series' or the data's index); checked sorted, unique and
        regular (see `crimestats._time.check_time_axis`).
    compare : {"year_on_year", "three_year"}
        Latest period against the previous one, or the mean of the latest three against the
        three before.
    kappa : float, optional
        Known extra-Poisson variance (squared coefficient of variation of the year-to-year
        variation); default estimated from the series.
    autocorrelation : float, optional
        Known lag-one autocorrelation $\\rho$ of the extra variation; default estimated (from
        one series it is rough: give it when known from a panel).
    trend : "local" or int
        How the history is detrended before $\\kappa$ is estimated: ``"local"`` (second
        differences of the log rates; robust to curved and changing trends) or the degree of
        a polynomial trend in log rate (more efficient when the trend really is polynomial).
    level : float
        Level of the rate-ratio interval; the flag ``significant`` uses $\\alpha = 1 -$ level.
    data : pandas.DataFrame, optional
        Table holding the named columns.

    Returns
    -------
    ChangeResult
        One series.

    Raises
    ------
    crimestats.InputError
        Negative or fractional counts, missing or repeated periods, too few periods to
        estimate $\\kappa$ (``trend + 4`` before the recent window), non-positive exposures.

    Examples
    --------
    >>> import pandas as pd
    >>> from crimestats.compare import change_test
    >>> counts = pd.Series([980, 1010, 995, 1020, 990, 1005, 1150], index=range(2012, 2019))
    >>> res = change_test(counts)
    >>> row = res.to_dataframe().iloc[0]
    >>> round(float(row["percent_change"]), 1), bool(row["significant"])
    (14.4, True)
    """
    level = v.check_level(level)
    k = COMPARISONS[v.check_choice(compare, "compare", list(COMPARISONS))]
    counts_col = counts
    if isinstance(counts, str):
        if data is None:
            raise InputError(f"`counts` is a column name ({counts!r}) but `data` is missing.")
        v.require_columns(data, [counts], "data")
        counts_col = data[counts]
    if isinstance(exposure, str):
        if data is None:
            raise InputError(f"`exposure` is a column name ({exposure!r}) but `data` is missing.")
        v.require_columns(data, [exposure], "data")
        exposure = data[exposure].to_numpy()
    if isinstance(time, str):
        if data is None:
            raise InputError(f"`time` is a column name ({time!r}) but `data` is missing.")
        v.require_columns(data, [time], "data")
        time = data[time].to_numpy()
    if time is None:
        if isinstance(counts_col, pd.Series):
            time = counts_col.index
        else:
            time = np.arange(np.shape(counts_col)[0])
    axis = check_time_axis(time, name="time", what="counts",
                           fixes="the count of each missing period (0 where nothing was "
                                 "recorded)")
    labels = list(axis.labels)
    y = v.as_float_array(counts_col, "counts", labels=labels)
    v.check_length(y, len(labels), "counts", "time")
    v.check_counts(y, "counts", labels, noun="period")
    if exposure is None:
        n = np.ones_like(y)
    else:
        exposure = v.aligned(exposure, labels, "exposure", "counts", noun="period")
        n = v.as_float_array(exposure, "exposure", labels=labels)
        v.check_length(n, y.size, "exposure", "counts")
        v.check_positive(n, "exposure", labels)
    var = _variability(y[None, :], n[None, :], trend, kappa, autocorrelation, None, False,
                       labels, k)
    return _result(y[None, :], n[None, :], var, k, labels, level, fdr=0.05,
                   fdr_method="bh", dispersion="given" if kappa is not None else "series",
                   series=pd.Index([_series_name(counts, counts_col)], name="series"),
                   keys=None)


def _series_name(counts: Any, column: Any) -> str:
    """The label of a single series: its column or Series name, else ``"series"``."""
    if isinstance(counts, str):
        return counts
    name = getattr(column, "name", None)
    return str(name) if name is not None else "series"


def change_tests(data: pd.DataFrame, *, count: str, time: str, by: str | Sequence[str],
                 exposure: str | None = None, compare: str = "year_on_year",
                 dispersion: str | float = "pooled", pool_by: str | Sequence[str] | None = None,
                 autocorrelation: float | None = None, trend: int | str = "local",
                 level: float = 0.95, fdr: float = 0.05, fdr_method: str = "bh"
                 ) -> ChangeResult:
    """Change tests for many series at once (all forces × offences), with the FDR controlled.

    Each series (a combination of the ``by`` columns) is tested as in `change_test`; the
    p-values are then adjusted across series by Benjamini–Hochberg (or Benjamini–Yekutiel),
    and a change is a *discovery* when its adjusted p-value (q-value) is at most ``fdr``: on
    average at most that share of the discoveries are false.

    Parameters
    ----------
    data : pandas.DataFrame
        Long table: one row per series and period.
    count, time : str
        Columns of the counts and the period labels (every series must have every period).
    by : str or list of str
        Columns identifying a series, e.g. ``["force", "offence"]``.
    exposure : str, optional
        Column of exposures (population per period); default compare counts.
    compare : {"year_on_year", "three_year"}
        Windows compared (see `change_test`).
    dispersion : {"pooled", "series"} or float
        $\\kappa$ pooled over the series of each ``pool_by`` group (default: exact size and
        the most power when the series of a group share their year-to-year variability, as
        one offence across forces roughly does); ``"series"``: each series' own estimate, but
        never below its group's (conservative, robust to series that vary more than their
        group, at a large cost in power); or a given value.
    pool_by : str or list of str, optional
        Columns defining the groups of series pooled together, within which the
        autocorrelation is always estimated. Default: every ``by`` column but the first
        (``by=["force", "offence"]`` pools each offence across forces); all series when
        ``by`` is one column or ``pool_by=[]``.
    autocorrelation : float, optional
        Known lag-one autocorrelation $\\rho$ of the extra variation; default estimated from
        each ``pool_by`` group.
    trend : "local" or int
        Detrending of the history before $\\kappa$ is estimated (see `change_test`).
    level : float
        Level of each rate-ratio interval and of the per-test flag.
    fdr : float
        False-discovery rate controlled across the series.
    fdr_method : {"bh", "by"}
        Benjamini–Hochberg (independent or positively dependent tests) or Benjamini–Yekutiel
        (any dependence).

    Returns
    -------
    ChangeResult

    Raises
    ------
    crimestats.InputError
        Missing columns, a series without some period, repeated (series, period) rows, bad
        counts or periods.

    Examples
    --------
    >>> from crimestats.compare import change_tests
    >>> from crimestats.datasets import load_recorded_crime
    >>> crime = load_recorded_crime(offence=["Robbery", "Shoplifting"], years=range(2009, 2019))
    >>> res = change_tests(crime, count="offences", time="financial_year_ending",
    ...                    by=["force", "offence"])
    >>> res.estimates.sizes["series"], res.fdr_method
    (86, 'bh')
    """
    level = v.check_level(level)
    if fdr is not None:
        fdr = _check_number(fdr, "fdr", 0.0, 1.0)
        if not 0.0 < fdr < 1.0:
            raise InputError(f"`fdr` (false discovery rate) must be in (0, 1), e.g. 0.05; "
                             f"received {fdr}.")
    fdr_method = v.check_choice(fdr_method, "fdr_method", ["bh", "by"])
    k = COMPARISONS[v.check_choice(compare, "compare", list(COMPARISONS))]
    by = [by] if isinstance(by, str) else list(by)
    if pool_by is None:
        pool = by[1:]
    else:
        pool = [pool_by] if isinstance(pool_by, str) else list(pool_by)
    v.require_columns(data, [count, time, exposure, *by, *pool], "data")
    missing_pool = [c for c in pool if c not in by]
    if missing_pool:
        raise InputError(f"`pool_by` columns {missing_pool} must be among `by` {by} (each "
                         "series belongs to one pooling group).")
    for column in (*by, time):
        unlabelled = np.flatnonzero(data[column].isna().to_numpy())
        if unlabelled.size:
            raise InputError(f"`data[{column!r}]` is missing in "
                             f"{v.describe_rows(unlabelled, None, 'row')}: every row needs its "
                             f"{'period' if column == time else 'series'} label.")
    v.as_float_array(data[count], count)
    if exposure is not None:
        v.check_positive(v.as_float_array(data[exposure], exposure), exposure)
    dup = data.duplicated(subset=[*by, time], keep=False).to_numpy()
    if dup.any():
        raise InputError(f"`data` repeats a (series, period) pair in "
                         f"{v.describe_rows(np.flatnonzero(dup), None, 'row')}; aggregate "
                         "repeated rows first (e.g. sum the counts).")
    axis = check_time_axis(pd.Index(pd.unique(data[time])).sort_values(), name=time,
                           what="counts", fixes="the missing periods' rows")
    periods = list(axis.labels)
    table = data.set_index([*by, time])
    wide = table[count].astype(float).unstack(time).reindex(columns=periods)
    holes = wide.isna().to_numpy()
    if holes.any():
        series_pos, period_pos = np.nonzero(holes)
        shown = [f"{wide.index[i]} in {json_time(periods[j])}"
                 for i, j in zip(series_pos[:6], period_pos[:6], strict=True)]
        raise InputError(f"{int(holes.sum())} (series, period) rows are missing from `data`, "
                         f"e.g. {shown}. Add them (with the count, 0 where nothing was "
                         "recorded); crimestats never fills missing periods silently.")
    y = wide.to_numpy()
    v.check_counts(y.ravel(), count, None, noun="row")
    n = (table[exposure].astype(float).unstack(time).reindex(index=wide.index, columns=periods)
         .to_numpy() if exposure is not None else np.ones_like(y))
    series_index = wide.index if len(by) > 1 else pd.Index(wide.index, name=by[0])
    frame = series_index.to_frame(index=False)
    groups = (frame.groupby(pool, sort=False).ngroup().to_numpy() if pool
              else np.zeros(len(frame), dtype=int))
    if isinstance(dispersion, str):
        mode = v.check_choice(dispersion, "dispersion", ["series", "pooled"])
        var = _variability(y, n, trend, None, autocorrelation, groups, mode == "pooled",
                           periods, k)
    else:
        mode = "given"
        dispersion = _check_number(dispersion, "dispersion", 0.0, np.inf)
        var = _variability(y, n, trend, dispersion, autocorrelation, groups, False, periods, k)
    labels = [" / ".join(map(str, key)) if isinstance(key, tuple) else str(key)
              for key in series_index]
    return _result(y, n, var, k, periods, level, fdr=fdr, fdr_method=fdr_method,
                   dispersion=mode, series=pd.Index(labels, name="series"),
                   keys=series_index.to_frame(index=False) if len(by) > 1
                   else pd.DataFrame({by[0]: series_index.to_numpy()}))


def _variability(y: np.ndarray, n: np.ndarray, trend: Any, kappa: Any, rho: Any,
                 groups: np.ndarray | None, pooled: bool, labels: list[Any],
                 window: int) -> Variability:
    """Checked inputs, then `estimate_variability` on the periods before the recent window.

    The recent window is left out so that the change under test does not inflate the
    estimated year-to-year variability (and so hide itself).
    """
    s, t = y.shape
    if t < 2 * window:
        raise InputError(f"Comparing {window} period(s) with the {window} before needs at "
                         f"least {2 * window} periods; the series has {t}.")
    if rho is not None:
        rho = _check_number(rho, "autocorrelation", -0.99, 0.99)
    if kappa is not None:
        value = _check_number(kappa, "kappa", 0.0, np.inf)
        return Variability(np.full(s, value), np.full(s, 0.0 if rho is None else rho),
                           np.full(s, np.inf), np.full(s, value), np.full(s, np.inf))
    if trend != "local" and (isinstance(trend, bool) or not isinstance(trend, (int, np.integer))
                             or trend < 0):
        raise InputError(f"`trend` must be 'local' or a whole number >= 0 (a polynomial "
                         f"degree); received {trend!r}.")
    p = 3 if trend == "local" else int(trend) + 1
    if t - window < p + 3:
        raise InputError(
            f"Estimating the year-to-year variability around a {trend!r} trend needs at "
            f"least {p + 3} periods before the latest {window}; the series has {t} "
            f"({json_time(labels[0])!r} to {json_time(labels[-1])!r}). Give more history, a "
            "lower `trend`, or `kappa`.")
    history = slice(0, t - window)
    return estimate_variability(y[:, history], n[:, history], trend if trend == "local"
                                else int(trend), groups, pooled, rho)


def _check_number(value: Any, name: str, low: float, high: float) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"`{name}` must be a number; received {value!r}.") from None
    if not (low <= out <= high) or np.isnan(out):
        raise InputError(f"`{name}` must be between {low} and {high}; received {value!r}.")
    return out


def _window_terms(n: np.ndarray, rho: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """Exposure sums of the two windows, $w^\\top\\Sigma_\\rho w$ and $w^\\top w$."""
    t = n.shape[1]
    na, nb = n[:, t - k:].sum(axis=1), n[:, t - 2 * k:t - k].sum(axis=1)
    both = n[:, t - 2 * k:]
    weights = np.concatenate([-both[:, :k] / nb[:, None], both[:, k:] / na[:, None]], axis=1)
    correlated = np.empty(n.shape[0])
    for r in np.unique(rho):
        sel = rho == r
        corr = ar1_correlation(2 * k, r)
        correlated[sel] = np.einsum("si,ij,sj->s", weights[sel], corr, weights[sel])
    return na, nb, correlated, (weights**2).sum(axis=1)


def _result(y: np.ndarray, n: np.ndarray, var: Variability, k: int,
            periods: list[Any], level: float, *, fdr: float, fdr_method: str, dispersion: str,
            series: pd.Index, keys: pd.DataFrame | None) -> ChangeResult:
    """Window sums, the test, intervals and FDR flags for every series."""
    t = y.shape[1]
    if t < 2 * k:
        raise InputError(f"Comparing {k} period(s) with the {k} before needs at least {2 * k} "
                         f"periods; the series has {t}.")
    a, b = y[:, t - k:].sum(axis=1), y[:, t - 2 * k:t - k].sum(axis=1)
    na, nb, c_rho, c_0 = _window_terms(n, var.rho, k)
    # the model (autocorrelated or independent years) implying the larger variance of the
    # contrast is used: an autocorrelation estimated from short series earns no narrower test
    use_rho = var.kappa * c_rho >= var.kappa0 * c_0
    kappa = np.where(use_rho, var.kappa, var.kappa0)
    df = np.where(use_rho, var.df, var.df0)
    shares = np.where(use_rho, c_rho, c_0)
    lam = (a + b) / (na + nb)
    poisson = lam * (1.0 / na + 1.0 / nb)
    extra = kappa * lam**2 * shares
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (a / na - b / nb) / np.sqrt(poisson + extra)
        dof = np.where(extra > 0, (poisson + extra) ** 2 / (extra**2 / df), np.inf)
    empty = (a + b) == 0
    if empty.any():
        names = [str(x) for x in series[empty][:8]]
        warnings.warn(f"{int(empty.sum())} series have no counts in either window, so there is "
                      f"no change to test (p-value 1): {names}.", DataWarning, stacklevel=3)
        z = np.where(empty, 0.0, z)
    p_value = np.where(np.isinf(dof), 2.0 * stats.norm.sf(np.abs(z)),
                       2.0 * stats.t.sf(np.abs(z), np.where(np.isinf(dof), 1.0, dof)))
    alpha = 1.0 - level
    ratio = ((a + 0.5 * (a == 0)) / na) / ((b + 0.5 * (b == 0)) / nb)
    half_var = 1.0 / np.maximum(a, 0.5) + 1.0 / np.maximum(b, 0.5) + kappa * shares
    crit = np.where(np.isinf(dof), stats.norm.isf(alpha / 2),
                    stats.t.isf(alpha / 2, np.where(np.isinf(dof), 1.0, dof)))
    half = crit * np.sqrt(half_var)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_ratio = (a / na) / (b / nb)
    from_zero = (b == 0) & (a > 0)
    if from_zero.any():
        names = [str(x) for x in series[from_zero][:8]]
        warnings.warn(f"{int(from_zero.sum())} series have no counts in the previous window, so "
                      f"their rate ratio and percent change are infinite (the test and the "
                      f"interval, which adds half a count to an empty window, stand): {names}.",
                      DataWarning, stacklevel=3)
    q_value = stats.false_discovery_control(p_value, method=fdr_method) if p_value.size > 1 \
        else p_value.copy()
    discovery = q_value <= fdr
    direction = np.where(discovery, np.sign(a / na - b / nb), 0).astype(np.int8)
    data_vars = {
        "recent": ("series", a), "previous": ("series", b),
        "rate_ratio": ("series", rate_ratio),
        "percent_change": ("series", 100.0 * (rate_ratio - 1.0)),
        "lower": ("series", np.exp(np.log(ratio) - half)),
        "upper": ("series", np.exp(np.log(ratio) + half)),
        "z": ("series", z), "p_value": ("series", p_value),
        "significant": ("series", p_value < alpha), "q_value": ("series", q_value),
        "discovery": ("series", discovery), "direction": ("series", direction),
        "kappa": ("series", kappa), "kappa_df": ("series", df),
        "autocorrelation": ("series", np.where(use_rho, var.rho, 0.0))}
    coords: dict[str, Any] = {"series": series.to_numpy()}
    if keys is not None:
        for col in keys.columns:
            coords[str(col)] = ("series", keys[col].to_numpy())
    recent_labels = tuple(json_time(p) for p in periods[t - k:])
    previous_labels = tuple(json_time(p) for p in periods[t - 2 * k:t - k])
    compare = {1: "year_on_year", 3: "three_year"}[k]
    ds = xr.Dataset(data_vars, coords=coords, attrs={
        "compare": compare, "recent": list(recent_labels), "previous": list(previous_labels),
        "level": level, "fdr": fdr, "fdr_method": fdr_method, "dispersion": dispersion,
        "variance": "mu + kappa * mu^2, extra part AR(1) with `autocorrelation`"})
    return ChangeResult(ds, compare=compare, recent=recent_labels, previous=previous_labels,
                        level=level, fdr=fdr, fdr_method=fdr_method, dispersion=dispersion)
