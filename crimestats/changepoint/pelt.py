"""PELT: the optimal segmentation under a penalised likelihood, in linear expected time.

Minimises $\\sum_{j} [C(y_{\\tau_{j-1}+1:\\tau_j}) + \\beta]$ over segmentations with
segments of at least ``min_size`` observations, where $C$ is twice the negative
maximised log-likelihood of a segment, given by each segment model (its ``cost``). The count
and normal costs follow R ``changepoint`` exactly:

* Poisson: $C = 2Y(\\log L - \\log Y)$ ($Y$ the segment total, $L$ its
  length; 0 when $Y = 0$), with exposure $L$ is the summed exposure;
* negative binomial with known size $r$: $C = -2[rE\\log \\hat p +
  Y\\log(1-\\hat p)]$, $\\hat p = rE/(rE + Y)$;
* normal mean and variance: $C = L(\\log 2\\pi + \\log\\hat\\sigma^2 + 1)$ on the
  scale of the robust noise SD, with $\\hat\\sigma^2$ floored at 0.01 (R uses
  $10^{-11}$, which lets two tied values form a segment of their own);
* normal mean (variance 1 after dividing by the robust noise scale): the residual sum of squares.

Penalties ($d$ parameters change at a change point: 1 for Poisson, negative binomial
and normal mean, 2 for normal mean and variance):

* ``"BIC"``: $\\beta = (d + 1)\\log n$;
* ``"MBIC"`` (default; Zhang & Siegmund 2007): $\\beta = (d + 2)\\log n$ plus
  $\\log L$ for every segment — as in R, the Poisson cost of a segment with no events
  carries no $\\log L$ term;
* a number: a manual $\\beta$.

References
----------
Killick, R., Fearnhead, P. & Eckley, I. A. (2012). Optimal detection of changepoints with a
linear computational cost. *JASA* 107, 1590–1598.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .segments import Prepared, SegmentModel

__all__ = ["penalty_value", "pelt_search"]


def penalty_value(penalty: str | float, n: int, diffparam: int) -> tuple[float, bool]:
    """The per-change penalty $\\beta$ and whether the MBIC segment-length term applies.

    Examples
    --------
    >>> pen, seg_term = penalty_value("MBIC", 1000, diffparam=1)
    >>> round(pen, 4), seg_term
    (20.7233, True)
    """
    if isinstance(penalty, str):
        key = penalty.upper()
        if key == "BIC":
            return (diffparam + 1) * float(np.log(n)), False
        if key == "MBIC":
            return (diffparam + 2) * float(np.log(n)), True
        raise InputError(f"`penalty` must be 'MBIC', 'BIC' or a non-negative number; "
                         f"received {penalty!r}.")
    try:
        value = float(penalty)
    except (TypeError, ValueError):
        raise InputError(f"`penalty` must be 'MBIC', 'BIC' or a non-negative number; "
                         f"received {penalty!r}.") from None
    if not (np.isfinite(value) and value >= 0):
        raise InputError(f"a manual `penalty` must be a finite non-negative number; "
                         f"received {penalty!r}.")
    return value, False


def pelt_search(model: SegmentModel, node: Prepared, penalty: float, min_size: int,
                seg_len_term: bool) -> tuple[list[int], float, np.ndarray]:
    """Run PELT with the model's cost; return change points, optimal cost, candidates kept.

    Change points are the indices where a new segment starts (0-based), sorted.
    """
    from . import _kernels

    n = node.stats.shape[0] - 1
    if n < 2 * min_size:
        return [], float("nan"), np.zeros(n + 1, dtype=np.int64)
    back, F, kept = _kernels.pelt(model.cost, node.params, node.stats, float(penalty),
                                  int(min_size), bool(seg_len_term))
    cps = []
    t = n
    while t > 0:
        t = int(back[t])
        if t > 0:
            cps.append(t)
    return sorted(cps), float(F[n]), kept
