"""Timings of the spatial, spatio-temporal and unit-level models and the adjacency utilities.

Run by hand (``python benchmarks/spatial_temporal_unit.py``); prints a table. Figures are
recorded in ``docs/validation/spatial-temporal-unit.md``. Set OPENBLAS_NUM_THREADS to compare
thread counts; the spatial models use dense m x m algebra (intrinsic to the SAR covariance).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from crimestats.sae import (
    adjacency_from_geojson,
    adjacency_from_pairs,
    fay_herriot,
    spatio_temporal_fay_herriot,
    unit_level,
)

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "sae"


def grid_pairs(side: int) -> list[tuple[int, int]]:
    pairs = [(r * side + c, r * side + c + 1) for r in range(side) for c in range(side - 1)]
    pairs += [(r * side + c, (r + 1) * side + c) for r in range(side - 1) for c in range(side)]
    return pairs


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def sar_data(adj, rng, rho=0.6):
    w = adj.row_standardised().toarray()
    m = w.shape[0]
    x = rng.normal(size=m)
    v = np.linalg.solve(np.eye(m) - rho * w, rng.normal(size=m))
    d = rng.uniform(0.3, 2.0, size=m)
    return 1 + 0.5 * x + v + rng.normal(scale=np.sqrt(d)), d, x, w


def report(row: tuple[str, str, float]) -> None:
    name, size, secs = row
    print(f"{name:<52}  {size:<34} {secs:8.3f}", flush=True)


def main() -> None:
    rng = np.random.default_rng(1)
    print(f"{'task':<52}  {'size':<34} seconds")

    # adjacency utilities
    t, adj = timed(lambda: adjacency_from_geojson(
        DATA / "greater_manchester_wards_2016_bng.geojson", "wd16cd", rule="edge",
        precision=0.01), repeat=3)
    report(("adjacency_from_geojson (edge)", "215 GM wards", t))
    lookup = pd.read_csv(DATA / "lad17_csp17_pfa17_lookup.csv", encoding="utf-8-sig")
    codes = lookup["CSP17CD"].drop_duplicates().sort_values().to_numpy()
    csp_pairs = pd.read_csv(DATA / "csp17_adjacency.csv")
    t, csp = timed(lambda: adjacency_from_pairs(csp_pairs, areas=codes), repeat=3)
    report(("adjacency_from_pairs", "314 CSPs, 808 pairs", t))
    big_pairs = grid_pairs(85)  # 7,225 areas
    t, big = timed(lambda: adjacency_from_pairs(big_pairs), repeat=3)
    report(("adjacency_from_pairs", f"{big.n_areas:,} areas (85 x 85 grid)", t))
    t, _ = timed(lambda: (big.row_standardised(), big.n_components, big.islands), repeat=3)
    report(("row_standardise + components + islands", f"{big.n_areas:,} areas", t))

    # spatial Fay-Herriot (dense)
    y, d, x, w = sar_data(csp, rng)
    for method in ("reml", "ml"):
        t, fit = timed(lambda method=method: fay_herriot(y, d, x, proximity=w, method=method))
        report((f"spatial FH ({method.upper()}, analytic MSE)", "314 CSPs", t))
    for side in (22, 32):
        adj = adjacency_from_pairs(grid_pairs(side), areas=range(side * side))
        y, d, x, w = sar_data(adj, rng)
        t, fit = timed(lambda y=y, d=d, x=x, w=w: fay_herriot(y, d, x, proximity=w))
        report(("spatial FH (REML, analytic MSE)", f"{side * side:,} areas (grid)", t))

    # spatio-temporal Fay-Herriot (dense in areas x periods)
    for n_years in (3, 5):
        w = csp.row_standardised().toarray()
        m = w.shape[0]
        area = np.repeat(np.arange(m), n_years)
        period = np.tile(np.arange(n_years), m)
        xs = rng.normal(size=area.size)
        u1 = np.linalg.solve(np.eye(m) - 0.6 * w, rng.normal(scale=0.5, size=m))
        dd = rng.uniform(0.1, 0.5, size=area.size)
        ys = 1 + xs + u1[area] + rng.normal(scale=0.3, size=area.size) + rng.normal(
            scale=np.sqrt(dd))
        t, fit = timed(lambda ys=ys, dd=dd, xs=xs, area=area, period=period, w=w:
                       spatio_temporal_fay_herriot(ys, dd, xs, area=area, period=period,
                                                   proximity=w, tol=1e-6))
        report((f"spatio-temporal FH (AR(1), tol 1e-6, {fit.iterations} it.)",
                     f"314 CSPs x {n_years} years", t))

    # unit-level BHF
    for n_dom, n_units in ((314, 35_000), (7_201, 100_000), (7_201, 1_000_000)):
        dom = rng.integers(0, n_dom, size=n_units)
        xu = rng.normal(size=(n_units, 3))
        u = rng.normal(scale=0.5, size=n_dom)
        yu = xu @ [1.0, -0.5, 0.2] + u[dom] + rng.normal(size=n_units)
        means = pd.DataFrame(rng.normal(scale=0.1, size=(n_dom, 3)), columns=["a", "b", "c"])
        sizes = pd.Series(np.bincount(dom, minlength=n_dom) * 50 + 10)
        cov = pd.DataFrame(xu, columns=["a", "b", "c"])
        t, _ = timed(lambda dom=dom, yu=yu, cov=cov, means=means, sizes=sizes:
                     unit_level(yu, cov, dom, means, sizes))
        report(("unit-level BHF (REML, analytic MSE)",
                     f"{n_dom:,} domains, {n_units:,} units", t))
    dom = rng.integers(0, 314, size=35_000)
    xu = pd.DataFrame(rng.normal(size=(35_000, 3)), columns=["a", "b", "c"])
    yu = xu.to_numpy() @ [1.0, -0.5, 0.2] + rng.normal(scale=0.5, size=314)[dom] + rng.normal(
        size=35_000)
    means = pd.DataFrame(np.zeros((314, 3)), columns=["a", "b", "c"])
    sizes = pd.Series(np.bincount(dom, minlength=314) * 50 + 10)
    t, _ = timed(lambda: unit_level(yu, xu, dom, means, sizes, mse="bootstrap",
                                    bootstrap_replicates=200, random_seed=1))
    report(("unit-level BHF (bootstrap MSE, B=200)", "314 domains, 35,000 units", t))


if __name__ == "__main__":
    main()
