"""Realistic crime series with known changes: trend, curvature, seasonality, autocorrelation.

Change-point methods are easy to judge on series drawn from their own model and easy to fool on
real ones. This simulator draws series from a process that is *not* any segment model of
`crimestats.changepoint`: a smooth (curved) trend on the log scale, a seasonal pattern,
autocorrelated AR(1) deviations and negative binomial counts — the features of monthly police
recorded crime and of annual rates — with, optionally, one known change (a step in level or a
change of slope). It is what the change-point benchmarks use for false-alarm rates and power.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .._validate import as_rng, check_choice
from ..errors import InputError

__all__ = ["CrimeSeries", "simulate_crime_series", "CRIME_SERIES_KINDS"]

#: Kinds of series [`simulate_crime_series`][crimestats.datasets.simulate_crime_series] draws.
CRIME_SERIES_KINDS = ("monthly_counts", "annual_rates")


@dataclasses.dataclass(frozen=True)
class CrimeSeries:
    """A simulated series and its truth.

    Attributes
    ----------
    y : pandas.Series
        Counts per month (``monthly_counts``) or rates per 1,000 residents per year
        (``annual_rates``), indexed by a ``PeriodIndex``.
    mean : numpy.ndarray
        The expected value of each period without the AR(1) deviations and seasonality (the
        smooth level, including the change).
    changepoints : list of int
        Position of the change (empty when there is none).
    params : dict
        Every parameter drawn (level, trend, curvature, seasonal amplitude, ar, noise_sd, size,
        change, change_size).
    """

    y: pd.Series
    mean: np.ndarray
    changepoints: list[int]
    params: dict[str, Any]


def simulate_crime_series(n: int, kind: str = "monthly_counts", *, change: str | None = None,
                          change_size: float = 0.15, change_at: int | None = None,
                          ar_max: float = 0.6, random_seed: Any = None,
                          **overrides: float) -> CrimeSeries:
    """Draw one realistic series, with no change or with one known change.

    Log expected value at period $t$ (of $n$; $u_t = t/(n-1) - \\tfrac12$):

    $$
    \\log\\mu_t = \\log L + \\beta u_t + \\gamma (u_t^2 - \\tfrac1{12}) + s_{m(t)} + a_t
    + \\delta\\,1[t \\ge \\tau] + \\kappa (t - \\tau)_+ ,
    $$

    with $a_t$ an AR(1) process (coefficient $\\phi$, stationary SD $\\sigma$), $s$ a seasonal
    pattern (monthly only: a sinusoid of amplitude $A$ and random phase plus month effects of
    SD $A/5$), and either a step $\\delta$ (``change="level"``) or a change of slope $\\kappa$
    (``change="slope"``, per period, so that the level is ``change_size`` higher after
    $\\min(24, n/3)$ periods) at $\\tau$. Observations:

    * ``"monthly_counts"``: negative binomial counts with mean $\\mu_t$ and size $r$;
      defaults drawn as $L \\sim$ log-uniform(200, 5,000) a month, $\\beta \\sim U(-0.5, 0.5)$
      (change of log level over the series), $\\gamma \\sim U(-0.3, 0.3)$,
      $A \\sim U(0, 0.15)$, $\\phi \\sim U(0, \\text{ar\\_max})$,
      $\\sigma \\sim U(0.02, 0.06)$, $r \\sim$ log-uniform(200, 2,000): month-to-month
      noise beyond Poisson of about 3–9%, as in Northern Ireland's offence series of 200 to
      9,000 crimes a month (median 6.5%, lag-1 autocorrelation 0.2–0.5, seasonal amplitude
      7–17%, April 2015 – February 2020);
    * ``"annual_rates"``: rates per 1,000 residents, negative binomial counts in a population
      of log-uniform(200,000, 2 million) divided by it; $L \\sim$ log-uniform(5, 100),
      $\\beta \\sim U(-0.8, 0.8)$, $\\gamma \\sim U(-0.5, 0.5)$, no seasonality,
      $\\sigma \\sim U(0.03, 0.08)$, $r \\sim$ log-uniform(50, 500).

    Parameters
    ----------
    n : int
        Number of periods (months or years).
    kind : {"monthly_counts", "annual_rates"}
        What to draw.
    change : {None, "level", "slope"}
        No change (default), a step in level, or a change of slope.
    change_size : float
        Relative size of the change (0.15 = 15% higher after the change; negative for falls).
    change_at : int, optional
        Period of the change (default: uniform in the middle third of the series).
    ar_max : float
        Largest AR(1) coefficient drawn.
    random_seed : int, numpy.random.Generator or None
        Seed.
    **overrides : float
        Fix any drawn parameter: ``level``, ``trend``, ``curvature``, ``seasonal``, ``ar``,
        ``noise_sd``, ``size``, ``population``.

    Returns
    -------
    CrimeSeries

    Examples
    --------
    >>> from crimestats.datasets import simulate_crime_series
    >>> sim = simulate_crime_series(60, change="level", change_at=30, random_seed=1)
    >>> len(sim.y), sim.changepoints, str(sim.y.index[30])
    (60, [30], '2020-07')
    >>> bool(sim.mean[30] / sim.mean[29] > 1.1)
    True
    """
    kind = check_choice(kind, "kind", CRIME_SERIES_KINDS)
    if change is not None:
        change = check_choice(change, "change", ("level", "slope"))
    if not isinstance(n, (int, np.integer)) or n < 6:
        raise InputError(f"`n` must be an integer of at least 6; received {n!r}.")
    known = {"level", "trend", "curvature", "seasonal", "ar", "noise_sd", "size", "population"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise InputError(f"unknown parameters {unknown}; allowed: {sorted(known)}.")
    rng = as_rng(random_seed)
    monthly = kind == "monthly_counts"

    def draw(name: str, value: float) -> float:
        return float(overrides.get(name, value))

    p = {
        "level": draw("level", np.exp(rng.uniform(np.log(200), np.log(5000))) if monthly
                      else np.exp(rng.uniform(np.log(5), np.log(100)))),
        "trend": draw("trend", rng.uniform(-0.5, 0.5) if monthly else rng.uniform(-0.8, 0.8)),
        "curvature": draw("curvature", rng.uniform(-0.3, 0.3) if monthly
                          else rng.uniform(-0.5, 0.5)),
        "seasonal": draw("seasonal", rng.uniform(0.0, 0.15) if monthly else 0.0),
        "ar": draw("ar", rng.uniform(0.0, ar_max)),
        "noise_sd": draw("noise_sd", rng.uniform(0.02, 0.06) if monthly
                         else rng.uniform(0.03, 0.08)),
        "size": draw("size", np.exp(rng.uniform(np.log(200), np.log(2000)) if monthly
                             else rng.uniform(np.log(50), np.log(500)))),
        "population": draw("population", 0.0 if monthly
                           else np.exp(rng.uniform(np.log(2e5), np.log(2e6)))),
    }
    t = np.arange(n)
    u = t / (n - 1) - 0.5
    base = np.log(p["level"]) + p["trend"] * u + p["curvature"] * (u * u - 1.0 / 12.0)
    log_mu = base
    if monthly and p["seasonal"] > 0:
        phase = rng.uniform(0, 2 * np.pi)
        month = rng.normal(0.0, p["seasonal"] / 5.0, 12)
        pattern = p["seasonal"] * np.sin(2 * np.pi * np.arange(12) / 12 + phase) + month
        log_mu = log_mu + (pattern - pattern.mean())[t % 12]
    phi, sd = p["ar"], p["noise_sd"]
    a = np.empty(n)
    eps = rng.normal(0.0, sd * np.sqrt(1 - phi * phi), n)
    a[0] = rng.normal(0.0, sd)
    for i in range(1, n):
        a[i] = phi * a[i - 1] + eps[i]
    cps: list[int] = []
    step = np.zeros(n)
    if change is not None:
        tau = int(change_at) if change_at is not None else int(rng.integers(n // 3, 2 * n // 3 + 1))
        if not 1 <= tau < n:
            raise InputError(f"`change_at` must be between 1 and n - 1; received {change_at!r}.")
        cps = [tau]
        if change == "level":
            step = np.log1p(change_size) * (t >= tau)
        else:
            step = np.log1p(change_size) / min(24.0, n / 3.0) * np.maximum(t - tau + 1, 0)
    p.update(change=change, change_size=float(change_size) if change else 0.0)
    smooth = np.exp(base + step)
    mu = np.exp(log_mu + a + step)
    r = p["size"]
    if monthly:
        y = rng.negative_binomial(r, r / (r + mu)).astype(float)
        index = pd.period_range("2018-01", periods=n, freq="M")
        return CrimeSeries(pd.Series(y, index=index, name="offences"), smooth, cps, p)
    pop = p["population"]
    expected = mu * pop / 1000.0
    counts = rng.negative_binomial(r, r / (r + expected)).astype(float)
    index = pd.period_range(2025 - n, periods=n, freq="Y")
    return CrimeSeries(pd.Series(1000.0 * counts / pop, index=index, name="rate_per_1000"),
                       smooth, cps, p)
