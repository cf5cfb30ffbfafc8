"""Timings of crimestats.changepoint against R changepoint and ruptures (run by hand).

    python benchmarks/changepoint.py [--n 100000] [--repeat 3]

Prints a table of wall-clock seconds (best of ``--repeat``) for synthetic Poisson count
series with 50 changes:

* crimestats PELT (Poisson cost, MBIC) and the exact Bayesian recursion (pruned);
* R ``changepoint::cpt.meanvar(test.stat="Poisson", penalty="MBIC", method="PELT")``, timed
  in-process by R's ``system.time`` — needs ``Rscript`` and the changepoint package, or the
  package's C routine PELTC as a shared library named by the environment variable PELTC_SO;
* ruptures PELT with a Poisson cost (a custom ``BaseCost``; ruptures has none built in), if
  ruptures is installed, on a shorter series (it is pure Python per segment).

The first crimestats call compiles the numba kernels (cached on disk afterwards); it is
excluded from the timings.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from crimestats.changepoint import detect

R_TIMER = r"""
x <- scan("{path}", quiet = TRUE)
run <- function() {{
  if (requireNamespace("changepoint", quietly = TRUE)) {{
    changepoint::cpts(changepoint::cpt.meanvar(x, test.stat = "Poisson", penalty = "MBIC",
                                               method = "PELT"))
  }} else {{
    n <- length(x)
    out <- .C("PELTC", cost_func = "meanvar.poisson.mbic", sumstat = as.double(c(0, cumsum(x))),
              n = as.integer(n), pen = as.double(3 * log(n)), cptsout = integer(n), error = 0L,
              shape = 1, minseglen = 2L, lastchangelike = double(n + 1),
              lastchangecpts = integer(n + 1), numchangecpts = integer(n + 1))
    sort(out$cptsout[out$cptsout > 0 & out$cptsout < n])
  }}
}}
if (!requireNamespace("changepoint", quietly = TRUE)) dyn.load(Sys.getenv("PELTC_SO"))
best <- Inf
for (i in seq_len({repeat})) best <- min(best, system.time(cp <- run())[["elapsed"]])
cat(best, length(cp), "\n")
writeLines(as.character(cp), "{path}.cpts")
"""


def series(n: int, changes: int, seed: int = 1) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    cps = np.sort(rng.choice(np.arange(50, n - 50), changes, replace=False))
    rates = rng.uniform(2, 30, changes + 1)
    return rng.poisson(np.repeat(rates, np.diff(np.r_[0, cps, n]))).astype(float), cps.tolist()


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def time_r(y: np.ndarray, repeat: int) -> tuple[float, list[int]] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "x.txt"
        np.savetxt(data, y, fmt="%d")
        script = Path(tmp) / "t.R"
        script.write_text(R_TIMER.format(path=data, repeat=repeat))
        run = subprocess.run(["Rscript", str(script)], capture_output=True, text=True,
                             env=os.environ.copy(), check=False)
        if run.returncode != 0:
            return None
        secs, _ = run.stdout.split()
        cps = [int(v) for v in Path(f"{data}.cpts").read_text().split()]
        return float(secs), cps


def time_ruptures(y: np.ndarray, repeat: int) -> tuple[float, int] | None:
    try:
        import ruptures
    except ImportError:
        return None

    class PoissonCost(ruptures.base.BaseCost):
        model = "poisson"
        min_size = 2

        def fit(self, signal):
            self.signal = signal.reshape(-1, 1)
            self.cum = np.r_[0.0, np.cumsum(signal)]
            return self

        def error(self, start, end):
            total = self.cum[end] - self.cum[start]
            return 0.0 if total <= 0 else 2 * total * (np.log(end - start) - np.log(total))

    pen = 3 * np.log(y.size)
    algo = ruptures.Pelt(custom_cost=PoissonCost(), min_size=2, jump=1)
    secs, bkps = best_of(lambda: algo.fit(y).predict(pen=pen), repeat)
    return secs, len(bkps) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ruptures-n", type=int, default=10_000)
    args = parser.parse_args()
    y, cps = series(args.n, 50)
    detect(y[:200], "poisson", method="pelt")
    detect(y[:200], "poisson", draws=0)
    rows = []
    secs, pelt = best_of(lambda: detect(y, "poisson", method="pelt"), args.repeat)
    rows.append(("crimestats PELT Poisson MBIC", args.n, secs, len(pelt.changepoints)))
    secs, res = best_of(lambda: detect(y, "poisson", draws=0), args.repeat)
    rows.append(("crimestats Bayes (pruned, no draws)", args.n, secs, len(res.changepoints)))
    secs, res = best_of(lambda: detect(y, "poisson", draws=200, random_seed=0), 1)
    rows.append(("crimestats Bayes (pruned, 200 draws)", args.n, secs, len(res.changepoints)))
    r = time_r(y, args.repeat)
    if r is not None:
        rows.append(("R changepoint PELT Poisson MBIC", args.n, r[0], len(r[1])))
        same = "identical" if r[1] == pelt.changepoints else "DIFFERENT"
        print(f"PELT change points vs R: {same}")
    short = y[:args.ruptures_n]
    rp = time_ruptures(short, 1)
    if rp is not None:
        rows.append(("ruptures PELT, Poisson custom cost", short.size, rp[0], rp[1]))
        secs, res = best_of(lambda: detect(short, "poisson", method="pelt"), args.repeat)
        rows.append(("crimestats PELT (same series)", short.size, secs, len(res.changepoints)))
    print(f"true changes: {len(cps)} in n = {args.n}")
    print(f"{'method':40s} {'n':>8s} {'seconds':>9s} {'changes':>8s}")
    for name, n, secs, k in rows:
        print(f"{name:40s} {n:8d} {secs:9.3f} {k:8d}")


if __name__ == "__main__":
    main()
