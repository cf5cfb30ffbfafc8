"""Attribution: is a change in recorded crime more crime, more reporting or more recording?

Decomposition (per period $t$, on the log scale):

$$
\\text{recorded}_t = \\text{population}_t \\times \\text{incidence}_t \\times
\\text{reporting}_t \\times \\text{recording}_t .
$$

Model. With $y_t = \\log(\\text{recorded}_t/\\text{population}_t)$,
$x_t$ the log survey incidence (rate or prevalence per person),
$z_t$ the log survey share of incidents reported to the police (optional) and, for each
control offence $j$ (reliably reported and recorded: vehicle theft, burglary),
$y^{j}_t, x^{j}_t$:

$$
\\begin{aligned}
y_t &= \\alpha_y + I_t + P_t + W_t + \\varepsilon_t, &
x_t &= I_t + \\eta_t, &
z_t &= \\alpha_z + P_t + \\zeta_t, \\\\
y^{j}_t &= \\alpha_j + I^{j}_t + W_t + \\varepsilon^{j}_t, &
x^{j}_t &= I^{j}_t + \\eta^{j}_t,
\\end{aligned}
$$

where $I_t = \\beta_0 + \\beta_1 t + \\delta_I 1[t \\ge k_I]$ is log incidence (trend plus
at most one step), $P_t = \\delta_P 1[t \\ge k_P]$ an offence-specific step in reporting
(or offence-specific recording), $W_t = \\delta_W 1[t \\ge k_W]$ a recording step shared
by every offence of the force or country (a change in recording practice), and
$I^{j}_t$ a control's own log incidence (intercept and trend). Sampling errors:
$\\eta_t, \\zeta_t$ normal with the survey's standard errors on the log scale
($\\mathrm{se}/\\text{estimate}$); $\\varepsilon_t$ normal with variance
$1/\\text{recorded}_t + \\tau^2$ (Poisson noise plus year-to-year noise
$\\tau$, averaged over $\\tau \\in \\{0.01, 0.03, 0.1\\}$ with equal prior weight).
Priors: intercepts $N(0, 10^2)$, trends $N(0, 0.1^2)$ per period, steps
$N(0, 0.5^2)$; each component changes with prior probability ``prior_change`` at a
time uniform over the candidate dates (``shocks`` if given, else every period but the
first).

Identification.

* The survey identifies incidence $I_t$: it is measured independently of the police.
* Recorded crime over survey incidence identifies the police *capture* $P_t + W_t$.
* Control offences identify the recording-wide part $W_t$: their reporting is assumed
  stable, so a shift in their recorded-to-survey ratio is a recording change that also hits
  the target offence. Without controls, $W$ and $P$ are not separable and only
  their sum ("reporting or recording") is reported.
* The survey's share reported to the police, if given, identifies reporting $P_t$
  directly.

Everything is linear-Gaussian given the change configuration $(k_I, k_P, k_W, \\tau)$,
so the marginal likelihood of each configuration is exact (a Gaussian integral) and the
posterior is computed by enumerating all configurations — no MCMC.

Assumptions to check: the survey measures the same offence definition as the police count
(use comparable subsets); population is known; controls' reporting and the survey design
are stable; at most one step per component in the window analysed (analyse a shorter
window, or give candidate ``shocks``, when more are plausible).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from .._validate import as_float_array, as_rng, check_counts, check_level, check_positive
from ..errors import InputError
from ..results import Result

__all__ = ["attribute", "AttributionResult"]

_TAUS = np.array([0.01, 0.03, 0.1])
_SD_INTERCEPT, _SD_TREND, _SD_STEP = 10.0, 0.1, 0.5
_COMPONENTS = ("incidence", "reporting", "recording")


@dataclasses.dataclass(frozen=True)
class AttributionResult(Result):
    """Decomposition of a change in recorded crime into incidence, reporting and recording.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over ``time``: ``recorded_rate`` (recorded per person), ``survey_incidence``,
        and for each component ``incidence``, ``reporting``, ``recording`` the posterior mean
        index relative to the first period (1 = unchanged) with ``<component>_lower`` and
        ``<component>_upper`` (interval at ``attrs["level"]``) and ``prob_step_<component>``
        (posterior probability that the component's step happens at ``t``).
    effects : pandas.DataFrame
        One row per component: ``prob_change`` (posterior probability of a step),
        ``time`` (most probable step time), ``step`` (posterior mean relative change at the
        step given that there is one, e.g. 0.3 = +30%), ``step_lower``, ``step_upper``,
        ``total`` (relative change over the whole window, step and trend, all configurations
        averaged), ``total_lower``, ``total_upper``.
    explanation : str
        Most probable set of components that changed (``"none"``, ``"incidence"``,
        ``"reporting+recording"``, ...).
    explanation_prob : float
        Its posterior probability.
    prob_not_incidence : float
        Posterior probability that the change in recorded crime over the window is due more
        to reporting/recording than to incidence: $P(|\\Delta P + \\Delta W| >
        |\\Delta I|)$.
    explanations : dict
        Posterior probability of every set of changed components.
    components : tuple of str
        Components in the model (``"recording"`` needs controls; ``"reporting"`` stands for
        "reporting or recording" without them).
    level : float
        Interval level.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from crimestats.changepoint import attribute
    >>> years = np.arange(2005, 2019)
    >>> inc = 0.05 * 0.98 ** np.arange(14)
    >>> recorded = pd.Series(np.round(1e6 * inc * np.where(years >= 2014, 0.6, 0.4)), index=years)
    >>> survey = pd.DataFrame({"period": years, "estimate": inc, "se": 0.03 * inc})
    >>> res = attribute(recorded, survey, population=np.full(14, 1e6), random_seed=0)
    >>> type(res).__name__, res.components, res.explanation, round(res.explanation_prob, 2)
    ('AttributionResult', ('incidence', 'reporting'), 'reporting', 0.97)
    >>> list(res.effects.columns[:4])
    ['component', 'prob_change', 'time', 'step']
    """

    effects: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    explanation: str = "none"
    explanation_prob: float = float("nan")
    prob_not_incidence: float = float("nan")
    explanations: dict[str, float] = dataclasses.field(default_factory=dict)
    components: tuple[str, ...] = ()
    level: float = 0.95

    def summary(self) -> str:
        """Plain-text report: the most probable explanation and the effect of each component."""
        lines = [f"Attribution of the change in recorded crime ({', '.join(self.components)})",
                 f"most probable explanation: {self.explanation} "
                 f"(posterior probability {self.explanation_prob:.2f})",
                 f"P(change due more to reporting/recording than incidence) = "
                 f"{self.prob_not_incidence:.2f}", "",
                 self.effects.to_string(index=False, float_format=lambda v: f"{v:.3g}")]
        return "\n".join(lines)


def _survey_frame(survey: Any, name: str, times: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Log estimates and log-scale variances aligned to ``times`` (NaN where no survey)."""
    if not isinstance(survey, pd.DataFrame):
        raise InputError(f"`{name}` must be a DataFrame with columns 'period', 'estimate', 'se'; "
                         f"received {type(survey).__name__}.")
    missing = [c for c in ("period", "estimate", "se") if c not in survey.columns]
    if missing:
        raise InputError(f"`{name}` has no column(s) {missing}; it needs 'period', 'estimate' "
                         f"and 'se' (standard error); available: {list(survey.columns)}.")
    periods = pd.Index(survey["period"])
    if periods.has_duplicates:
        raise InputError(f"`{name}` has repeated periods {list(periods[periods.duplicated()])}.")
    unknown = periods.difference(times)
    if len(unknown):
        raise InputError(
            f"`{name}` has periods {list(unknown)[:8]} that are not periods of the recorded "
            f"series ({list(times)[:3]} ...). Align the calendars first: e.g. compare a survey "
            "year ending in March with the recorded financial year, or sum recorded quarters "
            "to the survey's year, and label both with the same period.")
    est = as_float_array(survey["estimate"], f"{name}['estimate']")
    se = as_float_array(survey["se"], f"{name}['se']")
    check_positive(est, f"{name}['estimate']")
    check_positive(se, f"{name}['se']", strict=False)
    pos = times.get_indexer(periods)
    x = np.full(len(times), np.nan)
    v = np.full(len(times), np.nan)
    x[pos] = np.log(est)
    v[pos] = np.maximum((se / est) ** 2, 1e-10)
    return x, v


def _recorded(values: Any, name: str, n: int | None = None) -> tuple[np.ndarray, pd.Index]:
    arr = as_float_array(values, name)
    check_counts(arr, name, integer=False)
    check_positive(arr, name)
    if n is not None and arr.shape[0] != n:
        raise InputError(f"`{name}` has {arr.shape[0]} periods but `recorded` has {n}.")
    index = pd.Index(values.index) if isinstance(values, pd.Series) else pd.RangeIndex(arr.size)
    return arr, index


def attribute(recorded: Any, survey: pd.DataFrame, *, population: Any = None,
              reported_share: pd.DataFrame | None = None,
              controls: Mapping[str, tuple[Any, pd.DataFrame]] | None = None,
              shocks: Any = None, prior_change: float = 0.5, level: float = 0.95,
              draws: int = 4000, random_seed: Any = None) -> AttributionResult:
    """Attribute changes in recorded crime to incidence, reporting and recording.

    Parameters
    ----------
    recorded : pandas.Series or array-like
        Police recorded offences per period (e.g. financial year), indexed by period label.
    survey : pandas.DataFrame
        Survey estimates of incidence for the same offence: columns ``period`` (labels of
        ``recorded``), ``estimate`` (incidents or victims per person — a rate or a
        prevalence; a constant victims-to-incidents ratio is absorbed) and ``se``. Periods
        without a survey estimate are allowed; a survey period that is not a recorded period
        raises.
    population : array-like, optional
        Population per period (default 1: then ``survey['estimate']`` must be on the scale of
        ``recorded``).
    reported_share : pandas.DataFrame, optional
        Survey share of incidents reported to the police (``period``, ``estimate``, ``se``).
    controls : dict, optional
        ``{name: (recorded_counts, survey_frame)}`` for control offences whose reporting is
        stable; they identify recording changes shared by all offences.
    shocks : list, optional
        Candidate dates (period labels) of steps; default every period but the first.
    prior_change : float
        Prior probability that each component has a step in the window.
    level : float
        Level of the intervals.
    draws : int
        Draws from the exact posterior (a mixture of normals) used for
        ``prob_not_incidence`` and the intervals of mixtures.
    random_seed : int, numpy.random.Generator or None
        Seed of those draws.

    Returns
    -------
    AttributionResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from crimestats.changepoint import attribute
    >>> years = np.arange(2005, 2019)
    >>> inc = 0.05 * 0.98 ** np.arange(14)                    # survey: incidence falling
    >>> capture = np.where(years >= 2014, 0.6, 0.4)           # police capture up 50% in 2014
    >>> recorded = pd.Series(np.round(1e6 * inc * capture), index=years)
    >>> survey = pd.DataFrame({"period": years, "estimate": inc, "se": 0.03 * inc})
    >>> res = attribute(recorded, survey, population=np.full(14, 1e6), random_seed=0)
    >>> res.explanation
    'reporting'
    >>> row = res.effects.set_index("component").loc["reporting"]
    >>> int(row["time"]), round(float(row["step"]), 1)
    (2014, 0.5)
    """
    level = check_level(level)
    if not 0.0 < prior_change < 1.0:
        raise InputError(f"`prior_change` must be in (0, 1); received {prior_change!r}.")
    rng = as_rng(random_seed)
    rec, times = _recorded(recorded, "recorded")
    T = rec.size
    if T < 4:
        raise InputError(f"`recorded` has {T} periods; attribution needs at least 4.")
    pop = np.ones(T) if population is None else as_float_array(population, "population")
    if pop.shape[0] != T:
        raise InputError(f"`population` has {pop.shape[0]} values but `recorded` has {T}.")
    check_positive(pop, "population")
    x, vx = _survey_frame(survey, "survey", times)
    if np.isfinite(x).sum() < 2:
        raise InputError("`survey` needs estimates for at least 2 periods to identify incidence.")

    # observation blocks: (log values, sampling variances, design columns, is recorded crime)
    blocks: list[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], bool]] = []
    tt = (np.arange(T) - (T - 1) / 2.0) / T
    y = np.log(rec / pop)
    # parameter layout: [alpha_y, beta0, beta1, (alpha_z), (alpha_j, b0_j, b1_j)*J] + steps
    names = ["alpha_y", "inc_intercept", "inc_trend"]
    rows_y = {"alpha_y": np.ones(T), "inc_intercept": np.ones(T), "inc_trend": tt}
    blocks.append((y, 1.0 / rec, {**rows_y, "step_I": np.ones(T), "step_P": np.ones(T),
                                  "step_W": np.ones(T)}, True))
    ok = np.isfinite(x)
    blocks.append((x[ok], vx[ok], {"inc_intercept": np.ones(ok.sum()), "inc_trend": tt[ok],
                                   "step_I": np.ones(ok.sum()), "_rows": np.flatnonzero(ok)},
                   False))
    has_share = reported_share is not None
    if has_share:
        z, vz = _survey_frame(reported_share, "reported_share", times)
        okz = np.isfinite(z)
        names.append("alpha_z")
        blocks.append((z[okz], vz[okz], {"alpha_z": np.ones(okz.sum()),
                                         "step_P": np.ones(okz.sum()),
                                         "_rows": np.flatnonzero(okz)}, False))
    controls = dict(controls or {})
    for j, (cname, pair) in enumerate(controls.items()):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise InputError(f"controls[{cname!r}] must be a (recorded, survey) pair.")
        rec_j, _ = _recorded(pair[0], f"controls[{cname!r}] recorded", T)
        xj, vxj = _survey_frame(pair[1], f"controls[{cname!r}] survey", times)
        okj = np.isfinite(xj)
        names += [f"c{j}_alpha", f"c{j}_b0", f"c{j}_b1"]
        blocks.append((np.log(rec_j / pop), 1.0 / rec_j,
                       {f"c{j}_alpha": np.ones(T), f"c{j}_b0": np.ones(T), f"c{j}_b1": tt,
                        "step_W": np.ones(T)}, True))
        blocks.append((xj[okj], vxj[okj], {f"c{j}_b0": np.ones(okj.sum()),
                                           f"c{j}_b1": tt[okj], "_rows": np.flatnonzero(okj)},
                       False))
    has_wide = bool(controls)
    components = ("incidence", "reporting", "recording") if has_wide else ("incidence",
                                                                           "reporting")
    cand = _candidates(shocks, times)

    fit = _enumerate(blocks, names, T, cand, has_wide, prior_change)
    return _summarise(fit, times, rec / pop, np.exp(x), components, cand, level, draws, rng)


