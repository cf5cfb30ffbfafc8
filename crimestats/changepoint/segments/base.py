"""The contract of a segment model, and the registry the option lists are read from.

A *segment model* says how the data in one segment are distributed and what changes at a
change point. Every search and recursion (exact Bayes, PELT) works with every segment model
through this small contract (the idea of `ruptures`: costs × searches):

* [`SegmentModel.prepare`][crimestats.changepoint.segments.base.SegmentModel.prepare] turns a
  series into one or more [`Prepared`][crimestats.changepoint.segments.base.Prepared] nodes: the
  table of statistics the compiled kernels read, the hyperparameters, and a prior weight
  (several nodes when a hyperparameter, such as the autocorrelation of the errors or the
  negative binomial size, is integrated over a grid);
* two compiled functions, ``logml(prm, st, s, t)`` (the segment's log marginal likelihood) and
  ``cost(prm, st, s, t)`` (twice its negative maximised log-likelihood, for PELT);
* [`SegmentModel.describe`][crimestats.changepoint.segments.base.SegmentModel.describe]: the
  posterior of the mean path inside given segments (for the results).

A new model is one file defining a subclass and one call to
[`register`][crimestats.changepoint.segments.base.register]; `detect`, `detect_many`, the CLI and
its JSON schema read their option lists from the registry.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

import numpy as np

from ...errors import InputError

__all__ = ["Prepared", "SegmentSummary", "SegmentModel", "register", "get_model",
           "model_names"]


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A segment model fitted to the scale of one series, at one hyperparameter node.

    Attributes
    ----------
    stats : numpy.ndarray
        ``(n + 1, k)`` float table read by the model's compiled functions.
    params : numpy.ndarray
        Hyperparameters read by the compiled functions.
    log_weight : float
        Log prior weight of this node (0 for a model without a hyperparameter grid).
    info : dict
        The node's hyperparameters, for reporting (e.g. ``{"ar": 0.6}``).
    """

    stats: np.ndarray
    params: np.ndarray
    log_weight: float = 0.0
    info: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class SegmentSummary:
    """Posterior of the mean path inside given segments, on the data's scale.

    ``path_*`` are per time (length ``n``): the posterior estimate of the expected value
    (rate per unit exposure for counts) and its interval. ``level``/``level_sd``/
    ``level_lower``/``level_upper`` are per segment: the segment's average level. ``slope``
    (per segment) is the trend within the segment — relative change per period for counts
    and positive values, units per period for real values; 0 for models without a trend — and
    ``prob_trend`` the posterior probability that the segment changes the series' trend (NaN
    for models without a trend).
    """

    path: np.ndarray
    path_lower: np.ndarray
    path_upper: np.ndarray
    path_sd: np.ndarray
    level: np.ndarray
    level_sd: np.ndarray
    level_lower: np.ndarray
    level_upper: np.ndarray
    slope: np.ndarray
    prob_trend: np.ndarray


class SegmentModel(abc.ABC):
    """Base class of the segment models (see the module notes for the contract).

    Class attributes
    ----------------
    name : str
        The option value (``likelihood="name"``).
    data : {"counts", "positive", "real"}
        What the model takes: non-negative whole numbers (with an optional exposure), positive
        values, or any real values.
    changes : str
        What changes at a change point, in words (for the docs and the CLI help).
    diffparam : int
        Number of parameters that change at a change point (for the BIC/MBIC penalties).
    max_count : float
        Count models: the largest count the likelihood is computed accurately for (larger
        counts raise `EstimationError`); default unlimited.
    """

    name: ClassVar[str]
    data: ClassVar[str]
    changes: ClassVar[str]
    diffparam: ClassVar[int]
    max_count: ClassVar[float] = float("inf")

    @property
    @abc.abstractmethod
    def logml(self) -> Any:
        """Compiled ``logml(prm, st, s, t)``."""

    @property
    @abc.abstractmethod
    def cost(self) -> Any:
        """Compiled ``cost(prm, st, s, t)`` for PELT."""

    @abc.abstractmethod
    def prepare(self, y: np.ndarray, exposure: np.ndarray, *,
                prior: dict[str, float] | None = None, **options: Any) -> list[Prepared]:
        """Fit the model to the scale of ``y`` (NaN where unobserved); one node or a grid."""

    @abc.abstractmethod
    def describe(self, node: Prepared, y: np.ndarray, exposure: np.ndarray,
                 starts: np.ndarray, ends: np.ndarray, level: float) -> SegmentSummary:
        """Posterior of the mean path in the segments ``[starts[j], ends[j])``."""

    def options(self) -> dict[str, Any]:
        """Model options a caller may pass to :meth:`prepare` (name → default)."""
        return {}


_REGISTRY: dict[str, SegmentModel] = {}


def register(model: SegmentModel) -> SegmentModel:
    """Add a segment model to the registry under ``model.name``.

    Examples
    --------
    >>> from crimestats.changepoint.segments import get_model, model_names
    >>> "poisson" in model_names(), get_model("poisson").data
    (True, 'counts')
    """
    if model.name in _REGISTRY:
        raise ValueError(f"a segment model named {model.name!r} is already registered")
    _REGISTRY[model.name] = model
    return model


def get_model(name: str) -> SegmentModel:
    """The registered segment model called ``name`` (case-insensitive)."""
    key = name.lower() if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise InputError(f"`likelihood` must be 'auto' or one of {model_names()}; received "
                         f"{name!r}.")
    return _REGISTRY[key]


def model_names(data: str | None = None) -> tuple[str, ...]:
    """Names of the registered models (optionally only those taking ``data``)."""
    return tuple(k for k, m in _REGISTRY.items() if data is None or m.data == data)
