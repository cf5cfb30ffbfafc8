"""Result objects of [`crimestats.hidden`][crimestats.hidden]."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..results import Result

__all__ = ["MultipleSystemsResult", "ReportingRateResult", "DarkFigureResult",
           "SensitivityResult"]


@dataclasses.dataclass(frozen=True)
class MultipleSystemsResult(Result):
    r"""A multiple-systems (capture-recapture) estimate of a population's size.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over dimension ``stratum`` (one entry ``"all"`` without strata; with strata, one per
        stratum plus ``"total"``): ``estimate`` (total population), ``lower``, ``upper``
        (interval at ``attrs["level"]``), ``observed`` (cases on at least one list), ``hidden``
        (``estimate - observed``, the dark figure) and ``sd`` (standard error of the total:
        for log-linear Wald fits Rcapture's $\sqrt{\hat d^2 \widehat{se}^2 + \hat d}$
        with $\hat d$ the dark figure and $\widehat{se}$ the standard error of
        the intercept; bootstrap or posterior SD otherwise).
    total, lower, upper : float
        Estimated total population and its interval (persons).
    hidden : float
        Estimated number on no list, ``total - observed``.
    observed : float
        Number of distinct cases on at least one list.
    method : str
        Registry name of the method: ``"independence"``, ``"loglinear"`` (stepwise),
        ``"lcmcr"`` (the Bayesian latent-class model behind ``method="bayes"``), ``"dga"``
        (graphical-model averaging) or one of Rcapture's heterogeneity models
        (``"mh_chao"`` ... ``"mth_gamma"``).
    interval : str
        How the interval was made: ``"wald"`` (normal on the log dark figure, conditional on
        the model), ``"bootstrap"`` (BCa over resamples, model selection repeated) or
        ``"posterior"`` (equal-tailed posterior quantiles).
    level : float
        Interval level.
    lists : tuple of str
        List names, in table order.
    terms : tuple of str
        Two-list interaction terms of the chosen log-linear model (``"A:B"``), in order of
        entry; empty for independence and Bayesian fits.
    diagnostics : dict
        List sizes, empty pairwise overlaps, lists that overlap no other list, zero cells,
        notes (e.g. summed duplicate histories), the stepwise path with p-values, existence
        of the estimate, for Bayesian fits r-hat and effective sample size of the total, for
        heterogeneity models the deviance, AIC and heterogeneity parameters, and under
        ``heterogeneity`` the evidence of heterogeneity in the table (tests, Chao's lower
        bound, and whether a `DataWarning` was raised).
    draws : numpy.ndarray
        Bootstrap replicates or posterior draws of the total (empty for Wald intervals; for
        dga, 20,000 draws from the exact grid posterior).
    idata : xarray.DataTree or None
        ArviZ data of a Bayesian fit (posterior draws of the total and the dark figure).

    Examples
    --------
    >>> import pandas as pd
    >>> from crimestats.hidden import multiple_systems
    >>> table = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "count": [60, 40, 20]})
    >>> fit = multiple_systems(table, method="independence")
    >>> type(fit).__name__, fit.lists, round(fit.observed), round(fit.total), round(fit.hidden)
    ('MultipleSystemsResult', ('A', 'B'), 120, 240, 120)
    >>> print(fit.summary().splitlines()[0])
    Multiple-systems estimate, method='independence', lists=2 (A, B)
    """

    total: float = float("nan")
    lower: float = float("nan")
    upper: float = float("nan")
    hidden: float = float("nan")
    observed: float = float("nan")
    method: str = "loglinear"
    interval: str = "wald"
    level: float = 0.95
    lists: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    diagnostics: dict[str, Any] = dataclasses.field(default_factory=dict)
    draws: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    idata: Any = None

    def summary(self) -> str:
        """A short plain-text report: estimate, interval, model, warnings."""
        pct = round(100 * self.level)
        lines = [
            f"Multiple-systems estimate, method={self.method!r}, lists={len(self.lists)} "
            f"({', '.join(self.lists)})",
            f"observed {self.observed:,.0f}; total {self.total:,.0f} "
            f"({pct}% {self.interval} interval {self.lower:,.0f} to {self.upper:,.0f}); "
            f"hidden {self.hidden:,.0f}",
        ]
        if self.terms:
            lines.append("two-list terms: " + " ".join(self.terms))
        diag = self.diagnostics
        if diag.get("empty_overlaps"):
            lines.append("pairs of lists with no case in common: "
                         + " ".join(diag["empty_overlaps"]))
        if diag.get("isolated_lists"):
            lines.append("lists overlapping no other list: " + " ".join(diag["isolated_lists"]))
        for note in diag.get("notes", []):
            lines.append("note: " + note)
        if "strata" in self.estimates.attrs:
            lines += ["", self.estimates.to_dataframe().to_string(float_format=lambda v: f"{v:,.1f}")]
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class SensitivityResult(Result):
    """Several multiple-systems methods fitted to one table, side by side.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over dimension ``method`` (registry names, e.g. ``"loglinear"``, ``"mth_chao"``):
        ``estimate`` (total population, persons), ``lower``/``upper`` (interval at
        ``attrs["level"]``), ``hidden`` (estimate − observed), ``sd``, ``aic`` (Poisson AIC
        of the log-linear family, comparable between those methods; NaN otherwise),
        ``models_heterogeneity`` (whether the method lets catchability differ between
        people), ``interval`` (its type), ``label`` (Rcapture-style name) and ``note`` (why a
        method could not be fitted, or the warnings it raised).
    level : float
        Interval level.
    observed : float
        People on at least one list.
    lists : tuple of str
        List names.
    diagnostics : dict
        ``heterogeneity``: the evidence of heterogeneity in the table (tests and Chao's lower
        bound, as in `multiple_systems`'s ``diagnostics["heterogeneity"]``).

    Examples
    --------
    >>> import pandas as pd
    >>> from crimestats.hidden import multiple_systems_sensitivity
    >>> t = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "count": [60, 40, 20]})
    >>> res = multiple_systems_sensitivity(t)
    >>> res.table().loc[["independence", "loglinear", "dga"], "estimate"].round().to_dict()
    {'independence': 240.0, 'loglinear': 240.0, 'dga': 220.0}
    """

    level: float = 0.95
    observed: float = float("nan")
    lists: tuple[str, ...] = ()
    diagnostics: dict[str, Any] = dataclasses.field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per method: label, estimate, interval, hidden, sd, AIC, note."""
        df = self.estimates.to_dataframe()
        return df[["label", "estimate", "lower", "upper", "hidden", "sd", "aic",
                   "models_heterogeneity", "interval", "note"]]

    def summary(self) -> str:
        """The table as text, with the evidence of heterogeneity."""
        df = self.table()
        lines = [f"Multiple-systems estimates side by side ({round(100 * self.level)}% "
                 f"intervals); observed {self.observed:,.0f} on {len(self.lists)} lists"]
        for name, row in df.iterrows():
            if np.isfinite(row["estimate"]):
                text = (f"{row['estimate']:>10,.0f}  ({row['lower']:,.0f} to "
                        f"{row['upper']:,.0f})")
            else:
                text = "not fitted: " + row["note"]
            het = " [heterogeneity]" if row["models_heterogeneity"] else ""
            lines.append(f"  {name:<14} {row['label']:<24} {text}{het}")
        evidence = self.diagnostics.get("heterogeneity", {}).get("evidence", [])
        if evidence:
            lines.append("evidence of heterogeneity: " + "; ".join(evidence))
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class ReportingRateResult(Result):
    """Survey-weighted share of incidents that the police came to know about.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over dimension ``group`` (the combinations of ``by``; ``"all"`` without ``by``):
        ``incidents`` (weighted incidents), ``reported`` (weighted incidents reported),
        ``estimate`` (reporting rate, proportion 0–1), ``se`` (linearised design-based
        standard error), ``lower``/``upper`` (logit-scale interval at ``attrs["level"]``),
        ``n`` (unweighted incident records), ``effective_n`` (Kish effective sample size
        ``p(1-p)/se^2``) and, when ``pooled=True``, ``pooled`` (partially pooled rate),
        ``pooled_lower`` and ``pooled_upper``.
    level : float
        Interval level.
    by : tuple of str
        Grouping columns.
    diagnostics : dict
        Design information (strata, PSUs, degrees of freedom) and the fitted pooling
        distribution (mean and spread of the rates on the logit scale).

    Examples
    --------
    >>> import pandas as pd
    >>> from crimestats.hidden import reporting_rates
    >>> df = pd.DataFrame({"type": ["a", "a", "b", "b", "b"], "told": [1, 0, 1, 1, 0],
    ...                    "w": [2.0, 2.0, 1.0, 1.0, 2.0]})
    >>> res = reporting_rates(df, reported="told", weight="w", by="type")
    >>> type(res).__name__, res.by, dict(res.estimates.sizes)
    ('ReportingRateResult', ('type',), {'group': 2})
    >>> res.estimates["estimate"].round(2).values.tolist()
    [0.5, 0.5]
    """

    level: float = 0.95
    by: tuple[str, ...] = ()
    diagnostics: dict[str, Any] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        """The table of reporting rates as text."""
        df = self.estimates.to_dataframe()
        return (f"Reporting rates ({round(100 * self.level)}% intervals), by {list(self.by)}\n"
                + df.to_string(float_format=lambda v: f"{v:,.4g}"))


