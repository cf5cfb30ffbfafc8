"""Bundled real data: shapes, internal consistency against the published files, argument checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crimestats
from crimestats import datasets as ds


def test_recorded_crime_england_wales_equals_published_totals(data_dir):
    """The E&W level (summed over 43 forces) reproduces the Home Office E&W table exactly."""
    published = pd.read_csv(data_dir / "datasets" / "rec_crime_ew_annual_fy_by_offence_2003_2018.csv")
    published = published.melt(id_vars="financial_year_ending", var_name="offence",
                               value_name="offences")
    ours = ds.load_recorded_crime("england_wales")
    merged = published.merge(ours, on=["financial_year_ending", "offence"], how="left",
                             suffixes=("_published", "_ours"))
    # Offence groups that did not exist in a year are absent from the force file but 0 in the
    # E&W file (fraud after 2012/13, residential burglary before 2014/15).
    absent = merged["offences_ours"].isna()
    assert (merged.loc[absent, "offences_published"] == 0).all()
    np.testing.assert_array_equal(merged.loc[~absent, "offences_ours"],
                                  merged.loc[~absent, "offences_published"])


def test_recorded_crime_force_table():
    rc = ds.load_recorded_crime()
    assert list(rc.columns) == ["financial_year_ending", "force_code", "force", "region",
                                "offence", "offences"]
    assert rc["force"].nunique() == 43 and rc["force_code"].notna().all()
    assert rc["offences"].dtype == np.int64 and (rc["offences"] >= 0).all()
    assert not rc.duplicated(["financial_year_ending", "force", "offence"]).any()
    vio = ds.load_recorded_crime(offence=ds.VIOLENCE_OFFENCES, years=[2017, 2018])
    assert set(vio["offence"]) == set(ds.VIOLENCE_OFFENCES) and len(vio) == 2 * 2 * 43


@pytest.mark.parametrize("kwargs, fragment", [
    ({"level": "region"}, "`level` must be one of"),
    ({"offence": "Burglary"}, "unknown value(s) ['Burglary']"),
    ({"years": 2019}, "unknown value(s) [2019]"),
    ({"years": []}, "`years` is empty"),
])
def test_recorded_crime_rejects_bad_arguments(kwargs, fragment):
    with pytest.raises(crimestats.InputError) as err:
        ds.load_recorded_crime(**kwargs)
    assert fragment in str(err.value)


def test_population_totals_agree_across_levels():
    totals = {level: int(ds.load_population(level)["residents"].sum())
              for level in ("pfa", "csp", "lad")}
    assert totals == {"pfa": 56_075_912, "csp": 56_075_912, "lad": 56_075_912}
    lad = ds.load_population("lad").groupby("force_code")["residents"].sum()
    pfa = ds.load_population("pfa").set_index("force_code")["residents"]
    pd.testing.assert_series_equal(lad.sort_index(), pfa.sort_index(), check_names=False)
    with pytest.raises(crimestats.InputError):
        ds.load_population("ward")


def test_force_names_agree_across_files():
    forces = ds.load_forces()
    assert forces["force_code"].is_unique and forces["force"].is_unique
    rc_forces = set(ds.load_recorded_crime(years=2018)["force"])
    assert rc_forces == set(forces["force"]) == set(ds.load_geography_lookup()["force"])
    geo = ds.load_pfa_boundaries()
    props = {(f["properties"]["force_code"], f["properties"]["force"]) for f in geo["features"]}
    assert props == set(zip(forces["force_code"], forces["force"], strict=True))
    regions = set(forces["region"])
    assert regions == set(ds.load_csew_2018_by_region()["region"])


def test_adjacency_is_symmetric_and_matches_pairs():
    pairs = ds.load_pfa_adjacency()
    W = ds.load_pfa_adjacency(as_matrix=True)
    assert len(pairs) == 100 and pairs[["force_a", "force_b"]].notna().all().all()
    assert (W.to_numpy() == W.to_numpy().T).all() and np.trace(W.to_numpy()) == 0
    assert list(W.index) == sorted(ds.load_forces()["force_code"])
    assert (W.sum(axis=1) > 0).all()  # no island force
    csp = ds.load_csp_adjacency(as_matrix=True)
    assert int(csp.to_numpy().sum()) == 2 * 808
    assert set(csp.index) == set(ds.load_population("csp")["csp_code"])


def test_boundaries_are_lon_lat_polygons():
    geo = ds.load_pfa_boundaries()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 43
    types = {f["geometry"]["type"] for f in geo["features"]}
    assert types <= {"Polygon", "MultiPolygon"}
    first = np.asarray(geo["features"][0]["geometry"]["coordinates"][0][0], dtype=float)
    assert first.ndim == 2
    lon, lat = first[:, 0], first[:, 1]
    assert (lon > -7).all() and (lon < 2).all() and (lat > 49).all() and (lat < 56).all()


def test_hate_crime_keeps_missing_year():
    hate = ds.load_hate_crime()
    missing = hate[hate["offences"].isna()]
    # 2019/20 is blank for all six series in the source; the 2011/12 total is blank too.
    assert sorted(missing["financial_year"]) == ["2011/12"] + ["2019/20"] * 6
    wide = hate.pivot(index="financial_year_ending", columns="strand", values="offences")
    strands = ["race", "religion", "sexual_orientation", "disability", "transgender"]
    known = wide["total"].notna()
    # An offence can have several strands: strands sum to at least the total.
    assert (wide.loc[known, strands].sum(axis=1) >= wide.loc[known, "total"]).all()
    rel = ds.load_hate_crime("religion")
    assert set(rel["financial_year_ending"]) == {2022, 2023, 2024, 2025}
    with pytest.raises(crimestats.InputError):
        ds.load_hate_crime("race")


def test_csew_prevalence_series():
    prev = ds.load_csew_prevalence()
    assert prev["offence"].nunique() == 33 and len(prev) == 33 * 25
    assert prev["prevalence"].between(0, 1).all()
    allcrime = prev[prev["offence"] == "All CSEW crime excluding fraud and computer misuse"]
    by_year = allcrime.set_index("survey_year")["prevalence"]
    # Context quoted in the data README: 18.7% (2012/13) -> 14.4% (2017/18).
    assert round(by_year["2012/13"], 3) == 0.187 and round(by_year["2017/18"], 3) == 0.144
    with pytest.raises(crimestats.InputError, match="unknown"):
        ds.load_csew_prevalence("Fraud")


def test_csew_2018_table():
    table = ds.load_csew_2018_table()
    assert table["measure"].nunique() == 32 and set(table["measure"]) == set(ds.CSEW_MEASURES)
    assert table["measure_label"].notna().all() and table["breakdown"].notna().all()
    assert (table["standard_error"] >= 0).all() and table["estimate"].between(0, 1).all()
    # A zero estimate always comes with a zero standard error (no victim among respondents).
    zero = table["estimate"] == 0
    assert (table.loc[zero, "standard_error"] == 0).all()
    cells = ds.load_csew_2018_by_region("violnr_p", sex=["Female", "Male"], age="16+")
    assert len(cells) == 20 and set(cells["region"]) == set(ds.load_forces()["region"])
    with_totals = ds.load_csew_2018_by_region(age="16+", include_totals=True)
    assert "England" in set(with_totals["region"])
    with pytest.raises(crimestats.InputError):
        ds.load_csew_2018_by_region("violence")
    with pytest.raises(crimestats.InputError):
        ds.load_csew_2018_by_region(["violnr_p"])
    with pytest.raises(crimestats.InputError, match="sex"):
        ds.load_csew_2018_by_region(sex="Women")


def test_loaders_return_independent_copies():
    first = ds.load_population()
    first["residents"] = 0
    assert ds.load_population()["residents"].sum() > 0


def test_violence_domains_table():
    domains = ds.load_violence_domains()
    assert domains["area"].is_unique and len(domains) == 70
    cells = ds.load_csew_2018_by_region("violnr_p")
    cells = cells[cells["age"] != "16+"].reset_index(drop=True)
    kept = ~domains["zero_cell"]
    # Percent scale: direct = 100 * estimate, variance = (100 * SE)^2; zero cells become NaN.
    np.testing.assert_allclose(domains.loc[kept, "direct"], 100 * cells.loc[kept, "estimate"])
    np.testing.assert_allclose(domains.loc[kept, "variance"],
                               (100 * cells.loc[kept, "standard_error"]) ** 2)
    assert domains.loc[~kept, ["direct", "variance"]].isna().all().all()
    assert (cells.loc[~kept, "estimate"] == 0).all()
    # The covariate is the region's rate: total recorded violence / total residents.
    forces = ds.load_force_violence()
    london = forces[forces["region"] == "London"]
    expected = 1000 * london["recorded_violence"].sum() / london["residents"].sum()
    got = domains.loc[domains["region"] == "London", "recorded_per_1000"].unique()
    np.testing.assert_allclose(got, [expected])
    both = ds.load_violence_domains("both")
    assert len(both) == 140 and both["area"].is_unique
    with pytest.raises(crimestats.InputError):
        ds.load_violence_domains("men")


def test_force_violence_rates():
    forces = ds.load_force_violence()
    assert len(forces) == 43 and forces["recorded_violence"].notna().all()
    rc = ds.load_recorded_crime("england_wales", offence=ds.VIOLENCE_OFFENCES, years=2018)
    assert forces["recorded_violence"].sum() == rc["offences"].sum()


def test_csp_boundaries_match_adjacency_lookup_and_population():
    """The 314 CSP polygons carry the codes of the neighbour list, the lookup and the census."""
    geo = ds.load_csp_boundaries()
    props = pd.DataFrame([f["properties"] for f in geo["features"]])
    assert len(props) == 314 and props["csp_code"].is_unique
    pairs = ds.load_csp_adjacency()
    assert set(pairs["csp_code_a"]) | set(pairs["csp_code_b"]) <= set(props["csp_code"])
    assert set(props["csp_code"]) == set(ds.load_population("csp")["csp_code"])
    lookup = ds.load_geography_lookup().drop_duplicates("csp_code").set_index("csp_code")
    assert (props.set_index("csp_code")["force"] == lookup.loc[props["csp_code"], "force"]).all()
    assert props["force"].nunique() == 43
    for feature in geo["features"]:
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    lon, lat = zip(*[pt for f in geo["features"] for pt in _points(f["geometry"])], strict=True)
    assert -7 < min(lon) and max(lon) < 2.1 and 49.8 < min(lat) and max(lat) < 56


def _points(geometry):
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" \
        else [geometry["coordinates"]]
    return [tuple(pt) for poly in polygons for ring in poly for pt in ring]


def test_csp_choropleth_from_bundled_data():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from crimestats.plotting import choropleth

    csp = ds.load_population("csp").set_index("csp_code")
    ax = choropleth(csp["households"] / csp["residents"], geojson=ds.load_csp_boundaries(),
                    key="csp_code", label="households per resident")
    assert len(ax.collections[0].get_paths()) >= 314
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
