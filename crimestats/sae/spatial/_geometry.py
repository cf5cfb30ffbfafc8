"""Neighbour pairs from geometry: shared boundaries of polygons, and neighbourhoods of points.

* **Contiguity** of polygons, pure NumPy: coordinates are snapped to a grid of size
  ``precision``; two areas are neighbours when their boundaries share a snapped vertex
  ("queen") or a snapped boundary segment ("rook"). Measured on the bundled police force areas,
  community safety partnerships and the Greater Manchester wards, it gives exactly the
  neighbour sets of libpysal's ``Queen`` and ``Rook`` weights (see the spatial HB user guide).
* **Points** (areas known by a centroid): the edges of the Delaunay triangulation, or each
  point's ``k`` nearest neighbours made mutual (SciPy).
* Reading geometry: GeoJSON dictionaries need nothing else; geopandas ``GeoDataFrame`` and
  ``GeoSeries`` (and shapely geometries) are read with shapely, from the optional ``geo`` extra.

The functions return plain arrays (labels and index pairs); [`crimestats.sae.adjacency`][crimestats.sae.adjacency] turns
them into an ``Adjacency``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...errors import InputError

__all__ = ["RULES", "contiguity_pairs", "geojson_rings", "is_geometry", "point_pairs",
           "shapely_parts", "shapely_rings"]

#: Names of the contiguity rules: shared vertex ("queen") or shared segment ("rook").
RULES = {"queen": "vertex", "vertex": "vertex", "rook": "edge", "edge": "edge"}
_SHOWN = 8


def is_geometry(obj: Any) -> bool:
    """True for a geopandas ``GeoDataFrame`` or ``GeoSeries`` (without importing geopandas)."""
    return type(obj).__module__.split(".")[0] == "geopandas" and hasattr(obj, "geometry")


def geojson_rings(geometry: dict[str, Any] | None) -> list[np.ndarray]:
    """All boundary rings of a GeoJSON Polygon or MultiPolygon as ``(k, 2)`` float arrays."""
    kind = geometry.get("type") if geometry else None
    coords = geometry.get("coordinates") if geometry else None
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        polygons = coords
    else:
        raise InputError(f"only Polygon and MultiPolygon geometries are supported; got {kind!r}.")
    return [np.asarray(ring, dtype=np.float64)[:, :2] for poly in polygons for ring in poly]


def shapely_parts(geometry: Any) -> tuple[np.ndarray, str]:
    """Labels and kind (``"polygons"`` or ``"points"``) of a GeoDataFrame or GeoSeries."""
    import shapely

    geoms = np.asarray(geometry.geometry if hasattr(geometry, "geometry") else geometry)
    kinds = shapely.get_type_id(geoms)
    if np.any(pd.isna(geoms)) or np.any(kinds < 0):
        bad = np.flatnonzero(pd.isna(geoms) | (kinds < 0))
        raise InputError(f"the geometry is missing for rows {bad[:_SHOWN].tolist()}; every "
                         "area needs a polygon (or a point).")
    polygon = np.isin(kinds, (3, 6))          # Polygon, MultiPolygon
    point = kinds == 0
    if polygon.all():
        return geoms, "polygons"
    if point.all():
        return geoms, "points"
    raise InputError("the geometry must be all polygons (areas) or all points (centroids); "
                     f"rows {np.flatnonzero(~(polygon | point))[:_SHOWN].tolist()} are neither, "
                     "or the two are mixed.")


def shapely_rings(geoms: np.ndarray) -> list[list[np.ndarray]]:
    """Boundary rings of each shapely (Multi)Polygon as lists of ``(k, 2)`` arrays."""
    import shapely

    out = []
    for geom in geoms:
        rings = shapely.get_rings(shapely.get_parts(geom))
        out.append([shapely.get_coordinates(ring) for ring in rings])
    return out


def _shared_key_pairs(keys: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of distinct owners sharing a key (rows of ``keys``)."""
    if keys.shape[0] == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    table = np.unique(np.column_stack([keys, owner]), axis=0)
    group = np.unique(table[:, :-1], axis=0, return_inverse=True)[1].ravel()
    own = table[:, -1]
    order = np.lexsort((own, group))
    group, own = group[order], own[order]
    a_all, b_all = [], []
    for offset in range(1, int(np.bincount(group).max())):
        same = group[offset:] == group[:-offset]
        a_all.append(own[:-offset][same])
        b_all.append(own[offset:][same])
    if not a_all:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(a_all), np.concatenate(b_all)


def contiguity_pairs(rings: list[list[np.ndarray]], rule: str, precision: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs of areas whose boundary rings share a snapped vertex or segment.

    ``rings[k]`` are the boundary rings of area ``k``; ``rule`` is ``"vertex"`` or ``"edge"``.
    """
    keys, owners = [], []
    for k, area_rings in enumerate(rings):
        for ring in area_rings:
            grid = np.round(ring / precision).astype(np.int64)
            if rule == "vertex":
                key = grid
            else:
                start, end = grid[:-1], grid[1:]
                swap = (start[:, 0] > end[:, 0]) | ((start[:, 0] == end[:, 0])
                                                    & (start[:, 1] > end[:, 1]))
                first = np.where(swap[:, None], end, start)
                second = np.where(swap[:, None], start, end)
                key = np.column_stack([first, second])
                key = key[(key[:, :2] != key[:, 2:]).any(axis=1)]
            keys.append(key)
            owners.append(np.full(key.shape[0], k, dtype=np.int64))
    width = 2 if rule == "vertex" else 4
    all_keys = np.concatenate(keys) if keys else np.empty((0, width), dtype=np.int64)
    all_owners = np.concatenate(owners) if owners else np.empty(0, dtype=np.int64)
    return _shared_key_pairs(all_keys, all_owners)


def point_pairs(xy: np.ndarray, labels: np.ndarray, rule: str, k: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs of points: Delaunay edges, or mutual-or-one-way k nearest neighbours."""
    from scipy.spatial import Delaunay, QhullError, cKDTree

    m = xy.shape[0]
    rounded = pd.DataFrame(xy).duplicated(keep=False).to_numpy()
    if rounded.any():
        same = [labels[i].item() if isinstance(labels[i], np.generic) else labels[i]
                for i in np.flatnonzero(rounded)[:_SHOWN]]
        raise InputError(f"{int(rounded.sum())} areas share their point with another area, "
                         f"e.g. {same}; each area needs its own centroid.")
    if rule == "delaunay":
        if m < 3:
            return (np.arange(m - 1, dtype=np.int64), np.arange(1, m, dtype=np.int64))
        try:
            simplices = Delaunay(xy).simplices
        except QhullError:
            raise InputError("the points are collinear (or too few), so they have no Delaunay "
                             "triangulation; use rule='knn'.") from None
        pairs = np.vstack([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]])
        pairs = np.unique(np.sort(pairs, axis=1), axis=0)
        return pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    if not (isinstance(k, (int, np.integer)) and 1 <= k < m):
        raise InputError(f"`k` must be an integer from 1 to {m - 1} (the number of other "
                         f"areas); received {k!r}.")
    _, nearest = cKDTree(xy).query(xy, k=int(k) + 1)
    rows = np.repeat(np.arange(m), int(k))
    cols = nearest[:, 1:].ravel()
    return rows.astype(np.int64), cols.astype(np.int64)
