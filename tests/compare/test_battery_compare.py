"""Named bad and awkward inputs of `crimestats.compare` (funnel plots, peer comparisons, rank
uncertainty, change tests, most similar groups), judged by ``input_harness.Named`` (issue 13).

The same table feeds ``benchmarks/input_battery.py``, whose counts are recorded in
docs/validation/index.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from input_harness import Named

from crimestats.compare import (
    change_test,
    change_tests,
    compare_to_peers,
    funnel,
    most_similar,
    rank_uncertainty,
)

pytestmark = pytest.mark.filterwarnings("ignore::crimestats.errors.CrimestatsWarning")

M = 12
AREAS = [f"F{i:02d}" for i in range(M)]
_RNG = np.random.default_rng(21)
RESIDENTS = _RNG.uniform(2e5, 2e6, M).round()
CRIMES = _RNG.poisson(RESIDENTS * 0.02).astype(float)
EXPECTED = CRIMES * _RNG.uniform(0.8, 1.2, M)
TRIALS = _RNG.integers(50, 500, M).astype(float)
SUCCESSES = _RNG.binomial(TRIALS.astype(int), 0.3).astype(float)
SHUFFLE = _RNG.permutation(M)


def _set(values, position, new):
    arr = np.array(values, dtype=object if isinstance(new, str) or new is None else float)
    arr[position] = new
    return arr


def _same_by_area(reference, field="estimate"):
    """A check: the result has the reference's ``field`` for every area label."""
    def check(result):
        want = reference().estimates[field]
        got = result.estimates[field]
        if sorted(map(str, got["area"].values)) != sorted(map(str, want["area"].values)):
            return "output areas are not the input areas"
        if not np.allclose(got.sel(area=want["area"].values).values, want.values, rtol=1e-9,
                           equal_nan=True):
            return f"{field} differs by area: labelled inputs paired by position"
        return None
    return check


# --------------------------------------------------------------------------------------------
# funnel
# --------------------------------------------------------------------------------------------

def _f(observed=CRIMES, exposure=RESIDENTS, **kw):
    return funnel(observed, exposure, **{"areas": AREAS, **kw})


