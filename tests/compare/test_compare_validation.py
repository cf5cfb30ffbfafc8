"""Long validation runs of crimestats.compare (marked slow; figures in docs/validation/compare.md).

Run with ``pytest -m slow tests/compare/test_compare_validation.py``. The default run has quick
versions of each check in the other test_compare_*.py files.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy import special

from crimestats import DataWarning
from crimestats.compare import change_tests, compare_to_peers, funnel, rank_uncertainty
from crimestats.datasets import (
    load_pfa_adjacency,
    load_population,
    simulate_area_counts,
    simulate_count_panel,
)


def test_import_compare_stays_light():
    """`import crimestats.compare` does not load PyMC, PyTensor, ArviZ or matplotlib."""
    code = ("import sys, crimestats.compare; "
            "print(sorted(m for m in ('pymc', 'pytensor', 'arviz', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout.strip()
    assert out == "[]"


def _in_control_flag_rate(exposure, reps, seed, method="additive", estimator="robust", **kw):
    rng = np.random.default_rng(seed)
    rates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        for _ in range(reps):
            sim = simulate_area_counts(exposure, 0.01, random_seed=rng, **kw)
            res = funnel(sim.observed, sim.exposure, method=method, estimator=estimator,
                         curve_points=2)
            flag = res.estimates["flag"].sel(level=0.95).values != 0
            rates.append(flag[sim.in_control].mean())
    rates = np.asarray(rates)
    return rates.mean(), rates.std(ddof=1) / np.sqrt(reps)


@pytest.mark.slow
@pytest.mark.parametrize("kw", [
    {"heterogeneity": "lognormal", "sd": 0.10},
    {"heterogeneity": "gamma", "sd": 0.20},
    {"heterogeneity": "lognormal", "sd": 0.05, "clustering": 3.0},
])
def test_overdispersed_limits_flag_five_percent_of_in_control_areas(kw):
    csp = load_population("csp")["residents"].to_numpy(float)
    rate, se = _in_control_flag_rate(csp, 400, 20261122, **kw)
    assert abs(rate - 0.05) <= 0.01 and abs(rate - 0.05) < 4 * se + 0.005
    exact, _ = _in_control_flag_rate(csp, 100, 1, method="exact", **kw)
    assert exact > 0.4
    published, _ = _in_control_flag_rate(csp, 100, 2, estimator="winsorised", **kw)
    assert published > 0.09


@pytest.mark.slow
def test_outliers_do_not_make_the_limits_flag_more_in_control_areas():
    csp = load_population("csp")["residents"].to_numpy(float)
    rate, _ = _in_control_flag_rate(csp, 200, 3, heterogeneity="lognormal", sd=0.10,
                                    outliers=0.05, shift=0.5)
    assert 0.02 < rate <= 0.05


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["hb", "bym2"])
def test_rank_intervals_cover_the_true_rank(kind):
    from crimestats.sae import adjacency_from_pairs, bym2, fay_herriot, simulate_bym2_effects

    pairs = load_pfa_adjacency()[["force_code_a", "force_code_b"]]
    codes = sorted(load_population("pfa")["force_code"])
    adj = adjacency_from_pairs(pairs, areas=codes)
    m, reps = len(codes), 150
    rng = np.random.default_rng(7)
    d = rng.uniform(0.3, 3.0, m)
    hits, mass = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        for _ in range(reps):
            if kind == "hb":
                theta = 10.0 + rng.standard_normal(m)
                y = theta + np.sqrt(d) * rng.standard_normal(m)
                fit = fay_herriot(y, d, method="hb", draws=1000, random_seed=rng)
            else:
                theta = 10.0 + simulate_bym2_effects(adj, sigma=1.0, phi=0.7, random_seed=rng)
                y = theta + np.sqrt(d) * rng.standard_normal(m)
                fit = bym2(y, d, adjacency=adj, areas=codes, draws=1000, random_seed=rng)
            est = rank_uncertainty(fit).estimates
            truth = (-theta).argsort().argsort() + 1
            hits.append(((truth >= est["lower"].values) & (truth <= est["upper"].values)).mean())
            mass.append(est["interval_probability"].values.mean())
    se = np.std(hits, ddof=1) / np.sqrt(reps)
    assert abs(np.mean(hits) - np.mean(mass)) < 3 * se
    assert np.mean(mass) >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("compare, window", [("year_on_year", 1), ("three_year", 3)])
@pytest.mark.parametrize("kw", [
    {"trend": "kink", "kappa": 0.004},
    {"trend": "curve", "kappa": 0.004},
    {"trend": "flat", "kappa": 0.02},
    {"trend": "kink", "kappa": 0.004, "autocorrelation": 0.5},
    {"trend": "kink", "kappa": 0.004, "size": (5, 100)},
    {"trend": "kink", "kappa": 0.002, "shared": 0.004},
])
def test_change_flags_hold_their_false_positive_rate(compare, window, kw):
    rng = np.random.default_rng(11)
    rates = []
    for _ in range(12):
        sim = simulate_count_panel(43, 10, 16, window=window, random_seed=rng, **kw)
        res = change_tests(sim.data, count="count", time="year", by=["force", "offence"],
                           compare=compare)
        rates.append(res.estimates["significant"].values.mean())
    rates = np.asarray(rates)
    assert rates.mean() <= 0.05 + 2 * rates.std(ddof=1) / np.sqrt(len(rates))


@pytest.mark.slow
@pytest.mark.parametrize("shared", [0.0, 0.004])
def test_false_discovery_rate_across_the_panel(shared):
    rng = np.random.default_rng(5)
    fdp = []
    for _ in range(60):
        sim = simulate_count_panel(43, 10, 16, kappa=0.004, changed=0.1, change=0.3,
                                   shared=shared, random_seed=rng)
        res = change_tests(sim.data, count="count", time="year", by=["force", "offence"])
        disc = res.estimates["discovery"].values
        fdp.append((disc & ~sim.changed.to_numpy()).sum() / max(disc.sum(), 1))
    fdp = np.asarray(fdp)
    assert fdp.mean() <= 0.05 + 2 * fdp.std(ddof=1) / np.sqrt(len(fdp))


@pytest.mark.slow
def test_rate_ratio_intervals_cover_the_truth():
    rng = np.random.default_rng(3)
    cover = []
    for _ in range(1500):
        n = np.exp(rng.uniform(np.log(3e5), np.log(3e6), 8))
        lam = 0.02 * rng.gamma(1 / 0.3**2, 0.3**2, 8)
        mu = np.log(0.02) + np.log(0.3**2) + special.digamma(1 / 0.3**2)   # E log(rate)
        y = rng.poisson(lam * n)
        row = compare_to_peers(y, n, {"F": list("ABCDEGH")}, areas=list("FABCDEGH")
                               ).to_dataframe().loc["F"]
        cover.append(row["lower"] <= lam[0] / np.exp(mu) <= row["upper"])
    assert abs(np.mean(cover) - 0.95) < 3 * np.sqrt(0.95 * 0.05 / 1500)
