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

__all__ = ["seasonal_factors"]


def seasonal_factors(y: np.ndarray, period: int, *, multiplicative: bool = True,
                     exposure: np.ndarray | None = None,
                     changepoints: list[int] | None = None,
                     phase: np.ndarray | None = None) -> np.ndarray:
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
    x = y / exposure if exposure is not None else y.astype(float)
    if multiplicative:
        x = np.log(np.maximum(x, 0) + 0.5 / (exposure if exposure is not None else 1.0))
    if changepoints:
        ref = np.empty(n)
        bounds = [0, *changepoints, n]
        for s, e in zip(bounds[:-1], bounds[1:], strict=True):
            ref[s:e] = np.nanmedian(x[s:e]) if np.isfinite(x[s:e]).any() else np.nan
    else:
        ref = pd.Series(x).rolling(period + 1 - period % 2, center=True,
                                   min_periods=period // 2 + 1).median().to_numpy()
    ph = np.arange(n) % period if phase is None else np.asarray(phase, dtype=int)
    dev = x - ref
    effect = np.zeros(period)
    for k in range(period):
        d = dev[(ph == k) & np.isfinite(dev)]
        effect[k] = np.median(d) if d.size else 0.0
    effect -= effect.mean()
    out = effect[ph]
    return np.exp(out) if multiplicative else out
