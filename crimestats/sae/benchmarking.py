"""Benchmarking: make small-area estimates add up to a national or regional direct estimate.

Model-based area estimates rarely add up to the (reliable) direct estimate for the whole
country or region. Benchmarking adjusts them so that the weighted sum

$$
\\sum_{i \\in g} w_i \\, \\hat\\theta_i^{B} = T_g
$$

holds exactly in every group $g$ (the whole country, or each region), and reports the
adjustment made to every area.

* ``"ratio"``: $\\hat\\theta_i^B = \\hat\\theta_i \\, T_g / \\sum_{j \\in g} w_j\\hat\\theta_j$
  (the same factor for every area of the group; keeps zero at zero and signs unchanged).
* ``"difference"``: $\\hat\\theta_i^B = \\hat\\theta_i + (T_g - \\sum_j w_j\\hat\\theta_j)
  / \\sum_j w_j$ (the same additive shift for every area).
* ``"mse"``: the additive adjustment that minimises
  $\\sum_i (\\hat\\theta_i^B - \\hat\\theta_i)^2 / \\mathrm{MSE}_i$ subject to the benchmark,
  $\\hat\\theta_i^B = \\hat\\theta_i + a_i (T_g - \\sum_j w_j\\hat\\theta_j)$ with
  $a_i = w_i \\mathrm{MSE}_i / \\sum_j w_j^2 \\mathrm{MSE}_j$: imprecise areas move
  most (Wang, Fuller & Qu 2008, with their $\\phi_i = 1/\\mathrm{MSE}_i$; the
  Pfeffermann & Barnard 1991 allocation when the area errors are uncorrelated).

For Bayesian fits, [`benchmark_draws`][benchmark_draws] benchmarks every posterior draw, so that the
benchmarked posterior is coherent: every draw adds up to the target (or to a draw of the
target when its standard error is given), and the summaries come from the benchmarked draws.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._options import BENCHMARK
from .._validate import (
    as_float_array,
    as_number,
    as_rng,
    check_finite_result,
    check_length,
    check_level,
    check_positive,
    check_range,
    check_same_keys,
    describe_rows,
    row_labels,
)
from ..errors import InputError
from ..results import normal_interval
from .results import BenchmarkResult

__all__ = ["BenchmarkResult", "benchmark", "benchmark_draws", "posterior_draws"]
_ALL = "all"


def _from_fit(estimates: Any) -> tuple[Any, Any, Any]:
    """Estimates, MSE and area labels from a fitted result or a plain array."""
    ds = getattr(estimates, "estimates", None)
    if isinstance(ds, xr.Dataset):
        if "estimate" not in ds:
            raise InputError("the fitted result has no variable 'estimate' to benchmark.")
        mse = None
        if "mse" in ds:
            mse = ds["mse"].values
        elif "rmse" in ds:
            mse = ds["rmse"].values ** 2
        elif "sd" in ds:
            mse = ds["sd"].values ** 2
        labels = ds["area"].values if "area" in ds.coords else None
        return ds["estimate"].values, mse, labels
    return estimates, None, None


def _groups_and_targets(target: Any, groups: Any, m: int
                        ) -> tuple[np.ndarray, dict[Hashable, float]]:
    """Group index per area and the target of each group, checked against each other."""
    if groups is None:
        if isinstance(target, Mapping):
            raise InputError("`target` is a mapping of group targets but no `groups` were given; "
                             "pass `groups` (one label per area) or a single number.")
        value = as_number(target, "target")
        check_range(np.array([value]), "target", noun="target")
        return np.zeros(m, dtype=np.int64), {_ALL: float(value)}
    labels = np.asarray(groups.to_numpy() if isinstance(groups, pd.Series) else groups)
    if labels.ndim != 1 or labels.shape[0] != m:
        raise InputError(f"`groups` must give one label per area ({m}); received shape "
                         f"{labels.shape}.")
    if not isinstance(target, Mapping):
        raise InputError("with `groups`, `target` must map each group label to its benchmark, "
                         "e.g. {'North East': 0.041, ...}.")
    check_same_keys(labels.tolist(), list(target.keys()), "`groups`", "`target`", noun="group")
    names = list(dict.fromkeys(labels.tolist()))
    values = as_float_array([target[g] for g in names], "target", labels=names, noun="group")
    check_range(values, "target", labels=names, noun="group")
    index = {g: k for k, g in enumerate(names)}
    return np.array([index[g] for g in labels.tolist()]), dict(zip(names, values.tolist(),
                                                                    strict=True))


def _weights(weights: Any, m: int, labels: Any) -> np.ndarray:
    if weights is None:
        return np.ones(m)
    w = as_float_array(weights, "weights", labels=labels)
    check_length(w, m, "weights", "estimates")
    check_positive(w, "weights", labels, strict=False)
    check_range(w, "weights", smallest=1e-100, labels=labels)
    return w


def _allocation(method: str, w: np.ndarray, gidx: np.ndarray, n_groups: int,
                mse: np.ndarray | None) -> np.ndarray:
    """Share $a_i$ of its group's shortfall given to each area (additive methods)."""
    if method == "difference":
        denom = np.bincount(gidx, weights=w, minlength=n_groups)
        return np.ones_like(w) / denom[gidx]
    # method == "mse"
    num = w * mse
    denom = np.bincount(gidx, weights=w * num, minlength=n_groups)
    return num / denom[gidx]


