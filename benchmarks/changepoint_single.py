"""Wall-clock seconds of `detect` on single series of several models and lengths (run by hand).

    python benchmarks/changepoint_single.py [--repeat 3]

Median of ``--repeat`` warm calls (the first call compiles or loads the kernels and is not
timed), with the defaults unless the row says otherwise. The figures are recorded in
docs/benchmarks/change-points.md ("The trend models").
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np

from crimestats.changepoint import detect


def cases() -> list[tuple[str, object]]:
    """The series timed, as (label, call)."""
    rng = np.random.default_rng(5)
    t = np.arange(60)
    monthly = rng.poisson(200 * np.exp(0.005 * t) * np.where(t >= 30, 1.2, 1.0)).astype(float)
    small = rng.poisson(4, 60).astype(float)
    n = 10_000
    tt = np.arange(n)
    counts = rng.poisson(100 * np.exp(0.5 * tt / n) * np.where(tt > 6000, 1.3, 1.0)).astype(float)
    values = rng.normal(0, 1, n) + 0.0003 * tt + np.where(tt > 4000, 1.0, 0.0)
    poisson = rng.poisson(np.repeat(rng.uniform(2, 30, 50), 2000)).astype(float)
    return [("60 monthly counts of about 200 (`count_trend`)", lambda: detect(monthly)),
            ("60 monthly counts of about 4 (`negbin`)", lambda: detect(small)),
            ("10,000 counts, trend and one step (`count_trend`)", lambda: detect(counts)),
            ("10,000 values, trend and one step (`trend`)", lambda: detect(values, "trend")),
            ("100,000 Poisson counts, 49 changes (`poisson`)", lambda: detect(poisson, "poisson")),
            ("the same, `draws=0`", lambda: detect(poisson, "poisson", draws=0))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print("| series | seconds |\n|---|---|")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, call in cases():
            call()
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                call()
                times.append(time.perf_counter() - start)
            print(f"| {label} | {statistics.median(times):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
