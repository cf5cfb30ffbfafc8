"""Simulated areas and count panels with known truth, for validating `crimestats.compare`.

* [`simulate_area_counts`][simulate_area_counts] — counts of areas whose rates vary around a
  target (random effects, lognormal or gamma) with optional clustering of counts and a share of
  genuinely out-of-control areas: the truth behind a funnel plot.
* [`simulate_count_panel`][simulate_count_panel] — yearly counts of many series (forces ×
  offences) with extra-Poisson year-to-year variation, smooth trends, correlated offences
  within a force and a known set of real changes in the latest period(s): the truth behind
  change tests and their false-discovery rate.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .._validate import as_float_array, as_rng, check_choice, check_positive
from ..errors import InputError

__all__ = ["SimulatedAreas", "SimulatedPanel", "simulate_area_counts", "simulate_count_panel"]


@dataclasses.dataclass(frozen=True)
class SimulatedAreas:
    """Counts of areas with known rates.

    Attributes
    ----------
    observed : numpy.ndarray
        Count per area.
    exposure : numpy.ndarray
        Exposure per area.
    rate : numpy.ndarray
        True rate of each area (per unit of exposure).
    in_control : numpy.ndarray
        False for the areas shifted out of the random-effects distribution.
    """

    observed: np.ndarray
    exposure: np.ndarray
    rate: np.ndarray
    in_control: np.ndarray


def simulate_area_counts(exposure: Any, rate: float, *, heterogeneity: str = "lognormal",
                         sd: float = 0.1, clustering: float = 1.0, outliers: float = 0.0,
                         shift: float = 0.5, random_seed: Any = None) -> SimulatedAreas:
    """Counts of areas whose true rates vary around ``rate``.

    True rates: $\\lambda_i = \\lambda_0 e^{\\sigma\\varepsilon_i - \\sigma^2/2}$
    (``"lognormal"``) or $\\lambda_0 G_i$, $G_i \\sim \\text{Gamma}(1/\\sigma^2, \\sigma^2)$
    (``"gamma"``), both with mean $\\lambda_0$ and coefficient of variation about
    $\\sigma$ = ``sd``. A share ``outliers`` of the areas is moved out of control,
    $\\lambda_i e^{\\pm \\text{shift}}$. Counts: Poisson($\\lambda_i n_i$), or with
    ``clustering`` $c > 1$ gamma-Poisson with variance $c\\,\\lambda_i n_i$ (events that come
    in clusters of mean size about $c$, such as repeat victimisation).

    Parameters
    ----------
    exposure : array-like
        Exposure of each area (> 0).
    rate : float
        Target rate $\\lambda_0$ per unit of exposure.
    heterogeneity : {"lognormal", "gamma", "none"}
        Distribution of the true rates.
    sd : float
        Between-area coefficient of variation $\\sigma$.
    clustering : float
        Variance-to-mean ratio of the counts given the rate (1 = Poisson).
    outliers : float
        Share of areas moved out of control.
    shift : float
        Log-rate shift of the out-of-control areas.
    random_seed : int, numpy.random.Generator or None
        Seed.

    Returns
    -------
    SimulatedAreas

    Examples
    --------
    >>> from crimestats.datasets import simulate_area_counts
    >>> sim = simulate_area_counts([1e5, 2e5, 4e5], 0.02, sd=0.1, random_seed=1)
    >>> sim.observed.shape, bool(sim.in_control.all())
    ((3,), True)
    """
    n = as_float_array(exposure, "exposure")
    check_positive(n, "exposure")
    kind = check_choice(heterogeneity, "heterogeneity", ["lognormal", "gamma", "none"])
    if not (rate > 0 and sd >= 0 and clustering >= 1 and 0 <= outliers < 1):
        raise InputError("Need rate > 0, sd >= 0, clustering >= 1 and 0 <= outliers < 1.")
    rng = as_rng(random_seed)
    m = n.size
    if kind == "lognormal":
        lam = rate * np.exp(sd * rng.standard_normal(m) - sd**2 / 2)
    elif kind == "gamma" and sd > 0:
        lam = rate * rng.gamma(1.0 / sd**2, sd**2, m)
    else:
        lam = np.full(m, float(rate))
    in_control = np.ones(m, dtype=bool)
    n_out = int(round(outliers * m))
    if n_out:
        moved = rng.choice(m, n_out, replace=False)
        in_control[moved] = False
        lam[moved] *= np.exp(shift * rng.choice([-1.0, 1.0], n_out))
    mu = lam * n
    if clustering > 1:
        mu = rng.gamma(mu / (clustering - 1.0), clustering - 1.0)
    return SimulatedAreas(rng.poisson(mu).astype(float), n, lam, in_control)


@dataclasses.dataclass(frozen=True)
class SimulatedPanel:
    """A long table of yearly counts with known changes.

    Attributes
    ----------
    data : pandas.DataFrame
        Columns ``force``, ``offence``, ``year``, ``count`` and ``mean`` (the true mean).
    changed : pandas.Series
        True for the series (indexed by ``(force, offence)``) given a real change in the
        latest window.
    """

    data: pd.DataFrame
    changed: pd.Series


def simulate_count_panel(n_forces: int = 43, n_offences: int = 10, n_years: int = 16, *,
                         window: int = 1, kappa: Any = 0.004, shared: float = 0.0,
                         trend: str = "kink", autocorrelation: float = 0.0,
                         changed: float = 0.0, change: float = 0.25,
                         size: tuple[float, float] = (200.0, 20000.0),
                         random_seed: Any = None) -> SimulatedPanel:
    """Yearly counts of forces × offences, flat over the compared windows unless changed.

    For series $s$ and year $t$, $\\log\\mu_{st} = \\log b_s + g_s(t) + u_{st}$ and
    $y_{st} \\sim \\text{NegBin}(\\mu_{st}, \\kappa)$, variance $\\mu + \\kappa\\mu^2$.
    The trend $g_s$ is zero over the last ``2 * window`` years (the null: no change between
    the windows compared) and before that ``"kink"`` (linear, random slope), ``"curve"``
    (quadratic) or ``"flat"``. $u_{st}$ holds a force × year shock of variance ``shared``
    common to all offences of a force (positively correlated tests) and, with
    ``autocorrelation`` $\\rho$, the NB extra variation becomes an AR(1) lognormal level
    instead. A share ``changed`` of the series is multiplied by $e^{\\pm\\text{change}}$ in
    the latest ``window`` years.

    Parameters
    ----------
    n_forces, n_offences, n_years : int
        Panel size.
    window : int
        Length of the compared windows (1: year on year, 3: three-year averages).
    kappa : float or sequence of float
        Extra-Poisson variance of the counts (squared coefficient of variation); one value
        per offence to make the offences differ.
    shared : float
        Variance of the force × year shock shared by a force's offences.
    trend : {"kink", "curve", "flat"}
        Shape of the history before the compared windows.
    autocorrelation : float
        AR(1) coefficient of the extra variation (0: independent years, NB counts).
    changed : float
        Share of series with a real change.
    change : float
        Size of a real change on the log scale.
    size : (float, float)
        Range of the series' yearly counts (log-uniform).
    random_seed : int, numpy.random.Generator or None
        Seed.

    Returns
    -------
    SimulatedPanel

    Examples
    --------
    >>> from crimestats.datasets import simulate_count_panel
    >>> sim = simulate_count_panel(3, 2, 8, changed=0.5, random_seed=0)
    >>> sim.data.shape, int(sim.changed.sum())
    ((48, 5), 3)
    """
    rng = as_rng(random_seed)
    shape = check_choice(trend, "trend", ["kink", "curve", "flat"])
    kappas = np.broadcast_to(np.asarray(kappa, dtype=float), (n_offences,))
    if n_years < 2 * window + 1 or not 0 <= changed <= 1 or (kappas < 0).any() or shared < 0:
        raise InputError("Need n_years > 2 * window, 0 <= changed <= 1, kappa >= 0, "
                         "shared >= 0 (and one kappa per offence if several).")
    s = n_forces * n_offences
    kap = np.tile(kappas, n_forces)[:, None]
    t = np.arange(n_years)
    start = n_years - 2 * window
    base = np.exp(rng.uniform(np.log(size[0]), np.log(size[1]), s))
    before = np.minimum(t - start, 0)[None, :]
    if shape == "kink":
        g = rng.normal(0.0, 0.05, (s, 1)) * before
    elif shape == "curve":
        g = rng.normal(0.0, 0.004, (s, 1)) * before**2
    else:
        g = np.zeros((s, n_years))
    force = np.repeat(np.arange(n_forces), n_offences)
    shock = rng.normal(0.0, np.sqrt(shared), (n_forces, n_years))[force] if shared else 0.0
    log_mu = np.log(base)[:, None] + g + shock
    if autocorrelation:
        noise = np.empty((s, n_years))
        noise[:, 0] = rng.standard_normal(s)
        for j in range(1, n_years):
            noise[:, j] = (autocorrelation * noise[:, j - 1]
                           + np.sqrt(1 - autocorrelation**2) * rng.standard_normal(s))
        log_mu = log_mu + np.sqrt(np.log1p(kap)) * noise - np.log1p(kap) / 2
    is_changed = np.zeros(s, dtype=bool)
    n_changed = int(round(changed * s))
    if n_changed:
        pick = rng.choice(s, n_changed, replace=False)
        is_changed[pick] = True
        log_mu[pick, n_years - window:] += change * rng.choice([-1.0, 1.0], n_changed)[:, None]
    mu = np.exp(log_mu)
    if autocorrelation:
        lam = mu
    else:
        safe = np.where(kap > 0, kap, 1.0)
        lam = np.where(kap > 0, rng.gamma(1.0 / safe * np.ones_like(mu), safe * mu), mu)
    counts = rng.poisson(lam)
    forces = [f"force {i + 1:02d}" for i in range(n_forces)]
    offences = [f"offence {j + 1:02d}" for j in range(n_offences)]
    index = pd.MultiIndex.from_product([forces, offences], names=["force", "offence"])
    data = pd.DataFrame({
        "force": np.repeat(index.get_level_values(0), n_years),
        "offence": np.repeat(index.get_level_values(1), n_years),
        "year": np.tile(2000 + t, s), "count": counts.ravel(), "mean": mu.ravel()})
    return SimulatedPanel(data, pd.Series(is_changed, index=index, name="changed"))
