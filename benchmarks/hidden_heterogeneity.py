"""Heterogeneity in multiple-systems estimation: warning rates and interval coverage.

Run by hand (``python benchmarks/hidden_heterogeneity.py --reps 200``); the figures are
recorded on the validation page (docs/validation/hidden-demand.md). For each simulated design
with known total it prints

* how often the heterogeneity ``DataWarning`` fires for each method that cannot represent
  heterogeneity (independence, stepwise log-linear, dga), and
* the coverage of the 95% interval of every registered method (LCMCR with a short run:
  2 chains, 2,000 burn-in, 500 draws thinned by 4), with the median estimate.

Designs: strong heterogeneity (two latent classes, 60% hard to reach: the issue's example),
continuous heterogeneity (logit-normal), five lists, homogeneous independent lists (high and
low catchability), and homogeneous lists with one agency referring to another (dependence,
no heterogeneity).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from crimestats import CrimestatsError, DataWarning
from crimestats.datasets import simulate_capture_histories
from crimestats.hidden import multiple_systems
from crimestats.hidden.methods import REGISTRY, method_names

Q4 = [0.2, 0.25, 0.15, 0.3]
DESIGNS = {
    "classes, 4 lists, 60% hard": dict(total=4000, n_lists=4, class_weights=(0.6, 0.4)),
    "logit-normal sd 1, 4 lists": dict(total=4000, n_lists=4, heterogeneity="random_effects",
                                       sd=1.0, capture_probs=Q4),
    "classes, 5 lists, 60% hard": dict(total=4000, n_lists=5, class_weights=(0.6, 0.4)),
    "homogeneous, 4 lists": dict(total=4000, n_lists=4, class_weights=(1.0,),
                                 capture_probs=[Q4]),
    "homogeneous, low catchability": dict(total=2000, n_lists=4, class_weights=(1.0,),
                                          capture_probs=[[0.05, 0.1, 0.08, 0.12]]),
    "homogeneous, referral 1 to 2": dict(total=4000, n_lists=4, class_weights=(1.0,),
                                         capture_probs=[Q4], referral=(0, 1, 0.4)),
}
HETEROGENEOUS = {"classes, 4 lists, 60% hard", "logit-normal sd 1, 4 lists",
                 "classes, 5 lists, 60% hard"}
WARNED = ("independence", "loglinear", "dga")
LCMCR = dict(chains=2, burn=2000, draws=500, thin=4)


def run(design: dict, reps: int, seed0: int) -> tuple[dict, dict, dict]:
    """Warning counts, coverage counts and estimates per method over ``reps`` data sets."""
    warned = dict.fromkeys(WARNED, 0)
    covered: dict[str, int] = {}
    estimates: dict[str, list[float]] = {}
    for r in range(reps):
        sim = simulate_capture_histories(random_seed=seed0 + r, **design)
        for name in method_names():
            extra = LCMCR if name == "lcmcr" else {}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    fit = multiple_systems(sim.table, name, random_seed=r,
                                           check_heterogeneity=name in warned, **extra)
                except CrimestatsError:
                    continue
            if name in warned:
                warned[name] += any(issubclass(w.category, DataWarning)
                                    and "heterogeneity" in str(w.message) for w in caught)
            covered[name] = covered.get(name, 0) + int(fit.lower <= sim.total <= fit.upper)
            estimates.setdefault(name, []).append(fit.total)
    return warned, covered, estimates


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table of ``frame`` (index included)."""
    frame = frame.reset_index()
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * frame.shape[1]
    rows = ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--designs", default="all", help="comma-separated design names")
    args = parser.parse_args()
    chosen = DESIGNS if args.designs == "all" else {
        k: DESIGNS[k] for k in args.designs.split(",")}
    warn_rows, cover_rows = [], []
    for i, (label, design) in enumerate(chosen.items()):
        start = time.perf_counter()
        warned, covered, estimates = run(design, args.reps, 10_000 * (i + 1))
        kind = "heterogeneous" if label in HETEROGENEOUS else "homogeneous"
        warn_rows.append({"design": label, "kind": kind,
                          **{m: f"{warned[m] / args.reps:.2f}" for m in WARNED}})
        for name in method_names():
            n = len(estimates.get(name, []))
            cover_rows.append({
                "design": label, "method": name,
                "heterogeneity": REGISTRY[name].models_heterogeneity,
                "coverage": f"{covered.get(name, 0) / n:.2f}" if n else "",
                "median total": f"{np.median(estimates[name]):,.0f}" if n else "",
                "true total": design["total"], "fitted": n})
        print(f"# {label}: {time.perf_counter() - start:.0f} s", flush=True)
    print(f"\nHeterogeneity warning rate ({args.reps} data sets per design)")
    print(markdown(pd.DataFrame(warn_rows).set_index("design")))
    print("\nCoverage of the 95% intervals")
    table = pd.DataFrame(cover_rows).pivot(index="method", columns="design", values="coverage")
    print(markdown(table.loc[list(method_names()), list(chosen)]))
    medians = pd.DataFrame(cover_rows).pivot(index="method", columns="design",
                                             values="median total")
    print("\nMedian estimate (true totals: 4,000; 2,000 for low catchability)")
    print(markdown(medians.loc[list(method_names()), list(chosen)]))


if __name__ == "__main__":
    main()
