"""Direct estimates: hand-computed linearisation, R survey reference values, flags, inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import crimestats
from crimestats import survey


def direct_estimates(*args, **kwargs) -> xr.Dataset:
    """The estimates dataset of `crimestats.survey.direct_estimates` (what these tests read)."""
    return survey.direct_estimates(*args, **kwargs).estimates

# A small design: 3 strata, 8 PSUs, 2 areas that cut across strata and share PSUs. Stratum 3
# holds PSUs with no respondent of area "b", whose zero totals must still count.
ROWS = [  # (area, stratum, psu, weight, victim, incidents)
    ("a", 1, 1, 10.0, 1, 2),
    ("a", 1, 1, 12.0, 0, 0),
    ("b", 1, 1, 8.0, 1, 1),
    ("a", 1, 2, 20.0, 0, 0),
    ("b", 1, 2, 15.0, 0, 0),
    ("b", 1, 3, 9.0, 1, 3),
    ("a", 2, 1, 30.0, 1, 1),  # PSU label 1 again: nested in stratum 2, a different PSU
    ("a", 2, 2, 25.0, 0, 0),
    ("b", 2, 2, 5.0, 0, 0),
    ("b", 2, 3, 11.0, 1, 1),
    ("a", 3, 1, 14.0, 1, 4),
    ("a", 3, 2, 16.0, 0, 0),
    ("a", 3, 2, 18.0, 1, 1),
]


def _frame(rows=ROWS) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["area", "stratum", "psu", "weight", "victim",
                                       "incidents"])


def _hand_linearisation(rows, area: str, y_index: int = 4) -> tuple[float, float]:
    """Ratio mean and its with-replacement linearised variance, by explicit loops."""
    in_d = [r for r in rows if r[0] == area]
    n_hat = sum(r[3] for r in in_d)
    mean = sum(r[3] * r[y_index] for r in in_d) / n_hat
    variance = 0.0
    for h in sorted({r[1] for r in rows}):
        psus = sorted({r[2] for r in rows if r[1] == h})
        totals = [sum(r[3] * (r[y_index] - mean) / n_hat for r in in_d
                      if r[1] == h and r[2] == c) for c in psus]
        n_h = len(psus)
        z_bar = sum(totals) / n_h
        variance += n_h / (n_h - 1) * sum((z - z_bar) ** 2 for z in totals)
    return mean, variance


@pytest.mark.parametrize("outcome, y_index", [("victim", 4), ("incidents", 5)])
def test_matches_hand_computed_linearisation(outcome, y_index):
    est = direct_estimates(_frame(), y=outcome, area="area", weight="weight",
                           strata="stratum", psu="psu")
    for area in ("a", "b"):
        mean, variance = _hand_linearisation(ROWS, area, y_index)
        assert est["estimate"].sel(area=area).item() == pytest.approx(mean, rel=1e-12)
        assert est["variance"].sel(area=area).item() == pytest.approx(variance, rel=1e-12)
        assert est["se"].sel(area=area).item() == pytest.approx(math.sqrt(variance), rel=1e-12)


def test_worked_example_written_out():
    # Area b of the docstring example: N = 50, mean = 20/50 = 0.4; linearised values
    # z = 10(0-0.4)/50 = -0.08 (stratum 1, PSU 1), 20(1-0.4)/50 = 0.24 (stratum 2, PSU 3),
    # 20(0-0.4)/50 = -0.16 (stratum 2, PSU 4). Stratum 1 PSU totals (-0.08, 0), mean -0.04:
    # 2/1 * (0.04^2 + 0.04^2) = 0.0064. Stratum 2 totals (0.24, -0.16), mean 0.04:
    # 2/1 * (0.2^2 + 0.2^2) = 0.16. Variance 0.1664.
    df = pd.DataFrame({
        "area": ["a", "a", "a", "a", "b", "b", "b"],
        "stratum": [1, 1, 2, 2, 1, 2, 2],
        "psu": [1, 2, 3, 4, 1, 3, 4],
        "weight": [10.0, 20.0, 10.0, 30.0, 10.0, 20.0, 20.0],
        "victim": [1, 0, 0, 1, 0, 1, 0],
    })
    est = direct_estimates(df, y="victim", area="area", weight="weight", strata="stratum",
                           psu="psu")
    assert est["estimate"].sel(area="b").item() == pytest.approx(0.4, rel=1e-14)
    assert est["variance"].sel(area="b").item() == pytest.approx(0.1664, rel=1e-12)
    # area a: N = 70, mean 4/7; stratum totals (3/49, -8/49) and (-4/49, 9/49)
    assert est["variance"].sel(area="a").item() == pytest.approx(1160 / 9604, rel=1e-12)


def _apistrat(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / "survey" / "apistrat_subset.csv")


def test_reproduces_r_survey_fpc_example():
    # R survey's `fpc` data and its help page (reference/fpc.html):
    # svydesign(weights=~weight, ids=~psuid, strata=~stratid, variables=~x, data=fpc,
    # nest=TRUE): svymean(~x) 5.4481, SE 0.7413; with fpc=~Nh: SE 0.616
    fpc = pd.DataFrame({
        "stratid": [1, 1, 1, 1, 1, 2, 2, 2],
        "psuid": [1, 2, 3, 4, 5, 1, 2, 3],
        "weight": [3, 3, 3, 3, 3, 4, 4, 4],
        "Nh": [15, 15, 15, 15, 15, 12, 12, 12],
        "x": [2.8, 4.1, 6.8, 6.8, 9.2, 3.7, 6.6, 4.2],
        "all": "all",
    })
    without = direct_estimates(fpc, y="x", area="all", weight="weight", strata="stratid",
                               psu="psuid")
    assert without["estimate"].item() == pytest.approx(5.4481, abs=5e-5)
    assert without["se"].item() == pytest.approx(0.7413, abs=5e-5)
    with_fpc = direct_estimates(fpc, y="x", area="all", weight="weight", strata="stratid",
                                psu="psuid", fpc="Nh")
    assert with_fpc["se"].item() == pytest.approx(0.616, abs=5e-4)


def test_reproduces_r_survey_apistrat_mean(data_dir):
    # dstrat <- svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc);
    # svymean(~api00, dstrat): 662.29, SE 9.4089 as widely quoted from R survey's `api`
    # example (the domain test below checks the same design at full precision).
    df = _apistrat(data_dir).assign(everyone="all")
    est = direct_estimates(df, y="api00", area="everyone", weight="pw", strata="stype",
                           fpc="fpc")
    assert est["estimate"].item() == pytest.approx(662.29, abs=0.005)
    assert est["se"].item() == pytest.approx(9.4089, abs=0.00005)


def test_reproduces_r_svyby_domain_means(data_dir):
    # svyby(~api00, ~awards, dstrat, svymean) from R survey 4.x (full precision, as stored in
    # xKDR/Survey.jl test/r_reference/domain.csv, design "strat_fpc"). The domains cut across
    # strata, so the zeros of the other domain count in every stratum.
    df = _apistrat(data_dir)
    est = direct_estimates(df, y="api00", area="awards", weight="pw", strata="stype",
                           fpc="fpc")
    ref = {"No": (633.734912337968, 15.3347711842501), "Yes": (678.422405668124,
                                                              11.8566310509714)}
    for dom, (mean, se) in ref.items():
        assert est["estimate"].sel(area=dom).item() == pytest.approx(mean, rel=1e-12)
        assert est["se"].sel(area=dom).item() == pytest.approx(se, rel=1e-12)


def _apiclus1(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / "survey" / "apiclus1_subset.csv")


@pytest.mark.parametrize("outcome, mean, se", [
    ("api00", 644.169399, 23.5422),
    ("api99", 606.978142, 24.2250),
])
def test_reproduces_r_survey_published_cluster_means(data_dir, outcome, mean, se):
    # dclus1 <- svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)
    # svymean(~api00+api99+stype, dclus1), R survey documentation (example-summary page)
    df = _apiclus1(data_dir).assign(everyone="all")
    est = direct_estimates(df, y=outcome, area="everyone", weight="pw", psu="dnum", fpc="fpc")
    assert est["estimate"].item() == pytest.approx(mean, abs=5e-7)
    assert est["se"].item() == pytest.approx(se, abs=5e-5)


@pytest.mark.parametrize("stype, share, se", [
    ("E", 0.786885, 0.0463), ("H", 0.076503, 0.0268), ("M", 0.136612, 0.0296),
])
def test_reproduces_r_survey_published_cluster_proportions(data_dir, stype, share, se):
    # a 0/1 outcome: the proportions of school types in svymean(~stype, dclus1)
    df = _apiclus1(data_dir).assign(everyone="all")
    df["is_type"] = (df["stype"] == stype).astype(int)
    est = direct_estimates(df, y="is_type", area="everyone", weight="pw", psu="dnum",
                           fpc="fpc")
    assert est["estimate"].item() == pytest.approx(share, abs=5e-7)
    assert est["se"].item() == pytest.approx(se, abs=5e-5)


def test_reproduces_r_survey_published_cluster_domains(data_dir):
    # svyby(~api99+api00, ~stype+sch.wide, dclus1, svymean, keep.var=TRUE), R survey
    # documentation (example-domain page): domains cut across the 15 clusters
    df = _apiclus1(data_dir)
    df["domain"] = df["stype"] + "." + df["sch.wide"]
    published = {  # domain: (api99, api00, SE api99, SE api00)
        "E.No": (601.6667, 596.3333, 47.27582, 43.49010),
        "E.Yes": (608.3485, 653.6439, 21.52493, 20.31720),
        "H.No": (662.0000, 659.3333, 29.23003, 27.00275),
        "H.Yes": (577.6364, 607.4545, 46.50125, 43.70468),
        "M.No": (611.3750, 606.3750, 41.11886, 41.11686),
    }
    api99 = direct_estimates(df, y="api99", area="domain", weight="pw", psu="dnum", fpc="fpc")
    api00 = direct_estimates(df, y="api00", area="domain", weight="pw", psu="dnum", fpc="fpc")
    for dom, (m99, m00, se99, se00) in published.items():
        assert api99["estimate"].sel(area=dom).item() == pytest.approx(m99, abs=5e-5)
        assert api00["estimate"].sel(area=dom).item() == pytest.approx(m00, abs=5e-5)
        assert api99["se"].sel(area=dom).item() == pytest.approx(se99, abs=5e-6)
        assert api00["se"].sel(area=dom).item() == pytest.approx(se00, abs=5e-6)
    by_type = direct_estimates(df, y="api99", area="stype", weight="pw", psu="dnum",
                               fpc="fpc")
    np.testing.assert_allclose(by_type["estimate"], [607.7917, 595.7143, 608.6000],
                               atol=5e-5)


def test_fpc_as_population_sizes_or_sampling_fractions(data_dir):
    df = _apistrat(data_dir).assign(everyone="all")
    with_fpc = direct_estimates(df, y="api00", area="everyone", weight="pw", strata="stype",
                                fpc="fpc")
    without = direct_estimates(df, y="api00", area="everyone", weight="pw", strata="stype")
    assert with_fpc["variance"].item() < without["variance"].item()
    # the same correction given as sampling fractions n_h / N_h
    fractions = pd.DataFrame({"stype": ["E", "M", "H"], "f": [100 / 4421, 50 / 1018, 50 / 755]})
    df_f = df.merge(fractions, on="stype")
    as_fraction = direct_estimates(df_f, y="api00", area="everyone", weight="pw",
                                   strata="stype", fpc="f")
    assert as_fraction["variance"].item() == pytest.approx(with_fpc["variance"].item(),
                                                           rel=1e-12)


def test_equal_weights_srs_has_unit_design_effect(rng):
    y = rng.binomial(1, 0.3, 200)
    df = pd.DataFrame({"area": "x", "w": 5.0, "y": y})
    est = direct_estimates(df, y="y", area="area", weight="w")
    n = len(y)
    s2 = y.var(ddof=1)
    assert est["variance"].item() == pytest.approx(s2 / n, rel=1e-12)
    assert est["deff"].item() == pytest.approx(1.0, rel=1e-12)
    assert est["deff_weights"].item() == pytest.approx(1.0, rel=1e-12)
    assert est["n_effective"].item() == pytest.approx(n, rel=1e-12)


def test_kish_design_effect_of_weights():
    df = _frame()
    est = direct_estimates(df, y="victim", area="area", weight="weight", strata="stratum",
                           psu="psu")
    w = df.loc[df["area"] == "a", "weight"].to_numpy()
    assert est["deff_weights"].sel(area="a").item() == pytest.approx(
        len(w) * (w**2).sum() / w.sum() ** 2, rel=1e-12)
    assert est["sum_weights"].sel(area="a").item() == pytest.approx(w.sum())
    assert est["n"].sel(area="a").item() == len(w)


def test_output_structure_and_interval():
    est = direct_estimates(_frame(), y="victim", area="area", weight="weight",
                           strata="stratum", psu="psu", level=0.9, scale=100)
    assert isinstance(est, xr.Dataset)
    result = survey.direct_estimates(_frame(), y="victim", area="area", weight="weight")
    assert isinstance(result, crimestats.results.Result) and result.level == 0.95
    assert est["estimate"].dims == ("area",)
    for name in ("estimate", "variance", "se", "cv", "lower", "upper", "n", "n_psu",
                 "n_effective", "deff", "deff_weights", "sum_weights", "flag"):
        assert name in est
    assert est.attrs["level"] == 0.9 and est["lower"].attrs["level"] == 0.9
    z = 1.6448536269514722
    np.testing.assert_allclose(est["upper"] - est["estimate"], z * est["se"], rtol=1e-10)
    np.testing.assert_allclose(est["cv"], est["se"] / est["estimate"], rtol=1e-12)
    frame = est.to_dataframe()
    assert list(frame.index) == ["a", "b"]


def test_scale_multiplies_estimate_and_variance():
    base = direct_estimates(_frame(), y="incidents", area="area", weight="weight",
                            strata="stratum", psu="psu")
    per_1000 = direct_estimates(_frame(), y="incidents", area="area", weight="weight",
                                strata="stratum", psu="psu", scale=1000)
    np.testing.assert_allclose(per_1000["estimate"], 1000 * base["estimate"], rtol=1e-12)
    np.testing.assert_allclose(per_1000["variance"], 1e6 * base["variance"], rtol=1e-12)
    np.testing.assert_allclose(per_1000["deff"], base["deff"], rtol=1e-12)


def test_row_order_and_label_types_do_not_matter(rng):
    df = _frame()
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    shuffled["psu"] = shuffled["psu"].map({1: "p1", 2: "p2", 3: "p3"})
    a = direct_estimates(df, y="victim", area="area", weight="weight", strata="stratum",
                         psu="psu")
    b = direct_estimates(shuffled, y="victim", area="area", weight="weight",
                         strata="stratum", psu="psu")
    np.testing.assert_allclose(a["variance"], b["variance"], rtol=1e-12)
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-12)


# ---- flags -------------------------------------------------------------------------------

def test_flags_for_awkward_areas():
    rows = ROWS + [
        ("single", 1, 1, 5.0, 1, 1),               # one respondent
        ("onepsu", 2, 3, 5.0, 1, 1),               # two respondents in one PSU
        ("onepsu", 2, 3, 7.0, 0, 0),
        ("novictim", 1, 2, 5.0, 0, 0),             # no victim: zero variance
        ("novictim", 2, 1, 6.0, 0, 0),
    ]
    est = direct_estimates(_frame(rows), y="victim", area="area", weight="weight",
                           strata="stratum", psu="psu",
                           areas=["a", "b", "single", "onepsu", "novictim", "empty"])
    flag = dict(zip(est["area"].values.tolist(), est["flag"].values.tolist(), strict=True))
    assert flag == {"a": "ok", "b": "ok", "single": "single_respondent",
                    "onepsu": "single_psu", "novictim": "zero_variance", "empty": "no_sample"}
    assert est["variance"].sel(area="single").item() == 0.0
    assert est["variance"].sel(area="onepsu").item() == 0.0
    assert est["variance"].sel(area="novictim").item() == 0.0
    assert np.isnan(est["estimate"].sel(area="empty").item())
    assert est["n"].sel(area="empty").item() == 0
    assert est["sum_weights"].sel(area="empty").item() == 0.0
    assert np.isnan(est["n_effective"].sel(area="onepsu").item())
    for area in ("single", "onepsu", "novictim"):
        assert np.isnan(est["deff"].sel(area=area).item())
    # other areas' variances are unaffected by the awkward ones only through the design
    assert np.isfinite(est["variance"].sel(area="a").item())


# ---- lonely PSUs -------------------------------------------------------------------------

LONELY = ROWS + [("a", 4, 1, 10.0, 1, 1), ("a", 4, 1, 20.0, 0, 0), ("b", 4, 1, 6.0, 1, 1)]


def _lonely_parts(area: str) -> tuple[float, float]:
    """Variance from strata 1-3 and the lonely stratum 4's PSU total (by hand)."""
    in_d = [r for r in LONELY if r[0] == area]
    n_hat = sum(r[3] for r in in_d)
    mean = sum(r[3] * r[4] for r in in_d) / n_hat
    base = 0.0
    for h in (1, 2, 3):
        psus = sorted({r[2] for r in LONELY if r[1] == h})
        totals = [sum(r[3] * (r[4] - mean) / n_hat for r in in_d if r[1] == h and r[2] == c)
                  for c in psus]
        z_bar = sum(totals) / len(psus)
        base += len(psus) / (len(psus) - 1) * sum((z - z_bar) ** 2 for z in totals)
    lonely_total = sum(r[3] * (r[4] - mean) / n_hat for r in in_d if r[1] == 4)
    return base, lonely_total


