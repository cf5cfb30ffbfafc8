"""read_police_uk on a synthetic police.uk archive whose every count is known (truth.csv).

The archive (tests/data/police_uk/, made by make_fixture.py there) has three forces over 24
months; Merseyside did not publish 2019-07; some rows have no location; Merseyside records a
few crimes in a Greater Manchester LSOA ("Wigan 030A").
"""

from __future__ import annotations

import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from crimestats import DataWarning, InputError
from crimestats.datasets import POLICE_UK_COLUMNS, POLICE_UK_CRIME_TYPES, read_police_uk

FIXTURE = Path(__file__).parents[1] / "data" / "police_uk"
ARCHIVE = FIXTURE / "archive"
MONTHS = pd.period_range("2018-01", "2019-12", freq="M")
HOME_OFFICE = {"Greater Manchester Police": "Greater Manchester",
               "Merseyside Police": "Merseyside", "West Yorkshire Police": "West Yorkshire"}
MERSEYSIDE_AREAS = ["E01900011", "E01900012", "E01900013", "E01900005",
                    "unknown area (Merseyside)"]


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    frame = pd.read_csv(FIXTURE / "truth.csv", dtype={"lsoa_code": str},
                        keep_default_na=False)
    frame["force"] = frame["force"].map(HOME_OFFICE)
    frame["area"] = np.where(frame["lsoa_code"] == "",
                             "unknown area (" + frame["force"] + ")", frame["lsoa_code"])
    return frame


@pytest.fixture(scope="module")
def panel():
    return read_police_uk(ARCHIVE)


def _expected(truth: pd.DataFrame, key: pd.Series, nan_areas: list[str]) -> xr.DataArray:
    """Counts summed by ``key``, zero-filled over the 14 types and 24 months, NaN for 2019-07
    in ``nan_areas``."""
    table = truth.assign(key=key).groupby(["key", "crime_type", "month"])["count"].sum()
    areas = sorted(k for k in key.unique() if not k.startswith("unknown")) + sorted(
        k for k in key.unique() if k.startswith("unknown"))
    index = pd.MultiIndex.from_product([areas, POLICE_UK_CRIME_TYPES, MONTHS.astype(str)])
    values = table.reindex(index, fill_value=0).to_numpy(float).reshape(
        len(areas), len(POLICE_UK_CRIME_TYPES), len(MONTHS))
    out = xr.DataArray(values, dims=("area", "crime_type", "month"),
                       coords={"area": areas, "crime_type": list(POLICE_UK_CRIME_TYPES),
                               "month": MONTHS})
    out.loc[{"area": nan_areas, "month": "2019-07"}] = np.nan
    return out


def test_lsoa_panel_is_the_zero_filled_truth(panel, truth):
    expected = _expected(truth, truth["area"], MERSEYSIDE_AREAS)
    assert panel.level == "lsoa" and panel.counts.dims == ("area", "crime_type", "month")
    assert isinstance(panel.counts.indexes["month"], pd.PeriodIndex)
    assert list(panel.counts["area"].values) == list(expected["area"].values)
    np.testing.assert_array_equal(panel.counts.values, expected.values)
    # most cells have no row in the files and are zero, not missing
    assert (panel.counts == 0).mean() > 0.7
    # every row of every file is counted once, except those in an area-month that is missing
    # because another force covering the area did not publish (Greater Manchester's crimes in
    # Wigan 030A in 2019-07: Merseyside's are unknown)
    rows = sum(len(pd.read_csv(f)) for f in ARCHIVE.rglob("*-street.csv"))
    masked = truth[truth["area"].isin(MERSEYSIDE_AREAS) & (truth["month"] == "2019-07")]
    assert list(masked["force"].unique()) == ["Greater Manchester"]
    assert float(panel.counts.sum()) + masked["count"].sum() == rows == truth["count"].sum()
    assert len(panel.files) == 3 * 24 - 1


def test_absent_force_month_is_flagged_missing_not_zero(panel):
    published = panel.published.to_pandas()
    assert published.shape == (3, 24)
    assert list(published.index) == ["Greater Manchester", "Merseyside", "West Yorkshire"]
    assert not published.loc["Merseyside", pd.Period("2019-07", "M")]
    assert published.to_numpy().sum() == 3 * 24 - 1
    july = panel.counts.sel(month="2019-07")
    missing = july.isnull().all("crime_type")
    assert sorted(july["area"][missing].values) == sorted(MERSEYSIDE_AREAS)
    assert not july.isnull().any("crime_type")[~missing].any()
    # Wigan 030A is Greater Manchester's, but Merseyside's files cover it too
    wigan = panel.data.sel(area="E01900005")
    assert wigan["area_name"].item() == "Wigan 030A"
    assert wigan["area_force"].item() == "Greater Manchester"
    assert panel.counts.sel(area="E01900005", month="2019-06").notnull().all()