def _check_group_weights(w: np.ndarray, gidx: np.ndarray, names: list[Hashable],
                         mse: np.ndarray | None) -> None:
    wsum = np.bincount(gidx, weights=w, minlength=len(names))
    if mse is not None:
        wsum = np.bincount(gidx, weights=w * w * mse, minlength=len(names))
    empty = np.flatnonzero(wsum <= 0)
    if empty.size:
        what = "w_i^2 * MSE_i" if mse is not None else "weights"
        raise InputError(f"the {what} of group(s) {[names[k] for k in empty]} sum to zero, so "
                         "no adjustment can reach their target; give their areas positive "
                         "weights (and MSEs).")


def _check_draws_finite(theta: np.ndarray, labels: Any) -> None:
    """Name the areas (columns) and draws (rows) holding NaN or infinite values."""
    bad = ~np.isfinite(theta)
    if bad.any():
        draws = np.flatnonzero(bad.any(axis=1))
        raise InputError(
            f"`draws` has NaN or infinite values in {draws.size} draw(s) (rows "
            f"{', '.join(map(str, draws[:5].tolist()))}{' ...' if draws.size > 5 else ''}) of "
            f"{describe_rows(np.flatnonzero(bad.any(axis=0)), labels)}. Remove those draws "
            "or fix the sampler output; crimestats never fills missing values silently.")


def _check_totals(totals: np.ndarray, names: list[Hashable]) -> None:
    """EstimationError when a group's weighted sum overflows."""
    from ..errors import EstimationError

    bad = np.flatnonzero(~np.isfinite(totals))
    if bad.size:
        raise EstimationError(
            f"the weighted sums of group(s) {[names[k] for k in bad]} overflow double precision; "
            "rescale the estimates or the weights (e.g. population shares instead of counts).")


def _ratios(totals: np.ndarray, targets: np.ndarray, names: list[Hashable]) -> np.ndarray:
    bad = np.flatnonzero((totals == 0) | (np.sign(totals) != np.sign(targets)))
    if bad.size:
        raise InputError(
            f"ratio benchmarking needs a weighted sum of the same sign as the target; group(s) "
            f"{[names[k] for k in bad]} have sums {totals[bad].tolist()} against targets "
            f"{targets[bad].tolist()}. Use method='difference' or 'mse'.")
    return targets / totals


