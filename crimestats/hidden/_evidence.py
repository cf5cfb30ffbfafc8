"""Does a capture table carry evidence of heterogeneity that the chosen method cannot represent?

Heterogeneity (people differing in how likely they are to be on any list) makes people on
one list likelier to be on the others, which a method without a model of it reads as "few
are missed": its total is too low and its interval too narrow. Two pieces of evidence are
looked for:

1. **Fit.** For each of Rcapture's heterogeneity columns $h(k)$ (Poisson $2^k - 1$,
   Darroch $k^2/2$, Gamma $\\log 3.5 - \\log(3.5 + k)$, Chao's lower-bound columns), start
   from $M_{th}$ with that column, add the two-list dependence terms the table clearly needs
   (forward selection as SparseMSE's stepwise, entry p-value below 0.001: dependence such as a
   referral between agencies leaves far smaller p-values, while a looser threshold lets
   pairwise terms soak up the heterogeneity), then test the heterogeneity column by
   the deviance it saves in that model (likelihood ratio, $\\chi^2$ with as many degrees of
   freedom as columns). Evidence if some test is significant at 5% and its model's total is
   above the chosen method's. Modelling the dependence first keeps a referral between two
   agencies (dependence, not heterogeneity) from passing for heterogeneity.
2. **Disagreement.** The chosen method's interval lies wholly below the interval of
   $M_{th}$ Chao, a lower bound under any heterogeneity.

Either one triggers the warning for methods that cannot represent heterogeneity
(independence, stepwise log-linear, dga); for the others the evidence is reported only. The
validation page gives the detection and false-alarm rates on simulated lists.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _heterogeneity
from ._tables import CaptureTable
from .methods import FitOptions, Method, MethodFit

__all__ = ["assess_heterogeneity", "warning_text", "TEST_LEVEL"]

TEST_LEVEL = 0.05  # level of each of the four likelihood-ratio tests
DEPENDENCE_PTHRESH = 0.001  # entry threshold of two-list terms in the models tested
_FORMS = ("poisson", "darroch", "gamma", "chao")


def assess_heterogeneity(tab: CaptureTable, spec: Method, fit: MethodFit,
                         options: FitOptions) -> dict[str, Any]:
    """The evidence of heterogeneity for a fit of ``spec``; ``warn`` says whether to warn."""
    out: dict[str, Any] = {"test_level": TEST_LEVEL, "tests": {}, "evidence": [],
                           "warn": False}
    if tab.n_lists < 3:
        out["note"] = "two lists carry no information about heterogeneity"
        return out
    significant = []
    for form in _FORMS:
        test = heterogeneity_test(tab.histories, tab.counts, form, DEPENDENCE_PTHRESH)
        test["dependence_terms"] = [f"{tab.lists[i]}:{tab.lists[j]}"
                                    for i, j in test.pop("pairs")]
        test["total"] = tab.observed + test.pop("dark")
        out["tests"][form] = test
        if test["p_value"] < TEST_LEVEL and test["total"] > fit.total:
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
    if _heterogeneity.determined(chao, tab.observed) and fit.upper < chao_lower:
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
    observed = float(counts.sum())
    ok = (_heterogeneity.determined(with_h, observed)
          and _heterogeneity.determined(without, observed) and df > 0)
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
    with np.errstate(over="ignore"):
        return (observed + float(np.exp(result.beta[0] - z * se)),
                observed + float(np.exp(result.beta[0] + z * se)))
