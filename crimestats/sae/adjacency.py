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

from .._validate import check_unique
from ..errors import InputError

__all__ = [
    "Adjacency",
    "adjacency_from_pairs",
    "adjacency_from_matrix",
    "adjacency_from_geojson",
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
        return [_plain(a) for a in self.areas[self.weights.indices[start:stop]]]

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
        shown = ", ".join(repr(_plain(a)) for a in islands[:_SHOWN])
        more = f" and {islands.size - _SHOWN} more" if islands.size > _SHOWN else ""
        return "\n".join([
            f"Adjacency of {self.n_areas} areas, {self.n_pairs} neighbour pairs",
            f"neighbours per area: median {np.median(counts):g}, range "
            f"{counts.min() if counts.size else 0}–{counts.max() if counts.size else 0}",
            f"islands: {islands.size}" + (f" ({shown}{more})" if islands.size else ""),
            f"connected components: {self.n_components}",
        ])


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _positions(labels: np.ndarray, wanted: Sequence[Hashable], name: str, where: str
               ) -> np.ndarray:
    """Positions of ``wanted`` in ``labels``; InputError naming the labels not found."""
    index = pd.Index(labels)
    pos = index.get_indexer(pd.Index(list(wanted)))
    if (pos < 0).any():
        missing = [_plain(w) for w, p in zip(wanted, pos, strict=True) if p < 0]
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
        name_of = (lambda i: _plain(labels[i])) if labels is not None else int
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
                f"{[_plain(u) for u in unknown[:_SHOWN]]}"
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
            f"{self_pairs[:_SHOWN].tolist()} (e.g. {_plain(left[self_pairs[0]])!r}); remove them."
        )
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    key = pd.DataFrame({"lo": lo, "hi": hi, "w": values})
    spread = key.groupby(["lo", "hi"])["w"].agg(["min", "max"])
    clash = spread[spread["max"] - spread["min"] > 1e-12 * np.maximum(1.0, spread["max"])]
    if len(clash):
        shown = [(_plain(labels[a]), _plain(labels[b])) for a, b in clash.index[:_SHOWN]]
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


def _rings(geometry: dict[str, Any]) -> list[np.ndarray]:
    """All boundary rings of a Polygon or MultiPolygon as ``(k, 2)`` float arrays."""
    kind = geometry.get("type") if geometry else None
    coords = geometry.get("coordinates") if geometry else None
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        polygons = coords
    else:
        raise InputError(f"only Polygon and MultiPolygon geometries are supported; got {kind!r}.")
    return [np.asarray(ring, dtype=np.float64)[:, :2] for poly in polygons for ring in poly]


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


def adjacency_from_geojson(geojson: str | Path | dict[str, Any], id_field: str, *,
                           rule: str = "vertex", precision: float = 1e-6) -> Adjacency:
    """Build an [`Adjacency`][Adjacency] from polygons in a GeoJSON FeatureCollection.

    Two areas are neighbours when their boundaries share a point (``rule="vertex"``, "queen"
    contiguity) or a boundary segment (``rule="edge"``, "rook" contiguity). Coordinates are
    snapped to a grid of size ``precision`` (in the units of the file: degrees or metres)
    before comparing, so vertices that agree to that precision count as shared. This needs
    polygons that share their boundary vertices, as boundaries cut from one topology (ONS,
    OS, census geographies) and topology-preserving simplification do; it is a pure numpy
    rule, with no geopandas or shapely.

    Parameters
    ----------
    geojson : path, str or dict
        A GeoJSON FeatureCollection (a file path or the parsed dictionary) of Polygon or
        MultiPolygon features.
    id_field : str
        Feature property holding the area label.
    rule : {"vertex", "edge"}
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
    rule = rule.lower() if isinstance(rule, str) else rule
    if rule not in ("vertex", "edge"):
        raise InputError(f"`rule` must be 'vertex' or 'edge'; received {rule!r}.")
    if not precision > 0:
        raise InputError(f"`precision` must be positive; received {precision!r}.")
    features = geojson["features"]
    labels_list = []
    keys, owners = [], []
    for k, feature in enumerate(features):
        props = feature.get("properties") or {}
        if id_field not in props:
            raise InputError(f"feature {k} has no property {id_field!r}; available: "
                             f"{sorted(props)}.")
        labels_list.append(props[id_field])
        for ring in _rings(feature.get("geometry")):
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
    labels = np.asarray(labels_list)
    check_unique(labels, f"feature property {id_field!r}")
    width = 2 if rule == "vertex" else 4
    all_keys = np.concatenate(keys) if keys else np.empty((0, width), dtype=np.int64)
    all_owners = np.concatenate(owners) if owners else np.empty(0, dtype=np.int64)
    a, b = _shared_key_pairs(all_keys, all_owners)
    m = labels.shape[0]
    mat = sp.coo_array((np.ones(a.size), (a, b)), shape=(m, m)).tocsr()
    mat = sp.csr_array(((mat + mat.T) > 0).astype(np.float64))
    mat.setdiag(0)
    mat.eliminate_zeros()
    return Adjacency(labels, mat)
