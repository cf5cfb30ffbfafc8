"""Fit times of the prevalence/rate models, benchmarking and diagnostics for 314 and 7,201 areas.

Run by hand (not part of the tests):

    python benchmarks/sae_models.py [--repeats 3]

Prints a Markdown table of median wall times over ``--repeats`` runs. The data are simulated:
m areas (314 community safety partnerships, 7,201 MSOAs), two covariates plus an intercept,
respondents per area between 5 and 300, design effect 1.4, true prevalence around 5% with a
logit-normal area effect (sd 0.4), and 10% of the areas with no sample.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import special

from crimestats.sae import (
    arcsin_fay_herriot,
    benchmark,
    benchmark_draws,
    diagnostics,
    fay_herriot,
    logit_binomial,
    mrp,
    multivariate_fay_herriot,
    poisson_lognormal,
)

SIZES = (314, 7_201)


def simulate(m: int, seed: int = 1) -> dict[str, np.ndarray]:
    """Direct prevalences, sample sizes, covariates, counts and exposures for ``m`` areas."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(m, 2))
    n = rng.integers(5, 300, m).astype(float)
    truth = special.expit(-3.0 + x @ np.array([0.3, -0.2]) + rng.normal(0, 0.4, m))
    direct = rng.binomial(n.astype(int), truth) / n
    out = rng.choice(m, m // 10, replace=False)
    direct[out], n[out] = np.nan, 0.0
    exposure = rng.integers(2_000, 20_000, m).astype(float)
    counts = rng.poisson(exposure * truth / 10).astype(float)
    return {"x": x, "n": n, "direct": direct, "counts": counts, "exposure": exposure,
            "truth": truth}


def simulate_respondents(m: int, seed: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Respondents (5 per area on average, 10% of areas with none) and population cells."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=m)
    u = rng.normal(0, 0.3, m)
    n = rng.poisson(5.5, m)
    n[rng.choice(m, m // 10, replace=False)] = 0
    area = np.repeat(np.arange(m), n)
    young = rng.integers(0, 2, area.size)
    p = special.expit(-2.5 + 0.6 * young + 0.3 * x1[area] + u[area])
    people = pd.DataFrame({"area": area, "young": young, "x1": x1[area],
                           "victim": (rng.uniform(size=area.size) < p).astype(int)})
    cells = pd.DataFrame({"area": np.repeat(np.arange(m), 2), "young": np.tile([0, 1], m),
                          "x1": np.repeat(x1, 2), "adults": rng.integers(500, 5000, 2 * m)})
    return people, cells


def timed(fn, repeats: int) -> float:
    """Median wall time of ``repeats`` calls (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def tasks_for(m: int) -> dict[str, Callable[[], object]]:
    """The timed calls for ``m`` simulated areas."""
    data = simulate(m)
    deff = 1.4
    ins = data["n"] > 0
    fit = logit_binomial(data["direct"], data["n"], data["x"], design_effect=deff)
    share = np.full(m, 1.0 / m)
    draws = np.random.default_rng(0).normal(fit.estimates["estimate"].values,
                                            fit.estimates["sd"].values, (1000, m))
    n_safe = np.maximum(data["n"], 1)
    d = np.where(ins, np.maximum(data["direct"] * (1 - data["direct"]), 0.5 / n_safe)
                 * deff / n_safe, np.nan)
    fh = fay_herriot(data["direct"], d, data["x"])
    people, cells = simulate_respondents(m)
    return {
        "logit_binomial (exact HB by quadrature)": lambda: logit_binomial(
            data["direct"], data["n"], data["x"], design_effect=deff),
        "poisson_lognormal": lambda: poisson_lognormal(
            data["counts"], data["exposure"], data["x"], per=1000),
        "arcsin_fay_herriot (REML)": lambda: arcsin_fay_herriot(
            data["direct"], data["n"], data["x"], design_effect=deff),
        "benchmark (mse allocation)": lambda: benchmark(fit, 0.05, weights=share,
                                                        method="mse"),
        "benchmark_draws (1,000 draws, ratio)": lambda: benchmark_draws(draws, 0.05,
                                                                        weights=share),
        "diagnostics (EBLUP fit)": lambda: diagnostics(fh),
        "multivariate_fay_herriot (K = 3, REML)": lambda: multivariate_fay_herriot(
            np.column_stack([data["counts"], 0.7 * data["counts"], 0.4 * data["counts"]])
            / data["exposure"][:, None] * 1000 + 1.0,
            np.column_stack([np.full(m, 0.5), np.full(m, 0.4), np.full(m, 0.3)]), data["x"]),
        "mrp (5 respondents per area on average, 2 cells per area)": lambda: mrp(
            people, cells, outcome="victim", area="area", covariates=["young", "x1"],
            population="adults"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, "
          f"{platform.machine()}\n")
    print("| task | m = 314 | m = 7,201 |")
    print("|---|---|---|")
    rows: dict[str, list[str]] = {}
    for m in SIZES:
        for name, task in tasks_for(m).items():
            rows.setdefault(name, []).append(f"{timed(task, args.repeats):.3f} s")
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
