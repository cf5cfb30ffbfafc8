"""What a variance-component method is: an estimating equation for $\\sigma_u^2$ and its moments.

A method of the basic Fay–Herriot model estimates $\\sigma_u^2$ by solving an estimating
equation with Fisher scoring ([`solve`][solve]: one table; `crimestats.sae._engine.batched_eblup`:
a stack of tables). It also knows the asymptotic variance and first-order bias of its estimate,
which the analytic MSE needs ($g_3$ and the Datta–Lahiri bias term). Everything is computed
with $p \\times p$ matrices: $V = \\mathrm{diag}(\\sigma_u^2 + D_i)$ is diagonal.

Methods are registered by name in ``crimestats.sae.area_level.variance.VARIANCE_METHODS``;
adding one is one module plus its registration.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

import numpy as np

__all__ = ["Moments", "VarianceMethod", "solve"]


@dataclasses.dataclass(frozen=True)
class Moments:
    """Asymptotic variance and first-order bias of $\\hat\\sigma_u^2$ (scalars or per table)."""

    variance: Any
    bias: Any


class VarianceMethod(abc.ABC):
    """A way to estimate the area-effect variance $\\sigma_u^2$ of the Fay–Herriot model.

    Attributes
    ----------
    name : str
        Registry key (``method=`` of `fay_herriot` and `fay_herriot_many`).
    label : str
        Name in messages (``"REML"``).
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""

    @abc.abstractmethod
    def equation(self, sigma2_u: float, xt: np.ndarray, y: np.ndarray, d: np.ndarray
                 ) -> tuple[float, float]:
        """The estimating equation at ``sigma2_u`` and the scale of its slope (one table).

        ``xt`` is the in-sample design transposed, shape (p, m), C-contiguous. Fisher scoring
        steps by ``equation / slope``.
        """

    @abc.abstractmethod
    def equations(self, s: np.ndarray, w: np.ndarray, q: np.ndarray, resid: np.ndarray,
                  design: Any, n_in: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same for a stack of tables, at variances ``s`` (T,).

        ``w`` (T, m) are the weights $1/(s + D)$ (0 out of sample), ``q`` (T, p, p) the
        inverses of $X^\\top W X$, ``resid`` (T, m) the GLS residuals; ``design`` forms the
        weighted Gram matrices (`crimestats.sae._engine.batched_eblup.TableDesign`).
        """

    @abc.abstractmethod
    def moments(self, w: np.ndarray, xt: np.ndarray, cov_beta: np.ndarray) -> Moments:
        """Variance and bias of $\\hat\\sigma_u^2$ at the fit (one table; ``w`` in-sample)."""

    @abc.abstractmethod
    def table_moments(self, w: np.ndarray, design: Any, cov: np.ndarray, n_in: np.ndarray
                      ) -> Moments:
        """The same for a stack of tables (``w`` (T, m), ``cov`` (T, p, p))."""

    def fit_statistics(self, w: np.ndarray, resid: np.ndarray, cov_beta: np.ndarray
                       ) -> dict[str, float]:
        """Extra statistics of the fit this method reports (e.g. REML's restricted
        log-likelihood); none by default."""
        return {}


def solve(method: VarianceMethod, x: np.ndarray, y: np.ndarray, d: np.ndarray, *,
          max_iter: int, tol: float) -> tuple[float, bool, int]:
    """Solve ``method``'s estimating equation for $\\sigma_u^2 \\ge 0$ (one table).

    Fisher scoring (Newton with the expected slope) from the median sampling variance, as R
    ``sae`` does. An update that would go below zero is replaced by zero when the equation is
    already non-positive there (the estimate is truncated at zero), else by half the current
    value. ``x`` has shape (m, p). Returns ``(sigma2_u, converged, iterations)``.
    """
    xt = np.ascontiguousarray(x.T)
    scale = float(d.min())
    current = float(np.median(d))
    for iteration in range(1, max_iter + 1):
        score, slope = method.equation(current, xt, y, d)
        proposal = current + score / slope
        if not np.isfinite(proposal):
            return current, False, iteration
        if proposal < 0.0:
            score_at_zero, _ = method.equation(0.0, xt, y, d)
            proposal = 0.0 if score_at_zero <= 0.0 else 0.5 * current
        if abs(proposal - current) <= tol * (proposal + scale):
            return proposal, True, iteration
        current = proposal
    return current, False, max_iter
