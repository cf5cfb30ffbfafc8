"""Input checks shared by the area-level binomial and Poisson models (and the arcsine model).

Every per-area input is aligned to the area labels once ([`area_inputs`][area_inputs]); direct
prevalences and sample sizes, design effects and the covariate design are checked here and
named in the errors.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ... import _validate as v
from ...errors import InputError
from ..area_level.inputs import design_matrix

__all__ = ["AreaInputs", "area_inputs", "covariate_design", "design_effect_of",
           "proportion_inputs"]


def covariate_design(covariates: Any, m: int, intercept: bool, labels: np.ndarray | None
                     ) -> tuple[np.ndarray, tuple[str, ...]]:
    """The (m, p) design and its column names, encoded as `fay_herriot` encodes them."""
    return design_matrix(covariates, m, intercept, None, labels)


@dataclasses.dataclass(frozen=True)
class AreaInputs:
    """Per-area inputs aligned to the area labels (see `crimestats._validate.row_labels`)."""

    rows: v.RowLabels
    values: dict[str, Any]

    @property
    def labels(self) -> np.ndarray:
        return self.rows.values

    @property
    def shown(self) -> np.ndarray | None:
        return self.rows.shown


def area_inputs(inputs: dict[str, Any], areas: Any) -> AreaInputs:
    """Align every per-area input to the area labels (by label when labelled)."""
    rows = v.row_labels(inputs, areas)
    if len(rows.values) == 0:
        raise InputError(f"`{rows.reference}` is empty; at least one area is needed.")
    return AreaInputs(rows, {name: rows.align(value, name) for name, value in inputs.items()})


def proportion_inputs(direct: Any, sample_size: Any, shown: np.ndarray | None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked direct proportions and sample sizes: ``(p_hat, n, in_sample)``.

    An area is in sample when it has both a direct estimate and a positive sample size;
    sample sizes are counts of respondents (whole numbers).
    """
    p_hat = v.as_float_array(direct, "direct", allow_nan=True, labels=shown)
    m = p_hat.shape[0]
    n = v.as_float_array(sample_size, "sample_size", allow_nan=True, labels=shown)
    v.check_length(n, m, "sample_size", "direct")
    v.check_counts(n, "sample_size", shown, noun="area")
    v.check_range(n, "sample_size", largest=1e9, labels=shown,
                  unit=" (a sample size counts respondents)")
    with np.errstate(invalid="ignore"):
        outside = (p_hat < 0) | (p_hat > 1)
    if outside.any():
        raise InputError(f"`direct` must hold proportions in [0, 1]; "
                         f"{v.describe_rows(np.flatnonzero(outside), shown)} are outside. "
                         "Divide percentages by 100.")
    in_sample = np.isfinite(p_hat) & np.isfinite(n) & (n > 0)
    odd = np.isfinite(p_hat) != (np.isfinite(n) & (n > 0))
    if odd.any():
        raise InputError(f"{v.describe_rows(np.flatnonzero(odd), shown)} ha"
                         f"{'s' if odd.sum() == 1 else 've'} a direct estimate but no sample "
                         "size (or the reverse); give both, or NaN/0 for areas with no sample.")
    return p_hat, n, in_sample


def design_effect_of(design_effect: Any, m: int, labels: np.ndarray | None) -> np.ndarray:
    """Checked design effects: one per area (a single number applies to all)."""
    if np.ndim(design_effect) == 0 and not isinstance(design_effect, (pd.Series, pd.DataFrame)):
        deff = np.full(m, v.as_float_array([design_effect], "design_effect")[0])
    else:
        deff = v.as_float_array(design_effect, "design_effect", labels=labels)
    v.check_length(deff, m, "design_effect", "direct")
    v.check_positive(deff, "design_effect", labels)
    v.check_range(deff, "design_effect", smallest=1e-100, labels=labels)
    return deff
