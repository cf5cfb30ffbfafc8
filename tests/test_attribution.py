"""Attribution of changes in recorded crime to incidence, reporting and recording: the model.

Exactness (the evidence of a configuration against an independent dense computation, the
quadrature against a finer grid), behaviour on series with a known cause, and the result API.
Input rules are in ``test_attribution_inputs.py``; the calibration study in
``test_attribution_calibration.py``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from crimestats.changepoint import attribute
from crimestats.changepoint.attribution import _attribute as front
from crimestats.changepoint.attribution import _grid
from crimestats.changepoint.attribution._configurations import enumerate_configurations
from crimestats.changepoint.attribution._engine import (
    change_posterior,
    fit_configurations,
    smooth_incidence,
)
from crimestats.changepoint.attribution._grid import HyperGrid
from crimestats.changepoint.attribution._model import Block, build_design, smooth_basis
from crimestats.datasets import ATTRIBUTION_SCENARIOS, simulate_attribution

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def scenarios():
    """The misspecified simulator of the calibration study (benchmarks/attribution_scenarios.py)."""
    spec = importlib.util.spec_from_file_location(
        "attribution_scenarios", BENCHMARKS / "attribution_scenarios.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module           # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_known_shapes_oracle_is_right_when_the_noise_vanishes(scenarios):
    """The oracle behind the 'out of reach' figures of the validation page: with the recorded
    counts' noise and the survey's errors made tiny it calls every changed series right; at the
    study's 13% noise it still calls clear truths but misses near ties."""
    spec = importlib.util.spec_from_file_location(
        "attribution_oracle", BENCHMARKS / "attribution_oracle.py")
    oracle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(oracle)
    both = next(s for s in scenarios.SCENARIOS if s.name == "both")
    quiet = oracle.known_shapes(both, 0.005, 60, np.random.default_rng(1), survey_scale=0.01)
    assert quiet["right_call_known_shapes"] >= 0.98
    noisy = oracle.known_shapes(both, 0.13, 60, np.random.default_rng(1))
    assert noisy["clear"] >= 0.9
    assert 0.4 < noisy["near_tie"] < 0.95


def _fit(sim, controls=True, share=True, **kw):
    return attribute(sim.recorded, sim.survey, population=sim.population,
                     controls=sim.controls if controls else None,
                     reported_share=sim.reported_share if share else None, **kw)


@pytest.mark.parametrize("scenario", ATTRIBUTION_SCENARIOS)
def test_scenarios_pick_the_right_explanation(scenario):
    res = _fit(simulate_attribution(scenario, random_seed=0), random_seed=0, draws=300)
    assert res.explanation == scenario


def test_without_controls_recording_and_reporting_merge():
    sim = simulate_attribution("recording", random_seed=1)
    res = _fit(sim, controls=False, share=False, random_seed=0, draws=500)
    assert res.components == ("incidence", "reporting")
    assert res.explanation == "reporting"          # "reporting or recording"
    assert res.prob_not_incidence > 0.95


def test_effect_sizes_and_result_api():
    sim = simulate_attribution("incidence+reporting", random_seed=3)
    res = _fit(sim, random_seed=0, level=0.9, draws=1000)
    eff = res.effects.set_index("component")
    assert eff.loc["reporting", "time"] == 2013
    assert eff.loc["reporting", "step_lower"] < 0.4 < eff.loc["reporting", "step_upper"]
    assert eff.loc["incidence", "step_lower"] < 0.4 < eff.loc["incidence", "step_upper"]
    assert eff.loc["recording", "prob_change"] < 0.2
    ds = res.estimates
    assert ds["reporting_lower"].attrs["level"] == 0.9
    # change-start probabilities add up to the expected number of changes
    assert float(ds["prob_step_reporting"].sum()) == pytest.approx(
        eff.loc["reporting", "expected_changes"])
    assert eff.loc["reporting", "expected_changes"] >= eff.loc["reporting", "prob_change"]
    assert sum(res.explanations.values()) == pytest.approx(1.0)
    assert res.prob_capture_change == pytest.approx(
        1 - sum(v for k, v in res.explanations.items() if k in ("none", "incidence")))
    assert 0.0 < res.hyperparameters["noise_sd_lower"] <= res.hyperparameters["noise_sd"] \
        <= res.hyperparameters["noise_sd_upper"]
    assert res.diagnostics["n_configurations"] > 1000
    json.dumps(res.to_dict())
    assert "most probable explanation" in res.summary()


