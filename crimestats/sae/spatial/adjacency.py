"""Neighbour structure of areas: who borders whom, for spatial small-area models.

An [`Adjacency`][Adjacency] holds the area labels and a symmetric sparse matrix of neighbour weights
(1 for a binary adjacency). Build one from a table of neighbour pairs
([`adjacency_from_pairs`][adjacency_from_pairs]), from a dense or sparse matrix ([`adjacency_from_matrix`][adjacency_from_matrix])
or from polygons in GeoJSON ([`adjacency_from_geojson`][adjacency_from_geojson], no geopandas or shapely needed).
It reports islands (areas with no neighbours) and connected components, and gives the
row-standardised proximity matrix $W$ that the SAR spatial Fay–Herriot model uses
([`row_standardise`][row_standardise]). Everything is stored sparse: memory grows with the number of
neighbour pairs, not with the square of the number of areas.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..._validate import check_unique, plain
from ...errors import InputError
from ._geometry import (
    RULES,
    contiguity_pairs,
    geojson_rings,
    is_geometry,
    point_pairs,
    shapely_parts,
    shapely_rings,
)

__all__ = [
    "Adjacency",
    "adjacency_from_pairs",
    "adjacency_from_matrix",
    "adjacency_from_geojson",
    "adjacency_from_polygons",
    "adjacency_from_points",
    "as_adjacency",
    "row_standardise",
]

_SHOWN = 8


@dataclasses.dataclass(frozen=True, eq=False)
class Adjacency:
    """Neighbour structure of a set of areas.

    Attributes
    ----------
    areas : numpy.ndarray
        Area labels, in the order of the rows and columns of ``weights``.
    weights : scipy.sparse.csr_array
        Symmetric ``(m, m)`` matrix of non-negative neighbour weights with a zero diagonal
        (``1`` marks a neighbour in a binary adjacency).

    Examples
    --------
    >>> from crimestats.sae import adjacency_from_pairs
    >>> adj = adjacency_from_pairs([("a", "b"), ("b", "c")], areas=["a", "b", "c", "d"])
    >>> adj.n_pairs, adj.islands.tolist(), adj.n_components
    (2, ['d'], 2)
    >>> adj.row_standardised().toarray()
    array([[0. , 1. , 0. , 0. ],
           [0.5, 0. , 0.5, 0. ],
           [0. , 1. , 0. , 0. ],
           [0. , 0. , 0. , 0. ]])
    """

    areas: np.ndarray
    weights: sp.csr_array

    @property
    def n_areas(self) -> int:
        """Number of areas."""
        return int(self.areas.shape[0])

    @property
    def n_pairs(self) -> int:
        """Number of neighbour pairs (each unordered pair counted once)."""
        return int(sp.triu(self.weights, k=1).nnz)

    @property
    def n_neighbours(self) -> pd.Series:
        """Number of neighbours of each area, indexed by area label."""
        counts = np.diff(self.weights.indptr)
        return pd.Series(counts, index=pd.Index(self.areas, name="area"), name="n_neighbours")

    @property
    def islands(self) -> np.ndarray:
        """Labels of areas with no neighbour."""
        return self.areas[np.diff(self.weights.indptr) == 0]

    @property
    def components(self) -> pd.Series:
        """Connected-component number of each area (0, 1, ...; largest component first)."""
        _, raw = connected_components(self.weights, directed=False)
        sizes = np.bincount(raw)
        order = np.argsort(-sizes, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return pd.Series(rank[raw], index=pd.Index(self.areas, name="area"), name="component")

    @property
    def n_components(self) -> int:
        """Number of connected components (an island is a component of its own)."""
        return int(connected_components(self.weights, directed=False)[0])

    def neighbours(self, area: Hashable) -> list:
        """Labels of the neighbours of ``area``."""
        pos = _positions(self.areas, [area], "area", "this adjacency")[0]
        start, stop = self.weights.indptr[pos], self.weights.indptr[pos + 1]
        return [plain(a) for a in self.areas[self.weights.indices[start:stop]]]

    def row_standardised(self) -> sp.csr_array:
        """The proximity matrix $W$ with rows summing to 1 (rows of islands stay 0)."""
        return row_standardise(self.weights)

    def to_dense(self) -> np.ndarray:
        """The weights as a dense ``(m, m)`` array (O(m²) memory: for small m only)."""
        return self.weights.toarray()

    def to_pairs(self) -> pd.DataFrame:
        """Neighbour pairs as a table ``area_a, area_b, weight`` (each pair once)."""
        upper = sp.triu(self.weights, k=1).tocoo()
        return pd.DataFrame({"area_a": self.areas[upper.row], "area_b": self.areas[upper.col],
                             "weight": upper.data})

    def subset(self, areas: Sequence[Hashable]) -> Adjacency:
        """The adjacency restricted to ``areas``, in that order (pairs to other areas dropped).

        Use it to align an adjacency with the row order of the data.
        """
        labels = np.asarray(areas)
        check_unique(labels, "areas")
        pos = _positions(self.areas, labels, "areas", "this adjacency")
        sub = self.weights[pos][:, pos]
        return Adjacency(labels, sp.csr_array(sub))

    def summary(self) -> str:
        """A short plain-text description: areas, pairs, neighbours, islands, components."""
        counts = np.diff(self.weights.indptr)
        islands = self.islands
        shown = ", ".join(repr(plain(a)) for a in islands[:_SHOWN])
        more = f" and {islands.size - _SHOWN} more" if islands.size > _SHOWN else ""
        return "\n".join([
            f"Adjacency of {self.n_areas} areas, {self.n_pairs} neighbour pairs",
            f"neighbours per area: median {np.median(counts):g}, range "
            f"{counts.min() if counts.size else 0}–{counts.max() if counts.size else 0}",
            f"islands: {islands.size}" + (f" ({shown}{more})" if islands.size else ""),
            f"connected components: {self.n_components}",
        ])


def _positions(labels: np.ndarray, wanted: Sequence[Hashable], name: str, where: str
               ) -> np.ndarray:
    """Positions of ``wanted`` in ``labels``; InputError naming the labels not found."""
    index = pd.Index(labels)
    pos = index.get_indexer(pd.Index(list(wanted)))
    if (pos < 0).any():
        missing = [plain(w) for w, p in zip(wanted, pos, strict=True) if p < 0]
        raise InputError(
            f"`{name}` names area{'s' if len(missing) > 1 else ''} not in {where}: "
            f"{missing[:_SHOWN]}{' ...' if len(missing) > _SHOWN else ''}. "
            "Check the area codes (same coding and vintage on both sides)."
        )
    return pos


def row_standardise(weights: Any) -> sp.csr_array:
    """Divide each row of a neighbour-weight matrix by its sum.

    Parameters
    ----------
    weights : array-like or scipy sparse matrix, shape (m, m)
        Non-negative neighbour weights (e.g. a binary adjacency).

    Returns
    -------
    scipy.sparse.csr_array
        $W_{ij} = w_{ij} / \\sum_k w_{ik}$; rows of islands (all zero) stay zero.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import row_standardise
    >>> row_standardise(np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]])).toarray()
    array([[0. , 0.5, 0.5],
           [1. , 0. , 0. ],
           [1. , 0. , 0. ]])
    """
    mat = _as_sparse_weights(weights, "weights")
    sums = np.asarray(mat.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    return sp.csr_array(sp.diags_array(scale) @ mat)


def _as_sparse_weights(matrix: Any, name: str) -> sp.csr_array:
    """A square, finite, non-negative matrix with zero diagonal, as float CSR."""
    if sp.issparse(matrix):
        mat = sp.csr_array(matrix, dtype=np.float64)
    else:
        if isinstance(matrix, pd.DataFrame):
            matrix = matrix.to_numpy()
        try:
            dense = np.asarray(matrix, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"`{name}` must be a numeric (m, m) matrix.") from None
        if dense.ndim != 2:
            raise InputError(f"`{name}` must be a 2-D (m, m) matrix; received shape {dense.shape}.")
        mat = sp.csr_array(dense)
    if mat.shape[0] != mat.shape[1]:
        raise InputError(
            f"`{name}` must be square (one row and one column per area); received shape "
            f"{mat.shape}."
        )
    mat.sum_duplicates()
    if not np.isfinite(mat.data).all():
        rows = np.unique(mat.tocoo().row[~np.isfinite(mat.tocoo().data)])
        raise InputError(f"`{name}` has NaN or infinite weights in rows {rows[:_SHOWN].tolist()}.")
    if (mat.data < 0).any():
        coo = mat.tocoo()
        bad = coo.data < 0
        cells = list(zip(coo.row[bad][:_SHOWN].tolist(), coo.col[bad][:_SHOWN].tolist(),
                         strict=True))
        raise InputError(
            f"`{name}` has negative weights at (row, column) {cells}; neighbour weights must "
            "be non-negative."
        )
    diag = mat.diagonal()
    if (diag != 0).any():
        rows = np.flatnonzero(diag != 0)
        raise InputError(
            f"`{name}` has non-zero diagonal entries in rows {rows[:_SHOWN].tolist()}; an area "
            "is not its own neighbour. Set the diagonal to 0."
        )
    mat.eliminate_zeros()
    return mat


def _check_symmetric_pattern(mat: sp.csr_array, name: str, labels: np.ndarray | None) -> None:
    """Raise naming the pairs (i, j) with a weight where (j, i) has none."""
    pattern = (mat != 0).astype(np.int8)
    odd = sp.coo_array(pattern - pattern.T)
    odd.eliminate_zeros()
    if odd.nnz:
        keep = odd.data > 0
        rows, cols = odd.row[keep], odd.col[keep]
        name_of = (lambda i: plain(labels[i])) if labels is not None else int
        cells = [(name_of(i), name_of(j)) for i, j in zip(rows[:_SHOWN], cols[:_SHOWN],
                                                          strict=True)]
        raise InputError(
            f"`{name}` is not symmetric: {len(rows)} pair(s) are neighbours in one direction "
            f"only, e.g. {cells}. Adjacency is mutual; add the missing direction or remove "
            "the one-sided entry."
        )


def adjacency_from_matrix(matrix: Any, areas: Sequence[Hashable] | None = None) -> Adjacency:
    """Build an [`Adjacency`][Adjacency] from a dense or sparse ``(m, m)`` matrix.

    Parameters
    ----------
    matrix : array-like, pandas.DataFrame or scipy sparse matrix, shape (m, m)
        Neighbour weights: non-negative, zero diagonal, and a symmetric pattern (if area
        ``i`` lists ``j`` then ``j`` lists ``i``). A symmetric matrix is kept as it is. A
        row-standardised matrix (asymmetric values, symmetric pattern, as R ``sae`` takes) is
        turned back into the binary adjacency it came from.
    areas : sequence, optional
        Labels of the rows/columns; default the DataFrame index, else ``0 .. m-1``.

    Returns
    -------
    Adjacency

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import adjacency_from_matrix
    >>> W = np.array([[0, 1, 0], [0.5, 0, 0.5], [0, 1, 0]])
    >>> adjacency_from_matrix(W, areas=["x", "y", "z"]).to_pairs()
      area_a area_b  weight
    0      x      y     1.0
    1      y      z     1.0
    """
    if areas is None and isinstance(matrix, pd.DataFrame):
        areas = matrix.index.to_numpy()
    mat = _as_sparse_weights(matrix, "matrix")
    m = mat.shape[0]
    labels = np.arange(m) if areas is None else np.asarray(areas)
    if labels.ndim != 1 or labels.shape[0] != m:
        raise InputError(f"`areas` must hold {m} labels (one per row of `matrix`); received "
                         f"shape {labels.shape}.")
    check_unique(labels, "areas")
    _check_symmetric_pattern(mat, "matrix", labels)
    if abs(mat - mat.T).max() > 1e-12 * max(1.0, abs(mat).max()):
        mat = sp.csr_array((mat != 0).astype(np.float64))
    return Adjacency(labels, mat)


def adjacency_from_pairs(pairs: Any, areas: Sequence[Hashable] | None = None, *,
                         columns: Sequence[str] | None = None,
                         weight: str | None = None) -> Adjacency:
    """Build an [`Adjacency`][Adjacency] from a table of neighbour pairs.

    Parameters
    ----------
    pairs : pandas.DataFrame or sequence of pairs
        One row per neighbour pair ``(area_a, area_b)``. A pair may be listed once or in both
        directions; listing it twice is not an error (with equal weights).
    areas : sequence, optional
        All area labels, in the order wanted. Areas that appear in no pair are islands. A pair
        naming an area not in ``areas`` is an error. Default: the labels met in ``pairs``,
        sorted.
    columns : two column names, optional
        The columns of ``pairs`` holding the two areas; default the first two columns.
    weight : str, optional
        Column of ``pairs`` with a non-negative weight per pair (e.g. shared boundary length);
        default binary weights of 1.

    Returns
    -------
    Adjacency

    Examples
    --------
    >>> import pandas as pd
    >>> from crimestats.sae import adjacency_from_pairs
    >>> pairs = pd.DataFrame({"from": ["A", "B"], "to": ["B", "C"]})
    >>> adj = adjacency_from_pairs(pairs)
    >>> adj.areas.tolist(), adj.neighbours("B")
    (['A', 'B', 'C'], ['A', 'C'])
    """
    frame = pairs if isinstance(pairs, pd.DataFrame) else pd.DataFrame(list(pairs))
    if columns is None:
        if frame.shape[1] < 2:
            raise InputError("`pairs` needs two columns: the two areas of each neighbour pair.")
        columns = [frame.columns[0], frame.columns[1]]
    if len(columns) != 2:
        raise InputError(f"`columns` must name exactly two columns; received {list(columns)}.")
    missing = [c for c in [*columns, weight] if c is not None and c not in frame.columns]
    if missing:
        raise InputError(f"`pairs` has no column(s) {missing}; available: {list(frame.columns)}.")
    left = frame[columns[0]].to_numpy()
    right = frame[columns[1]].to_numpy()
    if pd.isna(left).any() or pd.isna(right).any():
        rows = np.flatnonzero(pd.isna(left) | pd.isna(right))
        raise InputError(f"`pairs` has missing area labels in rows {rows[:_SHOWN].tolist()}.")
    if weight is None:
        values = np.ones(left.shape[0])
    else:
        values = pd.to_numeric(frame[weight], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            raise InputError(
                f"weights in column {weight!r} must be finite and non-negative; rows "
                f"{np.flatnonzero(bad)[:_SHOWN].tolist()} are not."
            )
    if areas is None:
        labels = np.asarray(pd.Index(np.concatenate([left, right])).unique().sort_values())
    else:
        labels = np.asarray(areas)
        if labels.ndim != 1:
            raise InputError("`areas` must be a 1-D sequence of labels.")
        check_unique(labels, "areas")
        index = pd.Index(labels)
        unknown = pd.Index(np.concatenate([left, right])).unique()
        unknown = unknown[index.get_indexer(unknown) < 0]
        if len(unknown):
            raise InputError(
                f"`pairs` names {len(unknown)} area(s) not in `areas`: "
                f"{[plain(u) for u in unknown[:_SHOWN]]}"
                f"{' ...' if len(unknown) > _SHOWN else ''}. Check the area codes (same "
                "coding and vintage), or add those areas."
            )
    index = pd.Index(labels)
    i = index.get_indexer(left)
    j = index.get_indexer(right)
    self_pairs = np.flatnonzero(i == j)
    if self_pairs.size:
        raise InputError(
            f"`pairs` lists areas as their own neighbour in rows "
            f"{self_pairs[:_SHOWN].tolist()} (e.g. {plain(left[self_pairs[0]])!r}); remove them."
        )
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    key = pd.DataFrame({"lo": lo, "hi": hi, "w": values})
    spread = key.groupby(["lo", "hi"])["w"].agg(["min", "max"])
    clash = spread[spread["max"] - spread["min"] > 1e-12 * np.maximum(1.0, spread["max"])]
    if len(clash):
        shown = [(plain(labels[a]), plain(labels[b])) for a, b in clash.index[:_SHOWN]]
        raise InputError(
            f"`pairs` lists {len(clash)} pair(s) more than once with different weights, e.g. "
            f"{shown}; give each pair one weight."
        )
    m = labels.shape[0]
    upper = sp.coo_array((spread["max"].to_numpy(),
                          (spread.index.get_level_values(0), spread.index.get_level_values(1))),
                         shape=(m, m))
    mat = sp.csr_array(upper + upper.T)
    mat.eliminate_zeros()
    return Adjacency(labels, mat)


def _from_index_pairs(labels: np.ndarray, a: np.ndarray, b: np.ndarray) -> Adjacency:
    """Binary adjacency of ``labels`` with the (possibly repeated, one-way) index pairs."""
    m = labels.shape[0]
    mat = sp.coo_array((np.ones(a.size), (a, b)), shape=(m, m)).tocsr()
    mat = sp.csr_array(((mat + mat.T) > 0).astype(np.float64))
    mat.setdiag(0)
    mat.eliminate_zeros()
    return Adjacency(labels, mat)


def _contiguity_rule(rule: Any) -> str:
    key = rule.lower() if isinstance(rule, str) else rule
    if key not in RULES:
        raise InputError(f"`rule` must be 'queen' (or 'vertex') or 'rook' (or 'edge'); received "
                         f"{rule!r}.")
    return RULES[key]


def _check_precision(precision: Any) -> float:
    if not (isinstance(precision, (int, float, np.number)) and precision > 0):
        raise InputError(f"`precision` must be positive; received {precision!r}.")
    return float(precision)


def adjacency_from_geojson(geojson: str | Path | dict[str, Any], id_field: str, *,
                           rule: str = "vertex", precision: float = 1e-6) -> Adjacency:
    """Build an [`Adjacency`][Adjacency] from polygons in a GeoJSON FeatureCollection.

    Two areas are neighbours when their boundaries share a point (``rule="vertex"`` or
    ``"queen"``) or a boundary segment (``rule="edge"`` or ``"rook"``). Coordinates are
    snapped to a grid of size ``precision`` (in the units of the file: degrees or metres)
    before comparing, so vertices that agree to that precision count as shared. This needs
    polygons that share their boundary vertices, as boundaries cut from one topology (ONS,
    OS, census geographies) and topology-preserving simplification do; it is a pure NumPy
    rule, with no geopandas or shapely, and gives the same neighbour sets as libpysal's
    ``Queen`` and ``Rook`` weights on the bundled boundaries (see
    [`adjacency_from_polygons`][adjacency_from_polygons] for a GeoDataFrame).

    Parameters
    ----------
    geojson : path, str or dict
        A GeoJSON FeatureCollection (a file path or the parsed dictionary) of Polygon or
        MultiPolygon features.
    id_field : str
        Feature property holding the area label.
    rule : {"vertex", "edge", "queen", "rook"}
        Shared point (queen) or shared segment (rook).
    precision : float
        Snapping grid for coordinates.

    Returns
    -------
    Adjacency
        Areas in the order of the features; weights 1.

    Examples
    --------
    >>> from crimestats.sae import adjacency_from_geojson
    >>> square = lambda x, y: {"type": "Polygon", "coordinates": [[[x, y], [x + 1, y],
    ...     [x + 1, y + 1], [x, y + 1], [x, y]]]}
    >>> fc = {"type": "FeatureCollection", "features": [
    ...     {"type": "Feature", "properties": {"id": k}, "geometry": square(x, y)}
    ...     for k, (x, y) in {"a": (0, 0), "b": (1, 0), "c": (1, 1), "d": (5, 5)}.items()]}
    >>> adjacency_from_geojson(fc, "id", rule="edge").to_pairs()[["area_a", "area_b"]]
      area_a area_b
    0      a      b
    1      b      c
    >>> adjacency_from_geojson(fc, "id", rule="vertex").n_pairs
    3
    """
    if isinstance(geojson, (str, Path)):
        with open(geojson, encoding="utf-8") as handle:
            geojson = json.load(handle)
    if not isinstance(geojson, dict) or "features" not in geojson:
        raise InputError("`geojson` must be a GeoJSON FeatureCollection with 'features'.")
    rule = _contiguity_rule(rule)
    precision = _check_precision(precision)
    labels_list, rings = [], []
    for k, feature in enumerate(geojson["features"]):
        props = feature.get("properties") or {}
        if id_field not in props:
            raise InputError(f"feature {k} has no property {id_field!r}; available: "
                             f"{sorted(props)}.")
        labels_list.append(props[id_field])
        rings.append(geojson_rings(feature.get("geometry")))
    labels = np.asarray(labels_list)
    check_unique(labels, f"feature property {id_field!r}")
    return _from_index_pairs(labels, *contiguity_pairs(rings, rule, precision))


def _geometry_labels(geometry: Any, areas: Sequence[Hashable] | None, size: int) -> np.ndarray:
    """Area labels of geometry: ``areas``, else the GeoDataFrame's (GeoSeries') index."""
    if areas is not None:
        labels = np.asarray(areas)
    elif isinstance(getattr(geometry, "index", None), pd.Index):
        labels = geometry.index.to_numpy()
    else:
        labels = np.arange(size)
    if labels.ndim != 1 or labels.shape[0] != size:
        raise InputError(f"`areas` must hold {size} labels (one per geometry); received shape "
                         f"{labels.shape}.")
    check_unique(labels, "area labels")
    return labels


def adjacency_from_polygons(polygons: Any, areas: Sequence[Hashable] | None = None, *,
                            rule: str = "queen", precision: float = 1e-6) -> Adjacency:
    """Build an [`Adjacency`][Adjacency] from polygons: a geopandas GeoDataFrame or GeoSeries.

    Contiguity as [`adjacency_from_geojson`][adjacency_from_geojson]: neighbours share a boundary point
    (``rule="queen"``) or a boundary segment (``rule="rook"``), vertices compared after
    snapping to ``precision`` (in the units of the coordinate reference system). Needs the
    optional ``geo`` extra (``pip install crimestats[geo]``).

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame, geopandas.GeoSeries or sequence of shapely polygons
        One Polygon or MultiPolygon per area.
    areas : sequence, optional
        Area labels; default the index of the GeoDataFrame or GeoSeries (set it to the area
        code first, e.g. ``frame.set_index("LSOA21CD")``).
    rule : {"queen", "rook"}
        Shared point or shared segment (also accepted: ``"vertex"``, ``"edge"``).
    precision : float
        Snapping grid for coordinates.

    Returns
    -------
    Adjacency
        Areas in the order of the polygons; weights 1.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> from crimestats.sae import adjacency_from_polygons
    >>> cells = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(1, 1, 2, 2)],
    ...                          index=["a", "b", "c"])
    >>> adjacency_from_polygons(cells).neighbours("a"), adjacency_from_polygons(
    ...     cells, rule="rook").neighbours("a")
    (['b', 'c'], ['b'])
    """
    rule = _contiguity_rule(rule)
    precision = _check_precision(precision)
    geoms, kind = _shapely_geometry(polygons)
    if kind != "polygons":
        raise InputError("`polygons` holds points; use adjacency_from_points for areas known by "
                         "their centroids.")
    labels = _geometry_labels(polygons, areas, geoms.shape[0])
    return _from_index_pairs(labels, *contiguity_pairs(shapely_rings(geoms), rule, precision))


def _shapely_geometry(geometry: Any) -> tuple[np.ndarray, str]:
    try:
        import shapely  # noqa: F401
    except ImportError:
        raise InputError("reading geometry needs shapely and geopandas: "
                         "pip install 'crimestats[geo]'.") from None
    return shapely_parts(geometry)


def adjacency_from_points(points: Any, areas: Sequence[Hashable] | None = None, *,
                          rule: str = "delaunay", k: int = 6) -> Adjacency:
    """Build an [`Adjacency`][Adjacency] for areas known by a point (a centroid).

    ``rule="delaunay"``: neighbours are joined by an edge of the Delaunay triangulation of
    the points (a planar graph much like real contiguity, about six neighbours per area).
    ``rule="knn"``: each area's ``k`` nearest points are its neighbours, made mutual (if j is
    among i's nearest, i and j are neighbours), so every area has at least ``k`` neighbours.
    Distances are Euclidean in the coordinates given: project longitude/latitude first (e.g.
    British National Grid) for knn.

    Parameters
    ----------
    points : array-like of shape (m, 2), DataFrame of two columns, or GeoDataFrame/GeoSeries of points
        x and y of each area's point.
    areas : sequence, optional
        Area labels; default the index of a DataFrame, GeoDataFrame or GeoSeries, else
        ``0 .. m-1``.
    rule : {"delaunay", "knn"}
        Delaunay triangulation or k nearest neighbours.
    k : int
        Number of nearest neighbours for ``rule="knn"``.

    Returns
    -------
    Adjacency
        Areas in the order of the points; weights 1.

    Raises
    ------
    crimestats.InputError
        Two areas with the same point, non-finite coordinates, collinear points for
        Delaunay, or ``k`` out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from crimestats.sae import adjacency_from_points
    >>> xy = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [5, 5]])
    >>> adjacency_from_points(xy).n_pairs, adjacency_from_points(xy, rule="knn", k=1).n_pairs
    (8, 4)
    """
    rule = rule.lower() if isinstance(rule, str) else rule
    if rule not in ("delaunay", "knn"):
        raise InputError(f"`rule` must be 'delaunay' or 'knn'; received {rule!r}.")
    if is_geometry(points):
        geoms, kind = _shapely_geometry(points)
        if kind != "points":
            raise InputError("`points` holds polygons; use adjacency_from_polygons, or pass "
                             "their centroids (`frame.centroid`).")
        import shapely

        xy = shapely.get_coordinates(geoms)
    else:
        frame = points if isinstance(points, pd.DataFrame) else None
        try:
            xy = np.asarray(points.to_numpy() if frame is not None else points, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("`points` must hold numbers: x and y of each area.") from None
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise InputError(f"`points` must have shape (m, 2), x and y of each area; received "
                             f"{xy.shape}.")
    if not np.isfinite(xy).all():
        rows = np.flatnonzero(~np.isfinite(xy).all(axis=1))
        raise InputError(f"`points` has missing or infinite coordinates in rows "
                         f"{rows[:_SHOWN].tolist()}.")
    labels = _geometry_labels(points, areas, xy.shape[0])
    return _from_index_pairs(labels, *point_pairs(xy, labels, rule, k))


# --------------------------------------------------------------------------------------------
# One reader for every form an adjacency is given in
# --------------------------------------------------------------------------------------------

#: The forms, for error messages.
FORMS = ("an Adjacency, a table of neighbour pairs (two columns of area labels, optionally a "
         "third of weights), a symmetric (m, m) matrix (dense, sparse or a labelled "
         "DataFrame), a GeoDataFrame (polygons: queen contiguity; points: Delaunay) or a "
         "libpysal W / Graph")


@dataclasses.dataclass(frozen=True)
class ParsedAdjacency:
    """An adjacency read by [`parse_adjacency`][parse_adjacency].

    ``adjacency`` covers the data's areas in the data's order; ``matrix`` is the matrix as
    the user gave it (a dense, sparse or labelled matrix, or a libpysal weights object), in
    the same order, or None for the other forms. The SAR model uses a row-standardised matrix
    as given; the ICAR models read the same matrix as ``adjacency``.
    """

    adjacency: Adjacency
    matrix: sp.csr_array | None = None


def _is_pysal(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "libpysal"


def _pysal_matrix(weights: Any, name: str) -> tuple[sp.csr_array, np.ndarray]:
    """Sparse matrix and ids of a libpysal ``W`` (its current transform) or ``Graph``."""
    if hasattr(weights, "id_order") and hasattr(weights, "sparse"):          # weights.W
        return sp.csr_array(weights.sparse, dtype=np.float64), np.asarray(weights.id_order)
    if hasattr(weights, "unique_ids") and hasattr(weights, "sparse"):        # graph.Graph
        return (sp.csr_array(weights.sparse, dtype=np.float64),
                np.asarray(weights.unique_ids))
    raise InputError(f"`{name}` is a libpysal {type(weights).__name__}; pass a weights.W or a "
                     "graph.Graph.")


def _is_numeric_table(obj: Any) -> bool:
    if isinstance(obj, pd.DataFrame):
        return all(pd.api.types.is_numeric_dtype(t) for t in obj.dtypes)
    try:
        return np.asarray(obj).dtype.kind in "biuf"
    except (TypeError, ValueError):
        return False


def _text_matrix_error(obj: Any, name: str, m: int | None) -> None:
    """InputError for an (m, m) matrix held as text ("0"/"1" strings), which is not a table
    of pairs (issue 13: it used to be read as one)."""
    values = obj.to_numpy() if isinstance(obj, pd.DataFrame) else np.asarray(obj)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] < 2:
        return
    if m is not None and values.shape[0] != m:
        return
    if values.shape[0] <= 3 and m is None:
        return
    try:
        values.astype(np.float64)
    except (TypeError, ValueError):
        if values.shape[1] <= 3:
            return                                  # a small table of label pairs
        raise InputError(f"`{name}` is a {values.shape[0]} × {values.shape[1]} table of text: "
                         "neither a matrix of numbers nor a table of neighbour pairs (two "
                         "columns of area labels).") from None
    raise InputError(
        f"`{name}` is a {values.shape[0]} × {values.shape[1]} matrix held as text (e.g. "
        f"{values.ravel()[:3].tolist()}), not a table of neighbour pairs. Convert it to "
        "numbers first, e.g. `matrix.astype(float)`.")


def _pairs_frame(obj: Any, m: int | None) -> pd.DataFrame | None:
    """The table of neighbour pairs, or None when ``obj`` is a matrix.

    A DataFrame is a matrix when it is numeric and square with one row per area (or labelled
    by area); a list is a table of pairs when its items are tuples, or pairs (or triples with
    a weight) and there are not ``m`` of them; a NumPy array when it holds text in two or
    three columns. Numeric arrays are matrices.
    """
    if isinstance(obj, pd.DataFrame):
        square = obj.shape[0] == obj.shape[1] and (
            obj.shape[0] == m or m is None or not isinstance(obj.index, pd.RangeIndex))
        return None if _is_numeric_table(obj) and square else obj
    if isinstance(obj, (list, tuple)) and len(obj) > 0:
        first = obj[0]
        if isinstance(first, tuple) or (np.ndim(first) == 1 and len(first) in (2, 3)
                                         and len(obj) != m):
            return pd.DataFrame(list(obj))
        return None
    if (isinstance(obj, np.ndarray) and obj.ndim == 2 and obj.shape[1] in (2, 3)
            and not _is_numeric_table(obj)):
        return pd.DataFrame(obj)
    return None


def _aligned(adj: Adjacency, labels: np.ndarray | None, name: str) -> Adjacency:
    """``adj`` over exactly ``labels`` in that order; InputError naming the areas that differ."""
    if labels is None:
        return adj
    given, wanted = pd.Index(adj.areas), pd.Index(labels)
    unknown = given.difference(wanted, sort=False)
    missing = wanted.difference(given, sort=False)
    if len(unknown) or len(missing):
        parts = []
        if len(unknown):
            parts.append(f"{len(unknown)} area(s) not in the data: "
                         f"{[plain(a) for a in unknown[:_SHOWN]]}"
                         f"{' ...' if len(unknown) > _SHOWN else ''}")
        if len(missing):
            parts.append(f"{len(missing)} area(s) of the data missing from it: "
                         f"{[plain(a) for a in missing[:_SHOWN]]}"
                         f"{' ...' if len(missing) > _SHOWN else ''}")
        raise InputError(
            f"`{name}` does not cover the same areas as the data (the labels do not match): "
            + "; ".join(parts) + ". Use the same area codes (coding and vintage) on both sides; "
            "give areas with no sample a NaN direct estimate, and `adjacency.subset(areas)` "
            "drops areas you do not model.")
    return adj if np.array_equal(adj.areas, labels) else adj.subset(labels)


def parse_adjacency(adjacency: Any, areas: Sequence[Hashable] | None = None, *,
                    name: str = "adjacency") -> ParsedAdjacency:
    """Read any accepted form of neighbour structure, aligned with the data's areas.

    The one reader behind every ``adjacency=`` and ``proximity=`` argument (see
    [`as_adjacency`][as_adjacency] for the forms and the rules).
    """
    labels = None if areas is None else np.asarray(areas)
    m = None if labels is None else labels.shape[0]
    if adjacency is None:
        raise InputError(f"`{name}` is required: {FORMS}.")
    if isinstance(adjacency, Adjacency):
        return ParsedAdjacency(_aligned(adjacency, labels, name))
    if is_geometry(adjacency):
        _, kind = _shapely_geometry(adjacency)
        built = (adjacency_from_polygons(adjacency) if kind == "polygons"
                 else adjacency_from_points(adjacency))
        return ParsedAdjacency(_aligned(built, labels, name))
    if _is_pysal(adjacency):
        return _labelled_matrix(*_pysal_matrix(adjacency, name), labels, name)
    if not sp.issparse(adjacency) and not _is_numeric_table(adjacency):
        _text_matrix_error(adjacency, name, m)
    frame = None if sp.issparse(adjacency) else _pairs_frame(adjacency, m)
    if frame is not None:
        if frame.shape[1] < 2:
            raise InputError(f"`{name}`: a neighbour-pair table needs two columns of area "
                             "labels.")
        columns = list(frame.columns[:2])
        weight = frame.columns[2] if frame.shape[1] >= 3 else None
        try:
            pairs = adjacency_from_pairs(frame, areas=labels, columns=columns, weight=weight)
        except InputError as exc:
            raise InputError(f"`{name}`: {exc}") from None
        return ParsedAdjacency(pairs)
    if isinstance(adjacency, pd.DataFrame) and not isinstance(adjacency.index, pd.RangeIndex):
        index, columns = pd.Index(adjacency.index), pd.Index(adjacency.columns)
        if not (index.difference(columns).empty and columns.difference(index).empty):
            raise InputError(f"`{name}` has different row and column labels; an adjacency "
                             "matrix lists the same areas in its rows and columns.")
        check_unique(index.to_numpy(), f"the labels of `{name}`")
        mat = _as_sparse_weights(adjacency[list(index)], name)
        return _labelled_matrix(mat, index.to_numpy(), labels, name)
    mat = _as_sparse_weights(adjacency, name)
    if m is not None and mat.shape[0] != m:
        raise InputError(
            f"`{name}` must be {m} × {m} (one row and column per area, in the order of the "
            f"data); received {mat.shape[0]} × {mat.shape[1]}.")
    _check_symmetric_pattern(mat, name, labels)
    return ParsedAdjacency(adjacency_from_matrix(mat, areas=labels), mat)


def _labelled_matrix(mat: sp.csr_array, ids: np.ndarray, labels: np.ndarray | None, name: str
                     ) -> ParsedAdjacency:
    """A matrix whose rows and columns are the areas ``ids``, reordered to ``labels``."""
    check_unique(ids, f"the labels of `{name}`")
    mat = _as_sparse_weights(mat, name)
    _check_symmetric_pattern(mat, name, ids)
    adj = _aligned(adjacency_from_matrix(mat, areas=ids), labels, name)
    if labels is None:
        return ParsedAdjacency(adj, mat)
    pos = pd.Index(ids).get_indexer(pd.Index(labels))
    return ParsedAdjacency(adj, sp.csr_array(mat[pos][:, pos]))


def as_adjacency(adjacency: Any, areas: Sequence[Hashable] | None = None) -> Adjacency:
    """Read neighbour structure in any of the accepted forms as an [`Adjacency`][Adjacency].

    Every function of crimestats that takes an ``adjacency=`` (or ``proximity=``) reads it
    with this one reader, so they all accept the same forms:

    * an [`Adjacency`][Adjacency];
    * a **table of neighbour pairs**: a DataFrame, a list of tuples or an array with two
      columns of area labels (each pair once or both ways); a third column, if present, holds
      a non-negative weight per pair (e.g. shared boundary length; drop it for a binary
      adjacency). Areas in no pair are islands;
    * a symmetric **(m, m) matrix** of non-negative weights with a zero diagonal: dense,
      scipy sparse, or a DataFrame whose index and columns are area labels (aligned by
      label). A row-standardised matrix (as R's ``sae`` takes it) is read back as the binary
      adjacency it came from. An unlabelled matrix is in the order of ``areas``;
    * a geopandas **GeoDataFrame or GeoSeries** indexed by area label: polygons give queen
      contiguity ([`adjacency_from_polygons`][adjacency_from_polygons]), points the Delaunay
      triangulation ([`adjacency_from_points`][adjacency_from_points]); call those functions
      for rook contiguity or k nearest neighbours;
    * a **libpysal** ``W`` (its ``id_order`` are the labels) or ``Graph``.

    Parameters
    ----------
    adjacency : any of the forms above
        Who borders whom.
    areas : sequence, optional
        The data's area labels, in order. Labelled forms must then name exactly these areas
        (an InputError lists those that differ) and are reordered to them; a pair table may
        leave areas out (islands); an unlabelled matrix must be ``len(areas)`` square. Without
        ``areas`` the labels are the adjacency's own.

    Returns
    -------
    Adjacency

    Raises
    ------
    crimestats.InputError
        Areas that differ from ``areas``, a matrix of the wrong size, asymmetric, negative
        or non-finite, a matrix held as text, or an unknown form.

    Examples
    --------
    >>> from crimestats.sae import as_adjacency
    >>> as_adjacency([("b", "a"), ("b", "c")], areas=["a", "b", "c", "d"]).islands.tolist()
    ['d']
    >>> as_adjacency([[0, 1], [1, 0]], areas=["x", "y"]).neighbours("x")
    ['y']
    """
    return parse_adjacency(adjacency, areas).adjacency
