"""Peer groups (most similar areas) and the comparison of an area with its group."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crimestats import InputError
from crimestats.compare import compare_to_peers, most_similar
from crimestats.datasets import load_area_characteristics, load_force_violence


@pytest.fixture(scope="module")
def groups():
    return most_similar()


def test_bundled_groups_have_seven_other_forces(groups):
    table = groups.groups
    assert len(table) == 43
    assert all(len(p) == 7 and area not in p for area, p in table.items())
    dist = groups.estimates["distance"].values
    assert np.all(np.diff(dist, axis=1) >= 0)
    assert table["Metropolitan Police"][0] == "West Midlands"
    assert set(table["Dyfed-Powys"][:3]) == {"Cumbria", "North Wales", "North Yorkshire"}
    json.dumps(groups.to_dict())
    assert groups.table().loc["Kent", "peers"].startswith("Gwent")


def test_distance_is_euclidean_on_standardised_features():
    data = load_area_characteristics("pfa")
    res = most_similar(data, features=["density", "household_size"], log=["density"],
                       areas="force", k=3, weights=[2.0, 1.0])
    x = np.column_stack([np.log(data["density"]), data["household_size"]])
    z = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1) * np.sqrt([2.0, 1.0])
    i = list(data["force"]).index("Kent")
    d = np.sqrt(((z - z[i]) ** 2).sum(axis=1))
    d[i] = np.inf
    nearest = data["force"].to_numpy()[np.argsort(d)[:3]]
    assert res.groups["Kent"] == list(nearest)
    np.testing.assert_allclose(res.estimates["distance"].sel(area="Kent").values,
                               np.sort(d)[:3])


@pytest.mark.parametrize("kwargs, match", [
    ({"features": ["density", "nope"]}, "no column"),
    ({"features": ["density"], "k": 0}, "`k`"),
    ({"features": ["density"], "k": 43}, "`k`"),
    ({"features": ["density"], "log": ["household_size"]}, "not among"),
    ({"features": ["density", "household_size"], "weights": [1.0]}, "one value per feature"),
    ({"features": ["constant"]}, "same for every area"),
    ({"features": ["with_nan"]}, "NaN"),
    ({"features": None}, "features"),
])
def test_most_similar_bad_input(kwargs, match):
    data = load_area_characteristics("pfa").assign(constant=1.0, with_nan=np.nan)
    with pytest.raises(InputError, match=match):
        most_similar(data, areas="force", **kwargs)


def test_comparison_closed_form_when_the_group_level_is_known():
    """Huge peer counts with identical rates: mu is known, so the rate ratio is the focal
    area's own Jeffreys posterior, lambda_f / rate ~ Gamma(y + 1/2, n) / rate."""
    y = np.array([130, *[10**8] * 6])
    n = np.array([10_000, *[10**10] * 6])
    res = compare_to_peers(y, n, {"F": list("ABCDEG")}, areas=list("FABCDEG"))
    row = res.to_dataframe().loc["F"]
    gamma = stats.gamma(130.5, scale=1 / 10_000)
    assert row["group_rate"] == pytest.approx(0.01, rel=1e-4)
    assert row["rate_ratio"] == pytest.approx(gamma.median() / 0.01, rel=1e-2)
    # log-normal approximation of the gamma posterior: its quantiles to 1%
    assert row["lower"] == pytest.approx(gamma.ppf(0.025) / 0.01, rel=1e-2)
    assert row["upper"] == pytest.approx(gamma.ppf(0.975) / 0.01, rel=1e-2)
    assert row["prob_above"] == pytest.approx(gamma.sf(0.01), abs=0.01)
    assert row["between_sd"] < 0.01


def test_spread_out_group_keeps_prob_above_a_peer_moderate():
    rng = np.random.default_rng(3)
    n = np.full(9, 1e6)
    rates = 0.02 * np.exp(0.3 * rng.standard_normal(9))
    rates[0] = 0.02 * 1.25
    y = rng.poisson(rates * n)
    res = compare_to_peers(y, n, {"F": list("ABCDEGHI")}, areas=list("FABCDEGHI"))
    row = res.to_dataframe().loc["F"]
    assert row["prob_above"] > row["prob_above_peer"] > 0.5
    assert row["lower"] < 1.25 < row["upper"]
    assert 0.1 < row["between_sd"] < 0.6


def test_rate_ratio_interval_covers_quick():
    """Quick calibration (300 groups of 8; the validation page has 2,000 per scenario)."""
    rng = np.random.default_rng(11)
    cover = []
    for _ in range(300):
        n = np.exp(rng.uniform(np.log(3e5), np.log(3e6), 8))
        lam = 0.02 * np.exp(0.15 * rng.standard_normal(8))
        y = rng.poisson(lam * n)
        row = compare_to_peers(y, n, {"F": list("ABCDEGH")}, areas=list("FABCDEGH")
                               ).to_dataframe().loc["F"]
        cover.append(row["lower"] <= lam[0] / 0.02 <= row["upper"])
    assert abs(np.mean(cover) - 0.95) < 3 * np.sqrt(0.95 * 0.05 / 300)


def test_groups_from_most_similar_partition_and_focus(groups):
    forces = load_force_violence()
    res = compare_to_peers("recorded_violence", "residents", groups, data=forces,
                           areas="force", per=1000, focus=["Kent", "Cumbria"])
    table = res.to_dataframe()
    assert list(table.index) == ["Kent", "Cumbria"]
    assert table.loc["Kent", "rate"] == pytest.approx(30.461, abs=1e-3)
    assert table.loc["Kent", "prob_above"] > 0.99 and (table["n_peers"] == 7).all()
    regions = forces.set_index("force")["region"]
    by_region = compare_to_peers(forces["recorded_violence"].to_numpy(),
                                 forces["residents"].to_numpy(), regions,
                                 areas=forces["force"], focus="Kent")
    assert by_region.to_dataframe().loc["Kent", "n_peers"] == 4   # the other South East forces
    assert "Kent" in res.summary()


@pytest.mark.parametrize("peers, match", [
    ({"A": ["B", "Z"]}, "not among the areas"),
    ({"A": ["A", "B", "C"]}, "its own peer"),
    ({"A": ["B"]}, "at least 2"),
    ({"A": ["B", "B", "C"]}, "more than once"),
    ({"A": "B"}, "list of areas"),
    (["A", "B"], "must be a PeerGroups"),
])
def test_bad_peers(peers, match):
    with pytest.raises(InputError, match=match):
        compare_to_peers([10, 20, 30, 40], [100, 100, 100, 100], peers, areas=list("ABCD"))


def test_bad_focus_and_prior():
    with pytest.raises(InputError, match="focus"):
        compare_to_peers([10, 20, 30, 40], [100] * 4, {"A": ["B", "C"]}, areas=list("ABCD"),
                         focus="D")
    with pytest.raises(InputError, match="prior"):
        compare_to_peers([10, 20, 30, 40], [100] * 4, {"A": ["B", "C"]}, areas=list("ABCD"),
                         prior=0.5)
    with pytest.raises(InputError, match="`per`"):
        compare_to_peers([10, 20, 30, 40], [100] * 4, {"A": ["B", "C"]}, areas=list("ABCD"),
                         per="x")
    with pytest.raises(InputError, match="labels differ"):
        compare_to_peers(pd.Series([10, 20, 30], index=list("ABC")),
                         pd.Series([100, 100, 100], index=list("ABD")), {"A": ["B", "C"]})
