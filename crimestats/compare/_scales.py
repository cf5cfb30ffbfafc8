"""Scales on which funnel-plot z-scores, dispersion and normal limits are computed.

Each scale is a small object: the transformation $Y = f(\\theta)$ of an area's rate or
proportion, the standard error $s_i$ of $Y_i$ at the target $\\theta_0$ for exposure
$n_i$, and the inverse that maps limits back to the rate. The variance-stabilising scales
make $s_i$ free of $\\theta_0$ (Spiegelhalter et al. 2012):

| scale | $Y$ | $s_i$ (Poisson) | $s_i$ (binomial) |
|---|---|---|---|
| ``identity`` | $\\theta$ | $\\sqrt{\\theta_0 / n_i}$ | $\\sqrt{\\theta_0(1-\\theta_0)/n_i}$ |
| ``sqrt`` | $\\sqrt\\theta$ | $1/(2\\sqrt{n_i})$ | — |
| ``arcsine`` | $\\arcsin\\sqrt\\theta$ | — | $1/(2\\sqrt{n_i})$ |
| ``log`` | $\\log\\theta$ | $1/\\sqrt{n_i\\theta_0}$ | $\\sqrt{(1-\\theta_0)/(n_i\\theta_0)}$ |

Private module; the public registry is `crimestats.compare.SCALES`.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import ClassVar

import numpy as np

from ..errors import InputError

__all__ = ["Scale", "Identity", "SquareRoot", "Arcsine", "Log", "SCALES"]


class Scale(abc.ABC):
    """A transformation of rates or proportions with its standard error at the target."""

    name: ClassVar[str]
    #: Families (``"poisson"``, ``"binomial"``) the scale is defined for.
    families: ClassVar[tuple[str, ...]] = ("poisson", "binomial")

    @abc.abstractmethod
    def transform(self, rate: np.ndarray) -> np.ndarray:
        """$Y = f(\\theta)$."""

    @abc.abstractmethod
    def inverse(self, value: np.ndarray) -> np.ndarray:
        """$\\theta = f^{-1}(Y)$, clipped to the range of a rate (or proportion)."""

    @abc.abstractmethod
    def se(self, exposure: np.ndarray, target: float, family: str) -> np.ndarray:
        """Standard error of $Y$ for an area of exposure $n$ whose true rate is the target."""

    def check(self, family: str, observed: np.ndarray) -> None:
        """Raise if the scale cannot be used for this family or these counts."""
        if family not in self.families:
            other = "arcsine" if family == "binomial" else "sqrt"
            raise InputError(f"scale={self.name!r} is not defined for {family} data; use "
                             f"scale={other!r} (variance-stabilising) or 'identity'.")


@dataclasses.dataclass(frozen=True)
class Identity(Scale):
    """The rate itself: normal limits $\\theta_0 \\pm z\\sqrt{g(\\theta_0)/n}$ (Spiegelhalter 2005)."""

    name: ClassVar[str] = "identity"

    def transform(self, rate: np.ndarray) -> np.ndarray:
        return np.asarray(rate, dtype=float)

    def inverse(self, value: np.ndarray) -> np.ndarray:
        return np.maximum(np.asarray(value, dtype=float), 0.0)

    def se(self, exposure: np.ndarray, target: float, family: str) -> np.ndarray:
        var = target * (1.0 - target) if family == "binomial" else target
        return np.sqrt(var / np.asarray(exposure, dtype=float))


@dataclasses.dataclass(frozen=True)
class SquareRoot(Scale):
    """Square root of a Poisson rate: $s_i = 1/(2\\sqrt{n_i})$ whatever the rate."""

    name: ClassVar[str] = "sqrt"
    families: ClassVar[tuple[str, ...]] = ("poisson",)

    def transform(self, rate: np.ndarray) -> np.ndarray:
        return np.sqrt(np.asarray(rate, dtype=float))

    def inverse(self, value: np.ndarray) -> np.ndarray:
        return np.maximum(np.asarray(value, dtype=float), 0.0) ** 2

    def se(self, exposure: np.ndarray, target: float, family: str) -> np.ndarray:
        return 0.5 / np.sqrt(np.asarray(exposure, dtype=float))


@dataclasses.dataclass(frozen=True)
class Arcsine(Scale):
    """Arcsine square root of a proportion: $s_i = 1/(2\\sqrt{n_i})$."""

    name: ClassVar[str] = "arcsine"
    families: ClassVar[tuple[str, ...]] = ("binomial",)

    def transform(self, rate: np.ndarray) -> np.ndarray:
        return np.arcsin(np.sqrt(np.clip(np.asarray(rate, dtype=float), 0.0, 1.0)))

    def inverse(self, value: np.ndarray) -> np.ndarray:
        return np.sin(np.clip(np.asarray(value, dtype=float), 0.0, np.pi / 2)) ** 2

    def se(self, exposure: np.ndarray, target: float, family: str) -> np.ndarray:
        return 0.5 / np.sqrt(np.asarray(exposure, dtype=float))


@dataclasses.dataclass(frozen=True)
class Log(Scale):
    """Log rate (the NHS Digital SHMI convention for standardised ratios): $s_i = 1/\\sqrt{n_i\\theta_0}$."""

    name: ClassVar[str] = "log"

    def transform(self, rate: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(np.asarray(rate, dtype=float))

    def inverse(self, value: np.ndarray) -> np.ndarray:
        return np.exp(np.asarray(value, dtype=float))

    def se(self, exposure: np.ndarray, target: float, family: str) -> np.ndarray:
        ratio = (1.0 - target) if family == "binomial" else 1.0
        return np.sqrt(ratio / (np.asarray(exposure, dtype=float) * target))

    def check(self, family: str, observed: np.ndarray) -> None:
        super().check(family, observed)
        if np.any(observed == 0):
            raise InputError("scale='log' needs every count above zero (the log of a zero rate "
                             "is minus infinity); use scale='sqrt' (counts) or 'arcsine' "
                             "(proportions), which handle zeros.")


#: Scales by name.
SCALES: dict[str, Scale] = {s.name: s for s in (Identity(), SquareRoot(), Arcsine(), Log())}
