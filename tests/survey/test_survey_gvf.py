"""Variance smoothing (generalised variance functions)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import crimestats
from crimestats import survey
from crimestats.datasets import simulate_survey


def direct_estimates(*args, **kwargs) -> xr.Dataset:
    """The estimates dataset of `crimestats.survey.direct_estimates` (what these tests read)."""
    return survey.direct_estimates(*args, **kwargs).estimates


def smooth_variances(*args, **kwargs) -> xr.Dataset:
    """The estimates dataset of `crimestats.survey.smooth_variances`."""
    return survey.smooth_variances(*args, **kwargs).estimates


def _toy(variance, n, flag, estimate=None) -> xr.Dataset:
    m = len(n)
    est = np.full(m, 0.2) if estimate is None else np.asarray(estimate, dtype=float)
    ds = xr.Dataset(
        {"estimate": ("area", est), "variance": ("area", np.asarray(variance, dtype=float)),
         "n": ("area", np.asarray(n)), "flag": ("area", np.asarray(flag)),
         "sum_weights": ("area", np.asarray(n, dtype=float) * 100.0),
         "lower": ("area", est), "upper": ("area", est)},
        coords={"area": [f"a{i}" for i in range(m)]},
        attrs={"level": 0.9, "outcome_type": "proportion", "scale": 1.0},
    )
    return ds


def test_deff_method_by_hand():
    n = np.array([40, 100, 25, 1, 12, 0, 60, 8])
    var = np.array([0.006, 0.002, 0.009, 0.0, 0.0, np.nan, 0.003, 0.03])
    flag = ["ok", "ok", "ok", "single_respondent", "single_psu", "no_sample", "lonely_psu",
            "ok"]
    out = smooth_variances(_toy(var, n, flag), min_n=10, df_correction=False)
    fit = np.array([0, 1, 2, 6])          # reliable: usable flag, n >= 10, variance > 0
    k = np.sum(n[fit] ** 2 * var[fit]) / np.sum(n[fit])
    assert out.attrs["gvf_parameters"]["k"] == pytest.approx(k, rel=1e-12)
    assert out.attrs["gvf_areas_fitted"] == 4
    expected_smooth = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
    np.testing.assert_allclose(out["variance_smoothed"], expected_smooth, rtol=1e-12)
    replaced = np.array([False, False, False, True, True, False, False, True])
    np.testing.assert_array_equal(out["replaced"], replaced)
    final = np.where(replaced, expected_smooth, var)
    np.testing.assert_allclose(out["variance"], final, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(out["variance_raw"], var, equal_nan=True)
    np.testing.assert_allclose(out["se"], np.sqrt(final), equal_nan=True)
    z = 1.6448536269514722  # level 0.9 kept from the input
    np.testing.assert_allclose(out["upper"] - out["estimate"], z * np.sqrt(final),
                               rtol=1e-10, equal_nan=True)
    # pooled design effect for a proportion: k / (p(1-p)) with the overall prevalence 0.2
    assert out.attrs["deff_pooled"] == pytest.approx(k / 0.16, rel=1e-12)


def test_replace_all_uses_the_model_everywhere():
    n = np.array([40, 100, 25, 50])
    var = np.array([0.006, 0.002, 0.009, 0.004])
    out = smooth_variances(_toy(var, n, ["ok"] * 4), replace="all", df_correction=False)
    assert out["replaced"].all()
    np.testing.assert_allclose(out["variance"], out["variance_smoothed"])


def test_loglinear_recovers_an_exact_power_law():
    n = np.array([10, 20, 40, 80, 160, 3, 1])
    var = 0.5 * n.astype(float) ** -0.8
    var[5:] = [0.0, 0.0]
    out = smooth_variances(_toy(var, n, ["ok"] * 5 + ["single_psu", "single_respondent"]),
                           method="loglinear", df_correction=False)
    par = out.attrs["gvf_parameters"]
    assert par["a"] == pytest.approx(np.log(0.5), rel=1e-10)
    assert par["b"] == pytest.approx(-0.8, rel=1e-10)
    assert par["smearing"] == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(out["variance"].values[5:], 0.5 * n[5:] ** -0.8, rtol=1e-10)


def test_too_few_reliable_areas_and_bad_arguments():
    out = _toy([0.0, 0.0], [1, 5], ["single_respondent", "single_psu"])
    with pytest.raises(crimestats.InputError, match="Only 0 areas"):
        smooth_variances(out, df_correction=False)
    ok = _toy([0.01, 0.02], [20, 10], ["ok", "ok"])
    with pytest.raises(crimestats.InputError, match="needs 3"):
        smooth_variances(ok, method="loglinear", df_correction=False)
    with pytest.raises(crimestats.InputError, match="method"):
        smooth_variances(ok, method="spline", df_correction=False)
    with pytest.raises(crimestats.InputError, match="min_n"):
        smooth_variances(ok, min_n=1, df_correction=False)
    with pytest.raises(crimestats.InputError, match="lacks"):
        smooth_variances(ok.drop_vars("flag"))
    with pytest.raises(crimestats.InputError, match="df_correction=False"):
        smooth_variances(ok)


def test_on_simulated_survey_every_sampled_area_gets_a_positive_variance():
    sim = simulate_survey(n_areas=150, random_seed=21)
    est = direct_estimates(sim.respondents, y="victim", area="area", weight="weight",
                           strata="stratum", psu="psu", areas=sim.areas["area"])
    out = smooth_variances(est)
    sampled = est["n"].values > 0
    assert np.all(out["variance"].values[sampled] > 0)
    assert np.all(np.isnan(out["variance"].values[~sampled]))
    bad = np.isin(est["flag"].values, ["single_respondent", "single_psu", "zero_variance"])
    assert bad.any() and np.all(out["replaced"].values[bad])
    # kept areas keep their direct variance
    kept = ~out["replaced"].values & sampled
    np.testing.assert_array_equal(out["variance"].values[kept], est["variance"].values[kept])
    # the pooled design effect is of the order the design implies (clusters of ~15, ICC > 0)
    assert 0.8 < out.attrs["deff_pooled"] < 3.0


def test_df_correction_inflates_the_fitted_variances_by_psus_over_df():
    n = np.array([40, 100, 25, 1])
    var = np.array([0.006, 0.002, 0.009, 0.0])
    ds = _toy(var, n, ["ok", "ok", "ok", "single_respondent"])
    ds["n_psu"] = ("area", np.array([2, 5, 3, 1]))
    ds["n_strata"] = ("area", np.array([1, 1, 2, 1]))
    out = smooth_variances(ds)  # df_correction=True by default
    corrected = var[:3] * np.array([2 / 1, 5 / 4, 3 / 1])
    k = np.sum(n[:3] ** 2 * corrected) / np.sum(n[:3])
    assert out.attrs["gvf_parameters"]["k"] == pytest.approx(k, rel=1e-12)
    assert out.attrs["gvf_df_correction"] is True
    # the direct variances kept in the output are not altered
    np.testing.assert_allclose(out["variance"].values[:3], var[:3])
    assert out["variance"].values[3] == pytest.approx(k / 1)
    with pytest.raises(crimestats.InputError, match="n_strata"):
        smooth_variances(ds.drop_vars("n_strata"), df_correction=True)


def test_intervals_keep_domain_degrees_of_freedom_for_kept_variances():
    from scipy import stats

    sim = simulate_survey(n_areas=60, random_seed=5)
    est = direct_estimates(sim.respondents, y="victim", area="area", weight="weight",
                           strata="stratum", psu="psu", df="domain", level=0.9)
    out = smooth_variances(est)
    replaced = out["replaced"].values
    assert replaced.any() and (~replaced).any()
    assert np.isinf(out["df"].values[replaced]).all()
    np.testing.assert_array_equal(out["df"].values[~replaced], est["df"].values[~replaced])
    half = out["upper"].values - out["estimate"].values
    q = np.where(replaced, stats.norm.ppf(0.95), stats.t.ppf(0.95, est["df"].values))
    np.testing.assert_allclose(half, q * out["se"].values, rtol=1e-12)