def test_same_seed_same_numbers():
    sim = simulate_attribution("reporting", random_seed=5)
    a = _fit(sim, controls=False, random_seed=7, draws=300)
    b = _fit(sim, controls=False, random_seed=7, draws=300)
    pd.testing.assert_frame_equal(a.effects, b.effects)
    assert a.prob_not_incidence == b.prob_not_incidence


def _restricted_loglik(y, variance, X, cov):
    """log p(y) with flat priors on X's coefficients: the REML likelihood, computed densely."""
    S = np.diag(variance) + cov
    Si = np.linalg.inv(S)
    XtSiX = X.T @ Si @ X
    P = Si - Si @ X @ np.linalg.solve(XtSiX, X.T @ Si)
    n, k = X.shape
    return -0.5 * (np.linalg.slogdet(S)[1] + np.linalg.slogdet(XtSiX)[1] + y @ P @ y
                   + (n - k) * np.log(2 * np.pi))


def test_configuration_evidence_is_the_gaussian_marginal(rng):
    """The enumerated posterior odds equal the dense restricted-likelihood computation."""
    T = 7
    y = rng.normal(-4, 0.1, T)
    x = rng.normal(-3, 0.1, T - 1)
    wx = np.eye(T)[1:]
    rec = Block(y, np.full(T, 1e-4), np.eye(T))
    sur = Block(x, np.full(T - 1, 0.002), wx)
    design = build_design(T, rec, sur, None, [])
    tau, sigma = 0.04, 0.02
    grid = HyperGrid(np.array([tau]), np.array([sigma]), np.zeros(1))
    configs = enumerate_configurations(T, has_recording=False, ramp_lengths=(1, 3),
                                       max_changes=2, prior_change=0.4, second_change=0.3)
    post = fit_configurations(design, configs, grid, front.CHANGE_SD)
    sh = configs.shapes
    # two configurations: (a) a reporting ramp of 3 starting at 2 and an incidence step at 4,
    # (b) reporting steps at 2 and 5, no incidence step
    ramp = np.flatnonzero((sh.component == 1) & (sh.start == 2) & (sh.length == 3))[0]
    step2 = np.flatnonzero((sh.component == 1) & (sh.start == 2) & (sh.length == 1))[0]
    step5 = np.flatnonzero((sh.component == 1) & (sh.start == 5) & (sh.length == 1))[0]
    inc4 = np.flatnonzero((sh.component == 0) & (sh.start == 4))[0]
    a = np.flatnonzero((configs.capture[:, 0] == ramp) & (configs.capture[:, 1] == -1))[0]
    b = np.flatnonzero((configs.capture[:, 0] == step2) & (configs.capture[:, 1] == step5))[0]
    ia = np.flatnonzero(configs.incidence == inc4)[0]
    ib = 0
    t = np.arange(T)
    g_ramp = np.clip((t - 2 + 1) / 3, 0, 1)
    trend = (t - (T - 1) / 2) / T
    Z = smooth_basis(T)
    Y = np.r_[y, x]
    # dense design: capture level, incidence level, trend (flat); smooth; changes
    X = np.zeros((2 * T - 1, 3))
    X[:T, 0] = 1
    X[:, 1] = 1
    X[:, 2] = np.r_[trend, wx @ trend]
    S = np.vstack([Z, wx @ Z])
    variance = np.r_[np.full(T, 1e-4 + tau ** 2), np.full(T - 1, 0.002)]
    smooth_cov = sigma ** 2 * S @ S.T

    def with_changes(cols):
        G = np.column_stack(cols)
        return smooth_cov + 0.5 ** 2 * G @ G.T

    on_rec = lambda g: np.r_[g, np.zeros(T - 1)]          # noqa: E731 - reporting column
    on_both = lambda g: np.r_[g, wx @ g]                  # noqa: E731 - incidence column
    la = _restricted_loglik(Y, variance, X, with_changes(
        [on_rec(g_ramp), on_both((t >= 4).astype(float))]))
    lb = _restricted_loglik(Y, variance, X, with_changes(
        [on_rec((t >= 2).astype(float)), on_rec((t >= 5).astype(float))]))
    prior_a = configs.capture_log_prior[a] + configs.incidence_log_prior[ia]
    prior_b = configs.capture_log_prior[b] + configs.incidence_log_prior[ib]
    got = post.log_post[a, ia] - post.log_post[b, ib]
    assert got == pytest.approx((la + prior_a) - (lb + prior_b), abs=1e-8)
    assert special.logsumexp(post.log_post) == pytest.approx(0.0, abs=1e-10)


