"""Multiple-systems estimation (capture-recapture) of a hidden population from agencies' lists."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._validate import as_rng, require_columns
from ..errors import DataWarning, InputError
from ._evidence import assess_heterogeneity, warning_text
from ._fitting import fit_options, fit_table, resolve_method
from ._tables import capture_table
from .methods import FitOptions, Method, MethodFit
from .results import MultipleSystemsResult

__all__ = ["multiple_systems"]


def multiple_systems(table: pd.DataFrame, method: str = "loglinear", *,
                     lists: list[str] | None = None, count: str | None = "count",
                     strata: str | None = None, level: float = 0.95,
                     interval: str | None = None, pthresh: float = 0.02, n_boot: int = 1000,
                     n_classes: int = 10, chains: int = 4, burn: int = 5000, draws: int = 1000,
                     thin: int = 5, delta: float | None = None,
                     max_missing: float | None = None, grid_size: int = 2001,
                     theta: float | None = None, check_heterogeneity: bool = True,
                     random_seed: Any = None, progress: bool | None = None
                     ) -> MultipleSystemsResult:
    """Estimate the size of a population, including those on no list, from overlapping lists.

    Parameters
    ----------
    table : pandas.DataFrame
        One 0/1 column per list and a ``count`` column (number of distinct people with that
        capture history), or one row per person (no ``count`` column). Duplicate histories
        are summed (noted in ``diagnostics["notes"]``); histories not given have count 0.
    method : str
        A registered method (``crimestats.hidden.methods.REGISTRY``):

        * ``"independence"``: Poisson log-linear model with main effects only (Rcapture's
          $M_t$).
        * ``"loglinear"``: SparseMSE's stepwise selection of two-list interactions (Chan,
          Silverman & Vincent 2021).
        * ``"bayes"`` (recommended when capture probabilities vary between people) is the
          Dirichlet-process latent-class model ``"lcmcr"`` (Manrique-Vallier 2016), whose
          interval carries model uncertainty.
        * ``"dga"``: Bayesian model averaging over decomposable graphical models with
          hyper-Dirichlet priors (Madigan & York 1997), exact on a grid (at most 6 lists); it
          models dependence between lists, not heterogeneity between people.
        * ``"mh_chao"``, ``"mh_poisson"``, ``"mh_darroch"``, ``"mh_gamma"`` and their
          ``"mth_..."`` forms: Rcapture's heterogeneity models (at least 3 lists), with
          catchability varying between people (and, for $M_{th}$, between lists); Chao's
          is a lower bound. Numbers as Rcapture's ``closedp.t``.
    lists : list of str, optional
        List columns; default every column except ``count`` and ``strata``.
    count : str or None
        Name of the count column; None (or a missing column) means one row per person.
    strata : str, optional
        Column defining strata (e.g. region) fitted separately and summed.
    level : float
        Interval level (default 95%).
    interval : {"wald", "bootstrap", "posterior"}, optional
        Log-linear (and heterogeneity-model) default ``"wald"``: $n + \\exp(\\hat\\theta_0 \\pm z\\,
        \\widehat{se})$, conditional on the chosen model, as SparseMSE's
        ``estimatepopulation.0``. ``"bootstrap"``: BCa interval from ``n_boot`` multinomial
        resamples of the cases with the model selection re-run on each (so the interval
        includes model uncertainty), as SparseMSE's ``estimatepopulation``. Bayesian fits use
        posterior quantiles.
    pthresh : float
        p-value threshold of the stepwise selection (SparseMSE default 0.02).
    n_boot : int
        Bootstrap resamples.
    n_classes : int
        LCMCR: truncation of the stick-breaking prior (number of latent classes).
    chains : int
        LCMCR: Markov chains.
    burn : int
        LCMCR: burn-in iterations per chain.
    draws : int
        LCMCR: kept draws per chain.
    thin : int
        LCMCR: keep every ``thin``-th iteration after the burn-in.
    delta : float, optional
        dga: hyper-Dirichlet prior count per cell of the full table (default ``2**-t``).
    max_missing : float, optional
        dga: largest number missed on the grid (default ``20 * observed``, doubled up to
        three times while more than 0.1% of the posterior sits in the grid's top 5%).
    grid_size : int
        dga: number of grid points for the number missed.
    theta : float, optional
        $\\vartheta$ of the Poisson ($\\vartheta^k - 1$, default 2) and Gamma
        ($\\log\\vartheta - \\log(\\vartheta + k)$, default 3.5) heterogeneity models.
    check_heterogeneity : bool
        Look for evidence of heterogeneity between people in the table (default True): the
        result's ``diagnostics["heterogeneity"]`` holds the tests, and a
        [`DataWarning`][crimestats.DataWarning] names the evidence when the chosen method
        cannot represent heterogeneity (independence, log-linear, dga).
    random_seed : int, numpy.random.Generator or None
        Seed for the bootstrap, the sampler, dga's draws and the combination of strata.
    progress : bool or None
        Progress bar of the long runs (LCMCR chains, bootstrap resamples) on standard error:
        ``None`` (default) only when it is a terminal, ``True`` always, ``False`` never.

    Returns
    -------
    MultipleSystemsResult
        ``total``, ``lower``, ``upper``, ``hidden`` (``total - observed``) and ``observed``
        as floats; per-stratum values in ``estimates``; chosen terms and diagnostics.

    Warns
    -----
    DataWarning
        When the lists carry evidence of heterogeneity the method cannot represent: a
        heterogeneity term fits much better even after the dependence between lists is
        modelled (likelihood-ratio test), or the interval lies wholly below that of Chao's
        lower bound. The validation page gives the rule's detection and false-alarm rates on
        simulated lists.

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
    spec = resolve_method(method)
    options = fit_options(spec, interval=interval, level=level, pthresh=pthresh, n_boot=n_boot,
                          n_classes=n_classes, chains=chains, burn=burn, draws=draws, thin=thin,
                          delta=delta, max_missing=max_missing, grid_size=grid_size,
                          theta=theta, progress=progress)
    rng = as_rng(random_seed)
    if strata is None:
        if lists is None and isinstance(table, pd.DataFrame):
            lists = [c for c in table.columns if c != count]
        parts = {"all": capture_table(table, lists, count)}
    else:
        require_columns(table, [strata], "table")
        if table[strata].isna().any():
            raise InputError(
                f"Stratum column `{strata}` has missing values; give every row a stratum.")
        if lists is None:
            lists = [c for c in table.columns if c not in (count, strata)]
        parts = {str(label): capture_table(part, lists, count)
                 for label, part in table.groupby(strata, sort=True)}
    fits: dict[str, MethodFit] = {}
    for label, tab in parts.items():
        fit = fit_table(spec, tab, options, rng)
        if check_heterogeneity:
            evidence = assess_heterogeneity(tab, spec, fit, options)
            fit.diagnostics["heterogeneity"] = evidence
            if evidence["warn"]:
                where = "" if strata is None else f"In stratum {label!r}: "
                warnings.warn(where + warning_text(evidence, spec.name), DataWarning,
                              stacklevel=2)
        fits[label] = fit
    names = next(iter(parts.values())).lists
    return _assemble(fits, names, spec, options, rng, stratified=strata is not None)


def _assemble(fits: dict[str, MethodFit], lists: tuple[str, ...], spec: Method,
              options: FitOptions, rng: np.random.Generator, *,
              stratified: bool) -> MultipleSystemsResult:
    """Build the result; with strata, add a combined ``total`` row."""
    level = options.level
    rows = dict(fits)
    if stratified:
        rows["total"] = _combine_strata(fits, level, rng)
    labels = list(rows)
    ds = xr.Dataset(
        {
            "estimate": ("stratum", [rows[k].total for k in labels]),
            "lower": ("stratum", [rows[k].lower for k in labels]),
            "upper": ("stratum", [rows[k].upper for k in labels]),
            "observed": ("stratum", [rows[k].observed for k in labels]),
            "hidden": ("stratum", [rows[k].total - rows[k].observed for k in labels]),
            "sd": ("stratum", [rows[k].sd for k in labels]),
        },
        coords={"stratum": labels},
        attrs={"level": level, "method": spec.name, "interval": options.interval,
               "lists": list(lists)},
    )
    if stratified:
        ds.attrs["strata"] = labels[:-1]
        head = rows["total"]
        diagnostics: dict[str, Any] = {"strata": {k: fits[k].diagnostics for k in fits}}
        terms: tuple[str, ...] = ()
    else:
        head = rows["all"]
        diagnostics = head.diagnostics
        terms = head.terms
    draws = head.draws if head.draws is not None else np.empty(0)
    idata = None
    if spec.chains:
        import arviz as az

        posterior = {f"total_{k}" if stratified else "total": fits[k].draws for k in fits}
        idata = az.from_dict({"posterior": posterior})
    return MultipleSystemsResult(
        estimates=ds, total=head.total, lower=head.lower, upper=head.upper,
        hidden=head.total - head.observed, observed=head.observed, method=spec.name,
        interval=options.interval, level=level, lists=tuple(lists), terms=terms,
        diagnostics=diagnostics, draws=np.asarray(draws), idata=idata,
    )


def _combine_strata(fits: dict[str, MethodFit], level: float,
                    rng: np.random.Generator) -> MethodFit:
    """Sum the strata: totals add; intervals from summed draws (strata independent).

    Posterior draws are summed draw by draw, bootstrap replicates likewise; Wald fits are
    represented by 20,000 draws of their log-normal dark figure.
    """
    n_sim = 20000
    summed = np.zeros(n_sim)
    for fit in fits.values():
        if fit.draws is not None:
            d = np.asarray(fit.draws, dtype=float).ravel()
            summed += rng.choice(d, size=n_sim, replace=True) if d.size != n_sim else d
        else:
            summed += fit.observed + np.exp(rng.normal(fit.dark_log, fit.dark_log_se, n_sim))
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(summed, [alpha, 1.0 - alpha])
    return MethodFit(total=float(sum(f.total for f in fits.values())), lower=float(lo),
                     upper=float(hi), observed=float(sum(f.observed for f in fits.values())),
                     sd=float(summed.std()), diagnostics={}, draws=summed)
