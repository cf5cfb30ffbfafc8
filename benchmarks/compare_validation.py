"""Validation of crimestats.compare by simulation: prints the tables of docs/validation/compare.md.

Run by hand (several minutes on one core):

    .venv/bin/python benchmarks/compare_validation.py            # every table
    .venv/bin/python benchmarks/compare_validation.py funnel     # one part: funnel, ranks,
                                                                 # change, fdr, peers

Each figure is a Monte Carlo estimate from the stated number of replicates; the standard error
is given in brackets.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pandas as pd

from crimestats.compare import change_tests, compare_to_peers, funnel, rank_uncertainty
from crimestats.datasets import (
    load_pfa_adjacency,
    load_population,
    simulate_area_counts,
    simulate_count_panel,
)

warnings.simplefilter("ignore")

FUNNEL_METHODS = [("additive", "robust", None), ("additive", "winsorised", None),
                  ("additive", "truncated", "log"), ("multiplicative", "robust", None),
                  ("exact", "robust", None)]


def _fmt(rate: float, se: float) -> str:
    return f"{100 * rate:.2f}% ({100 * se:.2f})"


def funnel_table(reps: int = 400) -> pd.DataFrame:
    """Share of in-control areas flagged by the 95% and 99.8% limits."""
    csp = load_population("csp")["residents"].to_numpy(float)
    pfa = load_population("pfa")["residents"].to_numpy(float)
    pfa = pfa[pfa > 1e5]   # the City of London's 7,400 residents aside
    scenarios = [
        ("314 CSPs, lognormal CV 0.10", csp, dict(heterogeneity="lognormal", sd=0.10)),
        ("314 CSPs, gamma CV 0.20", csp, dict(heterogeneity="gamma", sd=0.20)),
        ("314 CSPs, lognormal CV 0.05, clustered counts (x3)", csp,
         dict(heterogeneity="lognormal", sd=0.05, clustering=3.0)),
        ("314 CSPs, lognormal CV 0.10, 5% outliers (x1.65)", csp,
         dict(heterogeneity="lognormal", sd=0.10, outliers=0.05, shift=0.5)),
        ("42 forces, lognormal CV 0.15", pfa, dict(heterogeneity="lognormal", sd=0.15)),
    ]
    rows = []
    for name, exposure, kw in scenarios:
        rng = np.random.default_rng(20261122)
        flags = {m: {0.95: [], 0.998: []} for m in FUNNEL_METHODS}
        for _ in range(reps):
            sim = simulate_area_counts(exposure, 0.01, random_seed=rng, **kw)
            for key in FUNNEL_METHODS:
                method, estimator, scale = key
                res = funnel(sim.observed, sim.exposure, method=method, estimator=estimator,
                             scale=scale, curve_points=2)
                for lvl in (0.95, 0.998):
                    flag = res.estimates["flag"].sel(level=lvl).values != 0
                    flags[key][lvl].append(flag[sim.in_control].mean())
        for key in FUNNEL_METHODS:
            row = {"scenario": name, "method": f"{key[0]} / {key[1]}" + (
                f" / {key[2]}" if key[2] else "")}
            for lvl in (0.95, 0.998):
                x = np.asarray(flags[key][lvl])
                row[f"flagged at {100 * lvl:g}%"] = _fmt(x.mean(), x.std(ddof=1) / np.sqrt(reps))
            rows.append(row)
    return pd.DataFrame(rows)


def rank_table(reps: int = 200) -> pd.DataFrame:
    """Coverage of the true rank by the 95% rank intervals, and the intervals' own probability."""
    from crimestats.sae import adjacency_from_pairs, bym2, fay_herriot, simulate_bym2_effects

    pairs = load_pfa_adjacency()[["force_code_a", "force_code_b"]]
    codes = sorted(set(pairs["force_code_a"]) | set(pairs["force_code_b"])
                   | set(load_population("pfa")["force_code"]))
    adj = adjacency_from_pairs(pairs, areas=codes)
    m = len(codes)
    rng = np.random.default_rng(7)
    d = rng.uniform(0.3, 3.0, m)
    out: dict[str, list[tuple[float, float]]] = {}
    for _ in range(reps):
        normal_theta = 10.0 + rng.standard_normal(m)
        skewed_theta = 10.0 + (rng.gamma(2.0, 1 / np.sqrt(2.0), m) - np.sqrt(2.0))
        spatial_theta = 10.0 + simulate_bym2_effects(adj, sigma=1.0, phi=0.7, random_seed=rng)
        for name, theta, kind in [("FH, normal effects: HB draws", normal_theta, "hb"),
                                  ("FH, normal effects: EBLUP (normal approx.)", normal_theta,
                                   "reml"),
                                  ("FH, skewed (gamma) effects: HB draws", skewed_theta, "hb"),
                                  ("BYM2 effects on the 43 forces: BYM2 draws", spatial_theta,
                                   "bym2")]:
            y = theta + np.sqrt(d) * rng.standard_normal(m)
            if kind == "bym2":
                fit = bym2(y, d, adjacency=adj, areas=codes, draws=1000, random_seed=rng)
            else:
                fit = fay_herriot(y, d, areas=codes, method=kind, draws=1000,
                                  random_seed=rng)
            res = rank_uncertainty(fit, random_seed=rng)
            true_rank = (-theta).argsort().argsort() + 1
            est = res.estimates
            inside = (true_rank >= est["lower"].values) & (true_rank <= est["upper"].values)
            out.setdefault(name, []).append((inside.mean(),
                                             est["interval_probability"].values.mean()))
    rows = []
    for name, vals in out.items():
        cov, prob = np.asarray(vals).T
        rows.append({"scenario": name, "coverage": _fmt(cov.mean(), cov.std(ddof=1) / np.sqrt(reps)),
                     "mean interval probability": f"{100 * prob.mean():.2f}%"})
    return pd.DataFrame(rows)


