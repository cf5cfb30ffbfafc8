"""Many series at once: throughput of `detect_many`, processes, dask, PELT, the recursion in n.

Run by hand (figures recorded in docs/benchmarks/change-points.md, "Many series"):

```text
python benchmarks/changepoint_many.py throughput --series 1000 --jobs 1 2 --repeat 3
python benchmarks/changepoint_many.py stages --series 1000
python benchmarks/changepoint_many.py dask --series 20000 --chunk 1000
python benchmarks/changepoint_many.py pelt --repeat 5
python benchmarks/changepoint_many.py recursion --sizes 1000 10000 100000 1000000
```

The panels are synthetic monthly counts over 60 months (five years of police.uk), half
Poisson and half negative binomial (size 5), a fifth of them with a 40% step at a random
month and a third with a winter peak; "small" panels have mean counts 0.5–10 a month (the
default model is then ``negbin``, like most LSOA × crime-type series), "large" panels 10–200
(``count_trend``). Every call uses the defaults. Peak memory is the largest resident set of
this process plus its worker processes, sampled every 0.1 s. Each figure prints with the
load average at the time: the build machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import warnings
from collections import Counter

import numpy as np
import pandas as pd

from crimestats import DataWarning
from crimestats.changepoint import detect, detect_many

MONTHS = 60


def panel(k: int, size: str, seed: int = 1) -> pd.DataFrame:
    """``k`` synthetic monthly count series (see the module notes)."""
    rng = np.random.default_rng(seed)
    low, high = (0.5, 10.0) if size == "small" else (10.0, 200.0)
    t = np.arange(MONTHS)
    mean = np.exp(rng.uniform(np.log(low), np.log(high), k))
    step = np.where((rng.random(k) < 0.2)[None, :] & (t[:, None] >= rng.integers(12, 48, k)),
                    1.4, 1.0)
    season = np.exp(np.where(rng.random(k) < 1 / 3, 0.25, 0.0)[None, :]
                    * np.cos(2 * np.pi * t / 12)[:, None])
    mu = mean[None, :] * step * season
    nb = rng.random(k) < 0.5
    y = np.where(nb[None, :], rng.negative_binomial(5, 5 / (5 + mu)), rng.poisson(mu))
    return pd.DataFrame(y.astype(float), index=pd.period_range("2020-01", periods=MONTHS,
                                                                freq="M"),
                        columns=[f"s{i}" for i in range(k)])


class PeakMemory:
    """Largest resident set (MB) of this process and its children while the block runs."""

    def __enter__(self) -> PeakMemory:
        import psutil

        self._me = psutil.Process()
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self._me, *self._me.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
            except psutil.Error:
                rss = 0
            self.peak = max(self.peak, rss / 2**20)
            time.sleep(0.1)

    def cpu(self) -> dict[int, float]:
        """CPU seconds used so far by this process and each child, by process id."""
        import psutil

        out = {}
        for proc in [self._me, *self._me.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                out[proc.pid] = times.user + times.system
            except psutil.Error:
                pass
        return out

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def throughput(args: argparse.Namespace) -> None:
    print("| panel | model | series | n_jobs | seconds (median) | series/s | "
          "CPU s of the busiest process | peak MB | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.size:
        detect_many(panel(20, size))                         # compile / load the kernels
        for k in args.series:
            data = panel(k, size)
            for jobs in args.jobs:
                if jobs > 1:
                    detect_many(data.iloc[:, :600], n_jobs=jobs)  # start the workers
                times, peak, busiest = [], 0.0, []
                for _ in range(args.repeat):
                    with PeakMemory() as mem:
                        before = mem.cpu()
                        start = time.perf_counter()
                        res = detect_many(data, n_jobs=jobs, progress=False)
                        times.append(time.perf_counter() - start)
                        used = {p: c - before.get(p, 0.0) for p, c in mem.cpu().items()}
                    peak = max(peak, mem.peak)
                    # CPU seconds of the busiest process: the wall time on free cores
                    busiest.append(max(used.values()))
                sec = statistics.median(times)
                if jobs > 1:             # stop the workers, so later rows measure no idle ones
                    from joblib.externals.loky import get_reusable_executor

                    get_reusable_executor().shutdown(wait=True)
                print(f"| {size} | {res.estimates.attrs['likelihood']} | {k:,} | {jobs} | "
                      f"{sec:.2f} | {k / sec:,.0f} | {statistics.median(busiest):.2f} | "
                      f"{peak:,.0f} | {load()} |", flush=True)


def stages(args: argparse.Namespace) -> None:
    """Where the time of `detect_many` goes (serial), by stage."""
    from crimestats.changepoint import _batch
    from crimestats.changepoint.segments import get_model

    spent: Counter = Counter()

    def timed(owner: object, name: str, key: str) -> None:
        func = getattr(owner, name)

        def wrapper(*a: object, **kw: object) -> object:
            start = time.perf_counter()
            out = func(*a, **kw)
            spent[key] += time.perf_counter() - start
            return out

        setattr(owner, name, wrapper)

    timed(_batch, "seasonality_p_values", "seasonal test (whole panel)")
    timed(_batch, "seasonal_factors", "seasonal factors")
    timed(_batch, "_recursions", "compiled recursions (+ packing)")
    for name in ("count_trend", "negbin"):
        cls = type(get_model(name))
        timed(cls, "prepare", "model.prepare (nodes)")
        timed(cls, "describe", "model.describe (path)")
    for size in args.size:
        k = args.series[0]
        data = panel(k, size)
        detect_many(data.iloc[:, :20])
        spent.clear()
        start = time.perf_counter()
        res = detect_many(data, progress=False)
        total = time.perf_counter() - start
        print(f"\n{size} panel, {res.estimates.attrs['likelihood']}, {k:,} series: "
              f"{total / k * 1e3:.2f} ms per series (load {load()})")
        print("| stage | ms per series | share |\n|---|---|---|")
        for key, sec in spent.most_common():
            print(f"| {key} | {sec / k * 1e3:.2f} | {sec / total:.0%} |")
        rest = total - sum(spent.values())
        print(f"| checks, assembly, shared change | {rest / k * 1e3:.2f} | {rest / total:.0%} |")
        loop = data.iloc[:, :200]
        start = time.perf_counter()
        for col in loop.columns:
            detect(loop[col], res.estimates.attrs["likelihood"], draws=0)
        print(f"| (a loop of `detect`, 200 series, for comparison) | "
              f"{(time.perf_counter() - start) / 200 * 1e3:.2f} | |")


def dask_run(args: argparse.Namespace) -> None:
    import distributed
    import xarray as xr

    k = args.series[0]
    for size in args.size:
        data = panel(k, size)
        detect_many(data.iloc[:, :20])
        start = time.perf_counter()
        serial = detect_many(data, progress=False)
        t_serial = time.perf_counter() - start
        array = xr.DataArray(data.to_numpy(), dims=("time", "series"),
                             coords={"time": data.index, "series": list(data.columns)})
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster):
            start = time.perf_counter()
            lazy = detect_many(array.chunk({"series": args.chunk}), progress=False)
            t_dask = time.perf_counter() - start
        xr.testing.assert_identical(lazy.estimates, serial.estimates)
        assert lazy.changepoints == serial.changepoints
        print(f"{size} panel, {k:,} series: serial {t_serial:.1f} s, LocalCluster (2 worker "
              f"processes, chunks of {args.chunk}) {t_dask:.1f} s, identical results "
              f"(load {load()})")


def pelt(args: argparse.Namespace) -> None:
    """1,000 Poisson series of 120 points with PELT (MBIC), as R's cpt.meanvar loop."""
    rng = np.random.default_rng(3)
    k, n = 1000, 120
    rates = rng.uniform(2, 30, (2, k))
    at = rng.integers(20, 100, k)
    y = rng.poisson(np.where(np.arange(n)[:, None] < at, rates[0], rates[1])).astype(float)
    frame = pd.DataFrame(y)
    detect_many(frame.iloc[:, :5], "poisson", method="pelt", seasonal=None)
    detect(y[:, 0], "poisson", method="pelt")

    def loop() -> None:
        for i in range(k):
            detect(y[:, i], "poisson", method="pelt")

    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        for label, fn in (("loop of detect(y, 'poisson', method='pelt')", loop),
                          ("detect_many(panel, 'poisson', method='pelt')",
                           lambda: detect_many(frame, "poisson", method="pelt",
                                               progress=False))):
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            rows.append((label, statistics.median(times)))
    print("| 1,000 × 120 Poisson series, PELT MBIC | seconds (median) | load |\n|---|---|---|")
    for label, sec in rows:
        print(f"| {label} | {sec:.3f} | {load()} |")