def _candidates(shocks: Any, times: pd.Index) -> np.ndarray:
    if shocks is None:
        return np.arange(1, len(times))
    labels = pd.Index(np.atleast_1d(np.asarray(shocks)))
    pos = times.get_indexer(labels)
    if np.any(pos < 0):
        raise InputError(f"`shocks` {list(labels[pos < 0])} are not periods of `recorded`.")
    if np.any(pos == 0):
        raise InputError("a shock at the first period cannot be told from the baseline; "
                         "start the series earlier.")
    return np.unique(pos)


@dataclasses.dataclass(frozen=True)
class _Fit:
    configs: np.ndarray        # (m, 4): k_I, k_P, k_W (-1 = none), tau index
    logpost: np.ndarray        # normalised log posterior of each configuration
    means: np.ndarray          # (m, p) posterior means of all coefficients
    covs: np.ndarray           # (m, p, p)
    names: list[str]
    T: int


def _enumerate(blocks, names, T, cand, has_wide, prior_change) -> _Fit:
    all_names = [*names, "step_I", "step_P", "step_W"]
    p = len(all_names)
    col = {nm: i for i, nm in enumerate(all_names)}
    prior_var = np.array([_SD_TREND ** 2 if ("trend" in nm or nm.endswith("_b1"))
                          else _SD_STEP ** 2 if nm.startswith("step") else _SD_INTERCEPT ** 2
                          for nm in all_names])
    # observation blocks: Y, base variance, design without steps, step columns and rows
    Y = np.concatenate([b[0] for b in blocks])
    V0 = np.concatenate([b[1] for b in blocks])
    is_rec = np.concatenate([np.full(b[0].size, b[3]) for b in blocks])
    X = np.zeros((Y.size, p))
    time_of = np.zeros(Y.size, dtype=int)
    r0 = 0
    for b in blocks:
        m = b[0].size
        rows = b[2].get("_rows", np.arange(m))
        time_of[r0:r0 + m] = rows
        for nm, v in b[2].items():
            if nm != "_rows":
                X[r0:r0 + m, col[nm]] = v
        r0 += m
    step_cols = [col["step_I"], col["step_P"], col["step_W"]]
    step_mask = X[:, step_cols].copy()
    choices = np.array([-1, *cand.tolist()])
    log_prior_k = np.log(np.r_[1 - prior_change, np.full(cand.size, prior_change / cand.size)])
    wide = choices if has_wide else np.array([-1])
    wide_lp = log_prior_k if has_wide else np.zeros(1)
    grid = np.array(list(itertools.product(range(choices.size), range(choices.size),
                                           range(wide.size))))
    ks = np.column_stack([choices[grid[:, 0]], choices[grid[:, 1]], wide[grid[:, 2]]])
    lp_k = log_prior_k[grid[:, 0]] + log_prior_k[grid[:, 1]] + wide_lp[grid[:, 2]]
    # design of every configuration at once: (configs, observations, parameters)
    Xc = np.broadcast_to(X, (ks.shape[0], *X.shape)).copy()
    for j in range(3):
        on = (time_of[None, :] >= ks[:, [j]]) & (ks[:, [j]] >= 0)
        Xc[:, :, step_cols[j]] = step_mask[None, :, j] * on
    Sinv = np.diag(1.0 / prior_var)
    configs, logpost, means, covs = [], [], [], []
    for ti, tau in enumerate(_TAUS):
        V = V0 + np.where(is_rec, tau ** 2, 0.0)
        w = 1.0 / V
        XtW = np.swapaxes(Xc * w[None, :, None], 1, 2)
        prec = Sinv[None] + XtW @ Xc
        rhs = XtW @ Y
        chol = np.linalg.cholesky(prec)
        cov = np.linalg.inv(prec)
        mean = np.einsum("cij,cj->ci", cov, rhs)
        # log N(Y; 0, V + X S X') by the matrix determinant lemma and Woodbury identity
        quad = np.sum(w * Y * Y) - np.einsum("ci,ci->c", rhs, mean)
        logdet = (np.sum(np.log(V)) + 2 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)),
                                                 axis=1) + np.sum(np.log(prior_var)))
        ll = -0.5 * (quad + logdet + Y.size * np.log(2 * np.pi))
        configs.append(np.column_stack([ks, np.full(ks.shape[0], ti)]))
        logpost.append(ll + lp_k - np.log(_TAUS.size))
        means.append(mean)
        covs.append(cov)
    configs = np.concatenate(configs)
    logpost = np.concatenate(logpost)
    means = np.concatenate(means)
    covs = np.concatenate(covs)
    logpost -= special.logsumexp(logpost)
    return _Fit(configs, logpost, means, covs, all_names, T)


