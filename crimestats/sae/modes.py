"""Modes of the small-area models as small objects that carry their own options.

A model that can be fitted in several ways takes the way, with its options, as one object:
`fay_herriot(..., method=HierarchicalBayes(draws=2000))`,
`fay_herriot(..., spatial=SAREffects(proximity))`,
`logit_binomial(..., spatial=BYM2Effects(adjacency, prior=HalfCauchy(1.0)))`.
The options of one mode cannot then be passed to another. The older flat keywords
(``method="hb"`` with ``prior=``, ``draws=``..., ``proximity=`` with ``algorithm=``...,
``adjacency=`` with ``spatial="icar"``...) still work: they are mapped to these objects.

Examples
--------
>>> import numpy as np
>>> from crimestats.sae import HierarchicalBayes, fay_herriot
>>> direct = np.array([0.10, 0.31, 0.12, 0.36, 0.17, 0.29, 0.22])
>>> variance = np.array([0.0010, 0.0030, 0.0008, 0.0040, 0.0012, 0.0020, 0.0030])
>>> fit = fay_herriot(direct, variance, method=HierarchicalBayes(draws=0))
>>> fit.method, fit.idata is None
('hb', True)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .._options import FAY_HERRIOT
from .._validate import as_draw_count, as_positive_int
from ..errors import InputError
from .priors import VariancePrior, check_phi_prior, check_prior

__all__ = ["BYM2Effects", "HierarchicalBayes", "ICAREffects", "SAREffects"]


@dataclasses.dataclass(frozen=True)
class HierarchicalBayes:
    """The hierarchical Bayes Fay–Herriot fit (``method=`` of `fay_herriot`).

    Parameters
    ----------
    prior : VariancePrior, optional
        Prior on $\\sigma_u^2$; None is [`FlatVariance`][crimestats.sae.FlatVariance].
    draws : int
        Posterior draws kept in ``idata`` (0 keeps none).
    sampler : {"exact", "nuts"}
        Quadrature over $\\sigma_u$ with exact independent draws, or PyMC's NUTS on the
        same model (for cross-checking).
    theta_draws : bool, optional
        Whether per-area draws of $\\theta$ are stored; by default when ``draws * m`` is at
        most 10 million values.
    """

    prior: VariancePrior | None = None
    draws: int = 1000
    sampler: str = "exact"
    theta_draws: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "prior", check_prior(self.prior))
        object.__setattr__(self, "draws", as_draw_count(self.draws))
        object.__setattr__(self, "sampler", FAY_HERRIOT["sampler"].check(self.sampler))


@dataclasses.dataclass(frozen=True)
class SAREffects:
    """Spatial (SAR) area effects of the Fay–Herriot model (``spatial=`` of `fay_herriot`).

    Parameters
    ----------
    proximity : any form of [`as_adjacency`][crimestats.sae.as_adjacency]
        Neighbour structure: a row-standardised proximity matrix, a 0/1 adjacency, an
        [`Adjacency`][crimestats.sae.Adjacency], neighbour pairs or a GeoDataFrame (see
        `crimestats.sae.spatial.proximity_matrix`).
    algorithm : {"auto", "dense", "sparse"}
        Dense ``m × m`` algebra as R ``sae``, or the sparse precision form that needs no
        ``m × m`` matrix; ``"auto"`` is dense up to 500 areas.
    traces : {"auto", "exact", "monte_carlo"}
        How the sparse path computes the second-order MSE terms and the standard errors of
        $\\sigma_u^2, \\rho$ (``"auto"``: exact up to 2,000 sampled areas).
    probes : int
        Monte Carlo draws for ``traces="monte_carlo"``.
    """

    proximity: Any
    algorithm: str = "auto"
    traces: str = "auto"
    probes: int = 400

    def __post_init__(self) -> None:
        if self.proximity is None:
            raise InputError("`SAREffects` needs the neighbour structure: "
                             "SAREffects(proximity).")
        object.__setattr__(self, "algorithm", FAY_HERRIOT["algorithm"].check(self.algorithm))
        object.__setattr__(self, "traces", FAY_HERRIOT["traces"].check(self.traces))
        object.__setattr__(self, "probes", as_positive_int(self.probes, "probes"))


@dataclasses.dataclass(frozen=True)
class BYM2Effects:
    """BYM2 area effects $\\sigma(\\sqrt{1-\\phi}\\, v + \\sqrt{\\phi}\\, \\tilde u)$ of the
    binomial and Poisson models (``spatial=`` of `logit_binomial`, `poisson_lognormal`).

    Parameters
    ----------
    adjacency : Adjacency, table of neighbour pairs, matrix, GeoDataFrame or libpysal W
        Who borders whom (see [`as_adjacency`][crimestats.sae.as_adjacency]).
    prior : VariancePrior, optional
        Prior on $\\sigma$; None is [`FlatVariance`][crimestats.sae.FlatVariance].
    phi_prior : (a, b)
        Beta prior on $\\phi$.
    """

    adjacency: Any
    prior: VariancePrior | None = None
    phi_prior: tuple[float, float] = (1.0, 1.0)

    #: name of the model (``spatial=`` of the flat keywords)
    model = "bym2"

    def __post_init__(self) -> None:
        if self.adjacency is None:
            raise InputError(f"`{type(self).__name__}` needs the neighbour structure: "
                             f"{type(self).__name__}(adjacency).")
        object.__setattr__(self, "prior", check_prior(self.prior))
        object.__setattr__(self, "phi_prior", check_phi_prior(self.phi_prior, self.model))


@dataclasses.dataclass(frozen=True)
class ICAREffects(BYM2Effects):
    """Intrinsic CAR area effects $\\sigma\\tilde u$ (scaled per connected component,
    islands independent) of the binomial and Poisson models; no $\\phi$."""

    model = "icar"


def fay_herriot_mode(method: Any, *, prior: Any, draws: Any, sampler: Any, theta_draws: Any
                     ) -> tuple[str, HierarchicalBayes | None]:
    """``method=`` of `fay_herriot` and its flat HB keywords as (method name, HB options)."""
    if isinstance(method, HierarchicalBayes):
        if (prior, draws, sampler, theta_draws) != (None, 1000, "exact", None):
            raise InputError("With method=HierarchicalBayes(...), give `prior`, `draws`, "
                             "`sampler` and `theta_draws` to HierarchicalBayes.")
        return "hb", method
    name = FAY_HERRIOT["method"].check(method)
    if name == "hb":
        return name, HierarchicalBayes(prior=prior, draws=draws, sampler=sampler,
                                       theta_draws=theta_draws)
    if prior is not None:
        raise InputError(f"`prior` applies only to method='hb'; received method={name!r}.")
    if sampler != "exact" or theta_draws is not None:
        raise InputError("`sampler` and `theta_draws` apply only to method='hb'; "
                         f"received method={name!r}.")
    return name, None


def fay_herriot_spatial(spatial: Any, *, proximity: Any, algorithm: Any, traces: Any,
                        probes: Any) -> SAREffects | None:
    """``spatial=`` of `fay_herriot` and its flat keywords (``proximity=``...) as one object."""
    flat = (algorithm, traces, probes) != ("auto", "auto", 400)
    if spatial is not None:
        if not isinstance(spatial, SAREffects):
            raise InputError("`spatial` of fay_herriot must be SAREffects(proximity, ...); "
                             f"received {type(spatial).__name__}.")
        if proximity is not None or flat:
            raise InputError("With spatial=SAREffects(...), give `proximity`, `algorithm`, "
                             "`traces` and `probes` to SAREffects.")
        return spatial
    if proximity is None:
        if flat:
            raise InputError("`algorithm`, `traces` and `probes` apply only to the spatial "
                             "model (`proximity`).")
        return None
    return SAREffects(proximity, algorithm=algorithm, traces=traces, probes=probes)


def prevalence_spatial(adjacency: Any, spatial: Any, prior: Any, phi_prior: Any
                       ) -> BYM2Effects | None:
    """``spatial=`` of the binomial and Poisson models and their flat keywords as one object
    (None: independent area effects)."""
    from .._options import PREVALENCE

    if isinstance(spatial, BYM2Effects):
        given = [name for name, value in (("adjacency", adjacency), ("prior", prior),
                                          ("phi_prior", phi_prior)) if value is not None]
        if given:
            raise InputError(f"With spatial={type(spatial).__name__}(...), give "
                             f"`{'`, `'.join(given)}` to {type(spatial).__name__}.")
        return spatial
    if adjacency is None:
        given = [name for name, value in (("spatial", spatial), ("prior", prior),
                                          ("phi_prior", phi_prior)) if value is not None]
        if given:
            raise InputError(f"`{'`, `'.join(given)}` appl{'ies' if len(given) == 1 else 'y'} "
                             "only to spatial area effects: pass `adjacency=` as well (the "
                             "independent-effects model has a flat prior on sigma_u^2).")
        return None
    model = PREVALENCE["spatial"].check("bym2" if spatial is None else spatial)
    kind = BYM2Effects if model == "bym2" else ICAREffects
    return kind(adjacency, prior=prior, phi_prior=(1.0, 1.0) if phi_prior is None else phi_prior)
