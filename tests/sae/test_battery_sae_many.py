"""Named bad and awkward inputs of `crimestats.sae.fay_herriot_many` (in memory and on dask),
judged by ``input_harness.Named`` (issue 13). The same table feeds
``benchmarks/input_battery.py``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from input_harness import Named

from crimestats.sae import fay_herriot_many

pytestmark = pytest.mark.filterwarnings("ignore::crimestats.errors.CrimestatsWarning")

M = 15
AREAS = [f"a{i:02d}" for i in range(M)]
TABLES = ["burglary", "robbery", "vehicle"]
_RNG = np.random.default_rng(8)
X = pd.DataFrame({"deprivation": _RNG.uniform(size=M)}, index=AREAS)
VAR = pd.DataFrame(_RNG.uniform(0.5, 2.0, (M, 3)), index=AREAS, columns=TABLES)
DIRECT = pd.DataFrame(10 + 5 * X.to_numpy() + _RNG.normal(0, 1, (M, 3))
                      + _RNG.normal(size=(M, 3)) * np.sqrt(VAR.to_numpy()),
                      index=AREAS, columns=TABLES)
PROMISED = ("estimate", "mse", "lower", "upper")


def _fm(direct=DIRECT, variance=VAR, covariates=X, **kw):
    return fay_herriot_many(direct, variance, covariates, **{"progress": False, **kw})


def _at(frame, row, column, value):
    out = frame.astype(object if isinstance(value, str) else float).copy()
    out.iloc[row, column] = value
    return out


def _dask(frame):
    pytest.importorskip("dask.array")
    return xr.DataArray(frame.to_numpy(), dims=("area", "table"),
                        coords={"area": AREAS, "table": TABLES}).chunk({"table": 1})


def _same_as_plain(result):
    want = _fm().estimates["estimate"]
    got = result.estimates["estimate"].transpose(*want.dims)
    got = got.sel({d: want[d].values for d in want.dims})
    if not np.allclose(got.values, want.values, rtol=1e-9):
        return "estimates differ from the plain fit by label: paired by position?"
    return None


def cases() -> list[Named]:
    """Every named case of fay_herriot_many (also run by the input battery)."""
    fn = "sae.fay_herriot_many"
    shuffle = _RNG.permutation(M)
    rows = [
        ("valid", lambda: _fm(), "ok", ""),
        ("no_covariates", lambda: _fm(covariates=None), "ok", ""),
        ("dask_chunks", lambda: _fm(_dask(DIRECT), _dask(VAR), None), "ok", ""),
        ("dask_nan_variance_zero", lambda: _fm(_dask(DIRECT), _dask(_at(VAR, 2, 1, 0.0)),
                                               None), "input_error", "robbery"),
        ("dask_text_free_huge", lambda: _fm(_dask(DIRECT * 1e12), _dask(VAR * 1e24), None),
         "any", ""),
        ("method_bogus", lambda: _fm(method="hb"), "input_error", "method"),
        ("level_2", lambda: _fm(level=2.0), "input_error", "level"),
        ("max_iter_0", lambda: _fm(max_iter=0), "input_error", "max_iter"),
        ("tol_negative", lambda: _fm(tol=-1.0), "input_error", "tol"),
        ("direct_nan_with_variance", lambda: _fm(_at(DIRECT, 2, 1, np.nan)), "input_error",
         "robbery"),
        ("direct_and_variance_nan", lambda: _fm(_at(DIRECT, 2, 1, np.nan),
                                                _at(VAR, 2, 1, np.nan)), "ok", ""),
        ("direct_inf", lambda: _fm(_at(DIRECT, 2, 1, np.inf)), "input_error", "robbery"),
        ("direct_text", lambda: _fm(_at(DIRECT, 2, 1, "x")), "input_error", "direct"),
        ("variance_zero", lambda: _fm(variance=_at(VAR, 2, 1, 0.0)), "input_error",
         "robbery"),
        ("variance_negative", lambda: _fm(variance=_at(VAR, 2, 1, -1.0)), "input_error",
         "robbery"),
        ("variance_text", lambda: _fm(variance=_at(VAR, 2, 1, "x")), "input_error",
         "variance"),
        ("covariate_nan", lambda: _fm(covariates=_at(X, 2, 0, np.nan)), "input_error",
         "deprivation"),
        ("covariate_text", lambda: _fm(covariates=X.assign(deprivation="high")),
         "input_error", "deprivation"),
        ("covariate_str_dtype", lambda: _fm(covariates=X.astype("str")), "input_error",
         "deprivation"),
        ("covariate_constant", lambda: _fm(covariates=X.assign(deprivation=1.0)),
         "input_error", "collinear"),
        ("variance_other_area_labels", lambda: _fm(variance=VAR.set_axis(range(M))),
         "input_error", "label"),
        ("variance_other_table_labels", lambda: _fm(variance=VAR.set_axis(
            ["a", "b", "c"], axis=1)), "input_error", "label"),
        ("variance_rows_shuffled", lambda: _fm(variance=VAR.iloc[shuffle]), "ok", ""),
        ("covariates_rows_shuffled", lambda: _fm(covariates=X.iloc[shuffle]), "ok", ""),
        ("variance_columns_reordered", lambda: _fm(variance=VAR[TABLES[::-1]]), "ok", ""),
        ("duplicated_areas", lambda: _fm(DIRECT.set_axis(["a"] * M), VAR.set_axis(["a"] * M),
                                         None), "input_error", "a"),
        ("plain_arrays", lambda: _fm(DIRECT.to_numpy(), VAR.to_numpy(), None), "any", ""),
        ("one_area", lambda: _fm(DIRECT.iloc[:1], VAR.iloc[:1], X.iloc[:1]), "input_error",
         ""),
        ("no_areas", lambda: _fm(DIRECT.iloc[:0], VAR.iloc[:0], X.iloc[:0]), "input_error",
         ""),
        ("no_tables", lambda: _fm(DIRECT.iloc[:, :0], VAR.iloc[:, :0]), "input_error", ""),
        ("one_table", lambda: _fm(DIRECT.iloc[:, :1], VAR.iloc[:, :1]), "ok", ""),
        ("all_equal_direct", lambda: _fm(DIRECT * 0 + 3.0), "any", ""),
        ("all_zero_direct", lambda: _fm(DIRECT * 0), "any", ""),
        ("huge_1e12", lambda: _fm(DIRECT * 1e12, VAR * 1e24), "any", ""),
        ("one_huge_direct", lambda: _fm(_at(DIRECT, 3, 0, 1e300)), "any", ""),
        ("tiny_variances", lambda: _fm(variance=VAR * 1e-300), "any", ""),
        ("a_table_all_missing", lambda: _fm(DIRECT.assign(robbery=np.nan),
                                            VAR.assign(robbery=np.nan)), "input_error",
         "robbery"),
        ("variance_one_area_short", lambda: _fm(variance=VAR.iloc[:-1]), "input_error",
         "label"),
        ("series_not_frame", lambda: _fm(DIRECT["burglary"], VAR["burglary"]), "any", ""),
        ("progress_text", lambda: _fm(progress="yes"), "input_error", "progress"),
    ]
    cases = [Named(fn, name, call, expect, pattern, promised=PROMISED)
             for name, call, expect, pattern in rows]
    for name, call in [
        ("variance_rows_shuffled_matches", lambda: _fm(variance=VAR.iloc[shuffle])),
        ("covariates_rows_shuffled_matches", lambda: _fm(covariates=X.iloc[shuffle])),
        ("variance_columns_reordered_matches", lambda: _fm(variance=VAR[TABLES[::-1]])),
        ("dask_matches", lambda: _fm(_dask(DIRECT), _dask(VAR), X)),
    ]:
        cases.append(Named(fn, name, call, "ok", promised=PROMISED, check=_same_as_plain))
    return cases


CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_named_case(case):
    problem = case.problem(case.run())
    assert problem is None, problem