def test_path_draws_follow_the_joint_gaussian_posterior(rng):
    """Change sizes, then trend and smooth curve given them, equal the dense joint posterior."""
    T = 9
    t = np.arange(T)
    y = -4 + 0.3 * (t >= 5) + rng.normal(0, 0.05, T)
    x = -3 - 0.02 * t[1:] + rng.normal(0, 0.05, T - 1)
    wx = np.eye(T)[1:]
    design = build_design(T, Block(y, np.full(T, 1e-4), np.eye(T)),
                          Block(x, np.full(T - 1, 0.0025), wx), None, [])
    grid = HyperGrid(np.array([0.05]), np.array([0.02]), np.zeros(1))
    configs = enumerate_configurations(T, has_recording=False, ramp_lengths=(1, 2),
                                       max_changes=1, prior_change=0.3, second_change=0.3)
    post = fit_configurations(design, configs, grid, front.CHANGE_SD)
    sh = configs.shapes
    J = np.array([np.flatnonzero((sh.component == 1) & (sh.start == 5) & (sh.length == 2))[0],
                  np.flatnonzero((sh.component == 0) & (sh.start == 3))[0]])
    mean, chol = change_posterior(post, J[None], np.zeros(1, dtype=int))
    n = 40_000
    delta = mean + np.linalg.solve(chol.transpose(0, 2, 1),
                                   rng.standard_normal((n, 2, 1)))[:, :, 0]
    smooth = smooth_incidence(post, np.zeros(n, dtype=int), np.repeat(J[None], n, axis=0),
                               delta, rng)
    total = smooth[:, -1] + delta[:, 1]             # plus the incidence step (complete by T-1)
    # dense joint posterior of (levels and trends, smooth deviations, change sizes)
    H = np.hstack([design.fixed, design.smooth, post.columns[:, J]])
    k, m = design.fixed.shape[1], design.smooth.shape[1]
    dinv = 1 / (design.variance + 0.05 ** 2 * design.noisy)
    prec = (H.T * dinv) @ H + np.diag(np.r_[np.zeros(k), np.full(m, 0.02 ** -2),
                                            1 / post.prior_var[J]])
    cov = np.linalg.inv(prec)
    theta = cov @ (H.T @ (dinv * design.y))
    f = np.zeros(H.shape[1])
    f[design.target_trend] = design.trend[-1] - design.trend[0]
    Z = smooth_basis(T)
    f[k + design.target_smooth.start:k + design.target_smooth.stop] = Z[-1] - Z[0]
    f[-1] = 1.0
    sd = np.sqrt(f @ cov @ f)
    assert abs(total.mean() - f @ theta) < 4 * sd / np.sqrt(n)
    assert total.std() == pytest.approx(sd, rel=0.03)
    np.testing.assert_allclose(mean[0], theta[-2:], atol=1e-10)


def test_configuration_prior_is_exact_and_keeps_each_components_probability():
    cfg = enumerate_configurations(12, has_recording=True, ramp_lengths=(1, 2, 3),
                                   max_changes=2, prior_change=0.3, second_change=0.3)
    prob = np.exp(cfg.capture_log_prior)
    comp = np.where(cfg.capture >= 0, cfg.shapes.component[np.maximum(cfg.capture, 0)], -1)
    assert prob.sum() == pytest.approx(1.0)
    # P(capture changes) = prior_change; reporting and recording independent
    assert prob[(comp >= 1).any(axis=1)].sum() == pytest.approx(0.3)
    p = 1 - np.sqrt(1 - 0.3)
    assert prob[(comp == 1).any(axis=1)].sum() == pytest.approx(p)
    assert prob[(comp == 2).any(axis=1)].sum() == pytest.approx(p)
    assert prob[(comp == 1).any(axis=1) & (comp == 2).any(axis=1)].sum() == pytest.approx(p * p)
    # changes of one component never overlap
    for row in cfg.capture[(comp == 1).all(axis=1)][:200]:
        s, L = cfg.shapes.start[row], cfg.shapes.length[row]
        assert s[1] > s[0] + L[0] - 1


