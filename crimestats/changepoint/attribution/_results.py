"""`AttributionResult` and its assembly from the exact posterior and the path draws."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ...results import Result
from ._configurations import COMPONENT_NAMES, INCIDENCE
from ._engine import PathDraws, Posterior

__all__ = ["AttributionResult", "summarise"]


@dataclasses.dataclass(frozen=True)
class AttributionResult(Result):
    """Decomposition of a change in recorded crime into incidence, reporting and recording.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over ``time`` (the recorded periods): ``recorded_rate`` (recorded offences per
        person), ``survey_incidence`` (the survey estimate where a survey period coincides with
        the recorded period, NaN elsewhere) and, for each component, ``<component>`` (posterior
        mean index relative to the first period, 1 = unchanged), ``<component>_lower``,
        ``<component>_upper`` (interval at ``attrs["level"]``) and ``prob_step_<component>``
        (posterior probability that a change of the component — a step, or the first period
        of a ramp — starts at ``t``; over ``t`` they add up to the expected number of changes).
    effects : pandas.DataFrame
        One row per component: ``prob_change`` (posterior probability of at least one change:
        a step or ramp of reporting or recording, a step of incidence), ``expected_changes``,
        ``prob_gradual`` (probability that a change is a ramp, given a change), ``time`` (most
        probable start of a change), ``step`` (posterior mean relative size of the
        component's changes added up, given that it changed, e.g. 0.3 = +30%; a ramp still
        under way at the end is counted whole; NaN when no posterior draw has a change of
        the component), ``step_lower``, ``step_upper``, ``total`` (relative change of the component from the
        first to the last period — for incidence the smooth curve and any step — averaged
        over all configurations), ``total_lower``, ``total_upper``.
    explanation : str
        Most probable set of components with a change (``"none"``, ``"incidence"``,
        ``"reporting+recording"``, ...). Incidence counts as changed when it has a step; its
        smooth movements are in ``effects.total``.
    explanation_prob : float
        Its posterior probability.
    prob_not_incidence : float
        Posterior probability that the change of recorded crime over the window owes more to
        reporting and recording than to incidence: $P(|\\Delta P + \\Delta W| >
        |\\Delta I|)$, the changes from the first to the last period on the log scale.
    prob_capture_change : float
        Posterior probability that reporting or recording changed at all.
    explanations : dict
        Posterior probability of every set of changed components.
    components : tuple of str
        Components in the model (``"recording"`` needs controls; ``"reporting"`` stands for
        "reporting or recording" without them).
    level : float
        Interval level.
    hyperparameters : dict
        Posterior mean and interval of the extra year-to-year noise of recorded crime
        (``noise_sd``, log scale) and of the smoothness of incidence (``smoothness_sd``, the
        standard deviation of second differences of log incidence).
    diagnostics : dict
        ``n_configurations``, ``n_grid`` (hyperparameter nodes), ``max_changes``,
        ``ramp_lengths``, ``log_evidence``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from crimestats.changepoint import attribute
    >>> years = np.arange(2005, 2019)
    >>> inc = 0.05 * 0.98 ** np.arange(14)
    >>> recorded = pd.Series(np.round(1e6 * inc * np.where(years >= 2014, 0.6, 0.4)), index=years)
    >>> survey = pd.DataFrame({"period": years, "estimate": inc, "se": 0.03 * inc})
    >>> res = attribute(recorded, survey, population=1e6, random_seed=0)
    >>> type(res).__name__, res.components, res.explanation
    ('AttributionResult', ('incidence', 'reporting'), 'reporting')
    >>> list(res.effects.columns[:4])
    ['component', 'prob_change', 'expected_changes', 'prob_gradual']
    """

    effects: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    explanation: str = "none"
    explanation_prob: float = float("nan")
    prob_not_incidence: float = float("nan")
    prob_capture_change: float = float("nan")
    explanations: dict[str, float] = dataclasses.field(default_factory=dict)
    components: tuple[str, ...] = ()
    level: float = 0.95
    hyperparameters: dict[str, float] = dataclasses.field(default_factory=dict)
    diagnostics: dict[str, Any] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        """Plain-text report: the most probable explanation and the effect of each component."""
        hp = self.hyperparameters
        lines = [f"Attribution of the change in recorded crime ({', '.join(self.components)})",
                 f"most probable explanation: {self.explanation} "
                 f"(posterior probability {self.explanation_prob:.2f})",
                 f"P(change due more to reporting/recording than incidence) = "
                 f"{self.prob_not_incidence:.2f}",
                 f"P(reporting or recording changed) = {self.prob_capture_change:.2f}",
                 f"extra year-to-year noise of recorded crime: {hp.get('noise_sd', np.nan):.3f} "
                 f"({hp.get('noise_sd_lower', np.nan):.3f}-{hp.get('noise_sd_upper', np.nan):.3f})",
                 "",
                 self.effects.to_string(index=False, float_format=lambda v: f"{v:.3g}")]
        return "\n".join(lines)


def _grid_quantiles(values: np.ndarray, weights: np.ndarray, probs: tuple[float, ...]
                    ) -> list[float]:
    """Quantiles of a positive hyperparameter from its posterior mass on grid nodes.

    The nodes are evenly spaced in the logarithm and carry trapezoid-rule masses, so the
    density at a node is its mass over its cell (half a cell at the two ends). The log density
    is interpolated linearly between nodes and integrated on a fine grid; the quantiles are
    read off that CDF. (Reading them off the nodes snaps the interval to nodes a factor 1.5
    apart; spreading each node's mass evenly over its cell puts too much mass in the tails.)
    """
    nodes, which = np.unique(values, return_inverse=True)
    if nodes.size == 1:
        return [float(nodes[0])] * len(probs)
    mass = np.bincount(which, weights=weights)
    x = np.log(nodes)
    cell = np.gradient(x) * np.r_[0.5, np.ones(x.size - 2), 0.5]
    with np.errstate(divide="ignore"):
        log_density = np.log(mass / cell)
    fine = np.linspace(x[0], x[-1], 40 * x.size)
    ld = np.interp(fine, x, log_density)
    density = np.exp(ld - ld.max())
    cdf = np.r_[0.0, np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(fine))]
    return [float(np.exp(np.interp(p, cdf / cdf[-1], fine))) for p in probs]


def _changes_of(post: Posterior) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per component: (n_capture or n_incidence, T) counts of changes starting at each period,
    and the matching indicator of ramps."""
    cfg = post.configs
    sh = cfg.shapes
    T = post.design.T
    out = {}
    cap = cfg.capture
    valid = cap >= 0
    comp = np.where(valid, sh.component[np.maximum(cap, 0)], -1)
    start = np.where(valid, sh.start[np.maximum(cap, 0)], 0)
    ramp = np.where(valid, sh.length[np.maximum(cap, 0)] > 1, False)
    for c in (1, 2):
        starts = np.zeros((cap.shape[0], T))
        ramps = np.zeros(cap.shape[0])
        for k in range(cap.shape[1]):
            mine = comp[:, k] == c
            starts[np.flatnonzero(mine), start[mine, k]] += 1
            ramps += mine & ramp[:, k]
        out[c] = (starts, ramps)
    inc = cfg.incidence
    starts = np.zeros((inc.size, T))
    has = inc >= 0
    starts[np.flatnonzero(has), sh.start[inc[has]]] = 1
    out[INCIDENCE] = (starts, np.zeros(inc.size))
    return out


def summarise(post: Posterior, paths: PathDraws, inputs_times: pd.Index, rate: np.ndarray,
              survey_on_time: np.ndarray, components: tuple[int, ...], level: float,
              diagnostics: dict[str, Any]) -> AttributionResult:
    """Build the result: exact probabilities from the posterior, intervals from the draws."""
    lo_q, hi_q = 0.5 - level / 2, 0.5 + level / 2
    P = np.exp(post.log_post)
    p_cap, p_inc = P.sum(axis=1), P.sum(axis=0)
    changes = _changes_of(post)
    names = [COMPONENT_NAMES[c] for c in components]
    data_vars: dict[str, Any] = {"recorded_rate": ("time", rate),
                                 "survey_incidence": ("time", survey_on_time)}
    rows = []
    changed_by_config = {}
    for c, name in zip(components, names, strict=True):
        starts, ramps = changes[c]
        weight = p_inc if c == INCIDENCE else p_cap
        n_changes = starts.sum(axis=1)
        changed_by_config[c] = n_changes > 0
        prob_t = weight @ starts
        p_change = float(weight[n_changes > 0].sum())
        lp = paths.paths[c]
        idx = np.exp(lp)
        data_vars[name] = ("time", idx.mean(axis=0))
        data_vars[f"{name}_lower"] = ("time", np.quantile(idx, lo_q, axis=0))
        data_vars[f"{name}_upper"] = ("time", np.quantile(idx, hi_q, axis=0))
        data_vars[f"prob_step_{name}"] = ("time", prob_t)
        size = paths.change_size[c]
        size = np.expm1(size[np.isfinite(size)])
        total = np.expm1(lp[:, -1])
        gradual = float(weight[ramps > 0].sum() / p_change) if p_change > 0 else 0.0
        rows.append({
            "component": name, "prob_change": p_change,
            "expected_changes": float(weight @ n_changes),
            "prob_gradual": gradual,
            "time": inputs_times[int(np.argmax(prob_t))] if p_change > 0 else None,
            "step": float(size.mean()) if size.size else float("nan"),
            "step_lower": float(np.quantile(size, lo_q)) if size.size else float("nan"),
            "step_upper": float(np.quantile(size, hi_q)) if size.size else float("nan"),
            "total": float(total.mean()), "total_lower": float(np.quantile(total, lo_q)),
            "total_upper": float(np.quantile(total, hi_q)),
        })
    capture = sum(paths.paths[c][:, -1] for c in components if c != INCIDENCE)
    prob_not_inc = float(np.mean(np.abs(capture) > np.abs(paths.paths[INCIDENCE][:, -1])))
    # explanations: which components changed, per (capture set, incidence option)
    explanations: dict[str, float] = {}
    inc_changed = changed_by_config[INCIDENCE]
    cap_key = np.zeros(P.shape[0], dtype=np.int64)
    for bit, c in enumerate(components[1:], start=1):
        cap_key |= changed_by_config[c].astype(np.int64) << bit
    for key in np.unique(cap_key):
        rows_a = cap_key == key
        for inc_flag in (False, True):
            mass = float(P[np.ix_(rows_a, inc_changed == inc_flag)].sum())
            if mass <= 0:
                continue
            parts = (["incidence"] if inc_flag else []) + [
                COMPONENT_NAMES[c] for bit, c in enumerate(components[1:], start=1)
                if key >> bit & 1]
            label = "+".join(parts) if parts else "none"
            explanations[label] = explanations.get(label, 0.0) + mass
    best = max(explanations, key=explanations.get)
    no_capture = cap_key == 0
    prob_capture = float(1.0 - p_cap[no_capture].sum())
    ph = np.exp(post.log_post_h)
    hyper = {}
    for key, values in (("noise_sd", post.grid.tau), ("smoothness_sd", post.grid.sigma)):
        q = _grid_quantiles(values, ph, (lo_q, hi_q))
        hyper.update({key: float(ph @ values), f"{key}_lower": q[0], f"{key}_upper": q[1]})
    ds = xr.Dataset(data_vars, coords={"time": np.asarray(inputs_times)})
    for name in names:
        ds[f"{name}_lower"].attrs["level"] = level
        ds[f"{name}_upper"].attrs["level"] = level
    ds.attrs.update(level=level, components=list(names))
    return AttributionResult(estimates=ds, effects=pd.DataFrame(rows), explanation=best,
                             explanation_prob=explanations[best],
                             prob_not_incidence=prob_not_inc, prob_capture_change=prob_capture,
                             explanations=explanations, components=tuple(names), level=level,
                             hyperparameters=hyper, diagnostics=diagnostics)
