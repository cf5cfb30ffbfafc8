"""The choropleth map: colours follow the values, enclaves stay visible, bad keys are named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crimestats
from crimestats.datasets import load_forces, load_pfa_boundaries

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


@pytest.fixture
def values() -> pd.Series:
    codes = load_forces()["force_code"]
    return pd.Series(np.arange(len(codes), dtype=float), index=codes.to_numpy())


def test_each_polygon_is_coloured_by_its_area_value(values):
    import matplotlib.pyplot as plt

    from crimestats.plotting import choropleth

    ax = choropleth(values, cmap="viridis")
    faces = ax.collections[0].get_facecolors()
    n_polygons = sum(len(f["geometry"]["coordinates"]) if f["geometry"]["type"] == "MultiPolygon"
                     else 1 for f in load_pfa_boundaries()["features"])
    assert len(faces) == n_polygons
    norm = plt.Normalize(values.min(), values.max())
    expected = {tuple(np.round(plt.get_cmap("viridis")(norm(v)), 6)) for v in values}
    assert {tuple(np.round(c, 6)) for c in faces} == expected
    plt.close("all")


def test_enclave_is_drawn_after_the_area_around_it(values):
    import matplotlib.pyplot as plt

    from crimestats.plotting import choropleth

    only_city = pd.Series({"City of London": 1.0, "Metropolitan Police": 0.0})
    ax = choropleth(only_city, key="force", cmap="Greys")
    faces = [tuple(c) for c in ax.collections[0].get_facecolors()]
    city, met = (tuple(plt.get_cmap("Greys")(v)) for v in (1.0, 0.0))
    # Larger polygons first: the City is drawn after the Met's main polygon, so it is on top.
    assert faces.count(city) == 1 and faces.index(city) > faces.index(met)
    legend = ax.get_legend()
    assert legend is not None and legend.get_texts()[0].get_text() == "no value"
    plt.close("all")


def test_unknown_areas_and_keys_are_named(values):
    from crimestats.plotting import choropleth

    with pytest.raises(crimestats.InputError, match="Atlantis"):
        choropleth(pd.Series({"Atlantis": 1.0}), key="force")
    with pytest.raises(crimestats.InputError, match="no property 'ward'"):
        choropleth(values, key="ward")
    with pytest.raises(crimestats.InputError, match="numbers"):
        choropleth(pd.Series({"Kent": "high"}), key="force")
