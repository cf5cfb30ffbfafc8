"""Multiple-systems estimation: log-linear models against R (SparseMSE, Rcapture), bad input."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from crimestats import DataWarning, InputError
from crimestats.hidden import multiple_systems

MSE = "mse_reference"


@pytest.fixture(scope="module")
def ref(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / MSE / "r_outputs_results.csv")


def _table(data_dir, name: str) -> pd.DataFrame:
    return pd.read_csv(data_dir / MSE / f"{name}.csv")


def _row(ref: pd.DataFrame, fit_id: str, method_prefix: str = "") -> pd.Series:
    rows = ref[(ref.fit_id == fit_id) & ref.method.str.startswith(method_prefix)]
    assert len(rows) == 1
    return rows.iloc[0]


@pytest.mark.parametrize("fit_id,dataset", [
    ("uk5_sparse_stepwise", "SparseMSE_UKdat_5"),
    ("uk_sparse_stepwise", "SparseMSE_UKdat"),
    ("ned_sparse", "SparseMSE_Ned"),
    ("neworl_sparse", "SparseMSE_NewOrl"),
    ("western_sparse", "SparseMSE_Western"),
])
def test_stepwise_matches_sparsemse(data_dir, ref, fit_id, dataset):
    row = _row(ref, fit_id)
    fit = multiple_systems(_table(data_dir, dataset), method="loglinear")
    assert fit.total == pytest.approx(row.point, rel=1e-4)
    assert fit.lower == pytest.approx(row.lower, rel=1e-4)
    assert fit.upper == pytest.approx(row.upper, rel=1e-4)
    assert fit.observed == row.n_observed
    assert fit.hidden == pytest.approx(fit.total - fit.observed)
    # the chosen non-empty two-list terms are those SparseMSE reports
    chosen = set(re.sub("selected 2-list terms: ", "", row.note).split())
    assert chosen == set(fit.terms) - set(fit.diagnostics["empty_terms"])


def test_uk5_headline_and_term_order(data_dir):
    fit = multiple_systems(_table(data_dir, "SparseMSE_UKdat_5"))
    assert fit.total == pytest.approx(11312.99, rel=1e-4)
    assert fit.terms == ("LA:NG", "NG:GP", "PFNCA:GP", "LA:PFNCA", "GO:GP", "NG:GO")
    pvals = [p for _, p in fit.diagnostics["stepwise_path"]]
    assert all(p < 0.02 for p in pvals)


def test_independence_matches_rcapture_mt(data_dir, ref):
    mt = ref[(ref.fit_id == "uk_rcapture") & (ref.method == "closedp.t Mt")].iloc[0]
    main = _row(ref, "uk_sparse_main")
    fit = multiple_systems(_table(data_dir, "SparseMSE_UKdat"), method="independence")
    assert fit.total == pytest.approx(mt.point, rel=1e-6)
    se = float(re.search(r"stderr=([\d.]+)", mt.interval).group(1))
    assert fit.diagnostics["n_parameters"] == 7
    assert fit.estimates["sd"].item() == pytest.approx(se, rel=1e-4)
    assert (fit.lower, fit.upper) == pytest.approx((main.lower, main.upper), rel=1e-4)
    assert fit.terms == ()


def test_ned_handles_empty_overlaps(data_dir):
    fit = multiple_systems(_table(data_dir, "SparseMSE_Ned"))
    # two terms whose lists share no case are in the model at -inf (cells removed)
    assert len(fit.diagnostics["empty_terms"]) == 2
    assert set(fit.diagnostics["empty_terms"]) <= set(fit.diagnostics["empty_overlaps"])


def test_bootstrap_over_model_selection(data_dir, ref):
    """BCa bootstrap with the selection re-run; SparseMSE's interval (nboot=1000) within MC error."""
    row = _row(ref, "uk_sparse_bca")
    fit = multiple_systems(_table(data_dir, "SparseMSE_UKdat"), interval="bootstrap",
                           n_boot=300, random_seed=5)
    assert fit.interval == "bootstrap" and fit.draws.shape == (300,)
    assert fit.total == pytest.approx(row.point, rel=1e-6)
    # limits of a 300-replicate BCa interval have MC relative error of roughly 5-8%
    assert fit.lower == pytest.approx(row.lower, rel=0.12)
    assert fit.upper == pytest.approx(row.upper, rel=0.12)
    # model uncertainty widens the interval relative to the conditional Wald one
    wald = multiple_systems(_table(data_dir, "SparseMSE_UKdat"))
    assert fit.upper - fit.lower > wald.upper - wald.lower
    again = multiple_systems(_table(data_dir, "SparseMSE_UKdat"), interval="bootstrap",
                             n_boot=300, random_seed=5)
    assert again.lower == fit.lower and again.upper == fit.upper


