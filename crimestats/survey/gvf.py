"""Generalised variance functions: usable sampling variances for every sampled area."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats

from .._validate import as_positive_int, check_choice, check_finite_result
from ..errors import InputError
from ..results import Result, normal_interval
from .results import SurveyEstimates

__all__ = ["smooth_variances"]

#: Flags whose direct variance is not an estimate of the sampling variance.
UNUSABLE_FLAGS = ("single_respondent", "single_psu", "zero_variance")


def smooth_variances(estimates: SurveyEstimates | xr.Dataset, *, method: str = "deff",
                     replace: str = "flagged", min_n: int = 10,
                     df_correction: bool = True) -> SurveyEstimates:
    """Model the sampling variances of direct estimates on sample size (a GVF).

    Areas with one respondent, all respondents in one PSU or no variation in the outcome have
    a direct variance of zero or none at all, and areas with few respondents have very noisy
    variances; a Fay–Herriot model treats these variances as known, so they need replacing.
    A generalised variance function fitted to the reliable areas gives a modelled variance for
    every sampled area.

    Parameters
    ----------
    estimates : SurveyEstimates or xarray.Dataset
        Output of [`direct_estimates`][direct_estimates], or its ``estimates`` dataset (needs
        ``estimate``, ``variance``, ``n``, ``flag``).
    method : {"deff", "loglinear"}
        ``"deff"`` (default): $\\tilde V_i = k / n_i$ with
        $k = \\overline{\\mathrm{deff}}\\, S^2$ estimated from the reliable areas as
        $\\hat k = \\sum_i n_i^2 \\hat V_i / \\sum_i n_i$ (each area's $n_i \\hat
        V_i$ weighted by its sample size). For a 0/1 outcome this is
        $\\overline{\\mathrm{deff}}\\, \\bar p (1 - \\bar p) / n_i$ with $\\bar p$
        the overall prevalence; the pooled design effect is reported in
        ``attrs["deff_pooled"]``. The modelled variance does not use the area's own estimate,
        so it is not correlated with it (a known source of bias in Fay–Herriot models).
        ``"loglinear"``: $\\log \\hat V_i = a + b \\log n_i + e_i$ fitted by least squares
        to the reliable areas, predicted as $\\exp(a + b \\log n_i)$ times Duan's
        smearing factor $\\overline{\\exp(e_i)}$.
    replace : {"flagged", "all"}
        ``"flagged"`` (default) replaces the variance of areas whose flag is
        ``"single_respondent"``, ``"single_psu"`` or ``"zero_variance"`` or with fewer than
        ``min_n`` respondents; ``"all"`` uses the modelled variance for every sampled area.
    min_n : int
        Areas with fewer respondents are not used to fit the function and, with
        ``replace="flagged"``, get the modelled variance.
    df_correction : bool
        Fit the function to $\\hat V_i\\, c_i / (c_i - h_i)$ instead of $\\hat V_i$,
        with $c_i$ the PSUs and $h_i$ the strata of area $i$ (``n_psu``,
        ``n_strata``). The linearised values of an area sum to zero within it, which costs one
        degree of freedom per stratum, so with few PSUs per area the direct variances are
        biased downwards (by about $(c_i - h_i)/c_i$); this undoes that loss on average.
        In simulations (validation page) this raised the median ratio of the smoothed to the
        true variance from 0.77 to 0.98 and interval coverage from 92% to 95%. False fits the
        direct variances as R ``survey`` defines them.

    Returns
    -------
    SurveyEstimates
        Its ``estimates`` dataset is a copy of the input's with ``variance_raw`` (the direct variance),
        ``variance_smoothed`` (the modelled variance, NaN for areas without sample),
        ``replaced`` (True where ``variance`` now holds the modelled value) and ``variance``,
        ``se``, ``cv``, ``lower``, ``upper`` recomputed from the variance in use (normal
        quantiles for modelled variances; kept direct variances keep their ``df``). The fitted
        parameters are in ``attrs`` (``gvf_method``, ``gvf_parameters``, ``gvf_areas_fitted``,
        and ``deff_pooled`` for ``"deff"``).

    Raises
    ------
    crimestats.InputError
        If the dataset lacks the needed variables or too few areas are reliable to fit the
        function (1 for ``"deff"``, 3 for ``"loglinear"``).

    References
    ----------
    Wolter, K. (2007). *Introduction to Variance Estimation*, 2nd ed., ch. 7 (generalised
    variance functions). Rao, J. N. K. and Molina, I. (2015). *Small Area Estimation*,
    2nd ed., sect. 6.4 (smoothing of sampling variances).

    Examples
    --------
    >>> from crimestats.datasets import simulate_survey
    >>> from crimestats.survey import direct_estimates, smooth_variances
    >>> sim = simulate_survey(n_areas=30, random_seed=3)
    >>> est = direct_estimates(sim.respondents, y="victim", area="area", weight="weight",
    ...                        strata="stratum", psu="psu", areas=sim.areas["area"])
    >>> smooth = smooth_variances(est)
    >>> table = smooth.estimates[["n", "flag", "variance_raw", "variance", "replaced"]]
    >>> table = table.to_dataframe()
    >>> table.drop_duplicates("flag").round(4)
           n        flag  variance_raw  variance  replaced
    area
    A01   63          ok        0.0004    0.0004     False
    A03   18  single_psu        0.0000    0.0120      True
    A28    0   no_sample           NaN       NaN     False
    """
    method = check_choice(method, "method", ("deff", "loglinear"))
    replace = check_choice(replace, "replace", ("flagged", "all"))
    if isinstance(estimates, Result):
        estimates = estimates.estimates
    if not isinstance(estimates, xr.Dataset):
        raise InputError(
            f"`estimates` must be the result of direct_estimates (or its `estimates` "
            f"dataset); received {type(estimates).__name__}. A table of direct estimates "
            "converts with `xarray.Dataset.from_dataframe(table.set_index('area'))`.")
    needed = [v for v in ("estimate", "variance", "n", "flag") if v not in estimates]
    if needed:
        raise InputError(
            f"`estimates` lacks {needed}; pass the dataset returned by direct_estimates."
        )
    min_n = as_positive_int(min_n, "min_n", minimum=2)

    var = estimates["variance"].values.astype(float)
    n = estimates["n"].values.astype(float)
    fit_var = var
    if df_correction:
        if "n_psu" not in estimates or "n_strata" not in estimates:
            raise InputError("`df_correction=True` needs `n_psu` and `n_strata` from "
                             "direct_estimates; pass df_correction=False without them.")
        c = estimates["n_psu"].values.astype(float)
        h = estimates["n_strata"].values.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            fit_var = np.where(c > h, var * c / (c - h), var)
    flag = estimates["flag"].values.astype(str)
    sampled = n > 0
    unusable = np.isin(flag, UNUSABLE_FLAGS) | (sampled & ~np.isfinite(var))
    reliable = sampled & ~unusable & (n >= min_n) & (var > 0)
    n_fit = int(reliable.sum())

    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "deff":
            if n_fit < 1:
                raise InputError(_too_few(n_fit, 1, min_n))
            k = float(np.sum(n[reliable] ** 2 * fit_var[reliable]) / np.sum(n[reliable]))
            smoothed = np.where(sampled, k / n, np.nan)
            params = {"k": k}
        else:
            if n_fit < 3:
                raise InputError(_too_few(n_fit, 3, min_n))
            design = np.column_stack([np.ones(n_fit), np.log(n[reliable])])
            coef, *_ = np.linalg.lstsq(design, np.log(fit_var[reliable]), rcond=None)
            resid = np.log(fit_var[reliable]) - design @ coef
            smear = float(np.mean(np.exp(resid)))
            smoothed = np.where(sampled, smear * np.exp(coef[0] + coef[1] * np.log(n)), np.nan)
            params = {"a": float(coef[0]), "b": float(coef[1]), "smearing": smear}

    if replace == "all":
        replaced = sampled.copy()
    else:
        replaced = sampled & (unusable | (n < min_n))
    final = np.where(replaced, smoothed, var)

    out = estimates.copy()
    dims = estimates["variance"].dims
    out["variance_raw"] = (dims, var)
    out["variance_smoothed"] = (dims, smoothed)
    out["replaced"] = (dims, replaced)
    out["variance"] = (dims, final)
    est = estimates["estimate"].values
    se = np.sqrt(final)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cv"] = (dims, np.where(est != 0, se / np.abs(est), np.nan))
    out["se"] = (dims, se)
    if "lower" in estimates:
        level = float(estimates.attrs.get("level", estimates["lower"].attrs.get("level", 0.95)))
        # a modelled variance rests on many areas: normal quantiles; kept direct variances keep
        # the degrees of freedom they came with (``df`` of direct_estimates)
        dof = np.full(est.shape, np.inf)
        if "df" in estimates:
            dof = np.where(replaced, np.inf, estimates["df"].values.astype(float))
        lower, upper = normal_interval(est, se, level)
        finite = np.isfinite(dof)
        if finite.any():
            half = stats.t.ppf(0.5 + level / 2.0, dof[finite]) * se[finite]
            lower[finite], upper[finite] = est[finite] - half, est[finite] + half
        out["lower"] = (dims, lower, {"level": level})
        out["upper"] = (dims, upper, {"level": level})
        out["df"] = (dims, dof)
    out.attrs.update({"gvf_method": method, "gvf_parameters": params,
                      "gvf_areas_fitted": n_fit, "gvf_replace": replace, "gvf_min_n": int(min_n),
                      "gvf_df_correction": bool(df_correction)})
    if method == "deff":
        out.attrs["deff_pooled"] = _pooled_deff(estimates, k, sampled)
    check_finite_result({"variance": np.where(sampled, final, 0.0)}, "variance function")
    return SurveyEstimates(estimates=out, level=float(estimates.attrs.get("level", 0.95)))


def _pooled_deff(estimates: xr.Dataset, k: float, sampled: np.ndarray) -> float:
    """$k / S^2$ with the overall unit variance ($\\bar p(1-\\bar p)$ for 0/1 data)."""
    if estimates.attrs.get("outcome_type") != "proportion" or "sum_weights" not in estimates:
        return float("nan")
    scale = float(estimates.attrs.get("scale", 1.0))
    p = estimates["estimate"].values[sampled] / scale
    w = estimates["sum_weights"].values[sampled]
    p_bar = float(np.sum(w * p) / np.sum(w))
    unit = p_bar * (1 - p_bar) * scale**2
    return k / unit if unit > 0 else float("nan")


def _too_few(n_fit: int, needed: int, min_n: int) -> str:
    return (f"Only {n_fit} areas have a usable direct variance (flag 'ok' or 'lonely_psu', "
            f"at least min_n={min_n} respondents, variance > 0); the variance function needs "
            f"{needed}. Lower `min_n`, pool survey periods, or supply variances from another "
            "source.")
