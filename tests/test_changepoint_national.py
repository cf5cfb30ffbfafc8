"""The national-change evidence of `detect_many`: calibrated against local changes, whatever
the prior on each series' changes (the share of series that change is learned)."""

from __future__ import annotations

import numpy as np
import pytest

from crimestats.changepoint import detect_many
from crimestats.changepoint.bayes import (
    log_q_for_any_change,
    prior_any_change_probability,
    prior_change_probability,
)
from crimestats.changepoint.national import national_change


def _panel(seed: int, shared: bool, n: int = 40, k: int = 6) -> np.ndarray:
    rng = np.random.default_rng([seed, 11])
    base = rng.uniform(20, 60, size=k)
    at = np.full(k, 25) if shared else rng.choice(np.arange(8, 33), size=k, replace=False)
    step = np.where(np.arange(n)[:, None] >= at[None, :], 1.5, 1.0)
    return rng.poisson(base * step).astype(float)


@pytest.mark.parametrize("prior_any_change", [0.05, 0.15, 0.5])
def test_every_series_changing_at_its_own_time_is_not_national(prior_any_change):
    """20 panels of six series that all change, each at its own time: before the share of
    changing series was learned, a prior of 0.05 put P(national) above 0.5 in most of them."""
    probs = np.array([detect_many(_panel(s, shared=False), "poisson", random_seed=0,
                                  prior_any_change=prior_any_change).prob_national_change
                      for s in range(20)])
    assert (probs > 0.5).sum() <= 1, probs.round(3)


def test_a_shared_change_is_national_at_its_time():
    for s in range(10):
        res = detect_many(_panel(s, shared=True), "poisson", random_seed=0)
        assert res.prob_national_change > 0.99 and res.national_time == 25


def test_no_change_anywhere_is_not_national():
    rng = np.random.default_rng(5)
    probs = [detect_many(rng.poisson(30, size=(40, 6)).astype(float), "poisson",
                         random_seed=0).prob_national_change for _ in range(20)]
    assert max(probs) < 0.5, np.round(probs, 3)


def test_prior_any_change_probability_inverts_log_q():
    for n, m, pi in [(15, 2, 0.15), (60, 3, 0.5), (200, 2, 0.01)]:
        lq = log_q_for_any_change(n, m, pi)
        assert prior_any_change_probability(n, m, lq) == pytest.approx(pi, rel=1e-9)


def test_local_evidence_is_the_closed_form_for_two_series():
    """Two series, no information on where they change: the Bayes factor is the ratio of the
    closed forms, $L_1 L_2 / \\int_0^1 [(1-\\pi) + \\pi L_1][(1-\\pi) + \\pi L_2] d\\pi$."""
    n, m, pi0 = 20, 2, 0.3
    lq = log_q_for_any_change(n, m, pi0)
    prior = prior_change_probability(n, m, lq)
    post_any = np.array([0.9, 0.2])
    # the posterior location given a change equals the prior one: M1 adds nothing but "changes"
    post = prior[None, :] / pi0 * post_any[:, None]
    ev = national_change(post, post_any, np.vstack([prior, prior]), np.full(2, pi0))
    odds = post_any / (1 - post_any) / (pi0 / (1 - pi0))
    a, b = odds
    integral = 1 + (a - 1) / 2 + (b - 1) / 2 + (a - 1) * (b - 1) / 3
    assert ev.log_bayes_factor == pytest.approx(np.log(a * b / integral), rel=1e-7)
    assert ev.share_changing == pytest.approx(
        (0.5 + (a - 1) / 3 + (b - 1) / 3 + (a - 1) * (b - 1) / 4) / integral, rel=1e-7)
