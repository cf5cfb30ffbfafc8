"""Seconds per fit of `crimestats.changepoint.attribute` (run by hand).

    python benchmarks/attribution_speed.py [--repeat 7]

Times one force × offence in the settings analysts use — 14 financial years without and with a
control offence and the survey's reported share, 16 years with both, 20 years — on series of
the calibration study (``attribution_scenarios.py``). Prints the median wall-clock and CPU
seconds over ``--repeat`` runs (after one warm-up run that compiles the numba kernel), the
number of configurations enumerated, and the load average: on a shared machine the wall-clock
figure grows with the load while the CPU figure does not.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from attribution_scenarios import POPULATION, SCENARIOS, simulate  # noqa: E402

from crimestats.changepoint import attribute  # noqa: E402


def _longer(T: int, seed: int):
    """A reporting ramp in a window of T financial years (no survey calendar shift)."""
    rng = np.random.default_rng(seed)
    years = np.arange(2019 - T, 2019)
    t = np.arange(T)
    inc = 0.03 * np.exp(-0.02 * t + 0.001 * (t - T / 2) ** 2)
    capture = 0.3 * np.exp(np.log(1.4) * np.clip((t - T / 2) / 3, 0, 1))
    recorded = pd.Series(rng.poisson(1e6 * inc * capture * rng.gamma(400, 1 / 400, T))
                         .astype(float), index=years)
    est = inc * (1 + 0.05 * rng.standard_normal(T))
    return recorded, pd.DataFrame({"period": years, "estimate": est, "se": 0.05 * est})


def cases():
    """(name, keyword arguments of attribute) for each benchmarked setting."""
    ramp = next(s for s in SCENARIOS if s.name == "reporting_ramp")
    rec = next(s for s in SCENARIOS if s.name == "recording_ramp")
    a = simulate(ramp, 0.05, np.random.default_rng(1))
    b = simulate(rec, 0.05, np.random.default_rng(2))
    share = pd.DataFrame({"period": a.recorded.index, "estimate": 0.4, "se": 0.015})
    r16, s16 = _longer(16, 3)
    c16 = pd.Series(np.round(1e6 * 0.02 * 0.85 * np.ones(16)), index=r16.index)
    cs16 = pd.DataFrame({"period": r16.index, "estimate": 0.02, "se": 0.001})
    share16 = pd.DataFrame({"period": r16.index, "estimate": 0.4, "se": 0.015})
    r20, s20 = _longer(20, 4)
    return [
        ("14 years, survey only", dict(recorded=a.recorded, survey=a.survey)),
        ("14 years, survey + reported share", dict(recorded=a.recorded, survey=a.survey,
                                                   reported_share=share)),
        ("14 years, survey + 1 control", dict(recorded=b.recorded, survey=b.survey,
                                              controls=b.controls)),
        ("16 years, survey + share + 1 control",
         dict(recorded=r16, survey=s16, reported_share=share16,
              controls={"vehicle": (c16, cs16)})),
        ("20 years, survey only", dict(recorded=r20, survey=s20)),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--draws", type=int, default=4000)
    args = parser.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| setting | configurations | wall s (median) | CPU s (median) |")
    print("|---|---|---|---|")
    for name, kw in cases():
        attribute(population=POPULATION, random_seed=0, draws=args.draws, **kw)   # warm-up
        walls, cpus = [], []
        for rep in range(args.repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            res = attribute(population=POPULATION, random_seed=rep, draws=args.draws, **kw)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        print(f"| {name} | {res.diagnostics['n_configurations']:,} | {np.median(walls):.2f} "
              f"| {np.median(cpus):.2f} |")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
