"""Ranks with uncertainty: where could each area really sit in the league table?

The rank of area $i$ is a function of every area's true value, so its posterior distribution
follows from joint posterior draws $\\theta^{(s)}$: rank the areas in each draw and summarise
each area's ranks (Goldstein & Spiegelhalter 1996; Marshall & Spiegelhalter 1998). Any
small-area fit can be ranked:

* hierarchical Bayes fits that keep posterior draws (`fay_herriot(..., method="hb")`,
  `bym2(..., draws=1000)`): the exact joint draws of $\\theta$;
* EBLUP fits and other results with an estimate and an RMSE or posterior SD: independent
  normal draws $N(\\hat\\theta_i, \\text{MSE}_i)$ (this ignores the correlation between
  areas' errors through the estimated regression, which is small when the areas are many);
* a matrix of draws (draws × areas) or estimates with standard errors.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .. import _validate as v
from ..errors import DataWarning, InputError
from .results import RankResult

__all__ = ["rank_uncertainty"]

#: A league table misleads when the median area's rank interval reaches more than this share
#: of the other places (a typical area cannot be placed within a quarter of the table).
MISLEADING_SHARE = 0.25


def rank_uncertainty(source: Any, *, se: Any = None, areas: Any = None, level: float = 0.95,
                     descending: bool = True, top: int = 1, draws: int = 4000,
                     random_seed: Any = None) -> RankResult:
    """Posterior distribution of every area's rank, with intervals and a league-table warning.

    For draws $\\theta^{(s)}$, $s = 1, \\dots, S$, of the areas' true values, area $i$'s
    rank in draw $s$ is $R_i^{(s)} = 1 + \\#\\{j : \\theta_j^{(s)} > \\theta_i^{(s)}\\}$
    (``descending``; smallest first otherwise). The interval $[\\ell_i, u_i]$ is the
    equal-tailed one of the draws' ranks: $\\ell_i$ the smallest rank with
    $P(R_i \\le \\ell_i) \\ge \\alpha/2$ and $u_i$ the smallest with
    $P(R_i \\le u_i) \\ge 1 - \\alpha/2$. Ranks are whole numbers, so the interval holds
    at least the requested probability; its actual posterior probability is reported
    (``interval_probability``).

    Parameters
    ----------
    source : result, array-like or pandas.DataFrame
        A small-area fit: a result whose ``idata`` holds posterior draws of ``theta`` (HB,
        BYM2), or whose ``estimates`` have ``estimate`` and ``rmse`` or ``sd`` (EBLUP, other
        models; normal approximation); a 2-D array or DataFrame of draws (rows = draws,
        columns = areas); or 1-D estimates with ``se``.
    se : array-like, optional
        Standard errors (or posterior SDs) of 1-D estimates; a Series is matched by label.
    areas : array-like, optional
        Area labels for arrays without them.
    level : float
        Level of the rank intervals.
    descending : bool
        Rank 1 is the largest value (highest crime rate); False ranks the smallest first.
    top : int
        ``prob_top`` and ``prob_bottom`` are the probabilities of the first and last ``top``
        places.
    draws : int
        Number of normal draws when the source has no posterior draws.
    random_seed : int, numpy.random.Generator or None
        Seed of the normal draws (not used with posterior draws).

    Returns
    -------
    RankResult

    Raises
    ------
    crimestats.InputError
        A source without estimates or draws, non-finite values, standard errors $\\le 0$,
        mismatched labels, fewer than two areas.

    Warns
    -----
    crimestats.DataWarning
        When the median rank interval reaches more than a quarter of the other places,
        $\\operatorname{median}_i(u_i - \\ell_i) > (m - 1)/4$: the typical area could sit anywhere
        in a span wider than a quartile of the table, so its order is mostly noise. Also when a Bayesian fit kept no draws and a normal approximation is
        used instead.

    References
    ----------
    Goldstein, H. and Spiegelhalter, D. J. (1996). League tables and their limitations.
    *Journal of the Royal Statistical Society A* 159, 385–443.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.compare import rank_uncertainty
    >>> res = rank_uncertainty([10.0, 20.0, 30.0], se=[0.1, 0.1, 0.1], areas=list("abc"),
    ...                        random_seed=0)
    >>> res.to_dataframe()[["rank", "lower", "upper"]].astype(int).values.tolist()
    [[3, 3, 3], [2, 2, 2], [1, 1, 1]]
    """
    level = v.check_level(level)
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise InputError(f"`top` must be a whole number >= 1; received {top!r}.")
    theta, estimate, labels, source_name = _draws(source, se, areas, draws, random_seed)
    n_draws, m = theta.shape
    if m < 2:
        raise InputError("Ranking needs at least two areas.")
    if top >= m:
        raise InputError(f"`top` must be below the number of areas ({m}); received {top}.")
    sign = -1.0 if descending else 1.0
    ranks = _ranks(sign * theta)
    alpha = 1.0 - level
    lower, median, upper = np.quantile(ranks, [alpha / 2, 0.5, 1.0 - alpha / 2], axis=0,
                                       method="inverted_cdf")
    inside = ((ranks >= lower) & (ranks <= upper)).mean(axis=0)
    point = _ranks(sign * estimate[None, :])[0]
    width = float(np.median(upper - lower + 1))
    misleads = float(np.median(upper - lower)) > MISLEADING_SHARE * (m - 1)
    if misleads:
        warnings.warn(
            f"The {level:.0%} rank intervals overlap so much that a league table would "
            f"mislead: the median area could hold any of {width:.0f} places out of {m} "
            "(criterion: more than a quarter of the other places). Report the intervals, or "
            "group areas into bands they can be placed in with confidence.", DataWarning,
            stacklevel=2)
    ds = xr.Dataset(
        {"estimate": ("area", estimate), "rank": ("area", point.astype(np.int64)),
         "rank_mean": ("area", ranks.mean(axis=0)),
         "rank_median": ("area", median.astype(np.int64)),
         "lower": ("area", lower.astype(np.int64)), "upper": ("area", upper.astype(np.int64)),
         "interval_probability": ("area", inside),
         "prob_top": ("area", (ranks <= top).mean(axis=0)),
         "prob_bottom": ("area", (ranks > m - top).mean(axis=0))},
        coords={"area": labels},
        attrs={"level": level, "descending": int(descending), "top": top, "source": source_name,
               "n_draws": n_draws, "median_interval_width": width,
               "league_table_misleads": int(misleads)})
    return RankResult(ds, level=level, descending=descending, top=int(top), source=source_name,
                      n_draws=n_draws, median_interval_width=width,
                      league_table_misleads=bool(misleads))


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..m of each row, smallest first (ties broken by position)."""
    order = np.argsort(values, axis=1, kind="stable")
    dtype = np.int16 if values.shape[1] < 32_000 else np.int32
    ranks = np.empty(values.shape, dtype=dtype)
    np.put_along_axis(ranks, order, np.arange(1, values.shape[1] + 1, dtype=dtype)[None, :],
                      axis=1)
    return ranks


