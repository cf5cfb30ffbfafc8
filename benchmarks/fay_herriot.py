"""Fit times and peak memory of the Fay–Herriot model for m = 43, 7,201 and 35,000 areas.

Run by hand (not part of the tests):

    python benchmarks/fay_herriot.py [--repeats 5] [--no-hb]

Prints a Markdown table: median wall time over ``--repeats`` fits of EBLUP (REML, ML, FH, each
with its analytic MSE) and of hierarchical Bayes (``method="hb"``, when
``crimestats.sae.area_level.hb`` is available), and the peak memory traced by :mod:`tracemalloc`
during one fit, next to what a single dense m x m float64 matrix would need.
The data are simulated: four covariates plus an intercept, sampling variances spread over
two orders of magnitude, 10% of the areas out of sample.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import time
import tracemalloc
import warnings

import numpy as np

from crimestats.sae import fay_herriot

SIZES = (43, 7_201, 35_000)  # police force areas / MSOAs / LSOAs (England and Wales)


def simulate(m: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Direct estimates, sampling variances and 4 covariates for ``m`` areas."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(m, 4))
    d = np.exp(rng.uniform(np.log(0.05), np.log(5.0), size=m))
    theta = 1.0 + x @ np.array([0.5, -0.3, 0.2, 0.1]) + rng.normal(scale=0.7, size=m)
    y = theta + rng.normal(scale=np.sqrt(d))
    out = rng.choice(m, size=m // 10, replace=False)
    y[out], d[out] = np.nan, np.nan
    return y, d, x


def time_fit(y: np.ndarray, d: np.ndarray, x: np.ndarray, method: str, repeats: int
             ) -> tuple[float, float]:
    """Median wall time (s) over ``repeats`` fits, and peak traced memory (MB) of one fit."""
    kwargs = {"random_seed": 1} if method == "hb" else {}
    fay_herriot(y, d, x, method=method, **kwargs)  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fay_herriot(y, d, x, method=method, **kwargs)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    fay_herriot(y, d, x, method=method, **kwargs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-hb", action="store_true", help="skip hierarchical Bayes")
    args = parser.parse_args()
    methods = ["reml", "ml", "fh"]
    if not args.no_hb and importlib.util.find_spec("crimestats.sae.area_level.hb") is not None:
        methods.append("hb")

    print(f"Python {platform.python_version()}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    print()
    print("| areas m | method | median fit time (s) | peak memory (MB) | dense m x m matrix (MB) |")
    print("|---:|---|---:|---:|---:|")
    for m in SIZES:
        y, d, x = simulate(m)
        for method in methods:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seconds, peak = time_fit(y, d, x, method, args.repeats)
            print(f"| {m:,} | {method} | {seconds:.4f} | {peak:.2f} | {8 * m * m / 1e6:,.0f} |")


if __name__ == "__main__":
    main()