def _funnel_cases() -> list[Named]:
    fn = "compare.funnel"
    obs_s = pd.Series(CRIMES, index=AREAS)
    exp_s = pd.Series(RESIDENTS, index=AREAS)
    frame = pd.DataFrame({"force": AREAS, "crimes": CRIMES, "residents": RESIDENTS})
    rows = [
        ("valid", lambda: _f(), "ok", ""),
        ("ratio", lambda: _f(exposure=EXPECTED, kind="ratio"), "ok", ""),
        ("proportion", lambda: _f(SUCCESSES, TRIALS, kind="proportion"), "ok", ""),
        ("data_columns", lambda: funnel("crimes", "residents", data=frame, areas="force"),
         "ok", ""),
        ("data_str_dtype_column", lambda: funnel(
            "crimes", "residents", data=frame.assign(crimes=frame["crimes"].astype(int)
                                                     .astype("str")), areas="force"),
         "any", ""),
        ("data_text_column", lambda: funnel(
            "crimes", "residents", data=frame.assign(crimes=_set(CRIMES, 2, "n/a")),
            areas="force"), "input_error", "crimes"),
        ("data_missing_column", lambda: funnel("offences", "residents", data=frame,
                                               areas="force"), "input_error", "offences"),
        ("observed_nan", lambda: _f(_set(CRIMES, 2, np.nan)), "input_error", "F02"),
        ("observed_inf", lambda: _f(_set(CRIMES, 2, np.inf)), "input_error", "observed"),
        ("observed_negative", lambda: _f(_set(CRIMES, 2, -1)), "input_error", "F02"),
        ("observed_fraction", lambda: _f(_set(CRIMES, 2, 10.5)), "input_error", "F02"),
        ("observed_text", lambda: _f(_set(CRIMES, 2, "x")), "input_error", "observed"),
        ("proportion_above_trials", lambda: _f(_set(SUCCESSES, 2, TRIALS[2] + 1), TRIALS,
                                               kind="proportion"), "input_error", "F02"),
        ("exposure_zero", lambda: _f(exposure=_set(RESIDENTS, 2, 0)), "input_error", "F02"),
        ("exposure_negative", lambda: _f(exposure=_set(RESIDENTS, 2, -5)), "input_error",
         "F02"),
        ("exposure_nan", lambda: _f(exposure=_set(RESIDENTS, 2, np.nan)), "input_error",
         "exposure"),
        ("one_short", lambda: _f(exposure=RESIDENTS[:-1]), "input_error", "exposure"),
        ("areas_one_short", lambda: _f(areas=AREAS[:-1]), "input_error", "areas"),
        ("areas_duplicated", lambda: _f(areas=["A"] * M), "input_error", "areas"),
        ("empty", lambda: _f(CRIMES[:0], RESIDENTS[:0], areas=[]), "input_error", ""),
        ("one_area", lambda: _f(CRIMES[:1], RESIDENTS[:1], areas=AREAS[:1]), "input_error",
         ""),
        ("two_areas", lambda: _f(CRIMES[:2], RESIDENTS[:2], areas=AREAS[:2]), "any", ""),
        ("all_zero", lambda: _f(CRIMES * 0), "any", ""),
        ("all_equal_rates", lambda: _f(RESIDENTS * 0.02), "any", ""),
        ("all_equal_everything", lambda: _f(np.full(M, 50.0), np.full(M, 1e4)), "any", ""),
        ("huge_1e12", lambda: _f(CRIMES * 1e6, RESIDENTS * 1e6), "any", ""),
        ("huge_counts_small_exposure", lambda: _f(CRIMES * 1e6), "any", ""),
        ("series_shuffled", lambda: funnel(obs_s.iloc[SHUFFLE], exp_s), "ok", ""),
        ("series_other_labels", lambda: funnel(obs_s, exp_s.set_axis(range(M))),
         "input_error", "label"),
        ("series_vs_areas_other_order", lambda: _f(obs_s, exp_s, areas=AREAS[::-1]), "any",
         ""),
        ("kind_bogus", lambda: _f(kind="rates"), "input_error", "kind"),
        ("method_bogus", lambda: _f(method="poisson"), "input_error", "method"),
        ("scale_bogus", lambda: _f(scale="cube"), "input_error", "scale"),
        ("estimator_bogus", lambda: _f(estimator="mad"), "input_error", "estimator"),
        ("trim_0.6", lambda: _f(trim=0.6), "input_error", "trim"),
        ("trim_nan", lambda: _f(trim=np.nan), "input_error", "trim"),
        ("target_negative", lambda: _f(target=-1.0), "input_error", "target"),
        ("target_nan", lambda: _f(target=np.nan), "input_error", "target"),
        ("proportion_target_above_one", lambda: _f(SUCCESSES, TRIALS, kind="proportion",
                                                   target=1.5), "input_error", "target"),
        ("levels_above_one", lambda: _f(levels=(0.95, 1.5)), "input_error", "level"),
        ("levels_empty", lambda: _f(levels=()), "input_error", "level"),
        ("levels_text", lambda: _f(levels="high"), "input_error", "level"),
        ("per_zero", lambda: _f(per=0), "input_error", "per"),
        ("per_text", lambda: _f(per="1000"), "any", ""),
        ("curve_points_0", lambda: _f(curve_points=0), "input_error", "curve_points"),
        ("curve_points_fraction", lambda: _f(curve_points=2.5), "input_error",
         "curve_points"),
    ]
    cases = [Named(fn, name, call, expect, pattern, promised=("rate", "z"),
                   scalars=("target",)) for name, call, expect, pattern in rows]
    for method in ("exact", "chisq", "normal", "multiplicative", "additive"):
        cases.append(Named(fn, f"method_{method}_all_zero", lambda method=method: _f(
            CRIMES * 0, method=method), "any", promised=("rate", "z"), scalars=("target",)))
        cases.append(Named(fn, f"method_{method}_valid", lambda method=method: _f(
            method=method), "ok", promised=("rate", "z"), scalars=("target",)))
    cases.append(Named(fn, "series_shuffled_matches", lambda: funnel(obs_s.iloc[SHUFFLE],
                                                                     exp_s), "ok",
                       check=_same_by_area(lambda: _f(), "z"), promised=("rate", "z")))
    cases.append(Named(fn, "areas_reorder_series_matches", lambda: _f(
        obs_s, exp_s.iloc[SHUFFLE], areas=AREAS[::-1]), "any",
        check=lambda r: None if float(r.estimates["observed"].sel(area="F00")) == CRIMES[0]
        else "area 'F00' published with another area's count (paired by position)"))
    return cases


