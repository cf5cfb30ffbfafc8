"""Funnel plots: published figures (R FunnelPlotR), exact limits against R, dispersion, errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from crimestats import DataWarning, InputError
from crimestats.compare import DISPERSION_ESTIMATORS, FUNNEL_LIMITS, SCALES, funnel
from crimestats.compare.limits import FunnelModel
from crimestats.datasets import load_force_violence, load_population, simulate_area_counts


@pytest.fixture(scope="module")
def medpar(data_dir):
    return pd.read_csv(data_dir / "compare" / "medpar_los_by_provider.csv")


def _outliers(res, level=0.998):
    return int((res.estimates["flag"].sel(level=level).values != 0).sum())


def test_funnelplotr_readme_unadjusted_poisson_outliers(medpar):
    """FunnelPlotR README: "A funnel plot object with 54 points of which 25 are outliers"."""
    expected = np.round(medpar["expected_los"].to_numpy(), 2)   # FunnelPlotR rounds (SHMI)
    with pytest.warns(DataWarning, match="vary far more than chance"):
        res = funnel(medpar["observed_los"], expected, kind="ratio", method="chisq",
                     areas=medpar["provnum"])
    assert res.estimates.sizes["area"] == 54
    assert _outliers(res) == 25
    # Spiegelhalter's interpolated exact limits are slightly narrower than the chi-square form
    # at the lower end but wider at the upper one: two fewer outliers here.
    with pytest.warns(DataWarning):
        assert _outliers(funnel(medpar["observed_los"], expected, kind="ratio",
                                method="exact")) == 23


def test_funnelplotr_readme_shmi_overdispersed_outliers(medpar):
    """FunnelPlotR README: "... of which 9 are outliers. Plot is adjusted for overdispersion"."""
    expected = np.round(medpar["expected_los"].to_numpy(), 2)
    res = funnel(medpar["observed_los"], expected, kind="ratio", method="additive",
                 scale="log", estimator="truncated", areas=medpar["provnum"])
    assert _outliers(res) == 9
    # the truncation keeps the 44 central z-scores of 54 (ranks 6-49)
    assert res.target == 1.0
    assert res.phi == pytest.approx(8.532851, rel=1e-6)
    assert res.tau2 == pytest.approx(0.02841023, rel=1e-6)


def test_exact_limits_match_independent_r_code(data_dir):
    ref = pd.read_csv(data_dir / "compare" / "exact_limits_r.csv")
    exact = FUNNEL_LIMITS["exact"]
    for (family, target), rows in ref.groupby(["family", "target"]):
        scale = SCALES["sqrt" if family == "poisson" else "arcsine"]
        model = FunnelModel(family, target, scale)
        for p, sub in rows.groupby("p"):
            level = 1 - 2 * min(p, 1 - p)
            lower, upper = exact.limits(model, sub["exposure"].to_numpy(float), level)
            got = lower if p < 0.5 else upper
            np.testing.assert_allclose(got, sub["limit"].to_numpy(), rtol=1e-10, atol=1e-15)


def test_exact_limits_interpolate_between_attainable_counts():
    model = FunnelModel("poisson", 0.01, SCALES["sqrt"])
    n = np.geomspace(50, 1e6, 400)
    lower, upper = FUNNEL_LIMITS["exact"].limits(model, n, 0.95)
    r_low = np.ceil(lower * n - 1e-9)
    from scipy import stats
    # y_p n lies in (r_p - 1, r_p] with r_p the Poisson quantile
    np.testing.assert_array_equal(r_low[lower > 0], stats.poisson.ppf(0.025, 0.01 * n)[lower > 0])
    # the lower limit rises steadily; the upper one wiggles between attainable counts (the
    # interpolation is exact at each count, not monotone in between) but falls overall
    assert np.all(np.diff(lower[lower > 0]) > 0)
    assert np.all(upper[50::50] < upper[:-50:50])
    # large exposures: the normal limits
    z = stats.norm.isf(0.025)
    assert upper[-1] == pytest.approx(0.01 + z * np.sqrt(0.01 / 1e6), rel=2e-3)


def test_dersimonian_laird_and_robust_estimators_by_hand():
    z = np.array([-2.0, -1.0, 0.0, 1.0, 2.5, 3.0])
    s = np.array([0.1, 0.1, 0.2, 0.2, 0.1, 0.05])
    mom = DISPERSION_ESTIMATORS["moments"].estimate(z, s, 0.1)
    w = 1 / s**2
    phi = np.mean(z**2)
    assert mom.phi == pytest.approx(phi)
    assert mom.tau2 == pytest.approx((6 * phi - 5) / (w.sum() - (w**2).sum() / w.sum()))
    rob = DISPERSION_ESTIMATORS["robust"].estimate(z, s, 0.1)
    k = 1.2815515655446004
    c = 0.6786545589528742  # E min(Z^2, k^2) at the 10% tail point (scipy quad)
    lhs = np.mean(np.minimum(z**2 / (1 + rob.tau2 / s**2), k**2))
    assert lhs == pytest.approx(c * 5 / 6, abs=1e-5)
    lhs = np.mean(np.minimum(z**2 / rob.phi, k**2))
    assert lhs == pytest.approx(c * 5 / 6, abs=1e-5)
    # no trimming: the Paule-Mandel-type equation mean r^2 = (m-1)/m
    pm = DISPERSION_ESTIMATORS["robust"].estimate(z, s, 0.0)
    assert np.mean(z**2 / (1 + pm.tau2 / s**2)) == pytest.approx(5 / 6)


def test_winsorised_matches_published_definition():
    z = np.arange(-5.0, 5.0)
    s = np.ones(10)
    res = DISPERSION_ESTIMATORS["winsorised"].estimate(z, s, 0.1)
    low, high = np.quantile(z, [0.1, 0.9])       # R's quantile(type = 7)
    assert res.phi == pytest.approx(np.mean(np.clip(z, low, high) ** 2))


@pytest.fixture(scope="module")
def csp_exposure():
    return load_population("csp")["residents"].to_numpy(float)


def _flag_rates(exposure, reps, seed, **kw):
    rng = np.random.default_rng(seed)
    out = {"additive": [], "winsorised": [], "exact": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        for _ in range(reps):
            sim = simulate_area_counts(exposure, 0.01, random_seed=rng, **kw)
            for key, args in (("additive", {}), ("winsorised", {"estimator": "winsorised"}),
                              ("exact", {"method": "exact"})):
                res = funnel(sim.observed, sim.exposure, curve_points=2, **args)
                flag = res.estimates["flag"].sel(level=0.95).values != 0
                out[key].append(flag[sim.in_control].mean())
    return {k: float(np.mean(v)) for k, v in out.items()}


def test_overdispersed_limits_flag_five_percent_quick(csp_exposure):
    """Quick version of the validation run (40 replicates of 314 CSPs; slow test: 400)."""
    rates = _flag_rates(csp_exposure, 40, 1, heterogeneity="gamma", sd=0.15)
    assert 0.04 <= rates["additive"] <= 0.06
    assert rates["winsorised"] > 0.09          # the published estimator over-flags
    assert rates["exact"] > 0.5                # exact limits flag most in-control areas


def test_bundled_forces_rates_per_thousand():
    forces = load_force_violence()
    res = funnel("recorded_violence", "residents", data=forces, areas="force", per=1000)
    table = res.to_dataframe()
    assert table.loc["Kent", "indicator"] == pytest.approx(30.461, abs=1e-3)
    assert res.target == pytest.approx(1000 * forces["recorded_violence"].sum()
                                       / forces["residents"].sum())
    assert {"lower_95", "upper_99.8", "flag_95", "flag_99.8"} <= set(table.columns)
    assert set(res.flagged().index) == {"City of London"}
    assert "City of London" in res.flagged(0.95).index
    assert res.curve.sizes["exposure"] == 200
    lower = res.curve["lower"].sel(level=0.998).values
    assert np.all(lower <= res.target) and np.all(res.curve["upper"].values >= res.target)
    json.dumps(res.to_dict())
    assert "Funnel plot of rates" in res.summary()


def test_netcdf_round_trip(tmp_path):
    res = funnel([12, 30, 45, 8, 60], [1000, 2500, 3000, 900, 4000], per=1000, method="exact")
    res.to_netcdf(tmp_path / "f.nc")
    back = xr.open_dataset(tmp_path / "f.nc", engine="h5netcdf")
    np.testing.assert_allclose(back["upper"].values, res.estimates["upper"].values)


def test_proportions_exact_and_arcsine():
    victims = np.array([3, 12, 30, 41, 160])
    sample = np.array([40, 150, 400, 500, 2000])
    res = funnel(victims, sample, kind="proportion", method="exact", per=100)
    assert res.scale == "arcsine"
    assert res.target == pytest.approx(100 * victims.sum() / sample.sum())
    assert np.all(res.estimates["upper"].values <= 100)
    with pytest.raises(InputError, match="defined for poisson"):
        funnel(victims, sample, kind="proportion", method="chisq")
    with pytest.raises(InputError, match="not defined for binomial"):
        funnel(victims, sample, kind="proportion", scale="sqrt")


def test_series_exposure_matched_by_label():
    counts = pd.Series([10, 20, 30, 40], index=list("abcd"))
    exposure = pd.Series([4000.0, 1000.0, 2000.0, 3000.0], index=list("dabc"))
    res = funnel(counts, exposure, method="exact")
    np.testing.assert_array_equal(res.estimates["exposure"].values, [1000, 2000, 3000, 4000])
    with pytest.raises(InputError, match="labels differ"):
        funnel(counts, exposure.rename({"d": "e"}), method="exact")


@pytest.mark.parametrize("kwargs, match", [
    ({"observed": [1, -2, 3], "exposure": [10, 10, 10]}, "cannot be negative"),
    ({"observed": [1, 2.5, 3], "exposure": [10, 10, 10]}, "whole numbers"),
    ({"observed": [1, 2, 3], "exposure": [10, 0, 10]}, "must be positive"),
    ({"observed": [1, np.nan, 3], "exposure": [10, 10, 10]}, "NaN"),
    ({"observed": [1, 2, 3], "exposure": [10, 10]}, "has 2 rows"),
    ({"observed": [1, 2, 3], "exposure": [10, 10, 10], "method": "bogus"}, "method"),
    ({"observed": [1, 2, 3], "exposure": [10, 10, 10], "estimator": "bogus"}, "estimator"),
    ({"observed": [0, 2, 3], "exposure": [10, 10, 10], "scale": "log"}, "above zero"),
    ({"observed": [1, 2, 3], "exposure": [10, 10, 10], "trim": 0.5}, "trim"),
    ({"observed": [1, 2, 3], "exposure": [10, 10, 10], "levels": (0.95, 1.2)}, "level"),
    ({"observed": [0, 0, 0], "exposure": [10, 10, 10]}, "Every count is zero"),
    ({"observed": [5, 2, 3], "exposure": [4, 10, 10], "kind": "proportion"}, "cannot exceed"),
    ({"observed": [1, 2, 3], "exposure": [10, 10, 10], "kind": "proportion", "target": 1.5},
     "below 1"),
    ({"observed": [1, 2], "exposure": [10, 10]}, "at least 3"),
    ({"observed": "y", "exposure": [10, 10, 10]}, "data"),
])
def test_bad_input_raises_input_error(kwargs, match):
    kwargs = dict(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(InputError, match=match):
            funnel(kwargs.pop("observed"), kwargs.pop("exposure"), **kwargs)


def test_few_areas_warn():
    with pytest.warns(DataWarning, match="only 5 areas"):
        funnel([12, 30, 45, 8, 60], [1000, 2500, 3000, 900, 4000])
