"""Shared pieces of every result object: xarray datasets, tables, JSON and netCDF.

Each method returns a small frozen dataclass that subclasses [`Result`][Result]. Its ``estimates``
field is an `xarray.Dataset` with named dimensions (``area``, ``period``, ``crime_type``,
``list``, ``time``, ``series``) and the standard variable names ``estimate``, ``rmse`` or ``sd``,
``lower``, ``upper`` (interval level in ``attrs["level"]``), ``cv``, ``direct`` and
``direct_variance``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["Result", "normal_interval", "json_safe", "netcdf_dataset"]


def normal_interval(estimate: np.ndarray, se: np.ndarray, level: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric normal interval ``estimate ± z * se`` at the given level.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.results import normal_interval
    >>> lower, upper = normal_interval(np.array([10.0]), np.array([1.0]), 0.95)
    >>> lower.round(2).tolist(), upper.round(2).tolist()
    ([8.04], [11.96])
    """
    from scipy.special import ndtri  # scipy.stats would add about a second to every import

    z = ndtri(0.5 + level / 2.0)
    return estimate - z * se, estimate + z * se


def json_safe(obj: Any) -> Any:
    """Convert numpy, pandas and xarray objects to plain JSON-serialisable Python.

    NaN and infinities become ``None`` (JSON has no NaN).

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.results import json_safe
    >>> json_safe({"rate": np.float64(0.5), "counts": np.array([1, 2]), "cv": np.nan})
    {'rate': 0.5, 'counts': [1, 2], 'cv': None}
    """
    if isinstance(obj, xr.Dataset):
        return {
            "dims": {str(k): int(v) for k, v in obj.sizes.items()},
            "coords": {str(k): json_safe(v.values) for k, v in obj.coords.items()},
            "data_vars": {
                str(k): {"dims": [str(d) for d in v.dims], "data": json_safe(v.values)}
                for k, v in obj.data_vars.items()
            },
            "attrs": json_safe(dict(obj.attrs)),
        }
    if isinstance(obj, xr.DataArray):
        return {"dims": [str(d) for d in obj.dims], "data": json_safe(obj.values)}
    if isinstance(obj, pd.DataFrame):
        return json_safe(obj.to_dict(orient="list"))
    if isinstance(obj, pd.Series):
        return json_safe(obj.to_dict())
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: json_safe(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple, set)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, (np.datetime64, pd.Timestamp)):
        return str(obj)
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    return str(obj)


def _netcdf_text(values: np.ndarray) -> tuple[np.ndarray, str | None]:
    """Object or bytes values as text netCDF stores and reads back as ``str``.

    Returns the text array and the original kind when it was not text already
    (``"int"``, ``"period[M]"``, ``"mixed"``...), recorded in the variable's attributes.
    """
    if values.dtype.kind == "S":
        return np.char.decode(values, "utf-8").astype(str), None
    flat = values.ravel().tolist()
    if all(isinstance(item, str) for item in flat):
        return values.astype(str), None
    if flat and all(isinstance(item, pd.Period) for item in flat):
        kind = f"period[{flat[0].freqstr}]"
    elif flat and all(isinstance(item, (int, np.integer)) and not isinstance(item, bool)
                      for item in flat):
        kind = "int"
    else:
        kind = "mixed"
    text = np.array([str(item) for item in flat], dtype=str).reshape(values.shape)
    return text, kind


def _netcdf_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes netCDF can store: numbers, strings and 1-D arrays; the rest as JSON text."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if isinstance(value, bool):
            out[key] = int(value)
        elif isinstance(value, (int, float, str, np.number)):
            out[key] = value
        elif value is None:
            out[key] = "None"
        else:
            out[key] = json.dumps(json_safe(value))
    return out