# --------------------------------------------------------------------------------------------
# compare_to_peers, most_similar
# --------------------------------------------------------------------------------------------

PEERS = {a: [b for b in AREAS if b != a][:5] for a in AREAS}


def _p(observed=CRIMES, exposure=RESIDENTS, peers=None, **kw):
    return compare_to_peers(observed, exposure, PEERS if peers is None else peers,
                            **{"areas": AREAS, **kw})


def _peer_cases() -> list[Named]:
    fn = "compare.compare_to_peers"
    obs_s = pd.Series(CRIMES, index=AREAS)
    exp_s = pd.Series(RESIDENTS, index=AREAS)
    rows = [
        ("valid", lambda: _p(), "ok", ""),
        ("focus", lambda: _p(focus="F03"), "ok", ""),
        ("focus_unknown", lambda: _p(focus="ZZ"), "input_error", "ZZ"),
        ("peers_unknown_area", lambda: _p(peers={"F00": ["ZZ", "F01"]}), "input_error", "ZZ"),
        ("peers_self", lambda: _p(peers={"F00": ["F00", "F01"]}), "input_error", "F00"),
        ("peers_empty_list", lambda: _p(peers={"F00": []}), "input_error", "F00"),
        ("peers_empty", lambda: _p(peers={}), "input_error", "peers"),
        ("peers_text", lambda: _p(peers="F01"), "input_error", "peers"),
        ("observed_nan", lambda: _p(_set(CRIMES, 2, np.nan)), "input_error", "F02"),
        ("observed_negative", lambda: _p(_set(CRIMES, 2, -1)), "input_error", "F02"),
        ("observed_fraction", lambda: _p(_set(CRIMES, 2, 1.5)), "input_error", "F02"),
        ("exposure_zero", lambda: _p(exposure=_set(RESIDENTS, 2, 0)), "input_error", "F02"),
        ("all_zero", lambda: _p(CRIMES * 0), "any", ""),
        ("huge", lambda: _p(CRIMES * 1e6, RESIDENTS * 1e6), "any", ""),
        ("level_1", lambda: _p(level=1.0), "input_error", "level"),
        ("per_negative", lambda: _p(per=-1), "input_error", "per"),
        ("prior_bogus", lambda: _p(prior="flat-ish"), "input_error", "prior"),
        ("series_other_labels", lambda: compare_to_peers(obs_s, exp_s.set_axis(range(M)),
                                                         PEERS), "input_error", "label"),
        ("series_shuffled", lambda: compare_to_peers(obs_s.iloc[SHUFFLE], exp_s, PEERS),
         "ok", ""),
    ]
    cases = [Named(fn, name, call, expect, pattern, promised=("rate_ratio",))
             for name, call, expect, pattern in rows]
    cases.append(Named(fn, "series_shuffled_matches", lambda: compare_to_peers(
        obs_s.iloc[SHUFFLE], exp_s, PEERS), "ok", promised=("rate_ratio",),
        check=_same_by_area(lambda: _p(), "rate_ratio")))

    fn = "compare.most_similar"
    chars = pd.DataFrame({"density": _RNG.uniform(1, 50, M), "income": _RNG.uniform(2, 5, M),
                          "young": _RNG.uniform(0.1, 0.3, M)}, index=AREAS)
    feats = ["density", "income", "young"]
    rows = [
        ("valid", lambda: most_similar(chars, features=feats, k=3), "ok", ""),
        ("bundled", lambda: most_similar(), "ok", ""),
        ("k_0", lambda: most_similar(chars, features=feats, k=0), "input_error", "k"),
        ("k_too_big", lambda: most_similar(chars, features=feats, k=M), "input_error", "k"),
        ("k_fraction", lambda: most_similar(chars, features=feats, k=2.5), "input_error", "k"),
        ("feature_missing", lambda: most_similar(chars, features=["crime"]), "input_error",
         "crime"),
        ("feature_nan", lambda: most_similar(chars.assign(income=_set(chars["income"], 2,
                                                                      np.nan)),
                                             features=feats, k=3), "input_error", "F02"),
        ("feature_text", lambda: most_similar(chars.assign(income=_set(chars["income"], 2,
                                                                       "x")),
                                              features=feats, k=3), "input_error", "income"),
        ("feature_constant", lambda: most_similar(chars.assign(income=1.0), features=feats,
                                                  k=3), "input_error", "income"),
        ("log_nonpositive", lambda: most_similar(chars.assign(young=_set(chars["young"], 1,
                                                                         0.0)),
                                                 features=feats, k=3, log=["young"]),
         "input_error", "young"),
        ("duplicated_labels", lambda: most_similar(chars.set_axis(["a"] * M), features=feats,
                                                   k=3), "input_error", "a"),
        ("weights_wrong_length", lambda: most_similar(chars, features=feats, k=3,
                                                      weights=[1.0]), "input_error",
         "weights"),
        ("weights_negative", lambda: most_similar(chars, features=feats, k=3,
                                                  weights=[1.0, -1.0, 1.0]), "input_error",
         "weights"),
        ("one_area", lambda: most_similar(chars.iloc[:1], features=feats, k=1),
         "input_error", ""),
        ("not_a_frame", lambda: most_similar(chars.to_numpy(), features=feats, k=3),
         "input_error", "DataFrame"),
    ]
    cases += [Named(fn, name, call, expect, pattern, promised=())
              for name, call, expect, pattern in rows]
    return cases