@dataclasses.dataclass(frozen=True)
class DarkFigureResult(Result):
    """Survey-estimated incidents set against recorded crime: the dark figure.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over dimensions ``area`` and ``crime_type`` (the recorded offence groups), with a
        dimension ``quantity``-free layout: for each of ``incidents``, ``reported``,
        ``recorded``, ``hidden`` (incidents not recorded), ``reporting_rate`` and
        ``recording_completeness`` (recorded / reported) a variable with the Monte Carlo mean
        and variables ``<name>_lower``/``<name>_upper`` at ``attrs["level"]``; plus
        ``records_exceed_reports`` (True where recorded crime is above the survey's estimate of
        reported incidents) and ``prob_records_exceed`` (its Monte Carlo probability).
    level : float
        Interval level.
    n_draws : int
        Monte Carlo draws used.
    diagnostics : dict
        The offence mapping used and the cells flagged.

    Examples
    --------
    >>> import pandas as pd
    >>> from crimestats.hidden import dark_figure
    >>> survey = pd.DataFrame({"area": ["A"], "survey_offence": ["assault"],
    ...                        "incidents": [1000.0], "incidents_se": [100.0],
    ...                        "reporting_rate": [0.4], "reporting_rate_se": [0.03]})
    >>> recorded = pd.DataFrame({"area": ["A"], "crime_type": ["violence"], "recorded": [300]})
    >>> res = dark_figure(survey, recorded, {"assault": "violence"}, random_seed=1)
    >>> type(res).__name__, dict(res.estimates.sizes), res.n_draws, res.level
    ('DarkFigureResult', {'area': 1, 'crime_type': 1}, 4000, 0.95)
    >>> [v for v in res.estimates.data_vars if not v.endswith(("_lower", "_upper"))][:4]
    ['incidents', 'reported', 'recorded', 'hidden']
    """

    level: float = 0.95
    n_draws: int = 0
    diagnostics: dict[str, Any] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        """Estimates as a table of text."""
        df = self.estimates.to_dataframe()
        cols = ["incidents", "reported", "recorded", "hidden", "reporting_rate",
                "recording_completeness", "records_exceed_reports"]
        return "Dark figure\n" + df[cols].to_string(float_format=lambda v: f"{v:,.3g}")

    def table(self) -> pd.DataFrame:
        """One row per area and crime type with every estimate and interval."""
        return self.estimates.to_dataframe().reset_index()
