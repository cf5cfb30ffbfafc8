"""A generic harness for "nothing silently wrong": specs of public functions, valid and invalid
inputs, and one classification of what a call did.

Used by the property-based suites (``tests/test_properties_*.py``), the table-driven batteries
(``tests/test_battery_*.py``) and the standalone ``benchmarks/input_battery.py``.

How a call is judged ([`outcome`][outcome]):

* ``"ok"``: a result whose promised numbers are all finite;
* ``"warned"``: a result with non-finite promised numbers *and* a crimestats warning saying why;
* ``"input_error"``: a [`crimestats.InputError`][crimestats.InputError];
* ``"crimestats_error"``: any other crimestats error (e.g. ``EstimationError``);
* ``"generic"``: any other exception (numpy, scipy, pandas ...): always a bug;
* ``"silent_nan"``: a result with NaN/inf where a number is promised and no warning;
* ``"silent_wrong"``: a result that contradicts what the case expects (e.g. labelled inputs
  paired by position, or a result that is not a ``Result`` / not JSON-able).

Extending it to another package (hidden, changepoint, compare)
---------------------------------------------------------------
1. Write a [`Spec`][Spec] per public function (or per variant, e.g. one per ``method``):
   ``make(m, rng)`` returns valid keyword arguments for ``m`` units, ``arrays`` names the
   per-unit array arguments and what they hold (a key of [`KINDS`][KINDS]), ``areas`` names the
   argument that labels the units (or None), ``promised`` the result variables (in
   ``result.estimates``) and ``scalars`` the result attributes that must be finite.
2. Return them from a function like [`specs`][specs] (which holds the sae and survey ones)
   and parametrise a ``tests/test_properties_<package>.py`` over it, as
   ``test_properties_sae.py`` does: [`valid_kwargs`][valid_kwargs] is the hypothesis strategy
   of valid inputs, [`invalid_kwargs`][invalid_kwargs] that of inputs with one invalid value
   (from [`INVALID`][INVALID]; each must raise ``InputError``), [`labelled_case`][labelled_case]
   the shuffled-labels check. [`AWKWARD`][AWKWARD] holds the valid but extreme values (any
   outcome but ``generic``, ``silent_nan`` and ``silent_wrong``).
3. Add the function to ``SPEC_SOURCES`` in ``benchmarks/input_battery.py``: the battery then
   runs every mutation of every array argument of the new specs in its own process.
4. Named cases that need their own check go in a ``tests/test_battery_<package>.py`` table
   of ``(name, call, expected outcome, message pattern)``, judged by [`outcome`][outcome];
   as [`Named`][Named] rows (with a time limit per call) returned by the module's
   ``cases()``, they also run in ``benchmarks/input_battery.py --tables`` (list the module in
   its ``TABLES``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from crimestats.errors import CrimestatsError, CrimestatsWarning, InputError
from crimestats.results import Result

Kwargs = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Outcome of one call
# --------------------------------------------------------------------------------------------

BAD = ("generic", "silent_nan", "silent_wrong", "hang")


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a call did: ``kind`` (see the module notes) and a one-line ``detail``."""

    kind: str
    detail: str = ""
    result: Any = None


def nonfinite(result: Any, promised: tuple[str, ...], scalars: tuple[str, ...]) -> list[str]:
    """Names of the promised numbers of ``result`` that are NaN or infinite."""
    bad = []
    ds = getattr(result, "estimates", None)
    if isinstance(ds, xr.Dataset):
        for name in promised:
            if name in ds and ds[name].dtype.kind in "fc":
                values = ds[name].values
                if not np.isfinite(values).all():
                    bad.append(f"{name} ({int((~np.isfinite(values)).sum())} of {values.size})")
    for name in scalars:
        value = getattr(result, name, None)
        if value is None:
            continue
        arr = np.asarray(value, dtype=float)
        if not np.isfinite(arr).all():
            bad.append(name)
    return bad