def benchmark(estimates: Any, target: float | Mapping[Hashable, float], *,
              weights: Any = None, method: str = "ratio", mse: Any = None,
              groups: Any = None, areas: Any = None, level: float = 0.95
              ) -> BenchmarkResult:
    """Adjust area estimates so that their weighted sum equals a reliable direct estimate.

    Parameters
    ----------
    estimates : array-like of shape (m,) or fitted result
        Area estimates $\\hat\\theta_i$ (e.g. prevalences as proportions, or totals), or
        a fitted crimestats result whose ``estimates`` holds ``estimate`` and ``mse`` /
        ``rmse`` (its area labels and MSEs are then used).
    target : float or mapping
        The benchmark $T$ (same unit as ``estimates``): e.g. the national direct
        estimate of prevalence. With ``groups``, a mapping group label → benchmark.
    weights : array-like of shape (m,), optional
        Non-negative weights $w_i$: population shares within the group when the
        estimates are prevalences or rates (so that $\\sum w_i\\theta_i$ is the group
        prevalence), or ones (the default) when they are totals.
    method : {"ratio", "difference", "mse"}
        Adjustment; see the module description. ``"mse"`` needs ``mse``.
    mse : array-like of shape (m,), optional
        MSEs of the estimates (squared units). Used for the ``"mse"`` allocation and for the
        reported RMSE; taken from a fitted result when not given.
    groups : array-like of shape (m,), optional
        Region (or other group) of each area; each group is benchmarked to its own target.
    areas : array-like of shape (m,), optional
        Area labels (default: those of the fitted result, else ``0..m-1``).
    level : float
        Level of the normal intervals reported when an MSE is available.

    Returns
    -------
    BenchmarkResult
        ``estimates["estimate"]`` satisfies $\\sum_{i\\in g} w_i\\hat\\theta_i^B = T_g$
        to rounding error. ``rmse`` is $\\sqrt{\\mathrm{MSE}_i + (\\hat\\theta_i^B -
        \\hat\\theta_i)^2}$, the leading terms of the MSE of a benchmarked estimator
        (Steorts & Ghosh 2013), treating the target as fixed.

    Notes
    -----
    The target is treated as known. When its standard error is not negligible, benchmark
    posterior draws with [`benchmark_draws`][benchmark_draws] and ``target_sd``.

    References
    ----------
    Pfeffermann, D. & Barnard, C. H. (1991). Some new estimators for small-area means with
    application to the assessment of farmland values. *JBES* 9, 73–84.
    Wang, J., Fuller, W. A. & Qu, Y. (2008). Small area estimation under a restriction.
    *Survey Methodology* 34, 29–36.
    Steorts, R. C. & Ghosh, M. (2013). On estimation of mean squared errors of benchmarked
    empirical Bayes estimators. *Statistica Sinica* 23, 749–767.

    Examples
    --------
    >>> from crimestats.sae import benchmark
    >>> fit = benchmark([0.10, 0.20, 0.30], 0.24, weights=[0.5, 0.3, 0.2])
    >>> fit.estimates["estimate"].values.round(4).tolist()
    [0.1412, 0.2824, 0.4235]
    >>> round(float((fit.estimates["estimate"] * fit.estimates["weight"]).sum()), 10)
    0.24
    >>> fit = benchmark([0.10, 0.20, 0.30], 0.24, weights=[0.5, 0.3, 0.2], method="mse",
    ...                 mse=[0.0001, 0.0004, 0.0009])
    >>> fit.estimates["adjustment"].values.round(4).tolist()
    [0.0361, 0.0866, 0.1299]
    """
    method = BENCHMARK["method"].check(method)
    level = check_level(level)
    values, fit_mse, fit_labels = _from_fit(estimates)
    if fit_labels is not None:
        values = pd.Series(values, index=fit_labels)
        fit_mse = None if fit_mse is None else pd.Series(fit_mse, index=fit_labels)
    rows = row_labels({"estimates": values, "weights": weights, "mse": mse, "groups": groups},
                      areas)
    values, weights, groups = (rows.align(values, "estimates"), rows.align(weights, "weights"),
                               rows.align(groups, "groups"))
    labels, shown = rows.values, rows.shown
    theta = as_float_array(values, "estimates", labels=shown)
    m = theta.shape[0]
    if m == 0:
        raise InputError("`estimates` is empty; at least one area is needed.")
    check_range(theta, "estimates", labels=shown)
    if mse is None:
        mse = None if fit_mse is None else rows.align(fit_mse, "mse")
    else:
        mse = rows.align(mse, "mse")
    mse_arr = None
    if mse is not None:
        mse_arr = as_float_array(mse, "mse", labels=shown)
        check_length(mse_arr, m, "mse", "estimates")
        check_positive(mse_arr, "mse", shown, strict=False)
        check_range(mse_arr, "mse", labels=shown)
    if method == "mse" and mse_arr is None:
        raise InputError("method='mse' allocates the adjustment by each area's MSE; pass `mse` "
                         "(or a fitted result that has one).")
    w = _weights(weights, m, shown)
    gidx, targets = _groups_and_targets(target, groups, m)
    names = list(targets)
    _check_group_weights(w, gidx, names, mse_arr if method == "mse" else None)
    target_arr = np.array([targets[g] for g in names])
    totals = np.bincount(gidx, weights=w * theta, minlength=len(names))
    _check_totals(totals, names)
    if method == "ratio":
        ratio = _ratios(totals, target_arr, names)
        bench = theta * ratio[gidx]
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = target_arr / totals
        alloc = _allocation(method, w, gidx, len(names), mse_arr)
        bench = theta + alloc * (target_arr - totals)[gidx]
    adjustment = bench - theta
    data: dict[str, Any] = {
        "estimate": ("area", bench), "unbenchmarked": ("area", theta),
        "adjustment": ("area", adjustment), "weight": ("area", w),
        "group": ("area", np.array([str(names[k]) for k in gidx])),
    }
    if mse_arr is not None:
        rmse = np.sqrt(mse_arr + adjustment ** 2)
        lower, upper = normal_interval(bench, rmse, level)
        with np.errstate(divide="ignore", invalid="ignore"):
            cv = rmse / np.abs(bench)
        data.update(rmse=("area", rmse), lower=("area", lower), upper=("area", upper),
                    cv=("area", cv))
    check_finite_result({name: data[name][1] for name in ("estimate", "rmse", "lower", "upper")
                         if name in data}, "benchmarking", labels=labels)
    ds = xr.Dataset(data, coords={"area": labels},
                    attrs={"method": method, "level": level if mse_arr is not None
                           else float("nan")})
    return BenchmarkResult(
        estimates=ds, method=method, targets=targets,
        totals_before=dict(zip(names, totals.tolist(), strict=True)),
        ratios=dict(zip(names, np.asarray(ratio).tolist(), strict=True)),
        level=level if mse_arr is not None else float("nan"),
    )


