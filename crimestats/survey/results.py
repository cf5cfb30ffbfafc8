"""The result object of the survey functions (direct estimates, smoothed variances)."""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any

import numpy as np

from ..results import Result

__all__ = ["SurveyEstimates"]


@dataclasses.dataclass(frozen=True)
class SurveyEstimates(Result):
    """Design-based direct estimates per area (and period), as returned by `direct_estimates`
    and `smooth_variances`.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over ``area`` (and ``period``): ``estimate``, ``variance``, ``se``, ``cv``, ``lower``,
        ``upper``, ``n``, ``deff``, ``flag`` and the rest described in `direct_estimates`;
        after `smooth_variances` also ``variance_raw``, ``variance_smoothed`` and
        ``replaced``. The estimator, level and variance function are in ``attrs``.
    level : float
        Level of the intervals.

    Notes
    -----
    For code written when these functions returned the dataset itself, ``result["estimate"]``
    and ``"flag" in result`` read ``result.estimates``.

    Examples
    --------
    >>> import pandas as pd
    >>> from crimestats.survey import direct_estimates
    >>> df = pd.DataFrame({"area": ["a", "a", "b", "b"], "weight": [1.0, 2.0, 1.0, 1.0],
    ...                    "victim": [1, 0, 0, 1]})
    >>> res = direct_estimates(df, y="victim", area="area", weight="weight")
    >>> type(res).__name__, res.estimates["estimate"].values.round(3).tolist()
    ('SurveyEstimates', [0.333, 0.5])
    >>> import json
    >>> len(json.dumps(res.to_dict(), allow_nan=False)) > 0
    True
    """

    level: float = 0.95

    def __getitem__(self, key: Hashable | list[Hashable]) -> Any:
        """``result[name]`` is ``result.estimates[name]`` (the dataset these functions used to
        return)."""
        return self.estimates[key]

    def __contains__(self, key: object) -> bool:
        return key in self.estimates

    def summary(self) -> str:
        """Plain-text report: areas, respondents, flags and the estimate range."""
        est = self.estimates
        flags = est["flag"].values.ravel().tolist()
        counts = {f: flags.count(f) for f in dict.fromkeys(flags)}
        values = est["estimate"].values
        shown = values[np.isfinite(values)]
        lines = [f"Direct estimates ({est.attrs.get('outcome', 'outcome')}), "
                 f"{dict(est.sizes)}, respondents={int(np.nansum(est['n'].values))}",
                 "flags: " + ", ".join(f"{k} {v}" for k, v in counts.items())]
        if shown.size:
            lines.append(f"estimates: median {np.median(shown):.4g}, "
                         f"range {shown.min():.4g}–{shown.max():.4g}")
        if "replaced" in est:
            lines.append(f"variances replaced by the {est.attrs.get('gvf_method')} variance "
                         f"function: {int(est['replaced'].values.sum())}")
        return "\n".join(lines)

