"""Property-based tests of `crimestats.changepoint.detect` and `detect_many` (issue 13).

* generated valid series (every registered segment model, both methods, lengths 4 to 40,
  scales from 1e-3 to 1e6, steps, trends, plain arrays or Series on monthly periods, with or
  without exposure) give finite probabilities and paths, or a crimestats error; never a
  generic exception;
* one invalid value (NaN, inf, text, a negative or fractional count) always raises
  `InputError`;
* an exposure given as a Series in shuffled order gives the fit of the aligned array, and a
  panel's columns in another order give the same fit per series.

The "quick" hypothesis profile runs by default, the "long" one under ``pytest -m slow``
(profiles in tests/conftest.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from input_harness import BAD, outcome

from crimestats.changepoint import detect, detect_many
from crimestats.changepoint.segments import get_model, model_names

# the warnings (over-dispersion, short series) are the documented outcome of some draws
pytestmark = pytest.mark.filterwarnings("ignore::crimestats.errors.CrimestatsWarning")
PROFILES = ["quick", pytest.param("long", marks=pytest.mark.slow)]
PROMISED = ("prob_change", "estimate", "lower", "upper")


@st.composite
def _series(draw, likelihood):
    n = draw(st.integers(4, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = 10.0 ** draw(st.integers(-3, 6))
    step = draw(st.sampled_from([1.0, 1.5, 0.5]))
    trend = draw(st.sampled_from([0.0, 0.02]))
    mean = scale * np.where(np.arange(n) < n // 2, 1.0, step) * np.exp(trend * np.arange(n))
    data = get_model(likelihood).data
    if data == "counts":
        y = rng.poisson(np.minimum(mean, 1e9)).astype(float)
    elif data == "positive":
        y = mean * np.exp(rng.normal(0.0, 0.2, n))
    else:
        y = mean + rng.normal(0.0, scale * 0.3, n) - scale
    exposure = rng.uniform(0.5, 2.0, n) * 1e4 if data == "counts" and draw(st.booleans()) \
        else None
    if draw(st.booleans()):
        y = pd.Series(y, index=pd.period_range("2015-01", periods=n, freq="M"))
    return y, exposure


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("method", ["bayes", "pelt"])
@pytest.mark.parametrize("likelihood", model_names())
def test_valid_series_give_finite_results(likelihood, method, profile):
    # count_trend integrates a grid of hyperparameters: seconds per fit in the quick run
    fewer = {"max_examples": 3} if likelihood == "count_trend" and profile == "quick" else {}

    @settings(settings.get_profile(profile), **fewer)
    @given(_series(likelihood))
    def check(case):
        y, exposure = case
        out = outcome(lambda: detect(y, likelihood, method=method, exposure=exposure,
                                     draws=20, random_seed=1), promised=PROMISED,
                      scalars=("prob_any_change",))
        assert out.kind not in BAD, f"{out.kind}: {out.detail}"
        if out.result is not None:
            res = out.result
            assert res.changepoints == sorted(res.changepoints)
            assert all(0 < c < len(res.estimates["time"]) for c in res.changepoints)
            prob = res.estimates["prob_change"].values
            assert np.all((prob >= 0) & (prob <= 1 + 1e-9))

    check()


_INVALID = {
    "nan": lambda v, i: _put(v, i, np.nan),
    "inf": lambda v, i: _put(v, i, np.inf),
    "text": lambda v, i: _put(v, i, "n/a"),
    "negative": lambda v, i: _put(v, i, -3.0),
    "fraction": lambda v, i: _put(v, i, 2.5),
}


def _put(values, position, new):
    arr = np.array(values, dtype=object if isinstance(new, str) else float)
    arr[position] = new
    return arr


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("likelihood", model_names("counts"))
def test_invalid_counts_raise_input_error(likelihood, profile):
    @settings(settings.get_profile(profile))
    @given(_series(likelihood), st.sampled_from(sorted(_INVALID)), st.integers(0, 3))
    def check(case, mutation, position):
        y, exposure = case
        bad = _INVALID[mutation](np.asarray(y, dtype=float), position)
        out = outcome(lambda: detect(bad, likelihood, exposure=exposure, draws=0))
        assert out.kind == "input_error", f"{mutation}: {out.kind}: {out.detail}"

    check()


@pytest.mark.parametrize("profile", PROFILES)
def test_exposure_series_is_matched_by_label(profile):
    @settings(settings.get_profile(profile))
    @given(st.integers(6, 30), st.integers(0, 2**32 - 1), st.sampled_from(["negbin",
                                                                           "poisson"]))
    def check(n, seed, likelihood):
        rng = np.random.default_rng(seed)
        months = pd.period_range("2018-01", periods=n, freq="M")
        exposure = rng.uniform(1e3, 1e4, n)
        y = pd.Series(rng.poisson(exposure * 0.01).astype(float), index=months)
        plain = detect(y, likelihood, exposure=exposure, draws=0, seasonal=None)
        order = rng.permutation(n)
        labelled = detect(y, likelihood, exposure=pd.Series(exposure, index=months).iloc[order],
                          draws=0, seasonal=None)
        np.testing.assert_allclose(labelled.estimates["prob_change"],
                                   plain.estimates["prob_change"], rtol=1e-12, atol=1e-15)

    check()


@pytest.mark.parametrize("profile", PROFILES)
def test_panel_columns_in_any_order_give_the_same_fits(profile):
    @settings(settings.get_profile(profile))
    @given(st.integers(8, 30), st.integers(2, 5), st.integers(0, 2**32 - 1))
    def check(n, k, seed):
        rng = np.random.default_rng(seed)
        wide = pd.DataFrame(rng.poisson(rng.uniform(5, 50, k), size=(n, k)).astype(float),
                            columns=[f"s{i}" for i in range(k)])
        a = detect_many(wide, "negbin", seasonal=None)
        b = detect_many(wide.iloc[:, rng.permutation(k)], "negbin", seasonal=None)
        assert a.changepoints == b.changepoints
        np.testing.assert_allclose(b.prob_national_change, a.prob_national_change, rtol=1e-9)

    check()
