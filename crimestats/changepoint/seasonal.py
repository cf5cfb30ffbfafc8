"""Seasonal factors estimated robustly, so that every December is not a change point.

Monthly and weekly crime is seasonal: more violence in summer, more burglary in winter.
A segment model with a constant level sees each seasonal peak as a change. Seasonality
enters the segment models as a known factor:

* counts: $E[y_t] = e_t\\, s_{m(t)}\\, \\lambda_{\\text{segment}}$ — the seasonal factor
  multiplies the exposure, so the Poisson–gamma and negative binomial marginals stay
  conjugate;
* normal data: $y_t - a_{m(t)}$ with an additive seasonal effect.

The factors are estimated robustly to level shifts: each observation is compared with the
median of its own segment (or, before any segmentation, with a centred running median over
one period), and the factor of each season is the median of those ratios (differences),
normalised to geometric mean 1 (mean 0). `crimestats.changepoint.detect` alternates
this with the segmentation twice, so a change in level is not mistaken for seasonality nor
seasonality for a change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["seasonal_factors", "calendar_period", "seasonal_period", "seasonality_p_value"]

_PERIODS = {"M": 12, "MS": 12, "ME": 12, "Q": 4, "QS": 4, "QE": 4, "W": 52}


def calendar_period(freq: object) -> int | None:
    """Seasonal period of a calendar frequency (``"M"`` → 12, quarters → 4, weeks → 52).

    Examples
    --------
    >>> calendar_period("M"), calendar_period("Q-DEC"), calendar_period("W-SUN"), calendar_period(1)
    (12, 4, 52, None)
    """
    if not isinstance(freq, str):
        return None
    return _PERIODS.get(freq.split("-")[0].split("+")[0].upper())


def seasonal_factors(y: np.ndarray, period: int, *, multiplicative: bool = True,
                     exposure: np.ndarray | None = None,
                     changepoints: list[int] | None = None,
                     phase: np.ndarray | None = None,
                     reference: np.ndarray | None = None) -> np.ndarray:
    """Seasonal factor of every observation (length ``len(y)``).

    Parameters
    ----------
    y : numpy.ndarray
        The series (NaN allowed where missing).
    period : int
        Number of observations per cycle (12 for monthly, 52 for weekly, 4 for quarterly).
    multiplicative : bool
        Ratios (counts) or differences (normal data).
    exposure : numpy.ndarray, optional
        Exposure of counts; the factors describe ``y / exposure``.
    changepoints : list of int, optional
        Known segment starts; the reference level is the median of each segment. Without
        them, a centred running median over one period.
    phase : numpy.ndarray of int, optional
        Season of each observation (0 .. period-1); default ``t mod period``.
    reference : numpy.ndarray, optional
        Reference level of each observation (per unit exposure for counts), e.g. the fitted
        path of a segmentation; takes precedence over ``changepoints``.

    Returns
    -------
    numpy.ndarray
        The factor of each observation: multiply the exposure by it (counts) or subtract it
        (normal data).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(48)
    >>> y = 100 * (1 + 0.3 * (t % 12 == 11)) * np.where(t < 24, 1.0, 1.5)
    >>> f = seasonal_factors(y, 12, changepoints=[24])
    >>> round(float(f[11] / f[0]), 2)
    1.3
    """
    if not isinstance(period, (int, np.integer)) or period < 2:
        raise InputError(f"`seasonal` must be the period as an integer >= 2 (12 for monthly, "
                         f"52 for weekly data); received {period!r}.")
    n = y.shape[0]
    if n < 2 * period:
        raise InputError(f"seasonal factors with period {period} need at least two full "
                         f"cycles ({2 * period} observations); the series has {n}.")
    if reference is None and not changepoints:
        effect = _effects_from_differences(y, period, multiplicative, exposure, phase)
        out = effect[np.arange(n) % period if phase is None else np.asarray(phase, dtype=int)]
        return np.exp(out) if multiplicative else out
    dev, ph = _deviations(y, period, multiplicative, exposure, changepoints, phase, reference)
    effect = np.zeros(period)
    for k in range(period):
        d = dev[(ph == k) & np.isfinite(dev)]
        effect[k] = np.median(d) if d.size else 0.0
    effect -= effect.mean()
    out = effect[ph]
    return np.exp(out) if multiplicative else out


def _working(y: np.ndarray, multiplicative: bool, exposure: np.ndarray | None) -> np.ndarray:
    x = y / exposure if exposure is not None else y.astype(float)
    if multiplicative:
        x = np.log(np.maximum(x, 0) + 0.5 / (exposure if exposure is not None else 1.0))
    return x


def _season_differences(y: np.ndarray, period: int, multiplicative: bool,
                        exposure: np.ndarray | None, phase: np.ndarray | None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Changes from one period to the next and the season they arrive in."""
    x = _working(y, multiplicative, exposure)
    n = x.shape[0]
    ph = np.arange(n) % period if phase is None else np.asarray(phase, dtype=int)
    d = np.diff(x)
    ok = np.isfinite(d)
    return d[ok], ph[1:][ok]