# --------------------------------------------------------------------------------------------
# rank_uncertainty
# --------------------------------------------------------------------------------------------

EST = _RNG.normal(10, 3, M)
SE = _RNG.uniform(0.5, 2, M)


def _r(source=EST, **kw):
    return rank_uncertainty(source, **{"se": SE, "areas": AREAS, "random_seed": 0,
                                       "draws": 500, **kw})


def _rank_cases() -> list[Named]:
    fn = "compare.rank_uncertainty"
    draws = pd.DataFrame(EST + SE * _RNG.normal(size=(300, M)), columns=AREAS)
    rows = [
        ("valid", lambda: _r(), "ok", ""),
        ("draws_frame", lambda: rank_uncertainty(draws), "ok", ""),
        ("draws_frame_nan", lambda: rank_uncertainty(draws.mask(
            np.broadcast_to(np.arange(300)[:, None] == 3, draws.shape))),
         "input_error", "draw"),
        ("draws_one_draw", lambda: rank_uncertainty(draws.iloc[:1]), "any", ""),
        ("est_nan", lambda: _r(_set(EST, 2, np.nan)), "input_error", "F02"),
        ("est_inf", lambda: _r(_set(EST, 2, np.inf)), "input_error", "F02"),
        ("est_text", lambda: _r(_set(EST, 2, "x")), "input_error", "source"),
        ("se_zero", lambda: _r(se=_set(SE, 2, 0)), "input_error", "F02"),
        ("se_negative", lambda: _r(se=_set(SE, 2, -1)), "input_error", "F02"),
        ("se_missing", lambda: _r(se=None), "input_error", "se"),
        ("se_one_short", lambda: _r(se=SE[:-1]), "input_error", "se"),
        ("one_area", lambda: _r(EST[:1], se=SE[:1], areas=AREAS[:1]), "input_error", ""),
        ("empty", lambda: _r(EST[:0], se=SE[:0], areas=[]), "input_error", ""),
        ("all_equal", lambda: _r(np.full(M, 5.0), se=np.full(M, 1.0)), "any", ""),
        ("huge", lambda: _r(EST * 1e12, se=SE * 1e12), "ok", ""),
        ("tiny_se", lambda: _r(se=SE * 1e-300), "any", ""),
        ("top_0", lambda: _r(top=0), "input_error", "top"),
        ("top_too_big", lambda: _r(top=M + 1), "input_error", "top"),
        ("draws_0", lambda: _r(draws=0), "input_error", "draws"),
        ("draws_fraction", lambda: _r(draws=10.5), "input_error", "draws"),
        ("level_0", lambda: _r(level=0), "input_error", "level"),
        ("seed_text", lambda: _r(random_seed="x"), "input_error", "seed"),
        ("series_se_other_labels", lambda: rank_uncertainty(
            pd.Series(EST, index=AREAS), se=pd.Series(SE, index=range(M))), "input_error",
         "label"),
        ("areas_duplicated", lambda: _r(areas=["a"] * M), "input_error", "areas"),
        ("source_none", lambda: rank_uncertainty(None), "input_error", "source"),
        ("source_result_without_estimates", lambda: rank_uncertainty(
            most_similar()), "input_error", "to rank"),
    ]
    cases = [Named(fn, name, call, expect, pattern, promised=("rank", "lower", "upper"))
             for name, call, expect, pattern in rows]
    cases.append(Named(fn, "series_se_shuffled_matches", lambda: rank_uncertainty(
        pd.Series(EST, index=AREAS), se=pd.Series(SE, index=AREAS).iloc[SHUFFLE],
        random_seed=0, draws=500), "ok", check=_same_by_area(lambda: _r(), "rank"),
        promised=("rank",)))
    cases.append(Named(fn, "areas_reorder_series_matches", lambda: _r(
        pd.Series(EST, index=AREAS).iloc[SHUFFLE], se=pd.Series(SE, index=AREAS),
        areas=AREAS[::-1]), "ok", check=_same_by_area(lambda: _r(), "rank"),
        promised=("rank",)))
    cases.append(Named(fn, "same_seed_same_result", lambda: _r(random_seed=3), "ok",
                       check=_same_by_area(lambda: _r(random_seed=3), "prob_top"),
                       promised=("rank",)))
    return cases


