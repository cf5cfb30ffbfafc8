"""Change-point detection on one series: contract, exactness, R reference, bad input."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import crimestats
from crimestats.changepoint import detect
from crimestats.changepoint.bayes import bayes_fit, log_q_from_p
from crimestats.changepoint.segment_models import make_segment_model

LIKELIHOODS = ["poisson", "negbin", "normal", "normal_mean"]


def _steps(rng, n, starts, levels, noise="poisson"):
    mean = np.repeat(levels, np.diff(np.r_[0, starts, n]))
    if noise == "poisson":
        return rng.poisson(mean).astype(float)
    return mean + rng.normal(0, 1, n)


# ---------------------------------------------------------------- contract

@pytest.mark.parametrize("likelihood", ["poisson", "negbin", "normal"])
@pytest.mark.parametrize("method", ["bayes", "pelt"])
def test_contract(likelihood, method, rng):
    y = _steps(rng, 120, [50, 90], [10, 25, 12])
    res = detect(y, likelihood=likelihood, method=method, random_seed=1)
    assert isinstance(res.changepoints, list)
    assert all(isinstance(c, int) for c in res.changepoints)
    assert res.changepoints == sorted(res.changepoints)
    assert res.estimates.sizes["time"] == 120
    prob = res.estimates["prob_change"].values
    assert prob.shape == (120,) and np.all((prob >= 0) & (prob <= 1))
    # well-separated changes are found within two periods
    assert len(res.changepoints) == 2
    assert np.all(np.abs(np.array(res.changepoints) - [50, 90]) <= 2)
    json.dumps(res.to_dict())
    assert "Change points" in res.summary()


def test_no_change_gives_no_change(rng):
    y = rng.poisson(15, 300)
    for lik in LIKELIHOODS:
        res = detect(y, lik, random_seed=0)
        assert res.changepoints == []
        assert res.estimates["prob_change"].max() < 0.5
        assert detect(y, lik, method="pelt").changepoints == []


def test_pandas_index_becomes_time(rng):
    idx = pd.period_range("2018-01", periods=48, freq="M")
    y = pd.Series(_steps(rng, 48, [30], [100, 60]), index=idx)
    res = detect(y, "poisson", random_seed=0)
    assert res.changepoints == [30]
    assert pd.Timestamp(res.changepoint_times[0]) == pd.Timestamp("2020-07-01")


def test_same_seed_same_numbers(rng):
    y = _steps(rng, 80, [40], [5, 9])
    a = detect(y, "poisson", random_seed=3)
    b = detect(y, "poisson", random_seed=3)
    np.testing.assert_array_equal(a.n_changes_prob, b.n_changes_prob)
    np.testing.assert_array_equal(a.estimates["level"], b.estimates["level"])


# ---------------------------------------------------------------- segment marginals

def _reference_marginal(model, y, e):
    """Direct formulas (constants in the data dropped as in the kernels)."""
    p = model.params
    if model.likelihood == "poisson":
        a, b = p
        return (special.gammaln(a + y.sum()) - special.gammaln(a) + a * np.log(b)
                - (a + y.sum()) * np.log(b + e.sum()))
    if model.likelihood == "negbin":
        a, b = p
        return special.betaln(a + model.size * e.sum(), b + y.sum()) - special.betaln(a, b)
    z = (y - model.loc) / model.scale
    n = z.size
    if model.likelihood == "normal":
        m0, k0, a0, b0 = p
        cov = np.eye(n) + np.ones((n, n)) / k0
        return stats.multivariate_t(np.full(n, m0), cov * b0 / a0, df=2 * a0).logpdf(z)
    return stats.multivariate_normal(np.zeros(n), np.eye(n) + p[0]).logpdf(z)


def _poisson_marginal_by_quadrature(model, y, e):
    """Integrate the Poisson likelihood over the gamma prior numerically (no algebra shared)."""
    from scipy import integrate

    a, b = model.params

    def integrand(lam):
        return np.exp(np.sum(y * np.log(lam) - e * lam) + stats.gamma.logpdf(lam, a, scale=1 / b))

    peak = y.sum() / e.sum()
    return np.log(integrate.quad(integrand, 0, 2 * peak, points=[peak])[0]
                  + integrate.quad(integrand, 2 * peak, np.inf)[0])


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
def test_segment_marginal_matches_direct_formula(likelihood, rng):
    from crimestats.changepoint import _kernels

    y = rng.poisson(12, 40).astype(float)
    e = rng.uniform(0.5, 2, 40) if likelihood in ("poisson", "negbin") else np.ones(40)
    model = make_segment_model(likelihood, y, e, size=7.0)
    c0, c1, c2 = model.cumulative(y, e)
    for s, t in [(0, 40), (3, 11), (20, 21), (5, 38)]:
        got = _kernels.seg_logml(model.code, model.params, c0, c1, c2, s, t)
        want = _reference_marginal(model, y[s:t], e[s:t])
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_poisson_marginal_by_quadrature(rng):
    from crimestats.changepoint import _kernels

    y = rng.poisson(4, 15).astype(float)
    e = rng.uniform(0.5, 2, 15)
    model = make_segment_model("poisson", y, e)
    c0, c1, c2 = model.cumulative(y, e)
    got = _kernels.seg_logml(0, model.params, c0, c1, c2, 0, 15)
    assert got == pytest.approx(_poisson_marginal_by_quadrature(model, y, e), abs=1e-6)


# ---------------------------------------------------------------- exact recursion

def _brute_force(model, y, e, p, min_size):
    """Enumerate every segmentation: posterior P(change at t) and P(k changes)."""
    from crimestats.changepoint import _kernels

    n = y.size
    c0, c1, c2 = model.cumulative(y, e)
    log_q = log_q_from_p(p, min_size)
    logw, prob, nk = [], np.zeros(n), np.zeros(n)
    parts = []
    for mask in itertools.product([0, 1], repeat=n - 1):
        cps = [i + 1 for i, b in enumerate(mask) if b]
        bounds = [0, *cps, n]
        if min(np.diff(bounds)) < min_size:
            continue
        lw = sum(_kernels.seg_logml(model.code, model.params, c0, c1, c2, s, t) + log_q
                 for s, t in zip(bounds[:-1], bounds[1:], strict=True))
        logw.append(lw)
        parts.append(cps)
    logw = np.array(logw)
    w = np.exp(logw - special.logsumexp(logw))
    for wi, cps in zip(w, parts, strict=True):
        prob[cps] += wi
        nk[len(cps)] += wi
    best = parts[int(np.argmax(logw))]
    return prob, nk, best, special.logsumexp(logw)


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
@pytest.mark.parametrize("min_size", [1, 2])
def test_recursion_matches_enumeration(likelihood, min_size, rng):
    y = np.r_[rng.poisson(3, 5), rng.poisson(9, 5)].astype(float)
    e = np.ones(y.size)
    model = make_segment_model(likelihood, y, e, size=5.0)
    c0, c1, c2 = model.cumulative(y, e)
    p = 0.2
    prob, nk, best, logz = _brute_force(model, y, e, p, min_size)
    fit = bayes_fit(model, c0, c1, c2, log_q=log_q_from_p(p, min_size), min_size=min_size,
                    prune=0.0, draws=4000, rng=np.random.default_rng(1))
    np.testing.assert_allclose(fit.prob_change, prob, atol=1e-12)
    assert fit.log_evidence == pytest.approx(logz, abs=1e-10)
    assert fit.map_changepoints == best
    # exact posterior draws: number of changes within 4 Monte Carlo SEs
    freq = np.bincount(fit.n_changes_draws, minlength=nk.size)[:nk.size] / 4000
    se = np.sqrt(nk * (1 - nk) / 4000)
    assert np.all(np.abs(freq - nk) <= 4 * se + 1e-3)


@pytest.mark.parametrize("likelihood", ["poisson", "negbin", "normal"])
def test_pruned_matches_exact(likelihood, rng):
    n = 600
    y = rng.negative_binomial(40, 40 / (40 + np.repeat([10, 16, 9, 13], [150, 200, 100, 150])))
    exact = detect(y, likelihood, prune=0, draws=0)
    pruned = detect(y, likelihood, draws=0)
    assert pruned.changepoints == exact.changepoints
    diff = np.abs(exact.estimates["prob_change"] - pruned.estimates["prob_change"]).max()
    assert float(diff) < 1e-4
    assert pruned.diagnostics["mean_candidates"] < n / 2


# ---------------------------------------------------------------- PELT vs R changepoint

def test_pelt_poisson_matches_r_changepoint(data_dir):
    series = pd.read_csv(data_dir / "changepoint" / "r_pelt_poisson_series.csv")
    ref = pd.read_csv(data_dir / "changepoint" / "r_pelt_poisson_changepoints.csv",
                      keep_default_na=False)
    for _, row in ref.iterrows():
        y = series.loc[series["series"] == row["series"], "y"].to_numpy()
        want = [int(v) for v in str(row["r_changepoints"]).split()]
        got = detect(y, "poisson", method="pelt", penalty="MBIC").changepoints
        assert got == want, f"series {row['series']}"


def test_pelt_matches_exhaustive_optimum(rng):
    """PELT's pruning is exact: same optimum as the unpruned optimal partitioning."""
    from crimestats.changepoint import _kernels
    from crimestats.changepoint.pelt import penalty_value

    y = _steps(rng, 60, [20, 35], [3, 8, 2])
    model = make_segment_model("poisson", y, np.ones(60))
    c0, c1, c2 = model.cumulative(y, np.ones(60))
    pen, _ = penalty_value("BIC", 60, 1)
    res = detect(y, "poisson", method="pelt", penalty="BIC")
    logn = np.log(np.maximum(np.arange(61), 1))
    F = np.full(61, np.inf)
    F[0] = -pen
    for t in range(2, 61):
        for s in [0, *range(2, t - 1)]:
            F[t] = min(F[t], F[s] + _kernels._pelt_cost(0, c0, c1, c2, s, t, False, logn, True)
                       + pen)
    assert res.log_evidence == pytest.approx(F[60], abs=1e-9)