def change_table(reps: int = 20) -> pd.DataFrame:
    """Per-test false-positive rate at 5% under null panels (no change between the windows).

    43 forces x 10 offences x 16 years per replicate; kappa pooled by offence (the default)
    or per series (floored at the offence's).
    """
    scenarios = [("kink, kappa 0.004", dict(trend="kink", kappa=0.004)),
                 ("curve, kappa 0.004", dict(trend="curve", kappa=0.004)),
                 ("flat, kappa 0.02", dict(trend="flat", kappa=0.02)),
                 ("kink, Poisson only", dict(trend="kink", kappa=0.0)),
                 ("kink, AR(1) 0.5 extra variation", dict(trend="kink", kappa=0.004,
                                                           autocorrelation=0.5)),
                 ("kink, small counts 5-100", dict(trend="kink", kappa=0.004, size=(5, 100))),
                 ("kink, correlated offences", dict(trend="kink", kappa=0.002, shared=0.004)),
                 ("kink, kappa 0.001-0.03 by offence", dict(
                     trend="kink", kappa=[0.001, 0.002, 0.004, 0.008, 0.016, 0.02, 0.001,
                                          0.003, 0.01, 0.03]))]
    rows = []
    for window, compare in ((1, "year_on_year"), (3, "three_year")):
        for name, kw in scenarios:
            for dispersion in ("series", "pooled"):
                rng = np.random.default_rng(11)
                rates = []
                for _ in range(reps):
                    sim = simulate_count_panel(43, 10, 16, window=window, random_seed=rng, **kw)
                    res = change_tests(sim.data, count="count", time="year",
                                       by=["force", "offence"], compare=compare,
                                       dispersion=dispersion)
                    rates.append(res.estimates["significant"].values.mean())
                x = np.asarray(rates)
                rows.append({"comparison": compare, "scenario": name, "kappa": dispersion,
                             "false positives at 5%": _fmt(x.mean(), x.std(ddof=1) / np.sqrt(reps))})
    return pd.DataFrame(rows)


