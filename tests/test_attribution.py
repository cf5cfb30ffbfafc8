"""Attribution of changes in recorded crime to incidence, reporting and recording."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import crimestats
from crimestats.changepoint import attribute
from crimestats.changepoint.attribution import _SD_INTERCEPT, _SD_STEP, _SD_TREND, _enumerate
from crimestats.datasets import ATTRIBUTION_SCENARIOS, simulate_attribution


def _fit(sim, controls=True, share=True, **kw):
    return attribute(sim.recorded, sim.survey, population=sim.population,
                     controls=sim.controls if controls else None,
                     reported_share=sim.reported_share if share else None, **kw)


@pytest.mark.parametrize("scenario", ATTRIBUTION_SCENARIOS)
def test_scenarios_pick_the_right_explanation(scenario):
    right = 0
    for seed in range(3):
        res = _fit(simulate_attribution(scenario, random_seed=seed), random_seed=0)
        right += res.explanation == scenario
    assert right >= 2


def test_without_controls_recording_and_reporting_merge():
    sim = simulate_attribution("recording", random_seed=1)
    res = _fit(sim, controls=False, share=False, random_seed=0)
    assert res.components == ("incidence", "reporting")
    assert res.explanation == "reporting"          # "reporting or recording"
    assert res.prob_not_incidence > 0.95


def test_effect_sizes_and_result_api():
    sim = simulate_attribution("incidence+reporting", random_seed=3)
    res = _fit(sim, random_seed=0, level=0.9)
    eff = res.effects.set_index("component")
    assert eff.loc["reporting", "time"] == 2013
    assert eff.loc["reporting", "step_lower"] < 0.4 < eff.loc["reporting", "step_upper"]
    assert eff.loc["incidence", "step_lower"] < 0.4 < eff.loc["incidence", "step_upper"]
    assert eff.loc["recording", "prob_change"] < 0.2
    ds = res.estimates
    assert ds["reporting_lower"].attrs["level"] == 0.9
    assert ds["prob_step_reporting"].sum() == pytest.approx(eff.loc["reporting", "prob_change"])
    assert sum(res.explanations.values()) == pytest.approx(1.0)
    json.dumps(res.to_dict())
    assert "most probable explanation" in res.summary()


def test_configuration_evidence_is_the_gaussian_marginal(rng):
    """The Woodbury/determinant-lemma evidence equals the direct multivariate normal density."""
    T = 6
    tt = (np.arange(T) - (T - 1) / 2.0) / T
    y = rng.normal(0, 0.1, T)
    x = rng.normal(0, 0.1, T)
    vy, vx = np.full(T, 0.01), np.full(T, 0.02)
    blocks = [(y, vy, {"alpha_y": np.ones(T), "inc_intercept": np.ones(T), "inc_trend": tt,
                       "step_I": np.ones(T), "step_P": np.ones(T), "step_W": np.ones(T)}, True),
              (x, vx, {"inc_intercept": np.ones(T), "inc_trend": tt, "step_I": np.ones(T),
                       "_rows": np.arange(T)}, False)]
    fit = _enumerate(blocks, ["alpha_y", "inc_intercept", "inc_trend"], T,
                     np.arange(1, T), False, 0.5)
    # raw log evidence of configuration k_I = 3, k_P = none, tau = 0.03
    i = np.flatnonzero((fit.configs[:, 0] == 3) & (fit.configs[:, 1] == -1)
                       & (fit.configs[:, 3] == 1))[0]
    j = np.flatnonzero((fit.configs[:, 0] == -1) & (fit.configs[:, 1] == 2)
                       & (fit.configs[:, 3] == 0))[0]
    step_i = (np.arange(T) >= 3).astype(float)
    step_p = (np.arange(T) >= 2).astype(float)
    Y = np.r_[y, x]

    def direct(cols_y, cols_x, tau):
        X = np.vstack([np.column_stack(cols_y), np.column_stack(cols_x)])
        S = np.diag([_SD_INTERCEPT ** 2, _SD_INTERCEPT ** 2, _SD_TREND ** 2, _SD_STEP ** 2])
        V = np.diag(np.r_[vy + tau ** 2, vx])
        return stats.multivariate_normal(np.zeros(2 * T), V + X @ S @ X.T).logpdf(Y)

    one, zero = np.ones(T), np.zeros(T)
    li = direct([one, one, tt, step_i], [zero, one, tt, step_i], 0.03)
    lj = direct([one, one, tt, step_p], [zero, one, tt, zero], 0.01)
    lp_i = np.log(0.5 / (T - 1)) + np.log(0.5)
    lp_j = np.log(0.5) + np.log(0.5 / (T - 1))
    # posterior log odds of the two configurations
    assert fit.logpost[i] - fit.logpost[j] == pytest.approx((li + lp_i) - (lj + lp_j), abs=1e-8)
    assert special.logsumexp(fit.logpost) == pytest.approx(0.0, abs=1e-12)


def test_candidate_shocks_restrict_the_step_dates():
    sim = simulate_attribution("reporting", random_seed=2)
    res = _fit(sim, shocks=[2009, 2013], random_seed=0)
    probs = res.estimates["prob_step_reporting"].to_series()
    assert probs.drop([2009, 2013]).sum() == 0.0
    assert probs[2013] > 0.9


def test_bad_input():
    sim = simulate_attribution("none", random_seed=0)
    shifted = sim.survey.assign(period=sim.survey["period"] + 100)
    with pytest.raises(crimestats.InputError, match="Align the calendars"):
        attribute(sim.recorded, shifted, population=sim.population)
    with pytest.raises(crimestats.InputError, match="'se'"):
        attribute(sim.recorded, sim.survey.drop(columns="se"), population=sim.population)
    bad = sim.recorded.copy()
    bad.iloc[3] = -5
    with pytest.raises(crimestats.InputError, match="negative"):
        attribute(bad, sim.survey, population=sim.population)
    with pytest.raises(crimestats.InputError, match="population"):
        attribute(sim.recorded, sim.survey, population=sim.population[:-1])
    with pytest.raises(crimestats.InputError, match="shocks"):
        attribute(sim.recorded, sim.survey, population=sim.population, shocks=[1990])
    with pytest.raises(crimestats.InputError, match="at least 2"):
        attribute(sim.recorded, sim.survey.iloc[:1], population=sim.population)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ATTRIBUTION_SCENARIOS)
def test_scenario_accuracy_and_coverage(scenario):
    """Over 100 replicates: right explanation in most; 95% intervals cover the true changes."""
    reps = 100
    right, cover = 0, {"incidence": 0, "reporting": 0, "recording": 0}
    for seed in range(reps):
        sim = simulate_attribution(scenario, random_seed=1000 + seed)
        res = _fit(sim, random_seed=seed)
        right += res.explanation == scenario
        eff = res.effects.set_index("component")
        truth = {"incidence": sim.truth["incidence_total"], "reporting": sim.truth["reporting"],
                 "recording": sim.truth["recording"]}
        for comp, true in truth.items():
            lo, hi = eff.loc[comp, "total_lower"], eff.loc[comp, "total_upper"]
            cover[comp] += (lo - 1e-12 <= true <= hi + 1e-12)
    print(scenario, "right", right / reps, {k: v / reps for k, v in cover.items()})
    assert right / reps >= 0.8
    for comp, hits in cover.items():
        assert hits / reps >= 0.95 - 2 * np.sqrt(0.95 * 0.05 / reps), comp


def test_pandas_periods_as_strings():
    sim = simulate_attribution("incidence", random_seed=4)
    labels = [f"{y}/{str(y + 1)[-2:]}" for y in sim.recorded.index]
    rec = pd.Series(sim.recorded.to_numpy(), index=labels)
    survey = sim.survey.assign(period=labels)
    res = attribute(rec, survey, population=sim.population, random_seed=0)
    assert res.explanation == "incidence"
    assert list(res.estimates["time"].values) == labels