def test_penalties():
    from crimestats.changepoint.pelt import penalty_value

    assert penalty_value("MBIC", 100, 2)[0] == pytest.approx(4 * np.log(100))
    assert penalty_value("bic", 100, 1) == (pytest.approx(2 * np.log(100)), False)
    assert penalty_value(7.5, 100, 1) == (7.5, False)
    with pytest.raises(crimestats.InputError):
        penalty_value("AIC", 100, 1)
    with pytest.raises(crimestats.InputError):
        penalty_value(-1, 100, 1)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("likelihood", ["poisson", "negbin"])
def test_negative_and_fractional_counts(likelihood):
    with pytest.raises(crimestats.InputError, match="negative"):
        detect([3, 4, -1, 5], likelihood)
    with pytest.raises(crimestats.InputError, match="whole numbers"):
        detect([3, 4, 1.5, 5], likelihood)


def test_nan_requires_explicit_choice(rng):
    y = _steps(rng, 60, [30], [5, 15])
    y[[10, 11]] = np.nan
    with pytest.raises(crimestats.InputError, match="missing='skip'"):
        detect(y, "poisson")
    res = detect(y, "poisson", missing="skip", random_seed=0)
    assert res.estimates.sizes["time"] == 60          # nothing dropped
    assert np.isnan(res.estimates["y"].values[10])
    assert res.changepoints == [30]


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
def test_missing_period_adds_no_information(likelihood, rng):
    """A skipped period contributes nothing: segment marginals equal those without it."""
    from crimestats.changepoint import _kernels

    y = _steps(rng, 40, [20], [5, 15])
    gap = y.copy()
    gap[5] = np.nan
    m_gap = make_segment_model(likelihood, gap, np.ones(40), size=6.0)
    m_del = make_segment_model(likelihood, np.delete(y, 5), np.ones(39), size=6.0)
    np.testing.assert_allclose(m_gap.params, m_del.params)
    cg = m_gap.cumulative(gap, np.ones(40))
    cd = m_del.cumulative(np.delete(y, 5), np.ones(39))
    for (s, t), (s2, t2) in [((0, 40), (0, 39)), ((2, 9), (2, 8)), ((6, 30), (5, 29))]:
        assert _kernels.seg_logml(m_gap.code, m_gap.params, *cg, s, t) == pytest.approx(
            _kernels.seg_logml(m_del.code, m_del.params, *cd, s2, t2), abs=1e-10)