def test_rows_without_location_are_counted_in_unknown_areas(panel, truth):
    unknown = [a for a in panel.counts["area"].values if a.startswith("unknown area")]
    assert unknown == ["unknown area (Greater Manchester)", "unknown area (Merseyside)",
                       "unknown area (West Yorkshire)"]
    names = panel.data["area_name"].sel(area=unknown).values
    assert set(names) == {"unknown area"}
    no_location = truth.loc[truth["lsoa_code"] == "", "count"].sum()
    assert float(panel.counts.sel(area=unknown).sum()) == no_location > 0
    assert any("no location" in note for note in panel.notes)


def test_aggregated_levels_are_sums_of_the_lsoa_panel(truth):
    names = dict(zip(truth["lsoa_code"], truth["area"], strict=True))
    lsoa_names = {"E01900001": "Manchester 001A", "E01900002": "Manchester 001B",
                  "E01900003": "Manchester 002A", "E01900004": "Salford 010C",
                  "E01900005": "Wigan 030A", "E01900011": "Liverpool 001A",
                  "E01900012": "Liverpool 003B", "E01900013": "Wirral 005A",
                  "E01900021": "Leeds 001A", "E01900022": "Leeds 001C",
                  "E01900023": "Bradford 003C"}
    assert set(names) - {""} == set(lsoa_names)
    msoa = truth["area"].map(lambda a: lsoa_names[a][:-1] if a in lsoa_names else a)
    got = read_police_uk(ARCHIVE, level="msoa")
    expected = _expected(truth, msoa, ["Liverpool 001", "Liverpool 003", "Wirral 005",
                                       "Wigan 030", "unknown area (Merseyside)"])
    xr.testing.assert_equal(got.counts.drop_vars(["area_name", "area_force"]), expected)
    assert "Manchester 001" in got.counts["area"].values  # 001A and 001B together
    assert any("derived from its name" in note for note in got.notes)

    csp_codes = {"Manchester": "E22000101", "Salford": "E22000104", "Wigan": "E22000108",
                 "Liverpool": "E22000182", "Wirral": "E22000185", "Leeds": "E22000345",
                 "Bradford": "E22000342"}
    csp = truth["area"].map(lambda a: csp_codes[lsoa_names[a][:-5]] if a in lsoa_names else a)
    got = read_police_uk(ARCHIVE, level="csp")
    expected = _expected(truth, csp, ["E22000182", "E22000185", "E22000108",
                                      "unknown area (Merseyside)"])
    xr.testing.assert_equal(got.counts.drop_vars(["area_name", "area_force"]), expected)
    assert got.data["area_name"].sel(area="E22000108").item() == "Wigan"

    got = read_police_uk(ARCHIVE, level="force")
    expected = _expected(truth, truth["force"], ["Merseyside"])
    xr.testing.assert_equal(got.counts.drop_vars(["area_name", "area_force"]), expected)


def test_tidy_table_and_netcdf(panel, tmp_path):
    tidy = panel.to_dataframe()
    assert list(tidy.columns) == ["area", "crime_type", "month", "area_name", "area_force",
                                  "count"]
    assert len(tidy) == 14 * 14 * 24
    assert not tidy.duplicated(["area", "crime_type", "month"]).any()
    assert isinstance(tidy["month"].dtype, pd.PeriodDtype)
    row = tidy[(tidy["area"] == "E01900011") & (tidy["month"] == pd.Period("2019-07", "M"))]
    assert row["count"].isna().all() and len(row) == 14
    panel.to_netcdf(tmp_path / "panel.nc")
    back = xr.open_dataset(tmp_path / "panel.nc")
    np.testing.assert_array_equal(back["count"].values, panel.counts.values)
    assert list(back["month"].values) == [str(m) for m in MONTHS]


def test_zip_download_and_list_of_files_read_the_same(panel, tmp_path):
    path = tmp_path / "download.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(ARCHIVE.rglob("*-street.csv")):
            archive.write(file, f"{file.parent.name}/{file.name}")
    xr.testing.assert_identical(read_police_uk(path).data, panel.data)
    files = sorted(ARCHIVE.rglob("*-street.csv"))
    xr.testing.assert_identical(read_police_uk([str(f) for f in files]).data, panel.data)


def test_requested_months(panel):
    wider = read_police_uk(ARCHIVE, start="2017-12", end="2020-01")
    assert wider.counts.sizes["month"] == 26
    assert not wider.published.sel(month=["2017-12", "2020-01"]).any()
    assert wider.counts.sel(month=["2017-12", "2020-01"]).isnull().all()
    xr.testing.assert_equal(wider.counts.sel(month=slice("2018-01", "2019-12")), panel.counts)
    with pytest.raises(InputError, match=r"outside the months asked for .*2018-01-"):
        read_police_uk(ARCHIVE, start="2018-02")
    with pytest.raises(InputError, match="2019-12-greater-manchester-street.csv"):
        read_police_uk(ARCHIVE, end="2019-11")
    with pytest.raises(InputError, match="after"):
        read_police_uk(ARCHIVE, start="2019-01", end="2018-01")
    with pytest.raises(InputError, match="month such as"):
        read_police_uk(ARCHIVE, start="January")


