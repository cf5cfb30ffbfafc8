"""Every result class of the package round-trips: to_dict, JSON, netCDF, to_dataframe.

The result classes are discovered (every subclass of `crimestats.results.Result` in the
package); each needs a small real fit below, so a new result class without one fails
`test_every_result_class_has_a_fit`.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import crimestats
from crimestats.results import Result


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


def _result_classes() -> set[str]:
    for info in pkgutil.walk_packages(crimestats.__path__, "crimestats."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    return {cls.__name__ for cls in _subclasses(Result)}


_GRID = [(r * 4 + c, r * 4 + c + 1) for r in range(4) for c in range(3)]
_GRID += [(r * 4 + c, (r + 1) * 4 + c) for r in range(3) for c in range(4)]
_DIRECT = np.array([0.10, 0.31, 0.12, 0.36, 0.17, 0.29, 0.22, np.nan])
_VARIANCE = np.array([0.0010, 0.0030, 0.0008, 0.0040, 0.0012, 0.0020, 0.0030, np.nan])


def _fay_herriot() -> Result:
    from crimestats.sae import fay_herriot

    return fay_herriot(_DIRECT, _VARIANCE, np.linspace(0, 1, 8)[:, None])


def _spatial() -> Result:
    from crimestats.sae import SAREffects, fay_herriot

    direct = 5 + np.random.default_rng(0).normal(size=16)
    return fay_herriot(direct, np.full(16, 0.5), spatial=SAREffects(_GRID))


def _bym2() -> Result:
    from crimestats.sae import bym2

    direct = 1 + 0.1 * np.arange(16.0) + np.random.default_rng(1).normal(scale=0.2, size=16)
    return bym2(direct, np.full(16, 0.05), adjacency=_GRID, draws=50, random_seed=1)


def _spatio_temporal() -> Result:
    from crimestats.sae import spatio_temporal_fay_herriot

    area, year = np.repeat(np.arange(16), 3), np.tile([2019, 2020, 2021], 16)
    direct = 1 + np.random.default_rng(0).normal(size=48)
    return spatio_temporal_fay_herriot(direct, np.full(48, 0.04), area=area, period=year,
                                       proximity=_GRID)


def _multivariate() -> Result:
    from crimestats.sae import multivariate_fay_herriot

    rng = np.random.default_rng(2)
    u = rng.multivariate_normal([0, 0], [[1.0, 0.8], [0.8, 1.0]], 30)
    y = np.array([10.0, 6.0]) + u + rng.normal(0, 1.0, (30, 2))
    return multivariate_fay_herriot(y, np.ones((30, 2)), crime_types=["burglary", "vehicle"])


def _prevalence() -> Result:
    from crimestats.sae import logit_binomial

    n = np.array([400, 150, 60, 300, 200, 500, 90, 0])
    return logit_binomial(np.array([0.02, 0.05, 0.0, 0.08, 0.04, 0.03, 0.06, np.nan]), n)


def _spatial_prevalence() -> Result:
    from crimestats.sae import ICAREffects, poisson_lognormal

    counts = np.array([3.0, 5, 9, 7, 12, 20, 14, 25, 11, 6, 8, 13, 4, 9, 16, 10])
    return poisson_lognormal(counts, np.full(16, 1000.0), per=1000,
                             spatial=ICAREffects(_GRID))


def _mrp() -> Result:
    from crimestats.sae import mrp

    rng = np.random.default_rng(1)
    ages = np.array(["16-34", "35-59", "60+"])
    people = pd.DataFrame({"area": rng.choice(list("ABCDE"), 300), "age": rng.choice(ages, 300)})
    people["victim"] = rng.binomial(1, 0.1 + 0.05 * (people["age"] == "16-34"))
    cells = pd.DataFrame([(a, b, 500) for a in "ABCDEF" for b in ages],
                         columns=["area", "age", "population"])
    return mrp(people, cells, outcome="victim", area="area", covariates=["age"],
               population="population")


def _unit_level() -> Result:
    from crimestats.sae import unit_level

    rng = np.random.default_rng(2)
    dom = np.repeat(list("abcdef"), [2, 3, 4, 5, 6, 8])
    x = rng.normal(size=dom.size)
    y = 1 + 2 * x + rng.normal(size=dom.size)
    means = pd.DataFrame({"x": np.zeros(7)}, index=list("abcdefg"))
    return unit_level(y, pd.DataFrame({"x": x}), dom, means, pd.Series(50, index=list("abcdefg")))


def _benchmark() -> Result:
    from crimestats.sae import benchmark

    return benchmark(_fay_herriot(), 1.8)


def _diagnostics() -> Result:
    from crimestats.sae import diagnostics

    return diagnostics(_fay_herriot(), n_draws=50, random_seed=1)


def _many() -> Result:
    from crimestats.sae import fay_herriot_many

    rng = np.random.default_rng(3)
    direct = xr.DataArray(rng.normal(5, 1, (12, 3)), dims=("area", "table"))
    return fay_herriot_many(direct, xr.full_like(direct, 0.5))


def _slavery() -> pd.DataFrame:
    from crimestats.datasets import load_modern_slavery

    return load_modern_slavery(lists=5)


def _multiple_systems() -> Result:
    from crimestats.hidden import multiple_systems

    return multiple_systems(_slavery(), method="independence", check_heterogeneity=False)


def _sensitivity() -> Result:
    from crimestats.hidden import multiple_systems_sensitivity

    return multiple_systems_sensitivity(_slavery(), methods=["independence", "mth_chao"])


def _dark_figure() -> Result:
    from crimestats.hidden import dark_figure

    survey = pd.DataFrame({"area": ["A"], "survey_offence": ["assault"],
                           "incidents": [1000.0], "incidents_se": [100.0],
                           "reporting_rate": [0.4], "reporting_rate_se": [0.03]})
    recorded = pd.DataFrame({"area": ["A"], "crime_type": ["violence"], "recorded": [300]})
    return dark_figure(survey, recorded, {"assault": "violence"}, random_seed=1)


def _reporting_rates() -> Result:
    from crimestats.hidden import reporting_rates

    df = pd.DataFrame({"type": ["a", "a", "b", "b", "b"], "told": [1, 0, 1, 1, 0],
                       "w": [2.0, 2.0, 1.0, 1.0, 2.0]})
    return reporting_rates(df, reported="told", weight="w", by="type")


def _survey() -> Result:
    from crimestats.survey import direct_estimates

    df = pd.DataFrame({"area": list("aaaabbb"), "stratum": [1, 1, 2, 2, 1, 2, 2],
                       "psu": [1, 2, 3, 4, 1, 3, 4], "weight": [10., 20., 10., 30., 10., 20., 20.],
                       "victim": [1, 0, 0, 1, 0, 1, 0]})
    return direct_estimates(df, y="victim", area="area", weight="weight", strata="stratum",
                            psu="psu")


def _funnel() -> Result:
    from crimestats.compare import funnel
    from crimestats.datasets import load_force_violence

    forces = load_force_violence()
    return funnel("recorded_violence", "residents", data=forces, areas="force", per=1000)


def _ranks() -> Result:
    from crimestats.compare import rank_uncertainty

    return rank_uncertainty([10.0, 20.0, 30.0], se=[5.0, 5.0, 5.0], areas=list("abc"),
                            random_seed=0)


def _change() -> Result:
    from crimestats.compare import change_test

    return change_test(pd.Series([980, 1010, 995, 1020, 990, 1005, 1150],
                                 index=range(2012, 2019)))


def _peers() -> Result:
    from crimestats.compare import compare_to_peers

    return compare_to_peers([120, 100, 95, 105, 98], [1e4] * 5, {"A": ["B", "C", "D", "E"]},
                            areas=list("ABCDE"), per=1000)


def _peer_groups() -> Result:
    from crimestats.compare import most_similar

    return most_similar()


def _changepoint() -> Result:
    from crimestats.changepoint import detect

    y = np.r_[np.full(10, 20.0), np.full(10, 35.0)] + np.tile([1.0, -1.0], 10)
    return detect(pd.Series(y, index=range(2000, 2020)), "normal", random_seed=1, draws=50)


def _changepoint_many() -> Result:
    from crimestats.changepoint import detect_many

    rng = np.random.default_rng(0)
    y = rng.poisson(rng.uniform(20, 60, 3) * np.where(np.arange(30)[:, None] >= 20, 1.5, 1.0))
    return detect_many(y, "poisson", random_seed=0)


def _attribution() -> Result:
    from crimestats.changepoint import attribute
    from crimestats.datasets import simulate_attribution

    sim = simulate_attribution("reporting", random_seed=1)
    return attribute(sim.recorded, sim.survey, population=sim.population, random_seed=1,
                     draws=100)


FITS: dict[str, Callable[[], Result]] = {
    "FayHerriotResult": _fay_herriot, "SpatialFayHerriotResult": _spatial,
    "BYM2Result": _bym2, "SpatioTemporalResult": _spatio_temporal,
    "MultivariateFayHerriotResult": _multivariate, "PrevalenceResult": _prevalence,
    "SpatialPrevalenceResult": _spatial_prevalence, "MRPResult": _mrp,
    "UnitLevelResult": _unit_level, "BenchmarkResult": _benchmark,
    "DiagnosticsResult": _diagnostics, "FayHerriotManyResult": _many,
    "MultipleSystemsResult": _multiple_systems, "SensitivityResult": _sensitivity,
    "DarkFigureResult": _dark_figure, "ReportingRateResult": _reporting_rates,
    "SurveyEstimates": _survey, "FunnelResult": _funnel, "RankResult": _ranks,
    "ChangeResult": _change, "PeerComparisonResult": _peers, "PeerGroups": _peer_groups,
    "ChangepointResult": _changepoint, "ManyChangepointResult": _changepoint_many,
    "AttributionResult": _attribution,
}


def test_every_result_class_has_a_fit():
    assert _result_classes() == set(FITS)


@pytest.mark.filterwarnings("ignore::crimestats.CrimestatsWarning")
@pytest.mark.parametrize("name", sorted(FITS))
def test_result_round_trips_through_dict_json_and_netcdf(name, tmp_path):
    result = FITS[name]()
    assert type(result).__name__ == name and dataclasses.is_dataclass(result)
    doc = result.to_dict()
    assert doc["type"] == name
    assert json.loads(result.to_json(allow_nan=False)) == doc
    skipped = set(type(result)._skip_in_dict)
    fields = {f.name for f in dataclasses.fields(result)} - skipped
    assert set(doc) == {"type"} | {f for f in fields if not f.startswith("_")}
    for var, payload in doc["estimates"]["data_vars"].items():
        original = np.asarray(result.estimates[var].values)
        if original.dtype.kind in "fiub":
            values = np.asarray(payload["data"], dtype=float)
            expected = original.astype(float)
            np.testing.assert_array_equal(values, np.where(np.isfinite(expected), expected,
                                                           np.nan), err_msg=f"{name}.{var}")
    path = tmp_path / "result.nc"
    result.to_netcdf(path)
    with xr.open_dataset(path, engine="h5netcdf") as back:
        back = back.load()
    for var in result.estimates.data_vars:
        original = result.estimates[var].values
        if original.dtype.kind in "fiub":
            np.testing.assert_array_equal(back[var].values, original, err_msg=f"{name}.{var}")
        else:
            assert back[var].values.astype(str).tolist() == original.astype(str).tolist()
    for dim in result.estimates.dims:
        assert [str(v) for v in back[dim].values] == [str(v) for v in
                                                      result.estimates[dim].values], dim
    frame = result.to_dataframe()
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0


def test_typed_mse_terms_add_up_to_the_reported_mse():
    """The typed MSE decomposition is the one the estimates were computed from."""
    fit = _fay_herriot()
    inside = fit.estimates["in_sample"].values
    np.testing.assert_array_equal(fit.mse_terms.total()[inside],
                                  fit.estimates["mse"].values[inside])
    st = _spatio_temporal()
    np.testing.assert_array_equal(np.maximum(st.mse_terms.total(), 0.0),
                                  st.estimates["mse"].values.ravel())
    doc: dict[str, Any] = fit.to_dict()
    assert doc["mse_terms"]["g1"] == fit.mse_terms.g1.tolist()
