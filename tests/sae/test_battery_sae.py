"""Named bad and awkward inputs of `crimestats.sae`, one row each, with the regression tests of
the cases issue 13 listed (the broad generated battery is ``benchmarks/input_battery.py``).

Each row is ``(id, call, expected kind, message pattern)``: the kind is what
``input_harness.outcome`` must report (``input_error``, ``crimestats_error`` or ``ok``) and the
pattern must be found in the error message.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from input_harness import outcome

from crimestats import EstimationError, InputError
from crimestats.sae import (
    adjacency_from_pairs,
    arcsin_fay_herriot,
    benchmark,
    benchmark_draws,
    bym2,
    diagnostics,
    fay_herriot,
    logit_binomial,
    mrp,
    multivariate_fay_herriot,
    poisson_lognormal,
    simulate_bym2_effects,
    spatio_temporal_fay_herriot,
    unit_level,
)

# the small examples here often give sigma2_u = 0, which DataWarning reports
pytestmark = pytest.mark.filterwarnings("ignore::crimestats.errors.DataWarning")

Y = [1.0, 2.0, 3.0, 1.5, 2.5, 3.5]
D = [1.0] * 6
RING = [(i, (i + 1) % 6) for i in range(6)]
P = [0.1, 0.2, 0.15, 0.3, 0.25, 0.12]
N = [100, 80, 90, 70, 60, 120]
COUNTS = [12, 30, 0, np.nan, 8, 20]
EXPOSURE = [2000, 5000, 800, 6000, 2500, 3000]
DRAWS = np.random.default_rng(1).normal([0.1, 0.2, 0.3], 0.02, size=(100, 3))


def _unit_data():
    rng = np.random.default_rng(3)
    dom = np.repeat(np.arange(6), 5)
    x = rng.normal(size=30)
    y = 1 + 2 * x + rng.normal(0, 0.5, 6)[dom] + rng.normal(size=30)
    return y, x, dom, pd.DataFrame({"x": rng.normal(0, 0.3, 6)}), pd.Series(
        rng.integers(50, 100, 6).astype(float))


CASES = [
    # issue 13, item 5: extremes give a typed error, never NaN with converged=True
    *[(f"fay_herriot[{m}]:direct_1e300", lambda m=m: fay_herriot(
        [1, 2, 3, 1e300, 2, 3], D, method=m), "crimestats_error", "out of the range")
      for m in ("reml", "ml", "fh", "hb")],
    ("fay_herriot[hb]:variance_1e-300", lambda: fay_herriot(Y, [1e-300] * 6, method="hb"),
     "crimestats_error", "out of the range"),
    ("fay_herriot[hb]:variance_1e300", lambda: fay_herriot(Y, [1.0, 1, 1e300, 1, 1, 1],
                                                           method="hb"),
     "crimestats_error", "out of the range"),
    ("fay_herriot[spatial]:direct_1e300", lambda: fay_herriot(
        [1, 2, 3, 1e300, 2, 3], D, proximity=RING), "crimestats_error", "out of the range"),
    ("fay_herriot[spatial]:variance_1e-300", lambda: fay_herriot(
        Y, [1e-300] * 6, proximity=RING), "crimestats_error", "out of the range"),
    ("poisson_lognormal:all_zero_counts", lambda: poisson_lognormal(
        [0, 0, 0, 0, 0], [100, 200, 300, 400, 500]), "crimestats_error", "every sampled"),
    ("poisson_lognormal:exposure_1e-300", lambda: poisson_lognormal(
        [1, 2, 3, 4, 5], [1e-300] * 5), "crimestats_error", "`exposure` is out of the range"),
    ("poisson_lognormal:count_1e300", lambda: poisson_lognormal(
        [1, 2, 1e300, 4, 5], [100] * 5), "crimestats_error", "`counts` is out of the range"),
    ("logit_binomial:sample_size_1e15", lambda: logit_binomial(P, [1e15] * 6),
     "crimestats_error", "a sample size counts respondents"),
    ("logit_binomial:all_zero", lambda: logit_binomial([0.0] * 6, N), "crimestats_error",
     "every sampled"),
    ("logit_binomial:all_one", lambda: logit_binomial([1.0] * 6, N), "crimestats_error",
     "every sampled"),
    ("unit_level:constant_y", lambda: unit_level(np.zeros(30), *_unit_data()[1:]),
     "crimestats_error", "same value"),
    # issue 13, item 6: accepted though invalid
    ("logit_binomial:fractional_sample_size", lambda: logit_binomial(P, [100.5, *N[1:]]),
     "input_error", "whole numbers"),
    ("arcsin_fay_herriot:fractional_sample_size", lambda: arcsin_fay_herriot(
        P, [100.5, *N[1:]]), "input_error", "whole numbers"),
    ("unit_level:nan_population_size", lambda: unit_level(
        *_unit_data()[:4], _unit_data()[4].where(lambda s: s.index != 1)),
     "input_error", "`population_sizes` has infinite or NaN"),
    # generic exceptions of issue 13
    ("mrp:no_respondents", lambda: mrp(
        pd.DataFrame({"victim": [], "area": [], "age": []}),
        pd.DataFrame({"area": ["a", "a"], "age": ["y", "o"], "adults": [10, 20]}),
        outcome="victim", area="area", covariates=["age"], population="adults"),
     "input_error", "no rows"),
    ("simulate_bym2_effects:sigma_text", lambda: simulate_bym2_effects(
        adjacency_from_pairs([(0, 1)], areas=[0, 1]), sigma="big"), "input_error", "`sigma`"),
    ("diagnostics:dataframe", lambda: diagnostics(pd.DataFrame({"estimate": [1.0]})),
     "input_error", "fitted crimestats result"),
    ("multivariate:variance_text", lambda: multivariate_fay_herriot(
        np.ones((10, 2)), np.full((10, 2), "x")), "input_error", "numeric"),
    ("multivariate:direct_one_short", lambda: multivariate_fay_herriot(
        np.ones((9, 2)), np.ones((10, 2))), "input_error", "`variance`"),
    # messages with the right noun and name
    ("fay_herriot:negligible_column", lambda: fay_herriot(Y, D, [1.0, 2, 3, 4, 5, 1e300]),
     "crimestats_error", "`covariates` is out of the range"),
    ("benchmark_draws:nan_names_draw_and_area", lambda: benchmark_draws(
        pd.DataFrame(np.where(np.arange(300).reshape(100, 3) == 151, np.nan, DRAWS),
                     columns=["x", "y", "z"]), 0.2), "input_error", "draw(s) (rows 50) of area 'y'"),
    ("benchmark_draws:one_dimensional", lambda: benchmark_draws(DRAWS[0], 0.2), "input_error",
     "must be 2-D"),
    ("spatio_temporal:period_gap", lambda: spatio_temporal_fay_herriot(
        np.ones(12), np.ones(12), area=np.repeat(range(4), 3),
        period=np.tile([2019, 2020, 2022], 4), proximity=[(0, 1), (1, 2), (2, 3)]),
     "input_error", "skips 1 period"),
    ("benchmark:target_inf", lambda: benchmark([0.1, 0.2], np.inf), "input_error", "`target`"),
]


@pytest.mark.parametrize(("call", "kind", "pattern"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_named_case(call, kind, pattern):
    out = outcome(call, promised=("estimate", "rmse", "sd", "lower", "upper"),
                  scalars=("sigma2_u", "beta"))
    assert out.kind == kind, out.detail
    assert pattern in out.detail


# --------------------------------------------------------------------------------------------
# Regression tests of issue 13 with more to check than the kind of outcome
# --------------------------------------------------------------------------------------------


def test_poisson_area_without_count_gets_the_model_prediction():
    """Issue 13 item 1: area 3 (no count) got 195,225.7 per 1,000 with SD 2.4e11."""
    fit = poisson_lognormal(COUNTS, EXPOSURE, per=1000)
    area = fit.estimates.isel(area=3)
    assert not bool(area["in_sample"]) and float(area["effective_exposure"]) == 6000.0
    # the log-normal prediction at the posterior mode of sigma_u, with beta's uncertainty
    sigma = fit.diagnostics["sigma_u_mode"]
    spread2 = sigma**2 + fit.beta_se[0] ** 2
    assert float(area["estimate"]) == pytest.approx(
        1000 * np.exp(fit.beta[0] + spread2 / 2), rel=1e-9)
    assert float(area["lower"]) < 1000 * np.exp(fit.beta[0]) < float(area["upper"])
    sampled = fit.estimates.isel(area=[0, 1, 2, 4, 5])
    assert np.all(sampled["estimate"].values < 10) and float(area["estimate"]) < 100


@pytest.mark.parametrize("method", ["reml", "ml", "fh", "hb"])
def test_areas_never_relabel_a_labelled_series(method):
    """Issue 13 item 2: area 'a''s value was published as 'd'."""
    direct = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 2.5], index=list("abcdef"))
    fit = fay_herriot(direct, D, areas=list("fedcba"), method=method)
    assert list(fit.estimates["area"].values) == list("fedcba")
    assert float(fit.estimates["direct"].sel(area="a")) == 1.0
    plain = fay_herriot(direct.to_numpy(), D, areas=list("abcdef"), method=method)
    np.testing.assert_allclose(fit.estimates["estimate"].sel(area=list("abcdef")),
                               plain.estimates["estimate"], rtol=1e-9)
    with pytest.raises(InputError, match="labels differ"):
        fay_herriot(direct, D, areas=list("abcdeX"), method=method)


