"""Dirichlet-process latent-class model (LCMCR; Manrique-Vallier 2016), by Gibbs sampling."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import ConvergenceWarning
from .base import FitOptions, Method, MethodFit, register

if TYPE_CHECKING:
    from .._tables import CaptureTable


class LatentClass(Method):
    """Latent classes of catchability with a stick-breaking prior; posterior of the total."""

    name = "lcmcr"
    rank = 3
    label = "LCMCR (latent classes)"
    intervals = ("posterior",)
    models_heterogeneity = True
    quick = False
    chains = True
    description = "Bayesian latent-class model (R LCMCR): heterogeneity between people"

    def fit(self, tab: CaptureTable, options: FitOptions, rng: np.random.Generator,
            diagnostics: dict[str, Any]) -> MethodFit:
        from .. import _lcmcr

        samples = _lcmcr.sample_lcmcr(tab.histories, tab.counts, n_classes=options.n_classes,
                                      chains=options.chains, burn=options.burn,
                                      draws=options.draws, thin=options.thin, rng=rng,
                                      progress=options.progress)
        alpha = (1.0 - options.level) / 2.0
        lo, med, hi = np.quantile(samples, [alpha, 0.5, 1.0 - alpha])
        diagnostics.update(chain_diagnostics(samples))
        diagnostics["posterior_mean"] = float(samples.mean())
        if diagnostics["rhat"] > 1.05:
            warnings.warn(
                f"LCMCR chains disagree (r-hat {diagnostics['rhat']:.2f}, effective sample "
                f"size {diagnostics['ess']:.0f}): the posterior of the total may be multimodal. "
                "Run longer (`burn`, `draws`, `thin`; on the command line --burn, --draws, "
                "--thin) and compare chains (`result.idata`).",
                ConvergenceWarning, stacklevel=4)
        return MethodFit(total=float(med), lower=float(lo), upper=float(hi),
                         sd=float(samples.std()), observed=tab.observed,
                         diagnostics=diagnostics, draws=samples)


def chain_diagnostics(samples: np.ndarray) -> dict[str, float]:
    """Split-chain r-hat and a batch-means effective sample size of the total."""
    chains, n = samples.shape
    half = n // 2
    split = np.concatenate([samples[:, :half], samples[:, half:2 * half]], axis=0)
    means = split.mean(axis=1)
    within = split.var(axis=1, ddof=1).mean()
    between = half * means.var(ddof=1)
    var_plus = (half - 1) / half * within + between / half
    rhat = float(np.sqrt(var_plus / within)) if within > 0 else float("nan")
    flat = samples - samples.mean(axis=1, keepdims=True)
    acf_sum = 0.0
    for lag in range(1, min(n - 1, 200)):
        rho = float(np.mean(flat[:, lag:] * flat[:, :-lag]) / max(np.mean(flat**2), 1e-300))
        if rho < 0.05:
            break
        acf_sum += rho
    ess = float(chains * n / (1.0 + 2.0 * acf_sum))
    return {"rhat": rhat, "ess": ess}


register(LatentClass())