def test_short_series_and_bad_options():
    with pytest.raises(crimestats.InputError, match="minimum segment"):
        detect([1, 2, 3], "poisson", min_size=5)
    with pytest.raises(crimestats.InputError):
        detect([1.0], "normal")
    with pytest.raises(crimestats.InputError, match="likelihood"):
        detect([1, 2, 3, 4], "gaussian")
    with pytest.raises(crimestats.InputError, match="method"):
        detect([1, 2, 3, 4], "poisson", method="binseg")
    with pytest.raises(crimestats.InputError, match="prior_change"):
        detect([1, 2, 3, 4], "poisson", prior_change=1.5)
    with pytest.raises(crimestats.InputError, match="exposure"):
        detect([1, 2, 3, 4], "poisson", exposure=[1, 2, 0, 1])
    with pytest.raises(crimestats.InputError, match="exposure"):
        detect([1, 2, 3, 4], "poisson", exposure=[1, 2])
    with pytest.raises(crimestats.InputError, match="infinite"):
        detect([1.0, np.inf, 3.0, 4.0], "normal")


def test_auto_likelihood(rng):
    counts = _steps(rng, 50, [25], [5, 12])
    assert detect(counts, random_seed=0).likelihood == "negbin"
    assert detect(counts + 0.5, random_seed=0).likelihood == "normal"