@pytest.mark.parametrize("call", [
    lambda y, n, x, lab: logit_binomial(y, n, x, areas=lab),
    lambda y, n, x, lab: arcsin_fay_herriot(y, n, x, areas=lab),
    lambda y, n, x, lab: poisson_lognormal(y * n, n * 10, x, areas=lab),
], ids=["logit_binomial", "arcsin_fay_herriot", "poisson_lognormal"])
def test_prevalence_models_match_labelled_inputs_by_label(call):
    """Issue 13 item 2: labels were ignored and inputs paired by position."""
    labels = list("abcdefgh")
    rng = np.random.default_rng(2)
    n = rng.integers(50, 300, 8).astype(float)
    x = rng.normal(size=8)
    y = np.round(rng.uniform(0.05, 0.3, 8) * n) / n
    plain = call(y, n, x, labels)
    order = [3, 1, 7, 0, 2, 6, 5, 4]
    series = [pd.Series(v, index=labels).iloc[order] for v in (y, n, x)]
    shuffled = call(*series, None)
    assert list(shuffled.estimates["area"].values) == [labels[i] for i in order]
    np.testing.assert_allclose(shuffled.estimates["estimate"].sel(area=labels),
                               plain.estimates["estimate"], rtol=1e-7)


def test_benchmarks_match_weights_by_area():
    fit = fay_herriot(pd.Series(Y, index=list("abcdef")), D)
    weights = pd.Series([0.1, 0.2, 0.1, 0.2, 0.3, 0.1], index=list("fedcba"))
    res = benchmark(fit, 2.0, weights=weights, method="difference")
    assert float(res.estimates["weight"].sel(area="a")) == 0.1
    assert float(res.estimates["weight"].sel(area="b")) == 0.3
    draws = pd.DataFrame(DRAWS, columns=["x", "y", "z"])
    res = benchmark_draws(draws, 0.2, weights=pd.Series([0.5, 0.3, 0.2], index=["z", "y", "x"]))
    assert float(res.estimates["weight"].sel(area="z")) == 0.5
    np.testing.assert_allclose(res.draws @ np.array([0.2, 0.3, 0.5]), 0.2)


