"""Matplotlib figures for crimestats results.

Each function takes a result object, draws on a given :class:`matplotlib.axes.Axes` (or a new
one) and returns the axes. Matplotlib is imported inside the functions, so importing this
module is cheap and matplotlib is needed only to draw (``pip install crimestats[plot]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

__all__ = ["caterpillar_plot"]


def caterpillar_plot(result: Any, *, ax: Any = None, sort: bool = True, show_direct: bool = True,
                     max_labels: int = 60) -> Any:
    """Caterpillar plot: direct and model-based estimates per area, with intervals.

    Each area is a row: the model estimate with its interval (``lower``–``upper`` at
    ``estimates.attrs["level"]``) and, offset slightly, the direct estimate with the normal
    interval ``direct ± z * sqrt(direct_variance)`` at the same level. Out-of-sample areas have
    only the model (synthetic) estimate, drawn with a hollow marker. The narrowing from the
    direct to the model interval shows how much each area borrows strength.

    Parameters
    ----------
    result : FayHerriotResult or another result with area-level ``estimates``
        Needs the variables ``estimate``, ``lower``, ``upper``; ``direct`` and
        ``direct_variance`` are drawn when present and ``show_direct`` is True.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure sized to the number of areas.
    sort : bool
        Order the areas by the model estimate (else keep the result's order).
    show_direct : bool
        Also draw the direct estimates and their intervals.
    max_labels : int
        Label each area on the y axis when there are at most this many areas.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from crimestats.sae import fay_herriot
    >>> from crimestats.plotting import caterpillar_plot
    >>> fit = fay_herriot([0.10, 0.31, 0.12, 0.36, 0.17, 0.29, 0.22, np.nan],
    ...                   [0.0010, 0.0030, 0.0008, 0.0040, 0.0012, 0.0020, 0.0030, np.nan],
    ...                   [[0.1], [0.5], [0.2], [0.9], [0.4], [0.3], [0.8], [0.6]],
    ...                   areas=list("abcdefgh"))
    >>> ax = caterpillar_plot(fit)
    >>> ax.get_xlabel()
    'estimate'
    """
    import matplotlib.pyplot as plt

    est = result.estimates
    level = float(est.attrs.get("level", getattr(result, "level", 0.95)))
    estimate = est["estimate"].values
    order = np.argsort(estimate, kind="stable") if sort else np.arange(estimate.size)
    rows = np.arange(order.size)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, min(2.0 + 0.18 * order.size, 14.0)))

    in_sample = (est["in_sample"].values[order] if "in_sample" in est
                 else np.ones(order.size, dtype=bool))
    offset = 0.2 if show_direct and "direct" in est else 0.0
    if offset:
        z = stats.norm.ppf(0.5 + level / 2.0)
        direct = est["direct"].values[order]
        half = z * np.sqrt(est["direct_variance"].values[order])
        ax.errorbar(direct, rows + offset, xerr=half, fmt="s", ms=3, color="0.55",
                    elinewidth=1, label=f"direct ({level:.0%} interval)")
    lower, upper = est["lower"].values[order], est["upper"].values[order]
    model = estimate[order]
    err = np.vstack([model - lower, upper - model])
    ax.errorbar(model[in_sample], rows[in_sample] - offset, xerr=err[:, in_sample], fmt="o",
                ms=4, color="C0", elinewidth=1.5, label=f"model ({level:.0%} interval)")
    if not in_sample.all():
        out = ~in_sample
        ax.errorbar(model[out], rows[out] - offset, xerr=err[:, out], fmt="o", ms=4,
                    mfc="white", color="C0", elinewidth=1.5, label="model, out of sample")
    if order.size <= max_labels:
        ax.set_yticks(rows, [str(a) for a in est["area"].values[order]])
    else:
        ax.set_yticks([])
    ax.set_ylabel("area")
    ax.set_xlabel("estimate")
    ax.set_ylim(-1, order.size)
    ax.legend(loc="best", fontsize="small")
    return ax
