"""Survey direct estimates: run times, and validation against the simulator's known truth.

Run by hand (not part of the tests)::

    python benchmarks/survey.py            # timings and validation tables
    python benchmarks/survey.py --quick    # fewer replicates

Prints Markdown tables; the figures are recorded in docs/validation/survey.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from crimestats.datasets import simulate_survey
from crimestats.survey import direct_estimates, smooth_variances

Z95 = 1.959963984540054


def _best_time(func, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def timings() -> None:
    print("| task | areas | periods | respondents | seconds |")
    print("|---|---:|---:|---:|---:|")
    for n_areas, periods, per_psu in ((2_300, 1, 15), (7_201, 1, 15), (7_201, 3, 15),
                                      (35_000, 1, 10)):
        kwargs = {"n_areas": n_areas, "n_periods": periods, "n_strata": 40,
                  "respondents_per_psu": per_psu, "random_seed": 1}
        sim = simulate_survey(**kwargs)
        n = len(sim.respondents)
        t_sim = _best_time(lambda kw=kwargs: simulate_survey(**kw))
        print(f"| simulate_survey | {n_areas:,} | {periods} | {n:,} | {t_sim:.3f} |")
        extra = {"period": "period"} if periods > 1 else {}

        def run(sim=sim, extra=extra):
            return direct_estimates(sim.respondents, y="victim", area="area",
                                    weight="weight", strata="stratum", psu="psu",
                                    areas=sim.areas["area"], **extra)

        t_direct = _best_time(run)
        print(f"| direct_estimates | {n_areas:,} | {periods} | {n:,} | {t_direct:.3f} |")
        if periods == 1:
            est = run()
            t_gvf = _best_time(lambda est=est: smooth_variances(est))
            print(f"| smooth_variances | {n_areas:,} | 1 | – | {t_gvf:.3f} |")


def _replicates(n_reps: int, outcome: str = "victim", pool: bool = False,
                **design) -> dict[str, np.ndarray]:
    est, var, smooth, smooth_c, dof = [], [], [], [], []
    extra = {"period": "period", "pool": True} if pool else {}
    for rep in range(n_reps):
        sim = simulate_survey(random_seed=2026, sample_seed=10_000 + rep, **design)
        ds = direct_estimates(sim.respondents, y=outcome, area="area", weight="weight",
                              strata="stratum", psu="psu", areas=sim.areas["area"],
                              df="domain", **extra)
        est.append(ds["estimate"].values)
        var.append(ds["variance"].values)
        dof.append(ds["df"].values)
        smooth.append(smooth_variances(ds, replace="all")["variance"].values)
        smooth_c.append(smooth_variances(ds, replace="all", df_correction=True)["variance"].values)
    column = "true_prevalence" if outcome == "victim" else "true_incidence_rate"
    return {"est": np.array(est), "var": np.array(var), "smooth": np.array(smooth),
            "smooth_c": np.array(smooth_c), "df": np.array(dof),
            "truth": sim.areas[column].to_numpy()}


def _row(label: str, out: dict[str, np.ndarray], n_reps: int) -> str:
    ok = np.isfinite(out["est"]).all(axis=0)
    est, var, truth = out["est"][:, ok], out["var"][:, ok], out["truth"][ok]
    m = int(ok.sum())
    if m < 2:
        return f"| {label} | {m} | – | – | – | – |"
    sd = est.std(axis=0, ddof=1)
    bias = est.mean(axis=0) - truth
    bias_se = np.sqrt(np.sum(sd**2) / n_reps) / m
    ratio = var.mean(axis=0) / sd**2
    cover = (np.abs(est - truth) <= Z95 * np.sqrt(var)).mean(axis=1)
    t_quant = stats.t.ppf(0.975, out["df"][:, ok])
    cover_t = (np.abs(est - truth) <= t_quant * np.sqrt(var)).mean(axis=1)
    return (f"| {label} | {m} | {bias.mean():+.5f} ({bias_se:.5f}) | {ratio.mean():.3f} "
            f"({ratio.std(ddof=1) / np.sqrt(m):.3f}) | {cover.mean():.4f} "
            f"({cover.std(ddof=1) / np.sqrt(n_reps):.4f}) | {cover_t.mean():.4f} "
            f"({cover_t.std(ddof=1) / np.sqrt(n_reps):.4f}) |")


def validation(n_reps: int) -> None:
    print(f"\nDirect estimates of prevalence, {n_reps} samples of the same 20 areas "
          "(2 strata, 8 respondents per PSU); areas sampled in every replicate")
    print("| PSUs per area (mean) | areas | mean bias (MC SE) | E[linearised var] / MC var "
          "(SE) | 95% coverage, normal (MC SE) | 95% coverage, df='domain' (MC SE) |")
    print("|---:|---:|---|---|---|---|")
    for k in (3, 6, 12, 40, 100):
        out = _replicates(n_reps, n_areas=20, n_strata=2, psus_per_area=k,
                          respondents_per_psu=8)
        print(_row(str(k), out, n_reps))

    print(f"\nSmall areas (simulate_survey defaults: 100 areas, ~3 PSUs of ~15 respondents "
          f"per area), {n_reps} samples; areas sampled in at least 90% of them")
    out = _replicates(n_reps, n_areas=100)
    sampled = np.isfinite(out["est"])
    keep = sampled.mean(axis=0) >= 0.9
    rows = []
    for name, use_t in (("var", False), ("var", True), ("smooth", False), ("smooth_c", False)):
        ratios, covers, zero = [], [], []
        for i in np.flatnonzero(keep):
            s = sampled[:, i]
            e, v = out["est"][s, i], out[name][s, i]
            quant = stats.t.ppf(0.975, out["df"][s, i]) if use_t else Z95
            mc = e.var(ddof=1)
            ratios.append(np.mean(v) / mc)
            covers.append(np.mean(np.abs(e - out["truth"][i]) <= quant * np.sqrt(v)))
            zero.append(np.mean(v == 0))
        rows.append((name, use_t, np.median(ratios), np.mean(covers), np.mean(zero)))
    print("| variance | interval | areas | median E[var]/MC var | mean 95% coverage | "
          "share zero |")
    print("|---|---|---:|---:|---:|---:|")
    labels = {"var": "direct (linearised)", "smooth": "GVF (`smooth_variances`, deff)",
              "smooth_c": "GVF, `df_correction=True`"}
    for name, use_t, ratio, cover, zero in rows:
        kind = "t, df='domain'" if use_t else "normal"
        print(f"| {labels[name]} | {kind} | {int(keep.sum())} | {ratio:.3f} | {cover:.4f} | "
              f"{zero:.3f} |")


def validation_other(n_reps: int) -> None:
    print(f"\nOther settings, {n_reps} samples, 20 areas in 2 strata")
    print("| setting | areas | mean bias (MC SE) | E[linearised var] / MC var (SE) | "
          "95% coverage, normal (MC SE) | 95% coverage, df='domain' (MC SE) |")
    print("|---|---:|---|---|---|---|")
    out = _replicates(n_reps, outcome="incidents", n_areas=20, n_strata=2, psus_per_area=40,
                      respondents_per_psu=8)
    print(_row("incidence rate, 40 PSUs per area", out, n_reps))
    out = _replicates(n_reps, pool=True, n_periods=3, n_areas=20, n_strata=2,
                      psus_per_area=15, respondents_per_psu=8)
    print(_row("prevalence, 3 years pooled, 15 PSUs per area-year", out, n_reps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer replicates")
    parser.add_argument("--part", choices=["all", "timings", "validation", "other"],
                        default="all")
    args = parser.parse_args()
    n_reps = 100 if args.quick else 400
    if args.part in ("all", "timings"):
        timings()
    if args.part in ("all", "validation"):
        validation(n_reps)
    if args.part in ("all", "other"):
        validation_other(n_reps)


if __name__ == "__main__":
    main()