def outcome(call: Callable[[], Any], *, promised: tuple[str, ...] = (),
            scalars: tuple[str, ...] = (),
            check: Callable[[Any], str | None] | None = None,
            contract: bool = True) -> Outcome:
    """Run ``call()`` and classify what it did (see the module notes); ``contract=False`` for
    helpers that do not return a ``Result`` (calendars, periods, tables)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except InputError as exc:
            return Outcome("input_error", _one_line(exc))
        except CrimestatsError as exc:
            return Outcome("crimestats_error", f"{type(exc).__name__}: {_one_line(exc)}")
        except Exception as exc:  # noqa: BLE001 - classifying is the point
            return Outcome("generic", f"{type(exc).__name__}: {_one_line(exc)}")
    warned = [w for w in caught if issubclass(w.category, CrimestatsWarning)]
    bad = nonfinite(result, promised, scalars)
    if bad:
        if not warned:
            return Outcome("silent_nan", "non-finite " + ", ".join(bad), result)
        if getattr(result, "converged", False) is True and any(
                s in " ".join(bad) for s in ("sigma2_u", "beta")):
            return Outcome("silent_wrong", "converged=True with non-finite "
                           + ", ".join(bad), result)
        return Outcome("warned", "; ".join(_one_line(w.message) for w in warned)[:200], result)
    problem = result_problem(result) if contract else None
    if problem is None and check is not None:
        problem = check(result)
    if problem is not None:
        return Outcome("silent_wrong", problem, result)
    return Outcome("ok", "", result)


def result_problem(result: Any) -> str | None:
    """Why ``result`` breaks the result contract (a ``Result`` whose dict is strict JSON)."""
    if not isinstance(result, Result):
        return None if isinstance(result, (tuple, dict, np.ndarray)) else \
            f"returned {type(result).__name__}, not a crimestats Result"
    try:
        json.dumps(result.to_dict(), allow_nan=False)
    except (TypeError, ValueError) as exc:
        return f"to_dict() is not strict JSON: {exc}"
    return None


def _one_line(message: Any) -> str:
    return " ".join(str(message).split())[:300]


# --------------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Kind:
    """What a per-unit array holds: how to draw valid values and what is invalid for it."""

    name: str
    low: float
    high: float
    integer: bool = False
    strict_low: bool = False     # the lower bound itself is invalid (e.g. variances > 0)
    nan_ok: bool = False         # NaN is a documented value (e.g. "no sample")


KINDS = {
    "real": Kind("real", -math.inf, math.inf),
    "real_or_missing": Kind("real_or_missing", -math.inf, math.inf, nan_ok=True),
    "positive": Kind("positive", 0.0, math.inf, strict_low=True),
    "variance_or_missing": Kind("variance_or_missing", 0.0, math.inf, strict_low=True,
                                nan_ok=True),
    "count": Kind("count", 0.0, math.inf, integer=True),
    "count_or_missing": Kind("count_or_missing", 0.0, math.inf, integer=True, nan_ok=True),
    "amount_or_missing": Kind("amount_or_missing", 0.0, math.inf, nan_ok=True),
    "proportion": Kind("proportion", 0.0, 1.0, nan_ok=True),
    "weight": Kind("weight", 0.0, math.inf),
}


@dataclasses.dataclass(frozen=True)
class Spec:
    """A public function under test (see the module notes)."""

    name: str
    function: Callable[..., Any]
    make: Callable[[int, np.random.Generator], Kwargs]
    arrays: Mapping[str, str]
    areas: str | None = "areas"
    min_m: int = 6
    max_m: int = 12
    promised: tuple[str, ...] = ("estimate", "rmse", "sd", "mse", "lower", "upper")
    scalars: tuple[str, ...] = ()
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    columns: tuple[str, ...] = ()   # 2-D arguments whose columns are the units (e.g. draws)
    slow: bool = False              # seconds per fit: the quick label property skips it

    def call(self, kwargs: Kwargs) -> Any:
        return self.function(**self.options, **kwargs)

    def run(self, kwargs: Kwargs, check: Callable[[Any], str | None] | None = None) -> Outcome:
        return outcome(lambda: self.call(kwargs), promised=self.promised,
                       scalars=self.scalars, check=check)


# --------------------------------------------------------------------------------------------
# Valid inputs of the sae and survey functions
# --------------------------------------------------------------------------------------------


def _fh_inputs(m: int, rng: np.random.Generator) -> Kwargs:
    x = rng.normal(size=m)
    d = rng.uniform(0.5, 2.0, m)
    y = 1.0 + 0.5 * x + rng.normal(0.0, 1.0, m) + rng.normal(0.0, np.sqrt(d))
    return {"direct": y, "variance": d, "covariates": x}


def _ring(m: int) -> list[tuple[int, int]]:
    return [(i, (i + 1) % m) for i in range(m)] + [(i, (i + 2) % m) for i in range(0, m, 3)]


def _fh_spatial_inputs(m: int, rng: np.random.Generator) -> Kwargs:
    return {**_fh_inputs(m, rng), "proximity": _ring(m)}


def _bym2_inputs(m: int, rng: np.random.Generator) -> Kwargs:
    return {**_fh_inputs(m, rng), "adjacency": _ring(m)}


def _proportions(m: int, rng: np.random.Generator) -> Kwargs:
    n = rng.integers(30, 300, m).astype(float)
    x = rng.normal(size=m)
    p = rng.binomial(n.astype(int), 1 / (1 + np.exp(2.5 - 0.3 * x))) / n
    return {"direct": p, "sample_size": n, "covariates": x}


def _counts(m: int, rng: np.random.Generator) -> Kwargs:
    exposure = rng.uniform(1_000, 10_000, m)
    x = rng.normal(size=m)
    counts = rng.poisson(exposure * 0.005 * np.exp(0.3 * x)).astype(float)
    return {"counts": counts, "exposure": exposure, "covariates": x}


def _benchmark_inputs(m: int, rng: np.random.Generator) -> Kwargs:
    return {"estimates": rng.uniform(0.05, 0.3, m), "target": 0.2,
            "weights": rng.uniform(0.5, 2.0, m), "mse": rng.uniform(1e-4, 1e-3, m)}


def _draws_inputs(m: int, rng: np.random.Generator) -> Kwargs:
    centre = rng.uniform(0.05, 0.3, m)
    return {"draws": centre + rng.normal(0.0, 0.02, (200, m)), "target": 0.2,
            "weights": rng.uniform(0.5, 2.0, m)}


def _multivariate_inputs(m: int, rng: np.random.Generator) -> Kwargs:
    u = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.6], [0.6, 1.0]], m)
    return {"direct": np.array([5.0, 3.0]) + u + rng.normal(0.0, 0.7, (m, 2)),
            "variance": rng.uniform(0.3, 0.7, (m, 2))}


def _spatio_temporal_inputs(m: int, rng: np.random.Generator) -> Kwargs:
    periods = 3
    area = np.repeat(np.arange(m), periods)
    period = np.tile(np.arange(2019, 2019 + periods), m)
    x = rng.normal(size=m * periods)
    d = rng.uniform(0.05, 0.2, m * periods)
    y = 1.0 + 0.5 * x + rng.normal(0.0, 0.4, m)[area] + rng.normal(0.0, np.sqrt(d))
    return {"direct": y, "variance": d, "covariates": x, "area": area, "period": period,
            "proximity": _ring(m)}


def _unit_inputs(m: int, rng: np.random.Generator) -> Kwargs:
    sizes = rng.integers(3, 8, m)
    domain = np.repeat(np.arange(m), sizes)
    x = rng.normal(size=domain.size)
    y = 1.0 + 2.0 * x + rng.normal(0.0, 0.5, m)[domain] + rng.normal(size=domain.size)
    labels = np.arange(m)
    return {"y": y, "covariates": pd.DataFrame({"x": x}), "domain": domain,
            "population_means": pd.DataFrame({"x": rng.normal(0.0, 0.3, m)}, index=labels),
            "population_sizes": pd.Series(rng.integers(50, 500, m), index=labels)}


def _import_sae() -> Any:
    import crimestats.sae as sae

    return sae


def _sae_specs() -> list[Spec]:
    sae = _import_sae()
    fh_arrays = {"direct": "real_or_missing", "variance": "variance_or_missing",
                 "covariates": "real"}
    fh_scalars = ("sigma2_u", "beta", "beta_se")
    specs = [
        Spec(f"sae.fay_herriot[{method}]", sae.fay_herriot, _fh_inputs, fh_arrays,
             scalars=fh_scalars, options={"method": method}, min_m=5)
        for method in ("reml", "ml", "fh")
    ]
    specs += [
        Spec("sae.fay_herriot[hb]", sae.fay_herriot, _fh_inputs, fh_arrays, scalars=fh_scalars,
             options={"method": "hb", "draws": 0}, min_m=5),
        Spec("sae.fay_herriot[spatial]", sae.fay_herriot, _fh_spatial_inputs, fh_arrays,
             scalars=fh_scalars, min_m=6),
        Spec("sae.bym2", sae.bym2, _bym2_inputs, fh_arrays, scalars=fh_scalars, min_m=6),
        Spec("sae.logit_binomial", sae.logit_binomial, _proportions,
             {"direct": "proportion", "sample_size": "count_or_missing", "covariates": "real"},
             scalars=("sigma2_u", "beta")),
        Spec("sae.logit_binomial[bym2]", sae.logit_binomial,
             lambda m, rng: {**_proportions(m, rng), "adjacency": _ring(m)},
             {"direct": "proportion", "sample_size": "count_or_missing", "covariates": "real"},
             scalars=("sigma2_u", "beta"), min_m=8, slow=True),
        Spec("sae.poisson_lognormal[bym2]", sae.poisson_lognormal,
             lambda m, rng: {**_counts(m, rng), "adjacency": _ring(m)},
             {"counts": "amount_or_missing", "exposure": "positive", "covariates": "real"},
             scalars=("sigma2_u", "beta"), min_m=8, slow=True),
        Spec("sae.arcsin_fay_herriot", sae.arcsin_fay_herriot, _proportions,
             {"direct": "proportion", "sample_size": "count_or_missing", "covariates": "real"},
             scalars=("sigma2_u", "beta")),
        Spec("sae.poisson_lognormal", sae.poisson_lognormal, _counts,
             {"counts": "amount_or_missing", "exposure": "positive", "covariates": "real"},
             scalars=("sigma2_u", "beta")),
        Spec("sae.benchmark", sae.benchmark, _benchmark_inputs,
             {"estimates": "real", "weights": "weight", "mse": "weight"}),
        Spec("sae.benchmark_draws", sae.benchmark_draws, _draws_inputs, {"weights": "weight"},
             columns=("draws",)),
        Spec("sae.multivariate_fay_herriot", sae.multivariate_fay_herriot,
             _multivariate_inputs, {"direct": "real", "variance": "positive"}, min_m=8,
             scalars=("sigma_u", "beta")),
        Spec("sae.spatio_temporal_fay_herriot", sae.spatio_temporal_fay_herriot,
             _spatio_temporal_inputs, {"direct": "real_or_missing",
                                       "variance": "variance_or_missing", "covariates": "real"},
             areas=None, min_m=6, max_m=8, scalars=("beta",)),
        Spec("sae.unit_level", sae.unit_level, _unit_inputs, {"y": "real"}, areas=None,
             min_m=4, scalars=("sigma2_u", "sigma2_e", "beta")),
    ]
    return specs


def _survey_data(m: int, rng: np.random.Generator) -> Kwargs:
    n = m * 12
    frame = pd.DataFrame({
        "area": np.repeat([f"A{i:02d}" for i in range(m)], 12),
        "stratum": np.tile(np.repeat([1, 2], 6), m),
        "psu": np.tile(np.repeat([1, 2, 3, 4], 3), m),
        "weight": rng.uniform(50, 150, n),
        "victim": rng.binomial(1, 0.3, n),
    })
    return {"data": frame, "y": "victim", "area": "area", "weight": "weight",
            "strata": "stratum", "psu": "psu"}


def _survey_specs() -> list[Spec]:
    from crimestats.survey import direct_estimates

    return [Spec("survey.direct_estimates", direct_estimates, _survey_data, {}, areas=None,
                 promised=(), min_m=3)]


def specs() -> list[Spec]:
    """The sae and survey specs (imported lazily so collection stays fast)."""
    return _sae_specs() + _survey_specs()


# --------------------------------------------------------------------------------------------
# Mutations: invalid inputs (must raise InputError) and awkward ones (anything but a bug)
# --------------------------------------------------------------------------------------------


def _set(values: Any, position: int, new: Any) -> Any:
    arr = np.array(values, dtype=object if isinstance(new, str) or new is None else float)
    arr[position] = new
    return arr


def _labelled(values: Any, index: list[Any]) -> pd.Series | pd.DataFrame:
    arr = np.asarray(values, dtype=float)
    return pd.Series(arr, index=index) if arr.ndim == 1 else pd.DataFrame(arr, index=index)


Mutation = Callable[[Any, Kind, np.random.Generator], Any]


def _invalid_for(kind: Kind) -> dict[str, Mutation]:
    """Mutations of one array argument that make the input invalid for its kind."""
    out: dict[str, Mutation] = {
        "inf": lambda a, k, r: _set(a, 1, np.inf),
        "minus_inf": lambda a, k, r: _set(a, 1, -np.inf),
        "text": lambda a, k, r: _set(a, 1, "n/a"),
        "one_short": lambda a, k, r: np.asarray(a)[:-1],
        "one_long": lambda a, k, r: np.concatenate([np.asarray(a), np.asarray(a)[:1]]),
        "empty": lambda a, k, r: np.asarray(a)[:0],
        "complex": lambda a, k, r: np.asarray(a, dtype=float) + 1j,
        "series_wrong_labels": lambda a, k, r: _labelled(a, [f"zz{i}" for i in range(len(a))]),
        "series_duplicated_labels": lambda a, k, r: _labelled(a, ["dup"] * len(a)),
    }
    if not kind.nan_ok:
        out["none_element"] = lambda a, k, r: _set(a, 1, None)
        out["nan"] = lambda a, k, r: _set(a, 1, np.nan)
        out["all_nan"] = lambda a, k, r: np.full(np.shape(a), np.nan)
    if kind.low == 0.0:
        out["negative"] = lambda a, k, r: _set(a, 1, -1.0)
    if kind.strict_low:
        out["zero"] = lambda a, k, r: _set(a, 1, 0.0)
    if kind.high == 1.0:
        out["above_one"] = lambda a, k, r: _set(a, 1, 1.5)
    if kind.integer:
        out["fractional"] = lambda a, k, r: _set(a, 1, 2.5)
    return out


def _awkward_for(kind: Kind) -> dict[str, Mutation]:
    """Mutations that keep the input valid but push it to extremes."""
    top = 1.0 if kind.high == 1.0 else 1e300
    out: dict[str, Mutation] = {
        "huge_one": lambda a, k, r: _set(a, 1, top),
        "huge_all": lambda a, k, r: np.full(np.shape(a), top),
        "tiny_one": lambda a, k, r: _set(a, 1, 1e-300),
        "tiny_all": lambda a, k, r: np.full(np.shape(a), 1e-300),
        "constant": lambda a, k, r: np.full(np.shape(a), np.asarray(a, dtype=float).flat[0]),
        "integers_as_text": lambda a, k, r: np.asarray(
            np.round(np.asarray(a, dtype=float)), dtype=np.int64).astype(str),
        "list": lambda a, k, r: np.asarray(a).tolist(),
        "numpy_float32": lambda a, k, r: np.asarray(a, dtype=np.float32),
        "pandas_nullable": lambda a, k, r: _labelled(a, list(range(len(a)))).astype("Float64"),
        "scaled_1e6": lambda a, k, r: np.asarray(a, dtype=float) * (1e6 if k.high > 1 else 1),
        "scaled_1e-6": lambda a, k, r: np.asarray(a, dtype=float) * (1e-6 if k.high > 1 else 1),
    }
    if kind.low < 0:
        out["huge_negative"] = lambda a, k, r: _set(a, 1, -1e300)
    if kind.low <= 0:
        out["all_zero"] = lambda a, k, r: np.zeros(np.shape(a)) if not kind.strict_low \
            else np.asarray(a)
    if kind.nan_ok:
        out["nan_one"] = lambda a, k, r: _set(a, 1, np.nan)
    return out


INVALID = {kind: _invalid_for(k) for kind, k in KINDS.items()}
AWKWARD = {kind: _awkward_for(k) for kind, k in KINDS.items()}


def is_invalid(spec: Spec, mutation: str) -> bool:
    """Whether an INVALID mutation is invalid for ``spec``: relabelling an input is only an
    error when the other inputs carry labels (areas given)."""
    return not (mutation == "series_wrong_labels" and spec.areas is None)


def mutate(spec: Spec, kwargs: Kwargs, argument: str, mutation: Mutation,
           rng: np.random.Generator) -> Kwargs:
    """``kwargs`` with one array argument mutated (NaN kept paired where the spec needs it)."""
    kind = KINDS[spec.arrays[argument]]
    new = dict(kwargs)
    new[argument] = mutation(kwargs[argument], kind, rng)
    return new


def labelled_case(spec: Spec, m: int, rng: np.random.Generator
                  ) -> tuple[Kwargs, Kwargs, list[str]]:
    """Plain inputs with ``areas=labels`` and the same inputs as Series in shuffled orders.

    The two calls must give the same estimate for every label (never paired by position).
    """
    base = spec.make(m, rng)
    labels = [f"area{i}" for i in range(m)]
    for key in ("proximity", "adjacency"):      # neighbour pairs name the areas
        if isinstance(base.get(key), list):
            base[key] = [(labels[a], labels[b]) for a, b in base[key]]
    plain = {**base, spec.areas: labels}
    shuffled = dict(base)
    for name in spec.columns:
        shuffled[name] = pd.DataFrame(np.asarray(base[name]), columns=labels).iloc[
            :, rng.permutation(m)]
    for name in spec.arrays:
        values = base[name]
        order = rng.permutation(m)
        if np.ndim(values) == 2:
            shuffled[name] = pd.DataFrame(np.asarray(values), index=labels).iloc[order]
        else:
            shuffled[name] = pd.Series(np.asarray(values), index=labels).iloc[order]
    return plain, shuffled, labels


def same_by_label(expected: Any, labels: list[str]) -> Callable[[Any], str | None]:
    """A check: the result has the expected estimate for every label."""
    want = expected.estimates["estimate"].sel(area=labels).values

    def check(result: Any) -> str | None:
        got_labels = [str(a) for a in result.estimates["area"].values]
        if sorted(got_labels) != sorted(labels):
            return f"output labels {got_labels[:4]}... are not the input labels"
        got = result.estimates["estimate"].sel(area=labels).values
        # iterative fits see the rows in another order: agreement to optimiser tolerance
        scale = float(np.nanmax(np.abs(want))) if np.isfinite(want).any() else 1.0
        if not np.allclose(got, want, rtol=1e-4, atol=1e-6 * scale, equal_nan=True):
            return "labelled inputs paired by position: estimates differ by label"
        return None

    return check


# --------------------------------------------------------------------------------------------
# Hypothesis strategies
# --------------------------------------------------------------------------------------------


def valid_kwargs(spec: Spec) -> Any:
    """Hypothesis strategy of valid keyword arguments for ``spec``.

    Varies the number of units, the data (through the seed of ``spec.make``), the scale of
    every real or positive array (powers of ten from 1e-4 to 1e4, units the caller may use),
    areas without a sample (NaN in the arrays that allow it, together) and whether the arrays
    come as plain arrays or as pandas Series labelled by area in shuffled orders.
    """
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> Kwargs:
        m = draw(st.integers(spec.min_m, spec.max_m))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        kwargs = spec.make(m, rng)
        for arg, kind_name in spec.arrays.items():
            kind = KINDS[kind_name]
            if arg not in kwargs or kwargs[arg] is None or kind.high == 1.0 or kind.integer:
                continue
            exponent = draw(st.integers(-4, 4))
            kwargs[arg] = np.asarray(kwargs[arg], dtype=float) * 10.0**exponent
        paired = [a for a, k in spec.arrays.items() if KINDS[k].nan_ok and a in kwargs]
        if paired and spec.areas is not None and m > spec.min_m:
            missing = draw(st.lists(st.integers(0, m - 1), max_size=m - spec.min_m,
                                    unique=True))
            for arg in paired:
                values = np.asarray(kwargs[arg], dtype=float).copy()
                values[missing] = np.nan
                kwargs[arg] = values
        if spec.areas is not None and draw(st.booleans()):
            labels = [f"area{i}" for i in range(m)]
            for key in ("proximity", "adjacency"):      # neighbour pairs name the areas
                if isinstance(kwargs.get(key), list):
                    kwargs[key] = [(labels[a], labels[b]) for a, b in kwargs[key]]
            for arg in spec.arrays:
                if arg in kwargs and kwargs[arg] is not None and np.ndim(kwargs[arg]) >= 1:
                    order = rng.permutation(m)
                    kwargs[arg] = _labelled(kwargs[arg], labels).iloc[order]
        return kwargs

    return build()


def invalid_kwargs(spec: Spec) -> Any:
    """Hypothesis strategy of ``(name, kwargs)``: valid inputs with one invalid mutation."""
    from hypothesis import strategies as st

    choices = [(arg, name) for arg, kind in spec.arrays.items() for name in INVALID[kind]
               if is_invalid(spec, name)]

    @st.composite
    def build(draw: Any) -> tuple[str, Kwargs]:
        m = draw(st.integers(spec.min_m, spec.max_m))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        arg, name = draw(st.sampled_from(choices))
        base = spec.make(m, rng)
        kwargs = mutate(spec, base, arg, INVALID[spec.arrays[arg]][name], rng)
        if name.startswith("series_") and spec.areas is not None:
            kwargs[spec.areas] = [f"area{i}" for i in range(m)]
        return f"{arg}:{name}", kwargs

    return build()


# --------------------------------------------------------------------------------------------
# Named cases with a time limit (changepoint, compare, calendar, datasets, fay_herriot_many)
# --------------------------------------------------------------------------------------------

#: What a named case expects: an ``InputError``, another crimestats error, a result (``ok``,
#: including results with a crimestats warning), or anything but a bug (``any``).
EXPECTS = ("input_error", "crimestats_error", "ok", "any")


class Hang(BaseException):
    """Raised inside a call that outlived its time limit (not an ``Exception``, so that no
    ``except Exception`` of the code under test swallows it)."""


def _limited(call: Callable[[], Any], seconds: float) -> Callable[[], Any]:
    """``call`` interrupted after ``seconds`` (SIGALRM; main thread only, else unlimited)."""
    import signal
    import threading

    if seconds <= 0 or threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        return call

    def run() -> Any:
        def stop(signum: int, frame: Any) -> None:
            raise Hang(f"> {seconds:g} s")

        previous = signal.signal(signal.SIGALRM, stop)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return call()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    return run


@dataclasses.dataclass(frozen=True)
class Named:
    """One named call of a table-driven battery.

    ``expect`` is one of [`EXPECTS`][EXPECTS]; ``pattern`` must occur in the error message (or
    in the warning of a ``warned`` result); ``promised`` and ``scalars`` name the numbers that
    must be finite (as in [`Spec`][Spec]); ``check`` returns why a result is wrong (e.g. paired
    by position) or None. ``seconds`` is the time limit of the call.
    """

    function: str
    name: str
    call: Callable[[], Any]
    expect: str = "input_error"
    pattern: str = ""
    promised: tuple[str, ...] = ("estimate", "lower", "upper")
    scalars: tuple[str, ...] = ()
    check: Callable[[Any], str | None] | None = None
    seconds: float = 30.0
    contract: bool = True          # the call returns a crimestats Result

    @property
    def id(self) -> str:
        return f"{self.function}:{self.name}"

    def run(self, seconds: float | None = None) -> Outcome:
        """The outcome of the call, ``hang`` past the time limit."""
        call = _limited(self.call, self.seconds if seconds is None else seconds)
        try:
            out = outcome(call, promised=self.promised, scalars=self.scalars,
                          check=self.check, contract=self.contract)
        except Hang as exc:        # raised while the outcome was being judged
            return Outcome("hang", str(exc))
        # a call that judges itself (e.g. the command line) returns its own Outcome
        return out.result if isinstance(out.result, Outcome) else out

    def column(self, out: Outcome) -> str:
        """The battery column of ``out``: an accepted invalid input is ``silent_wrong``."""
        if self.expect == "input_error" and out.kind in ("ok", "warned"):
            return "silent_wrong"
        return out.kind

    def problem(self, out: Outcome) -> str | None:
        """Why ``out`` does not meet the expectation (None when it does)."""
        column = self.column(out)
        if column in BAD:
            return f"{column}: {out.detail}"
        if self.expect == "any":
            return None
        got = "ok" if column == "warned" else column
        if got != self.expect:
            return f"expected {self.expect}, got {column}: {out.detail}"
        if self.pattern and self.pattern not in out.detail:
            return f"message lacks {self.pattern!r}: {out.detail}"
        return None


def cli_outcome(argv: list[str], as_json: bool) -> Outcome:
    """Run the command line on ``argv`` and classify it: exit 2 ``input_error``, exit 1
    ``crimestats_error``, exit 0 ``ok``; with ``--json`` stdout must be one JSON document (an
    ``error`` object on failure, no null estimate on success)."""
    from crimestats.cli import main

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    except Exception as exc:  # noqa: BLE001
        return Outcome("generic", f"{type(exc).__name__}: {exc}")
    if as_json:
        try:
            doc = json.loads(out.getvalue())
        except ValueError:
            return Outcome("silent_wrong", f"exit {code} without a JSON document on stdout")
        if code != 0 and "error" not in doc:
            return Outcome("silent_wrong", "JSON document without 'error'")
        if code != 0:
            err = io.StringIO(str(doc["error"].get("message", "")))
        if code == 0 and any(v is None for row in doc.get("estimates", [])
                             for k, v in row.items() if k in ("estimate", "rmse")):
            return Outcome("silent_nan", "exit 0 with null estimates")
    if code == 2:
        return Outcome("input_error", err.getvalue().strip()[:200])
    if code == 1:
        return Outcome("crimestats_error", err.getvalue().strip()[:200])
    return Outcome("ok")