@pytest.mark.parametrize("rule", ["adjust", "remove", "average"])
def test_lonely_psu_rules(rule):
    est = direct_estimates(_frame(LONELY), y="victim", area="area", weight="weight",
                           strata="stratum", psu="psu", lonely_psu=rule)
    for area in ("a", "b"):
        base, lonely_total = _lonely_parts(area)
        expected = {"adjust": base + lonely_total**2,  # centred at the grand mean, zero
                    "remove": base,
                    "average": base * 4 / 3}[rule]     # 4 strata, 3 with more than one PSU
        assert est["variance"].sel(area=area).item() == pytest.approx(expected, rel=1e-12)
        assert est["flag"].sel(area=area).item() == "lonely_psu"
    assert est.attrs["lonely_psu"] == rule


def test_single_psu_in_a_census_stratum_is_not_lonely():
    # stratum 4 is taken whole (N_h = n_h = 1, f_h = 0): it adds no variance under any rule,
    # as in R survey, and is not flagged
    frame = _frame(LONELY).assign(fpc=lambda d: np.where(d["stratum"] == 4, 1, 1000))
    base = {area: _lonely_parts(area)[0] for area in ("a", "b")}
    for rule in ("adjust", "remove", "average", "fail"):
        est = _call(frame, fpc="fpc", lonely_psu=rule)
        for area in ("a", "b"):
            # the other strata keep f_h = 1 - n_h/1000
            n_h = {1: 3, 2: 3, 3: 2}
            expected = 0.0
            in_d = [r for r in LONELY if r[0] == area]
            n_hat = sum(r[3] for r in in_d)
            mean = sum(r[3] * r[4] for r in in_d) / n_hat
            for h in (1, 2, 3):
                psus = sorted({r[2] for r in LONELY if r[1] == h})
                totals = [sum(r[3] * (r[4] - mean) / n_hat for r in in_d
                              if r[1] == h and r[2] == c) for c in psus]
                z_bar = sum(totals) / len(psus)
                expected += (1 - n_h[h] / 1000) * len(psus) / (len(psus) - 1) * sum(
                    (z - z_bar) ** 2 for z in totals)
            assert est["variance"].sel(area=area).item() == pytest.approx(expected, rel=1e-12)
            assert est["flag"].sel(area=area).item() == "ok"
            assert expected < base[area]


