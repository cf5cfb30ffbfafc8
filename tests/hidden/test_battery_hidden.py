"""Table-driven battery of bad and awkward inputs to the hidden-demand functions.

Every case must end in a `crimestats.InputError` whose message contains the expected words
(never a generic numpy/pandas/scipy exception, never a silent NaN or infinity); the valid
awkward cases must give finite numbers. Regression cases of issue 13 are marked in their ids.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from crimestats import CrimestatsError, InputError
from crimestats.datasets import simulate_dark_figure
from crimestats.hidden import (
    dark_figure,
    multiple_systems,
    multiple_systems_sensitivity,
    reporting_rates,
)

LISTS = pd.DataFrame({"A": [1, 0, 1, 1, 0, 0, 1], "B": [0, 1, 1, 0, 1, 0, 1],
                      "C": [0, 0, 0, 1, 1, 1, 1], "count": [60, 40, 20, 15, 12, 30, 5]})
SIM = simulate_dark_figure(n_areas=3, random_seed=1)
QUICK = dict(chains=2, burn=20, draws=10, thin=1, random_seed=1)
MSE_METHODS = ["independence", "loglinear", "dga", "bayes", "mh_chao", "mth_poisson",
               "mth_darroch", "mh_gamma"]


def _counts(values) -> pd.DataFrame:
    return LISTS.assign(count=values)


MSE_BAD = {
    "issue13-infinite-count": (_counts([60, np.inf, 20, 15, 12, 30, 5]), "infinite"),
    "issue13-text-in-count": (_counts(["60", "x", "20", "15", "12", "30", "5"]),
                              "must hold numbers"),
    "issue13-no-count-column": (LISTS.rename(columns={"count": "n"}), "no `count` column"),
    "negative-count": (_counts([60, -4, 20, 15, 12, 30, 5]), "negative"),
    "fractional-count": (_counts([60, 4.5, 20, 15, 12, 30, 5]), "whole numbers"),
    "missing-count": (_counts([60, None, 20, 15, 12, 30, 5]), "missing"),
    "astronomical-count": (_counts([6e300, 4e300, 2e300, 1e300, 1e300, 3e300, 5e299]),
                           "world's population"),
    "all-zero-counts": (_counts([0] * 7), "no observed cases"),
    "list-column-text": (LISTS.assign(A=["1", "0", "yes", "1", "0", "0", "1"]), "0/1"),
    "list-column-two": (LISTS.assign(A=[1, 0, 2, 1, 0, 0, 1]), "only 0 or 1"),
    "one-list": (LISTS[["A", "count"]], "at least two lists"),
    "not-a-frame": (LISTS.to_numpy(), "DataFrame"),
    "all-zero-history": (pd.concat([LISTS, pd.DataFrame({"A": [0], "B": [0], "C": [0],
                                                         "count": [3]})]), "all-zero"),
}


@pytest.mark.parametrize("method", MSE_METHODS)
@pytest.mark.parametrize("case", list(MSE_BAD))
def test_multiple_systems_bad_tables(case, method):
    table, words = MSE_BAD[case]
    with pytest.raises(InputError, match=words):
        multiple_systems(table, method, **QUICK)


MSE_BAD_ARGS = {
    "unknown-method": (dict(method="magic"), "method"),
    "level-percent": (dict(level=95), "level"),
    "posterior-for-loglinear": (dict(interval="posterior"), "interval"),
    "negative-burn": (dict(method="bayes", burn=-1), "burn"),
    "zero-thin": (dict(method="bayes", thin=0), "thin"),
    "fractional-draws": (dict(method="bayes", draws=2.5), "draws"),
    "negative-theta": (dict(method="mh_poisson", theta=-1.0), "theta"),
    "nan-delta": (dict(method="dga", delta=float("nan")), "delta"),
    "pthresh-one": (dict(pthresh=1.0), "pthresh"),
    "heterogeneity-two-lists": (dict(method="mth_chao", lists=None), "at least 3"),
}


@pytest.mark.parametrize("case", list(MSE_BAD_ARGS))
def test_multiple_systems_bad_arguments(case):
    kwargs, words = MSE_BAD_ARGS[case]
    table = LISTS if "lists" not in kwargs else pd.DataFrame(
        {"A": [1, 0, 1], "B": [0, 1, 1], "count": [60, 40, 20]})
    with pytest.raises(InputError, match=words):
        multiple_systems(table, **kwargs)


@pytest.mark.parametrize("method", MSE_METHODS)
def test_multiple_systems_awkward_but_valid(method):
    """Duplicated histories, zeros, a stratum of one history: finite answers or a typed error."""
    table = pd.concat([LISTS, LISTS.iloc[[0]]], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = multiple_systems(table, method, **QUICK)
        except CrimestatsError:
            return
    assert np.isfinite([fit.total, fit.lower, fit.upper]).all()
    assert fit.lower <= fit.total <= fit.upper


def test_sensitivity_table_has_no_silent_nan():
    """A method that cannot be fitted says why in `note`; the others give finite numbers."""
    table = pd.DataFrame({"A": [1, 0, 0, 1], "B": [0, 1, 0, 1], "C": [0, 0, 1, 0],
                          "count": [50, 40, 30, 20]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = multiple_systems_sensitivity(table)
    df = res.table()
    missing = ~np.isfinite(df["estimate"].to_numpy(dtype=float))
    assert (df.loc[missing, "note"].str.len() > 0).all()


def _dark(**changes):
    survey, recorded, population = SIM.survey, SIM.recorded, SIM.population
    survey = changes.pop("survey", survey)
    recorded = changes.pop("recorded", recorded)
    population = changes.pop("population", population)
    return lambda: dark_figure(survey, recorded, SIM.mapping, population=population,
                               random_seed=1, **changes)


DARK_BAD = {
    "issue13-duplicated-survey-row": (
        _dark(survey=pd.concat([SIM.survey, SIM.survey.iloc[[0]]], ignore_index=True)),
        "more than one row"),
    "issue13-population-zero": (
        _dark(population=SIM.population.assign(population=[0, 10_000, 20_000])), "positive"),
    "population-nan": (
        _dark(population=SIM.population.assign(population=[np.nan, 10_000, 20_000])),
        "infinite or NaN"),
    "population-missing-area": (_dark(population=SIM.population.iloc[:2]), "area 03"),
    "issue13-recorded-not-whole": (
        _dark(recorded=SIM.recorded.assign(recorded=SIM.recorded["recorded"] + 0.5)),
        "whole"),
    "recorded-negative": (
        _dark(recorded=SIM.recorded.assign(recorded=-SIM.recorded["recorded"])), "whole"),
    "duplicated-recorded-row": (
        _dark(recorded=pd.concat([SIM.recorded, SIM.recorded.iloc[[0]]], ignore_index=True)),
        "more than one row"),
    "issue13-reporting-rate-above-one": (
        _dark(survey=SIM.survey.assign(reporting_rate=1.2)), "between 0 and 1"),
    "reporting-rate-percent": (
        _dark(survey=SIM.survey.assign(reporting_rate=40.0)), "between 0 and 1"),
    "incidents-text": (
        _dark(survey=SIM.survey.assign(incidents="many")), "not numeric"),
    "incidents-inf": (
        _dark(survey=SIM.survey.assign(incidents=np.inf)), "not numeric"),
    "rate-draws-above-one": (
        _dark(reporting_rate_draws=np.full((200, len(SIM.survey)), 1.5)), "within"),
    "few-draws": (_dark(n_draws=10), "n_draws"),
}


@pytest.mark.parametrize("case", list(DARK_BAD))
def test_dark_figure_bad_inputs(case):
    call, words = DARK_BAD[case]
    with pytest.raises(InputError, match=words):
        call()


def test_dark_figure_population_series_is_aligned_by_label():
    """A population Series in another order (and with extra areas) is matched by area."""
    frame = _dark()()
    series = SIM.population.set_index("area")["population"]
    shuffled = pd.concat([series.iloc[::-1], pd.Series({"elsewhere": 5.0})])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_series = _dark(population=shuffled)()
    np.testing.assert_array_equal(by_series.estimates["incidents_per_1000"],
                                  frame.estimates["incidents_per_1000"])


def _incidents(**cols) -> pd.DataFrame:
    base = {"told": [1, 0, 1, 1, 0], "w": [2.0, 2.0, 1.0, 1.0, 2.0],
            "type": ["a", "a", "b", "b", "b"]}
    base.update(cols)
    return pd.DataFrame(base)


RATES_BAD = {
    "issue13-empty-frame": (pd.DataFrame({"told": [], "w": [], "type": []}), "no rows"),
    "reported-two": (_incidents(told=[1, 0, 2, 1, 0]), "must be 1/True"),
    "reported-text": (_incidents(told=["yes", "no", "yes", "no", "yes"]), "must be 1/True"),
    "weight-negative": (_incidents(w=[2.0, -2.0, 1.0, 1.0, 2.0]), "non-negative"),
    "weight-inf": (_incidents(w=[2.0, np.inf, 1.0, 1.0, 2.0]), "finite"),
    "group-all-zero-weight": (_incidents(w=[2.0, 2.0, 0.0, 0.0, 0.0]), "no incident"),
    "group-missing": (_incidents(type=["a", None, "b", "b", "b"]), "missing"),
}


@pytest.mark.parametrize("case", list(RATES_BAD))
def test_reporting_rates_bad_inputs(case):
    frame, words = RATES_BAD[case]
    with pytest.raises(InputError, match=words):
        reporting_rates(frame, "told", "w", by="type")


@pytest.mark.parametrize("kwargs,words", [
    (dict(reporting_rate=(1.4, 0.2)), "reporting_rate"),
    (dict(recording_rate=(0.8, 70.0)), "recording_rate"),
    (dict(rate_per_1000=(-1.0, 20.0)), "rate_per_1000"),
    (dict(n_areas=0), "n_areas"),
])
def test_simulate_dark_figure_refuses_impossible_shares(kwargs, words):
    with pytest.raises(InputError, match=words):
        simulate_dark_figure(**kwargs)


def test_dark_figure_draws_frame_is_aligned_by_label():
    """Draws given as a DataFrame are matched to the survey rows by column label."""
    rng = np.random.default_rng(0)
    draws = pd.DataFrame(rng.uniform(0.2, 0.6, size=(300, len(SIM.survey))),
                         columns=SIM.survey.index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ordered = _dark(reporting_rate_draws=draws)()
        shuffled = _dark(reporting_rate_draws=draws[draws.columns[::-1]])()
    np.testing.assert_array_equal(ordered.estimates["reported"], shuffled.estimates["reported"])
    with pytest.raises(InputError, match="labels differ"):
        _dark(reporting_rate_draws=draws.rename(columns={0: "x"}))()
