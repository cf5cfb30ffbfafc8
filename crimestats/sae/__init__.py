"""Small-area estimation: Fay–Herriot (EBLUP and hierarchical Bayes) and its extensions.

The package is layered (see the architecture page of the documentation):

* `area_level` — the Fay–Herriot family (EBLUP, variance-component methods, MSE estimators,
  SAR, spatio-temporal, multivariate, arcsine, hierarchical Bayes, many tables);
* `glmm` — binomial and Poisson area-level models and MRP, with their families;
* `spatial` — neighbours, SAR weights, ICAR/BYM2 effects;
* `unit` — the nested-error unit-level model;
* `benchmarking`, `model_checks`, `priors`, `modes`, `results`;
* `_engine` — the private numerical engine (grids, Gaussian fields, sparse Cholesky, mixtures).
"""

from .area_level.arcsine import arcsin_fay_herriot
from .area_level.batch import fay_herriot_many
from .area_level.eblup import fay_herriot
from .area_level.mse import AnalyticMSE, BootstrapMSE
from .area_level.multivariate import multivariate_fay_herriot
from .area_level.spatiotemporal import spatio_temporal_fay_herriot
from .benchmarking import benchmark, benchmark_draws
from .glmm.poststratification import mrp
from .glmm.prevalence import logit_binomial, poisson_lognormal
from .model_checks import diagnostics, loo, posterior_predictive_check
from .modes import BYM2Effects, HierarchicalBayes, ICAREffects, SAREffects
from .priors import FlatSD, FlatVariance, HalfCauchy, HalfNormal, VariancePrior
from .results import (
    BenchmarkResult,
    BYM2Result,
    DiagnosticsResult,
    FayHerriotManyResult,
    FayHerriotResult,
    MRPResult,
    MultivariateFayHerriotResult,
    PrevalenceResult,
    SpatialFayHerriotResult,
    SpatialPrevalenceResult,
    SpatioTemporalResult,
    UnitLevelResult,
)
from .spatial.adjacency import (
    Adjacency,
    adjacency_from_geojson,
    adjacency_from_matrix,
    adjacency_from_pairs,
    adjacency_from_points,
    adjacency_from_polygons,
    as_adjacency,
    row_standardise,
)
from .spatial.hb import bym2, simulate_bym2_effects
from .unit.nested_error import unit_level

__all__ = [
    "fay_herriot",
    "FayHerriotResult",
    "fay_herriot_many",
    "FayHerriotManyResult",
    "HierarchicalBayes",
    "AnalyticMSE",
    "BootstrapMSE",
    "VariancePrior",
    "FlatVariance",
    "FlatSD",
    "HalfCauchy",
    "HalfNormal",
    "benchmark",
    "benchmark_draws",
    "BenchmarkResult",
    "diagnostics",
    "loo",
    "posterior_predictive_check",
    "DiagnosticsResult",
    "logit_binomial",
    "poisson_lognormal",
    "arcsin_fay_herriot",
    "PrevalenceResult",
    "SpatialPrevalenceResult",
    "BYM2Effects",
    "ICAREffects",
    "mrp",
    "MRPResult",
    "multivariate_fay_herriot",
    "MultivariateFayHerriotResult",
    "Adjacency",
    "adjacency_from_pairs",
    "adjacency_from_matrix",
    "adjacency_from_geojson",
    "adjacency_from_polygons",
    "adjacency_from_points",
    "as_adjacency",
    "row_standardise",
    "SAREffects",
    "SpatialFayHerriotResult",
    "unit_level",
    "UnitLevelResult",
    "spatio_temporal_fay_herriot",
    "SpatioTemporalResult",
    "bym2",
    "BYM2Result",
    "simulate_bym2_effects",
]