def _draws(source: Any, se: Any, areas: Any, draws: int, random_seed: Any
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(draws × areas, point estimates, labels, description of the source)."""
    if hasattr(source, "estimates"):
        return _from_result(source, draws, random_seed)
    if isinstance(source, pd.DataFrame) or np.ndim(source) == 2:
        if se is not None:
            raise InputError("`se` goes with 1-D estimates; a 2-D `source` is read as draws "
                             "(rows) of every area (columns).")
        labels = (source.columns.to_numpy() if isinstance(source, pd.DataFrame)
                  and areas is None else areas)
        theta = v.as_float_array(source, "source", ndim=2, noun="draw")
        if theta.shape[0] < 2:
            raise InputError("A 2-D `source` holds posterior draws (rows) of every area "
                             f"(columns); received only {theta.shape[0]} row(s).")
        labels = v.area_labels(labels, theta.shape[1])
        return theta, theta.mean(axis=0), labels, "posterior draws"
    if se is None:
        raise InputError("1-D `source` values are estimates and need their standard errors "
                         "as `se=` (or pass a matrix of posterior draws, or a fitted result).")
    if isinstance(source, pd.Series):
        if areas is None:
            areas = source.index.to_numpy()
        else:               # `areas` orders a labelled Series by label, never relabels it
            source = v.aligned(source, list(v.area_labels(areas, len(source))), "source",
                               "areas")
    named = areas is not None and np.ndim(areas) == 1 and len(areas) == np.size(source)
    estimate = v.as_float_array(source, "source", labels=list(areas) if named else None)
    labels = v.area_labels(areas, estimate.size)
    se = v.aligned(se, None if areas is None else list(labels), "se", "source")
    sd = v.as_float_array(se, "se", labels=None if areas is None else list(labels))
    v.check_length(sd, estimate.size, "se", "source")
    v.check_positive(sd, "se", None if areas is None else list(labels))
    return _normal(estimate, sd, draws, random_seed), estimate, labels, "normal approximation"


def _from_result(result: Any, draws: int, random_seed: Any
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    est = result.estimates
    if "area" not in est.dims or "estimate" not in est:
        raise InputError("The result has no area-level `estimate` to rank; pass a small-area "
                         "fit (fay_herriot, bym2, ...), a matrix of draws, or estimates with "
                         "`se`.")
    labels = est["area"].values
    estimate = v.as_float_array(est["estimate"].values, "estimate", labels=list(labels))
    idata = getattr(result, "idata", None)
    posterior = _posterior_theta(idata)
    if posterior is not None:
        theta = posterior.transpose(..., "area")
        if list(theta["area"].values) != list(labels):
            theta = theta.sel(area=labels)
        values = theta.values.reshape(-1, labels.size)
        return (v.as_float_array(values, "posterior draws of theta", ndim=2), estimate, labels,
                "posterior draws")
    spread = next((k for k in ("rmse", "sd") if k in est), None)
    if spread is None:
        raise InputError("The result has neither posterior draws of `theta` nor an `rmse` or "
                         "`sd` per area, so the uncertainty of its ranks is unknown.")
    if idata is not None or getattr(result, "method", "") == "hb":
        warnings.warn("The fit kept no posterior draws of theta; ranks use a normal "
                      "approximation of each area's posterior and ignore their correlation. "
                      "Refit with draws (e.g. draws=1000) for exact posterior ranks.",
                      DataWarning, stacklevel=3)
    sd = v.as_float_array(est[spread].values, spread, labels=list(labels))
    v.check_positive(sd, spread, list(labels))
    return _normal(estimate, sd, draws, random_seed), estimate, labels, "normal approximation"


def _posterior_theta(idata: Any) -> Any:
    """The posterior draws of ``theta`` in an ArviZ DataTree, or None."""
    if idata is None:
        return None
    try:
        posterior = idata["posterior"]
        theta = posterior["theta"]
    except (KeyError, TypeError):
        return None
    return theta.to_dataarray() if hasattr(theta, "to_dataarray") and not hasattr(
        theta, "dims") else theta


def _normal(estimate: np.ndarray, sd: np.ndarray, draws: int, random_seed: Any) -> np.ndarray:
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 100:
        raise InputError(f"`draws` must be a whole number >= 100; received {draws!r}.")
    rng = v.as_rng(random_seed)
    return estimate[None, :] + sd[None, :] * rng.standard_normal((int(draws), estimate.size))
