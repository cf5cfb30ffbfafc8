"""Tables per second of `fay_herriot_many`: serial, dask threads and a dask LocalCluster.

Run by hand (not part of the tests):

    python benchmarks/sae_batch.py [--repeats 3] [--workers 2] [--quick]

For each size — 43 forces x 2,000 tables, 314 CSPs x 1,000 tables, 7,201 MSOAs x 140
tables and 35,000 LSOAs x 140 tables (14 crime types x 10 years) — prints a Markdown row:
median wall time over ``--repeats`` runs and tables per second of

* a Python loop of `fay_herriot` over the tables (on the first 50 tables, scaled up);
* `fay_herriot_many` in memory (numpy);
* the same call on dask arrays chunked along the tables, dask's threaded scheduler;
* the same call on a ``dask.distributed.LocalCluster`` of ``--workers`` single-threaded
  worker processes (the cluster is started, and its workers' imports warmed up, once,
  outside the timing).

It checks that the dask results equal the in-memory ones bit for bit. REML, three covariates
plus an intercept, 10% of area-tables without a direct estimate. The dask runs simulate each
chunk of tables where it is computed (as workers would read their chunks from shared
storage), so the timings include simulating the data but not sending it from the client; the
results are gathered back into memory. The load average is printed: on a shared machine the
figures move with it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings

import numpy as np
import xarray as xr

from crimestats.sae import fay_herriot, fay_herriot_many

SIZES = ((43, 2_000), (314, 1_000), (7_201, 140), (35_000, 140))


def simulate_chunk(x: np.ndarray, tables: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Direct estimates and variances of ``tables`` tables over the areas of ``x``."""
    rng = np.random.default_rng(seed)
    m = x.shape[0]
    d = np.exp(rng.uniform(np.log(0.05), np.log(5.0), size=(m, tables)))
    sigma_u = rng.uniform(0.2, 1.5, size=tables)
    y = (1.0 + x @ np.array([0.5, -0.3, 0.2]))[:, None] + sigma_u * rng.normal(size=(m, tables))
    y = y + np.sqrt(d) * rng.normal(size=(m, tables))
    out = rng.uniform(size=(m, tables)) < 0.1
    y[out] = d[out] = np.nan
    return y, d


def simulate(m: int, tables: int, chunk: int, lazy: bool, seed: int = 1
             ) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """The tables in chunks of ``chunk`` tables; with ``lazy``, dask arrays whose chunks are
    simulated where they are computed (on the workers), not sent from the client."""
    x = np.random.default_rng(seed).normal(size=(m, 3))
    starts = range(0, tables, chunk)
    seeds = [seed + 1 + k for k in range(len(starts))]
    widths = [min(chunk, tables - s) for s in starts]
    if lazy:
        import dask
        import dask.array as da

        parts = [dask.delayed(simulate_chunk, nout=2)(x, w, s) for w, s in zip(widths, seeds, strict=True)]
        y = da.concatenate([da.from_delayed(p[0], (m, w), float)
                            for p, w in zip(parts, widths, strict=True)], axis=1)
        d = da.concatenate([da.from_delayed(p[1], (m, w), float)
                            for p, w in zip(parts, widths, strict=True)], axis=1)
    else:
        pairs = [simulate_chunk(x, w, s) for w, s in zip(widths, seeds, strict=True)]
        y = np.concatenate([p[0] for p in pairs], axis=1)
        d = np.concatenate([p[1] for p in pairs], axis=1)
    coords = {"area": np.arange(m), "table": np.arange(tables)}
    direct = xr.DataArray(y, dims=("area", "table"), coords=coords)
    variance = xr.DataArray(d, dims=("area", "table"), coords=coords)
    covariates = xr.DataArray(x, dims=("area", "covariate"),
                              coords={"area": coords["area"], "covariate": ["a", "b", "c"]})
    return direct, variance, covariates


def median_time(run, repeats: int, *args, **kwargs) -> tuple[float, object]:
    """Median wall time of ``run(*args, **kwargs)`` over ``repeats`` calls, and its result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def loop_of_fits(direct: xr.DataArray, variance: xr.DataArray, x: np.ndarray, tables: int
                 ) -> list:
    """`fay_herriot` table by table, the way one would without a batch function."""
    return [fay_herriot(direct[:, t].to_numpy(), variance[:, t].to_numpy(), x)
            for t in range(tables)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="the two small sizes only")
    args = parser.parse_args()
    import dask
    from distributed import Client, LocalCluster

    warnings.simplefilter("ignore")
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print()
    print("| areas | tables | loop of fay_herriot (tables/s) | fay_herriot_many (s, tables/s) "
          "| dask threads (s, tables/s) | LocalCluster (s, tables/s) | identical |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    try:
        # warm-up: the workers import crimestats, xarray and dask on their first task
        fay_herriot_many(*simulate(20, 40, 5, lazy=True), progress=False)
        for m, tables in SIZES[:2] if args.quick else SIZES:
            chunk = max(1, tables // (4 * args.workers))
            direct, variance, covariates = simulate(m, tables, chunk, lazy=False)
            x = covariates.to_numpy()
            subset = min(50, tables)
            loop, _ = median_time(loop_of_fits, 1, direct, variance, x, subset)
            serial_s, serial = median_time(fay_herriot_many, args.repeats, direct, variance,
                                           covariates, progress=False)
            lazy = simulate(m, tables, chunk, lazy=True)
            with dask.config.set(scheduler="threads"):
                threads_s, threaded = median_time(fay_herriot_many, args.repeats, *lazy,
                                                  progress=False)
            # the client is dask's default scheduler
            cluster_s, clustered = median_time(fay_herriot_many, args.repeats, *lazy,
                                               progress=False)
            same = all(other.estimates.identical(serial.estimates)
                       and other.parameters.identical(serial.parameters)
                       for other in (threaded, clustered))
            print(f"| {m:,} | {tables:,} | {subset / loop:,.0f} | {serial_s:.2f}, "
                  f"{tables / serial_s:,.0f} | {threads_s:.2f}, {tables / threads_s:,.0f} | "
                  f"{cluster_s:.2f}, {tables / cluster_s:,.0f} | {same} |", flush=True)
    finally:
        client.close()
        cluster.close()
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
