"""Police force areas, community safety partnerships and local authorities of England and Wales.

Boundaries and neighbour lists were built by dissolving 2013 local-authority boundaries
(Office for National Statistics / Ordnance Survey, via the ``martinjc/UK-GeoJSON`` project) into
2017 police force areas (PFA) and community safety partnerships (CSP). They are published under
CC BY 4.0: "Contains National Statistics data © Crown copyright and database right;
contains OS data © Crown copyright and database right". The LAD → CSP → PFA lookup is ONS
data under the Open Government Licence v3.0: "Contains public sector information licensed under
the Open Government Licence v3.0."

Forces are named as in the Home Office recorded-crime tables ("Devon and Cornwall",
"City of London"); codes are the ONS ``PFA17CD`` codes (``E23000001`` ... ``W15000004``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._paths import read_csv, read_json

__all__ = [
    "load_forces",
    "load_geography_lookup",
    "load_pfa_adjacency",
    "load_csp_adjacency",
    "load_pfa_boundaries",
    "load_csp_boundaries",
]

#: Names used by ONS lookups that differ from the Home Office names crimestats uses.
ONS_FORCE_NAMES = {"Devon & Cornwall": "Devon and Cornwall", "London, City of": "City of London"}


def load_forces() -> pd.DataFrame:
    """The 43 territorial police forces of England and Wales with their codes and regions.

    Returns
    -------
    pandas.DataFrame
        One row per force, sorted by code, with columns ``force_code`` (ONS ``PFA17CD``),
        ``force`` (Home Office name) and ``region`` (English region, or ``"Wales"``; the names
        used by the Crime Survey for England and Wales tables, e.g. ``"East of England"``).

    Notes
    -----
    Derived from the Home Office recorded-crime table (force → region) and the ONS lookup
    (force → code); Open Government Licence v3.0.

    Examples
    --------
    >>> from crimestats.datasets import load_forces
    >>> forces = load_forces()
    >>> len(forces), forces["region"].nunique()
    (43, 10)
    >>> forces.loc[forces["force"] == "Kent", "force_code"].item()
    'E23000032'
    """
    return read_csv("pfa17_names_regions.csv", dtype=str)


def load_geography_lookup() -> pd.DataFrame:
    """Local authority districts (2017) with their community safety partnership and police force.

    Returns
    -------
    pandas.DataFrame
        348 rows, one per local authority district, with columns ``lad_code``, ``lad``,
        ``csp_code``, ``csp``, ``force_code`` and ``force``.

    Notes
    -----
    Source: ONS "Local Authority District to Community Safety Partnerships to Police Force Areas
    (December 2017) Lookup in England and Wales"; Open Government Licence v3.0.

    Examples
    --------
    >>> from crimestats.datasets import load_geography_lookup
    >>> lookup = load_geography_lookup()
    >>> lookup.shape
    (348, 6)
    >>> int(lookup.groupby("force")["csp"].nunique()["Greater Manchester"])
    10
    """
    raw = read_csv("lad17_csp17_pfa17_lookup.csv", dtype=str)
    out = raw.rename(columns={
        "LAD17CD": "lad_code", "LAD17NM": "lad", "CSP17CD": "csp_code", "CSP17NM": "csp",
        "PFA17CD": "force_code", "PFA17NM": "force",
    })[["lad_code", "lad", "csp_code", "csp", "force_code", "force"]]
    out["force"] = out["force"].replace(ONS_FORCE_NAMES)
    return out


def _pairs_or_matrix(pairs: pd.DataFrame, names: pd.Series, prefix: str,
                     as_matrix: bool) -> pd.DataFrame:
    """Name both ends of each neighbour pair, or build the symmetric 0/1 matrix."""
    a, b = f"{prefix}_code_a", f"{prefix}_code_b"
    if as_matrix:
        codes = pd.Index(sorted(names.index), name=f"{prefix}_code")
        pos = codes.get_indexer
        mat = np.zeros((len(codes), len(codes)), dtype=np.int8)
        mat[pos(pairs[a]), pos(pairs[b])] = 1
        mat[pos(pairs[b]), pos(pairs[a])] = 1
        return pd.DataFrame(mat, index=codes, columns=codes.rename(None))
    out = pairs[[a, b]].copy()
    out[f"{prefix}_a"] = names.reindex(out[a]).to_numpy()
    out[f"{prefix}_b"] = names.reindex(out[b]).to_numpy()
    return out


def load_pfa_adjacency(as_matrix: bool = False) -> pd.DataFrame:
    """Which of the 43 police force areas share a boundary (100 neighbour pairs).

    Parameters
    ----------
    as_matrix : bool, default False
        Return the symmetric 43 × 43 adjacency matrix (0/1, ``int8``) indexed and labelled by
        force code (sorted) instead of the list of pairs.

    Returns
    -------
    pandas.DataFrame
        Pairs: one row per unordered pair of neighbouring forces, with columns
        ``force_code_a``, ``force_code_b``, ``force_a``, ``force_b``. Matrix: see ``as_matrix``.

    Notes
    -----
    Built from local-authority boundaries (ONS/OS via martinjc/UK-GeoJSON), CC BY 4.0,
    "Contains National Statistics data © Crown copyright and database right; contains OS
    data © Crown copyright and database right". Every force has at least one neighbour.

    Examples
    --------
    >>> from crimestats.datasets import load_pfa_adjacency
    >>> pairs = load_pfa_adjacency()
    >>> len(pairs)
    100
    >>> W = load_pfa_adjacency(as_matrix=True)
    >>> W.shape, int(W.to_numpy().sum()) // 2
    ((43, 43), 100)
    """
    pairs = read_csv("pfa17_adjacency.csv", dtype=str).rename(
        columns={"PFA17CD_a": "force_code_a", "PFA17CD_b": "force_code_b"})
    names = load_forces().set_index("force_code")["force"]
    return _pairs_or_matrix(pairs, names, "force", bool(as_matrix))


def load_csp_adjacency(as_matrix: bool = False) -> pd.DataFrame:
    """Which of the 314 community safety partnerships share a boundary (808 neighbour pairs).

    Parameters
    ----------
    as_matrix : bool, default False
        Return the symmetric 314 × 314 adjacency matrix (0/1, ``int8``) indexed and labelled by
        CSP code (sorted) instead of the list of pairs.

    Returns
    -------
    pandas.DataFrame
        Pairs with columns ``csp_code_a``, ``csp_code_b``, ``csp_a``, ``csp_b``, or the matrix.

    Notes
    -----
    Same source and licence as [`load_pfa_adjacency`][load_pfa_adjacency] (CC BY 4.0, Crown copyright). The
    Isle of Wight (``E22000116``) and the Isles of Scilly (``E22000050``) have no neighbours:
    spatial models must treat them as islands.

    Examples
    --------
    >>> from crimestats.datasets import load_csp_adjacency
    >>> W = load_csp_adjacency(as_matrix=True)
    >>> W.shape
    (314, 314)
    >>> sorted(W.index[W.sum(axis=1) == 0])
    ['E22000050', 'E22000116']
    """
    pairs = read_csv("csp17_adjacency.csv", dtype=str).rename(
        columns={"CSP17CD_a": "csp_code_a", "CSP17CD_b": "csp_code_b"})
    names = read_csv("csp_census2011_population.csv", dtype=str).set_index("CSP17CD")["CSP17NM"]
    return _pairs_or_matrix(pairs, names, "csp", bool(as_matrix))


def load_pfa_boundaries() -> dict[str, Any]:
    """Simplified boundaries of the 43 police force areas as a GeoJSON ``FeatureCollection``.

    Returns
    -------
    dict
        Parsed GeoJSON: coordinates are WGS84 longitude/latitude in degrees (4 decimal places,
        about 10 m), simplified for maps at national scale, not for measuring areas. Each
        feature's ``properties`` hold ``force_code``, ``force`` and ``n_lad`` (the number of
        local authorities dissolved into it).

    Notes
    -----
    Dissolved from 2013 local-authority boundaries (ONS/OS via martinjc/UK-GeoJSON), CC BY 4.0,
    "Contains National Statistics data © Crown copyright and database right; contains OS
    data © Crown copyright and database right". Draw it with
    [`crimestats.plotting.choropleth`][crimestats.plotting.choropleth] (no geopandas needed).

    Examples
    --------
    >>> from crimestats.datasets import load_pfa_boundaries
    >>> geo = load_pfa_boundaries()
    >>> len(geo["features"])
    43
    >>> sorted(geo["features"][0]["properties"])
    ['force', 'force_code', 'n_lad']
    """
    geo = read_json("pfa17_boundaries_simplified.geojson.gz")
    for feature in geo["features"]:
        props = feature["properties"]
        feature["properties"] = {
            "force_code": props["PFA17CD"],
            "force": ONS_FORCE_NAMES.get(props["PFA17NM"], props["PFA17NM"]),
            "n_lad": props["n_lad"],
        }
    return geo



def load_csp_boundaries() -> dict[str, Any]:
    """Simplified boundaries of the 314 community safety partnerships as GeoJSON.

    Returns
    -------
    dict
        Parsed GeoJSON ``FeatureCollection`` in WGS84 longitude/latitude (degrees, simplified
        for maps at national or force scale, not for measuring areas). Each feature's
        ``properties`` hold ``csp_code`` (ONS ``CSP17CD``), ``csp`` (name), ``force_code``
        and ``force`` (the police force area it lies in, Home Office names) and ``n_lad``
        (local authorities dissolved into it).

    Notes
    -----
    Same source and licence as [`load_pfa_boundaries`][crimestats.datasets.load_pfa_boundaries]:
    dissolved from 2013 local-authority boundaries (ONS/OS via martinjc/UK-GeoJSON),
    CC BY 4.0, "Contains National Statistics data © Crown copyright and database right;
    contains OS data © Crown copyright and database right". Draw it with
    [`crimestats.plotting.choropleth`][crimestats.plotting.choropleth] and
    ``key="csp_code"``; the neighbours are in
    [`load_csp_adjacency`][crimestats.datasets.load_csp_adjacency].

    Examples
    --------
    >>> from crimestats.datasets import load_csp_boundaries
    >>> geo = load_csp_boundaries()
    >>> len(geo["features"])
    314
    >>> sorted(geo["features"][0]["properties"])
    ['csp', 'csp_code', 'force', 'force_code', 'n_lad']
    """
    geo = read_json("csp17_boundaries_simplified.geojson.gz")
    lookup = load_geography_lookup().drop_duplicates("csp_code").set_index("csp_code")
    for feature in geo["features"]:
        props = feature["properties"]
        code = props["CSP17CD"]
        feature["properties"] = {
            "csp_code": code,
            "csp": props["CSP17NM"],
            "force_code": lookup.at[code, "force_code"],
            "force": lookup.at[code, "force"],
            "n_lad": props["n_lad"],
        }
    return geo
