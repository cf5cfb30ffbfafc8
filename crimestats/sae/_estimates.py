"""The per-area datasets shared by the area-level models.

[`eblup_dataset`][eblup_dataset] serves the EBLUP-type fits (basic, spatial, spatio-temporal Fay–Herriot),
[`hb_dataset`][hb_dataset] the exact hierarchical Bayes ones (Fay–Herriot HB, BYM2/ICAR); both, and
the unit-level model, build it with [`described_dataset`][described_dataset].
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import xarray as xr

from ..results import normal_interval


def eblup_dataset(
    coords: Mapping[str, np.ndarray],
    estimate: np.ndarray,
    mse: np.ndarray,
    direct: np.ndarray,
    variance: np.ndarray,
    synthetic: np.ndarray,
    *,
    level: float,
    attrs: Mapping[str, object],
    estimate_description: str,
    extra: Mapping[str, tuple[np.ndarray, str]] | None = None,
) -> xr.Dataset:
    """Dataset of an EBLUP fit: estimate, mse, rmse, normal interval, cv, inputs and ``extra``.

    ``coords`` names the dimensions in order (``{"area": ...}`` or
    ``{"area": ..., "period": ...}``); the value arrays are flat in that (row-major) order.
    ``extra`` maps further variable names to ``(values, description)``.
    """
    rmse = np.sqrt(mse)
    lower, upper = normal_interval(estimate, rmse, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = rmse / np.abs(estimate)
    variables = {
        "estimate": (estimate, estimate_description),
        "mse": (mse, "estimated mean squared error of the estimate"),
        "rmse": (rmse, "square root of mse"),
        "lower": (lower, f"lower limit of the {level:.0%} normal interval"),
        "upper": (upper, f"upper limit of the {level:.0%} normal interval"),
        "cv": (cv, "coefficient of variation rmse / |estimate| (a proportion)"),
        "direct": (direct, "direct (survey) estimate; NaN when out of sample"),
        "direct_variance": (variance, "sampling variance of the direct estimate"),
        "synthetic": (synthetic, "regression (synthetic) prediction x'beta"),
        **(extra or {}),
        "in_sample": (~np.isnan(direct), "True if there is a direct estimate"),
    }
    return described_dataset(variables, coords, level=level, attrs=attrs)


def hb_dataset(
    areas: np.ndarray,
    estimate: np.ndarray,
    sd: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    direct: np.ndarray,
    variance: np.ndarray,
    synthetic: np.ndarray,
    *,
    level: float,
    attrs: Mapping[str, object],
    extra: Mapping[str, tuple[np.ndarray, str]] | None = None,
) -> xr.Dataset:
    """Dataset of an HB fit over ``area``: posterior mean, sd (also as ``rmse``), credible
    interval, cv, inputs, the synthetic part and ``extra`` (name -> ``(values, description)``).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = sd / np.abs(estimate)
    variables = {
        "estimate": (estimate, "posterior mean of the area's true value"),
        "sd": (sd, "posterior standard deviation"),
        "rmse": (sd, "posterior standard deviation (the HB measure of uncertainty)"),
        "lower": (lower, f"lower limit of the {level:.0%} equal-tailed credible interval"),
        "upper": (upper, f"upper limit of the {level:.0%} equal-tailed credible interval"),
        "cv": (cv, "coefficient of variation sd / |estimate| (a proportion)"),
        "direct": (direct, "direct (survey) estimate; NaN when out of sample"),
        "direct_variance": (variance, "sampling variance of the direct estimate"),
        "synthetic": (synthetic, "regression (synthetic) prediction x'E(beta | y)"),
        **(extra or {}),
        "in_sample": (~np.isnan(direct), "True if the area has a direct estimate"),
    }
    return described_dataset(variables, {"area": areas}, level=level,
                             attrs={"method": "hb", **attrs})


def described_dataset(variables: Mapping[Hashable, tuple[np.ndarray, str]],
                      coords: Mapping[str, np.ndarray], *, level: float,
                      attrs: Mapping[str, object]) -> xr.Dataset:
    """Dataset of ``variables`` (name -> ``(values, description)``) over ``coords``.

    The values are flat in the row-major order of the dimensions ``coords`` names; the
    interval ``level`` is recorded on the dataset and on ``lower`` and ``upper``.
    """
    dims = tuple(coords)
    shape = tuple(len(values) for values in coords.values())
    ds = xr.Dataset(
        {name: (dims, np.reshape(values, shape), {"description": text})
         for name, (values, text) in variables.items()},
        coords=dict(coords),
    )
    ds.attrs.update({"level": level, **attrs})
    for name in ("lower", "upper"):
        ds[name].attrs["level"] = level
    return ds
