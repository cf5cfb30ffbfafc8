"""Result objects of change-point detection."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..results import Result

__all__ = ["ChangepointResult"]


@dataclasses.dataclass(frozen=True)
class ChangepointResult(Result):
    """Change points of one series.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over dimension ``time`` (the series' own labels, e.g. a ``PeriodIndex``): ``y`` (the
        data; NaN at unobserved periods), ``prob_change`` (posterior probability that a new
        segment starts at ``t``; for PELT 1 at its change points and 0 elsewhere),
        ``estimate``, ``sd``, ``lower``, ``upper`` (posterior of the expected value at ``t``
        in the MAP segmentation — its segment's level or trend line; rate per unit of
        exposure for counts, seasonal factor excluded; interval at ``attrs["level"]``),
        ``level`` (the same averaged over segmentations; Bayesian method with draws),
        ``segment`` (segment number) and ``seasonal_factor`` (1 or 0 without seasonality).
        With the Bayesian method and draws also ``prob_n_changes`` over ``n_changes``.
    changepoints : list of int
        Sorted 0-based indices where a new segment starts. Bayesian method: the MAP
        (most probable) segmentation; PELT: the optimal penalised segmentation.
    method, likelihood : str
        ``"bayes"`` or ``"pelt"``; the segment likelihood used.
    segments : pandas.DataFrame
        One row per segment: ``start``, ``end`` (exclusive), ``start_time``, ``estimate``,
        ``sd``, ``lower``, ``upper`` (the segment's average level), ``slope`` (trend within
        the segment: relative change per period for counts, units per period for real values;
        0 for level-only models) and, for the trend models, ``prob_trend`` (posterior
        probability that the segment has a trend).
    prob_any_change : float
        Posterior probability that the series changes at least once (Bayesian method, exact;
        for PELT 1 if it found a change, else 0).
    prior_change : float
        Prior weight $q$ of one change (Bayesian method; see
        [`bayes`][crimestats.changepoint.bayes]).
    penalty : float
        Per-change penalty (PELT).
    log_evidence : float
        Log marginal likelihood of the data (Bayesian; terms that do not depend on the
        segmentation dropped) or the optimal penalised cost (PELT).
    n_changes_prob : numpy.ndarray
        Posterior probability of 0, 1, 2, ... changes, estimated from ``draws`` exact posterior
        draws (Monte Carlo SE at most $0.5/\\sqrt{\\text{draws}}$).
    size : float
        Negative binomial size of the MAP segmentation's grid node (NaN for other models).
    hyperparameters : dict
        Posterior weights of the hyperparameters integrated over a grid: ``{"ar": {0.0:
        0.1, 0.2: 0.6, ...}}`` (trend models) or ``{"size": {...}}`` (negative binomial).
    level : float
        Level of the intervals.
    diagnostics : dict
        Candidates kept by pruning, largest pruned weight, seasonal period, etc.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.changepoint import detect
    >>> rng = np.random.default_rng(3)
    >>> y = np.r_[rng.poisson(20, 60), rng.poisson(40, 40)]
    >>> res = detect(y, likelihood="poisson", method="pelt")
    >>> type(res).__name__, res.changepoints, dict(res.estimates.sizes)
    ('ChangepointResult', [60], {'time': 100})
    >>> list(res.segments.columns[:4])
    ['start', 'end', 'start_time', 'estimate']
    >>> print(res.summary().splitlines()[0])
    Change points: method='pelt', likelihood='poisson', n=100, changes=1
    """

    changepoints: list[int] = dataclasses.field(default_factory=list)
    method: str = "bayes"
    likelihood: str = "poisson"
    segments: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    prob_any_change: float = float("nan")
    prior_change: float = float("nan")
    penalty: float = float("nan")
    log_evidence: float = float("nan")
    n_changes_prob: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    size: float = float("nan")
    hyperparameters: dict[str, dict[float, float]] = dataclasses.field(default_factory=dict)
    level: float = 0.95
    diagnostics: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dataframe(self) -> pd.DataFrame:
        """The per-time estimates as a DataFrame indexed by ``time``.

        The posterior of the number of changes (dimension ``n_changes``) is left out: it is
        ``n_changes_prob``.
        """
        return self.estimates.drop_vars(["prob_n_changes", "n_changes"],
                                        errors="ignore").to_dataframe()

    @property
    def changepoint_times(self) -> list[Any]:
        """Time labels of the change points (first period of each new segment)."""
        times = self.estimates["time"].values
        return [_plain(times[i]) for i in self.changepoints]

    def summary(self) -> str:
        """A short plain-text report: method, change points with their probability, segments."""
        est = self.estimates
        lines = [f"Change points: method={self.method!r}, likelihood={self.likelihood!r}, "
                 f"n={est.sizes['time']}, changes={len(self.changepoints)}"]
        if self.method == "bayes":
            lines.append(f"posterior probability of at least one change: "
                         f"{self.prob_any_change:.3f}")
        if self.method == "bayes" and self.n_changes_prob.size:
            k = int(np.argmax(self.n_changes_prob))
            lines.append(f"most probable number of changes: {k} "
                         f"(posterior probability {self.n_changes_prob[k]:.2f})")
        for key, weights in self.hyperparameters.items():
            best = max(weights, key=weights.get)
            name = {"ar": "autocorrelation of the errors", "size": "negative binomial size"}
            lines.append(f"{name.get(key, key)}: most probable {best:.4g} "
                         f"(posterior weight {weights[best]:.2f})")
        table = self.segments.copy()
        if self.method == "bayes":
            prob = est["prob_change"].values
            window = [_window_prob(prob, s) for s in table["start"]]
            table["prob_change_within_2"] = window
            if len(table):
                table.loc[0, "prob_change_within_2"] = np.nan
        lines += ["", table.to_string(index=False, float_format=lambda v: f"{v:.4g}")]
        return "\n".join(lines)


def _window_prob(prob: np.ndarray, t: int, half_width: int = 2) -> float:
    """Posterior probability of a change within ``half_width`` periods of ``t``."""
    lo, hi = max(0, t - half_width), min(prob.size, t + half_width + 1)
    return float(min(1.0, prob[lo:hi].sum()))


def _plain(value: Any) -> Any:
    """Numpy scalars as plain Python values (for printing and JSON)."""
    return value.item() if isinstance(value, np.generic) else value