@dataclasses.dataclass(frozen=True)
class Result:
    """Base class of crimestats results.

    Attributes
    ----------
    estimates : xarray.Dataset
        Per-unit results over named dimensions (``area``, ``time``, ...).

    Examples
    --------
    >>> import xarray as xr
    >>> from crimestats.results import Result
    >>> res = Result(xr.Dataset({"estimate": ("area", [1.5, 2.0])}, coords={"area": ["A", "B"]}))
    >>> res.to_dataframe()["estimate"].tolist()
    [1.5, 2.0]
    >>> res.to_dict()["type"], res.to_dict()["estimates"]["dims"]
    ('Result', {'area': 2})
    """

    estimates: xr.Dataset

    #: Fields left out of [`to_dict`][to_dict] (large or non-serialisable, e.g. ArviZ data).
    _skip_in_dict: ClassVar[tuple[str, ...]] = ("idata",)

    def to_dataframe(self) -> pd.DataFrame:
        """The per-unit estimates as a pandas DataFrame indexed by the dataset's dimensions."""
        return self.estimates.to_dataframe()

    def to_geodataframe(self, geometry: Any) -> Any:
        """The per-area estimates joined to area boundaries, as a geopandas ``GeoDataFrame``.

        Needs the optional ``geo`` extra (``pip install crimestats[geo]``).

        Parameters
        ----------
        geometry : geopandas.GeoDataFrame or geopandas.GeoSeries
            One geometry per area, indexed by the area labels of the result (set the index
            to the area code first, e.g. ``frame.set_index("LSOA21CD")``). Its other columns
            are kept.

        Returns
        -------
        geopandas.GeoDataFrame
            One row per area (per area and period, etc., for results with more dimensions),
            the estimates' variables as columns, the geometry and CRS of ``geometry``.

        Raises
        ------
        crimestats.InputError
            If the result has no ``area`` dimension, or ``geometry`` lacks some of its areas
            (they are named) or names an area twice.

        Examples
        --------
        >>> import geopandas as gpd
        >>> import xarray as xr
        >>> from shapely.geometry import box
        >>> from crimestats.results import Result
        >>> res = Result(xr.Dataset({"estimate": ("area", [1.5, 2.0])},
        ...                         coords={"area": ["A", "B"]}))
        >>> cells = gpd.GeoSeries([box(0, 0, 1, 1), box(1, 0, 2, 1)], index=["B", "A"])
        >>> res.to_geodataframe(cells)[["estimate"]]
              estimate
        area
        A          1.5
        B          2.0
        """
        from .errors import InputError

        try:
            import geopandas as gpd
        except ImportError:
            raise InputError("to_geodataframe needs geopandas: pip install 'crimestats[geo]'."
                             ) from None
        if "area" not in self.estimates.dims:
            raise InputError(f"This result has no area dimension (dimensions "
                             f"{list(self.estimates.dims)}); there is nothing to map.")
        if not isinstance(geometry, (gpd.GeoDataFrame, gpd.GeoSeries)):
            raise InputError("`geometry` must be a geopandas GeoDataFrame or GeoSeries indexed "
                             f"by area; received {type(geometry).__name__}.")
        frame = (geometry.to_frame("geometry") if isinstance(geometry, gpd.GeoSeries)
                 else geometry)
        areas = pd.Index(self.estimates["area"].values)
        index = pd.Index(frame.index)
        if index.has_duplicates:
            twice = index[index.duplicated()].unique().tolist()
            raise InputError(f"`geometry` names these areas more than once: {twice[:8]}.")
        missing = areas.difference(index, sort=False)
        if len(missing):
            raise InputError(
                f"`geometry` has no row for {len(missing)} area(s) of the result: "
                f"{missing[:8].tolist()}{' ...' if len(missing) > 8 else ''}. Index it by the "
                "same area codes (coding and vintage) as the data, e.g. "
                "`frame.set_index(code_column)`.")
        table = self.to_dataframe()
        level = table.index.get_level_values("area") if isinstance(
            table.index, pd.MultiIndex) else table.index
        shapes = frame.loc[level]
        shapes.index = table.index
        extra = [c for c in shapes.columns if c not in table.columns]
        return gpd.GeoDataFrame(pd.concat([table, shapes[extra]], axis=1),
                                geometry=frame.geometry.name, crs=frame.crs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary of the result (ArviZ data left out).

        ``json.dumps(result.to_dict())`` always works; NaN becomes ``null``.
        """
        out: dict[str, Any] = {"type": type(self).__name__}
        for field in dataclasses.fields(self):
            if field.name.startswith("_") or field.name in self._skip_in_dict:
                continue
            out[field.name] = json_safe(getattr(self, field.name))
        return out

    def to_json(self, **kwargs: Any) -> str:
        """[`to_dict`][to_dict] as a JSON string (keyword arguments go to `json.dumps`)."""
        return json.dumps(self.to_dict(), **kwargs)

    def to_netcdf(self, path: str | Path) -> None:
        """Write ``estimates`` to a netCDF file (read back with `xarray.open_dataset`).

        Attributes that netCDF cannot hold (dicts, lists of strings) are stored as JSON text.
        """
        netcdf_dataset(self.estimates).to_netcdf(path, engine="h5netcdf")


def netcdf_dataset(dataset: xr.Dataset) -> xr.Dataset:
    """A copy of ``dataset`` that netCDF stores and reads back with the same coordinates.

    Attributes that netCDF cannot hold (booleans, dicts, lists of text, None) become numbers
    or JSON text; coordinates and variables of Python objects (text, pandas Periods, labels
    of mixed types) and bytes become text, read back as ``str`` (never ``int64`` or bytes), with
    the original kind in the attribute ``crimestats_labels`` when it was not text.

    Examples
    --------
    >>> import pandas as pd, xarray as xr
    >>> from crimestats.results import netcdf_dataset
    >>> ds = xr.Dataset({"n": ("period", [3, 4])},
    ...                 coords={"period": pd.period_range("2020-01", periods=2, freq="M")})
    >>> out = netcdf_dataset(ds)
    >>> out["period"].values.tolist(), out["period"].attrs["crimestats_labels"]
    (['2020-01', '2020-02'], 'period[M]')
    """
    ds = dataset.copy()
    replaced = {}
    for name, var in ds.variables.items():
        if var.dtype.kind in "OS":
            text, kind = _netcdf_text(np.asarray(var.values))
            attrs = dict(var.attrs)
            if kind is not None:
                attrs["crimestats_labels"] = kind
            replaced[name] = xr.Variable(var.dims, text, attrs)
    for name, var in replaced.items():
        if name in ds.coords:
            ds = ds.assign_coords({name: var})
        else:
            ds[name] = var
    ds.attrs = _netcdf_attrs(ds.attrs)
    for name in ds.variables:
        ds[name].attrs = _netcdf_attrs(ds[name].attrs)
    return ds