def test_quadrature_grid_is_fine_enough(monkeypatch, scenarios):
    """Halving the grid spacing moves the probabilities by less than 0.01."""
    sim = scenarios.simulate(scenarios.SCENARIOS[3], 0.05, np.random.default_rng(11))
    fits = []
    for sizes in ((15, 11), (29, 21)):
        monkeypatch.setattr(front, "hyper_grid", lambda s=sizes: _grid.hyper_grid(*s))
        fits.append(attribute(sim.recorded, sim.survey, population=scenarios.POPULATION,
                              random_seed=1, draws=4000))
    coarse, fine = fits
    assert abs(coarse.prob_capture_change - fine.prob_capture_change) < 0.01
    pd.testing.assert_series_equal(coarse.effects["prob_change"], fine.effects["prob_change"],
                                   atol=0.01)
    assert abs(coarse.prob_not_incidence - fine.prob_not_incidence) < 0.02
    assert abs(coarse.hyperparameters["noise_sd"] - fine.hyperparameters["noise_sd"]) < 0.003
    # interval ends read off the interpolated CDF, not snapped to nodes a factor 1.5 apart
    for end in ("noise_sd_lower", "noise_sd_upper", "smoothness_sd_lower",
                "smoothness_sd_upper"):
        assert coarse.hyperparameters[end] == pytest.approx(fine.hyperparameters[end],
                                                            rel=0.04), end


def _curved_series(reporting_ramp=False, seed=0):
    """Incidence on a strong curve (a fall that levels off); optionally a reporting ramp."""
    rng = np.random.default_rng(seed)
    years = np.arange(2005, 2019)
    t = np.arange(14)
    inc = 0.04 * np.exp(-0.08 * t + 0.0045 * t ** 2)
    capture = 0.3 * np.exp(np.log(1.5) * np.clip((t - 6) / 3, 0, 1) * reporting_ramp)
    mean = 1e6 * inc * capture
    recorded = pd.Series(rng.poisson(mean * rng.gamma(400, 1 / 400, 14)).astype(float),
                         index=years)
    est = inc * (1 + 0.05 * rng.standard_normal(14))
    return recorded, pd.DataFrame({"period": years, "estimate": est, "se": 0.05 * est})


def test_curvature_of_incidence_is_not_read_as_a_capture_change():
    recorded, survey = _curved_series()
    res = attribute(recorded, survey, population=1e6, random_seed=0, draws=1000)
    assert res.prob_capture_change < 0.3
    assert res.prob_not_incidence < 0.1
    eff = res.effects.set_index("component")
    assert eff.loc["incidence", "total_lower"] < np.exp(-0.08 * 13 + 0.0045 * 169) - 1 \
        < eff.loc["incidence", "total_upper"]


def test_a_reporting_ramp_is_found_as_gradual():
    recorded, survey = _curved_series(reporting_ramp=True)
    res = attribute(recorded, survey, population=1e6, random_seed=0, draws=1000)
    eff = res.effects.set_index("component")
    # truth: capture +50% (log 0.41) against incidence -24% (log -0.28)
    assert res.prob_capture_change > 0.95 and res.prob_not_incidence > 0.75
    assert eff.loc["reporting", "prob_gradual"] > 0.5
    assert eff.loc["reporting", "total_lower"] < 0.5 < eff.loc["reporting", "total_upper"]


def test_a_forced_shock_does_not_take_the_whole_rise(scenarios):
    """Reporting steps up in 2013; naming 2017 as a shock must not move the rise there."""
    years = np.arange(2005, 2019)
    t = np.arange(14)
    rng = np.random.default_rng(4)
    inc = 0.03 * np.exp(-0.02 * t)
    capture = np.where(years >= 2013, 0.45, 0.3)
    recorded = pd.Series(rng.poisson(1e6 * inc * capture * rng.gamma(400, 1 / 400, 14))
                         .astype(float), index=years)
    est = inc * (1 + 0.05 * rng.standard_normal(14))
    survey = pd.DataFrame({"period": years, "estimate": est, "se": 0.05 * est})
    free = attribute(recorded, survey, population=1e6, random_seed=0, draws=1000)
    forced = attribute(recorded, survey, population=1e6, shocks=[2017], random_seed=0,
                       draws=1000)
    for res in (free, forced):
        probs = res.estimates["prob_step_reporting"].to_series()
        assert probs.loc[2012:2014].sum() > 0.8
        assert probs.loc[2017] < 0.2
        # the rise is in place before the named shock
        assert res.estimates["reporting_lower"].sel(time=2016) > 1.35
        eff = res.effects.set_index("component")
        assert eff.loc["reporting", "total_lower"] < 0.5 < eff.loc["reporting", "total_upper"]
    # and a real, gradual rise of incidence stays incidence when a shock date is named
    sim = scenarios.simulate(scenarios.SCENARIOS[1], 0.05, np.random.default_rng(3))
    res = attribute(sim.recorded, sim.survey, population=scenarios.POPULATION,
                    shocks=["2016-06-23"], calendar="financial_year", random_seed=0, draws=500)
    assert res.prob_not_incidence < 0.5 and res.prob_capture_change < 0.5


