"""Does a capture table carry evidence of heterogeneity that the chosen method cannot represent?

Heterogeneity (people differing in how likely they are to be on any list) makes people on
one list likelier to be on the others, which every method without a model of it reads as
"few are missed". Two pieces of evidence are checked against the log-linear model that stands
for the chosen method (main effects for ``independence``; main effects plus the chosen
two-list terms for ``loglinear``; plus the edges of the most probable graph for ``dga``):

1. **Fit**: adding one heterogeneity column $h(k)$ of Rcapture's $M_{th}$ models (Poisson
   $2^k - 1$, Darroch $k^2/2$, Gamma $\\log 3.5 - \\log(3.5 + k)$) to that model lowers the
   deviance by more than the $\\chi^2_1$ quantile at $1 - \\alpha/3$ (a likelihood-ratio test
   at level $\\alpha = 0.01$, Bonferroni over the three forms), with a larger total (the
   direction heterogeneity pushes).
2. **Disagreement**: the chosen method's interval lies wholly below the interval of the
   $M_{th}$ Chao lower bound, a floor under any heterogeneity.

Either one triggers the warning; methods that model heterogeneity (LCMCR, the $M_h$/$M_{th}$
models) are only assessed, not warned about. On simulations (validation page) the warning
fires on every data set with strong heterogeneity and on about 1% of homogeneous ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _heterogeneity
from ._tables import CaptureTable
from .methods import FitOptions, Method, MethodFit

__all__ = ["assess_heterogeneity", "warning_text", "ALPHA"]

ALPHA = 0.1
_FORMS = ("poisson", "darroch", "gamma", "chao")


def assess_heterogeneity(tab: CaptureTable, spec: Method, fit: MethodFit,
                         options: FitOptions) -> dict[str, Any]:
    """The evidence of heterogeneity for a fit of ``spec``; ``warn`` says whether to warn."""
    out: dict[str, Any] = {"alpha": ALPHA, "tests": {}, "evidence": [], "warn": False}
    if tab.n_lists < 3:
        out["note"] = "two lists carry no information about heterogeneity"
        return out
    significant = []
    for form in _FORMS:
        test = heterogeneity_test(tab.histories, tab.counts, form, options.pthresh)
        test["dependence_terms"] = [f"{tab.lists[i]}:{tab.lists[j]}"
                                    for i, j in test.pop("pairs")]
        test["total"] = tab.observed + test.pop("dark")
        out["tests"][form] = test
        if test["p_value"] < ALPHA / len(_FORMS) and test["total"] > fit.total:
            significant.append(form)
    if significant:
        best = min(significant, key=lambda f: out["tests"][f]["p_value"])
        test = out["tests"][best]
        terms = ", ".join(test["dependence_terms"]) or "none needed"
        out["evidence"].append(
            f"a {best.capitalize()} heterogeneity term fits the table much better even after "
            f"the dependence between lists is modelled (two-list terms: {terms}; deviance "
            f"down {test['deviance_drop']:.1f} for one parameter, p = {test['p_value']:.2g}), "
            f"and that model's total is {test['total']:,.0f}")
    chao, _ = _heterogeneity.fit(tab.histories, tab.counts, time_effects=True, form="chao")
    chao_lower, _ = _wald_limits(tab.observed, chao, options.level)
    out["chao_lower_bound"] = {"total": float(tab.observed + chao.dark),
                               "lower": float(chao_lower)}
    if chao.converged and fit.upper < chao_lower:
        out["evidence"].append(
            f"its interval (up to {fit.upper:,.0f}) lies wholly below that of Chao's lower "
            f"bound (Mth Chao: {tab.observed + chao.dark:,.0f}, interval from "
            f"{chao_lower:,.0f})")
    out["warn"] = bool(out["evidence"]) and not spec.models_heterogeneity
    return out


def heterogeneity_test(histories: np.ndarray, counts: np.ndarray, form: str,
                       pthresh: float) -> dict[str, Any]:
    """Likelihood-ratio test of one heterogeneity column once list dependence is modelled.

    From $M_{th}$ with ``form``, two-list terms enter forward as in SparseMSE's stepwise
    selection (smallest one-sided Poisson p-value of the overlap total under the current
    fit, while below ``pthresh``); the heterogeneity column is then tested by the deviance
    it saves in that model ($\\chi^2_1$).
    """
    from scipy.special import chdtrc, pdtr, pdtrc

    h = histories.astype(float)
    t = h.shape[1]
    candidates = [(i, j) for i in range(t) for j in range(i + 1, t)]
    both = np.column_stack([h[:, i] * h[:, j] for i, j in candidates])
    observed = counts @ both
    chosen: list[tuple[int, int]] = []
    with_h, _ = _heterogeneity.fit(histories, counts, time_effects=True, form=form)
    while len(chosen) < len(candidates):
        expected = with_h.fitted @ both
        lower = pdtr(observed, expected)
        upper = np.where(observed > 0, pdtrc(np.maximum(observed - 1, 0), expected), 1.0)
        p = np.minimum(lower, upper)
        p[[candidates.index(c) for c in chosen]] = 1.0
        p[observed == 0] = 1.0
        k = int(np.argmin(p))
        if p[k] >= pthresh:
            break
        chosen.append(candidates[k])
        with_h, _ = _heterogeneity.fit(histories, counts, time_effects=True, form=form,
                                       pairs=tuple(chosen))
    without, _ = _heterogeneity.fit(histories, counts, time_effects=True, form=None,
                                    pairs=tuple(chosen))
    drop = max(without.deviance - with_h.deviance, 0.0)
    df = with_h.n_params - without.n_params
    ok = with_h.converged and without.converged and df > 0
    return {"pairs": tuple(chosen), "deviance_drop": float(drop), "df": int(df),
            "p_value": float(chdtrc(df, drop)) if ok else 1.0, "dark": with_h.dark,
            "converged": bool(ok)}


def warning_text(evidence: dict[str, Any], method: str) -> str:
    """The DataWarning message for ``evidence`` against ``method``."""
    return (f"The lists carry evidence of heterogeneity (people differing in how likely they "
            f"are to be on any list) that method={method!r} cannot represent: "
            + "; and ".join(evidence["evidence"])
            + ". Its total is then likely too low and its interval too narrow. Compare "
            "methods with `multiple_systems_sensitivity` and consider method='bayes' (latent "
            "classes) or the Mth heterogeneity models (see diagnostics['heterogeneity']).")


def _wald_limits(observed: float, result: _heterogeneity.GlmFit, level: float
                ) -> tuple[float, float]:
    from scipy.special import ndtri

    z = float(ndtri(0.5 + level / 2.0))
    se = result.intercept_se if np.isfinite(result.intercept_se) else np.inf
    return (observed + float(np.exp(result.beta[0] - z * se)),
            observed + float(np.exp(result.beta[0] + z * se)))
