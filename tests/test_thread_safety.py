"""Backends call crimestats from several worker threads at once: results must not interfere.

Each public entry point is run serially and then concurrently from a thread pool on different
inputs; every concurrent result must equal its serial twin exactly (no shared mutable state,
seeded randomness local to the call).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from crimestats.changepoint import detect
from crimestats.datasets import load_modern_slavery, simulate_survey
from crimestats.hidden import multiple_systems
from crimestats.sae import fay_herriot
from crimestats.survey import direct_estimates


def _fh_inputs(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, 2))
    d = rng.uniform(0.1, 1.0, size=60)
    y = 1.0 + x @ np.array([0.4, -0.2]) + rng.normal(scale=0.6, size=60)
    return y + rng.normal(scale=np.sqrt(d)), d, x


def _jobs():
    """(name, zero-argument callable returning an array that summarises the result)."""
    jobs = []
    for seed in range(3):
        y, d, x = _fh_inputs(seed)
        jobs.append((f"reml{seed}", lambda y=y, d=d, x=x:
                     fay_herriot(y, d, x, method="reml").estimates["estimate"].values))
        jobs.append((f"hb{seed}", lambda y=y, d=d, x=x, s=seed:
                     fay_herriot(y, d, x, method="hb", draws=50, random_seed=s)
                     .idata["posterior"]["sigma2_u"].values.ravel()))
        counts = np.random.default_rng(seed).poisson(np.repeat([5.0, 15.0], 60))
        jobs.append((f"detect{seed}", lambda c=counts:
                     detect(c, likelihood="poisson").estimates["prob_change"].values))
    survey = simulate_survey(n_areas=30, random_seed=5)
    jobs.append(("direct", lambda: direct_estimates(
        survey.respondents, y="victim", area="area", weight="weight", strata="stratum",
        psu="psu")["variance"].values))
    lists = load_modern_slavery(lists=5)
    jobs.append(("mse", lambda: np.array([multiple_systems(lists, method="loglinear").total])))
    return jobs


def test_concurrent_calls_match_serial_calls():
    jobs = _jobs()
    serial = {name: job() for name, job in jobs}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [(name, pool.submit(job)) for name, job in jobs * 2]
        for name, future in futures:
            np.testing.assert_array_equal(future.result(), serial[name], err_msg=name)


@pytest.mark.parametrize("seed", [1, 2])
def test_seeded_draws_do_not_depend_on_other_threads(seed):
    y, d, x = _fh_inputs(seed)

    def draws():
        return fay_herriot(y, d, x, method="hb", draws=50, random_seed=seed
                           ).idata["posterior"]["sigma2_u"].values.ravel()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: draws(), range(4)))
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
