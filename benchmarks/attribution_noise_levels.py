"""Are the noise levels of the calibration study realistic? (run by hand)

    python benchmarks/attribution_noise_levels.py

Two measurements from the bundled data, to place the study's extra year-to-year noise of
recorded crime (5% and 13%) and its survey relative standard errors (4–6%):

* **extra year-to-year noise of recorded crime** — for each force × offence group (and for
  England and Wales) over the financial years 2003/04–2012/13 (before the recording reviews
  of 2014), the robust standard deviation of the second differences of log counts, divided by
  $\\sqrt 6$ (iid noise of SD $\\tau$ has second differences of SD $\\sqrt 6\\,\\tau$), with the
  Poisson part $1/n$ removed. Curvature and real changes inflate it, so it is an upper
  estimate of the noise around a smooth curve.
* **survey relative standard errors** — the CSEW's published standard errors (year to December
  2018, adults 16+) of personal-crime prevalence for England and for each region; a police
  force area has a fifth to a half of a region's sample, so its relative SEs are about 1.4–2.2
  times a region's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crimestats.datasets import load_csew_2018_by_region, load_recorded_crime

YEARS = list(range(2004, 2014))


def extra_noise(counts: np.ndarray) -> float:
    """Robust SD of iid log noise around a smooth curve, Poisson part removed (NaN if < 50)."""
    if (counts < 50).any():
        return float("nan")
    d2 = np.diff(np.log(counts), n=2)
    var = (np.median(np.abs(d2)) / 0.6745) ** 2 / 6.0 - np.mean(1.0 / counts)
    return float(np.sqrt(max(var, 0.0)))


def recorded_noise() -> pd.DataFrame:
    """Per offence group: quartiles of the force-level noise and the national noise."""
    force = load_recorded_crime("force", years=YEARS)
    nat = load_recorded_crime("england_wales", years=YEARS)
    rows = []
    for offence, g in force.groupby("offence"):
        per_force = np.array([extra_noise(f.sort_values("financial_year_ending")["offences"]
                                          .to_numpy(float)) for _, f in g.groupby("force")])
        per_force = per_force[np.isfinite(per_force)]
        n = nat[nat["offence"] == offence].sort_values("financial_year_ending")
        if per_force.size < 20:
            continue
        q = np.quantile(per_force, [0.25, 0.5, 0.75, 0.9])
        rows.append({"offence": offence, "forces": per_force.size, "force_q25": q[0],
                     "force_median": q[1], "force_q75": q[2], "force_q90": q[3],
                     "england_wales": extra_noise(n["offences"].to_numpy(float))})
    return pd.DataFrame(rows)


def survey_rse() -> pd.DataFrame:
    """Relative SEs of CSEW prevalence, England and the regions (adults 16+, YE Dec 2018)."""
    rows = []
    for measure in ("violnr_p", "vininr_p", "theftp_p", "totper_p"):
        d = load_csew_2018_by_region(measure, age="16+", include_totals=True)
        rse = d["standard_error"] / d["estimate"]
        region = rse[d["region"] != "England"]
        rows.append({"measure": measure,
                     "england": float(rse[d["region"] == "England"].iloc[0]),
                     "region_min": float(region.min()), "region_median": float(region.median()),
                     "region_max": float(region.max())})
    return pd.DataFrame(rows)


def main() -> int:
    fmt = {"float_format": lambda v: f"{v:.3f}", "index": False}
    rec = recorded_noise()
    print("Extra year-to-year noise of recorded crime (log SD), 2003/04-2012/13")
    print(rec.to_string(**fmt))
    pooled = [extra_noise(f.sort_values("financial_year_ending")["offences"].to_numpy(float))
              for _, f in load_recorded_crime("force", years=YEARS)
              .groupby(["offence", "force"])]
    pooled = np.array(pooled)[np.isfinite(pooled)]
    print("all force x offence series: quantiles 10/25/50/75/90% =",
          np.round(np.quantile(pooled, [0.1, 0.25, 0.5, 0.75, 0.9]), 3).tolist(),
          f"({pooled.size} series)")
    print("\nCSEW relative standard errors, adults 16+, year to December 2018")
    print(survey_rse().to_string(**fmt))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
