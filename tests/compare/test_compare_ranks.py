"""Ranks with uncertainty: from draws, fits and estimates; coverage; the league-table warning."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from crimestats import DataWarning, InputError
from crimestats.compare import rank_uncertainty
from crimestats.sae import fay_herriot


def test_well_separated_areas_have_certain_ranks():
    res = rank_uncertainty([10.0, 20.0, 30.0], se=[0.1, 0.1, 0.1], areas=list("abc"),
                           random_seed=0)
    table = res.to_dataframe()
    assert table["rank"].tolist() == [3, 2, 1]
    assert (table["lower"] == table["upper"]).all()
    assert table["interval_probability"].tolist() == [1.0, 1.0, 1.0]
    assert not res.league_table_misleads
    up = rank_uncertainty([10.0, 20.0, 30.0], se=[0.1] * 3, descending=False, random_seed=0)
    assert up.to_dataframe()["rank"].tolist() == [1, 2, 3]


def test_ranks_from_a_matrix_of_draws_by_hand():
    draws = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, 1.0, 4.0, 3.0],
                          "c": [0.0, 0.0, 5.0, 5.0]})
    with pytest.warns(DataWarning, match="league table"):   # 3 areas, 4 draws: of course
        res = rank_uncertainty(draws, level=0.5, top=1)
    table = res.to_dataframe()
    # ranks per draw (1 = largest): a: 2,1,3,2  b: 1,2,2,3  c: 3,3,1,1
    assert table.loc["a", "rank_mean"] == pytest.approx(2.0)
    assert table.loc["c", "prob_top"] == pytest.approx(0.5)
    assert table.loc["c", "prob_bottom"] == pytest.approx(0.5)
    assert table.loc["b", "rank_median"] == 2
    assert (table["interval_probability"] >= 0.5).all()
    assert res.source == "posterior draws" and res.n_draws == 4


def test_eblup_uses_the_mse_and_hb_uses_its_draws(rng):
    m = 30
    d = rng.uniform(0.5, 2.0, m)
    theta = 10 + rng.standard_normal(m)
    y = theta + np.sqrt(d) * rng.standard_normal(m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        eblup = rank_uncertainty(fay_herriot(y, d), random_seed=1)
        hb_fit = fay_herriot(y, d, method="hb", draws=500, random_seed=1)
        hb = rank_uncertainty(hb_fit)
    assert eblup.source == "normal approximation" and eblup.n_draws == 4000
    assert hb.source == "posterior draws" and hb.n_draws == 500
    np.testing.assert_allclose(hb.estimates["estimate"].values, hb_fit.estimates["estimate"])
    no_draws = fay_herriot(y, d, method="hb", draws=500, theta_draws=False, random_seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rank_uncertainty(no_draws, random_seed=1)
    assert any("no posterior draws" in str(w.message) for w in caught)


def test_warning_when_intervals_overlap(rng):
    noisy = 10 + 0.1 * rng.standard_normal(20)
    with pytest.warns(DataWarning, match="league table would mislead"):
        res = rank_uncertainty(noisy, se=np.ones(20), random_seed=1)
    assert res.league_table_misleads and res.median_interval_width > 5
    precise = np.arange(20.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        res = rank_uncertainty(precise, se=np.full(20, 0.3), random_seed=1)
    assert not res.league_table_misleads
    assert "Ranks of 20 areas" in res.summary()
    json.dumps(res.to_dict())


def test_coverage_of_true_ranks_quick(rng):
    """Quick version of the validation run: HB draws on a Fay-Herriot model, 30 replicates."""
    m, reps = 25, 30
    d = rng.uniform(0.3, 3.0, m)
    inside, mass = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        for _ in range(reps):
            theta = 10 + rng.standard_normal(m)
            y = theta + np.sqrt(d) * rng.standard_normal(m)
            res = rank_uncertainty(fay_herriot(y, d, method="hb", draws=1000, random_seed=rng))
            truth = (-theta).argsort().argsort() + 1
            est = res.estimates
            inside.append(((truth >= est["lower"].values) & (truth <= est["upper"].values)).mean())
            mass.append(est["interval_probability"].values.mean())
    # area-level hits are correlated within a replicate: the replicate means are the unit
    se = np.std(inside, ddof=1) / np.sqrt(reps)
    assert abs(np.mean(inside) - np.mean(mass)) < 3 * se + 0.005
    assert np.mean(mass) >= 0.95


@pytest.mark.parametrize("call, match", [
    (lambda: rank_uncertainty([1.0, 2.0, 3.0]), "se="),
    (lambda: rank_uncertainty([1.0, 2.0, 3.0], se=[1.0, 0.0, 1.0]), "must be positive"),
    (lambda: rank_uncertainty([1.0, 2.0, 3.0], se=[1.0, 1.0]), "has 2 rows"),
    (lambda: rank_uncertainty([1.0, 2.0, 3.0], se=[1.0] * 3, top=3), "`top`"),
    (lambda: rank_uncertainty([1.0], se=[1.0]), "at least two"),
    (lambda: rank_uncertainty(np.ones((1, 3))), "only 1 row"),
    (lambda: rank_uncertainty([1.0, np.nan], se=[1.0, 1.0]), "NaN"),
    (lambda: rank_uncertainty([1.0, 2.0], se=[1.0, 1.0], draws=10), "draws"),
    (lambda: rank_uncertainty(pd.Series([1.0, 2.0], index=list("ab")),
                              se=pd.Series([1.0, 1.0], index=list("ac"))), "labels differ"),
])
def test_bad_input(call, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(InputError, match=match):
            call()


def test_series_se_matched_by_label():
    est = pd.Series([1.0, 5.0, 9.0], index=list("abc"))
    se = pd.Series([0.01, 0.01, 0.01], index=list("cab"))
    res = rank_uncertainty(est, se=se, random_seed=0)
    assert res.to_dataframe().loc["c", "rank"] == 1
