"""How often can *any* method make the right call? Oracle bounds for the calibration study.

    python benchmarks/attribution_oracle.py [--series 2000] [--seed 7] [--known-shapes]
        [--survey-scale 1]

The "right call" of ``attribution_calibration.py`` on a series whose capture (reporting and
recording) changed more than incidence is a claim that the capture changed; on a series where
it did not change the same claim is a false claim, held to 5%. By the Neyman–Pearson lemma no
decision rule with at most 5% false claims can detect a capture change more often than the
most powerful 5%-level test of "no capture change" against the series' own alternative. This
script computes that test's power for the series of every scenario with a capture change, as
upper bounds of the attainable right call, for two oracles that know more than any method:

* **known change** — knows the incidence path exactly (so the survey adds nothing), and the
  timing, shape, size and sign of the capture path $c_t$; only the capture level is unknown.
  With log recorded crime $r_t = a + c_t + e_t$, $e_t \\sim N(0, s^2)$,
  $s^2 = \\log(1 + \\mathrm{cv}^2) + 1/\\bar n$ (the extra noise of the gamma factor and the
  Poisson noise of $\\bar n$ expected counts), the test rejects when
  $\\sum_t (c_t - \\bar c)\\, r_t$ is large; its power is $\\Phi(\\sqrt V - 1.645)$ with
  $V = \\sum_t (c_t - \\bar c)^2 / s^2$ (summed over the target and, with a control, the
  control's recording path).
* **known scenario** — knows the incidence path, but of the change only the scenario's
  distribution (timing, ramp length, size, sign): the most powerful test of the mixture
  alternative rejects for a large average likelihood ratio
  $\\frac1M \\sum_m \\exp\\{\\sum_t (c^m_t - \\bar c^m) r_t / s^2 - V_m / 2\\}$ over $M$ paths
  drawn from the scenario. Its threshold is the 95% quantile under no change (simulated), and
  its average power over the scenario's series is the largest average detection rate that any
  5%-level rule can have on the scenario (Gaussian errors on the log scale; the gamma factor's
  log is within 0.02 of Gaussian skewness at these noise levels — the oracle ignores it).

The right-call bound of a scenario averages the power over the changed series where the
capture change is the larger (the call needs the claim) and counts the others as right: both
oracles know the incidence path, so comparing the two changes costs them nothing.

A third oracle, **known shapes**, measures what that comparison costs when incidence is seen
only through the data (the recorded counts and the survey). It knows the shapes of both true
annual log paths, incidence $g_t$ and capture $h_t$ (each minus its first year), and the noise
levels, and estimates only their sizes $\\beta$, $\\gamma$ (true value 1) and two levels by weighted least squares from
the recorded counts, $r_t = a + \\beta g_t + \\gamma h_t + e_t$, and a survey with every
financial year present, $z_t = b + \\beta g_t + u_t$, $u_t \\sim N(0, \\rho^2)$ with the
scenario's relative standard error $\\rho$ of 4–6%. It calls "mostly capture" when
$|\\hat\\gamma h_T| > |\\hat\\beta g_T|$. It is not a strict bound (a rule can do a little better
than this plug-in call on some series) but it knows the timing, shape and sign of every
change, which no method does. Its errors are near ties; with the shapes known, most of the
split between the two changes is read off the recorded counts, so they are set by the
counts' year-to-year noise more than by the survey (``--survey-scale 0.01`` to check).
Scenarios with a control are left out (the control would tell it about recording, which it
already knows the shape of).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special, stats

sys.path.insert(0, str(Path(__file__).parent))

from attribution_scenarios import NEAR_TIE, SCENARIOS, simulate  # noqa: E402

NOISES = (0.05, 0.13)
Z95 = stats.norm.ppf(0.95)


def recorded_log_sd(noise: float, expected: np.ndarray) -> np.ndarray:
    """SD of log recorded counts a year: the gamma factor's (CV ``noise``) and Poisson's."""
    return np.sqrt(np.log1p(noise ** 2) + 1.0 / expected)


def capture_paths(scenario, noise: float, n: int, rng: np.random.Generator
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centred capture paths (series × stacked years), noise SD and the 'mostly capture' flag."""
    paths, sds, mostly = [], [], []
    for _ in range(n):
        sim = simulate(scenario, noise, rng)
        p = sim.paths
        blocks = [(p["capture"], p["expected"])]
        if "control_expected" in p:
            blocks.append((p["recording"], p["control_expected"]))
        stacked, sd = [], []
        for path, expected in blocks:
            stacked.append(path - path.mean())
            sd.append(recorded_log_sd(noise, expected))
        paths.append(np.concatenate(stacked))
        sds.append(np.concatenate(sd))
        mostly.append(sim.truth["mostly_capture"])
    return np.array(paths), np.array(sds), np.array(mostly)


