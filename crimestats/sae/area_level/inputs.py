"""Input handling of the area-level models: column names, one-hot encoding, validation.

[`prepare_inputs`][prepare_inputs] turns the public arguments of `fay_herriot` (arrays, Series
or column names of a data frame) into validated float arrays and the design matrix, aligned
by area label; the other area-level front-ends use its pieces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from ... import _validate as v
from ...errors import InputError

__all__ = ["check_full_rank", "design_matrix", "prepare_inputs"]


def prepare_inputs(
    direct: Any,
    variance: Any,
    covariates: Any,
    *,
    intercept: bool,
    areas: Any,
    covariate_names: Sequence[str] | None,
    data: pd.DataFrame | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], np.ndarray]:
    """Validate the public inputs; return ``(y, D, X, names, areas)``.

    ``y`` and ``D`` are float arrays with NaN together for out-of-sample areas, ``X`` is the
    (m, p) design including the intercept column, ``names`` its column names and ``areas`` the
    unique area labels. Raises `crimestats.InputError` on anything unusable.
    """
    if data is not None:
        direct, variance, covariates, areas = _columns_from_frame(
            data, direct, variance, covariates, areas)
    elif isinstance(covariates, str) or (
            isinstance(covariates, list) and any(isinstance(c, str) for c in covariates)):
        raise InputError("`covariates` are given as column names but `data` is missing; "
                         "pass the data frame as `data=`.")
    for arg, name in ((direct, "direct"), (variance, "variance"), (areas, "areas")):
        if isinstance(arg, str):
            raise InputError(f"`{name}` is a column name ({arg!r}) but `data` is missing; "
                             "pass the data frame as `data=`.")

    rows = v.row_labels({"direct": direct, "variance": variance, "covariates": covariates},
                        areas, data=data)
    direct = rows.align(direct, "direct")
    variance = rows.align(variance, "variance")
    covariates = rows.align(covariates, "covariates")
    labels, shown = rows.values, rows.shown
    m = labels.shape[0]
    if m == 0:
        raise InputError("`direct` is empty; at least one area is needed.")

    y = v.as_float_array(direct, "direct", allow_nan=True, labels=shown)
    d = v.as_float_array(variance, "variance", allow_nan=True, labels=shown)
    v.check_length(d, m, "variance", "direct")
    v.check_paired_nan(y, d, "direct", "variance", shown)
    v.check_positive(d, "variance", shown)
    v.check_range(y, "direct", labels=shown)
    v.check_range(d, "variance", largest=1e200, smallest=1e-200, labels=shown,
                  unit=" (and the direct estimates with it)")

    x, names = design_matrix(covariates, m, intercept, covariate_names, shown)
    in_sample = ~np.isnan(y)
    n_in, p = int(in_sample.sum()), x.shape[1]
    if n_in <= p:
        raise InputError(
            f"The model has {p} coefficient{'s' if p != 1 else ''} ({', '.join(names)}) but only "
            f"{n_in} area{'s' if n_in != 1 else ''} with a direct estimate; at least {p + 1} are "
            "needed to estimate the area-effect variance. Use fewer covariates or supply direct "
            "estimates for more areas."
        )
    check_full_rank(x[in_sample], names)
    return y, d, x, names, labels


def _columns_from_frame(
    data: pd.DataFrame, direct: Any, variance: Any, covariates: Any, areas: Any
) -> tuple[Any, Any, Any, Any]:
    """Replace column names by the columns of ``data`` (covariates as a DataFrame)."""
    if isinstance(covariates, str):
        covariates = [covariates]
    cov_cols = covariates if isinstance(covariates, list) else []
    named = [c for c in (direct, variance, areas) if isinstance(c, str)] + list(cov_cols)
    v.require_columns(data, named, "data")
    m = len(data)

    def column(value: Any, name: str) -> Any:
        if isinstance(value, str):
            return data[value]
        if value is not None and np.ndim(value) >= 1 and len(value) != m:
            raise InputError(f"`{name}` has {len(value)} rows but `data` has {m}.")
        return value

    direct = column(direct, "direct")
    variance = column(variance, "variance")
    areas = column(areas, "areas")
    if isinstance(covariates, list):
        covariates = data[covariates] if covariates else None
    return direct, variance, covariates, areas


def design_matrix(
    covariates: Any,
    m: int,
    intercept: bool,
    covariate_names: Sequence[str] | None,
    labels: np.ndarray | None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """The (m, p) float design (intercept first when asked) and its column names."""
    if covariates is None:
        blocks: list[np.ndarray] = []
        names: list[str] = []
    elif isinstance(covariates, pd.DataFrame):
        mat, names = _encode_frame(covariates, labels)
        blocks = [mat]
    else:
        if isinstance(covariates, pd.Series):
            default = [str(covariates.name) if covariates.name is not None else "x1"]
        else:
            default = None
        mat = v.as_float_array(covariates, "covariates", ndim=2, labels=labels)
        v.check_length(mat, m, "covariates", "direct")
        v.check_range(mat, "covariates", labels=labels)
        names = default or [f"x{j + 1}" for j in range(mat.shape[1])]
        blocks = [mat]
    if blocks:
        v.check_length(blocks[0], m, "covariates", "direct")
    if covariate_names is not None:
        covariate_names = [str(n) for n in covariate_names]
        if len(covariate_names) != len(names):
            raise InputError(
                f"`covariate_names` has {len(covariate_names)} names but the covariates have "
                f"{len(names)} columns ({names})."
            )
        names = covariate_names
    if intercept:
        blocks.insert(0, np.ones((m, 1)))
        names.insert(0, "intercept")
    if not blocks:
        raise InputError("The model has no coefficients: give `covariates` or keep "
                         "`intercept=True`.")
    if len(set(names)) != len(names):
        v.check_unique(names, "covariate names")
    return np.hstack(blocks), tuple(names)


def _encode_frame(frame: pd.DataFrame, labels: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
    """Numeric columns as they are; text/category columns one-hot with the first level dropped."""
    columns: list[np.ndarray] = []
    names: list[str] = []
    for col in frame.columns:
        series = frame[col]
        if pd.api.types.is_bool_dtype(series):
            columns.append(series.to_numpy(dtype=float)[:, None])
            names.append(str(col))
        elif pd.api.types.is_numeric_dtype(series):
            columns.append(v.as_float_array(series, f"covariates[{col!r}]", ndim=2,
                                            labels=labels))
            v.check_range(columns[-1], f"covariates[{col!r}]", labels=labels)
            names.append(str(col))
        else:
            dummies, dummy_names = _one_hot(series, str(col), labels)
            columns.append(dummies)
            names.extend(dummy_names)
    mat = np.hstack(columns) if columns else np.empty((len(frame), 0))
    return mat, names


def _one_hot(series: pd.Series, name: str, labels: np.ndarray | None
             ) -> tuple[np.ndarray, list[str]]:
    """Indicator columns for every level but the first (levels sorted, or category order)."""
    missing = series.isna().to_numpy()
    if missing.any():
        raise InputError(
            f"Categorical covariate {name!r} is missing for "
            f"{v.describe_rows(np.flatnonzero(missing), labels)}. Give those areas a level "
            "(crimestats never fills missing values silently)."
        )
    if isinstance(series.dtype, pd.CategoricalDtype):
        levels = list(series.cat.remove_unused_categories().cat.categories)
    else:
        levels = list(pd.unique(series))
        try:
            levels = sorted(levels)
        except TypeError:
            pass
    if len(levels) < 2:
        raise InputError(f"Categorical covariate {name!r} has a single level ({levels}); "
                         "it carries no information, so drop it.")
    values = series.to_numpy()
    dummies = np.column_stack([(values == level).astype(float) for level in levels[1:]])
    return dummies, [f"{name}[T.{level}]" for level in levels[1:]]


def check_full_rank(x: np.ndarray, names: Sequence[str]) -> None:
    """Raise naming the collinear columns if the in-sample design is rank deficient."""
    norms = np.max(np.abs(x), axis=0)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise InputError(
            "The design is singular: column(s) "
            f"{[names[j] for j in zero]} are zero in every area with a direct estimate. "
            "Drop them (a category seen only in out-of-sample areas cannot be estimated)."
        )
    scaled = x / norms
    scaled /= np.linalg.norm(scaled, axis=0)
    _, r, piv = linalg.qr(scaled, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > max(scaled.shape) * np.finfo(float).eps * diag[0]))
    if rank == x.shape[1]:
        return
    independent = piv[:rank]
    problems = []
    for j in piv[rank:]:
        coef, *_ = np.linalg.lstsq(scaled[:, independent], scaled[:, j], rcond=None)
        used = [names[k] for k, c in zip(independent, coef, strict=True) if abs(c) > 1e-8]
        problems.append(f"{names[j]!r} is a linear combination of {used}" if used else
                        f"{names[j]!r} is numerically negligible next to the other columns")
    raise InputError(
        "The design is singular (collinear covariates in the areas with a direct estimate): "
        + "; ".join(problems)
        + ". Drop one column of each collinear set (with intercept=True, do not include a "
        "constant column or every level of a category)."
    )