# ---------------------------------------------------------------- models

def test_exposure_rate_change_only(rng):
    """Counts rise because the population doubles: no change in the rate per person."""
    pop = np.r_[np.full(50, 1000.0), np.full(50, 2000.0)]
    y = rng.poisson(0.01 * pop)
    found = detect(y, "poisson", random_seed=0).changepoints
    assert len(found) == 1 and abs(found[0] - 50) <= 2
    res = detect(y, "poisson", exposure=pop, random_seed=0)
    assert res.changepoints == []
    assert res.segments["lower"][0] < 0.01 < res.segments["upper"][0]


def test_negbin_overdispersed_counts_few_false_changes(rng):
    y = rng.negative_binomial(10, 10 / (10 + 200), size=200)     # mean 200, sd ~ 65
    assert detect(y, "negbin", random_seed=0).changepoints == []
    with pytest.warns(crimestats.DataWarning, match="negbin"):
        pois = detect(y, "poisson", random_seed=0)
    assert len(pois.changepoints) > 5


def test_segment_interval_coverage(rng):
    """95% intervals of a segment rate cover the truth in about 95% of replicates."""
    hits = 0
    reps = 200
    for _ in range(reps):
        y = rng.poisson(np.repeat([4.0, 9.0], [60, 60]))
        res = detect(y, "poisson", method="pelt")
        seg = res.segments
        if len(seg) == 2:
            hits += (seg["lower"][1] <= 9.0 <= seg["upper"][1])
    rate = hits / reps
    assert abs(rate - 0.95) < 3 * np.sqrt(0.95 * 0.05 / reps) + 0.01


def test_variance_change_normal(rng):
    y = np.r_[rng.normal(0, 1, 100), rng.normal(0, 4, 100)]
    # a change in variance is located less precisely than one in mean: within the F1 margin 5
    assert detect(y, "normal", random_seed=0).changepoints == pytest.approx([100], abs=5)
    z = np.r_[rng.normal(0, 2, 100), rng.normal(3, 2, 100)]
    assert detect(z, "normal_mean", random_seed=0).changepoints == pytest.approx([100], abs=5)


@pytest.mark.parametrize("likelihood", ["poisson", "negbin", "normal"])
@pytest.mark.parametrize("k", [0, 3])
def test_simulated_series_truth(likelihood, k):
    from crimestats.datasets import simulate_changepoint_series

    sim = simulate_changepoint_series(300, k, likelihood=likelihood, random_seed=k)
    assert len(sim.changepoints) == k and sim.y.shape == (300,)
    assert np.all(np.diff([0, *sim.changepoints, 300]) >= 10)
    assert np.count_nonzero(np.diff(sim.mean)) == k


def test_degenerate_series_and_table_input():
    for y, lik in [(np.full(20, 5.0), "normal"), (np.zeros(30), "poisson"),
                   (np.zeros(30), "negbin"), (np.array([1.0, 2.0]), "normal")]:
        assert detect(y, lik, random_seed=0).changepoints == []
        assert detect(y, lik, method="pelt").changepoints == []
    with pytest.raises(crimestats.InputError, match="detect_many"):
        detect(np.ones((5, 2)), "poisson")


def test_nullable_integer_series(rng):
    y = pd.Series(_steps(rng, 40, [20], [5, 15]).astype(int), dtype="Int64")
    y.iloc[3] = pd.NA
    with pytest.raises(crimestats.InputError, match="missing"):
        detect(y, "poisson")
    assert detect(y, "poisson", missing="skip", random_seed=0).changepoints == [20]


def test_result_round_trips(rng, tmp_path):
    import xarray as xr

    y = pd.Series(_steps(rng, 30, [15], [5, 20]), index=[f"m{i}" for i in range(30)])
    res = detect(y, "poisson", random_seed=0)
    frame = res.to_dataframe()
    assert list(frame.index) == list(y.index) and "prob_change" in frame
    res.to_netcdf(tmp_path / "cp.nc")
    back = xr.open_dataset(tmp_path / "cp.nc")
    np.testing.assert_allclose(back["prob_change"], res.estimates["prob_change"])
