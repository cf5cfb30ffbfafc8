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
  control; components that did not change are reported separately (their intervals contain
  the point mass at "no change");
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

from attribution_scenarios import POPULATION, SCENARIOS, simulate  # noqa: E402

from crimestats.changepoint import attribute  # noqa: E402

NOISES = (0.05, 0.13)


def fit_one(scenario, noise: float, seed: int, draws: int = 2000) -> dict:
    """Simulate and fit one series; return the truth next to the estimates."""
    rng = np.random.default_rng(seed)
    sim = simulate(scenario, noise, rng)
    start = time.perf_counter()
    res = attribute(sim.recorded, sim.survey, population=POPULATION, controls=sim.controls,
                    draws=draws, random_seed=seed)
    seconds = time.perf_counter() - start
    eff = res.effects.set_index("component")
    row = {"scenario": scenario.name, "noise": noise, "seed": seed, "seconds": seconds,
           "prob_not_incidence": res.prob_not_incidence,
           "prob_capture_change": res.prob_capture_change, **sim.truth}
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


def summarise(df: pd.DataFrame, clear: float = 0.1) -> pd.DataFrame:
    """One row per scenario × noise with the acceptance measures.

    ``right_call_clear`` is the right call among the series whose truth is clear: the larger
    of the two true changes exceeds the smaller by ``clear`` or more on the log scale.
    """
    out = []
    df = df.assign(margin=margin(df))
    for (name, noise), g in df.groupby(["scenario", "noise"], sort=False):
        changed = g["capture_changed"] | g["incidence_changed"]
        call = (g["prob_not_incidence"] > 0.5) == g["mostly_capture"]
        null = ~g["capture_changed"]
        is_clear = changed & (g["margin"].abs() >= clear)
        row = {"scenario": name, "noise": noise, "n": len(g),
               "right_call": call[changed].mean() if changed.any() else np.nan,
               "n_clear": int(is_clear.sum()),
               "right_call_clear": call[is_clear].mean() if is_clear.any() else np.nan,
               "false_claim": (g.loc[null, "prob_capture_change"] > 0.5).mean()
               if null.any() else np.nan,
               "cover_incidence": g["cover_incidence"].mean()}
        rep_changed = g["reporting_changed"]
        row["cover_reporting_changed"] = (g.loc[rep_changed, "cover_reporting"].mean()
                                          if rep_changed.any() else np.nan)
        row["cover_reporting_unchanged"] = (g.loc[~rep_changed, "cover_reporting"].mean()
                                            if (~rep_changed).any() else np.nan)
        if "cover_recording" in g and g["cover_recording"].notna().any():
            rec_changed = g["recording_changed"]
            row["cover_recording"] = g.loc[g["cover_recording"].notna(), "cover_recording"].mean()
            row["cover_recording_changed"] = (g.loc[rec_changed, "cover_recording"].mean()
                                              if rec_changed.any() else np.nan)
        row["median_seconds"] = g["seconds"].median()
        out.append(row)
    return pd.DataFrame(out)


def markdown(table: pd.DataFrame) -> str:
    """The summary as a markdown table (blank where a measure does not apply)."""
    def cell(column: str, value) -> str:
        if isinstance(value, float) and not np.isfinite(value):
            return ""
        if column == "noise":
            return f"{value:.0%}"
        if column in ("n", "n_clear"):
            return str(int(value))
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(table.columns) + " |",
             "|" + "---|" * len(table.columns)]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(cell(c, row[c]) for c in table.columns) + " |")
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
    parser.add_argument("--csv", type=Path, default=None, help="write every fit here")
    parser.add_argument("--figures", type=Path, default=None, help="folder for the PNG")
    parser.add_argument("--from-csv", type=Path, default=None,
                        help="summarise and draw an earlier --csv instead of fitting")
    args = parser.parse_args(argv)
    if args.from_csv:
        df = pd.read_csv(args.from_csv)
    else:
        rows = []
        for s_no, scenario in enumerate(SCENARIOS):
            if args.scenarios and scenario.name not in args.scenarios:
                continue
            for n_no, noise in enumerate(NOISES):
                for rep in range(args.reps):
                    seed = args.seed * 1_000_000 + s_no * 10_000 + n_no * 5_000 + rep
                    rows.append(fit_one(scenario, noise, seed, args.draws))
                print(f"  done {scenario.name} noise {noise:.0%}", file=sys.stderr, flush=True)
        df = pd.DataFrame(rows)
        if args.csv:
            df.to_csv(args.csv, index=False)
    table = summarise(df)
    print(markdown(table))
    n = table["n"].min()
    print(f"\nMonte Carlo SE with {n} series: 95% coverage ±{np.sqrt(0.95 * 0.05 / n):.3f}; "
          f"5% false claims ±{np.sqrt(0.05 * 0.95 / n):.3f}.")
    if args.figures:
        args.figures.mkdir(parents=True, exist_ok=True)
        reliability(df, args.figures / "attribution_reliability.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
