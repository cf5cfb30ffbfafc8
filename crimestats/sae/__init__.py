"""Small-area estimation: Fay–Herriot (EBLUP and hierarchical Bayes) and its extensions."""

from ._results import FayHerriotResult
from ._spatial_glmm import SpatialPrevalenceResult
from .adjacency import (
    Adjacency,
    adjacency_from_geojson,
    adjacency_from_matrix,
    adjacency_from_pairs,
    adjacency_from_points,
    adjacency_from_polygons,
    as_adjacency,
    row_standardise,
)
from .batch import FayHerriotManyResult, fay_herriot_many
from .benchmarking import BenchmarkResult, benchmark, benchmark_draws
from .bym2 import BYM2Result, bym2, simulate_bym2_effects
from .diagnostics import DiagnosticsResult, diagnostics, loo, posterior_predictive_check
from .fay_herriot import fay_herriot
from .mrp import MRPResult, mrp
from .multivariate import MultivariateFayHerriotResult, multivariate_fay_herriot
from .prevalence import PrevalenceResult, arcsin_fay_herriot, logit_binomial, poisson_lognormal
from .priors import FlatSD, FlatVariance, HalfCauchy, HalfNormal, VariancePrior
from .spatial import SpatialFayHerriotResult
from .spatiotemporal import SpatioTemporalResult, spatio_temporal_fay_herriot
from .unit_level import UnitLevelResult, unit_level

__all__ = [
    "fay_herriot",
    "FayHerriotResult",
    "fay_herriot_many",
    "FayHerriotManyResult",
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
    "SpatialFayHerriotResult",
    "unit_level",
    "UnitLevelResult",
    "spatio_temporal_fay_herriot",
    "SpatioTemporalResult",
    "bym2",
    "BYM2Result",
    "simulate_bym2_effects",
]
