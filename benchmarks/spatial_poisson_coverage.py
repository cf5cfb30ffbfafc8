"""Second coverage run of the Poisson BYM2 model on the 314 CSPs (validation page, §6.4).

Run by hand: ``python benchmarks/spatial_poisson_coverage.py`` (about 3 minutes). The design of
``tests/sae/glmm/test_sae_bym2_prevalence.py::test_simulation_on_csp_map_coverage_and_rmse[poisson]``
(log rate -4 + 0.25 x + b, BYM2 truth sigma 0.5, phi 0.7, exposure 200 to 3,000, 30 CSPs
unsampled, 90% intervals) with another seed and 100 replicates, spatial fits only; prints the
coverage with its Monte Carlo SE, the misses below and above by exposure, and how often the 95%
interval for sigma covers 0.5.
"""

from __future__ import annotations

import math

import numpy as np
from bym2 import csp_adjacency

from crimestats.sae import poisson_lognormal
from crimestats.sae.spatial.icar import icar_structure


def main(seed: int = 2718, reps: int = 100) -> None:
    adj = csp_adjacency()
    m = adj.n_areas
    icar = icar_structure(adj)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=m)
    coverage, rows, sigma_covered = [], [], []
    for _ in range(reps):
        u = icar.sample_prior(np.arange(m), 1, rng)[0]
        b = 0.5 * (math.sqrt(0.7) * u + math.sqrt(0.3) * rng.normal(size=m))
        truth = np.exp(-4.0 + 0.25 * x + b)
        exposure = rng.integers(200, 3001, size=m).astype(float)
        out = rng.choice(m, size=30, replace=False)
        counts = rng.poisson(exposure * truth).astype(float)
        counts[out] = np.nan
        fit = poisson_lognormal(counts, exposure, x[:, None], areas=adj.areas, adjacency=adj,
                                level=0.90)
        est = fit.estimates
        low, high = truth < est["lower"].values, truth > est["upper"].values
        coverage.append(1.0 - (low | high).mean())
        rows.append(np.column_stack([exposure, low, high, np.isnan(counts)]))
        sigma_covered.append(fit.sigma_interval[0] <= 0.5 <= fit.sigma_interval[1])
    cov = np.asarray(coverage)
    table = np.vstack(rows)
    print(f"coverage {cov.mean():.4f} (MC SE {cov.std(ddof=1) / math.sqrt(reps):.4f}); "
          f"sigma's interval covers 0.5 in {np.mean(sigma_covered):.2f} of replicates")
    sampled = table[:, 3] == 0
    for lo, hi in [(200, 700), (700, 1500), (1500, 3001)]:
        k = sampled & (table[:, 0] >= lo) & (table[:, 0] < hi)
        print(f"exposure {lo}-{hi}: below {table[k, 1].mean():.4f}, above "
              f"{table[k, 2].mean():.4f}")
    k = ~sampled
    print(f"unsampled: below {table[k, 1].mean():.4f}, above {table[k, 2].mean():.4f}")


if __name__ == "__main__":
    main()
