"""Benchmark of the spatial HB fits: `crimestats.sae.bym2` and the binomial BYM2/ICAR model.

Run by hand: ``python benchmarks/bym2.py``. Prints a table of wall-clock times for the 314
community safety partnerships (real adjacency, simulated direct estimates), a Delaunay
triangulation of 7,201 random points (MSOA-sized) and an 85 × 85 grid, for the BYM2 and
ICAR models, with the machine's load average; then a second table for
``logit_binomial(..., adjacency=...)`` (Laplace approximation) on the first two graphs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import Delaunay

from crimestats.sae import adjacency_from_pairs, bym2, logit_binomial

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "sae"


def csp_adjacency():
    lookup = pd.read_csv(DATA / "lad17_csp17_pfa17_lookup.csv", encoding="utf-8-sig")
    areas = np.sort(lookup["CSP17CD"].unique())
    return adjacency_from_pairs(pd.read_csv(DATA / "csp17_adjacency.csv"), areas=areas)


def delaunay_adjacency(m: int, rng: np.random.Generator):
    tri = Delaunay(rng.random((m, 2)))
    s = tri.simplices
    pairs = np.concatenate([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    return adjacency_from_pairs(pd.DataFrame(pairs), areas=np.arange(m))


def grid_adjacency(n: int):
    idx = np.arange(n * n).reshape(n, n)
    pairs = np.concatenate([np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
                            np.column_stack([idx[:-1].ravel(), idx[1:].ravel()])])
    return adjacency_from_pairs(pd.DataFrame(pairs), areas=np.arange(n * n))


def simulate(adj, rng: np.random.Generator):
    """Direct estimates from a BYM2 truth (sigma 0.5, phi 0.7) with D from 0.05 to 0.5."""
    from crimestats.sae.spatial.icar import icar_structure

    m = adj.n_areas
    icar = icar_structure(adj)
    u = icar.sample_prior(np.arange(m), 1, rng)[0]
    x = rng.normal(size=m)
    theta = 1.0 + 0.5 * x + 0.5 * (np.sqrt(0.7) * u + np.sqrt(0.3) * rng.normal(size=m))
    D = rng.uniform(0.05, 0.5, size=m)
    return theta + rng.normal(size=m) * np.sqrt(D), D, x


def simulate_binomial(adj, rng: np.random.Generator):
    """Binomial counts from a BYM2 truth on the logit scale (sigma 0.5, phi 0.7, prevalence
    around 3-10%), n from 20 to 300, 30 areas unsampled."""
    from crimestats.sae.spatial.icar import icar_structure

    m = adj.n_areas
    u = icar_structure(adj).sample_prior(np.arange(m), 1, rng)[0]
    x = rng.normal(size=m)
    eta = -2.9 + 0.25 * x + 0.5 * (np.sqrt(0.7) * u + np.sqrt(0.3) * rng.normal(size=m))
    n = rng.integers(20, 301, size=m).astype(float)
    y = rng.binomial(n.astype(int), 1.0 / (1.0 + np.exp(-eta)))
    n[rng.choice(m, size=30, replace=False)] = 0.0
    return np.where(n > 0, y / np.where(n > 0, n, 1.0), np.nan), n, x


def main() -> None:
    rng = np.random.default_rng(2026)
    cases = [("314 CSPs (real adjacency)", csp_adjacency()),
             ("7,201 Delaunay", delaunay_adjacency(7201, rng)),
             ("85 x 85 grid (7,225)", grid_adjacency(85))]
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores shared)")
    print(f"{'graph':28} {'model':6} {'areas':>6} {'pairs':>6} {'nodes':>6} {'evals':>6} "
          f"{'seconds':>8}")
    for name, adj in cases:
        y, D, x = simulate(adj, rng)
        for model in ("bym2", "icar"):
            start = time.perf_counter()
            fit = bym2(y, D, x[:, None], adjacency=adj, areas=adj.areas, model=model)
            elapsed = time.perf_counter() - start
            print(f"{name:28} {model:6} {adj.n_areas:6d} {adj.n_pairs:6d} {fit.n_nodes:6d} "
                  f"{fit.diagnostics['likelihood_evaluations']:6d} {elapsed:8.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print()
    print("logit_binomial(..., adjacency=...): Laplace approximation per (sigma, phi)")
    print(f"{'graph':28} {'model':6} {'areas':>6} {'nodes':>6} {'evals':>6} {'newton':>6} "
          f"{'seconds':>8}")
    for name, adj in cases[:2]:
        p, n, x = simulate_binomial(adj, rng)
        for model in ("bym2", "icar"):
            start = time.perf_counter()
            fit = logit_binomial(p, n, x[:, None], areas=adj.areas, adjacency=adj,
                                 spatial=model)
            elapsed = time.perf_counter() - start
            print(f"{name:28} {model:6} {adj.n_areas:6d} {fit.n_nodes:6d} "
                  f"{fit.diagnostics['likelihood_evaluations']:6d} "
                  f"{fit.diagnostics['newton_iterations_mean']:6.1f} {elapsed:8.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
