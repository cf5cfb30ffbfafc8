"""Spatial models fed from the Python spatial ecosystem (GeoDataFrame, libpysal) and mapped back.

Needs the ``geo`` extra (geopandas, shapely, libpysal); skipped cleanly without it.
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from crimestats import InputError
from crimestats.sae import adjacency_from_polygons, bym2, fay_herriot, logit_binomial

gpd = pytest.importorskip("geopandas")


@pytest.fixture(scope="module")
def wards(data_dir):
    frame = gpd.read_file(data_dir / "sae" / "greater_manchester_wards_2016_bng.geojson")
    frame = frame.set_index("wd16cd").set_crs(27700, allow_override=True)
    frame["label"] = [f"ward {i}" for i in range(len(frame))]      # a column to carry along
    return frame


@pytest.fixture(scope="module")
def data(wards):
    rng = np.random.default_rng(11)
    m = len(wards)
    x = rng.normal(size=m)
    d = rng.uniform(0.1, 0.4, m)
    y = 1 + 0.5 * x + rng.normal(scale=0.5, size=m) + rng.normal(size=m) * np.sqrt(d)
    frame = pd.DataFrame({"ward": wards.index, "y": y, "d": d, "x": x})
    return frame.sample(frac=1.0, random_state=3)        # rows in another order than the map


def test_geodataframe_adjacency_gives_the_fit_of_its_pair_table(wards, data):
    pairs = adjacency_from_polygons(wards).to_pairs()[["area_a", "area_b"]]
    by_map = bym2("y", "d", ["x"], data=data, areas="ward", adjacency=wards, model="icar")
    by_pairs = bym2("y", "d", ["x"], data=data, areas="ward", adjacency=pairs, model="icar")
    np.testing.assert_allclose(by_map.estimates["estimate"], by_pairs.estimates["estimate"],
                               rtol=1e-12)
    sar_map = fay_herriot("y", "d", ["x"], data=data, areas="ward", proximity=wards)
    sar_pairs = fay_herriot("y", "d", ["x"], data=data, areas="ward", proximity=pairs)
    np.testing.assert_allclose(sar_map.estimates["estimate"], sar_pairs.estimates["estimate"],
                               rtol=1e-12)
    # the same model from ward centroids (Delaunay) is a different neighbourhood, but it runs
    centroids = bym2("y", "d", ["x"], data=data, areas="ward", adjacency=wards.centroid,
                     model="icar")
    assert centroids.estimates.sizes["area"] == len(wards)


def test_libpysal_weights_as_proximity(wards, data):
    libpysal = pytest.importorskip("libpysal")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = libpysal.weights.Rook.from_dataframe(wards, use_index=True)
    w.transform = "R"
    fit = fay_herriot("y", "d", ["x"], data=data, areas="ward", proximity=w)
    ref = fay_herriot("y", "d", ["x"], data=data, areas="ward",
                      proximity=adjacency_from_polygons(wards, rule="rook"))
    np.testing.assert_allclose(fit.estimates["estimate"], ref.estimates["estimate"], rtol=1e-12)


def test_results_map_back_to_their_areas(wards, data):
    fit = bym2("y", "d", ["x"], data=data, areas="ward", adjacency=wards, model="icar")
    mapped = fit.to_geodataframe(wards)
    assert isinstance(mapped, gpd.GeoDataFrame) and mapped.crs == wards.crs
    assert mapped.index.tolist() == fit.estimates["area"].values.tolist()
    est = fit.estimates["estimate"].to_series()
    np.testing.assert_array_equal(mapped["estimate"].to_numpy(), est.to_numpy())
    assert mapped.loc[est.index[0], "label"] == wards.loc[est.index[0], "label"]
    assert mapped.geometry.loc[est.index[5]].equals(wards.geometry.loc[est.index[5]])
    with pytest.raises(InputError, match="no row for 1 area"):
        fit.to_geodataframe(wards.iloc[1:])
    with pytest.raises(InputError, match="GeoDataFrame or GeoSeries"):
        fit.to_geodataframe(wards.to_wkt())


def test_choropleth_draws_a_geodataframe(wards, data):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from crimestats.plotting import choropleth

    fit = bym2("y", "d", ["x"], data=data, areas="ward", adjacency=wards, model="icar")
    ax = choropleth(fit.to_geodataframe(wards), variable="sd", label="posterior SD")
    assert len(ax.collections[0].get_paths()) >= len(wards)
    assert ax.get_aspect() == 1.0                          # projected: equal axes
    ax2 = choropleth(fit, geojson=wards)                   # a result drawn on a GeoDataFrame
    assert len(ax2.collections[0].get_paths()) >= len(wards)
    with pytest.raises(InputError, match="not on the map"):
        choropleth(fit, geojson=wards.iloc[1:])
    plt.close("all")


def test_threads_do_not_change_the_numbers(wards, data, monkeypatch):
    """The grid walk is split between two walkers with their own state: one thread or two
    give the same numbers to the last bit (Gaussian and Laplace models)."""
    grid = importlib.import_module("crimestats.sae._engine.hyper_grid")
    rng = np.random.default_rng(4)
    n = rng.integers(20, 200, len(wards)).astype(float)
    p = rng.binomial(n.astype(int), 0.1) / n
    fits = []
    for workers in (1, 2):
        monkeypatch.setattr(grid, "_WORKERS", workers)
        fits.append((bym2("y", "d", ["x"], data=data, areas="ward", adjacency=wards),
                     logit_binomial(p, n, areas=wards.index, adjacency=wards)))
    for one, two in zip(*fits, strict=True):
        for name in ("estimate", "sd", "lower", "upper"):
            np.testing.assert_array_equal(one.estimates[name], two.estimates[name])
        assert one.sigma == two.sigma and one.n_nodes == two.n_nodes