# --------------------------------------------------------------------------------------------
# change_test, change_tests
# --------------------------------------------------------------------------------------------

YEARS = list(range(2010, 2019))
COUNTS = pd.Series([980.0, 1010, 995, 1020, 990, 1005, 1150, 1100, 1180], index=YEARS)
POP = pd.Series(np.linspace(1e5, 1.1e5, len(YEARS)), index=YEARS)
TABLE = pd.DataFrame({
    "year": np.tile(YEARS, 3), "force": np.repeat(["a", "b", "c"], len(YEARS)),
    "crimes": np.concatenate([COUNTS.to_numpy() * k for k in (1, 2, 3)]).round(),
    "residents": np.tile(POP.to_numpy(), 3)})


def _c(counts=COUNTS, exposure=None, **kw):
    return change_test(counts, exposure, **kw)


def _ct(data=TABLE, **kw):
    return change_tests(data, **{"count": "crimes", "time": "year", "by": "force", **kw})


def _change_cases() -> list[Named]:
    fn = "compare.change_test"
    promised = ("percent_change", "lower", "upper", "p_value")
    rows = [
        ("valid", lambda: _c(), "ok", ""),
        ("exposure_series", lambda: _c(exposure=POP), "ok", ""),
        ("exposure_shuffled", lambda: _c(exposure=POP.iloc[::-1]), "ok", ""),
        ("exposure_other_labels", lambda: _c(exposure=POP.set_axis(range(9))), "input_error",
         "label"),
        ("exposure_zero", lambda: _c(exposure=POP.where(POP.index != 2012, 0.0)),
         "input_error", "2012"),
        ("three_year", lambda: _c(compare="three_year"), "ok", ""),
        ("compare_bogus", lambda: _c(compare="month_on_month"), "input_error", "compare"),
        ("trend_bogus", lambda: _c(trend="cubic"), "input_error", "trend"),
        ("trend_negative", lambda: _c(trend=-1), "input_error", "trend"),
        ("kappa_negative", lambda: _c(kappa=-1.0), "input_error", "kappa"),
        ("autocorrelation_1", lambda: _c(autocorrelation=1.0), "input_error",
         "autocorrelation"),
        ("level_2", lambda: _c(level=2.0), "input_error", "level"),
        ("nan", lambda: _c(COUNTS.where(COUNTS.index != 2013)), "input_error", "2013"),
        ("inf", lambda: _c(COUNTS.replace(990.0, np.inf)), "input_error", "2014"),
        ("negative", lambda: _c(COUNTS.replace(990.0, -1.0)), "input_error", "2014"),
        ("fraction", lambda: _c(COUNTS.replace(990.0, 9.5)), "input_error", "2014"),
        ("text", lambda: _c(COUNTS.astype(object).replace(990.0, "x")), "input_error",
         "counts"),
        ("str_dtype", lambda: _c(COUNTS.astype(int).astype("str")), "any", ""),
        ("unsorted", lambda: _c(COUNTS.iloc[::-1]), "input_error", "order"),
        ("duplicated_year", lambda: _c(COUNTS.set_axis([*YEARS[:-1], YEARS[-2]])),
         "input_error", "repeat"),
        ("gap", lambda: _c(COUNTS.drop(2013)), "input_error", "2013"),
        ("one_year", lambda: _c(COUNTS.iloc[:1]), "input_error", ""),
        ("two_years", lambda: _c(COUNTS.iloc[:2]), "any", ""),
        ("empty", lambda: _c(COUNTS.iloc[:0]), "input_error", ""),
        ("all_zero", lambda: _c(COUNTS * 0), "any", ""),
        ("all_equal", lambda: _c(COUNTS * 0 + 500), "ok", ""),
        ("huge_1e12", lambda: _c(COUNTS * 1e9), "any", ""),
        ("recent_zero", lambda: _c(COUNTS.where(COUNTS.index != 2018, 0.0)), "any", ""),
        ("previous_zero", lambda: _c(COUNTS.where(COUNTS.index != 2017, 0.0)), "ok",
         "previous window"),
        ("array_with_time", lambda: _c(COUNTS.to_numpy(), time=YEARS), "ok", ""),
        ("time_wrong_length", lambda: _c(COUNTS.to_numpy(), time=YEARS[:-1]), "input_error",
         "time"),
        ("series_and_time_disagree", lambda: _c(COUNTS, time=[y + 1 for y in YEARS]), "any",
         ""),
        ("period_index", lambda: _c(COUNTS.set_axis(pd.period_range("2010", periods=9,
                                                                    freq="Y"))), "ok", ""),
        ("monthly_index", lambda: _c(pd.Series(np.tile(COUNTS.to_numpy(), 3)[:24], index=(
            pd.period_range("2017-01", periods=24, freq="M")))), "any", ""),
    ]
    cases = [Named(fn, name, call, expect, pattern, promised=promised)
             for name, call, expect, pattern in rows]
    cases.append(Named(fn, "exposure_shuffled_matches", lambda: _c(exposure=POP.iloc[::-1]),
                       "ok", promised=promised, check=lambda r: None if np.allclose(
                           r.estimates["p_value"].values, _c(exposure=POP)
                           .estimates["p_value"].values, rtol=1e-9)
                       else "exposure paired by position"))

    fn = "compare.change_tests"
    rows = [
        ("valid", lambda: _ct(), "ok", ""),
        ("exposure", lambda: _ct(exposure="residents"), "ok", ""),
        ("dispersion_series", lambda: _ct(dispersion="series"), "ok", ""),
        ("dispersion_number", lambda: _ct(dispersion=2.0), "ok", ""),
        ("dispersion_negative", lambda: _ct(dispersion=-2.0), "input_error", "dispersion"),
        ("dispersion_bogus", lambda: _ct(dispersion="global"), "input_error", "dispersion"),
        ("fdr_0", lambda: _ct(fdr=0.0), "input_error", "fdr"),
        ("fdr_method_bogus", lambda: _ct(fdr_method="holm"), "input_error", "fdr_method"),
        ("missing_column", lambda: _ct(count="offences"), "input_error", "offences"),
        ("duplicated_rows", lambda: _ct(pd.concat([TABLE, TABLE.iloc[[4]]])), "input_error",
         "a"),
        ("rows_shuffled", lambda: _ct(TABLE.sample(frac=1.0, random_state=1)), "ok", ""),
        ("missing_year_in_one_series", lambda: _ct(TABLE.drop(index=3)), "input_error", "a"),
        ("nan_count", lambda: _ct(_with(TABLE, 5, "crimes", np.nan)), "input_error", "a"),
        ("text_count", lambda: _ct(_with(TABLE, 5, "crimes", "x")), "input_error", "crimes"),
        ("negative_count", lambda: _ct(_with(TABLE, 5, "crimes", -3.0)), "input_error", "a"),
        ("nan_by_label", lambda: _ct(_with(TABLE, 5, "force", None)), "input_error",
         "force"),
        ("nan_time_label", lambda: _ct(_with(TABLE, 5, "year", None)), "input_error",
         "year"),
        ("no_rows", lambda: _ct(TABLE.iloc[:0]), "input_error", ""),
        ("one_series", lambda: _ct(TABLE[TABLE["force"] == "a"]), "ok", ""),
        ("all_zero", lambda: _ct(TABLE.assign(crimes=0.0)), "any", ""),
        ("huge", lambda: _ct(TABLE.assign(crimes=TABLE["crimes"] * 1e9)), "any", ""),
        ("pool_by_missing", lambda: _ct(pool_by="region"), "input_error", "region"),
        ("str_dtype_force", lambda: _ct(TABLE.assign(force=TABLE["force"].astype("str"))),
         "ok", ""),
    ]
    cases += [Named(fn, name, call, expect, pattern, promised=promised)
              for name, call, expect, pattern in rows]
    return cases


