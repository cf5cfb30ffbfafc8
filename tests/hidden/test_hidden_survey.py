"""Survey route: reporting rates (NCVS 2021 against BJS) and the dark figure (simulated truth)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from crimestats import DataWarning, InputError
from crimestats.datasets import simulate_dark_figure
from crimestats.hidden import dark_figure, reporting_rates


def ncvs_incidents(path) -> pd.DataFrame:
    """NCVS 2021 incidents prepared as BJS does: series weights, US incidents only."""
    d = pd.read_csv(path)
    series = (d.V4017.isin([1, 8]) | d.V4018.isin([2, 8]) | d.V4019.isin([1, 8]))
    n_series = d.V4016.where(~d.V4016.isin([997, 998])).clip(upper=10)
    factor = np.where(series, 1.0, np.where(n_series.isna(), 6.0, n_series))
    d["weight"] = d.WGTVICCY * factor
    d = d[d.V4022 != 1].copy()
    d["reported"] = (d.V4399 == 1).astype(int)
    d["crime_type"] = np.select(
        [d.V4529.isin([1, 2, 3, 4, 15, 16, 18, 19]), d.V4529.between(5, 10),
         d.V4529.between(11, 13), d.V4529.isin([14, 17, 20]), d.V4529.between(21, 23)],
        ["rape_sexual_assault", "robbery", "aggravated_assault", "simple_assault",
         "personal_theft"], "property")
    d["violent"] = np.where(d.V4529.between(1, 20), "violent", "other")
    return d


@pytest.fixture(scope="module")
def ncvs(data_dir) -> pd.DataFrame:
    return ncvs_incidents(data_dir / "ncvs" / "ncvs_2021_incident_subset.csv")


def test_ncvs_2021_violent_matches_bjs(ncvs):
    res = reporting_rates(ncvs, reported="reported", weight="weight", by="violent",
                          strata="V2117", psu="V2118")
    violent = res.estimates.sel(group="violent")
    # BJS, Criminal Victimization 2021: 4.60 million violent victimisations, 45.6% reported
    assert round(float(violent["incidents"]) / 1e6, 2) == 4.60
    assert round(100 * float(violent["estimate"]), 1) == 45.6
    assert int(violent["n"]) == 1790
    se = float(violent["se"])
    assert 0.01 < se < 0.03  # design-based SE of about 2 percentage points
    assert float(violent["lower"]) < 0.456 < float(violent["upper"])
    # the design effect is above 1: clustering and weighting inflate the variance
    assert float(violent["effective_n"]) < 1790


def test_ncvs_by_type_matches_derived_table(ncvs, data_dir):
    ref = pd.read_csv(data_dir / "ncvs" / "ncvs_2021_pct_reported_by_type_DERIVED.csv")
    res = reporting_rates(ncvs, reported="reported", weight="weight", by="crime_type",
                          strata="V2117", psu="V2118")
    est = res.estimates
    for row in ref[~ref.crime_type.str.startswith("ALL")].itertuples():
        key = row.crime_type if row.crime_type in est.group else None
        if key is None:
            continue
        assert round(100 * float(est["estimate"].sel(group=key)), 1) == row.pct_reported
        assert round(float(est["incidents"].sel(group=key))) == row.weighted_incidents


def test_linearised_variance_matches_closed_form_srs():
    # no weights, no design: SE^2 = n/(n-1) * sum((y - p)^2) / n^2 = p(1-p)/(n-1)
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    res = reporting_rates(pd.DataFrame({"y": y, "w": 1.0}), reported="y", weight="w")
    p = y.mean()
    assert float(res.estimates["se"].item()) == pytest.approx(np.sqrt(p * (1 - p) / 399))


def test_design_variance_coverage_simulated_clusters():
    """Clustered design with known rate: 95% intervals cover about 95% (within 2 MC SEs)."""
    rng = np.random.default_rng(7)
    # superpopulation target E[expit(-0.3 + u)], u ~ N(0, 0.5^2), by Gauss-Hermite quadrature
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    truth = float(weights @ (1 / (1 + np.exp(0.3 - 0.5 * nodes))) / weights.sum())
    hits, reps = 0, 200
    for _ in range(reps):
        strata = np.repeat(np.arange(20), 40)
        psu = np.tile(np.repeat([0, 1], 20), 20)
        cluster = rng.normal(0, 0.5, size=40)[strata * 2 + psu]
        p = 1 / (1 + np.exp(-(-0.3 + cluster)))
        y = rng.random(p.size) < p
        w = rng.uniform(0.5, 2.0, p.size)
        df = pd.DataFrame({"y": y, "w": w, "h": strata, "j": psu})
        res = reporting_rates(df, reported="y", weight="w", strata="h", psu="j")
        hits += float(res.estimates["lower"].item()) <= truth <= float(res.estimates["upper"].item())
    cover = hits / reps
    mc_se = np.sqrt(0.95 * 0.05 / reps)
    assert abs(cover - 0.95) < 2.5 * mc_se + 0.02  # 40 PSUs: t vs normal costs ~1-2 points


def test_pooled_rates_shrink_small_groups(ncvs):
    res = reporting_rates(ncvs, reported="reported", weight="weight", by="crime_type",
                          strata="V2117", psu="V2118", pooled=True)
    est = res.estimates
    small = est.sel(group="personal_theft")
    big = est.sel(group="property")
    prior = res.diagnostics["pooling"]["mean"]
    # a group with 23 records moves towards the pooled mean; a big one barely moves
    assert abs(float(small["pooled"]) - prior) < abs(float(small["estimate"]) - prior)
    assert float(big["pooled"]) == pytest.approx(float(big["estimate"]), abs=0.005)
    width = lambda g: float(g["pooled_upper"] - g["pooled_lower"])  # noqa: E731
    assert width(small) < float(small["upper"] - small["lower"])


def test_reporting_rates_bad_input():
    df = pd.DataFrame({"y": [1, 0, 3], "w": [1.0, 1.0, 1.0]})
    with pytest.raises(InputError, match="must be 1/True"):
        reporting_rates(df, reported="y", weight="w")
    df = pd.DataFrame({"y": [1, 0, 1], "w": [1.0, -1.0, 1.0]})
    with pytest.raises(InputError, match="non-negative"):
        reporting_rates(df, reported="y", weight="w")
    with pytest.raises(InputError, match="no column"):
        reporting_rates(df, reported="told", weight="w")


def test_dark_figure_recovers_truth_and_is_seeded():
    sim = simulate_dark_figure(n_areas=40, survey_cv=0.1, reporting_se=0.03, random_seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        res = dark_figure(sim.survey, sim.recorded, sim.mapping, population=sim.population,
                          random_seed=3)
        again = dark_figure(sim.survey, sim.recorded, sim.mapping, random_seed=3)
    est = res.estimates
    assert np.array_equal(est["hidden"].values, again.estimates["hidden"].values)
    truth = sim.truth.set_index(["area", "crime_type"])
    out = res.table().set_index(["area", "crime_type"]).loc[truth.index]
    # intervals for hidden incidents and for recording completeness cover the truth
    for name, true in (("hidden", truth["hidden"]), ("recording_completeness",
                                                       truth["recording_rate"])):
        inside = (out[f"{name}_lower"] <= true) & (true <= out[f"{name}_upper"])
        assert inside.mean() > 0.85, name
    # recorded counts are a census, not estimated
    assert np.array_equal(out["recorded"], out["recorded_lower"])
    assert "incidents_per_1000" in est


def test_dark_figure_flags_records_above_reports():
    survey = pd.DataFrame({"area": ["A", "B"], "survey_offence": ["assault", "assault"],
                           "incidents": [1000.0, 1000.0], "incidents_se": [50.0, 50.0],
                           "reporting_rate": [0.4, 0.4], "reporting_rate_se": [0.02, 0.02]})
    recorded = pd.DataFrame({"area": ["A", "B"], "crime_type": ["violence", "violence"],
                             "recorded": [300, 600]})
    with pytest.warns(DataWarning, match="B / violence"):
        res = dark_figure(survey, recorded, {"assault": "violence"}, random_seed=1)
    est = res.estimates
    assert bool(est["records_exceed_reports"].sel(area="B", crime_type="violence"))
    assert not bool(est["records_exceed_reports"].sel(area="A", crime_type="violence"))
    # not clipped: completeness above one is reported as it is
    assert float(est["recording_completeness"].sel(area="B", crime_type="violence")) > 1.4
    assert float(est["prob_records_exceed"].sel(area="B", crime_type="violence")) > 0.99
    assert res.diagnostics["records_exceed_reports"] == ["B / violence"]


def test_dark_figure_mapping_and_bad_input():
    survey = pd.DataFrame({"area": ["A", "A"], "survey_offence": ["assault", "fraud"],
                           "incidents": [1000.0, 500.0], "incidents_se": [50.0, 50.0],
                           "reporting_rate": [0.4, 0.1], "reporting_rate_se": [0.02, 0.02]})
    recorded = pd.DataFrame({"area": ["A", "A"], "crime_type": ["violence", "theft"],
                             "recorded": [300, 900]})
    with pytest.raises(InputError, match="not in `mapping`"):
        dark_figure(survey, recorded, {"assault": "violence"})
    res = dark_figure(survey, recorded, {"assault": "violence", "fraud": None}, random_seed=1)
    assert res.diagnostics["survey_offences_excluded"] == ["fraud"]
    assert res.diagnostics["recorded_groups_not_compared"] == ["theft"]
    assert list(res.estimates["crime_type"].values) == ["violence"]
    bad = survey.assign(reporting_rate=[1.2, 0.1])
    with pytest.raises(InputError, match="strictly between 0 and 1"):
        dark_figure(bad, recorded, {"assault": "violence", "fraud": None})
    only_rec = recorded.assign(area=["B", "B"])
    with pytest.raises(InputError, match="same area"):
        dark_figure(survey, only_rec, {"assault": "violence", "fraud": None})


def test_dark_figure_accepts_draws():
    survey = pd.DataFrame({"area": ["A", "A"], "survey_offence": ["assault", "wounding"],
                           "incidents": [1000.0, 200.0], "incidents_se": [50.0, 20.0],
                           "reporting_rate": [0.4, 0.5], "reporting_rate_se": [0.02, 0.05]})
    recorded = pd.DataFrame({"area": ["A"], "crime_type": ["violence"], "recorded": [350]})
    rng = np.random.default_rng(0)
    inc = np.column_stack([rng.normal(1000, 50, 500), np.full(500, 200.0)])
    rate = np.column_stack([np.full(500, 0.4), np.full(500, 0.5)])
    res = dark_figure(survey, recorded, {"assault": "violence", "wounding": "violence"},
                      incidents_draws=inc, reporting_rate_draws=rate)
    est = res.estimates.sel(area="A", crime_type="violence")
    assert res.n_draws == 500
    assert float(est["incidents"]) == pytest.approx(inc.sum(axis=1).mean())
    assert float(est["reported"]) == pytest.approx((0.4 * inc[:, 0] + 100).mean())
    assert float(est["hidden"]) == pytest.approx(inc.sum(axis=1).mean() - 350)
    with pytest.raises(InputError, match="shape"):
        dark_figure(survey, recorded, {"assault": "violence", "wounding": "violence"},
                    incidents_draws=inc[:, :1])
