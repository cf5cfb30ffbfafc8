"""Calibration of `crimestats.changepoint.attribute` on misspecified simulations (run by hand).

    python benchmarks/attribution_calibration.py [--reps 200] [--seed 2026]
        [--csv results.csv] [--figures docs/assets]

For every scenario of ``benchmarks/attribution_scenarios.py`` and extra year-to-year noise of
5% and 13%, simulates ``--reps`` series, fits `attribute` and prints one table row:

* **right call** — among series where something changed (capture or incidence), the share
  where ``prob_not_incidence > 0.5`` agrees with the truth ("mostly reporting/recording" when
  the true capture change over the window exceeds the true incidence change in absolute
  size on the log scale); also among the series whose truth is clear (the two changes
  differ by 0.1 or more on the log scale), since a near tie cannot be called by any method;
* **false claim** — among series where neither reporting nor recording changed, the share
  with ``prob_capture_change > 0.5``;
* **coverage** — of the 95% intervals of the total change of incidence and of reporting (or
  "reporting or recording" without a control) over the window, and of recording with a
  control, among the series where the component changed (``cover_<component>_changed``) and
  among those where the model also sees the change, ``prob_change`` > 0.5
  (``cover_<component>_seen``: a change it does not see has most of its posterior at "no
  change");
* coverage of the 95% interval of the extra noise SD (``hyperparameters``) of its true value
  $\\sqrt{\\log(1 + \\mathrm{cv}^2)}$;
* the median seconds per fit.

Acceptance (issue 12): right call ≥ 95%, false claim ≤ 5% in every scenario, coverage within
3 Monte Carlo standard errors of 95%. ``--figures`` draws the reliability diagrams of
``prob_not_incidence``, ``prob_capture_change`` and the per-component change probabilities
(pooled over scenarios) into ``attribution_reliability.png`` there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from attribution_scenarios import NEAR_TIE, POPULATION, SCENARIOS, simulate  # noqa: E402

from crimestats.changepoint import attribute  # noqa: E402

NOISES = (0.05, 0.13)


def fit_one(scenario, noise: float, seed: int, draws: int = 2000, **options) -> dict:
    """Simulate and fit one series; return the truth next to the estimates.

    ``options`` are passed to `attribute` (e.g. ``prior_change``, ``ramp_lengths``).
    """
    rng = np.random.default_rng(seed)
    sim = simulate(scenario, noise, rng)
    start = time.perf_counter()
    res = attribute(sim.recorded, sim.survey, population=POPULATION, controls=sim.controls,
                    draws=draws, random_seed=seed, **options)
    seconds = time.perf_counter() - start
    eff = res.effects.set_index("component")
    row = {"scenario": scenario.name, "noise": noise, "seed": seed, "seconds": seconds,
           "prob_not_incidence": res.prob_not_incidence,
           "prob_capture_change": res.prob_capture_change, **sim.truth}
    # the extra noise on the model's scale: the SD of the log of the yearly gamma factor
    hyper, true_sd = res.hyperparameters, float(np.sqrt(np.log1p(noise ** 2)))
    row["noise_sd"] = hyper["noise_sd"]
    row["cover_noise_sd"] = bool(hyper["noise_sd_lower"] <= true_sd <= hyper["noise_sd_upper"])
    for comp in res.components:
        truth = sim.truth[f"{comp}_total"]
        row[f"prob_change_{comp}"] = eff.loc[comp, "prob_change"]
        row[f"cover_{comp}"] = bool(eff.loc[comp, "total_lower"] - 1e-12 <= truth
                                    <= eff.loc[comp, "total_upper"] + 1e-12)
        row[f"total_{comp}"] = eff.loc[comp, "total"]
    return row


def margin(df: pd.DataFrame) -> pd.Series:
    """|true capture change| − |true incidence change| over the window, log scale."""
    with_control = df["cover_recording"].notna() if "cover_recording" in df else False
    capture = np.log1p(df["reporting_total"]) + np.where(
        with_control, np.log1p(df["recording_total"]), 0.0)
    return np.abs(capture) - np.abs(np.log1p(df["incidence_total"]))


def summarise(df: pd.DataFrame, clear: float = NEAR_TIE) -> pd.DataFrame:
    """One row per scenario × noise with the acceptance measures.

    ``right_call_clear`` is the right call among the series whose truth is clear: the larger
    of the two true changes exceeds the smaller by ``clear`` or more on the log scale;
    ``right_call_tie`` among the others (near ties, reported separately: a method cannot be
    asked to tell a 25% rise from a 30% fall with 5-13% noise a year). Every rate ``x`` has its
    number of series ``n_x`` next to it, for the Monte Carlo SE $\\sqrt{x(1-x)/n_x}$.
    """
    out = []
    df = df.assign(margin=margin(df))

    def rate(row: dict, name: str, values: pd.Series) -> None:
        row[name] = float(values.mean()) if len(values) else np.nan
        row[f"n_{name}"] = len(values)

    for (name, noise), g in df.groupby(["scenario", "noise"], sort=False):
        changed = g["capture_changed"] | g["incidence_changed"]
        call = (g["prob_not_incidence"] > 0.5) == g["mostly_capture"]
        null = ~g["capture_changed"]
        is_clear = changed & (g["margin"].abs() >= clear)
        row = {"scenario": name, "noise": noise, "n": len(g)}
        rate(row, "right_call", call[changed])
        rate(row, "right_call_clear", call[is_clear])
        rate(row, "right_call_tie", call[changed & ~is_clear])
        rate(row, "false_claim", g.loc[null, "prob_capture_change"] > 0.5)
        rate(row, "cover_incidence", g["cover_incidence"])
        for comp in ("reporting", "recording"):
            if f"cover_{comp}" not in g or g[f"cover_{comp}"].isna().all():
                continue
            changed_c = g[f"{comp}_changed"].astype(bool) & g[f"cover_{comp}"].notna()
            seen = changed_c & (g[f"prob_change_{comp}"] > 0.5)
            rate(row, f"cover_{comp}_changed", g.loc[changed_c, f"cover_{comp}"])
            rate(row, f"cover_{comp}_seen", g.loc[seen, f"cover_{comp}"])
        if "cover_noise_sd" in g:
            rate(row, "cover_noise_sd", g["cover_noise_sd"].astype(bool))
        row["median_seconds"] = g["seconds"].median()
        out.append(row)
    return pd.DataFrame(out)


def power_at_false_claims(df: pd.DataFrame, rate: float = 0.05) -> pd.DataFrame:
    """Power and false alarms together: detection of a capture change at a fixed false-claim
    rate.

    The threshold on ``prob_capture_change`` is the ``1 - rate`` quantile over the series of
    the null scenarios at the same noise (``null_curve`` for series without a control,
    ``null_control`` with one), so that exactly ``rate`` of them would be claimed; the table
    gives, per changed scenario, the share of series above it, next to the share above 0.5
    (the default claim) and the false-claim rate at 0.5.
    """
    rows = []
    for noise, g in df.groupby("noise", sort=False):
        for name, s in g[g["capture_changed"].astype(bool)].groupby("scenario", sort=False):
            control = "cover_recording" in s and s["cover_recording"].notna().any()
            null = g.loc[g["scenario"] == ("null_control" if control else "null_curve"),
                         "prob_capture_change"]
            if null.empty:
                continue
            t = float(np.quantile(null, 1 - rate))
            rows.append({"scenario": name, "noise": noise, "n": len(s), "n_null": len(null),
                         "false_claim_at_0.5": float((null > 0.5).mean()),
                         "power_at_0.5": float((s["prob_capture_change"] > 0.5).mean()),
                         "threshold": t,
                         "power_at_threshold": float((s["prob_capture_change"] > t).mean())})
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """The summary as a markdown table: every rate with its Monte Carlo SE (blank where a
    measure does not apply)."""
    shown = [c for c in table.columns if not c.startswith("n_")]

    def cell(column: str, row: pd.Series) -> str:
        value = row[column]
        if isinstance(value, float) and not np.isfinite(value):
            return ""
        if column == "noise":
            return f"{value:.0%}"
        if column == "n":
            return str(int(value))
        if f"n_{column}" in row.index:
            n = int(row[f"n_{column}"])
            return f"{value:.3f} ± {np.sqrt(value * (1 - value) / n):.3f} [{n}]"
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(cell(c, row) for c in shown) + " |")
    return "\n".join(lines)


def reliability(df: pd.DataFrame, path: Path, prior: float = 0.25) -> None:
    """Reliability diagrams: predicted probability against observed frequency, pooled.

    Top row: the series as simulated (two in three have a capture change). Bottom row: the
    same series reweighted so that a fraction ``prior`` has one, the prior probability the
    model assumes — the population in which a calibrated posterior probability means what it
    says.
    """
    import matplotlib.pyplot as plt

    panels = [("prob_not_incidence", "mostly_capture", "P(mostly reporting/recording)"),
              ("prob_capture_change", "capture_changed", "P(reporting or recording changed)"),
              ("prob_change_reporting", "reporting_changed", "P(reporting changed)"),
              ("prob_change_recording", "recording_changed",
               "P(recording changed), with a control")]
    share = df["capture_changed"].mean()
    weights = {"as simulated": np.ones(len(df)),
               f"reweighted: {prior:.0%} with a capture change":
                   np.where(df["capture_changed"], prior / share, (1 - prior) / (1 - share))}
    fig, axes = plt.subplots(2, len(panels), figsize=(4.0 * len(panels), 8.0))
    edges = np.array([0, 0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 1.0 + 1e-9])
    for row, (label, w_all) in zip(axes, weights.items(), strict=True):
        for ax, (pred, truth, title) in zip(row, panels, strict=True):
            keep = df[pred].notna().to_numpy()
            p = df.loc[keep, pred].to_numpy(dtype=float)
            y = df.loc[keep, truth].to_numpy(dtype=float)
            w = w_all[keep]
            which = np.digitize(p, edges) - 1
            xs, ys, ses, ns = [], [], [], []
            for b in range(len(edges) - 1):
                sel = which == b
                if sel.sum() >= 5:
                    ww = w[sel] / w[sel].sum()
                    freq = float(ww @ y[sel])
                    n_eff = 1.0 / float((ww ** 2).sum())
                    xs.append(float(ww @ p[sel]))
                    ys.append(freq)
                    ses.append(np.sqrt(max(freq * (1 - freq), 0.25 / n_eff) / n_eff))
                    ns.append(int(sel.sum()))
            ax.plot([0, 1], [0, 1], color="0.6", lw=1)
            ax.errorbar(xs, ys, yerr=2 * np.array(ses), fmt="o-", capsize=3)
            for x, yy, n in zip(xs, ys, ns, strict=True):
                ax.annotate(str(n), (x, yy), textcoords="offset points", xytext=(4, -10),
                            fontsize=7)
            ax.set_xlim(0, 1)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel("posterior probability (bin mean)")
            ax.set_ylabel("observed frequency (±2 SE)")
            ax.set_title(f"{title}\n{label}", fontsize=9)
    fig.suptitle("Attribution: reliability on misspecified simulations "
                 f"({len(df)} series; numbers = series per bin)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--scenarios", nargs="*", default=None, help="names (default all)")
    parser.add_argument("--noises", type=float, nargs="*", default=list(NOISES),
                        help="extra year-to-year noise levels (CV of the counts)")
    parser.add_argument("--prior-change", type=float, default=None,
                        help="prior_change of attribute (default: its own default)")
    parser.add_argument("--ramp-lengths", type=int, nargs="*", default=None,
                        help="ramp_lengths of attribute (default: its own default)")
    parser.add_argument("--csv", type=Path, default=None, help="write every fit here")
    parser.add_argument("--figures", type=Path, default=None, help="folder for the PNG")
    parser.add_argument("--from-csv", type=Path, default=None,
                        help="summarise and draw an earlier --csv instead of fitting")
    args = parser.parse_args(argv)
    if args.from_csv:
        df = pd.read_csv(args.from_csv)
    else:
        rows = []
        options = {}
        if args.prior_change is not None:
            options["prior_change"] = args.prior_change
        if args.ramp_lengths:
            options["ramp_lengths"] = tuple(args.ramp_lengths)
        for s_no, scenario in enumerate(SCENARIOS):
            if args.scenarios and scenario.name not in args.scenarios:
                continue
            for noise in args.noises:
                n_no = NOISES.index(noise) if noise in NOISES else len(NOISES)
                for rep in range(args.reps):
                    seed = args.seed * 1_000_000 + s_no * 10_000 + n_no * 5_000 + rep
                    rows.append(fit_one(scenario, noise, seed, args.draws, **options))
                print(f"  done {scenario.name} noise {noise:.0%}", file=sys.stderr, flush=True)
        df = pd.DataFrame(rows)
        if args.csv:
            df.to_csv(args.csv, index=False)
    table = summarise(df)
    print(markdown(table))
    print("\nrate ± Monte Carlo SE [series]; power and false alarms together:")
    print(power_at_false_claims(df).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.figures:
        args.figures.mkdir(parents=True, exist_ok=True)
        reliability(df, args.figures / "attribution_reliability.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
