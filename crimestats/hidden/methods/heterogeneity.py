"""Rcapture's heterogeneity models $M_h$ and $M_{th}$ as registry methods.

Each form of heterogeneity (Chao's lower bound, Poisson, Darroch, Gamma) has its own small
module that registers two methods: ``mh_<form>`` (lists alike, people differ) and
``mth_<form>`` (lists differ too). The model and its fit are in the engine
``crimestats.hidden._heterogeneity``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import EstimationError
from .base import FitOptions, Method, MethodFit, wald_total

if TYPE_CHECKING:
    from .._tables import CaptureTable


class HeterogeneityModel(Method):
    """A log-linear model with a heterogeneity column, as Rcapture's ``closedp.t``."""

    intervals = ("wald",)
    models_heterogeneity = True
    min_lists = 3

    def __init__(self, form: str, *, time_effects: bool, label: str, description: str):
        self.form = form
        self.time_effects = time_effects
        self.name = f"{'mth' if time_effects else 'mh'}_{form}"  # type: ignore[misc]
        self.label = f"{'Mth' if time_effects else 'Mh'} {label}"  # type: ignore[misc]
        self.description = description  # type: ignore[misc]
        order = ("chao", "poisson", "darroch", "gamma").index(form)
        self.rank = (20 if time_effects else 10) + order  # type: ignore[misc]

    def fit(self, tab: CaptureTable, options: FitOptions, rng: np.random.Generator,
            diagnostics: dict[str, Any]) -> MethodFit:
        from .. import _heterogeneity

        theta = options.theta if self.form in _heterogeneity.DEFAULT_THETA else None
        result, dropped = _heterogeneity.fit(tab.histories, tab.counts,
                                             time_effects=self.time_effects, form=self.form,
                                             theta=theta)
        if not _heterogeneity.determined(result, tab.observed):
            raise EstimationError(
                f"The {self.label} model did not converge on these lists: the number missed "
                "is not determined by the data under this model (its likelihood keeps rising "
                "as the number missed grows). Use another method; "
                "`multiple_systems_sensitivity` reports the others.")
        total, sd = _heterogeneity.total_and_se(result, tab.observed)
        lower, upper = wald_total(tab.observed, float(result.beta[0]), result.intercept_se,
                                  options.level)
        het = {name: float(b) for name, b in zip(result.columns, result.beta, strict=True)
               if name.startswith(("tau", "eta"))}
        diagnostics.update({
            "deviance": result.deviance, "df": int(tab.counts.size - result.n_params),
            "n_parameters": result.n_params, "aic": result.aic,
            "heterogeneity_parameters": het, "eta_set_to_zero": list(dropped),
            "theta": theta if theta is not None else _heterogeneity.DEFAULT_THETA.get(self.form),
        })
        return MethodFit(total=total, lower=lower, upper=upper, sd=sd, observed=tab.observed,
                         diagnostics=diagnostics, dark_log=float(result.beta[0]),
                         dark_log_se=result.intercept_se)