def test_a_survey_on_another_calendar_after_one_call():
    from crimestats import calendar

    rng = np.random.default_rng(8)
    years = np.arange(2005, 2019)
    months = pd.period_range("2003-01", "2018-03", freq="M")
    m = np.arange(len(months))
    monthly = 0.03 * np.exp(-0.002 * m)
    fy = [monthly[(months >= pd.Period(f"{y - 1}-04", "M"))
                  & (months <= pd.Period(f"{y}-03", "M"))].mean() for y in years]
    capture = np.where(years >= 2014, 0.5, 0.35)
    recorded = pd.Series(rng.poisson(1e6 * np.array(fy) * capture).astype(float), index=years)
    dec_years = np.arange(2004, 2018)
    dec = [monthly[months.year == y].mean() for y in dec_years]
    est = np.array(dec) * (1 + 0.04 * rng.standard_normal(dec_years.size))
    survey = pd.DataFrame({"period": dec_years, "estimate": est, "se": 0.04 * est})
    with pytest.raises(Exception, match="align_survey"):
        attribute(recorded, survey.assign(period=dec_years + 1000), population=1e6)
    aligned = calendar.align_survey(survey, recorded, survey_calendar=calendar.survey_year(12),
                                    calendar="financial_year", partial="drop")
    assert aligned.dropped == [2004]
    res = attribute(recorded, aligned, population=1e6, random_seed=0, draws=1000)
    eff = res.effects.set_index("component")
    assert res.explanation == "reporting" and eff.loc["reporting", "time"] == 2014
    assert eff.loc["reporting", "step_lower"] < 0.43 < eff.loc["reporting", "step_upper"]
    # the survey's own periods are not recorded periods: survey_incidence is left empty
    assert res.estimates["survey_incidence"].isnull().all()


def test_two_changes_of_reporting_in_a_long_window():
    rng = np.random.default_rng(2)
    years = np.arange(2001, 2019)
    t = np.arange(18)
    inc = 0.03 * np.exp(-0.015 * t)
    capture = 0.3 * np.where(t >= 5, 1.4, 1.0) * np.where(t >= 12, 0.75, 1.0)
    recorded = pd.Series(rng.poisson(1e6 * inc * capture * rng.gamma(1000, 1e-3, 18))
                         .astype(float), index=years)
    est = inc * (1 + 0.04 * rng.standard_normal(18))
    survey = pd.DataFrame({"period": years, "estimate": est, "se": 0.04 * est})
    res = attribute(recorded, survey, population=1e6, random_seed=0, draws=500)
    eff = res.effects.set_index("component")
    assert eff.loc["reporting", "expected_changes"] > 1.8
    probs = res.estimates["prob_step_reporting"].to_series()
    assert probs.loc[2005:2007].sum() > 0.8 and probs.loc[2012:2014].sum() > 0.8


def test_quick_calibration_checks(scenarios):
    """A few misspecified series of the calibration study, 5% extra noise."""
    null, ramp = scenarios.SCENARIOS[0], scenarios.SCENARIOS[3]
    for seed in range(4):
        sim = scenarios.simulate(null, 0.05, np.random.default_rng(100 + seed))
        res = attribute(sim.recorded, sim.survey, population=scenarios.POPULATION,
                        random_seed=seed, draws=300)
        assert res.prob_capture_change < 0.5
        sim = scenarios.simulate(ramp, 0.05, np.random.default_rng(200 + seed))
        res = attribute(sim.recorded, sim.survey, population=scenarios.POPULATION,
                        random_seed=seed, draws=300)
        assert (res.prob_not_incidence > 0.5) == sim.truth["mostly_capture"]
