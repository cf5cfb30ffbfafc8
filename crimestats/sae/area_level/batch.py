"""Fay–Herriot EBLUPs of many tables at once (crime type × year × ...), on one machine or on Dask.

A national analysis fits the same area-level model to many tables: every crime type in every
year, each with its own direct estimates and sampling variances over the same areas.
[`fay_herriot_many`][crimestats.sae.fay_herriot_many] fits one Fay–Herriot EBLUP per table,
vectorised over tables, and runs chunk by chunk through `xarray.apply_ufunc` when the data are
dask arrays, so that the same call runs on a laptop, a `dask.distributed.LocalCluster` or a
cluster (install ``crimestats[dask]``).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ... import _validate as v
from ..._options import FAY_HERRIOT_MANY
from ..._progress import compute, progress_bar, show_progress
from ...errors import ConvergenceWarning, DataWarning, EstimationError, InputError
from .._engine.batched_eblup import STATUS, fit_block
from .._estimates import eblup_dataset
from ..results import FayHerriotManyResult
from .variance import VARIANCE_METHODS

__all__ = ["fay_herriot_many"]
_COEF = "coef"
_SHOWN = 6


def fay_herriot_many(direct: Any, variance: Any, covariates: Any = None, *,
                     method: str = "reml", intercept: bool = True, level: float = 0.95,
                     max_iter: int = 100, tol: float = 1e-12, progress: bool | None = None
                     ) -> FayHerriotManyResult:
    """Fit one Fay–Herriot EBLUP per table of direct estimates: many crime types, years, ...

    For each table $t$ (a crime type in a year, say) and area $i$:

    $$
    y_{it} = x_{it}^\\top\\beta_t + u_{it} + e_{it}, \\qquad
    u_{it} \\sim N(0, \\sigma_{u,t}^2), \\qquad e_{it} \\sim N(0, D_{it}),
    $$

    fitted table by table exactly as [`fay_herriot`][crimestats.sae.fay_herriot] fits one
    (REML, ML or the moment method; Prasad–Rao MSE with the same corrections), but vectorised
    over tables: no per-table Python work, so thousands of small tables take about as long as
    a few large ones. Tables are independent: nothing is shared between them but the
    covariates you give.

    Parameters
    ----------
    direct : xarray.DataArray or pandas.DataFrame
        Direct estimates with a dimension ``area`` and any number of table dimensions
        (``("area", "table")``, ``("area", "crime_type", "year")``...), in the units of the
        analysis. NaN (together with ``variance``) marks an area with no estimate in that
        table: it gets the synthetic estimate. A DataFrame has one row per area (its index)
        and one column per table. Backed by dask, the fit runs chunk by chunk (see Notes).
    variance : xarray.DataArray or pandas.DataFrame
        Sampling variances of ``direct`` (squared units), positive; same dimensions and labels
        (matched by label, not position).
    covariates : xarray.DataArray or pandas.DataFrame, optional
        Numeric area-level covariates without an intercept column: a DataArray with
        dimensions ``area`` and ``covariate`` and, optionally, some table dimensions (a
        covariate that changes by year), or a DataFrame with one row per area and one column
        per covariate (the same in every table). Text categories must be turned into indicator
        columns first. None: intercept only.
    method : {"reml", "ml", "fh"}
        Estimator of each table's $\\sigma_{u,t}^2$.
    intercept : bool
        Add an intercept (coefficient ``"intercept"``, first).
    level : float
        Level of the normal intervals ``estimate ± z · rmse``.
    max_iter, tol : int, float
        Fisher scoring limits, as in [`fay_herriot`][crimestats.sae.fay_herriot].
    progress : bool or None
        Progress bar on standard error (tables fitted, or dask tasks or chunks): ``None``
        (default) only when standard error is a terminal, ``True`` always, ``False`` never.

    Returns
    -------
    FayHerriotManyResult
        ``estimates`` over ``area`` and the table dimensions, ``parameters`` over the table
        dimensions (``sigma2_u``, ``beta``, ``beta_se``, ``converged``, ``iterations``).

    Raises
    ------
    crimestats.InputError
        Inputs that are not labelled arrays, missing ``area`` dimension, labels that differ
        between inputs, non-numeric covariates; after the fit, the tables (named) in which a
        direct estimate and its variance are missing in different areas, a variance is not
        positive, a covariate is not finite, there are too few areas with a direct estimate, or
        the covariates are collinear.
    crimestats.EstimationError
        A table (named) whose fit failed numerically.

    Warns
    -----
    crimestats.ConvergenceWarning
        Tables whose variance estimation did not converge in ``max_iter`` iterations (named).
    crimestats.DataWarning
        Tables whose $\\hat\\sigma_{u,t}^2 = 0$ (every estimate is then synthetic).

    Notes
    -----
    **Dask.** When ``direct`` or ``variance`` is a dask array (``xarray`` with
    ``.chunk({"crime_type": 2})``, say), each chunk of tables is fitted by
    `xarray.apply_ufunc` with ``dask="parallelized"`` on whatever scheduler dask uses: threads
    by default, or the workers of a ``dask.distributed.Client`` (a `LocalCluster` or a real
    cluster). Chunk along the table dimensions only: ``area`` is rechunked into one piece if
    it is split. The numbers do not depend on the chunks: a table's arithmetic involves only
    its own data, so the dask result equals the in-memory one bit for bit. The result is
    computed (held in memory), like the in-memory fit.

    Examples
    --------
    Direct estimates of two crime types in three years for 25 areas, with one covariate whose
    true coefficient is 10 in every table:

    >>> import numpy as np, pandas as pd, xarray as xr
    >>> from crimestats.sae import fay_herriot_many
    >>> rng = np.random.default_rng(1)
    >>> areas = [f"area {i}" for i in range(25)]
    >>> dims = ("area", "crime_type", "year")
    >>> coords = {"area": areas, "crime_type": ["burglary", "robbery"], "year": [2017, 2018, 2019]}
    >>> deprivation = pd.DataFrame({"deprivation": rng.uniform(size=25)}, index=areas)
    >>> variance = xr.DataArray(rng.uniform(1, 4, (25, 2, 3)), dims=dims, coords=coords)
    >>> truth = 20 + 10 * deprivation.to_numpy()[:, :, None] + rng.normal(0, 2, (25, 2, 3))
    >>> direct = truth + rng.normal(size=(25, 2, 3)) * np.sqrt(variance)
    >>> fit = fay_herriot_many(direct, variance, deprivation)
    >>> fit.estimates["estimate"].dims
    ('area', 'crime_type', 'year')
    >>> fit.parameters["beta"].sel(coef="deprivation").round(1).values
    array([[ 6.8, 12.9, 11.6],
           [ 9.8, 11.9,  7. ]])
    """
    method = FAY_HERRIOT_MANY["method"].check(method)
    level = v.check_level(level)
    max_iter = v.as_positive_int(max_iter, "max_iter")
    tol = v.as_number(tol, "tol", positive=True)
    show_progress(progress)
    direct = _as_array(direct, "direct")
    variance = _as_array(variance, "variance")
    if "area" not in direct.dims:
        raise InputError(f"`direct` has dimensions {list(direct.dims)} but no 'area'; name the "
                         "area dimension 'area' (e.g. direct.rename(lsoa='area')).")
    tables = [d for d in direct.dims if d != "area"]
    empty = [d for d in direct.dims if direct.sizes[d] == 0]
    if empty:
        raise InputError(f"`direct` has no {' or '.join(map(repr, empty))} (size 0): there is "
                         "nothing to fit.")
    direct = direct.transpose(*tables, "area")
    variance = _aligned(variance, direct, "variance").transpose(*tables, "area")
    x, names = _design(covariates, direct, tables, intercept)
    lazy = any(a.chunks is not None for a in (direct, variance, x))
    if lazy:
        direct, variance, x = (a.chunk({"area": -1, _COEF: -1} if _COEF in a.dims
                                       else {"area": -1}) if a.chunks is not None else a
                               for a in (direct, variance, x))
    n_tables = int(np.prod([direct.sizes[d] for d in tables], dtype=np.int64))
    kwargs: dict[str, Any] = {"method": VARIANCE_METHODS[method], "max_iter": max_iter,
                              "tol": tol}
    with progress_bar(None if lazy else n_tables, desc="Fay–Herriot tables", unit="table",
                      progress=False if lazy else progress) as bar:
        if not lazy:
            kwargs["bar"] = bar
        outputs = xr.apply_ufunc(
            fit_block, direct, variance, x,
            input_core_dims=[["area"], ["area"], ["area", _COEF]],
            output_core_dims=[["area"]] * 4 + [[]] * 4 + [[_COEF]] * 2,
            kwargs=kwargs, dask="parallelized",
            output_dtypes=[float] * 5 + [bool, np.int64, np.int8] + [float] * 2)
    names_out = ("estimate", "mse", "shrinkage", "synthetic", "sigma2_u", "converged",
                 "iterations", "status", "beta", "beta_se")
    fitted = xr.Dataset(dict(zip(names_out, outputs, strict=True)))
    fitted["direct"], fitted["variance"] = direct, variance
    if lazy:
        fitted = compute(fitted, desc="Fay–Herriot tables", progress=progress)
    _raise_for_status(fitted, tables)
    _warn(fitted, tables, max_iter)
    return _result(fitted, direct, tables, names, method, level)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _as_array(value: Any, name: str) -> xr.DataArray:
    if isinstance(value, pd.DataFrame):
        frame = value
        text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        if text:
            raise InputError(f"`{name}` must hold numbers; columns {text[:_SHOWN]} do not.")
        value = xr.DataArray(frame.to_numpy(dtype=float), dims=("area", "table"),
                             coords={"area": frame.index.to_numpy(),
                                     "table": frame.columns.to_numpy()})
    if not isinstance(value, xr.DataArray):
        raise InputError(
            f"`{name}` must be an xarray.DataArray with an 'area' dimension and table "
            "dimensions (or a DataFrame with one row per area and one column per table); "
            f"received {type(value).__name__}. For one table use crimestats.sae.fay_herriot.")
    if not (np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)):
        raise InputError(f"`{name}` must hold numbers; received dtype {value.dtype}.")
    for dim in value.dims:
        if dim in value.indexes:
            v.check_unique(list(value.indexes[dim]), f"{name} labels along {dim!r}")
    return value.astype(float)


def _aligned(other: xr.DataArray, reference: xr.DataArray, name: str,
             dims: list[Hashable] | None = None) -> xr.DataArray:
    """``other`` with the labels of ``reference`` along ``dims`` in the same order (by label)."""
    dims = list(reference.dims) if dims is None else dims
    if name != "covariates" and set(other.dims) != set(reference.dims):
        raise InputError(f"`{name}` has dimensions {list(other.dims)} but `direct` has "
                         f"{list(reference.dims)}; they must be the same.")
    for dim in dims:
        if dim not in other.dims:
            continue
        mine = other.indexes[dim] if dim in other.indexes else pd.RangeIndex(other.sizes[dim])
        theirs = (reference.indexes[dim] if dim in reference.indexes
                  else pd.RangeIndex(reference.sizes[dim]))
        if len(mine) != len(theirs) or not mine.isin(theirs).all():
            only_mine = [x for x in mine if x not in theirs][:_SHOWN]
            only_theirs = [x for x in theirs if x not in mine][:_SHOWN]
            raise InputError(
                f"`{name}` and `direct` label {dim!r} differently: only in `{name}`: "
                f"{only_mine}; only in `direct`: {only_theirs}. Give both the same labels "
                "(they are matched by label, not by position).")
        if dim in other.indexes and dim in reference.indexes and not mine.equals(theirs):
            other = other.sel({dim: theirs})
    return other


def _design(covariates: Any, direct: xr.DataArray, tables: list[Hashable], intercept: bool
            ) -> tuple[xr.DataArray, tuple[str, ...]]:
    """The design over (``area``, ``coef``) [+ table dimensions], intercept first."""
    if covariates is None:
        cov = None
    elif isinstance(covariates, pd.DataFrame):
        frame = covariates
        numeric = [c for c in frame.columns if not (pd.api.types.is_numeric_dtype(frame[c])
                                                   or pd.api.types.is_bool_dtype(frame[c]))]
        if numeric:
            raise InputError(f"covariates {numeric} are not numeric; turn categories into "
                             "indicator columns (pandas.get_dummies(..., drop_first=True)).")
        bad = ~np.isfinite(frame.to_numpy(dtype=float))
        if bad.any():
            rows, cols = np.nonzero(bad)
            column = frame.columns[cols[0]]
            raise InputError(f"`covariates` column {column!r} is missing or infinite in "
                             f"{v.describe_rows(rows[cols == cols[0]], list(frame.index))}; "
                             "covariates are needed in every area (crimestats never fills "
                             "them silently).")
        cov = xr.DataArray(frame.to_numpy(dtype=float), dims=("area", _COEF),
                           coords={"area": frame.index.to_numpy(),
                                   _COEF: [str(c) for c in frame.columns]})
    elif isinstance(covariates, xr.DataArray):
        if "area" not in covariates.dims or "covariate" not in covariates.dims:
            raise InputError(f"`covariates` has dimensions {list(covariates.dims)}; it needs "
                             "'area' and 'covariate' (and optionally table dimensions).")
        unknown = [d for d in covariates.dims if d not in (*tables, "area", "covariate")]
        if unknown:
            raise InputError(f"`covariates` has dimensions {unknown} that `direct` does not "
                             f"have (its table dimensions are {tables}).")
        if not np.issubdtype(covariates.dtype, np.number):
            raise InputError(f"`covariates` must hold numbers; received {covariates.dtype}.")
        cov = covariates.astype(float).rename(covariate=_COEF)
        if _COEF not in cov.indexes:
            cov = cov.assign_coords({_COEF: [f"x{j + 1}" for j in range(cov.sizes[_COEF])]})
        else:
            cov = cov.assign_coords({_COEF: [str(c) for c in cov.indexes[_COEF]]})
    else:
        raise InputError("`covariates` must be an xarray.DataArray over ('area', 'covariate') "
                         f"or a DataFrame indexed by area; received {type(covariates).__name__}.")
    if cov is not None:
        cov = _aligned(cov, direct, "covariates", [*tables, "area"])
        names = [str(c) for c in cov[_COEF].values]
        if intercept:
            ones = xr.ones_like(cov.isel({_COEF: 0}, drop=True)).expand_dims({_COEF: ["intercept"]})
            cov = xr.concat([ones, cov], dim=_COEF)
            names.insert(0, "intercept")
    elif intercept:
        cov = xr.DataArray(np.ones((direct.sizes["area"], 1)), dims=("area", _COEF),
                           coords={"area": direct["area"].values, _COEF: ["intercept"]})
        names = ["intercept"]
    else:
        raise InputError("The model has no coefficients: give `covariates` or keep "
                         "`intercept=True`.")
    if len(set(names)) != len(names):
        v.check_unique(names, "covariate names")
    order = [d for d in tables if d in cov.dims]
    return cov.transpose(*order, "area", _COEF), tuple(names)


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


def _table_labels(fitted: xr.Dataset, tables: list[Hashable], mask: np.ndarray) -> list[str]:
    """Readable labels of the tables where ``mask`` (over the table dimensions) is True."""
    positions = np.argwhere(np.asarray(mask))
    out = []
    for pos in positions[:_SHOWN]:
        parts = [f"{d}={v.plain(fitted[d].values[i])!r}" if d in fitted.coords
                 else f"{d}={int(i)}" for d, i in zip(tables, pos, strict=True)]
        out.append("(" + ", ".join(parts) + ")")
    more = f" and {len(positions) - _SHOWN} more" if len(positions) > _SHOWN else ""
    return [", ".join(out) + more]


def _raise_for_status(fitted: xr.Dataset, tables: list[Hashable]) -> None:
    status = fitted["status"].values
    problems = []
    for code in sorted(set(np.unique(status)) - {0}):
        shown = _table_labels(fitted, tables, status == code)[0]
        problems.append(f"{int((status == code).sum())} table(s) where {STATUS[int(code)]}: "
                        f"{shown}")
    if not problems:
        return
    text = "; ".join(problems)
    if set(np.unique(status)) - {0} == {6}:
        raise EstimationError(f"Fay–Herriot fits failed in {text}.")
    raise InputError(
        f"Cannot fit {text}. Fix those tables (direct estimate and variance both present or "
        "both NaN, variances positive, finite covariates, more areas than coefficients, no "
        "collinear covariates) or leave them out with .drop_sel().")


def _warn(fitted: xr.Dataset, tables: list[Hashable], max_iter: int) -> None:
    stuck = ~fitted["converged"].values
    if stuck.any():
        warnings.warn(
            f"The estimation of sigma2_u did not converge in {max_iter} iterations in "
            f"{int(stuck.sum())} table(s): {_table_labels(fitted, tables, stuck)[0]}; increase "
            "`max_iter` or check those tables.", ConvergenceWarning, stacklevel=3)
    zero = fitted["sigma2_u"].values == 0.0
    if zero.any():
        warnings.warn(
            f"sigma2_u was estimated as 0 in {int(zero.sum())} table(s): "
            f"{_table_labels(fitted, tables, zero)[0]}; their estimates equal the synthetic "
            "(regression) part.", DataWarning, stacklevel=3)


def _result(fitted: xr.Dataset, direct: xr.DataArray, tables: list[Hashable],
            names: tuple[str, ...], method: str, level: float) -> FayHerriotManyResult:
    order = ["area", *tables]
    arrays = {k: fitted[k].transpose(*order).values
              for k in ("estimate", "mse", "shrinkage", "synthetic", "direct", "variance")}
    coords = {str(d): (direct.indexes[d] if d in direct.indexes
                       else np.arange(direct.sizes[d])) for d in order}
    estimates = eblup_dataset(
        coords, arrays["estimate"], arrays["mse"], arrays["direct"], arrays["variance"],
        arrays["synthetic"], level=level, attrs={"method": method, "model": "Fay-Herriot"},
        estimate_description="model-based estimate of the area's true value",
        extra={"shrinkage": (arrays["shrinkage"],
                             "weight on the synthetic part, D / (sigma2_u + D)")})
    extra_coords = {k: c.variable for k, c in direct.coords.items() if k not in direct.dims}
    estimates = estimates.assign_coords(extra_coords)
    parameters = fitted[["sigma2_u", "converged", "iterations", "beta", "beta_se"]]
    parameters = parameters.assign_coords({_COEF: list(names)}).transpose(_COEF, ...)
    parameters = parameters.drop_vars([c for c in parameters.coords if c == "area"])
    return FayHerriotManyResult(estimates=estimates, parameters=parameters, method=method,
                                covariate_names=names, level=level)
