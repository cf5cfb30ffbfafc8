"""What limits the right call at 13% extra noise? (a diagnostic, run by hand)

    python benchmarks/attribution_limits.py [--reps 60] [--noise 0.13]

Refits the series of the calibration study (same seeds as ``attribution_calibration.py``) for
``null_curve`` and the scenarios with a reporting change, giving the model in turn one thing
it does not have, and prints the false claims on ``null_curve`` next to the right call and the
detection rate (``prob_capture_change > 0.5``) on the changed series:

* ``default`` — `attribute` as shipped;
* ``noise known`` — the prior of the extra noise $\\tau$ shrunk onto its true value
  ($\\log\\tau \\sim N(\\log\\tau_0, 0.02^2)$, $\\tau_0^2 = \\log(1 + \\mathrm{cv}^2)$);
* ``survey x0.1`` — the same series with the survey's relative standard errors divided by 10
  (incidence nearly known);
* ``both known`` — both;
* ``ramps 1-5`` — ramps of up to 5 periods (the simulated ramps last up to 5 years);
* ``prior 1/3`` — ``prior_change=1/3`` instead of 0.25.

The first four change private constants of the model for the run (``unittest.mock.patch``):
they are measurements of what the data lack, not options.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from attribution_calibration import NOISES  # noqa: E402
from attribution_scenarios import POPULATION, SCENARIOS, simulate  # noqa: E402

from crimestats.changepoint import attribute  # noqa: E402
from crimestats.changepoint.attribution import _grid  # noqa: E402

CHOSEN = ("null_curve", "reporting_step", "reporting_ramp", "reporting_fall", "both")


def fit(scenario, noise: float, seed: int, variant: str) -> dict:
    """One series of the calibration study under one variant."""
    scale = 0.1 if variant in ("survey x0.1", "both known") else 1.0
    sim = simulate(scenario, noise, np.random.default_rng(seed), survey_scale=scale)
    options: dict = {"draws": 500, "random_seed": seed}
    if variant == "ramps 1-5":
        options["ramp_lengths"] = (1, 2, 3, 4, 5)
    if variant == "prior 1/3":
        options["prior_change"] = 1 / 3
    prior = _grid.NOISE_PRIOR
    if variant in ("noise known", "both known"):
        prior = (float(np.sqrt(np.log1p(noise ** 2))), 0.02)
    with mock.patch.object(_grid, "NOISE_PRIOR", prior):
        res = attribute(sim.recorded, sim.survey, population=POPULATION, **options)
    return {"scenario": scenario.name, "variant": variant, "seed": seed,
            "claim": res.prob_capture_change > 0.5,
            "right": (res.prob_not_incidence > 0.5) == sim.truth["mostly_capture"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=60)
    parser.add_argument("--noise", type=float, default=0.13)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--variants", nargs="*",
                        default=["default", "noise known", "survey x0.1", "both known",
                                 "ramps 1-5", "prior 1/3"])
    args = parser.parse_args(argv)
    n_no = NOISES.index(args.noise) if args.noise in NOISES else len(NOISES)
    rows = []
    start = time.perf_counter()
    for s_no, scenario in enumerate(SCENARIOS):
        if scenario.name not in CHOSEN:
            continue
        for rep in range(args.reps):
            seed = args.seed * 1_000_000 + s_no * 10_000 + n_no * 5_000 + rep
            rows += [fit(scenario, args.noise, seed, v) for v in args.variants]
    df = pd.DataFrame(rows)
    n = args.reps
    table = []
    for variant, g in df.groupby("variant", sort=False):
        row = {"variant": variant,
               "false_claim null_curve": g.loc[g["scenario"] == "null_curve", "claim"].mean()}
        for name in CHOSEN[1:]:
            s = g[g["scenario"] == name]
            row[f"right call {name}"] = s["right"].mean()
            row[f"claim {name}"] = s["claim"].mean()
        table.append(row)
    out = pd.DataFrame(table).set_index("variant").T
    print(f"noise {args.noise:.0%}, {n} series per scenario (MC SE of a rate p: "
          f"sqrt(p(1-p)/{n}), e.g. ±{np.sqrt(0.9 * 0.1 / n):.3f} at 0.9); "
          f"{time.perf_counter() - start:.0f} s")
    print(out.to_string(float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
