"""Spatial models at national scale: Gaussian BYM2, Poisson BYM2 and SAR FH up to 35,000 areas.

Run by hand (not part of the tests):

    python benchmarks/spatial_scale.py [--sizes 3600 7200 17000 35000] [--maps grid delaunay]
                                       [--models gaussian poisson sar] [--repeats 3]

Each fit runs in a fresh child process (so the peak resident memory of one fit can be read),
after an untimed fit on 400 areas in that process (compiled kernels loaded, threads started).
Maps: a rook grid (the nearest square: 60², 85², 130², 187² areas) and the Delaunay
triangulation of uniform random points (an irregular planar map like real boundaries, about
six neighbours per area). Data:

* Gaussian BYM2 (`bym2`): $\\theta = 1 + 0.5x + b$, $b$ from the BYM2 prior ($\\sigma = 0.5$,
  $\\phi = 0.7$, `simulate_bym2_effects`), sampling variances 0.05 to 0.5, 1% of areas
  unsampled;
* Poisson BYM2 (`poisson_lognormal(..., adjacency=)`): counts with exposure 1,000 to 3,000
  residents and log rate $-4 + 0.25x + b$ (about 30 to 60 crimes per area, as police.uk
  counts per LSOA and year), 1% unsampled;
* SAR FH (`fay_herriot(..., proximity=)`, sparse path): the Gaussian data above.

Prints a Markdown table of median wall times (with the range, the CPU time of the process, which
counts both threads, and the load average at the start of each fit: the machine is shared),
the number of grid nodes (and of evaluations of the marginal likelihood, the mode search's
included), the peak memory, and the growth exponent $k$ of time $\\propto m^k$ (least squares
on the logs, of the wall medians and of the CPU times) per model and map.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

SIZES = (3_600, 7_200, 17_000, 35_000)


def make_map(kind: str, m: int):
    from scipy.spatial import Delaunay

    from crimestats.sae import adjacency_from_pairs

    if kind == "grid":
        side = round(math.sqrt(m))
        idx = np.arange(side * side).reshape(side, side)
        pairs = np.concatenate([np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
                                np.column_stack([idx[:-1].ravel(), idx[1:].ravel()])])
        return adjacency_from_pairs(pairs, areas=np.arange(side * side))
    points = np.random.default_rng(m).uniform(size=(m, 2))
    simplices = Delaunay(points).simplices
    pairs = np.vstack([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]])
    return adjacency_from_pairs(np.unique(np.sort(pairs, axis=1), axis=0), areas=np.arange(m))


def fitter(model: str, adj, seed: int):
    """A call fitting ``model`` to data simulated on ``adj`` (see the module notes)."""
    from crimestats.sae import bym2, fay_herriot, poisson_lognormal, simulate_bym2_effects

    rng = np.random.default_rng(seed)
    m = adj.n_areas
    b = simulate_bym2_effects(adj, sigma=0.5, phi=0.7, random_seed=rng)
    x = rng.normal(size=m)
    out = rng.choice(m, size=max(m // 100, 1), replace=False)
    if model == "poisson":
        exposure = rng.integers(1_000, 3_001, size=m).astype(float)
        counts = rng.poisson(exposure * np.exp(-4.0 + 0.25 * x + b)).astype(float)
        counts[out] = np.nan
        return lambda: poisson_lognormal(counts, exposure, x[:, None], adjacency=adj,
                                         areas=adj.areas)
    d = rng.uniform(0.05, 0.5, size=m)
    y = 1.0 + 0.5 * x + b + rng.normal(size=m) * np.sqrt(d)
    y[out] = d[out] = np.nan
    if model == "sar":
        return lambda: fay_herriot(y, d, x[:, None], proximity=adj, areas=adj.areas)
    return lambda: bym2(y, d, x[:, None], adjacency=adj, areas=adj.areas)


def child(kind: str, m: int, model: str, seed: int) -> None:
    """One timed fit in this process; prints a JSON line."""
    fitter(model, make_map(kind, 400), seed)()          # warm-up: kernels, threads
    adj = make_map(kind, m)
    fit = fitter(model, adj, seed)
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    result = fit()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20       # KiB -> GiB
    evaluations = getattr(result, "diagnostics", {}).get("likelihood_evaluations", 0)
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_gib": peak, "areas": adj.n_areas,
                      "nodes": getattr(result, "n_nodes", 0), "evaluations": evaluations,
                      "load": load}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--maps", nargs="+", default=["grid", "delaunay"])
    parser.add_argument("--models", nargs="+", default=["gaussian", "poisson", "sar"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, m, model, seed = args.child
        child(kind, int(m), model, int(seed))
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at the start\n")
    print("| model | map | areas | nodes (evaluations) | median s | range s | CPU s | peak GiB "
          "| load |")
    print("|---|---|---:|---:|---:|---|---:|---:|---:|")
    growth: dict[tuple[str, str], list[tuple[int, float, float]]] = {}
    for model in args.models:
        for kind in args.maps:
            for m in args.sizes:
                runs = []
                for repeat in range(args.repeats):
                    done = subprocess.run(
                        [sys.executable, __file__, "--child", kind, str(m), model,
                         str(repeat + 1)], capture_output=True, text=True, check=True)
                    runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
                seconds = [r["seconds"] for r in runs]
                median = statistics.median(seconds)
                cpu = statistics.median(r["cpu"] for r in runs)
                growth.setdefault((model, kind), []).append((runs[0]["areas"], median, cpu))
                print(f"| {model} | {kind} | {runs[0]['areas']:,} | {runs[0]['nodes']} "
                      f"({runs[0]['evaluations']}) | "
                      f"{median:.1f} | {min(seconds):.1f}–{max(seconds):.1f} | "
                      f"{cpu:.1f} | "
                      f"{max(r['peak_gib'] for r in runs):.2f} | "
                      f"{statistics.median(r['load'] for r in runs):.1f} |", flush=True)
    print("\nGrowth exponent k (time ∝ areas^k, least squares on the logs; wall medians and CPU):")
    for (model, kind), points in growth.items():
        if len(points) > 1:
            logs = np.log(np.array(points))
            wall = np.polyfit(logs[:, 0], logs[:, 1], 1)[0]
            cpu = np.polyfit(logs[:, 0], logs[:, 2], 1)[0]
            print(f"  {model:9} {kind:9} k = {wall:.2f} (wall), {cpu:.2f} (CPU)")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