def recursion(args: argparse.Namespace) -> None:
    """Time of the exact (pruned) Bayesian recursion of one Poisson series against n."""
    print("| n | changes | seconds (median) | mean candidates | max candidates | load |")
    print("|---|---|---|---|---|---|")
    detect(np.random.default_rng(0).poisson(5.0, 200).astype(float), "poisson", draws=0)
    for n in args.sizes:
        for label, changes in (("every 2,000", max(n // 2000, 0)), ("50", 50)):
            rng = np.random.default_rng(1)
            cps = np.sort(rng.choice(np.arange(50, n - 50), changes, replace=False))
            rates = rng.uniform(2, 30, changes + 1)
            y = rng.poisson(np.repeat(rates, np.diff(np.r_[0, cps, n]))).astype(float)
            times = []
            for _ in range(args.repeat if n < 10**6 else 1):
                start = time.perf_counter()
                res = detect(y, "poisson", draws=0)
                times.append(time.perf_counter() - start)
            print(f"| {n:,} | {label} ({changes}) | {statistics.median(times):.3f} | "
                  f"{res.diagnostics['mean_candidates']:.0f} | "
                  f"{res.diagnostics['max_candidates']:,} | {load()} |", flush=True)


def _burn(count: int) -> int:
    total = 0
    for i in range(count):
        total += i * i
    return total


def cores(args: argparse.Namespace) -> None:
    """What a second process gains on this machine now: a pure-Python loop run twice, in one
    process and in two at once (the ceiling of any ``n_jobs=2`` speed-up at this load)."""
    from concurrent.futures import ProcessPoolExecutor

    count = 20_000_000
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_burn, [1, 1]))
        start = time.perf_counter()
        _burn(count)
        _burn(count)
        one = time.perf_counter() - start
        start = time.perf_counter()
        list(pool.map(_burn, [count, count]))
        two = time.perf_counter() - start
    print(f"two loops in one process {one:.2f} s, in two processes {two:.2f} s: "
          f"speed-up {one / two:.2f} (load {load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("throughput", "stages", "dask", "pelt", "recursion",
                                         "cores"))
    parser.add_argument("--series", type=int, nargs="+", default=[1000])
    parser.add_argument("--size", nargs="+", default=["small", "large"],
                        choices=("small", "large"))
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[1000, 10000, 100000, 1000000])
    args = parser.parse_args()
    {"throughput": throughput, "stages": stages, "dask": dask_run, "pelt": pelt,
     "recursion": recursion, "cores": cores}[args.what](args)


if __name__ == "__main__":
    main()
