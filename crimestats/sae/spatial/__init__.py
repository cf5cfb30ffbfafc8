"""Spatial structure of the small-area models: neighbours, SAR weights, ICAR/BYM2 effects.

* `adjacency` — the one reader of neighbour structures (pairs, matrices, GeoJSON, polygons,
  points, GeoDataFrames, libpysal weights) into an [`Adjacency`][crimestats.sae.Adjacency];
* `weights` — the row-standardised proximity matrix of the SAR models;
* `icar` — the scaled intrinsic CAR structure (per connected component, islands iid);
* `hb` — the exact hierarchical Bayes Fay–Herriot model with BYM2/ICAR effects (`bym2`).

The SAR Fay–Herriot fit itself is `crimestats.sae.area_level.sar`; its function and result are
also reachable here, as before.
"""

from __future__ import annotations

from ..area_level.sar import fit_spatial_fay_herriot
from ..results import SpatialFayHerriotResult
from .weights import proximity_matrix

__all__ = ["SpatialFayHerriotResult", "fit_spatial_fay_herriot", "proximity_matrix"]
