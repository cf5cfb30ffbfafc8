"""Workflow figures: choropleth colours and enclaves, change-point and decomposition plots."""

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


def test_changepoint_plot_marks_changes_and_probabilities():
    import matplotlib.pyplot as plt

    from crimestats.changepoint import detect
    from crimestats.plotting import changepoint_plot

    y = np.r_[np.full(12, 20.0), np.full(12, 40.0)] + np.tile([2.0, -2.0], 12)
    result = detect(y, likelihood="poisson", random_seed=0)
    top, bottom = changepoint_plot(result, ylabel="offences")
    heights = [p.get_height() for p in bottom.patches]
    np.testing.assert_allclose(heights, result.estimates["prob_change"].values)
    dashed = [line for line in top.lines if line.get_linestyle() == "--"]
    assert [line.get_xdata()[0] for line in dashed] == [cp - 0.5 for cp in result.changepoints]
    assert top.get_ylabel() == "offences"
    plt.close("all")


def test_decomposition_plot_draws_each_component_index():
    import matplotlib.pyplot as plt

    from crimestats.changepoint import attribute
    from crimestats.plotting import decomposition_plot

    years = np.arange(2005, 2019)
    incidence = 0.05 * 0.98 ** np.arange(14)
    recorded = pd.Series(np.round(1e6 * incidence * np.where(years >= 2014, 0.6, 0.4)),
                         index=years)
    survey = pd.DataFrame({"period": years, "estimate": incidence, "se": 0.03 * incidence})
    result = attribute(recorded, survey, population=np.full(14, 1e6), random_seed=0)
    ax = decomposition_plot(result)
    lines = {line.get_label(): line.get_ydata() for line in ax.lines}
    rate = result.estimates["recorded_rate"].values
    np.testing.assert_allclose(lines["recorded rate"], rate / rate[0])
    for name in result.components:
        np.testing.assert_allclose(lines[name], result.estimates[name].values)
    plt.close("all")
