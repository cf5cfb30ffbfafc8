"""The linear-Gaussian observation model: rows, fixed effects, smooth incidence and loadings.

Each observed series is a *block* of rows on the log scale. A block's rows are weighted
averages of the latent per-period paths (``weights``, rows × periods): the identity for
recorded crime, month-overlap weights for a survey on another calendar. Stacking the blocks
gives

$$
\\mathbf y = X\\beta + S u + \\sum_c L_c\\, G_c\\, \\delta_c + \\varepsilon, \\qquad
\\varepsilon \\sim N\\big(0, \\operatorname{diag}(v + \\tau^2 r)\\big),
$$

with $X$ the levels and linear trends (flat priors), $S u$ the smooth part of every incidence
curve ($u \\sim N(0, \\sigma^2 I)$, second differences of the log incidence), $L_c$ the
loading of component $c$ on the rows, $G_c$ the patterns of its changes, $v$ the known
sampling variances and $r$ the indicator of recorded-crime rows (which carry the extra
year-to-year noise $\\tau$).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Block", "Design", "build_design", "smooth_basis"]


@dataclasses.dataclass(frozen=True)
class Block:
    """One observed series on the log scale.

    Attributes
    ----------
    values, variance : numpy.ndarray
        Log observations and their sampling variances (``(m,)``).
    weights : numpy.ndarray
        ``(m, T)`` weights of the periods in each row (rows sum to 1).
    """

    values: np.ndarray
    variance: np.ndarray
    weights: np.ndarray


def smooth_basis(T: int) -> np.ndarray:
    """$Z = D^\\top (D D^\\top)^{-1}$, ``(T, T-2)``: $D Z u = u$ for the second differences $D$.

    With flat priors on a level and a linear trend, $Zu$ with $u \\sim N(0, \\sigma^2 I)$ is the
    integrated random walk (second-order random walk) of the smoothing-spline mixed model.

    Examples
    --------
    >>> Z = smooth_basis(6)
    >>> np.allclose(np.diff(Z, n=2, axis=0), np.eye(4))
    True
    """
    D = np.diff(np.eye(T), n=2, axis=0)
    return D.T @ np.linalg.inv(D @ D.T)


@dataclasses.dataclass(frozen=True)
class Design:
    """The stacked model of all blocks.

    Attributes
    ----------
    y, variance : numpy.ndarray
        Observations and known sampling variances, ``(n,)``.
    noisy : numpy.ndarray
        Rows of recorded crime (they get the extra variance $\\tau^2$).
    fixed : numpy.ndarray
        ``(n, k)`` columns with flat priors.
    smooth : numpy.ndarray
        ``(n, m)`` loadings of the smooth deviations $u$ of every incidence curve.
    loads : dict
        Component code → ``(n, T)`` loading of its path on the rows.
    T : int
        Number of periods.
    target_trend : int
        Column of ``fixed`` holding the target's incidence trend.
    target_smooth : slice
        Columns of ``smooth`` of the target's incidence curve.
    trend : numpy.ndarray
        The trend covariate over periods (centred, per period / T).
    """

    y: np.ndarray
    variance: np.ndarray
    noisy: np.ndarray
    fixed: np.ndarray
    smooth: np.ndarray
    loads: dict[int, np.ndarray]
    T: int
    target_trend: int
    target_smooth: slice
    trend: np.ndarray

    @property
    def n(self) -> int:
        """Number of observation rows."""
        return self.y.size


def build_design(T: int, recorded: Block, survey: Block, share: Block | None,
                 controls: list[tuple[Block, Block]]) -> Design:
    """Stack the target, its survey, the reported share and the controls into one model.

    Components: 0 incidence (recorded and survey rows of the target), 1 reporting (recorded
    target rows and the reported share), 2 recording (recorded rows of the target and of every
    control).
    """
    trend = (np.arange(T) - (T - 1) / 2.0) / T
    Z = smooth_basis(T)
    blocks: list[Block] = [recorded, survey]
    if share is not None:
        blocks.append(share)
    for pair in controls:
        blocks += list(pair)
    n = sum(b.values.size for b in blocks)
    rows = np.cumsum([0, *[b.values.size for b in blocks]])
    y = np.concatenate([b.values for b in blocks])
    variance = np.concatenate([b.variance for b in blocks])
    noisy = np.zeros(n, dtype=bool)
    fixed_cols: list[np.ndarray] = []
    smooth_cols: list[np.ndarray] = []
    loads = {c: np.zeros((n, T)) for c in ((0, 1, 2) if controls else (0, 1))}

    def put(block_no: int, matrix: np.ndarray) -> np.ndarray:
        """A full-height copy of ``matrix`` placed on the rows of one block."""
        out = np.zeros((n, matrix.shape[1]))
        out[rows[block_no]:rows[block_no + 1]] = matrix
        return out

    def incidence_curve(rec_no: int, sur_no: int) -> tuple[int, slice]:
        """Level of recorded (capture), incidence level and trend, smooth deviations."""
        w_rec, w_sur = blocks[rec_no].weights, blocks[sur_no].weights
        fixed_cols.append(put(rec_no, np.ones((w_rec.shape[0], 1))))          # capture level
        both = put(rec_no, w_rec) + put(sur_no, w_sur)                        # incidence path
        fixed_cols.append(both @ np.ones((T, 1)))
        fixed_cols.append(both @ trend[:, None])
        first = sum(c.shape[1] for c in smooth_cols)
        smooth_cols.append(both @ Z)
        noisy[rows[rec_no]:rows[rec_no + 1]] = True
        return sum(c.shape[1] for c in fixed_cols) - 1, slice(first, first + T - 2)

    target_trend, target_smooth = incidence_curve(0, 1)
    loads[0] = put(0, recorded.weights) + put(1, survey.weights)
    loads[1] = put(0, recorded.weights)
    k = 2
    if share is not None:
        fixed_cols.append(put(2, np.ones((share.values.size, 1))))
        loads[1] = loads[1] + put(2, share.weights)
        k = 3
    if controls:
        loads[2] = put(0, recorded.weights)
        for j in range(len(controls)):
            rec_no, sur_no = k + 2 * j, k + 2 * j + 1
            incidence_curve(rec_no, sur_no)
            loads[2] = loads[2] + put(rec_no, blocks[rec_no].weights)
    return Design(y=y, variance=variance, noisy=noisy, fixed=np.hstack(fixed_cols),
                  smooth=np.hstack(smooth_cols), loads=loads, T=T, target_trend=target_trend,
                  target_smooth=target_smooth, trend=trend)