def test_lonely_psu_fail_names_the_stratum():
    with pytest.raises(crimestats.InputError, match=r"single PSU.*\[4\]"):
        direct_estimates(_frame(LONELY), y="victim", area="area", weight="weight",
                         strata="stratum", psu="psu", lonely_psu="fail")


# ---- periods and pooling -----------------------------------------------------------------

def _two_periods() -> pd.DataFrame:
    first = _frame().assign(year=2019)
    second = _frame().assign(year=2020)
    second["weight"] = second["weight"] * 1.5
    second.loc[second.index[:4], "victim"] = 1 - second.loc[second.index[:4], "victim"]
    return pd.concat([first, second], ignore_index=True)


def test_periods_are_independent_samples():
    df = _two_periods()
    est = direct_estimates(df, y="victim", area="area", weight="weight", strata="stratum",
                           psu="psu", period="year")
    assert est["estimate"].dims == ("area", "period")
    for year in (2019, 2020):
        alone = direct_estimates(df[df["year"] == year], y="victim", area="area",
                                 weight="weight", strata="stratum", psu="psu")
        np.testing.assert_allclose(est["estimate"].sel(period=year), alone["estimate"],
                                   rtol=1e-12)
        np.testing.assert_allclose(est["variance"].sel(period=year), alone["variance"],
                                   rtol=1e-12)