def fdr_table(reps: int = 100) -> pd.DataFrame:
    """False-discovery proportion and power across 430 series, BH and BY."""
    rows = []
    for name, kw in [("all null", dict(changed=0.0)),
                     ("10% changed by 30%", dict(changed=0.1, change=0.3)),
                     ("10% changed, correlated offences", dict(changed=0.1, change=0.3,
                                                              shared=0.004))]:
        for method in ("bh", "by"):
            rng = np.random.default_rng(5)
            fdp, power, any_false = [], [], []
            for _ in range(reps):
                sim = simulate_count_panel(43, 10, 16, kappa=0.004, random_seed=rng, **kw)
                res = change_tests(sim.data, count="count", time="year",
                                   by=["force", "offence"], fdr_method=method)
                truth = sim.changed.to_numpy()
                disc = res.estimates["discovery"].values
                false = disc & ~truth
                fdp.append(false.sum() / max(disc.sum(), 1))
                any_false.append(false.any())
                if truth.any():
                    power.append((disc & truth).sum() / truth.sum())
            f = np.asarray(fdp)
            rows.append({"scenario": name, "method": method.upper(),
                         "FDR": _fmt(f.mean(), f.std(ddof=1) / np.sqrt(reps)),
                         "P(any false discovery)": f"{100 * np.mean(any_false):.1f}%",
                         "power": f"{100 * np.mean(power):.1f}%" if power else "–"})
    return pd.DataFrame(rows)


def peer_table(reps: int = 2000) -> pd.DataFrame:
    """Coverage of the 95% rate-ratio interval and calibration of P(above group)."""
    rows = []
    for name, tau, het in [("lognormal spread 0.15", 0.15, "lognormal"),
                           ("gamma spread 0.30", 0.30, "gamma"),
                           ("lognormal spread 0.03", 0.03, "lognormal")]:
        rng = np.random.default_rng(3)
        cover, above = [], []
        for _ in range(reps):
            n = np.exp(rng.uniform(np.log(3e5), np.log(3e6), 8))
            if het == "gamma":
                lam = 0.02 * rng.gamma(1 / tau**2, tau**2, 8)
                mu = np.log(0.02) + np.mean(np.log(rng.gamma(1 / tau**2, tau**2, 200_000)))
            else:
                lam = 0.02 * np.exp(tau * rng.standard_normal(8))
                mu = np.log(0.02)
            y = rng.poisson(lam * n)
            labels = list("FABCDEGH")
            res = compare_to_peers(y, n, {"F": labels[1:]}, areas=labels).to_dataframe()
            true_ratio = lam[0] / np.exp(mu)
            cover.append(res.loc["F", "lower"] <= true_ratio <= res.loc["F", "upper"])
            p = res.loc["F", "prob_above"]
            above.append((p, true_ratio > 1))
        p, truth = np.asarray(above).T
        bins = np.digitize(p, [0.1, 0.3, 0.7, 0.9])
        calib = "; ".join(f"{p[bins == b].mean():.2f}→{truth[bins == b].mean():.2f}"
                          for b in range(5) if (bins == b).sum() >= 20)
        c = np.asarray(cover, dtype=float)
        rows.append({"scenario": name, "coverage of 95% interval": _fmt(
            c.mean(), c.std(ddof=1) / np.sqrt(reps)),
            "P(above) binned: mean predicted → observed share": calib})
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """A pipe table of ``table`` (no extra dependency)."""
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.to_numpy()]
    return "\n".join(lines)


PARTS = {"funnel": funnel_table, "ranks": rank_table, "change": change_table,
         "fdr": fdr_table, "peers": peer_table}


if __name__ == "__main__":
    wanted = sys.argv[1:] or list(PARTS)
    for part in wanted:
        start = time.perf_counter()
        table = PARTS[part]()
        print(f"\n## {part} ({time.perf_counter() - start:.0f} s)\n")
        print(markdown(table), flush=True)
