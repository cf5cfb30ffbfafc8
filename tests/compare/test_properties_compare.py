"""Property-based tests of `crimestats.compare` (issue 13): generated valid areas (sizes,
rates, exposures from 10 to 1e8, plain or labelled in shuffled orders) give finite funnel
z-scores, ranks and change tests, or a crimestats error, never a generic exception; labelled
inputs are matched by label; one invalid count always raises `InputError`.

The "quick" hypothesis profile runs by default, the "long" one under ``pytest -m slow``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from input_harness import BAD, outcome

from crimestats.compare import change_test, funnel, rank_uncertainty

# the warnings (over-dispersion, short series) are the documented outcome of some draws
pytestmark = pytest.mark.filterwarnings("ignore::crimestats.errors.CrimestatsWarning")
PROFILES = ["quick", pytest.param("long", marks=pytest.mark.slow)]
METHODS = ["exact", "chisq", "normal", "multiplicative", "additive"]


@st.composite
def _areas(draw):
    m = draw(st.integers(3, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    exposure = rng.uniform(0.2, 5.0, m) * 10.0 ** draw(st.integers(1, 8))
    rate = 10.0 ** draw(st.integers(-5, -1)) * rng.gamma(draw(st.sampled_from([2.0, 50.0])),
                                                          1.0, m) / 10
    observed = rng.poisson(np.minimum(rate * exposure, 1e12)).astype(float)
    return observed, exposure, [f"area{i}" for i in range(m)], rng


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("method", METHODS)
def test_funnel_valid_areas_give_finite_z_matched_by_label(method, profile):
    @settings(settings.get_profile(profile))
    @given(_areas())
    def check(case):
        observed, exposure, labels, rng = case
        out = outcome(lambda: funnel(observed, exposure, method=method, areas=labels),
                      promised=("rate", "z"), scalars=("target",))
        assert out.kind not in BAD, f"{out.kind}: {out.detail}"
        if out.result is None:
            return
        order = rng.permutation(len(labels))
        shuffled = funnel(pd.Series(observed, index=labels).iloc[order],
                          pd.Series(exposure, index=labels), method=method)
        np.testing.assert_allclose(shuffled.estimates["z"].sel(area=labels),
                                   out.result.estimates["z"], rtol=1e-9, equal_nan=True)

    check()


@pytest.mark.parametrize("profile", PROFILES)
def test_funnel_invalid_count_raises_input_error(profile):
    @settings(settings.get_profile(profile))
    @given(_areas(), st.sampled_from([np.nan, np.inf, -1.0, 2.5, "x"]), st.integers(0, 2))
    def check(case, value, position):
        observed, exposure, labels, _ = case
        bad = np.array(observed, dtype=object if isinstance(value, str) else float)
        bad[position] = value
        out = outcome(lambda: funnel(bad, exposure, areas=labels))
        assert out.kind == "input_error", f"{value!r}: {out.kind}: {out.detail}"

    check()


@pytest.mark.parametrize("profile", PROFILES)
def test_ranks_of_valid_estimates_are_places(profile):
    @settings(settings.get_profile(profile))
    @given(st.integers(2, 30), st.integers(0, 2**32 - 1), st.integers(-6, 6))
    def check(m, seed, power):
        rng = np.random.default_rng(seed)
        est = rng.normal(0, 1, m) * 10.0**power
        se = rng.uniform(0.1, 1, m) * 10.0**power
        out = outcome(lambda: rank_uncertainty(est, se=se, draws=200, random_seed=seed),
                      promised=("rank", "lower", "upper"))
        assert out.kind not in BAD, f"{out.kind}: {out.detail}"
        if out.result is not None:
            ds = out.result.estimates
            assert np.all((ds["lower"] >= 1) & (ds["upper"] <= m) & (ds["lower"] <= ds["upper"]))

    check()


@pytest.mark.parametrize("profile", PROFILES)
def test_change_test_of_valid_counts_is_finite(profile):
    @settings(settings.get_profile(profile))
    @given(st.integers(2, 15), st.integers(0, 2**32 - 1), st.integers(0, 6),
           st.sampled_from(["year_on_year", "three_year"]))
    def check(n, seed, power, compare):
        rng = np.random.default_rng(seed)
        counts = pd.Series(rng.poisson(10.0**power, n).astype(float),
                           index=range(2000, 2000 + n))
        out = outcome(lambda: change_test(counts, compare=compare),
                      promised=("percent_change", "p_value"))
        assert out.kind not in BAD, f"{out.kind}: {out.detail}"

    check()