def centre(r: np.ndarray, blocks: int) -> np.ndarray:
    """Remove each block's (series') mean: the unknown levels."""
    parts = np.split(r, blocks, axis=-1)
    return np.concatenate([x - x.mean(axis=-1, keepdims=True) for x in parts], axis=-1)


def bounds(scenario, noise: float, n: int, rng: np.random.Generator) -> dict:
    """Both oracle bounds for one scenario and noise level."""
    c, sd, mostly = capture_paths(scenario, noise, n, rng)
    blocks = c.shape[1] // 14
    s = float(np.median(sd))                      # one noise SD (Poisson part ≤ 3% of it)
    V = (c ** 2).sum(axis=1) / s ** 2
    known = stats.norm.cdf(np.sqrt(V) - Z95)
    # mixture likelihood ratio against M other paths of the same scenario
    mix, _, _ = capture_paths(scenario, noise, n, rng)
    Vm = (mix ** 2).sum(axis=1) / s ** 2

    def log_lr(r: np.ndarray) -> np.ndarray:
        r = centre(r, blocks)
        return special.logsumexp(r @ mix.T / s ** 2 - Vm / 2, axis=1) - np.log(len(mix))

    null = log_lr(s * rng.standard_normal((20 * n, c.shape[1])))
    threshold = np.quantile(null, 0.95)
    detected = log_lr(c + s * rng.standard_normal(c.shape)) > threshold
    return {"scenario": scenario.name, "noise": noise, "series": n,
            "share_mostly_capture": mostly.mean(),
            "power_known_change": known.mean(),
            "power_known_scenario": detected.mean(),
            "right_call_known_change": np.where(mostly, known, 1.0).mean(),
            "right_call_known_scenario": np.where(mostly, detected, 1.0).mean(),
            "se_known_scenario": np.sqrt(np.where(mostly, detected, 1.0).var() / n)}


def known_shapes(scenario, noise: float, n: int, rng: np.random.Generator,
                 survey_scale: float = 1.0) -> dict:
    """Right call of the known-shapes oracle, over all changed series, clear ones and near ties.

    ``survey_scale`` multiplies the survey's relative standard errors (same random numbers).
    """
    right, clear = [], []
    for _ in range(n):
        sim = simulate(scenario, noise, rng)
        p = sim.paths
        h = p["capture"] - p["capture"][0]
        g = np.log(p["expected"]) - p["capture"]
        g = g - g[0]
        rho = rng.uniform(0.04, 0.06) * survey_scale
        s = recorded_log_sd(noise, p["expected"])
        k = len(g)
        # stacked design: recorded level, survey level, incidence size, capture size
        X = np.zeros((2 * k, 4))
        X[:k, 0], X[k:, 1] = 1.0, 1.0
        X[:k, 2], X[k:, 2], X[:k, 3] = g, g, h
        w = np.concatenate([1.0 / s, np.full(k, 1.0 / rho)])
        y = X @ np.array([0.0, 0.0, 1.0, 1.0]) + rng.standard_normal(2 * k) / w
        keep = slice(None) if np.ptp(h) > 0 else [0, 1, 2]
        coef = np.zeros(4)
        coef[keep] = np.linalg.lstsq(X[:, keep] * w[:, None], y * w, rcond=None)[0]
        call = abs(coef[3] * h[-1]) > abs(coef[2] * g[-1])
        right.append(call == (abs(h[-1]) > abs(g[-1])))
        clear.append(abs(abs(h[-1]) - abs(g[-1])) >= NEAR_TIE)
    right, clear = np.array(right), np.array(clear)

    def rate(mask: np.ndarray) -> float:
        return float(right[mask].mean()) if mask.any() else np.nan

    return {"scenario": scenario.name, "noise": noise, "series": n,
            "right_call_known_shapes": rate(np.ones(n, bool)),
            "se": float(np.sqrt(right.var() / n)),
            "clear": rate(clear), "near_tie": rate(~clear), "share_near_tie": 1 - clear.mean()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--noises", type=float, nargs="*", default=list(NOISES))
    parser.add_argument("--known-shapes", action="store_true",
                        help="also the right call of the known-shapes oracle (no controls)")
    parser.add_argument("--survey-scale", type=float, default=1.0,
                        help="multiply the known-shapes oracle's survey errors (0.01: exact)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rows = [bounds(sc, noise, args.series, rng) for sc in SCENARIOS
            if sc.reporting != "none" or sc.recording == "ramp" for noise in args.noises]
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.known_shapes:
        rows = [known_shapes(sc, noise, args.series, rng, args.survey_scale) for sc in SCENARIOS
                if sc.recording == "none" and (sc.reporting != "none" or sc.incidence != "curve")
                for noise in args.noises]
        print()
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
