"""Bayesian model averaging over decomposable graphical models (R ``dga``)."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import ConvergenceWarning
from .base import FitOptions, Method, MethodFit, register

if TYPE_CHECKING:
    from .._tables import CaptureTable


class GraphAveraging(Method):
    """Madigan & York (1997): exact on a grid of the number missed, at most 6 lists."""

    name = "dga"
    rank = 2
    label = "dga (graph averaging)"
    intervals = ("posterior",)
    max_lists = 6
    description = "averages over decomposable graphs: dependence between lists, not people"

    def fit(self, tab: CaptureTable, options: FitOptions, rng: np.random.Generator,
            diagnostics: dict[str, Any]) -> MethodFit:
        from .. import _dga
        from .._tables import history_codes

        t = tab.n_lists
        delta = 2.0**-t if options.delta is None else float(options.delta)
        full = np.zeros(1 << t)
        full[history_codes(tab.histories)] = tab.counts
        obs = tab.observed
        upper = 20.0 * obs if options.max_missing is None else float(options.max_missing)
        for _ in range(4):
            step = max(1.0, np.ceil(upper / (options.grid_size - 1)))
            grid = np.arange(0.0, upper + step / 2, step)
            post_n, post_g, edges = _dga.bma_posterior(full, t, delta, grid)
            tail = float(post_n[grid >= 0.95 * grid[-1]].sum())
            if options.max_missing is not None or tail < 1e-3:
                break
            upper *= 2
        if tail >= 1e-3:
            warnings.warn(f"The posterior of the number missed has {tail:.2%} of its mass in the "
                          "top 5% of the grid; raise `max_missing`.", ConvergenceWarning,
                          stacklevel=4)
        totals = obs + grid
        cdf = np.cumsum(post_n)
        alpha = (1.0 - options.level) / 2.0
        lo, med, hi = (float(totals[min(np.searchsorted(cdf, q), totals.size - 1)])
                       for q in (alpha, 0.5, 1.0 - alpha))
        mean = float(post_n @ totals)
        order = np.argsort(post_g)[::-1][:10]
        names = tab.lists
        top = [{"edges": [f"{names[i]}:{names[j]}" for i, j in edges[g]],
                "probability": float(post_g[g])} for g in order]
        diagnostics.update({"posterior_mean": mean, "delta": delta, "grid_step": float(step),
                            "grid_max_missing": float(grid[-1]), "upper_tail_mass": tail,
                            "n_graphs": int(post_g.size), "top_models": top})
        return MethodFit(total=med, lower=lo, upper=hi,
                         sd=float(np.sqrt(post_n @ (totals - mean) ** 2)), observed=obs,
                         diagnostics=diagnostics,
                         draws=rng.choice(totals, size=20000, p=post_n / post_n.sum()))


register(GraphAveraging())
