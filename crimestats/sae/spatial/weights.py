"""SAR weights: the row-standardised proximity matrix $W$ of the spatial Fay–Herriot models.

The SAR(1) area effects $v = \\rho W v + u$ of the spatial and spatio-temporal Fay–Herriot
models need $W$ row-standardised. [`proximity_matrix`][proximity_matrix] reads any neighbour
structure through the one adjacency reader (`crimestats.sae.spatial.adjacency`) and returns it.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from ...errors import InputError
from .adjacency import parse_adjacency, row_standardise

__all__ = ["proximity_matrix"]

_ROW_SUM_TOL = 1e-8


def proximity_matrix(proximity: Any, areas: Sequence[Hashable] | None = None, *,
                     m: int | None = None) -> sp.csr_array:
    """Validate a proximity specification and return the row-standardised $W$ (sparse).

    Parameters
    ----------
    proximity : any form of [`as_adjacency`][crimestats.sae.as_adjacency]
        Read by the one reader of neighbour structures, then:

        * an ``(m, m)`` matrix (dense, sparse, a DataFrame labelled by area, or a libpysal
          ``W``, aligned to ``areas`` by label when labelled): used as given when each row sums
          to 1 (or 0 for an area without neighbours), row-standardised when it is a symmetric
          0/1 adjacency; anything else is an error;
        * an [`Adjacency`][crimestats.sae.Adjacency], a table of neighbour pairs or a
          GeoDataFrame: matched to ``areas`` by label, then row-standardised.
    areas : sequence, optional
        Area labels of the data, in order (needed to match an adjacency or pair table).
    m : int, optional
        Number of areas expected (default ``len(areas)``).

    Returns
    -------
    scipy.sparse.csr_array
        Row-standardised proximity matrix $W$, shape ``(m, m)``.

    Raises
    ------
    InputError
        Non-square or wrongly sized matrix, negative or non-finite weights, non-zero
        diagonal, an asymmetric neighbour pattern, rows not summing to 1 for a weighted
        matrix, or area labels that do not match.

    Examples
    --------
    >>> from crimestats.sae.spatial import proximity_matrix
    >>> proximity_matrix([("a", "b"), ("b", "c")], areas=["a", "b", "c"]).toarray()
    array([[0. , 1. , 0. ],
           [0.5, 0. , 0.5],
           [0. , 1. , 0. ]])
    """
    labels = None if areas is None else np.asarray(areas)
    if m is None:
        if labels is None:
            raise InputError("`proximity_matrix` needs `areas` or `m`.")
        m = labels.shape[0]
    parsed = parse_adjacency(proximity, labels, name="proximity")
    if parsed.adjacency.n_areas != m:
        raise InputError(f"The adjacency has {parsed.adjacency.n_areas} areas but the data have "
                         f"{m}.")
    mat = parsed.matrix
    if mat is None:
        return parsed.adjacency.row_standardised()
    sums = np.asarray(mat.sum(axis=1)).ravel()
    standardised = (np.abs(sums - 1.0) < _ROW_SUM_TOL) | (sums == 0)
    if standardised.all():
        return mat
    if np.all(mat.data == 1.0):
        return row_standardise(mat)
    bad = np.flatnonzero(~standardised)
    raise InputError(
        f"`proximity` is neither row-standardised nor a 0/1 adjacency: rows "
        f"{bad[:8].tolist()} sum to {np.round(sums[bad[:8]], 6).tolist()}. Pass a 0/1 "
        "adjacency or row-standardise it with `crimestats.sae.row_standardise`."
    )