def test_missing_area_period_cell_is_no_sample():
    df = _two_periods()
    df = df[~((df["year"] == 2020) & (df["area"] == "b"))]
    est = direct_estimates(df, y="victim", area="area", weight="weight", strata="stratum",
                           psu="psu", period="year")
    assert est["flag"].sel(area="b", period=2020).item() == "no_sample"
    assert est["flag"].sel(area="b", period=2019).item() == "ok"


@pytest.mark.parametrize("rule", ["equal", "as_is"])
def test_pooling_rescales_weights_and_nests_strata_in_periods(rule):
    df = _two_periods()
    pooled = direct_estimates(df, y="victim", area="area", weight="weight", strata="stratum",
                              psu="psu", period="year", pool=True, pool_weights=rule)
    assert pooled["estimate"].dims == ("area",)
    manual = df.copy()
    if rule == "equal":
        totals = manual.groupby("year")["weight"].transform("sum")
        manual["weight"] = manual["weight"] * totals.unique().mean() / totals
    manual["stratum"] = manual["year"].astype(str) + "/" + manual["stratum"].astype(str)
    for area in ("a", "b"):
        rows = list(manual[["area", "stratum", "psu", "weight", "victim",
                            "incidents"]].itertuples(index=False, name=None))
        mean, variance = _hand_linearisation(rows, area)
        assert pooled["estimate"].sel(area=area).item() == pytest.approx(mean, rel=1e-12)
        assert pooled["variance"].sel(area=area).item() == pytest.approx(variance, rel=1e-12)
    assert pooled.attrs["pooled_periods"] == ["2019", "2020"]


