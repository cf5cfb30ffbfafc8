"""Direct (design-based) estimates per area, and per area × period, from respondent data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from .._validate import check_choice, check_finite_result, check_level
from ..errors import InputError
from ..results import normal_interval
from ._design import SurveyDesign, codes_for, read_design, sorted_unique
from ._taylor import LONELY_PSU_RULES, DomainMoments, domain_means
from .results import SurveyEstimates

__all__ = ["direct_estimates"]

def direct_estimates(data: pd.DataFrame, y: str, area: str, weight: str, *,
                     strata: str | None = None, psu: str | None = None,
                     period: str | None = None, pool: bool = False,
                     pool_weights: str = "equal", fpc: str | None = None,
                     areas: Sequence[Any] | None = None, scale: float = 1.0,
                     level: float = 0.95, df: float | str | None = None,
                     lonely_psu: str = "adjust") -> SurveyEstimates:
    """Weighted (Hájek) direct estimates per area with Taylor-linearised sampling variances.

    One row of ``data`` per respondent. For a 0/1 outcome (victimised or not) the estimate is
    the prevalence (a proportion); for a count of incidents it is the incidence rate per
    respondent; ``scale`` multiplies both (``scale=100`` for percentages, ``scale=1000`` for
    incidents per 1,000 adults) and the variance by ``scale**2``.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondent-level data, one row per respondent.
    y : str
        Outcome column: 0/1 for prevalence, a count for incidence, any number for a mean.
    area : str
        Area column (the domains).
    weight : str
        Survey weight column (positive; the number of population members a respondent stands
        for).
    strata : str, optional
        Stratum column. Without it the sample is one stratum.
    psu : str, optional
        Primary sampling unit (cluster) column. PSU labels are read as nested within strata
        (R's ``nest=TRUE``). Without it each respondent is its own PSU.
    period : str, optional
        Period column (e.g. survey year). Each period is treated as an independent sample:
        strata (and so PSUs) are nested within periods. Estimates are then over ``area`` and
        ``period``, unless ``pool=True``.
    pool : bool
        Pool all periods in ``data`` into one estimate per area (needs ``period``). Years are
        independent samples; each period's weights are rescaled as set by ``pool_weights``.
    pool_weights : {"equal", "as_is"}
        With ``pool=True``: ``"equal"`` (default) rescales each period's weights to sum to the
        same total (the mean over periods of the total weight), so each period counts equally
        and the pooled estimate targets the average of the period-specific values;
        ``"as_is"`` keeps the weights as given. The rescaling factors are treated as fixed in
        the variance (the usual approximation).
    fpc : str, optional
        Finite population correction column: the number of PSUs in the stratum's population
        (constant within a stratum) or, if every value is <= 1, the sampling fraction, as R
        ``survey`` reads ``fpc=``. Without it PSUs are taken as drawn with replacement.
    areas : sequence, optional
        All areas to report, in order, including areas with no respondents (these get NaN
        estimates and the flag ``"no_sample"``, ready to be out-of-sample areas in a
        Fay–Herriot model). Default: the sorted areas present in ``data``.
    scale : float
        Multiplier of the estimate (e.g. 100 or 1000); the variance is multiplied by its
        square.
    level : float
        Level of the interval ``lower``/``upper``.
    df : None, float or "domain"
        Degrees of freedom of the interval. None (default): normal quantiles, as R's
        ``confint`` with ``df=Inf``. A number: Student-t quantiles with that many degrees of
        freedom for every area (e.g. R's ``degf(design)``, PSUs minus strata). ``"domain"``:
        per area, the number of PSUs with respondents in the area minus the number of strata
        they lie in (at least 1), as Korn and Graubard (1999) recommend for domains with few
        PSUs; the interval is then wider where the variance rests on few PSUs. The degrees of
        freedom used are returned in ``df``.
    lonely_psu : {"adjust", "remove", "average", "fail"}
        Rule for a stratum with a single PSU (R's ``survey.lonely.psu``). ``"adjust"``
        (default) centres that PSU's total at the grand mean of the PSU totals (zero for
        linearised values), a conservative choice; ``"remove"`` drops its contribution;
        ``"average"`` multiplies the variance by (number of strata)/(strata with more than one
        PSU); ``"fail"`` raises [`crimestats.InputError`][crimestats.InputError].

    Returns
    -------
    SurveyEstimates
        A [`Result`][crimestats.results.Result] whose ``estimates`` dataset is over ``area``
        (and ``period`` when given and not pooled):

        - ``estimate``: Hájek mean × ``scale``;
        - ``variance``, ``se``: linearised sampling variance and its square root;
        - ``cv``: ``se / estimate``;
        - ``lower``, ``upper``: normal interval at ``attrs["level"]``;
        - ``n``: respondents (unweighted); ``n_psu``: PSUs with respondents in the area;
          ``n_strata``: strata those PSUs lie in;
        - ``sum_weights``: $\\hat N_d$, the estimated population of the area;
        - ``deff``: design effect, the linearised variance divided by the variance of the
          mean under simple random sampling with replacement of the same size,
          $S_d^2/n_d$ with $S_d^2 = \\frac{n_d}{n_d-1}
          \\sum_{i\\in d} w_i (y_i - \\hat\\theta_d)^2 / \\sum_{i \\in d} w_i$
          (R's ``deff="replace"``); NaN for flagged areas whose variance is zero by
          construction (one PSU, constant outcome);
        - ``deff_weights``: Kish's design effect of unequal weights,
          $n_d \\sum w_i^2 / (\\sum w_i)^2$;
        - ``n_effective``: ``n / deff`` (NaN where the variance is zero);
        - ``df``: degrees of freedom of the interval (``inf`` for the normal interval);
        - ``flag``: ``"ok"``, ``"no_sample"`` (no respondent), ``"single_respondent"``,
          ``"single_psu"`` (all respondents in one PSU: the linearised variance is exactly
          zero), ``"zero_variance"`` (the outcome is constant in the area, e.g. no victim) or
          ``"lonely_psu"`` (the area has respondents in a stratum with one PSU, handled by
          ``lonely_psu``). Flagged variances are unusable as Fay–Herriot sampling variances:
          see [`smooth_variances`][smooth_variances].

    Raises
    ------
    crimestats.InputError
        Missing columns, missing or non-numeric outcomes or weights, non-positive weights,
        missing labels, areas outside ``areas``, a lonely PSU with ``lonely_psu="fail"``.

    Notes
    -----
    For area (domain) $d$ with respondents $i \\in d$,

    $$
    \\hat\\theta_d = \\frac{\\sum_{i \\in d} w_i y_i}{\\sum_{i \\in d} w_i}.
    $$

    The variance is the Taylor linearisation of this ratio over the whole design, with
    linearised values $z_i = w_i (y_i - \\hat\\theta_d)/\\hat N_d$ for $i \\in d$
    and zero outside the domain, summed to PSU totals $Z_{hc}$ and combined across strata
    with the with-replacement (ultimate cluster) approximation,

    $$
    \\hat V(\\hat\\theta_d) = \\sum_h f_h \\frac{n_h}{n_h - 1}
    \\sum_{c=1}^{n_h} (Z_{hc} - \\bar Z_h)^2,
    $$

    where $n_h$ counts every PSU of stratum $h$ (not only those with respondents in
    the domain) and $f_h = 1 - n_h/N_h$ with ``fpc``, else 1. This is exactly R
    ``survey``'s ``svyby(~y, ~area, design, svymean)`` for
    ``svydesign(ids=~psu, strata=~stratum, weights=~weight, fpc=~fpc, nest=TRUE)``.

    References
    ----------
    Korn, E. L. and Graubard, B. I. (1999). *Analysis of Health Surveys*. Wiley, sect. 5.2.
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 2–3.
    Wolter, K. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer, ch. 6.

    Examples
    --------
    >>> import pandas as pd
    >>> from crimestats.survey import direct_estimates
    >>> df = pd.DataFrame({
    ...     "area":   ["a", "a", "a", "a", "b", "b", "b"],
    ...     "stratum": [1, 1, 2, 2, 1, 2, 2],
    ...     "psu":    [1, 2, 3, 4, 1, 3, 4],
    ...     "weight": [10., 20., 10., 30., 10., 20., 20.],
    ...     "victim": [1, 0, 0, 1, 0, 1, 0],
    ... })
    >>> est = direct_estimates(df, y="victim", area="area", weight="weight",
    ...                        strata="stratum", psu="psu")
    >>> est.estimates["estimate"].values.round(3)
    array([0.571, 0.4  ])
    >>> est.estimates["se"].values.round(3)
    array([0.348, 0.408])
    >>> est.estimates["flag"].values.tolist()
    ['ok', 'ok']
    """
    level = check_level(level)
    lonely_psu = check_choice(lonely_psu, "lonely_psu", LONELY_PSU_RULES)
    pool_weights = check_choice(pool_weights, "pool_weights", ("equal", "as_is"))
    try:
        scale = float(scale)
    except (TypeError, ValueError):
        raise InputError(f"`scale` must be a positive number; received {scale!r}.") from None
    if not np.isfinite(scale) or scale <= 0:
        raise InputError(f"`scale` must be a positive number; received {scale!r}.")
    if pool and period is None:
        raise InputError("`pool=True` pools survey periods: give the `period` column too.")

    design = read_design(data, y=y, area=area, weight=weight, strata=strata, psu=psu,
                         period=period, fpc=fpc)
    if lonely_psu == "fail":
        _fail_on_lonely(data, design, strata if strata is not None else period)

    area_labels = sorted_unique(design.area) if areas is None else _area_list(areas)
    area_codes = codes_for(design.area, area_labels, role="Area", column=area)
    weights = design.weight
    dims: tuple[str, ...] = ("area",)
    coords: dict[str, Any] = {"area": area_labels}
    if design.period is not None:
        period_labels = sorted_unique(design.period)
        period_codes = codes_for(design.period, period_labels, role="Period", column=period)
        if pool:
            weights = _pooled_weights(weights, period_codes, len(period_labels), pool_weights)
            domain, n_domains = area_codes, len(area_labels)
        else:
            domain = area_codes * len(period_labels) + period_codes
            n_domains = len(area_labels) * len(period_labels)
            dims = ("area", "period")
            coords["period"] = period_labels
    else:
        domain, n_domains = area_codes, len(area_labels)

    moments = domain_means(design.y, weights, domain, n_domains, design.stratum, design.psu,
                           design.fpc_factor, lonely_psu)
    ds = _assemble(moments, dims, coords, scale, level, _check_df(df))
    ds.attrs.update({
        "level": level,
        "outcome": y,
        "scale": scale,
        "estimator": "Hájek weighted mean (prevalence for 0/1 outcomes, rate per respondent "
                     "for counts), multiplied by `scale`",
        "variance_method": "Taylor linearisation, with-replacement PSUs (ultimate cluster)",
        "deff_definition": "linearised variance / (S^2/n), SRS with replacement",
        "lonely_psu": lonely_psu,
        "df": "normal" if df is None else df,
        "fpc": fpc is not None,
        "outcome_type": "proportion" if np.isin(design.y, (0.0, 1.0)).all() else "mean",
    })
    if pool:
        ds.attrs["pooled_periods"] = [str(p) for p in period_labels]
        ds.attrs["pool_weights"] = pool_weights
    _check_finite(ds)
    return SurveyEstimates(estimates=ds, level=level)


def _check_finite(ds: xr.Dataset) -> None:
    """Estimates and variances are finite wherever the area has respondents."""
    sampled = ds["n"].values > 0
    values = {name: np.where(sampled, ds[name].values, 0.0) for name in ("estimate", "variance")}
    labels = ds["area"].values if ds["estimate"].ndim == 1 else None
    check_finite_result(values, "direct estimate", labels=labels)


def _area_list(areas: Sequence[Any]) -> np.ndarray:
    labels = np.asarray(list(areas))
    if labels.ndim != 1 or labels.size == 0:
        raise InputError("`areas` must be a non-empty 1-D list of area labels.")
    dup = pd.Index(labels)[pd.Index(labels).duplicated()].unique().tolist()
    if dup:
        raise InputError(f"`areas` must list each area once; {dup[:8]} appear more than once.")
    return labels


def _pooled_weights(w: np.ndarray, period: np.ndarray, n_periods: int,
                    rule: str) -> np.ndarray:
    """Rescale each period's weights to the mean period total (rule ``"equal"``)."""
    if rule == "as_is":
        return w
    totals = np.bincount(period, weights=w, minlength=n_periods)
    return w * (totals.mean() / totals[period])


def _fail_on_lonely(data: pd.DataFrame, design: SurveyDesign, strata: str | None) -> None:
    """Raise naming the strata (or periods) with a single PSU (``lonely_psu="fail"``)."""
    frame = pd.DataFrame({"h": design.stratum, "c": design.psu})
    n_h = frame.drop_duplicates().groupby("h").size()
    certain = design.fpc_factor[n_h.index.to_numpy()] <= 1e-7  # census strata: no variance
    lonely = n_h.index[(n_h == 1).to_numpy() & ~certain].to_numpy()
    if lonely.size:
        rows = np.flatnonzero(np.isin(design.stratum, lonely))
        names = (pd.unique(data[strata].to_numpy()[rows]).tolist()[:8] if strata is not None
                 else "the single stratum")
        raise InputError(
            f"Strata with a single PSU (lonely PSUs): {names}. Their variance cannot be "
            "estimated; merge them with a similar stratum or choose lonely_psu='adjust', "
            "'remove' or 'average'."
        )


def _check_df(df: float | str | None) -> float | str | None:
    if df is None or (isinstance(df, str) and df == "domain"):
        return df
    try:
        value = float(df)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = float("nan")
    if not value > 0:
        raise InputError(f"`df` must be None, a positive number or 'domain'; received {df!r}.")
    return value


def _assemble(m: DomainMoments, dims: tuple[str, ...], coords: dict[str, Any], scale: float,
              level: float, df: float | str | None) -> xr.Dataset:
    shape = tuple(len(coords[d]) for d in dims)
    est = m.estimate * scale
    var = m.variance * scale**2
    se = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = se / np.abs(est)
        cv[est == 0] = np.nan
        deff = m.variance / (m.unit_variance / m.n)
        deff[m.constant | (m.n_psu < 2)] = np.nan  # no usable variance, no design effect
        n_eff = np.where(m.variance > 0, m.n / deff, np.nan)
        deff_w = m.n * m.sum_weights_sq / m.sum_weights**2
    if df is None:
        dof = np.full(est.shape, np.inf)
        lower, upper = normal_interval(est, se, level)
    else:
        if df == "domain":
            dof = np.maximum(m.n_psu - m.n_strata, 1).astype(float)
            dof[m.n == 0] = np.nan
        else:
            dof = np.full(est.shape, float(df))
        with np.errstate(invalid="ignore"):
            half = stats.t.ppf(0.5 + level / 2.0, dof) * se
        lower, upper = est - half, est + half

    flag = np.full(est.shape, "ok", dtype=object)
    flag[m.in_lonely_stratum] = "lonely_psu"
    flag[m.constant & (m.n > 1)] = "zero_variance"
    flag[(m.n_psu == 1) & (m.n > 1)] = "single_psu"
    flag[m.n == 1] = "single_respondent"
    flag[m.n == 0] = "no_sample"
    empty = m.n == 0
    n_psu = m.n_psu.astype(np.int64)
    sum_w = np.where(empty, 0.0, m.sum_weights)
    deff_w[empty] = np.nan

    def grid(values: np.ndarray) -> np.ndarray:
        return np.asarray(values).reshape(shape)

    data = {
        "estimate": (dims, grid(est)),
        "variance": (dims, grid(var)),
        "se": (dims, grid(se)),
        "cv": (dims, grid(cv)),
        "lower": (dims, grid(lower)),
        "upper": (dims, grid(upper)),
        "n": (dims, grid(m.n.astype(np.int64))),
        "n_psu": (dims, grid(n_psu)),
        "n_strata": (dims, grid(m.n_strata.astype(np.int64))),
        "n_effective": (dims, grid(n_eff)),
        "deff": (dims, grid(deff)),
        "deff_weights": (dims, grid(deff_w)),
        "sum_weights": (dims, grid(sum_w)),
        "flag": (dims, grid(flag.astype(str))),
        "df": (dims, grid(dof)),
    }
    ds = xr.Dataset(data, coords=coords)
    ds["lower"].attrs["level"] = level
    ds["upper"].attrs["level"] = level
    return ds
