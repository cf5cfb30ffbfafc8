"""Adjacency utilities: pair tables, matrices, GeoJSON polygons, islands and validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from crimestats import InputError
from crimestats.sae import (
    Adjacency,
    adjacency_from_geojson,
    adjacency_from_matrix,
    adjacency_from_pairs,
    row_standardise,
)


@pytest.fixture(scope="module")
def csp_codes(data_dir) -> np.ndarray:
    lookup = pd.read_csv(data_dir / "sae" / "lad17_csp17_pfa17_lookup.csv", encoding="utf-8-sig")
    return lookup["CSP17CD"].drop_duplicates().sort_values().to_numpy()


def test_csp_pairs_islands_and_components(data_dir, csp_codes):
    pairs = pd.read_csv(data_dir / "sae" / "csp17_adjacency.csv")
    adj = adjacency_from_pairs(pairs, areas=csp_codes)
    assert adj.n_areas == 314
    assert adj.n_pairs == 808
    # Isle of Wight and the Isles of Scilly have no land neighbour
    assert sorted(adj.islands.tolist()) == ["E22000050", "E22000116"]
    assert adj.n_components == 3
    comp = adj.components
    assert comp.value_counts().tolist() == [312, 1, 1]
    assert comp.loc["E22000001"] == 0  # the mainland is the largest component, numbered 0
    assert adj.n_neighbours.sum() == 2 * 808
    assert "islands: 2" in adj.summary()
    # every pair of the table is present, symmetric, with weight 1
    w = adj.weights
    idx = pd.Index(adj.areas)
    i, j = idx.get_indexer(pairs.iloc[:, 0]), idx.get_indexer(pairs.iloc[:, 1])
    assert np.all(w[i, j] == 1) and np.all(w[j, i] == 1)
    assert abs(w - w.T).max() == 0


def test_row_standardised_rows_sum_to_one_islands_zero(data_dir, csp_codes):
    pairs = pd.read_csv(data_dir / "sae" / "csp17_adjacency.csv")
    adj = adjacency_from_pairs(pairs, areas=csp_codes)
    W = adj.row_standardised()
    assert sp.issparse(W)
    sums = np.asarray(W.sum(axis=1)).ravel()
    island = np.isin(adj.areas, adj.islands)
    np.testing.assert_allclose(sums[~island], 1.0, rtol=0, atol=1e-14)
    assert np.all(sums[island] == 0)
    # each non-zero entry of a row is 1 / (number of neighbours)
    counts = adj.n_neighbours.to_numpy()
    coo = W.tocoo()
    np.testing.assert_allclose(coo.data, 1.0 / counts[coo.row], rtol=1e-15)


def test_geojson_edge_rule_reproduces_ward_pair_table(data_dir):
    path = data_dir / "sae" / "greater_manchester_wards_2016_bng.geojson"
    pairs = pd.read_csv(data_dir / "sae" / "greater_manchester_wards_2016_adjacency.csv")
    edge = adjacency_from_geojson(path, "wd16cd", rule="edge", precision=0.01)
    table = adjacency_from_pairs(pairs, areas=edge.areas, columns=["wd16cd_a", "wd16cd_b"])
    assert edge.n_areas == 215 and edge.n_pairs == 591
    assert abs(edge.weights - table.weights).max() == 0
    # queen contiguity adds the pairs that touch at a single point, never removes any
    vertex = adjacency_from_geojson(path, "wd16cd", rule="vertex", precision=0.01)
    assert vertex.n_pairs > edge.n_pairs
    assert (edge.weights.multiply(vertex.weights)).sum() == edge.weights.sum()


def test_geojson_rules_on_squares():
    def square(x, y):
        return {"type": "Polygon",
                "coordinates": [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]]}

    cells = {"a": (0, 0), "b": (1, 0), "c": (1, 1), "d": (3, 3)}
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": k}, "geometry": square(*xy)}
        for k, xy in cells.items()]}
    edge = adjacency_from_geojson(fc, "id", rule="edge")
    vertex = adjacency_from_geojson(fc, "id", rule="vertex")
    assert edge.neighbours("b") == ["a", "c"]
    assert edge.neighbours("a") == ["b"]
    assert vertex.neighbours("a") == ["b", "c"]   # a and c touch at the corner (1, 1)
    assert edge.islands.tolist() == ["d"] == vertex.islands.tolist()
    with pytest.raises(InputError, match="no property"):
        adjacency_from_geojson(fc, "name")
    with pytest.raises(InputError, match="rule"):
        adjacency_from_geojson(fc, "id", rule="bishop")


def test_matrix_round_trip_from_row_standardised(data_dir):
    t = pd.read_csv(data_dir / "sae" / "grapesprox_triplets.csv")
    W = np.zeros((274, 274))
    W[t.row - 1, t.col - 1] = t.value
    adj = adjacency_from_matrix(W)
    assert set(np.unique(adj.weights.data)) == {1.0}
    np.testing.assert_allclose(adj.row_standardised().toarray(), W, atol=1e-14)
    # sparse and DataFrame inputs give the same adjacency
    adj_sparse = adjacency_from_matrix(sp.csr_array(W))
    assert abs(adj_sparse.weights - adj.weights).max() == 0
    frame = pd.DataFrame(W, index=[f"m{i}" for i in range(274)])
    assert adjacency_from_matrix(frame).areas[3] == "m3"


def test_symmetric_weights_are_kept_and_pairs_round_trip():
    pairs = pd.DataFrame({"a": ["x", "y"], "b": ["y", "z"], "len": [2.5, 1.0]})
    adj = adjacency_from_pairs(pairs, weight="len")
    assert adj.weights[0, 1] == 2.5 and adj.weights[1, 0] == 2.5
    back = adj.to_pairs()
    assert back["weight"].tolist() == [2.5, 1.0]
    again = adjacency_from_matrix(adj.to_dense(), areas=adj.areas)
    assert abs(again.weights - adj.weights).max() == 0
    np.testing.assert_allclose(row_standardise(adj.weights).toarray()[1], [2.5 / 3.5, 0, 1 / 3.5])


def test_pairs_listed_both_ways_and_subset_order():
    adj = adjacency_from_pairs([("a", "b"), ("b", "a"), ("b", "c")])
    assert adj.n_pairs == 2
    sub = adj.subset(["c", "b"])
    assert sub.areas.tolist() == ["c", "b"] and sub.n_pairs == 1
    assert isinstance(sub, Adjacency)


def test_unknown_area_named(csp_codes):
    with pytest.raises(InputError, match="E99999999"):
        adjacency_from_pairs([("E22000001", "E99999999")], areas=csp_codes)
    adj = adjacency_from_pairs([("a", "b")])
    with pytest.raises(InputError, match="'zz'"):
        adj.neighbours("zz")
    with pytest.raises(InputError, match="'q'"):
        adj.subset(["a", "q"])


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.array([[0, 1, 0], [0, 0, 1], [0, 1, 0]]), "not symmetric"),
        (np.ones((2, 3)), "square"),
        (np.array([[0, -1], [-1, 0]]), "negative"),
        (np.array([[1, 1], [1, 0]]), "diagonal"),
        (np.array([[0, np.nan], [1, 0]]), "NaN"),
    ],
)
def test_bad_matrices_rejected(matrix, message):
    with pytest.raises(InputError, match=message):
        adjacency_from_matrix(matrix)


def test_asymmetric_error_names_the_areas():
    m = np.array([[0, 1, 0], [1, 0, 1], [0, 0, 0]])
    with pytest.raises(InputError, match=r"\('b', 'c'\)"):
        adjacency_from_matrix(m, areas=["a", "b", "c"])


def test_bad_pair_tables():
    with pytest.raises(InputError, match="own neighbour"):
        adjacency_from_pairs([("a", "a")])
    with pytest.raises(InputError, match="different weights"):
        adjacency_from_pairs(pd.DataFrame({"i": ["a", "b"], "j": ["b", "a"], "w": [1.0, 2.0]}),
                             weight="w")
    with pytest.raises(InputError, match="non-negative"):
        adjacency_from_pairs(pd.DataFrame({"i": ["a"], "j": ["b"], "w": [-1.0]}), weight="w")
    with pytest.raises(InputError, match="missing"):
        adjacency_from_pairs(pd.DataFrame({"i": ["a", None], "j": ["b", "c"]}))


def test_police_force_areas_connected(data_dir):
    pairs = pd.read_csv(data_dir / "sae" / "pfa17_adjacency.csv")
    adj = adjacency_from_pairs(pairs)
    assert (adj.n_areas, adj.n_pairs, adj.n_components) == (43, 100, 1)
    assert adj.islands.size == 0


# --------------------------------------------------------------------------------------------
# One reader for every form (as_adjacency / parse_adjacency)
# --------------------------------------------------------------------------------------------

LABELS = [f"a{i}" for i in range(6)]
PAIRS6 = [("a0", "a1"), ("a1", "a2"), ("a2", "a3"), ("a0", "a3"), ("a3", "a4")]   # a5 island


def _reference() -> Adjacency:
    return adjacency_from_pairs(PAIRS6, areas=LABELS)


def test_every_form_reads_to_the_same_adjacency():
    from crimestats.sae import as_adjacency

    ref = _reference()
    dense = ref.to_dense()
    order = np.random.default_rng(1).permutation(6)
    shuffled = pd.DataFrame(dense[np.ix_(order, order)], index=np.array(LABELS)[order],
                            columns=np.array(LABELS)[order])
    forms = [ref, ref.subset(LABELS[::-1]), PAIRS6, pd.DataFrame(PAIRS6, columns=["x", "y"]),
             np.array(PAIRS6), dense, sp.csr_array(dense), shuffled,
             ref.row_standardised().toarray()]
    for form in forms:
        adj = as_adjacency(form, areas=LABELS)
        assert adj.areas.tolist() == LABELS
        assert abs(adj.weights - ref.weights).max() == 0, type(form)
    # a third column of a pair table holds weights
    weighted = as_adjacency([(a, b, 2.5) for a, b in PAIRS6], areas=LABELS)
    assert set(weighted.weights.data) == {2.5}
    # without areas, the adjacency keeps its own labels
    assert as_adjacency(PAIRS6).areas.tolist() == LABELS[:5]


@pytest.mark.parametrize("make", [
    lambda d: d.astype(int).astype(str),
    lambda d: pd.DataFrame(d.astype(int).astype(str)),
    lambda d: [[str(int(v)) for v in row] for row in d],
])
def test_a_matrix_held_as_text_is_an_input_error_not_pairs(make):
    """Issue 13: a string 0/1 matrix used to be read as a table of pairs."""
    from crimestats.sae import as_adjacency, bym2, fay_herriot

    text = make(_reference().to_dense())
    with pytest.raises(InputError, match=r"6 × 6 matrix held as text.*astype\(float\)"):
        as_adjacency(text, areas=LABELS)
    y = np.array([1.0, 2.0, 1.5, 0.5, 1.0, 2.0])
    with pytest.raises(InputError, match="held as text"):
        bym2(y, np.ones(6), adjacency=text, areas=LABELS)
    with pytest.raises(InputError, match="held as text"):
        fay_herriot(y, np.ones(6), proximity=text, areas=LABELS)


def test_points_delaunay_and_nearest_neighbours():
    from crimestats.sae import adjacency_from_points, as_adjacency

    xy = np.array([[0, 0], [1, 0], [2, 0], [0, 1], [1, 1.1], [2, 1], [9, 9]], float)
    tri = adjacency_from_points(xy, areas=list("abcdefg"))
    # e = (1, 1.1) lies outside the circle through a, b, d: the square splits along b-d
    assert tri.neighbours("a") == ["b", "d"] and tri.islands.size == 0
    assert tri.neighbours("g") == ["c", "d", "e", "f"]      # the far point joins the hull
    knn = adjacency_from_points(pd.DataFrame(xy, index=list("abcdefg")), rule="knn", k=2)
    assert knn.areas.tolist() == list("abcdefg")
    counts = knn.n_neighbours
    assert (counts >= 2).all() and abs(knn.weights - knn.weights.T).max() == 0
    assert knn.neighbours("g") == ["e", "f"]        # its two nearest (10.6 and 11.2 away)
    with pytest.raises(InputError, match="share their point"):
        adjacency_from_points(np.array([[0, 0], [0, 0], [1, 1]], float))
    with pytest.raises(InputError, match="collinear"):
        adjacency_from_points(np.array([[0, 0], [1, 1], [2, 2], [3, 3]], float))
    with pytest.raises(InputError, match="`k` must be"):
        adjacency_from_points(xy, rule="knn", k=7)
    with pytest.raises(InputError, match="infinite"):
        adjacency_from_points(np.array([[0, 0], [np.nan, 1], [1, 1]]))
    # an (m, 2) numeric array given as adjacency= is a matrix, never points or pairs
    with pytest.raises(InputError, match="square"):
        as_adjacency(xy, areas=list("abcdefg"))


def test_labels_that_differ_are_named():
    from crimestats.sae import as_adjacency

    with pytest.raises(InputError, match=r"not in the data: \['zz'\].*missing from it: \['a5'\]"):
        as_adjacency(Adjacency(np.array([*LABELS[:5], "zz"]), _reference().weights),
                     areas=LABELS)


# --------------------------------------------------------------------------------------------
# The geo extra: GeoDataFrames and libpysal weights (skipped without it)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wards(data_dir):
    gpd = pytest.importorskip("geopandas")
    frame = gpd.read_file(data_dir / "sae" / "greater_manchester_wards_2016_bng.geojson")
    # British National Grid (the file's old-style "crs" member is not read as such)
    return frame.set_index("wd16cd").set_crs(27700, allow_override=True)


def test_polygons_queen_and_rook_match_the_geojson_rules(data_dir, wards):
    from crimestats.sae import adjacency_from_polygons, as_adjacency

    path = data_dir / "sae" / "greater_manchester_wards_2016_bng.geojson"
    for rule, old in (("queen", "vertex"), ("rook", "edge")):
        new = adjacency_from_polygons(wards, rule=rule)
        ref = adjacency_from_geojson(path, "wd16cd", rule=old, precision=0.01)
        assert new.areas.tolist() == ref.areas.tolist()
        assert abs(new.weights - ref.weights).max() == 0
    assert adjacency_from_polygons(wards, rule="rook").n_pairs == 591       # the ward table
    # a GeoDataFrame given as adjacency= is queen contiguity, aligned by its index
    queen = as_adjacency(wards.iloc[::-1], areas=wards.index)
    assert queen.n_pairs == 603 and queen.areas.tolist() == wards.index.tolist()
    # its points (centroids) give the Delaunay triangulation
    points = as_adjacency(wards.centroid)
    assert points.n_components == 1 and points.n_pairs > 591


def test_libpysal_contiguity_gives_the_same_neighbour_sets(wards):
    """The pure-NumPy rule against libpysal's Queen and Rook weights (the comparison of the
    user guide, on the wards; the police force areas are checked in the docs' table)."""
    libpysal = pytest.importorskip("libpysal")
    import warnings

    from crimestats.sae import adjacency_from_polygons, as_adjacency

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        queen = libpysal.weights.Queen.from_dataframe(wards, use_index=True)
        rook = libpysal.weights.Rook.from_dataframe(wards, use_index=True)
    for w, rule in ((queen, "queen"), (rook, "rook")):
        ours = adjacency_from_polygons(wards, rule=rule)
        theirs = as_adjacency(w, areas=wards.index)        # a W read through the one reader
        assert abs(ours.weights - theirs.weights).max() == 0
    rook.transform = "R"                       # row-standardised: read back as binary
    assert abs(as_adjacency(rook, areas=wards.index).weights
               - adjacency_from_polygons(wards, rule="rook").weights).max() == 0
    graph = libpysal.graph.Graph.build_contiguity(wards, rook=False)
    assert abs(as_adjacency(graph, areas=wards.index).weights
               - adjacency_from_polygons(wards).weights).max() == 0


def test_polygons_bad_input(wards):
    from crimestats.sae import adjacency_from_points, adjacency_from_polygons, as_adjacency

    with pytest.raises(InputError, match="holds points"):
        adjacency_from_polygons(wards.centroid)
    with pytest.raises(InputError, match="holds polygons"):
        adjacency_from_points(wards)
    with pytest.raises(InputError, match="rule"):
        adjacency_from_polygons(wards, rule="bishop")
    unlabelled = wards.reset_index()
    with pytest.raises(InputError, match="missing from it"):
        as_adjacency(unlabelled, areas=wards.index)
