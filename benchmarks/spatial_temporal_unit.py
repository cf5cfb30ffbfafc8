"""Timings of the spatial, spatio-temporal and unit-level models and the adjacency utilities.

Run by hand (``OPENBLAS_NUM_THREADS=1 python benchmarks/spatial_temporal_unit.py``); prints a
table and the load average. Figures are recorded in ``docs/validation/spatial-temporal-unit.md``.
The spatial and spatio-temporal Fay-Herriot models use dense algebra up to 500 areas / 300
area-periods and the sparse precision form above (``algorithm="auto"``); the 7,201-area rows
use an 85 x 85 rook grid and the Delaunay triangulation of 7,201 random points (wider band,
like real MSOA contiguity).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import splu
from scipy.spatial import Delaunay

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


def delaunay_pairs(m: int, rng: np.random.Generator) -> np.ndarray:
    tri = Delaunay(rng.uniform(size=(m, 2))).simplices
    return np.vstack([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]])


def sar_effects(w: sp.sparray, rng: np.random.Generator, rho: float, scale: float
                ) -> np.ndarray:
    a = sp.csc_array(sp.eye_array(w.shape[0]) - rho * w)
    return splu(a).solve(rng.normal(scale=scale, size=w.shape[0]))


def sar_data(adj, rng, rho=0.6):
    w = adj.row_standardised()
    m = w.shape[0]
    x = rng.normal(size=m)
    v = sar_effects(w, rng, rho, 1.0)
    d = rng.uniform(0.3, 2.0, size=m)
    return 1 + 0.5 * x + v + rng.normal(scale=np.sqrt(d)), d, x, w


def stfh_data(adj, rng, n_years):
    w = adj.row_standardised()
    m = w.shape[0]
    area = np.repeat(np.arange(m), n_years)
    period = np.tile(np.arange(n_years), m)
    xs = rng.normal(size=area.size)
    u1 = sar_effects(w, rng, 0.6, 0.5)
    u2 = np.zeros((m, n_years))
    for t in range(n_years):
        u2[:, t] = (0.5 * u2[:, t - 1] if t else 0.0) + rng.normal(scale=0.3, size=m)
    dd = rng.uniform(0.1, 0.5, size=area.size)
    ys = 1 + xs + u1[area] + u2.ravel() + rng.normal(scale=np.sqrt(dd))
    return ys, dd, xs, area, period, w


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

    # spatial Fay-Herriot: dense up to 500 areas, sparse precision form above
    graphs = {"314 CSPs": csp,
              "1,024 areas (32 x 32 grid)": adjacency_from_pairs(grid_pairs(32),
                                                                 areas=range(1024)),
              "7,225 areas (85 x 85 grid)": big,
              "7,201 areas (Delaunay)": adjacency_from_pairs(delaunay_pairs(7201, rng),
                                                             areas=range(7201))}
    for label, adj in graphs.items():
        y, d, x, w = sar_data(adj, rng)
        for method in ("reml", "ml"):
            t, fit = timed(lambda y=y, d=d, x=x, w=w, method=method:
                           fay_herriot(y, d, x, proximity=w, method=method))
            how = fit.diagnostics["algorithm"]
            if how == "sparse":
                how += ", " + fit.diagnostics["second_order_traces"].split(" (")[0]
            report((f"spatial FH ({method.upper()}, {how}, {fit.iterations} it.)", label, t))

    # spatio-temporal Fay-Herriot (AR(1)): dense up to 300 area-periods, sparse above
    for label, adj in (("314 CSPs", csp), ("7,201 areas (Delaunay)", graphs[
            "7,201 areas (Delaunay)"])):
        for n_years in (3, 5):
            ys, dd, xs, area, period, w = stfh_data(adj, rng, n_years)
            t, fit = timed(lambda ys=ys, dd=dd, xs=xs, area=area, period=period, w=w:
                           spatio_temporal_fay_herriot(ys, dd, xs, area=area, period=period,
                                                       proximity=w, tol=1e-6))
            how = fit.diagnostics["algorithm"]
            if how == "sparse":
                how += ", " + fit.diagnostics["second_order_traces"].split(" (")[0]
            report((f"spatio-temporal FH (AR(1), {how}, {fit.iterations} it.)",
                    f"{label} x {n_years} years", t))

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
    print("load average (1, 5, 15 min):", ", ".join(f"{v:.2f}" for v in os.getloadavg()))
