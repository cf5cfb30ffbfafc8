"""Named bad and awkward inputs of `crimestats.survey`, and the result contract of its outputs
(issue 13: ``direct_estimates`` and ``smooth_variances`` returned bare datasets whose
``to_netcdf()`` failed and whose ``to_dict()`` was not strict JSON)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from input_harness import outcome

from crimestats.datasets import simulate_survey
from crimestats.results import Result
from crimestats.survey import SurveyEstimates, direct_estimates, smooth_variances

SIM = simulate_survey(n_areas=12, n_periods=2, random_seed=3)
ARGS = {"y": "victim", "area": "area", "weight": "weight", "strata": "stratum", "psu": "psu"}


def _with(column, row, value):
    frame = SIM.respondents.copy()
    frame[column] = frame[column].astype(object)
    frame.loc[frame.index[row], column] = value
    return frame


CASES = [
    ("outcome_text", lambda: direct_estimates(_with("victim", 3, "yes"), **ARGS),
     "input_error", "hold text"),
    ("outcome_nan", lambda: direct_estimates(_with("victim", 3, np.nan), **ARGS),
     "input_error", "missing values"),
    ("outcome_inf", lambda: direct_estimates(_with("victim", 3, np.inf), **ARGS),
     "input_error", "infinite"),
    ("outcome_1e300", lambda: direct_estimates(SIM.respondents.assign(victim=1e300), **ARGS),
     "crimestats_error", "respondent"),
    ("weight_zero", lambda: direct_estimates(_with("weight", 3, 0.0), **ARGS), "input_error",
     "must be positive"),
    ("area_missing", lambda: direct_estimates(_with("area", 3, None), **ARGS), "input_error",
     "missing values"),
    ("no_rows", lambda: direct_estimates(SIM.respondents.iloc[:0], **ARGS), "input_error",
     "no rows"),
    ("column_missing", lambda: direct_estimates(SIM.respondents, **{**ARGS, "y": "vict"}),
     "input_error", "no column"),
    ("smooth_dataframe", lambda: smooth_variances(pd.DataFrame(
        {"estimate": [1.0], "variance": [1.0], "n": [1], "flag": ["ok"]})),
     "input_error", "direct_estimates"),
    ("smooth_none", lambda: smooth_variances(None), "input_error", "NoneType"),
    ("smooth_min_n_text", lambda: smooth_variances(
        direct_estimates(SIM.respondents, **ARGS), min_n="5"), "input_error", "`min_n`"),
]


@pytest.mark.parametrize(("call", "kind", "pattern"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_named_case(call, kind, pattern):
    out = outcome(call)
    assert out.kind == kind, out.detail
    assert pattern in out.detail


@pytest.mark.parametrize("period", [None, "period"])
def test_survey_results_are_results_that_serialise(period, tmp_path):
    est = direct_estimates(SIM.respondents, **ARGS, period=period, areas=[*SIM.areas["area"],
                                                                          "Z99"])
    for result in (est, smooth_variances(est, min_n=2)):
        assert isinstance(result, Result) and isinstance(result, SurveyEstimates)
        json.dumps(result.to_dict(), allow_nan=False)
        assert result.to_dict()["estimates"]["attrs"]["fpc"] is False
        path = tmp_path / "est.nc"
        result.to_netcdf(path)
        with xr.open_dataset(path, engine="h5netcdf") as back:
            assert back["area"].dtype.kind == "U" and back["flag"].dtype.kind == "U"
            assert back["area"].values.tolist() == result.estimates["area"].values.tolist()
            xr.testing.assert_allclose(back["estimate"], result.estimates["estimate"])
        assert "Direct estimates" in result.summary()
    # the dataset these functions used to return is still one subscript away
    assert est["estimate"].identical(est.estimates["estimate"]) and "flag" in est


def test_smooth_variances_still_takes_the_dataset():
    est = direct_estimates(SIM.respondents, **ARGS)
    a, b = smooth_variances(est), smooth_variances(est.estimates)
    xr.testing.assert_identical(a.estimates, b.estimates)
