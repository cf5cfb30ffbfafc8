"""The survey simulator: determinism, the stated truth, the design and the weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crimestats
from crimestats import InputError, survey
from crimestats.datasets import SimulatedSurvey, simulate_survey


def direct_estimates(*args, **kwargs):
    """The estimates dataset of `crimestats.survey.direct_estimates` (what these tests read)."""
    return survey.direct_estimates(*args, **kwargs).estimates


def test_same_seed_same_survey():
    a = simulate_survey(n_areas=40, n_periods=2, random_seed=11)
    b = simulate_survey(n_areas=40, n_periods=2, random_seed=11)
    assert isinstance(a, SimulatedSurvey)
    pd.testing.assert_frame_equal(a.respondents, b.respondents)
    pd.testing.assert_frame_equal(a.areas, b.areas)
    c = simulate_survey(n_areas=40, n_periods=2, random_seed=12)
    assert not np.allclose(a.areas["true_prevalence"], c.areas["true_prevalence"])


def test_sample_seed_redraws_the_sample_of_the_same_areas():
    a = simulate_survey(n_areas=40, random_seed=5, sample_seed=1)
    b = simulate_survey(n_areas=40, random_seed=5, sample_seed=2)
    truth = ["area", "x1", "x2", "population", "true_prevalence", "true_incidence_rate"]
    pd.testing.assert_frame_equal(a.areas[truth], b.areas[truth])
    assert not a.respondents["victim"].equals(b.respondents["victim"])
    gen = simulate_survey(n_areas=10, random_seed=np.random.default_rng(3))
    assert len(gen.areas) == 10


def test_truth_is_the_stated_superpopulation_parameter():
    sim = simulate_survey(n_areas=8, random_seed=2)
    par = sim.parameters
    areas = sim.areas
    b0, b1, b2 = par["beta"]
    eta = b0 + b1 * areas["x1"] + b2 * areas["x2"] + areas["area_effect"]
    v = np.random.default_rng(0).normal(0.0, par["psu_sd"], 400_000)

    def expit(x):
        return 1.0 / (1.0 + np.exp(-x))

    s = areas["young_share"].to_numpy()
    for i, e in enumerate(eta):
        mc = (1 - s[i]) * expit(e + v).mean() + s[i] * expit(e + par["young_effect"] + v).mean()
        assert areas["true_prevalence"].iloc[i] == pytest.approx(mc, abs=1e-3)
    kappa = par["repeat_rate"] * np.exp(par["repeat_slope"] * areas["x1"])
    np.testing.assert_allclose(areas["repeat_rate"], kappa, rtol=1e-12)
    np.testing.assert_allclose(areas["true_incidence_rate"],
                               areas["true_prevalence"] * (1 + kappa), rtol=1e-12)
    np.testing.assert_allclose(areas["young_share"],
                               expit(np.log(1 / 3) + 0.8 * (areas["x2"] - 0.5)), rtol=1e-12)
    assert sim.true_prevalence.index.tolist() == areas["area"].tolist()
    assert sim.covariate_names == ("x1", "x2")


def test_large_samples_recover_the_truth_and_weights_are_informative():
    sim = simulate_survey(n_areas=6, n_strata=2, psus_per_area=150, respondents_per_psu=20,
                          random_seed=4)
    r = sim.respondents
    est = direct_estimates(r, y="victim", area="area", weight="weight", strata="stratum",
                           psu="psu")
    z = (est["estimate"].values - sim.areas["true_prevalence"].values) / est["se"].values
    assert np.all(np.abs(z) < 4), z
    inc = direct_estimates(r, y="incidents", area="area", weight="weight", strata="stratum",
                           psu="psu")
    z_inc = (inc["estimate"].values - sim.areas["true_incidence_rate"].values) / inc["se"].values
    assert np.all(np.abs(z_inc) < 4), z_inc
    # over-sampled young adults are more often victims: the unweighted mean is biased upwards
    unweighted = r.groupby("area")["victim"].mean().to_numpy()
    assert np.mean(unweighted - sim.areas["true_prevalence"].to_numpy()) > 0.01
    # weights add up to the stratum population, and to the area population on average
    stratum_pop = sim.areas.groupby("stratum")["population"].sum()
    np.testing.assert_allclose(r.groupby("stratum")["weight"].sum() / stratum_pop, 1.0,
                               atol=0.02)
    ratio = r.groupby("area")["weight"].sum().to_numpy() / sim.areas["population"].to_numpy()
    np.testing.assert_allclose(ratio, 1.0, atol=0.35)


def test_design_has_strata_clusters_unequal_weights_and_empty_areas():
    sim = simulate_survey(n_areas=120, n_strata=8, n_periods=2, random_seed=9)
    r, areas = sim.respondents, sim.areas
    assert r.columns.tolist() == ["period", "area", "stratum", "psu", "weight", "young",
                                  "victim", "incidents"]
    assert set(r["period"]) == {1, 2}
    assert r["stratum"].nunique() == 8
    # each PSU sits in one area, one stratum and one period
    assert (r.groupby("psu")[["area", "stratum", "period"]].nunique() == 1).all().all()
    # each area sits in one stratum, as in the areas table
    strata = r.groupby("area")["stratum"].first()
    assert (areas.set_index("area").loc[strata.index, "stratum"] == strata).all()
    assert r["weight"].std() / r["weight"].mean() > 0.3
    assert (areas["n_sampled"] == 0).any() and (areas["n_sampled"] < 10).sum() > 5
    counts = r.groupby("area").size().reindex(areas["area"], fill_value=0).to_numpy()
    np.testing.assert_array_equal(counts, areas["n_sampled"].to_numpy())
    assert (r.loc[r["victim"] == 1, "incidents"] >= 1).all()
    assert (r.loc[r["victim"] == 0, "incidents"] == 0).all()
    assert set(r["victim"].unique()) <= {0, 1}


def test_negative_binomial_repeats_have_the_stated_mean():
    sim = simulate_survey(n_areas=4, n_strata=1, psus_per_area=300, respondents_per_psu=20,
                          repeat_dispersion=0.5, repeat_slope=0.0, random_seed=8)
    victims = sim.respondents[sim.respondents["victim"] == 1]
    extra = victims["incidents"] - 1
    kappa = sim.parameters["repeat_rate"]
    se = np.sqrt(kappa + kappa**2 / 0.5) / np.sqrt(len(extra))
    assert abs(extra.mean() - kappa) < 4 * se
    assert extra.var() > 1.5 * extra.mean()   # overdispersed compared with Poisson


@pytest.mark.parametrize("kwargs, pattern", [
    ({"n_areas": 0}, "n_areas"),
    ({"n_areas": 5, "n_strata": 6}, "n_strata"),
    ({"respondents_per_psu": 0.5}, "respondents_per_psu"),
    ({"sigma_u": -1.0}, "sigma_u"),
    ({"beta": (1.0, 2.0)}, "beta"),
    ({"repeat_dispersion": 0.0}, "repeat_dispersion"),
    ({"random_seed": "abc"}, "random_seed"),
])
def test_bad_arguments_raise(kwargs, pattern):
    with pytest.raises(crimestats.InputError, match=pattern):
        simulate_survey(**kwargs)


@pytest.mark.parametrize("level,count", [("pfa", 43), ("csp", 314)])
def test_bundled_area_codes_name_the_areas(level, count):
    """Simulated areas can carry the bundled force or CSP codes, so they match the maps and
    neighbour lists; the truth is indexed by those codes."""
    from crimestats import datasets as ds

    sim = simulate_survey(areas=level, n_strata=5, random_seed=3)
    codes = sim.areas["area"].tolist()
    assert len(codes) == count and codes == sorted(codes)
    adjacency = (ds.load_pfa_adjacency if level == "pfa" else ds.load_csp_adjacency)(
        as_matrix=True)
    assert codes == adjacency.index.tolist()
    assert set(sim.respondents["area"].astype(str)) <= set(codes)
    assert sim.true_prevalence.index.tolist() == codes


def test_given_area_labels_and_their_checks():
    sim = simulate_survey(areas=["north", "south", "east"], n_strata=1, random_seed=1)
    assert sim.areas["area"].tolist() == ["north", "south", "east"]
    with pytest.raises(InputError, match="unique"):
        simulate_survey(areas=["a", "a"], n_strata=1)
    with pytest.raises(InputError, match="differs"):
        simulate_survey(n_areas=5, areas="pfa")
    with pytest.raises(InputError, match="'pfa', 'csp'"):
        simulate_survey(areas="lsoa")
