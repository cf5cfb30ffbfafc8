"""Helpers shared by the segment-model files: cumulative sums, lazy compilation, level summaries."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .base import SegmentSummary

__all__ = ["cumulative", "compiled", "level_summary", "prior_options", "positions"]


def cumulative(*columns: np.ndarray) -> np.ndarray:
    """``(n + 1, k)`` table of cumulative sums of the columns, first row 0."""
    x = np.column_stack(columns).astype(float)
    out = np.zeros((x.shape[0] + 1, x.shape[1]))
    np.cumsum(x, axis=0, out=out[1:])
    return np.ascontiguousarray(out)


@functools.cache
def compiled(func: Callable[..., float]) -> Any:
    """``func`` compiled as a segment function (numba imported on first use, cached on disk)."""
    from .._kernels import jit_segment_function

    return jit_segment_function(func)


def positions(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segment number and time index of every period of the segments ``[starts, ends)``,
    concatenated in order (for a segmentation: ``0 .. n-1``)."""
    lengths = ends - starts
    seg = np.repeat(np.arange(starts.size), lengths)
    offset = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
    return seg, offset + np.arange(lengths.sum())


def level_summary(n: int, starts: np.ndarray, ends: np.ndarray, mean: np.ndarray,
                  sd: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> SegmentSummary:
    """A summary for models whose level is constant within a segment (no trend).

    The ``path_*`` arrays run over the periods of the segments in order (length ``n`` for a
    segmentation of the whole series).
    """
    seg, _ = positions(starts, ends)
    return SegmentSummary(path=mean[seg], path_lower=lower[seg], path_upper=upper[seg],
                          path_sd=sd[seg], level=mean, level_sd=sd, level_lower=lower,
                          level_upper=upper, slope=np.zeros(starts.size),
                          prob_trend=np.full(starts.size, np.nan))


def prior_options(prior: dict[str, float] | None, allowed: tuple[str, ...], model: str
                  ) -> dict[str, float]:
    """Check the keys of a ``prior=`` dictionary against those the model understands."""
    from ...errors import InputError

    prior = dict(prior or {})
    unknown = sorted(set(prior) - set(allowed))
    if unknown:
        raise InputError(f"unknown prior settings {unknown} for likelihood {model!r}; "
                         f"allowed: {', '.join(allowed) if allowed else 'none'}.")
    for key, value in prior.items():
        try:
            ok = float(value) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise InputError(f"prior setting `{key}` must be a positive number; received "
                             f"{value!r}.")
    return {k: float(v) for k, v in prior.items()}
