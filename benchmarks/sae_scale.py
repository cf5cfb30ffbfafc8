"""Every small-area model on the 314 community safety partnerships and on 7,201 areas (MSOAs).

Run by hand (not part of the tests):

    python benchmarks/sae_scale.py [--repeats 1] [--only TEXT] [--skip TEXT]

Prints a Markdown table of median wall times, after one untimed pass over the 314 areas (so
imports and compiled kernels are not counted). The 314 areas use the real CSP adjacency
(``tests/data/sae/csp17_adjacency.csv``); the 7,201 areas, as many as England and Wales have
middle-layer super output areas, use the Delaunay triangulation of 7,201 random points (an
irregular planar neighbour graph like real boundaries; about six neighbours per area). Data are
simulated from each model's own structure (see ``sae_models.py`` for the prevalence models).
"""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sae_models import simulate, simulate_respondents, timed
from scipy import sparse
from scipy.spatial import Delaunay

import crimestats.sae as sae

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "sae"


def csp_adjacency() -> sae.Adjacency:
    lookup = pd.read_csv(DATA / "lad17_csp17_pfa17_lookup.csv", encoding="utf-8-sig")
    codes = lookup["CSP17CD"].drop_duplicates().sort_values().to_numpy()
    return sae.adjacency_from_pairs(pd.read_csv(DATA / "csp17_adjacency.csv"), areas=codes)


def delaunay_adjacency(m: int, seed: int = 0) -> sae.Adjacency:
    points = np.random.default_rng(seed).uniform(size=(m, 2))
    simplices = Delaunay(points).simplices
    pairs = np.vstack([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]])
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    return sae.adjacency_from_pairs(pairs, areas=range(m))


def sar_effects(adj: sae.Adjacency, rho: float, scale: float, rng: np.random.Generator
                ) -> np.ndarray:
    """Draw v = (I - rho W)^{-1} e with e ~ N(0, scale^2 I) by a sparse solve."""
    w = adj.row_standardised()
    a = sparse.eye(adj.n_areas, format="csc") - rho * sparse.csc_matrix(w)
    return sparse.linalg.spsolve(a, rng.normal(scale=scale, size=adj.n_areas))


def tasks_for(adj: sae.Adjacency) -> dict[str, Callable[[], object]]:
    """The timed calls for one set of areas."""
    m = adj.n_areas
    rng = np.random.default_rng(1)
    x = rng.normal(size=(m, 2))
    d = rng.uniform(0.3, 2.0, m)
    v = sar_effects(adj, 0.6, 1.0, rng)
    y = 1.0 + x @ [0.5, -0.3] + v + rng.normal(scale=np.sqrt(d))
    years = 3
    area = np.repeat(np.arange(m), years)
    period = np.tile(np.arange(years), m)
    xs = rng.normal(size=area.size)
    dd = rng.uniform(0.1, 0.5, size=area.size)
    ys = 1 + xs + 0.5 * v[area] + rng.normal(scale=0.3, size=area.size) \
        + rng.normal(scale=np.sqrt(dd))
    units = 5 * m
    dom = rng.integers(0, m, units)
    xu = pd.DataFrame(rng.normal(size=(units, 2)), columns=["a", "b"])
    yu = xu.to_numpy() @ [1.0, -0.5] + rng.normal(scale=0.5, size=m)[dom] \
        + rng.normal(size=units)
    means = pd.DataFrame(rng.normal(scale=0.1, size=(m, 2)), columns=["a", "b"])
    sizes = pd.Series(np.bincount(dom, minlength=m) * 50 + 10)
    prev = simulate(m)
    people, cells = simulate_respondents(m)
    deff = 1.4
    fit = sae.fay_herriot(y, d, x)
    tasks: dict[str, Callable[[], object]] = {
        "Fay–Herriot EBLUP (REML, MSE)": lambda: sae.fay_herriot(y, d, x),
        "Fay–Herriot hierarchical Bayes (exact, 1,000 draws)": lambda: sae.fay_herriot(
            y, d, x, method="hb", random_seed=1),
        "spatial (SAR) Fay–Herriot (REML, analytic MSE)": lambda: sae.fay_herriot(
            y, d, x, proximity=adj, areas=adj.areas),
        "spatio-temporal Fay–Herriot (3 periods, AR(1))": lambda: (
            sae.spatio_temporal_fay_herriot(ys, dd, xs, area=area, period=period,
                                            proximity=adj.row_standardised())),
        "unit-level BHF (5 units per area, analytic MSE)": lambda: sae.unit_level(
            yu, xu, dom, means, sizes),
        "logit_binomial (exact HB)": lambda: sae.logit_binomial(
            prev["direct"], prev["n"], prev["x"], design_effect=deff),
        "poisson_lognormal (exact HB)": lambda: sae.poisson_lognormal(
            prev["counts"], prev["exposure"], prev["x"], per=1000),
        "arcsin_fay_herriot (REML)": lambda: sae.arcsin_fay_herriot(
            prev["direct"], prev["n"], prev["x"], design_effect=deff),
        "mrp (about 5 respondents per area)": lambda: sae.mrp(
            people, cells, outcome="victim", area="area", covariates=["young", "x1"],
            population="adults"),
        "multivariate_fay_herriot (3 crime types, REML)": lambda: (
            sae.multivariate_fay_herriot(
                np.column_stack([y, 0.7 * y + 0.3, 0.4 * y]),
                np.column_stack([d, 0.8 * d, 0.6 * d]), x)),
        "benchmark (ratio, to a national total)": lambda: sae.benchmark(
            fit, float(np.mean(y)), weights=np.full(m, 1 / m), method="ratio"),
        "diagnostics (shrinkage, CV gain, residuals)": lambda: sae.diagnostics(fit),
        "BYM2 spatial hierarchical Bayes (exact)": lambda: sae.bym2(
            y, d, x, adjacency=adj, areas=adj.areas),
        "logit_binomial with BYM2 effects (Laplace)": lambda: sae.logit_binomial(
            prev["direct"], prev["n"], prev["x"], design_effect=deff, adjacency=adj,
            areas=adj.areas),
    }
    return tasks


def seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 0.1 else f"{value:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--only", default="", help="run only tasks whose name contains this")
    parser.add_argument("--skip", default=None, help="skip tasks whose name contains this")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"load average {os.getloadavg()[0]:.1f} at start\n")
    print("| model | 314 CSPs | 7,201 areas |")
    print("|---|---:|---:|")
    rows: dict[str, list[str]] = {}
    csp = csp_adjacency()
    for task in tasks_for(csp).values():     # warm-up: imports, compiled kernels, caches
        task()
    for adj in (csp, delaunay_adjacency(7_201)):
        for name, task in tasks_for(adj).items():
            if args.only in name and not (args.skip and args.skip in name):
                rows.setdefault(name, []).append(seconds(timed(task, args.repeats)))
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