def _copy(tmp_path: Path, months: tuple[str, ...] = ("2018-01", "2018-02")) -> Path:
    root = tmp_path / "download"
    for month in months:
        shutil.copytree(ARCHIVE / month, root / month)
    return root


def _rewrite(path: Path, edit) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    edited = edit(frame)
    (frame if edited is None else edited).to_csv(path, index=False)


@pytest.mark.parametrize("edit, message", [
    (lambda f: f.rename(columns={"Crime type": "Type"}),
     r"lacks \['Crime type'\] and has \['Type'\]"),
    (lambda f: f.insert(0, "Outcome type", "x"), r"has \['Outcome type'\]"),
    (lambda f: f.loc.__setitem__((1, "Reported by"), "Cheshire Constabulary"),
     r"rows of 2 forces .*one force's crimes"),
    (lambda f: f.loc.__setitem__((2, "Month"), "2018-03"),
     r"named for 2018-01 but row 3 have Month \['2018-03'\]"),
    (lambda f: f.loc.__setitem__((0, "Crime type"), ""), r"no 'Crime type' in row 1"),
])
def test_bad_files_are_named_with_the_fix(tmp_path, edit, message):
    root = _copy(tmp_path)
    bad = root / "2018-01" / "2018-01-merseyside-street.csv"
    _rewrite(bad, edit)
    with pytest.raises(InputError, match=message) as err:
        read_police_uk(root)
    assert "2018-01-merseyside-street.csv" in str(err.value)


def test_files_that_cannot_be_placed(tmp_path):
    root = _copy(tmp_path)
    one = root / "2018-01" / "2018-01-merseyside-street.csv"
    with pytest.raises(InputError, match="Two files for merseyside in 2018-01"):
        read_police_uk([one, one])
    renamed = tmp_path / "merseyside-january.csv"
    shutil.copy(one, renamed)
    with pytest.raises(InputError, match="not named as a police.uk street-level file"):
        read_police_uk([renamed])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="No police.uk street-level files"):
        read_police_uk(tmp_path / "empty")
    with pytest.raises(InputError, match="No such file or folder"):
        read_police_uk(tmp_path / "nowhere")
    with pytest.raises(InputError, match="`level` must be one of"):
        read_police_uk(root, level="ward")
    other = root / "2018-02" / "2018-02-merseyside-street.csv"
    _rewrite(other, lambda f: f.__setitem__("Reported by", "Merseyside Constabulary"))
    with pytest.raises(InputError, match="name 2 forces"):
        read_police_uk(root)


def test_old_categories_are_kept_with_a_warning(tmp_path):
    root = _copy(tmp_path)
    _rewrite(root / "2018-01" / "2018-01-merseyside-street.csv",
             lambda f: f.loc.__setitem__((0, "Crime type"), "Violent crime"))
    with pytest.warns(DataWarning, match="Violent crime"):
        got = read_police_uk(root)
    assert got.counts["crime_type"].values[-1] == "Violent crime"
    assert float(got.counts.sel(crime_type="Violent crime").sum()) == 1.0


def test_local_authorities_unknown_to_the_lookup_need_a_lookup(tmp_path):
    root = _copy(tmp_path)
    _rewrite(root / "2018-01" / "2018-01-west-yorkshire-street.csv",
             lambda f: f.__setitem__("LSOA name", f["LSOA name"].str.replace("Leeds", "Leodis")))
    with pytest.raises(InputError, match=r"\['Leodis'\] .* Pass `lookup`"):
        read_police_uk(root, level="csp")
    read_police_uk(root, level="msoa")  # the MSOA needs no lookup
    frame = read_police_uk(root).data
    codes = [a for a in frame["area"].values if a.startswith("E01")]
    lookup = pd.Series({code: "all" for code in codes})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = read_police_uk(root, level="csp", lookup=lookup)
    assert list(got.counts["area"].values[:1]) == ["all"]
    with pytest.raises(InputError, match="`lookup` has no CSP for 1 LSOA"):
        read_police_uk(root, level="csp", lookup=lookup.iloc[1:])
    with pytest.raises(InputError, match="`lookup` applies to"):
        read_police_uk(root, level="lsoa", lookup=lookup)


def test_a_file_with_no_crimes_is_published(tmp_path):
    root = _copy(tmp_path)
    (root / "2018-01" / "2018-01-cleveland-street.csv").write_text(
        ",".join(f'"{c}"' if " " in c else c for c in POLICE_UK_COLUMNS) + "\n")
    got = read_police_uk(root)
    assert got.published.sel(force="cleveland").values.tolist() == [True, False]
    assert float(got.counts.sum()) == float(read_police_uk(_copy(tmp_path / "b")).counts.sum())