def posterior_draws(draws: Any) -> tuple[Any, Any]:
    """Posterior draws (n_draws, m) and area labels from a result with ``idata`` or an array."""
    idata = getattr(draws, "idata", None)
    if idata is not None:
        post = idata["posterior"] if "posterior" in idata else None
        name = next((v for v in ("theta", "prevalence", "rate") if post is not None
                     and v in post.data_vars), None)
        if name is None:
            raise InputError("the fitted result's posterior has no area-level variable "
                             "('theta'); pass the draws as an array (n_draws, m).")
        da = post[name]
        if not isinstance(da, xr.DataArray):
            da = da.to_dataarray() if hasattr(da, "to_dataarray") else da
        area_dim = [d for d in da.dims if d not in ("chain", "draw")]
        stacked = da.stack(sample=("chain", "draw")).transpose("sample", *area_dim)
        labels = stacked[area_dim[0]].values if area_dim else None
        return stacked.values, labels
    if isinstance(draws, xr.DataArray):
        other = [d for d in draws.dims if d not in ("chain", "draw", "sample")]
        if {"chain", "draw"} <= set(draws.dims):
            draws = draws.stack(sample=("chain", "draw"))
        sample = "sample" if "sample" in draws.dims else draws.dims[0]
        draws = draws.transpose(sample, *other)
        return draws.values, draws[other[0]].values if other and other[0] in draws.coords \
            else None
    return draws, None


