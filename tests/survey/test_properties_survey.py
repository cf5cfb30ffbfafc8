"""Property-based tests of `crimestats.survey`: direct estimates and smoothed variances.

* generated respondent data (areas, strata, PSUs, weights from 1e-3 to 1e6, 0/1, count or
  continuous outcomes, areas listed without respondents) give a `Result` whose estimates and
  variances are finite in every area with respondents, whose ``to_dict()`` is strict JSON and
  whose netCDF file reads back with the same area labels, or a crimestats error;
* one bad value (NaN, inf or text in the outcome or weight, a non-positive weight, a missing
  label, a missing column, no rows) raises `InputError`;
* `smooth_variances` of any such result gives finite variances for sampled areas, or a
  crimestats error.

Quick hypothesis profile by default, the long one under ``pytest -m slow``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from input_harness import BAD, outcome

from crimestats.results import Result
from crimestats.survey import direct_estimates, smooth_variances

PROFILES = ["quick", pytest.param("long", marks=pytest.mark.slow)]


@st.composite
def respondents(draw):
    """A respondent table and the keyword arguments of `direct_estimates`."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_areas = draw(st.integers(1, 8))
    n = draw(st.integers(1, 120))
    labels = [f"A{i}" for i in range(n_areas)]
    frame = pd.DataFrame({
        "area": rng.choice(labels, n),
        "stratum": rng.integers(0, draw(st.integers(1, 4)), n),
        "psu": rng.integers(0, draw(st.integers(1, 6)), n),
        "weight": rng.uniform(0.5, 2.0, n) * 10.0 ** draw(st.integers(-3, 6)),
    })
    kind = draw(st.sampled_from(["binary", "count", "continuous"]))
    frame["y"] = {"binary": lambda: rng.binomial(1, 0.3, n),
                  "count": lambda: rng.poisson(0.5, n),
                  "continuous": lambda: rng.normal(0, 10.0 ** draw(st.integers(-3, 3)), n)
                  }[kind]()
    kwargs = {"y": "y", "area": "area", "weight": "weight"}
    if draw(st.booleans()):
        kwargs.update(strata="stratum", psu="psu")
    if draw(st.booleans()):
        kwargs["areas"] = labels + ["no sample"]
    kwargs["scale"] = draw(st.sampled_from([1.0, 100.0, 1000.0]))
    return frame, kwargs


def _contract(result, tmp_path) -> str | None:
    """The result contract: a Result, strict JSON, netCDF keeps the area labels as text."""
    if not isinstance(result, Result):
        return f"returned {type(result).__name__}"
    json.dumps(result.to_dict(), allow_nan=False)
    path = tmp_path / "estimates.nc"
    result.to_netcdf(path)
    with xr.open_dataset(path, engine="h5netcdf") as back:
        got = [str(a) for a in back["area"].values]
        if back["area"].dtype.kind != "U":
            return f"area labels came back as {back['area'].dtype}"
    if got != [str(a) for a in result.estimates["area"].values]:
        return "area labels changed in the netCDF round trip"
    est = result.estimates
    sampled = est["n"].values > 0
    if not np.isfinite(est["estimate"].values[sampled]).all():
        return "non-finite estimate in a sampled area"
    return None


@pytest.mark.parametrize("profile", PROFILES)
def test_direct_estimates_of_valid_data(profile, tmp_path):
    @settings(settings.get_profile(profile))
    @given(respondents())
    def check(case):
        frame, kwargs = case
        out = outcome(lambda: direct_estimates(frame, **kwargs),
                      check=lambda r: _contract(r, tmp_path))
        assert out.kind not in BAD, out.detail
        if out.result is not None:
            smoothed = outcome(lambda: smooth_variances(out.result, min_n=2),
                               check=lambda r: _contract(r, tmp_path))
            assert smoothed.kind not in BAD, smoothed.detail

    check()


@st.composite
def broken(draw):
    frame, kwargs = draw(respondents())
    column = draw(st.sampled_from(["y", "weight", "area"]))
    how = draw(st.sampled_from(["nan", "inf", "text", "negative", "missing_column",
                                "no_rows"]))
    row = draw(st.integers(0, len(frame) - 1))
    bad = frame.copy()
    if how == "missing_column":
        bad = bad.drop(columns=[column])
    elif how == "no_rows":
        bad = bad.iloc[:0]
    else:
        if column == "area" and how != "nan":
            how = "nan"                     # any text or number is a valid area label
        if column == "y" and how == "negative":
            how = "inf"                     # negative outcomes are valid (a mean)
        value = {"nan": None if column == "area" else np.nan, "inf": np.inf,
                 "text": "n/a", "negative": -1.0}[how]
        bad[column] = bad[column].astype(object)
        bad.loc[bad.index[row], column] = value
    return f"{column}:{how}", bad, kwargs


@pytest.mark.parametrize("profile", PROFILES)
def test_direct_estimates_of_invalid_data_raise_input_error(profile):
    @settings(settings.get_profile(profile))
    @given(broken())
    def check(case):
        name, frame, kwargs = case
        out = outcome(lambda: direct_estimates(frame, **kwargs))
        assert out.kind == "input_error", f"{name}: {out.kind}: {out.detail}"

    check()