def _effects_from_differences(y: np.ndarray, period: int, multiplicative: bool,
                              exposure: np.ndarray | None, phase: np.ndarray | None
                              ) -> np.ndarray:
    """Seasonal effects from the median change into each season (no reference level needed).

    The change from one period to the next is the change of the seasonal effect, plus the
    trend's step, plus noise: a level shift is one outlying change (ignored by the median), a
    linear trend adds the same step to every season (removed by centring). The effects are
    the cumulated centred medians, centred to mean 0.
    """
    d, ph = _season_differences(y, period, multiplicative, exposure, phase)
    med = np.array([np.median(d[ph == k]) if np.any(ph == k) else 0.0 for k in range(period)])
    effect = np.cumsum(med - med.mean())
    return effect - effect.mean()


def _deviations(y: np.ndarray, period: int, multiplicative: bool, exposure: np.ndarray | None,
                changepoints: list[int] | None, phase: np.ndarray | None,
                reference: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Deviation of each observation from its reference level (log ratio or difference)."""
    n = y.shape[0]
    x = y / exposure if exposure is not None else y.astype(float)
    floor = 0.5 / (exposure if exposure is not None else 1.0)
    if multiplicative:
        x = np.log(np.maximum(x, 0) + floor)
    if reference is not None:
        ref = np.asarray(reference, dtype=float)
        if multiplicative:
            ref = np.log(np.maximum(ref, 0) + floor)
    elif changepoints:
        ref = np.empty(n)
        bounds = [0, *changepoints, n]
        for s, e in zip(bounds[:-1], bounds[1:], strict=True):
            ref[s:e] = np.nanmedian(x[s:e]) if np.isfinite(x[s:e]).any() else np.nan
    else:
        ref = pd.Series(x).rolling(period + 1 - period % 2, center=True,
                                   min_periods=period // 2 + 1).median().to_numpy()
    ph = np.arange(n) % period if phase is None else np.asarray(phase, dtype=int)
    return x - ref, ph


def seasonality_p_value(y: np.ndarray, period: int, *, multiplicative: bool = True,
                        exposure: np.ndarray | None = None) -> float:
    """P-value of the one-way analysis of variance of the period-to-period changes by season.

    Without seasonality the change from one period to the next has the same mean whatever
    the season it arrives in (the trend's step); the between-season mean square over the
    within-season mean square is then $F(p - 1, m - p)$ ($p$ seasons, $m$ changes). Working
    on changes needs no estimate of the level, so trends, curves and steps do not blur the
    test. ``seasonal="auto"`` applies seasonal factors when $p < 0.01$.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(72)
    >>> y = rng.poisson(500 * (1 + 0.2 * np.sin(2 * np.pi * t / 12)))
    >>> seasonality_p_value(y, 12) < 1e-6, seasonality_p_value(rng.poisson(500, 72), 12) > 0.01
    (True, True)
    """
    from scipy import stats

    d, g = _season_differences(y, period, multiplicative, exposure, None)
    groups = [d[g == k] for k in range(period) if np.sum(g == k) > 0]
    if len(groups) < 2 or d.size - len(groups) < 2:
        return 1.0
    return float(stats.f_oneway(*groups).pvalue)


def seasonal_period(seasonal: object, freq: object, n: int) -> int | None:
    """The seasonal period `detect` uses for ``seasonal=``, checked against ``n`` periods.

    ``"auto"`` gives the calendar's period (12 for months, 4 for quarters, 52 for weeks) when
    the series holds at least three cycles, else None; a number must be an integer of at least
    2 with two full cycles in the series; None or False give None. Raises
    `crimestats.InputError` otherwise.

    Examples
    --------
    >>> seasonal_period("auto", "M", 60), seasonal_period("auto", "M", 30), seasonal_period(4, "Q", 12)
    (12, None, 4)
    """
    if seasonal is None or seasonal is False:
        return None
    if isinstance(seasonal, str):
        if seasonal != "auto":
            raise InputError(f"`seasonal` must be 'auto', a period (12 for monthly data) or "
                             f"None; received {seasonal!r}.")
        period = calendar_period(freq)
        return period if period and n >= 3 * period else None
    if not isinstance(seasonal, (int, np.integer)) or isinstance(seasonal, bool) or seasonal < 2:
        raise InputError(f"`seasonal` must be the period as an integer >= 2 (12 for monthly, "
                         f"52 for weekly data), 'auto' or None; received {seasonal!r}.")
    if n < 2 * seasonal:
        raise InputError(f"seasonal factors with period {seasonal} need at least two full "
                         f"cycles ({2 * seasonal} observations); the series has {n}.")
    return int(seasonal)