def benchmark_draws(draws: Any, target: float | Mapping[Hashable, float], *,
                    weights: Any = None, method: str = "ratio", groups: Any = None,
                    target_sd: float | Mapping[Hashable, float] | None = None,
                    areas: Any = None, level: float = 0.95, random_seed: Any = None
                    ) -> BenchmarkResult:
    """Benchmark every posterior draw, so that the benchmarked posterior stays coherent.

    Each draw $\\theta^{(s)}$ is adjusted as in [`benchmark`][benchmark] so that
    $\\sum_{i\\in g} w_i\\theta_i^{B(s)} = T_g^{(s)}$, where $T_g^{(s)} = T_g$, or
    $T_g^{(s)} \\sim N(T_g, \\mathrm{sd}_g^2)$ when ``target_sd`` is given (the
    benchmark's own sampling error then propagates into every area). Posterior means,
    standard deviations and equal-tailed intervals are computed from the benchmarked draws,
    so every summary is a summary of one joint distribution whose draws all add up.

    Parameters
    ----------
    draws : array-like of shape (n_draws, m), xarray.DataArray, or fitted result
        Posterior draws of the area quantities; a DataArray with ``chain``/``draw`` dims or
        a fitted result whose ``idata`` posterior holds ``theta`` are also accepted.
    target : float or mapping
        Benchmark, or mapping group → benchmark (with ``groups``).
    weights : array-like of shape (m,), optional
        Non-negative weights, as in [`benchmark`][benchmark] (default ones).
    method : {"ratio", "difference", "mse"}
        Adjustment applied to each draw. For ``"mse"`` the allocation uses each area's
        posterior variance in place of its MSE (the same allocation for every draw).
    groups : array-like of shape (m,), optional
        Group of each area.
    target_sd : float or mapping, optional
        Standard error of the benchmark (per group with ``groups``); default 0 (fixed).
    areas : array-like of shape (m,), optional
        Area labels.
    level : float
        Level of the equal-tailed intervals.
    random_seed : int, numpy.random.Generator or None
        Seed for the target draws (used only with ``target_sd``).

    Returns
    -------
    BenchmarkResult
        ``estimate`` (posterior mean), ``sd``, ``lower``, ``upper``, ``cv``, ``unbenchmarked``
        (posterior mean before), ``adjustment``; ``draws`` holds the benchmarked draws.

    References
    ----------
    Datta, G. S., Ghosh, M., Steorts, R. & Maples, J. (2011). Bayesian benchmarking with
    applications to small area estimation. *TEST* 20, 574–588.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import benchmark_draws
    >>> rng = np.random.default_rng(1)
    >>> draws = rng.normal([0.1, 0.2, 0.3], 0.02, size=(1000, 3))
    >>> fit = benchmark_draws(draws, 0.24, weights=[0.5, 0.3, 0.2])
    >>> sums = fit.draws @ np.array([0.5, 0.3, 0.2])
    >>> bool(np.allclose(sums, 0.24))
    True
    >>> fit.estimates["estimate"].values.round(3).tolist()
    [0.141, 0.284, 0.423]
    """
    method = BENCHMARK["method"].check(method)
    level = check_level(level)
    values, fit_labels = posterior_draws(draws)
    if isinstance(values, pd.DataFrame):
        fit_labels = values.columns.to_numpy()
    elif np.ndim(values) != 2:
        raise InputError(f"`draws` must be 2-D, one row per posterior draw and one column per "
                         f"area; received an array of shape {np.shape(values)}.")
    theta = as_float_array(values, "draws", ndim=2, allow_nan=True, noun="draw")
    n_draws, m = theta.shape
    if n_draws < 2:
        raise InputError(f"`draws` must hold several posterior draws (rows); received {n_draws}.")
    if m == 0:
        raise InputError("`draws` has no areas (columns).")
    columns = pd.Series(np.arange(m), index=fit_labels) if fit_labels is not None \
        else np.arange(m)
    rows = row_labels({"draws": columns, "weights": weights, "groups": groups}, areas)
    theta = theta[:, np.asarray(rows.align(columns, "draws"), dtype=np.int64)]
    weights, groups = rows.align(weights, "weights"), rows.align(groups, "groups")
    labels, shown = rows.values, rows.shown
    _check_draws_finite(theta, shown)
    check_range(theta, "draws", labels=None, noun="draw")
    w = _weights(weights, m, shown)
    gidx, targets = _groups_and_targets(target, groups, m)
    names = list(targets)
    post_var = theta.var(axis=0, ddof=1)
    _check_group_weights(w, gidx, names, post_var if method == "mse" else None)
    target_arr = np.array([targets[g] for g in names])
    target_draws = np.broadcast_to(target_arr, (n_draws, len(names))).copy()
    if target_sd is not None:
        if groups is None:
            sd = np.array([as_number(target_sd, "target_sd")])
        else:
            if not isinstance(target_sd, Mapping):
                raise InputError("with `groups`, `target_sd` must map each group to its SE.")
            check_same_keys(names, list(target_sd.keys()), "`target`", "`target_sd`",
                            noun="group")
            sd = as_float_array([target_sd[g] for g in names], "target_sd", labels=names)
        check_positive(sd, "target_sd", names, strict=False)
        target_draws += as_rng(random_seed).standard_normal(target_draws.shape) * sd
    # weighted sum of each draw in each group: (n_draws, n_groups)
    indicator = np.zeros((m, len(names)))
    indicator[np.arange(m), gidx] = w
    totals = theta @ indicator
    if method == "ratio":
        bad = np.flatnonzero(((totals == 0) | (np.sign(totals) != np.sign(target_draws)))
                             .any(axis=0))
        if bad.size:
            raise InputError(
                f"ratio benchmarking needs every draw's weighted sum to have the target's sign; "
                f"it fails in group(s) {[names[k] for k in bad]}. Use method='difference'.")
        bench = theta * (target_draws / totals)[:, gidx]
    else:
        alloc = _allocation(method, w, gidx, len(names), post_var)
        bench = theta + alloc * (target_draws - totals)[:, gidx]
    mean = bench.mean(axis=0)
    sd_b = bench.std(axis=0, ddof=1)
    check_finite_result({"estimate": mean, "sd": sd_b}, "benchmarking", labels=labels)
    tail = (1.0 - level) / 2.0
    lower, upper = np.quantile(bench, [tail, 1.0 - tail], axis=0)
    before = theta.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = sd_b / np.abs(mean)
    ds = xr.Dataset(
        {"estimate": ("area", mean), "sd": ("area", sd_b), "lower": ("area", lower),
         "upper": ("area", upper), "cv": ("area", cv), "unbenchmarked": ("area", before),
         "adjustment": ("area", mean - before), "weight": ("area", w),
         "group": ("area", np.array([str(names[k]) for k in gidx]))},
        coords={"area": labels}, attrs={"method": method, "level": level,
                                         "n_draws": n_draws},
    )
    mean_totals = totals.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = target_arr / mean_totals
    return BenchmarkResult(
        estimates=ds, method=method, targets=targets,
        totals_before=dict(zip(names, mean_totals.tolist(), strict=True)),
        ratios=dict(zip(names, ratios.tolist(), strict=True)), level=level, draws=bench,
    )