def test_unit_level_aligns_y_and_covariates_by_unit():
    """Issue 13 item 2: sigma2_e went from 0.79 to 3.67 when the covariates were shuffled."""
    y, x, dom, means, sizes = _unit_data()
    plain = unit_level(y, pd.DataFrame({"x": x}), dom, means, sizes)
    order = np.random.default_rng(0).permutation(30)
    shuffled = unit_level(pd.Series(y), pd.DataFrame({"x": x}).iloc[order], pd.Series(dom),
                          means, sizes)
    assert shuffled.sigma2_e == pytest.approx(plain.sigma2_e, rel=1e-10)
    np.testing.assert_allclose(shuffled.beta, plain.beta, rtol=1e-10)


def test_bym2_aligns_labelled_inputs():
    """Issue 13 item 2: bym2 raised on labelled inputs in different orders."""
    labels = [f"r{i}" for i in range(6)]
    pairs = [(labels[a], labels[b]) for a, b in RING]
    plain = bym2(Y, D, adjacency=pairs, areas=labels)
    shuffled = bym2(pd.Series(Y, index=labels), pd.Series(D, index=labels).iloc[::-1],
                    adjacency=pairs)
    np.testing.assert_allclose(shuffled.estimates["estimate"], plain.estimates["estimate"],
                               rtol=1e-9)


def test_fay_herriot_converged_only_with_finite_numbers():
    """Issue 13 item 5: every estimate NaN, converged=True, sigma2_u = inf."""
    with pytest.raises(EstimationError, match="`direct`"):
        fay_herriot([1, 2, 3, 1e300, 2, 3], D)
    # large but representable units: the fit is the same in any unit
    small = fay_herriot(Y, [0.1] * 6)
    large = fay_herriot(np.array(Y) * 1e30, [0.1e60] * 6)
    assert large.converged and large.sigma2_u == pytest.approx(small.sigma2_u * 1e60, rel=1e-8)
    np.testing.assert_allclose(large.estimates["estimate"], small.estimates["estimate"] * 1e30,
                               rtol=1e-8)


def test_collinear_message_names_the_columns():
    with pytest.raises(InputError, match=r"'x2' is a linear combination of \['x1'\]"):
        fay_herriot(Y, D, np.column_stack([np.arange(6.0), 2 * np.arange(6.0)]),
                    intercept=False)


def test_netcdf_keeps_text_and_period_labels(tmp_path):
    fit = fay_herriot(pd.Series(Y, index=[f"E{i}" for i in range(6)]), D)
    fit.to_netcdf(tmp_path / "fh.nc")
    with xr.open_dataset(tmp_path / "fh.nc", engine="h5netcdf") as back:
        assert back["area"].dtype.kind == "U"
        assert back["area"].values.tolist() == [f"E{i}" for i in range(6)]
        np.testing.assert_array_equal(back["in_sample"].values, np.ones(6, dtype=bool))
    mixed = fay_herriot(pd.Series(Y, index=[1, "b", 3, "d", 5, "f"]), D)
    mixed.to_netcdf(tmp_path / "mixed.nc")
    with xr.open_dataset(tmp_path / "mixed.nc", engine="h5netcdf") as back:
        assert back["area"].values.tolist() == ["1", "b", "3", "d", "5", "f"]
        assert back["area"].attrs["crimestats_labels"] == "mixed"
