"""Estimators of over-dispersion for funnel plots: the multiplicative factor and the additive variance.

Given z-scores $z_i = (Y_i - T)/s_i$ of $m$ areas on a scale (see ``_scales``), two models of
extra-binomial or extra-Poisson variation are estimated (Spiegelhalter 2005a, 2005b):

* multiplicative: $\\operatorname{Var}(Y_i) = \\phi\\, s_i^2$;
* additive (random effects): $\\operatorname{Var}(Y_i) = s_i^2 + \\tau^2$, with the
  DerSimonian–Laird moment estimator
  $\\hat\\tau^2 = \\max\\{0, (m\\hat\\phi - (m - 1)) / (\\sum_i w_i - \\sum_i w_i^2/\\sum_i w_i)\\}$,
  $w_i = 1/s_i^2$.

The estimators differ in how they resist areas that are genuinely out of control:

* ``winsorised`` — Spiegelhalter (2005): $\\hat\\phi$ is the mean of the $z_i^2$ after each
  tail of the $z$-scores is pulled in to its ``trim`` quantile; $\\hat\\tau^2$ by
  DerSimonian–Laird. This is the published method (and ``sr_method="CQC"`` of R FunnelPlotR).
  Winsorising also pulls in the tails of in-control areas, so it underestimates the
  dispersion (by a third for normal z-scores at 10%): see the validation page.
* ``truncated`` — NHS Digital SHMI: the areas in the lowest and highest ``trim`` of the
  ranks are dropped, then as above on the rest (``sr_method="SHMI"`` of R FunnelPlotR).
* ``robust`` (default) — the winsorised estimating equations made consistent: $\\tau^2$ solves
  $\\frac1m\\sum_i \\min\\{r_i^2, k^2\\} = \\frac{m-1}{m}\\, c(k)$ with
  $r_i = (Y_i - T)/\\sqrt{s_i^2 + \\tau^2}$, $k = \\Phi^{-1}(1 - \\text{trim})$ and
  $c(k) = E\\min(Z^2, k^2) = 2\\Phi(k) - 1 - 2k\\varphi(k) + 2k^2\\{1 - \\Phi(k)\\}$;
  $\\phi$ solves the same equation with $r_i = z_i/\\sqrt\\phi$. Standardising by the total
  standard deviation before winsorising makes the residuals identically distributed under the
  model, so the estimate is unbiased for in-control data and bounded-influence for outliers
  (a Huber-type scale M-estimator; with ``trim=0`` it is the Paule–Mandel estimator).
* ``moments`` — no trimming: $\\hat\\phi = \\frac1m \\sum z_i^2$.

Private module; the public registry is `crimestats.compare.DISPERSION_ESTIMATORS`.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable
from typing import ClassVar

import numpy as np
from scipy import optimize, stats

__all__ = ["Dispersion", "DispersionEstimator", "Robust", "Winsorised", "Truncated", "Moments",
           "DISPERSION_ESTIMATORS"]


@dataclasses.dataclass(frozen=True)
class Dispersion:
    """Estimated over-dispersion: multiplicative ``phi``, additive ``tau2``, areas used."""

    phi: float
    tau2: float
    n_used: int


class DispersionEstimator(abc.ABC):
    """Estimates $\\phi$ and $\\tau^2$ from z-scores and standard errors."""

    name: ClassVar[str]

    @abc.abstractmethod
    def estimate(self, z: np.ndarray, s: np.ndarray, trim: float) -> Dispersion:
        """$\\hat\\phi$, $\\hat\\tau^2$ and the number of areas used."""


def dersimonian_laird(phi: float, s: np.ndarray) -> float:
    """$\\hat\\tau^2$ from $\\hat\\phi$ and the standard errors of the areas it was computed on."""
    m = s.size
    w = 1.0 / s**2
    denom = w.sum() - (w**2).sum() / w.sum()
    if m * phi <= m - 1 or denom <= 0:
        return 0.0
    return float((m * phi - (m - 1)) / denom)


@dataclasses.dataclass(frozen=True)
class Winsorised(DispersionEstimator):
    """Spiegelhalter (2005): mean squared winsorised z-score, DerSimonian–Laird $\\tau^2$."""

    name: ClassVar[str] = "winsorised"

    def estimate(self, z: np.ndarray, s: np.ndarray, trim: float) -> Dispersion:
        low, high = np.quantile(z, [trim, 1.0 - trim])
        phi = float(np.mean(np.clip(z, low, high) ** 2))
        return Dispersion(phi, dersimonian_laird(phi, s), z.size)


@dataclasses.dataclass(frozen=True)
class Truncated(DispersionEstimator):
    """NHS Digital SHMI: drop the areas in the outer ``trim`` of the ranks, then as above."""

    name: ClassVar[str] = "truncated"

    def estimate(self, z: np.ndarray, s: np.ndarray, trim: float) -> Dispersion:
        groups = 1.0 / trim
        band = np.floor(stats.rankdata(z) * groups / (z.size + 1))
        keep = (band > 0) & (band < groups - 1)
        phi = float(np.mean(z[keep] ** 2))
        return Dispersion(phi, dersimonian_laird(phi, s[keep]), int(keep.sum()))


@dataclasses.dataclass(frozen=True)
class Moments(DispersionEstimator):
    """No trimming: $\\hat\\phi = \\frac1m\\sum_i z_i^2$, DerSimonian–Laird $\\tau^2$."""

    name: ClassVar[str] = "moments"

    def estimate(self, z: np.ndarray, s: np.ndarray, trim: float) -> Dispersion:
        phi = float(np.mean(z**2))
        return Dispersion(phi, dersimonian_laird(phi, s), z.size)


def winsorised_second_moment(k: float) -> float:
    """$c(k) = E\\min(Z^2, k^2)$ for a standard normal $Z$ (1 when $k$ is infinite)."""
    if not np.isfinite(k):
        return 1.0
    return float(2 * stats.norm.cdf(k) - 1 - 2 * k * stats.norm.pdf(k)
                 + 2 * k * k * stats.norm.sf(k))


def _solve_decreasing(f: Callable[[float], float], low: float, start: float) -> float:
    """Root above ``low`` of a decreasing function with $f(\\text{low}) > 0$."""
    high = start
    while f(high) > 0:
        low, high = high, high * 4.0
    return float(optimize.brentq(f, low, high, xtol=1e-15 * high, rtol=1e-12))


@dataclasses.dataclass(frozen=True)
class Robust(DispersionEstimator):
    """Consistent winsorised estimating equations for $\\tau^2$ and $\\phi$ (the default)."""

    name: ClassVar[str] = "robust"

    def estimate(self, z: np.ndarray, s: np.ndarray, trim: float) -> Dispersion:
        m = z.size
        k = stats.norm.isf(trim) if trim > 0 else np.inf
        target = winsorised_second_moment(k) * (m - 1) / m
        k2 = k * k

        def tau_equation(tau2: float) -> float:
            return float(np.mean(np.minimum(z**2 / (1.0 + tau2 / s**2), k2)) - target)

        def phi_equation(phi: float) -> float:
            return float(np.mean(np.minimum(z**2 / phi, k2)) - target)

        tau2 = 0.0 if tau_equation(0.0) <= 0 else _solve_decreasing(
            tau_equation, 0.0, float(np.median(s**2)))
        mean_square = float(np.mean(z**2))
        phi = 0.0 if mean_square == 0 else _solve_decreasing(
            phi_equation, 1e-9 * mean_square, mean_square)
        return Dispersion(phi, tau2, m)


#: Dispersion estimators by name.
DISPERSION_ESTIMATORS: dict[str, DispersionEstimator] = {
    e.name: e for e in (Robust(), Winsorised(), Truncated(), Moments())}
