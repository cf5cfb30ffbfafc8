"""Stepwise log-linear model (SparseMSE): two-list interactions chosen by p-value."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import EstimationError
from .base import FitOptions, Method, MethodFit, register, wald_total

if TYPE_CHECKING:
    from .._tables import CaptureTable


class Stepwise(Method):
    """SparseMSE's forward stepwise selection of two-list interactions (Chan et al. 2021)."""

    name = "loglinear"
    rank = 1
    label = "log-linear (stepwise)"
    intervals = ("wald", "bootstrap")
    reference = True
    description = "main effects and two-list interactions chosen stepwise (SparseMSE)"

    def fit(self, tab: CaptureTable, options: FitOptions, rng: np.random.Generator,
            diagnostics: dict[str, Any]) -> MethodFit:
        return fit_loglinear(tab, options, rng, diagnostics, stepwise=True)


def fit_loglinear(tab: CaptureTable, options: FitOptions, rng: np.random.Generator,
                  diagnostics: dict[str, Any], *, stepwise: bool) -> MethodFit:
    """Independence or stepwise log-linear fit with a Wald or BCa bootstrap interval."""
    from .. import _loglinear

    hist, counts, obs = tab.histories, tab.counts, tab.observed
    ident = _loglinear.check_model(hist, counts, ())
    if ident:
        raise EstimationError(existence_message(
            ident, "main-effects" if stepwise else "independence"))
    terms: tuple[tuple[int, int], ...] = ()
    if stepwise:
        fit, path = _loglinear.stepwise(hist, counts, options.pthresh)
        terms = fit.terms
        diagnostics["stepwise_path"] = [(f"{tab.lists[i]}:{tab.lists[j]}", p)
                                        for (i, j), p in path]
        diagnostics["empty_terms"] = [f"{tab.lists[i]}:{tab.lists[j]}"
                                      for i, j in fit.empty_terms]
    else:
        fit = _loglinear.fit_model(hist, counts, ())
    diagnostics["estimate_exists"] = True
    diagnostics["deviance"] = fit.deviance
    diagnostics["n_parameters"] = fit.n_params
    diagnostics["aic"] = poisson_aic(fit.deviance, fit.n_params, counts)
    total = obs + fit.dark
    lower, upper = wald_total(obs, float(fit.beta[0]), fit.intercept_se, options.level)
    # Rcapture's standard error of N: estimation error of the dark figure plus its Poisson noise
    sd = float(np.sqrt((fit.dark * fit.intercept_se) ** 2 + fit.dark))
    boot = None
    if options.interval == "bootstrap":
        model = "stepwise" if stepwise else "independence"
        boot = _loglinear.bootstrap_totals(hist, counts, model, options.pthresh,
                                           options.n_boot, rng, progress=options.progress)
        lower, upper, accel = _loglinear.bca_interval(boot, total, hist, counts, model,
                                                      options.pthresh, options.level)
        diagnostics["bca_acceleration"] = accel
        sd = float(boot.std())
    return MethodFit(total=float(total), lower=float(lower), upper=float(upper), sd=sd,
                     observed=obs, diagnostics=diagnostics,
                     terms=tuple(f"{tab.lists[i]}:{tab.lists[j]}" for i, j in terms),
                     draws=boot, dark_log=float(fit.beta[0]), dark_log_se=fit.intercept_se)


def poisson_aic(deviance: float, n_params: int, counts: np.ndarray) -> float:
    """AIC with the full Poisson log-likelihood of the cells (as R's ``glm`` and Rcapture)."""
    from scipy.special import gammaln

    y = counts[counts > 0]
    saturated = float(np.sum(y * np.log(y) - y - gammaln(y + 1.0)))
    return deviance - 2.0 * saturated + 2.0 * n_params


def existence_message(code: int, model: str) -> str:
    """Why a log-linear estimate cannot be made (SparseMSE's ``checkident`` code)."""
    what = {1: "does not exist (the counts lie on the boundary of the model's support)",
            2: "is not identifiable (the design is rank deficient)",
            3: "neither exists nor is identifiable"}[code]
    return (f"The maximum likelihood estimate of the {model} model {what}. Look at "
            "`diagnose` output: lists that overlap no other list, or lists with no cases, "
            "cannot be used; merge or drop them.")


register(Stepwise())