def _with(frame, row, column, value):
    out = frame.copy()
    out[column] = out[column].astype(object if value is None or isinstance(value, str)
                                     else float)
    out.loc[out.index[row], column] = value
    return out


def cases() -> list[Named]:
    """Every named case of the comparison functions (also run by the input battery)."""
    return _funnel_cases() + _peer_cases() + _rank_cases() + _change_cases()


CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_named_case(case):
    problem = case.problem(case.run())
    assert problem is None, problem


# --------------------------------------------------------------------------------------------
# Regression tests: `areas=` never relabels a labelled Series by position
# --------------------------------------------------------------------------------------------


def test_funnel_areas_order_a_labelled_series_by_label():
    obs = pd.Series(CRIMES, index=AREAS)
    res = funnel(obs, pd.Series(RESIDENTS, index=AREAS).iloc[SHUFFLE], areas=AREAS[::-1])
    assert list(res.estimates["area"].values) == AREAS[::-1]
    assert float(res.estimates["observed"].sel(area="F00")) == CRIMES[0]
    np.testing.assert_allclose(res.estimates["z"].sel(area=AREAS), _f().estimates["z"],
                               rtol=1e-12)
    # a column of the same table names the rows of the other columns
    frame = pd.DataFrame({"force": AREAS, "crimes": CRIMES, "residents": RESIDENTS})
    by_column = funnel(frame["crimes"], frame["residents"], areas=frame["force"])
    np.testing.assert_allclose(by_column.estimates["z"], _f().estimates["z"], rtol=1e-12)


def test_rank_areas_order_a_labelled_series_by_label():
    res = rank_uncertainty(pd.Series(EST, index=AREAS).iloc[SHUFFLE],
                           se=pd.Series(SE, index=AREAS), areas=AREAS, random_seed=0,
                           draws=500)
    np.testing.assert_array_equal(res.estimates["estimate"].values, EST)
