"""Speed of crimestats.compare: prints a table of median wall times (figures in docs/benchmarks).

    .venv/bin/python benchmarks/compare.py

Each call is repeated (5 times, or 3 for the slow ones) and the median reported, with the
machine's load average at the start, since the machine is shared.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from crimestats.compare import (
    change_tests,
    compare_to_peers,
    funnel,
    most_similar,
    rank_uncertainty,
)
from crimestats.datasets import (
    load_force_violence,
    load_population,
    load_recorded_crime,
    simulate_area_counts,
)

warnings.simplefilter("ignore")


def _median_time(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    forces = load_force_violence()
    csp = load_population("csp")["residents"].to_numpy(float)
    big = np.exp(np.random.default_rng(0).uniform(np.log(1e3), np.log(1e6), 10_000))
    sim_csp = simulate_area_counts(csp, 0.01, sd=0.1, random_seed=1)
    sim_big = simulate_area_counts(big, 0.01, sd=0.1, random_seed=2)
    groups = most_similar()
    crime = load_recorded_crime()
    broken = crime["offence"].str.contains("burglary") | (crime["offence"] == "Fraud offences")
    crime = crime[~broken]   # burglary categories changed in 2017/18; fraud left in 2013
    rng = np.random.default_rng(3)
    est314, se314 = rng.normal(10, 1, 314), rng.uniform(0.2, 1.0, 314)
    cases = [
        ("funnel, 43 forces (additive, with curve)",
         lambda: funnel("recorded_violence", "residents", data=forces, areas="force"), 5),
        ("funnel, 314 CSPs (additive)", lambda: funnel(sim_csp.observed, sim_csp.exposure), 5),
        ("funnel, 314 CSPs (exact)",
         lambda: funnel(sim_csp.observed, sim_csp.exposure, method="exact"), 5),
        ("funnel, 10,000 areas (additive)",
         lambda: funnel(sim_big.observed, sim_big.exposure), 3),
        ("most_similar, 43 forces", lambda: most_similar(), 5),
        ("compare_to_peers, 43 forces x 7 peers",
         lambda: compare_to_peers("recorded_violence", "residents", groups, data=forces,
                                  areas="force"), 3),
        ("rank_uncertainty, 314 areas, 4,000 normal draws",
         lambda: rank_uncertainty(est314, se=se314, random_seed=1), 5),
        (f"change_tests, {crime.groupby(['force', 'offence']).ngroups} series x 16 years",
         lambda: change_tests(crime, count="offences", time="financial_year_ending",
                              by=["force", "offence"]), 3),
    ]
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores, shared)\n")
    print("| call | median wall time |\n|---|---|")
    for name, fn, repeats in cases:
        fn()   # warm caches (imports, compiled code)
        print(f"| {name} | {1000 * _median_time(fn, repeats):.0f} ms |", flush=True)


if __name__ == "__main__":
    main()
