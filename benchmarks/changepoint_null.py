"""False alarms and power of `detect`'s defaults on realistic simulated crime series.

Run by hand (about 25 minutes on 2 cores at the default 1,000 series per scenario)::

    python benchmarks/changepoint_null.py                 # every scenario, 1,000 series each
    python benchmarks/changepoint_null.py --series 200    # quicker
    python benchmarks/changepoint_null.py --jobs 2        # both cores

Series come from `crimestats.datasets.simulate_crime_series`, a process that is *not* any
segment model of crimestats: a curved trend on the log scale, seasonality, AR(1) deviations and
negative binomial counts (monthly) or rates (annual). Backgrounds:

* ``force`` — monthly counts of a force's total or a large offence group: 1,000 to 10,000 a
  month, AR(1) deviations of SD 1.5–4% and negative binomial size 500–5,000 (month-to-month noise
  beyond Poisson of about 2–5%, as in Northern Ireland's series of more than 1,000 a month);
* ``offence`` — monthly counts of one offence: 200 to 1,000 a month, deviations of SD 2–6% and
  size 200–2,000 (3–9% beyond Poisson, Northern Ireland's median offence series);
* ``annual`` — annual rates per 1,000 residents, 15 or 40 years, deviations of SD 3–8%.

Trends change the log level by up to ±50% (monthly) or ±80% (annual) over the series, with a
curvature of up to ±0.3 (±0.5), seasonal amplitude up to 15%, AR(1) coefficient up to 0.6.

A change is *reported* when `detect` puts posterior probability above ½ on a change within
±2 periods of some time (the ``prob_change_within_2`` of its summary). The table gives, per
scenario, the share of series with no change where one is reported (false alarms), and, for a
15% step or a change of trend of 2% a month at n = 60, the share where one is reported within
2 periods of the truth (power), beside the power of two oracles that know the time of the change
and the form of the background and use the z statistic of the change in a generalised
least-squares fit of the true model: |z| > 3, which says how detectable each change is at all,
and the one-sided t test at 5% (knowing the direction too), the most powerful test with 5%
false alarms — an upper bound on the power of any detector held to 5% false alarms.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np

WINDOW = 2

SCENARIOS = {
    "force": dict(kind="monthly_counts", level=(1000, 10000), noise_sd=(0.015, 0.04),
                  size=(500, 5000)),
    "offence": dict(kind="monthly_counts", level=(200, 1000), noise_sd=(0.02, 0.06),
                    size=(200, 2000)),
    "annual": dict(kind="annual_rates"),
}
NULL_RUNS = [("force", 60), ("force", 120), ("offence", 60), ("offence", 120),
             ("annual", 15), ("annual", 40)]
POWER_RUNS = [("force", 60, "level", 0.15), ("offence", 60, "level", 0.15),
              ("force", 60, "slope", 0.05), ("offence", 60, "slope", 0.05),
              ("force", 60, "slope", 0.02), ("offence", 60, "slope", 0.02)]


def _draws(background: str, rng: np.random.Generator) -> dict[str, float]:
    spec = SCENARIOS[background]
    out = {}
    for key in ("level", "size"):
        if key in spec:
            lo, hi = spec[key]
            out[key] = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    if "noise_sd" in spec:
        out["noise_sd"] = float(rng.uniform(*spec["noise_sd"]))
    return out


def _series(background: str, n: int, seed: int, change: str | None = None,
            size: float = 0.0):
    from crimestats.datasets import simulate_crime_series

    rng = np.random.default_rng([seed, 7])
    overrides = _draws(background, rng)
    if not CURVED:
        overrides["curvature"] = 0.0
    kind = SCENARIOS[background]["kind"]
    if change == "slope":      # a change of trend of `size` per period from tau
        sim = simulate_crime_series(n, kind, change="slope",
                                    change_size=float(np.expm1(size * min(24, n / 3))),
                                    random_seed=seed, **overrides)
    else:
        sim = simulate_crime_series(n, kind, change=change, change_size=size,
                                    random_seed=seed, **overrides)
    return sim


def _reported(prob: np.ndarray) -> np.ndarray:
    """Posterior probability of a change within +-WINDOW periods of each time."""
    return np.minimum(np.convolve(prob, np.ones(2 * WINDOW + 1), mode="same"), 1.0)


def _oracle_z(sim) -> tuple[float, int]:
    """z of the change in a GLS fit of the true model at the true time (AR(1) known), and its
    residual degrees of freedom."""
    y = np.log(sim.y.to_numpy(dtype=float) + 0.5)
    n = y.size
    t = np.arange(n)
    u = t / (n - 1) - 0.5
    tau = sim.changepoints[0]
    change = (t >= tau).astype(float) if sim.params["change"] == "level" \
        else np.maximum(t - tau + 1, 0).astype(float)
    cols = [np.ones(n), u, u * u, change]
    if sim.params["seasonal"] > 0:
        cols += [(t % 12 == k).astype(float) for k in range(1, 12)]
    design = np.column_stack(cols)
    phi = sim.params["ar"]
    lower = np.eye(n) - phi * np.eye(n, k=-1)
    lower[0, 0] = np.sqrt(1 - phi * phi)
    xw, yw = lower @ design, lower @ y
    coef, *_ = np.linalg.lstsq(xw, yw, rcond=None)
    resid = yw - xw @ coef
    s2 = resid @ resid / (n - design.shape[1])
    return (float(coef[3] / np.sqrt(s2 * np.linalg.inv(xw.T @ xw)[3, 3])),
            n - design.shape[1])


OPTIONS: dict[str, float] = {}
CURVED = True


def _detect(y):
    from crimestats.changepoint import detect

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return detect(y, draws=0, **OPTIONS)


def _null_one(args: tuple[str, int, int]) -> tuple[float, float]:
    background, n, seed = args
    res = _detect(_series(background, n, seed).y)
    return float(_reported(res.estimates["prob_change"].values).max()), res.prob_any_change


def _power_one(args: tuple[str, int, str, float, int]) -> tuple[bool, bool, bool]:
    from scipy import stats

    background, n, change, size, seed = args
    sim = _series(background, n, seed, change, size)
    res = _detect(sim.y)
    tau = sim.changepoints[0]
    prob = res.estimates["prob_change"].values
    found = prob[max(tau - WINDOW, 0):tau + WINDOW + 1].sum() > 0.5
    z, df = _oracle_z(sim)
    return bool(found), bool(abs(z) > 3.0), bool(z > stats.t.ppf(0.95, df))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=1000, help="series per scenario")
    parser.add_argument("--jobs", type=int, default=1, help="processes")
    parser.add_argument("--seed", type=int, default=20261207, help="first seed")
    parser.add_argument("--only", choices=["null", "power"], help="one half of the table")
    parser.add_argument("--prior-any-change", type=float,
                        help="detect's prior_any_change (default: detect's default)")
    parser.add_argument("--min-size", type=int, help="detect's min_size (default: detect's)")
    parser.add_argument("--straight", action="store_true",
                        help="trends without curvature (straight lines on the log scale)")
    args = parser.parse_args(argv)
    global CURVED
    CURVED = not args.straight
    if args.min_size is not None:
        OPTIONS["min_size"] = args.min_size
    if args.prior_any_change is not None:
        OPTIONS["prior_any_change"] = args.prior_any_change
    start = time.perf_counter()
    pool = ProcessPoolExecutor(args.jobs) if args.jobs > 1 else None
    run = pool.map if pool else map
    k = args.series
    if args.only != "power":
        print(f"No change ({k} series each): share with a change reported "
              f"(P > 0.5 within ±{WINDOW}), and with P(any change) > 0.5")
        print(f"{'background':<10} {'n':>4} {'reported':>9} {'MC SE':>6} {'P(any)>0.5':>11}")
        for background, n in NULL_RUNS:
            out = np.array(list(run(_null_one, [(background, n, args.seed + i)
                                                for i in range(k)]))) > 0.5
            rate = out[:, 0].mean()
            print(f"{background:<10} {n:>4} {rate:>9.3f} {np.sqrt(rate * (1 - rate) / k):>6.3f} "
                  f"{out[:, 1].mean():>11.3f}", flush=True)
    if args.only != "null":
        print(f"\nOne change at n = 60 ({k} series each): share reported within ±{WINDOW} "
              "periods of the truth; oracle: |z| > 3 knowing the time and the background; "
              "oracle 5%: the one-sided t test at 5% knowing the time, the direction and the "
              "background (the most a detector with 5% false alarms can reach)")
        print(f"{'background':<10} {'change':<22} {'power':>6} {'oracle':>7} {'oracle 5%':>10}")
        for background, n, change, size in POWER_RUNS:
            out = np.array(list(run(_power_one, [(background, n, change, size,
                                                  args.seed + 100_000 + i)
                                                 for i in range(k)])))
            label = f"level +{size:.0%}" if change == "level" else f"trend +{size:.0%}/period"
            print(f"{background:<10} {label:<22} {out[:, 0].mean():>6.3f} "
                  f"{out[:, 1].mean():>7.3f} {out[:, 2].mean():>10.3f}", flush=True)
    if pool:
        pool.shutdown()
    print(f"\n({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