def _summarise(fit: _Fit, times, rate, survey_inc, components, cand, level, draws, rng
               ) -> AttributionResult:
    T = fit.T
    w = np.exp(fit.logpost)
    col = {nm: i for i, nm in enumerate(fit.names)}
    tt = (np.arange(T) - (T - 1) / 2.0) / T
    keys = {"incidence": "step_I", "reporting": "step_P", "recording": "step_W"}
    k_index = {"incidence": 0, "reporting": 1, "recording": 2}
    lo_q, hi_q = 0.5 - level / 2, 0.5 + level / 2

    # draws from the mixture: configuration, then coefficients
    pick = rng.choice(w.size, size=draws, p=w)
    z = rng.standard_normal((draws, len(fit.names)))
    chol = np.linalg.cholesky(fit.covs[pick] + 1e-14 * np.eye(len(fit.names)))
    coef = fit.means[pick] + np.einsum("dij,dj->di", chol, z)
    cfg = fit.configs[pick]

    def path(comp: str) -> np.ndarray:
        """Log index of a component relative to the first period, per draw and time."""
        k = cfg[:, k_index[comp]]
        on = (np.arange(T)[None, :] >= k[:, None]) & (k[:, None] >= 0)
        out = coef[:, [col[keys[comp]]]] * on
        if comp == "incidence":
            out = out + coef[:, [col["inc_trend"]]] * (tt[None, :] - tt[0])
        return out

    data_vars: dict[str, Any] = {"recorded_rate": ("time", rate),
                                 "survey_incidence": ("time", survey_inc)}
    rows = []
    totals = {}
    for comp in components:
        lp = path(comp)
        totals[comp] = lp[:, -1]
        data_vars[comp] = ("time", np.exp(lp).mean(axis=0))
        data_vars[f"{comp}_lower"] = ("time", np.exp(np.quantile(lp, lo_q, axis=0)))
        data_vars[f"{comp}_upper"] = ("time", np.exp(np.quantile(lp, hi_q, axis=0)))
        kcol = fit.configs[:, k_index[comp]]
        prob_t = np.array([w[kcol == t].sum() for t in range(T)])
        data_vars[f"prob_step_{comp}"] = ("time", prob_t)
        p_change = float(w[kcol >= 0].sum())
        has = cfg[:, k_index[comp]] >= 0
        step = np.expm1(coef[has, col[keys[comp]]]) if has.any() else np.array([np.nan])
        tot = np.expm1(lp[:, -1])
        rows.append({
            "component": comp, "prob_change": p_change,
            "time": times[int(np.argmax(prob_t))] if p_change > 0 else None,
            "step": float(np.mean(step)), "step_lower": float(np.quantile(step, lo_q)),
            "step_upper": float(np.quantile(step, hi_q)),
            "total": float(np.mean(tot)), "total_lower": float(np.quantile(tot, lo_q)),
            "total_upper": float(np.quantile(tot, hi_q)),
        })
    capture = sum(totals[c] for c in components if c != "incidence")
    prob_not_inc = float(np.mean(np.abs(capture) > np.abs(totals["incidence"])))
    explanations: dict[str, float] = {}
    for i, cfg_row in enumerate(fit.configs):
        changed = [c for c in components if cfg_row[k_index[c]] >= 0]
        key = "+".join(changed) if changed else "none"
        explanations[key] = explanations.get(key, 0.0) + float(w[i])
    best = max(explanations, key=explanations.get)
    ds = xr.Dataset(data_vars, coords={"time": np.asarray(times)})
    for comp in components:
        ds[f"{comp}_lower"].attrs["level"] = level
        ds[f"{comp}_upper"].attrs["level"] = level
    ds.attrs.update(level=level, components=list(components))
    return AttributionResult(estimates=ds, effects=pd.DataFrame(rows), explanation=best,
                             explanation_prob=explanations[best],
                             prob_not_incidence=prob_not_inc, explanations=explanations,
                             components=tuple(components), level=level)