def test_independence_closed_form_two_lists():
    # Lincoln-Petersen: N = n1 * n2 / m = 80 * 60 / 20
    table = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "count": [60, 40, 20]})
    fit = multiple_systems(table, method="independence")
    assert fit.total == pytest.approx(80 * 60 / 20)
    assert fit.observed == 120


def test_one_row_per_person_and_duplicates_are_summed():
    per_person = pd.DataFrame({"A": [1] * 60 + [0] * 40 + [1] * 20,
                               "B": [0] * 60 + [1] * 40 + [1] * 20})
    fit = multiple_systems(per_person, method="independence")
    assert fit.total == pytest.approx(240)
    dup = pd.DataFrame({"A": [1, 1, 0, 1], "B": [0, 0, 1, 1], "count": [30, 30, 40, 20]})
    fit2 = multiple_systems(dup, method="independence")
    assert fit2.total == pytest.approx(240)
    assert any("summed" in n for n in fit2.diagnostics["notes"])


@pytest.mark.parametrize("table,match", [
    (pd.DataFrame({"A": [1, 0, 2], "B": [0, 1, 1], "count": [1, 2, 3]}), "only 0 or 1"),
    (pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "count": [1, -2, 3]}), "negative"),
    (pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "count": [1, 2.5, 3]}), "whole numbers"),
    (pd.DataFrame({"A": [1, 0, 0], "B": [0, 1, 0], "count": [1, 2, 3]}), "all-zero"),
    (pd.DataFrame({"A": [1, 1], "count": [1, 2]}), "at least two lists"),
    (pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "count": [1, None, 3]}), "missing"),
])
def test_bad_input(table, match):
    with pytest.raises(InputError, match=match):
        multiple_systems(table)


def test_bad_arguments(data_dir):
    table = _table(data_dir, "SparseMSE_Western")
    with pytest.raises(InputError, match="method"):
        multiple_systems(table, method="magic")
    with pytest.raises(InputError, match="level"):
        multiple_systems(table, level=95)
    with pytest.raises(InputError, match="interval"):
        multiple_systems(table, interval="posterior")


def test_isolated_list_warns_and_is_reported():
    table = pd.DataFrame({"A": [1, 0, 0, 1], "B": [0, 1, 0, 1], "C": [0, 0, 1, 0],
                          "count": [50, 40, 30, 20]})
    with pytest.warns(DataWarning, match="overlap no other list"):
        fit = multiple_systems(table, method="independence")
    assert fit.diagnostics["isolated_lists"] == ["C"]
    assert "A:C" in fit.diagnostics["empty_overlaps"]


def test_two_lists_without_overlap_cannot_be_estimated():
    from crimestats import EstimationError

    table = pd.DataFrame({"A": [1, 0], "B": [0, 1], "count": [5, 7]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(EstimationError, match="does not exist"):
            multiple_systems(table, method="independence")


def test_strata_sum_and_combine(data_dir):
    uk = _table(data_dir, "SparseMSE_UKdat_5")
    both = pd.concat([uk.assign(region="north"), uk.assign(region="south")], ignore_index=True)
    fit = multiple_systems(both, strata="region", random_seed=1)
    single = multiple_systems(uk)
    assert list(fit.estimates["stratum"].values) == ["north", "south", "total"]
    assert fit.total == pytest.approx(2 * single.total)
    assert fit.observed == 2 * single.observed
    # two independent strata: relative width of the sum ~ 1/sqrt(2) of one stratum's
    width_one = (single.upper - single.lower) / single.total
    width_sum = (fit.upper - fit.lower) / fit.total
    assert width_sum == pytest.approx(width_one / np.sqrt(2), rel=0.1)
    assert set(fit.diagnostics["strata"]) == {"north", "south"}


def test_result_serialises(data_dir, tmp_path):
    fit = multiple_systems(_table(data_dir, "SparseMSE_Western"))
    json.dumps(fit.to_dict())
    assert "Multiple-systems" in fit.summary()
    assert fit.to_dataframe().shape[0] == 1
    pytest.importorskip("h5py")
    fit.to_netcdf(tmp_path / "fit.nc")