# ---- bad input ---------------------------------------------------------------------------

def _call(data, **kwargs):
    args = {"y": "victim", "area": "area", "weight": "weight", "strata": "stratum",
            "psu": "psu"}
    args.update(kwargs)
    return direct_estimates(data, **args)


@pytest.mark.parametrize("mutate, pattern", [
    (lambda d: d.drop(columns="weight"), r"no column.*'weight'"),
    (lambda d: d.assign(victim=d["victim"].where(d.index != 3)), r"'victim'.*missing.*row"),
    (lambda d: d.assign(weight=d["weight"].where(d.index != 5)), r"'weight'.*missing"),
    (lambda d: d.assign(weight=np.where(d.index == 2, 0.0, d["weight"])),
     r"positive.*row.*2"),
    (lambda d: d.assign(weight=np.where(d.index == 2, -1.0, d["weight"])), r"positive"),
    (lambda d: d.assign(victim=d["victim"].astype(object).where(d.index != 4, "n/a")),
     r"numeric.*row.*4.*n/a"),
    (lambda d: d.assign(area=d["area"].where(d.index != 1)), r"Area.*missing.*row.*1"),
    (lambda d: d.assign(psu=d["psu"].astype(float).where(d.index != 0)), r"PSU.*missing"),
    (lambda d: d.assign(weight=np.where(d.index == 7, np.inf, d["weight"])), r"infinite"),
    (lambda d: d.iloc[:0], r"no rows"),
])
def test_bad_input_raises_input_error(mutate, pattern):
    with pytest.raises(crimestats.InputError, match=pattern):
        _call(mutate(_frame()))


