"""Every multiple-systems method on one table: totals and intervals side by side."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._validate import as_rng
from ..errors import CrimestatsWarning, EstimationError, InputError
from ._evidence import assess_heterogeneity
from ._fitting import fit_options, fit_table, resolve_method
from ._tables import capture_table
from .methods import REGISTRY, method_names
from .results import SensitivityResult

__all__ = ["multiple_systems_sensitivity"]


def multiple_systems_sensitivity(table: pd.DataFrame, methods: Sequence[str] | str | None = None,
                                 *, lists: list[str] | None = None, count: str | None = "count",
                                 level: float = 0.95, pthresh: float = 0.02,
                                 n_classes: int = 10, chains: int = 4, burn: int = 5000,
                                 draws: int = 1000, thin: int = 5, delta: float | None = None,
                                 max_missing: float | None = None, grid_size: int = 2001,
                                 random_seed: Any = None) -> SensitivityResult:
    """Fit several multiple-systems methods to one table and set their totals side by side.

    The spread of the totals is the honest range of answers the lists allow: methods that
    assume everyone is equally catchable (independence, stepwise log-linear, dga) against
    methods that let catchability differ between people (Rcapture's $M_h$/$M_{th}$
    heterogeneity models, the latent-class LCMCR). Each method gets its default interval at
    ``level``; a method that cannot be fitted to the table gets NaN and the reason in ``note``.

    Parameters
    ----------
    table : pandas.DataFrame
        One 0/1 column per list and a ``count`` column (or one row per person), as for
        [`multiple_systems`][crimestats.hidden.multiple_systems.multiple_systems].
    methods : list of str, "all" or None
        Methods to fit (names of `multiple_systems`'s ``method``). None: every method that is
        quick (all but LCMCR) and applicable to the number of lists (dga needs at most 6, the
        heterogeneity models at least 3). ``"all"`` adds LCMCR.
    lists, count
        As for `multiple_systems`.
    level : float
        Interval level.
    pthresh, n_classes, chains, burn, draws, thin, delta, max_missing, grid_size
        Options of the methods that use them, as for `multiple_systems`.
    random_seed : int, numpy.random.Generator or None
        Seed of the Bayesian methods.

    Returns
    -------
    SensitivityResult
        Over dimension ``method``: ``estimate``, ``lower``, ``upper``, ``hidden``, ``sd`` (all
        persons), ``aic`` (log-linear family, Rcapture's full Poisson AIC; NaN otherwise),
        ``models_heterogeneity``, ``interval`` and ``note``; the evidence of heterogeneity in
        ``diagnostics``.

    Notes
    -----
    Under heterogeneity the methods that cannot represent it agree with each other and are
    all too low: agreement among them is no reassurance. The heterogeneity models differ in
    how they extrapolate to people on no list ($h(k)$ at $k = 0$), so their spread is the
    part of the uncertainty the data cannot resolve; Chao's lower bound is a floor.

    References
    ----------
    Rivest, L.-P. & Baillargeon, S. (2007). Applications and extensions of Chao's moment
    estimator for the size of a closed population. *Biometrics* 63, 999–1006.
    Baillargeon, S. & Rivest, L.-P. (2007). Rcapture: loglinear models for capture-recapture
    in R. *Journal of Statistical Software* 19(5).

    Examples
    --------
    >>> from crimestats.datasets import load_modern_slavery
    >>> from crimestats.hidden import multiple_systems_sensitivity
    >>> table = multiple_systems_sensitivity(load_modern_slavery(lists=5)).table()
    >>> table.loc[["independence", "loglinear", "mth_chao"], "estimate"].round().tolist()
    [13444.0, 11313.0, 13570.0]
    """
    names = _choose(methods, table, lists, count)
    rng = as_rng(random_seed)
    if lists is None and isinstance(table, pd.DataFrame):
        lists = [c for c in table.columns if c != count]
    tab = capture_table(table, lists, count)
    rows: dict[str, dict[str, Any]] = {}
    evidence: dict[str, Any] | None = None
    for name in names:
        spec = resolve_method(name)
        options = fit_options(spec, interval=None, level=level, pthresh=pthresh, n_boot=1,
                              n_classes=n_classes, chains=chains, burn=burn, draws=draws,
                              thin=thin, delta=delta, max_missing=max_missing,
                              grid_size=grid_size, theta=None)
        row: dict[str, Any] = {"label": spec.label, "interval": options.interval,
                               "models_heterogeneity": spec.models_heterogeneity}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CrimestatsWarning)
            try:
                fit = fit_table(spec, tab, options, rng, warn=False)
            except (EstimationError, InputError) as err:
                row.update(estimate=np.nan, lower=np.nan, upper=np.nan, sd=np.nan,
                           aic=np.nan, note=str(err))
                rows[name] = row
                continue
        notes = [str(w.message) for w in caught if issubclass(w.category, CrimestatsWarning)]
        row.update(estimate=fit.total, lower=fit.lower, upper=fit.upper, sd=fit.sd,
                   aic=float(fit.diagnostics.get("aic", np.nan)), note=" ".join(notes))
        if evidence is None and spec.reference:
            evidence = assess_heterogeneity(tab, spec, fit, options)
        rows[name] = row
    labels = list(rows)
    obs = tab.observed
    est = np.array([rows[k]["estimate"] for k in labels], dtype=float)
    ds = xr.Dataset(
        {
            "estimate": ("method", est),
            "lower": ("method", [rows[k]["lower"] for k in labels]),
            "upper": ("method", [rows[k]["upper"] for k in labels]),
            "hidden": ("method", est - obs),
            "sd": ("method", [rows[k]["sd"] for k in labels]),
            "aic": ("method", [rows[k]["aic"] for k in labels]),
            "models_heterogeneity": ("method", [rows[k]["models_heterogeneity"]
                                                for k in labels]),
            "interval": ("method", [rows[k]["interval"] for k in labels]),
            "label": ("method", [rows[k]["label"] for k in labels]),
            "note": ("method", [rows[k]["note"] for k in labels]),
        },
        coords={"method": labels},
        attrs={"level": level, "observed": obs, "lists": list(tab.lists)},
    )
    return SensitivityResult(estimates=ds, level=level, observed=obs, lists=tab.lists,
                             diagnostics={"heterogeneity": evidence or {}})


def _choose(methods: Sequence[str] | str | None, table: Any, lists: list[str] | None,
            count: str | None) -> list[str]:
    """Method names to fit: checked, in registry order."""
    if methods is None or (isinstance(methods, str) and methods.lower() == "all"):
        everything = isinstance(methods, str)
        if isinstance(table, pd.DataFrame):
            n_lists = len(lists) if lists is not None else \
                len([c for c in table.columns if c != count])
        else:
            n_lists = 2
        return [n for n in method_names()
                if (everything or REGISTRY[n].quick)
                and REGISTRY[n].min_lists <= n_lists <= REGISTRY[n].max_lists]
    if isinstance(methods, str):
        methods = [methods]
    names = [resolve_method(m).name for m in methods]
    if not names:
        raise InputError("`methods` is empty; give at least one method name, or None.")
    return list(dict.fromkeys(names))
