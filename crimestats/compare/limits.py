"""Funnel-plot control limits: each method is a small object in the registry `FUNNEL_LIMITS`.

A method turns the target $\\theta_0$, an area's exposure $n$ (population, cases, expected
count) and a two-sided level $1 - 2p$ (0.95, 0.998) into the limits $y_p, y_{1-p}$ an
in-control area's rate falls between with that probability, and gives each area a two-sided
p-value. Adding a method is one class here (or in a file of its own) and its registration.

| name | limits | over-dispersion |
|---|---|---|
| ``exact`` | Poisson or binomial quantiles at $\\theta_0 n$, interpolated (Spiegelhalter 2005a, A.1.1) | none |
| ``chisq`` | $\\chi^2$ (Garwood) form of the Poisson limits, as R FunnelPlotR draws them | none |
| ``normal`` | $T \\pm z_p s_i$ on the chosen scale | none |
| ``multiplicative`` | $T \\pm z_p \\sqrt{\\phi}\\, s_i$ | $\\phi$ (not below 1) |
| ``additive`` | $T \\pm z_p \\sqrt{s_i^2 + \\tau^2}$ | $\\tau^2$ (random effects) |

$T = f(\\theta_0)$ and $s_i$ are the target and standard error on the scale (``sqrt`` for rates,
``arcsine`` for proportions by default); limits are mapped back with $f^{-1}$.

Exact limits (Spiegelhalter 2005a, Appendix A.1.1): with $F$ the Poisson($\\theta_0 n$) or
binomial($n, \\theta_0$) distribution function, $r_p$ the smallest count with
$F(r_p) \\ge p$ and $\\alpha = \\{F(r_p) - p\\}/\\{F(r_p) - F(r_p - 1)\\}$,

$$
y_p = (r_p - \\alpha) / n ,
$$

which interpolates between the attainable counts so the limits form a smooth funnel.

References
----------
Spiegelhalter, D. J. (2005a). Funnel plots for comparing institutional performance.
*Statistics in Medicine* 24, 1185–1202.

Spiegelhalter, D. J. (2005b). Handling over-dispersion of performance indicators.
*Quality and Safety in Health Care* 14, 347–351.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import ClassVar

import numpy as np
from scipy import stats

from ..errors import InputError
from ._scales import Scale

__all__ = ["FunnelModel", "FunnelLimits", "ExactLimits", "ChiSquareLimits", "NormalLimits",
           "MultiplicativeLimits", "AdditiveLimits", "FUNNEL_LIMITS"]


@dataclasses.dataclass(frozen=True)
class FunnelModel:
    """What the limits need: family, target, scale and the estimated over-dispersion.

    Attributes
    ----------
    family : str
        ``"poisson"`` (rates, standardised ratios) or ``"binomial"`` (proportions).
    target : float
        $\\theta_0$, per unit of exposure (not multiplied by ``per``).
    scale : Scale
        Scale of the normal limits and z-scores.
    phi : float
        Multiplicative over-dispersion factor (1 when not estimated).
    tau2 : float
        Additive between-area variance on the scale (0 when not estimated).
    """

    family: str
    target: float
    scale: Scale
    phi: float = 1.0
    tau2: float = 0.0

    def distribution(self, exposure: np.ndarray) -> stats.rv_discrete:
        """The count distribution of an in-control area of exposure ``exposure``."""
        n = np.asarray(exposure, dtype=float)
        if self.family == "binomial":
            return stats.binom(np.round(n).astype(np.int64), self.target)
        return stats.poisson(self.target * n)


class FunnelLimits(abc.ABC):
    """A funnel-limit method: limits at a two-sided level and per-area p-values."""

    name: ClassVar[str]
    #: Whether the method uses the estimated over-dispersion.
    uses_dispersion: ClassVar[bool] = False
    #: Families the method is defined for.
    families: ClassVar[tuple[str, ...]] = ("poisson", "binomial")

    @abc.abstractmethod
    def limits(self, model: FunnelModel, exposure: np.ndarray, level: float
               ) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper limits of the rate (per unit of exposure) at ``level``."""

    @abc.abstractmethod
    def test(self, model: FunnelModel, observed: np.ndarray, exposure: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        """Standardised score and two-sided p-value of each area against the target."""

    def describe(self, model: FunnelModel) -> str:
        """One line naming the method and what it estimated."""
        return self.name

    def check(self, family: str) -> None:
        """Raise [`InputError`][crimestats.InputError] if the method is not defined for ``family``."""
        if family not in self.families:
            raise InputError(f"method={self.name!r} is defined for {', '.join(self.families)} "
                             f"data only; use method='exact' for {family} data.")


def _exact_quantile(model: FunnelModel, exposure: np.ndarray, p: float) -> np.ndarray:
    """Spiegelhalter's interpolated quantile $y_p = (r_p - \\alpha)/n$ of the rate."""
    dist = model.distribution(exposure)
    r = dist.ppf(p)
    at, below = dist.cdf(r), dist.cdf(r - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = np.where(at > below, (at - p) / (at - below), 0.0)
    return np.maximum(r - alpha, 0.0) / np.asarray(exposure, dtype=float)


def _exact_p_value(model: FunnelModel, observed: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """Two-sided exact p-value, twice the smaller tail (capped at 1)."""
    dist = model.distribution(exposure)
    return np.minimum(1.0, 2.0 * np.minimum(dist.cdf(observed), dist.sf(observed - 1)))


def _scale_score(model: FunnelModel, observed: np.ndarray, exposure: np.ndarray,
                 extra: float = 0.0, factor: float = 1.0) -> np.ndarray:
    """$(Y_i - T)/\\sqrt{\\text{factor}\\, s_i^2 + \\text{extra}}$ on the model's scale."""
    scale = model.scale
    s = scale.se(exposure, model.target, model.family)
    y = scale.transform(observed / exposure)
    return (y - scale.transform(np.array(model.target))) / np.sqrt(factor * s**2 + extra)


@dataclasses.dataclass(frozen=True)
class ExactLimits(FunnelLimits):
    """Exact Poisson or binomial limits at the target, interpolated between counts."""

    name: ClassVar[str] = "exact"

    def limits(self, model: FunnelModel, exposure: np.ndarray, level: float
               ) -> tuple[np.ndarray, np.ndarray]:
        p = (1.0 - level) / 2.0
        return _exact_quantile(model, exposure, p), _exact_quantile(model, exposure, 1.0 - p)

    def test(self, model: FunnelModel, observed: np.ndarray, exposure: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        return (_scale_score(model, observed, exposure),
                _exact_p_value(model, observed, exposure))


@dataclasses.dataclass(frozen=True)
class ChiSquareLimits(FunnelLimits):
    """Poisson limits in the $\\chi^2$ form of the exact interval (Garwood 1936), as FunnelPlotR.

    With $\\mu = \\theta_0 n$: $y_p = \\chi^2_{p}(2\\mu) / (2n)$ and
    $y_{1-p} = \\chi^2_{1-p}(2\\mu + 2) / (2n)$ — the exact confidence limits for a Poisson mean
    evaluated at a count equal to its expectation. Slightly wider than ``exact``.
    """

    name: ClassVar[str] = "chisq"
    families: ClassVar[tuple[str, ...]] = ("poisson",)

    def limits(self, model: FunnelModel, exposure: np.ndarray, level: float
               ) -> tuple[np.ndarray, np.ndarray]:
        p = (1.0 - level) / 2.0
        n = np.asarray(exposure, dtype=float)
        mu = model.target * n
        return (stats.chi2.ppf(p, 2.0 * mu) / (2.0 * n),
                stats.chi2.ppf(1.0 - p, 2.0 * mu + 2.0) / (2.0 * n))

    def test(self, model: FunnelModel, observed: np.ndarray, exposure: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        return (_scale_score(model, observed, exposure),
                _exact_p_value(model, observed, exposure))


class _NormalFamily(FunnelLimits):
    """Limits $T \\pm z_p \\sqrt{\\text{factor}\\, s_i^2 + \\text{extra}}$ on the model's scale."""

    def _inflation(self, model: FunnelModel) -> tuple[float, float]:
        """(factor, extra) of the variance $\\text{factor}\\, s_i^2 + \\text{extra}$."""
        return 1.0, 0.0

    def limits(self, model: FunnelModel, exposure: np.ndarray, level: float
               ) -> tuple[np.ndarray, np.ndarray]:
        factor, extra = self._inflation(model)
        scale = model.scale
        half = stats.norm.isf((1.0 - level) / 2.0) * np.sqrt(
            factor * scale.se(exposure, model.target, model.family) ** 2 + extra)
        centre = scale.transform(np.array(model.target))
        return scale.inverse(centre - half), scale.inverse(centre + half)

    def test(self, model: FunnelModel, observed: np.ndarray, exposure: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        factor, extra = self._inflation(model)
        z = _scale_score(model, observed, exposure, extra, factor)
        return z, 2.0 * stats.norm.sf(np.abs(z))


@dataclasses.dataclass(frozen=True)
class NormalLimits(_NormalFamily):
    """Normal limits on the scale, without over-dispersion: $T \\pm z_p s_i$."""

    name: ClassVar[str] = "normal"


@dataclasses.dataclass(frozen=True)
class MultiplicativeLimits(_NormalFamily):
    """Multiplicative over-dispersion: $T \\pm z_p\\sqrt{\\phi}\\, s_i$ with $\\phi \\ge 1$.

    Suits extra variation proportional to the sampling variance (counts that come in
    clusters, such as repeat victimisation); it widens the limits of small and large areas
    alike, in proportion.
    """

    name: ClassVar[str] = "multiplicative"
    uses_dispersion: ClassVar[bool] = True

    def _inflation(self, model: FunnelModel) -> tuple[float, float]:
        return max(model.phi, 1.0), 0.0

    def describe(self, model: FunnelModel) -> str:
        return f"multiplicative (phi = {model.phi:.4g})"


@dataclasses.dataclass(frozen=True)
class AdditiveLimits(_NormalFamily):
    """Additive (random-effects) over-dispersion: $T \\pm z_p\\sqrt{s_i^2 + \\tau^2}$.

    Suits true differences between areas' underlying rates that no exposure can average away:
    the limits stop narrowing once $s_i^2$ is small against $\\tau^2$, so large areas are
    not flagged for ordinary between-area variation (Spiegelhalter 2005b recommends it).
    """

    name: ClassVar[str] = "additive"
    uses_dispersion: ClassVar[bool] = True

    def _inflation(self, model: FunnelModel) -> tuple[float, float]:
        return 1.0, model.tau2

    def describe(self, model: FunnelModel) -> str:
        return f"additive (tau2 = {model.tau2:.4g} on the {model.scale.name} scale)"


#: Funnel-limit methods by name.
FUNNEL_LIMITS: dict[str, FunnelLimits] = {m.name: m for m in (
    ExactLimits(), ChiSquareLimits(), NormalLimits(), MultiplicativeLimits(), AdditiveLimits())}