def test_bad_arguments():
    df = _frame()
    with pytest.raises(crimestats.InputError, match="pool"):
        _call(df, pool=True)
    with pytest.raises(crimestats.InputError, match="level"):
        _call(df, level=95)
    with pytest.raises(crimestats.InputError, match="lonely_psu"):
        _call(df, lonely_psu="certainty")
    with pytest.raises(crimestats.InputError, match="scale"):
        _call(df, scale=0)
    with pytest.raises(crimestats.InputError, match=r"not in the .*\['b'\]"):
        _call(df, areas=["a"])
    with pytest.raises(crimestats.InputError, match="more than once"):
        _call(df, areas=["a", "b", "a"])
    with pytest.raises(crimestats.InputError, match="DataFrame"):
        _call(df.to_numpy())
    with pytest.raises(crimestats.InputError, match="constant within each stratum"):
        _call(df.assign(fpc=np.arange(len(df)) + 100.0), fpc="fpc")
    with pytest.raises(crimestats.InputError, match="fewer population PSUs"):
        _call(df.assign(fpc=2.0), fpc="fpc")


def test_errors_name_rows_by_index_label():
    df = _frame().set_index(pd.Index([f"r{i}" for i in range(len(ROWS))]))
    df.loc["r6", "weight"] = -3.0
    with pytest.raises(crimestats.InputError, match="'r6'"):
        _call(df)


