"""Small-area estimation: Fay–Herriot (EBLUP and hierarchical Bayes) and its extensions."""

from ._results import FayHerriotResult
from .benchmarking import BenchmarkResult, benchmark, benchmark_draws
from .diagnostics import DiagnosticsResult, diagnostics, loo, posterior_predictive_check
from .fay_herriot import fay_herriot

__all__ = [
    "fay_herriot",
    "FayHerriotResult",
    "benchmark",
    "benchmark_draws",
    "BenchmarkResult",
    "diagnostics",
    "loo",
    "posterior_predictive_check",
    "DiagnosticsResult",
]
