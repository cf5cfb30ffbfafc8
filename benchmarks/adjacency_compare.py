"""Contiguity from polygons: crimestats' NumPy rule against libpysal, on the bundled boundaries.

Run by hand (needs the ``geo`` extra): ``python benchmarks/adjacency_compare.py``. For the 43
police force areas (bundled with the package), the 314 community safety partnerships and the
215 Greater Manchester wards (``tests/data/sae``) it prints the number of neighbour pairs of

* ``adjacency_from_geojson`` (rules "vertex" = queen and "edge" = rook) and
  ``adjacency_from_polygons`` on the GeoDataFrame,
* libpysal ``Queen`` / ``Rook`` weights and ``Graph.build_contiguity``,
* a geometric test (geopandas ``sjoin`` with ``intersects``: every pair that touches),
* the bundled pair table,

whether the neighbour sets are identical, and the times.
"""

from __future__ import annotations

import gzip
import json
import time
import warnings
from pathlib import Path

import geopandas as gpd
import libpysal
import pandas as pd

from crimestats.datasets._paths import read_json
from crimestats.sae import adjacency_from_geojson, adjacency_from_pairs, adjacency_from_polygons

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "sae"


def pair_set(adj) -> set:
    table = adj.to_pairs()
    return {tuple(sorted(p)) for p in zip(table.area_a, table.area_b, strict=True)}


def graph_set(ids_a, ids_b) -> set:
    return {tuple(sorted(p)) for p in zip(ids_a, ids_b, strict=True) if p[0] != p[1]}


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def compare(name: str, geojson: dict, key: str, table: pd.DataFrame, precision: float) -> None:
    frame = gpd.GeoDataFrame.from_features(geojson["features"]).set_index(key)
    results: dict[str, tuple[set, float]] = {}
    for rule, alias in (("vertex", "queen"), ("edge", "rook")):
        adj, seconds = timed(lambda r=rule: adjacency_from_geojson(geojson, key, rule=r,
                                                                   precision=precision))
        results[f"geojson {alias}"] = pair_set(adj), seconds
        adj, seconds = timed(lambda a=alias: adjacency_from_polygons(frame, rule=a,
                                                                     precision=precision))
        results[f"polygons {alias}"] = pair_set(adj), seconds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for alias, kind in (("queen", libpysal.weights.Queen), ("rook", libpysal.weights.Rook)):
            w, seconds = timed(lambda k=kind: k.from_dataframe(frame, use_index=True))
            results[f"libpysal {alias}"] = ({tuple(sorted((i, j))) for i, ns in
                                             w.neighbors.items() for j in ns}, seconds)
            graph, seconds = timed(lambda a=alias: libpysal.graph.Graph.build_contiguity(
                frame, rook=a == "rook"))
            results[f"Graph {alias}"] = (graph_set(graph.adjacency.index.get_level_values(0),
                                                   graph.adjacency.index.get_level_values(1)),
                                         seconds)
    flat = frame.reset_index()[[key, "geometry"]]
    joined, seconds = timed(lambda: gpd.sjoin(flat, flat, predicate="intersects"))
    results["intersects"] = graph_set(joined[f"{key}_left"], joined[f"{key}_right"]), seconds
    results["pair table"] = pair_set(adjacency_from_pairs(table, columns=list(table.columns[:2]))
                                     ), 0.0
    print(f"\n{name}: {len(frame)} areas")
    for label, (pairs, seconds) in results.items():
        print(f"  {label:16} {len(pairs):5d} pairs   {seconds:6.3f} s")
    for alias in ("queen", "rook"):
        same = {results[f"{k} {alias}"][0] == results[f"geojson {alias}"][0]
                for k in ("polygons", "libpysal", "Graph")}
        print(f"  {alias}: crimestats and libpysal neighbour sets identical: {same == {True}}")


def main() -> None:
    pfa = read_json("pfa17_boundaries_simplified.geojson.gz")     # bundled with the package
    compare("police force areas", pfa, "PFA17CD", pd.read_csv(DATA / "pfa17_adjacency.csv"),
            1e-6)
    with gzip.open(DATA / "csp17_boundaries_simplified.geojson.gz", "rt",
                   encoding="utf-8") as handle:
        csp = json.load(handle)
    compare("community safety partnerships", csp, "CSP17CD",
            pd.read_csv(DATA / "csp17_adjacency.csv"), 1e-6)
    with open(DATA / "greater_manchester_wards_2016_bng.geojson", encoding="utf-8") as handle:
        wards = json.load(handle)
    compare("Greater Manchester wards", wards, "wd16cd",
            pd.read_csv(DATA / "greater_manchester_wards_2016_adjacency.csv"), 0.01)


if __name__ == "__main__":
    main()