def test_boolean_outcome_is_a_proportion():
    df = _frame().assign(victim=lambda d: d["victim"].astype(bool))
    est = _call(df)
    assert est.attrs["outcome_type"] == "proportion"
    np.testing.assert_allclose(est["estimate"], _call(_frame())["estimate"], rtol=1e-15)
    assert _call(_frame(), y="incidents").attrs["outcome_type"] == "mean"


def test_netcdf_round_trip(tmp_path):
    pytest.importorskip("h5py")
    est = _call(_frame(), areas=["a", "b", "c"])
    path = tmp_path / "direct.nc"
    clean = est.copy()
    clean.attrs = {k: v for k, v in est.attrs.items() if not isinstance(v, (bool, list))}
    clean.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    assert back["flag"].values.tolist() == ["ok", "ok", "no_sample"]
    np.testing.assert_allclose(back["variance"], est["variance"], equal_nan=True)


# ---- degrees of freedom of the interval --------------------------------------------------

def test_t_intervals_with_given_or_domain_degrees_of_freedom():
    from scipy import stats

    normal = _call(_frame())
    assert np.isinf(normal["df"]).all() and normal.attrs["df"] == "normal"
    fixed = _call(_frame(), df=5, level=0.9)
    half = stats.t.ppf(0.95, 5) * fixed["se"]
    np.testing.assert_allclose(fixed["upper"] - fixed["estimate"], half, rtol=1e-12)
    np.testing.assert_allclose(fixed["estimate"] - fixed["lower"], half, rtol=1e-12)
    rows = ROWS + [("onepsu", 2, 3, 5.0, 1, 1), ("onepsu", 2, 3, 7.0, 0, 0)]
    dom = _call(_frame(rows), df="domain", areas=["a", "b", "onepsu", "none"])
    # a: PSUs (1,1) (1,2) (2,1) (2,2) (3,1) (3,2) in 3 strata -> 6 - 3 = 3
    # b: PSUs (1,1) (1,2) (1,3) (2,2) (2,3) in 2 strata -> 5 - 2 = 3; one PSU -> at least 1
    np.testing.assert_array_equal(dom["df"].values[:3], [3.0, 3.0, 1.0])
    assert np.isnan(dom["df"].values[3])
    half_a = stats.t.ppf(0.975, 3) * dom["se"].sel(area="a").item()
    assert dom["upper"].sel(area="a").item() == pytest.approx(
        dom["estimate"].sel(area="a").item() + half_a, rel=1e-12)
    for bad in ("psu", 0, -2.0, [1, 2]):
        with pytest.raises(crimestats.InputError, match="df"):
            _call(_frame(), df=bad)
