"""Multiple-systems estimation (capture-recapture) of a hidden population from agencies' lists."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from .._validate import as_rng, check_choice, check_level, require_columns
from ..errors import ConvergenceWarning, EstimationError, InputError
from . import _dga, _lcmcr, _loglinear
from ._results import MultipleSystemsResult
from ._tables import CaptureTable, capture_table, diagnose, history_codes, warn_about

__all__ = ["multiple_systems"]

_log = logging.getLogger(__name__)
_METHODS = ("independence", "loglinear", "bayes", "lcmcr", "dga")


def multiple_systems(table: pd.DataFrame, method: str = "loglinear", *,
                     lists: list[str] | None = None, count: str | None = "count",
                     strata: str | None = None, level: float = 0.95,
                     interval: str | None = None, pthresh: float = 0.02, n_boot: int = 1000,
                     n_classes: int = 10, chains: int = 4, burn: int = 5000, draws: int = 1000,
                     thin: int = 5, delta: float | None = None,
                     max_missing: float | None = None, grid_size: int = 2001,
                     random_seed: Any = None) -> MultipleSystemsResult:
    """Estimate the size of a population, including those on no list, from overlapping lists.

    Parameters
    ----------
    table : pandas.DataFrame
        One 0/1 column per list and a ``count`` column (number of distinct people with that
        capture history), or one row per person (no ``count`` column). Duplicate histories
        are summed (noted in ``diagnostics["notes"]``); histories not given have count 0.
    method : {"loglinear", "independence", "bayes", "lcmcr", "dga"}
        ``"independence"``: Poisson log-linear model with main effects only (Rcapture's
        $M_t$). ``"loglinear"``: SparseMSE's stepwise selection of two-list
        interactions (Chan, Silverman & Vincent 2021). ``"bayes"`` (recommended when capture
        probabilities vary between people) is the Dirichlet-process latent-class model
        ``"lcmcr"`` (Manrique-Vallier 2016), whose interval carries model uncertainty.
        ``"dga"``: Bayesian model averaging over decomposable graphical models with
        hyper-Dirichlet priors (Madigan & York 1997), exact on a grid (at most 6 lists); it
        models dependence between lists, not heterogeneity between people.
    lists : list of str, optional
        List columns; default every column except ``count`` and ``strata``.
    count : str or None
        Name of the count column; None (or a missing column) means one row per person.
    strata : str, optional
        Column defining strata (e.g. region) fitted separately and summed.
    level : float
        Interval level (default 95%).
    interval : {"wald", "bootstrap", "posterior"}, optional
        Log-linear default ``"wald"``: $n + \\exp(\\hat\\theta_0 \\pm z\\,
        \\widehat{se})$, conditional on the chosen model, as SparseMSE's
        ``estimatepopulation.0``. ``"bootstrap"``: BCa interval from ``n_boot`` multinomial
        resamples of the cases with the model selection re-run on each (so the interval
        includes model uncertainty), as SparseMSE's ``estimatepopulation``. Bayesian fits use
        posterior quantiles.
    pthresh : float
        p-value threshold of the stepwise selection (SparseMSE default 0.02).
    n_boot : int
        Bootstrap resamples.
    n_classes, chains, burn, draws, thin : int
        LCMCR: truncation of the stick-breaking prior (number of latent classes), Markov
        chains, burn-in iterations, kept draws per chain and thinning.
    delta : float, optional
        dga: hyper-Dirichlet prior count per cell of the full table (default ``2**-t``).
    max_missing : float, optional
        dga: largest number missed on the grid (default ``20 * observed``, doubled up to
        three times while more than 0.1% of the posterior sits in the grid's top 5%).
    grid_size : int
        dga: number of grid points for the number missed.
    random_seed : int, numpy.random.Generator or None
        Seed for the bootstrap, the sampler, dga's draws and the combination of strata.

    Returns
    -------
    MultipleSystemsResult
        ``total``, ``lower``, ``upper``, ``hidden`` (``total - observed``) and ``observed``
        as floats; per-stratum values in ``estimates``; chosen terms and diagnostics.

    Notes
    -----
    Log-linear model for the expected count of capture history $\\omega$:
    $\\log\\mu_\\omega = \\theta_0 + \\sum_j\\theta_j\\omega_j + \\sum_{(j,k)\\in M}
    \\theta_{jk}\\omega_j\\omega_k$, fitted by Poisson IRLS to the observable cells; the dark
    figure is $e^{\\theta_0}$. A term whose two lists share no case is fitted at
    $-\\infty$ by dropping the cells containing both. A candidate term enters the
    stepwise model only if the maximum likelihood estimate exists (Fienberg & Rinaldo's
    linear program) and is identifiable (full-rank design).

    References
    ----------
    Chan, L., Silverman, B. W. & Vincent, K. (2021). Multiple systems estimation for sparse
    capture data: inferential challenges when there are nonoverlapping lists. *JASA* 116,
    1297–1306. Manrique-Vallier, D. (2016). Bayesian population size estimation using
    Dirichlet process mixtures. *Biometrics* 72, 1246–1254. Madigan, D. & York, J. C.
    (1997). Bayesian methods for estimation of the size of a closed population.
    *Biometrika* 84, 19–31. Silverman, B. W. (2014).
    Modern slavery: an application of multiple systems estimation. Home Office.

    Examples
    --------
    >>> import pandas as pd
    >>> from crimestats.hidden import multiple_systems
    >>> table = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "count": [60, 40, 20]})
    >>> fit = multiple_systems(table, method="independence")
    >>> print(round(fit.total), round(fit.hidden))
    240 120
    """
    method = check_choice(method, "method", _METHODS)
    if method == "bayes":
        method = "lcmcr"
    level = check_level(level)
    bayesian = method in ("lcmcr", "dga")
    if interval is None:
        interval = "posterior" if bayesian else "wald"
    interval = check_choice(interval, "interval",
                            ("posterior",) if bayesian else ("wald", "bootstrap"))
    if not 0.0 <= float(pthresh) < 1.0:
        raise InputError(f"`pthresh` must be in [0, 1); received {pthresh!r}.")
    for name, value in (("n_boot", n_boot), ("n_classes", n_classes), ("chains", chains),
                        ("draws", draws), ("thin", thin)):
        if int(value) != value or value < 1:
            raise InputError(f"`{name}` must be a positive whole number; received {value!r}.")
    rng = as_rng(random_seed)
    options = dict(method=method, interval=interval, level=level, pthresh=float(pthresh),
                   n_boot=int(n_boot), n_classes=int(n_classes), chains=int(chains),
                   burn=int(burn), draws=int(draws), thin=int(thin), delta=delta,
                   max_missing=max_missing, grid_size=int(grid_size))
    if delta is not None and not delta > 0:
        raise InputError(f"`delta` must be positive; received {delta!r}.")

    if strata is None:
        if lists is None and isinstance(table, pd.DataFrame):
            lists = [c for c in table.columns if c != count]
        tab = capture_table(table, lists, count)
        fit = _fit_one(tab, rng, **options)
        return _assemble({"all": fit}, tab.lists, options, rng, stratified=False)

    require_columns(table, [strata], "table")
    if table[strata].isna().any():
        raise InputError(f"Stratum column `{strata}` has missing values; give every row a stratum.")
    if lists is None:
        lists = [c for c in table.columns if c not in (count, strata)]
    fits: dict[str, dict[str, Any]] = {}
    names: tuple[str, ...] = ()
    for label, part in table.groupby(strata, sort=True):
        tab = capture_table(part, lists, count)
        names = tab.lists
        fits[str(label)] = _fit_one(tab, rng, **options)
    return _assemble(fits, names, options, rng, stratified=True)


def _fit_one(tab: CaptureTable, rng: np.random.Generator, *, method: str, interval: str,
             level: float, pthresh: float, n_boot: int, n_classes: int, chains: int, burn: int,
             draws: int, thin: int, delta: float | None, max_missing: float | None,
             grid_size: int) -> dict[str, Any]:
    """Fit one capture table; return the headline numbers, draws and diagnostics."""
    diag = diagnose(tab)
    warn_about(diag)
    if diag["empty_lists"]:
        raise InputError(
            f"List(s) {diag['empty_lists']} hold no cases; remove them before estimating.")
    hist, counts, obs = tab.histories, tab.counts, tab.observed
    out: dict[str, Any] = {"observed": obs, "diagnostics": diag, "terms": (), "draws": None}
    if method == "lcmcr":
        samples = _lcmcr.sample_lcmcr(hist, counts, n_classes=n_classes, chains=chains,
                                      burn=burn, draws=draws, thin=thin, rng=rng)
        alpha = (1.0 - level) / 2.0
        lo, med, hi = np.quantile(samples, [alpha, 0.5, 1.0 - alpha])
        diag.update(_chain_diagnostics(samples))
        diag["posterior_mean"] = float(samples.mean())
        if diag["rhat"] > 1.05:
            warnings.warn(
                f"LCMCR chains disagree (r-hat {diag['rhat']:.2f}, effective sample size "
                f"{diag['ess']:.0f}): the posterior of the total may be multimodal. Run longer "
                "(`burn`, `draws`, `thin`) and compare chains (`result.idata`).",
                ConvergenceWarning, stacklevel=3)
        out.update(total=float(med), lower=float(lo), upper=float(hi),
                   sd=float(samples.std()), draws=samples)
        return out

    if method == "dga":
        out.update(_fit_dga(tab, level, delta, max_missing, grid_size, rng))
        diag.update(out.pop("diagnostics_extra"))
        return out

    terms: tuple[tuple[int, int], ...] = ()
    ident = _loglinear.check_model(hist, counts, ())
    if method == "independence":
        if ident:
            raise EstimationError(_existence_message(ident, "independence"))
        fit = _loglinear.fit_model(hist, counts, ())
    else:
        if ident:
            raise EstimationError(_existence_message(ident, "main-effects"))
        fit, path = _loglinear.stepwise(hist, counts, pthresh)
        terms = fit.terms
        diag["stepwise_path"] = [(f"{tab.lists[i]}:{tab.lists[j]}", p) for (i, j), p in path]
        diag["empty_terms"] = [f"{tab.lists[i]}:{tab.lists[j]}" for i, j in fit.empty_terms]
    diag["estimate_exists"] = True
    diag["deviance"] = fit.deviance
    diag["n_parameters"] = fit.n_params
    diag["aic"] = fit.deviance + 2 * fit.n_params  # up to a constant
    total = obs + fit.dark
    z = stats.norm.ppf(0.5 + level / 2.0)
    lower = obs + np.exp(fit.beta[0] - z * fit.intercept_se)
    upper = obs + np.exp(fit.beta[0] + z * fit.intercept_se)
    # Rcapture's standard error of N: estimation error of the dark figure plus its Poisson noise
    sd = np.sqrt((fit.dark * fit.intercept_se) ** 2 + fit.dark)
    boot = None
    if interval == "bootstrap":
        model = "independence" if method == "independence" else "stepwise"
        boot = _loglinear.bootstrap_totals(hist, counts, model, pthresh, n_boot, rng)
        lower, upper, accel = _loglinear.bca_interval(boot, total, hist, counts, model,
                                                      pthresh, level)
        diag["bca_acceleration"] = accel
        sd = float(boot.std())
    out.update(total=float(total), lower=float(lower), upper=float(upper), sd=float(sd),
               terms=tuple(f"{tab.lists[i]}:{tab.lists[j]}" for i, j in terms),
               draws=boot, dark_log=float(fit.beta[0]), dark_log_se=fit.intercept_se)
    return out


def _fit_dga(tab: CaptureTable, level: float, delta: float | None, max_missing: float | None,
             grid_size: int, rng: np.random.Generator) -> dict[str, Any]:
    """Model averaging over decomposable graphs on a grid of the number missed."""
    t = tab.n_lists
    if t > 6:
        raise InputError(f"method='dga' enumerates every decomposable graph and supports at "
                         f"most 6 lists; the table has {t}. Use method='bayes'.")
    delta = 2.0**-t if delta is None else float(delta)
    full = np.zeros(1 << t)
    full[history_codes(tab.histories)] = tab.counts
    obs = tab.observed
    upper = 20.0 * obs if max_missing is None else float(max_missing)
    for _ in range(4):
        step = max(1.0, np.ceil(upper / (grid_size - 1)))
        grid = np.arange(0.0, upper + step / 2, step)
        post_n, post_g, edges = _dga.bma_posterior(full, t, delta, grid)
        tail = float(post_n[grid >= 0.95 * grid[-1]].sum())
        if max_missing is not None or tail < 1e-3:
            break
        upper *= 2
    if tail >= 1e-3:
        warnings.warn(f"The posterior of the number missed has {tail:.2%} of its mass in the top "
                      "5% of the grid; raise `max_missing`.", ConvergenceWarning, stacklevel=4)
    totals = obs + grid
    cdf = np.cumsum(post_n)
    alpha = (1.0 - level) / 2.0
    lo, med, hi = (float(totals[min(np.searchsorted(cdf, q), totals.size - 1)])
                   for q in (alpha, 0.5, 1.0 - alpha))
    mean = float(post_n @ totals)
    order = np.argsort(post_g)[::-1][:10]
    names = tab.lists
    top = [{"edges": [f"{names[i]}:{names[j]}" for i, j in edges[g]],
            "probability": float(post_g[g])} for g in order]
    return {"total": med, "lower": lo, "upper": hi, "sd": float(np.sqrt(post_n @ (totals - mean) ** 2)),
            "draws": rng.choice(totals, size=20000, p=post_n / post_n.sum()),
            "diagnostics_extra": {"posterior_mean": mean, "delta": delta, "grid_step": float(step),
                                  "grid_max_missing": float(grid[-1]), "upper_tail_mass": tail,
                                  "n_graphs": int(post_g.size), "top_models": top}}


def _existence_message(code: int, model: str) -> str:
    what = {1: "does not exist (the counts lie on the boundary of the model's support)",
            2: "is not identifiable (the design is rank deficient)",
            3: "neither exists nor is identifiable"}[code]
    return (f"The maximum likelihood estimate of the {model} model {what}. Look at "
            "`diagnose` output: lists that overlap no other list, or lists with no cases, "
            "cannot be used; merge or drop them.")


def _chain_diagnostics(samples: np.ndarray) -> dict[str, float]:
    """Split-chain r-hat and a batch-means effective sample size of the total."""
    chains, n = samples.shape
    half = n // 2
    split = np.concatenate([samples[:, :half], samples[:, half:2 * half]], axis=0)
    means = split.mean(axis=1)
    within = split.var(axis=1, ddof=1).mean()
    between = half * means.var(ddof=1)
    var_plus = (half - 1) / half * within + between / half
    rhat = float(np.sqrt(var_plus / within)) if within > 0 else float("nan")
    flat = samples - samples.mean(axis=1, keepdims=True)
    acf_sum = 0.0
    for lag in range(1, min(n - 1, 200)):
        rho = float(np.mean(flat[:, lag:] * flat[:, :-lag]) / max(np.mean(flat**2), 1e-300))
        if rho < 0.05:
            break
        acf_sum += rho
    ess = float(chains * n / (1.0 + 2.0 * acf_sum))
    return {"rhat": rhat, "ess": ess}


def _assemble(fits: dict[str, dict[str, Any]], lists: tuple[str, ...], options: dict[str, Any],
              rng: np.random.Generator, *, stratified: bool) -> MultipleSystemsResult:
    """Build the result; with strata, add a combined ``total`` row."""
    level = options["level"]
    labels = list(fits)
    rows = {k: fits[k] for k in labels}
    combined_draws = None
    if stratified:
        totals = _combine_strata(fits, level, rng)
        rows["total"] = totals
        combined_draws = totals["draws"]
        labels.append("total")
    ds = xr.Dataset(
        {
            "estimate": ("stratum", [rows[k]["total"] for k in labels]),
            "lower": ("stratum", [rows[k]["lower"] for k in labels]),
            "upper": ("stratum", [rows[k]["upper"] for k in labels]),
            "observed": ("stratum", [rows[k]["observed"] for k in labels]),
            "hidden": ("stratum", [rows[k]["total"] - rows[k]["observed"] for k in labels]),
            "sd": ("stratum", [rows[k]["sd"] for k in labels]),
        },
        coords={"stratum": labels},
        attrs={"level": level, "method": options["method"], "interval": options["interval"],
               "lists": list(lists)},
    )
    if stratified:
        ds.attrs["strata"] = labels[:-1]
    head = rows["total"] if stratified else rows["all"]
    if stratified:
        diagnostics: dict[str, Any] = {"strata": {k: fits[k]["diagnostics"] for k in fits}}
        terms: tuple[str, ...] = ()
        draws = combined_draws if combined_draws is not None else np.empty(0)
    else:
        diagnostics = head["diagnostics"]
        terms = head["terms"]
        draws = head["draws"] if head["draws"] is not None else np.empty(0)
    idata = None
    if options["method"] == "lcmcr":
        import arviz as az

        posterior = {f"total_{k}" if stratified else "total": fits[k]["draws"] for k in fits}
        idata = az.from_dict({"posterior": posterior})
    return MultipleSystemsResult(
        estimates=ds, total=float(head["total"]), lower=float(head["lower"]),
        upper=float(head["upper"]), hidden=float(head["total"] - head["observed"]),
        observed=float(head["observed"]), method=options["method"],
        interval=options["interval"], level=level, lists=tuple(lists), terms=terms,
        diagnostics=diagnostics, draws=np.asarray(draws), idata=idata,
    )


def _combine_strata(fits: dict[str, dict[str, Any]], level: float,
                    rng: np.random.Generator) -> dict[str, Any]:
    """Sum the strata: totals add; intervals from summed draws (strata independent).

    Posterior draws are summed draw by draw, bootstrap replicates likewise; Wald fits are
    represented by 20,000 draws of their log-normal dark figure.
    """
    n_sim = 20000
    summed = np.zeros(n_sim)
    for fit in fits.values():
        if fit["draws"] is not None:
            d = np.asarray(fit["draws"], dtype=float).ravel()
            summed += rng.choice(d, size=n_sim, replace=True) if d.size != n_sim else d
        else:
            summed += fit["observed"] + np.exp(rng.normal(fit["dark_log"], fit["dark_log_se"],
                                                          n_sim))
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(summed, [alpha, 1.0 - alpha])
    return {"total": float(sum(f["total"] for f in fits.values())), "lower": float(lo),
            "upper": float(hi), "observed": float(sum(f["observed"] for f in fits.values())),
            "sd": float(summed.std()), "draws": summed}
