"""Reporting rates from victimisation-survey incident records, with design-based variance."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._validate import check_level, describe_rows, require_columns
from ..errors import InputError
from .results import ReportingRateResult

__all__ = ["reporting_rates"]


def reporting_rates(incidents: pd.DataFrame, reported: str, weight: str, *,
                    by: str | list[str] | None = None, strata: str | None = None,
                    psu: str | None = None, level: float = 0.95,
                    pooled: bool = False) -> ReportingRateResult:
    """Weighted share of survey-reported incidents that the police came to know about.

    Parameters
    ----------
    incidents : pandas.DataFrame
        One row per incident record (e.g. NCVS incident file, CSEW victim forms).
    reported : str
        Column that is 1/True when the police came to know about the incident, 0/False when
        not (code "don't know" as 0 or remove those rows first, as your publication does).
    weight : str
        Incident weight column (e.g. NCVS ``WGTVICCY`` times the series adjustment).
    by : str or list of str, optional
        Grouping columns (crime type, area); rates are estimated for each combination as
        domains of the whole sample, so the design's variance is kept.
    strata, psu : str, optional
        Design strata and primary sampling units (PSUs numbered within strata). Without
        ``psu`` each incident is treated as its own PSU (with-replacement approximation).
    level : float
        Interval level.
    pooled : bool
        Also return partially pooled rates (beta-binomial empirical Bayes over the groups,
        fitted to effective sample sizes), for groups with few incidents.

    Returns
    -------
    ReportingRateResult
        ``estimates`` over dimension ``group``; see the class for the variables.

    Notes
    -----
    The rate is the ratio $\\hat R = \\sum_i w_i y_i / \\sum_i w_i$ over incidents in
    the group. Its variance is by Taylor linearisation: with
    $z_i = w_i (y_i - \\hat R) d_i / \\sum_i w_i d_i$ ($d_i$ the domain
    indicator) and $z_{hj}$ its total over PSU $j$ of stratum $h$,
    $\\widehat{V} = \\sum_h \\frac{n_h}{n_h - 1} \\sum_j (z_{hj} - \\bar z_h)^2$.
    Intervals are built on the logit scale. The pooled model treats
    $\\tilde n_g = \\hat R_g(1-\\hat R_g)/\\widehat V_g$ (effective sample size) and
    $\\tilde y_g = \\tilde n_g \\hat R_g$ as binomial data with
    $R_g \\sim \\text{Beta}(a, b)$, fits $(a, b)$ by maximising the beta-binomial
    marginal likelihood and reports the Beta posterior of each $R_g$.

    References
    ----------
    Wolter, K. (2007). *Introduction to Variance Estimation*, ch. 6. Bureau of Justice
    Statistics (2022). *Criminal Victimization, 2021* (NCJ 305101).

    Examples
    --------
    >>> import pandas as pd
    >>> from crimestats.hidden import reporting_rates
    >>> df = pd.DataFrame({"type": ["a", "a", "b", "b", "b"], "told": [1, 0, 1, 1, 0],
    ...                    "w": [2.0, 2.0, 1.0, 1.0, 2.0]})
    >>> res = reporting_rates(df, reported="told", weight="w", by="type")
    >>> res.estimates["estimate"].round(2).values.tolist()
    [0.5, 0.5]
    """
    level = check_level(level)
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    require_columns(incidents, [reported, weight, strata, psu, *by_cols], "incidents")
    df = incidents
    if len(df) == 0:
        raise InputError("`incidents` has no rows; give one row per incident record.")
    labels = list(df.index)
    w = df[weight].to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise InputError(f"`{weight}` must be finite and non-negative; "
                         f"{describe_rows(np.flatnonzero(bad), labels, 'row')} are not.")
    y_raw = df[reported]
    y = pd.to_numeric(y_raw.astype("object").replace({True: 1, False: 0}), errors="coerce")
    y = y.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        raise InputError(
            f"`{reported}` must be 1/True (police came to know) or 0/False; "
            f"{describe_rows(np.flatnonzero(bad), labels, 'row')} hold "
            f"{y_raw.iloc[np.flatnonzero(bad)[:5]].tolist()}. Recode 'don't know' explicitly.")
    for col in [strata, psu, *by_cols]:
        if col is not None and df[col].isna().any():
            rows = np.flatnonzero(df[col].isna().to_numpy())
            raise InputError(f"`{col}` has missing values in {describe_rows(rows, labels, 'row')}.")
    n = len(df)
    stratum = np.zeros(n, dtype=np.int64) if strata is None else pd.factorize(df[strata])[0]
    if psu is None:
        unit = np.arange(n)
    else:
        unit = pd.factorize(pd.MultiIndex.from_arrays([stratum, df[psu].to_numpy()]))[0]
    if by_cols:
        keys = pd.MultiIndex.from_frame(df[by_cols].astype("object")) if len(by_cols) > 1 \
            else pd.Index(df[by_cols[0]].astype("object"))
        codes, uniques = pd.factorize(keys, sort=True)
        group_labels = [" / ".join(map(str, u)) if isinstance(u, tuple) else str(u)
                        for u in uniques]
    else:
        codes, group_labels = np.zeros(n, dtype=np.int64), ["all"]
    g = len(group_labels)
    member = np.zeros((n, g))
    member[np.arange(n), codes] = 1.0
    tot_w = w @ member
    if (tot_w <= 0).any():
        empty = [group_labels[g] for g in np.flatnonzero(tot_w <= 0)]
        raise InputError(
            f"Group(s) {empty[:8]} have no incident with a positive `{weight}`, so their "
            "reporting rate is undefined; remove them or check the weights.")
    tot_wy = (w * y) @ member
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = tot_wy / tot_w
        z_rate = (w * 1.0)[:, None] * (y[:, None] - rate[None, :]) * member / tot_w[None, :]
    z_total = w[:, None] * member
    z_rep = (w * y)[:, None] * member
    var_rate, psu_count, n_strata = _linearised_variance(z_rate, stratum, unit)
    var_total = _linearised_variance(z_total, stratum, unit)[0]
    var_rep = _linearised_variance(z_rep, stratum, unit)[0]
    se = np.sqrt(var_rate)
    n_records = member.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        eff_n = np.where(var_rate > 0, rate * (1 - rate) / var_rate, n_records)
    lower, upper = _logit_interval(rate, se, level)
    data = {
        "incidents": ("group", tot_w), "incidents_se": ("group", np.sqrt(var_total)),
        "reported": ("group", tot_wy), "reported_se": ("group", np.sqrt(var_rep)),
        "estimate": ("group", rate), "se": ("group", se), "lower": ("group", lower),
        "upper": ("group", upper), "n": ("group", n_records), "effective_n": ("group", eff_n),
    }
    diagnostics: dict[str, Any] = {"strata": n_strata, "psus": psu_count,
                                   "degrees_of_freedom": psu_count - n_strata}
    if pooled:
        post_mean, post_lo, post_hi, fitted = _pool(rate, eff_n, level)
        data.update(pooled=("group", post_mean), pooled_lower=("group", post_lo),
                    pooled_upper=("group", post_hi))
        diagnostics["pooling"] = fitted
    coords: dict[str, Any] = {"group": group_labels}
    if len(by_cols) == 1:
        coords[by_cols[0]] = ("group", [str(u) for u in group_labels])
    ds = xr.Dataset(data, coords=coords, attrs={"level": level, "by": by_cols,
                                                "rate_units": "proportion of incidents"})
    return ReportingRateResult(estimates=ds, level=level, by=tuple(by_cols),
                               diagnostics=diagnostics)


def _linearised_variance(z: np.ndarray, stratum: np.ndarray, unit: np.ndarray
                         ) -> tuple[np.ndarray, int, int]:
    """Between-PSU-within-stratum variance of the totals of ``z`` (columns: domains)."""
    n_units = int(unit.max()) + 1
    unit_tot = np.zeros((n_units, z.shape[1]))
    np.add.at(unit_tot, unit, np.nan_to_num(z))
    unit_stratum = np.zeros(n_units, dtype=np.int64)
    unit_stratum[unit] = stratum
    n_strata = int(stratum.max()) + 1
    n_h = np.bincount(unit_stratum, minlength=n_strata).astype(float)
    sums = np.zeros((n_strata, z.shape[1]))
    np.add.at(sums, unit_stratum, unit_tot)
    means = sums / np.maximum(n_h, 1)[:, None]
    dev = unit_tot - means[unit_stratum]
    factor = np.where(n_h > 1, n_h / np.maximum(n_h - 1, 1), 0.0)
    ss = np.zeros((n_strata, z.shape[1]))
    np.add.at(ss, unit_stratum, dev**2)
    return (factor[:, None] * ss).sum(axis=0), n_units, int((n_h > 0).sum())


def _logit_interval(p: np.ndarray, se: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy import special

    z = special.ndtri(0.5 + level / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        lp = special.logit(p)
        half = z * se / (p * (1 - p))
        lo, hi = special.expit(lp - half), special.expit(lp + half)
    lo = np.where(p <= 0, 0.0, lo)
    hi = np.where(p >= 1, 1.0, hi)
    return lo, hi


def _pool(rate: np.ndarray, eff_n: np.ndarray, level: float
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    """Beta-binomial empirical Bayes on effective counts; Beta posteriors per group."""
    from scipy import optimize, special, stats

    ok = np.isfinite(rate) & (eff_n > 0)
    n_t = np.where(ok, eff_n, 0.0)
    y_t = np.where(ok, n_t * np.nan_to_num(rate), 0.0)

    def negll(par: np.ndarray) -> float:
        m, s = special.expit(par[0]), np.exp(par[1])
        a, b = m * s, (1 - m) * s
        ll = (special.betaln(a + y_t, b + n_t - y_t) - special.betaln(a, b))[ok]
        return -float(ll.sum())

    start = np.array([special.logit(np.clip(np.average(rate[ok], weights=n_t[ok]),
                                            0.01, 0.99)), np.log(20.0)])
    res = optimize.minimize(negll, start, method="Nelder-Mead",
                            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 2000})
    m, s = special.expit(res.x[0]), np.exp(res.x[1])
    a, b = m * s, (1 - m) * s
    post_a, post_b = a + y_t, b + n_t - y_t
    alpha = (1.0 - level) / 2.0
    mean = post_a / (post_a + post_b)
    lo = stats.beta.ppf(alpha, post_a, post_b)
    hi = stats.beta.ppf(1 - alpha, post_a, post_b)
    return mean, lo, hi, {"mean": float(m), "prior_sample_size": float(s), "a": float(a),
                          "b": float(b), "converged": bool(res.success)}
