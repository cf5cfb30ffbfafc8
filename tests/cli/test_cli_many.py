"""`crimestats changepoint --many`: a long table of series, per-series changes as CSV and JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crimestats.changepoint import detect_many
from crimestats.cli import JSON_SCHEMAS, main
from crimestats.datasets import read_police_uk

sys.path.insert(0, str(Path(__file__).parent))
from test_cli import validate  # noqa: E402  (the schema validator of the CLI tests)

MONTHS = pd.period_range("2018-01", periods=48, freq="M").astype(str)
#: (area, crime type) -> month index of a rise by 80% (None: no change)
SERIES = {("A", "burglary"): 30, ("A", "robbery"): 30, ("B", "burglary"): 12,
          ("B", "robbery"): None, ("C", "burglary"): None, ("C", "robbery"): None}


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for (area, kind), at in SERIES.items():
        base = rng.uniform(25, 40)
        rise = np.where(np.arange(48) >= (48 if at is None else at), 1.8, 1.0)
        for month, count in zip(MONTHS, rng.poisson(base * rise), strict=True):
            rows.append({"area": area, "crime_type": kind, "month": month, "count": count})
    return pd.DataFrame(rows)


def _run(argv: list, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _many(path: Path, *extra: object) -> list[object]:
    return ["changepoint", path, "--many", "--time", "month", "--series", "area,crime_type",
            "--value", "count", "--likelihood", "poisson", *extra]


def test_changes_found_where_they_are_and_equal_to_the_library(panel, tmp_path, capsys):
    path = tmp_path / "panel.csv"
    panel.to_csv(path, index=False)
    code, out, err = _run(_many(path, "--json", "--output", tmp_path / "changes.csv",
                                "--seed", 1), capsys)
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert validate(doc, JSON_SCHEMAS["changepoint-many"]) == []
    assert doc["model"]["n_series"] == 6 and doc["model"]["n_times"] == 48
    assert doc["model"]["series_columns"] == ["area", "crime_type"]
    assert doc["input"]["rows"] == 6 * 48
    changes = pd.read_csv(tmp_path / "changes.csv")
    assert list(changes.columns) == ["series", "area", "crime_type", "n_changes",
                                     "change_time", "prob_change"]
    found = {(r.area, r.crime_type): r for r in changes.itertuples()}
    for key, at in SERIES.items():
        row = found[key]
        if at is None:
            assert row.n_changes == 0 and pd.isna(row.change_time)
        else:
            assert row.n_changes == 1 and row.change_time == MONTHS[at]
            assert row.prob_change > 0.5
    # the same numbers as the library on the same data
    library = detect_many(panel.assign(series=panel["area"] + " | " + panel["crime_type"]),
                          "poisson", time="month", series="series", value="count", draws=0)
    for record in doc["estimates"]:
        if record["change_time"] is not None:
            expected = library.estimates["prob_change"].sel(series=record["series"],
                                                            time=record["change_time"])
            assert record["prob_change"] == pytest.approx(float(expected), rel=1e-12)
    assert doc["model"]["prob_national_change"] == pytest.approx(
        library.prob_national_change, rel=1e-9, abs=1e-12)


def test_text_report(panel, tmp_path, capsys):
    path = tmp_path / "panel.csv"
    panel.to_csv(path, index=False)
    code, out, err = _run(_many(path), capsys)
    assert code == 0 and err == ""
    assert "Change points in 6 series" in out and "3 of 6 series changed" in out
    assert "most probable changes:" in out and "2020-07" in out


def test_absent_rows_must_be_explained(panel, tmp_path, capsys):
    gappy = panel.drop(index=[5, 100])
    path = tmp_path / "gappy.csv"
    gappy.to_csv(path, index=False)
    code, _, err = _run(_many(path), capsys)
    assert code == 2
    assert "no row for 2 (series, period) pair(s): 'A | burglary' at '2018-06'" in err
    assert "--fill 0" in err and "--missing skip" in err
    code, out, _ = _run(_many(path, "--fill", 0, "--json"), capsys)
    assert code == 0
    zero = panel.copy()
    zero.loc[[5, 100], "count"] = 0
    zero_path = tmp_path / "zero.csv"
    zero.to_csv(zero_path, index=False)
    _, same, _ = _run(_many(zero_path, "--json"), capsys)
    assert json.loads(out)["estimates"] == json.loads(same)["estimates"]
    code, out, _ = _run(_many(path, "--missing", "skip", "--json"), capsys)
    assert code == 0 and json.loads(out)["model"]["n_times"] == 48
    # an empty cell is never filled, even with --fill
    empty = panel.astype({"count": float})
    empty.loc[7, "count"] = np.nan
    empty.to_csv(path, index=False)
    code, _, err = _run(_many(path, "--fill", 0), capsys)
    assert code == 2 and "has no value for 1 (series, period) pair(s)" in err


def test_police_uk_panel_end_to_end(tmp_path, capsys):
    archive = Path(__file__).parents[1] / "data" / "police_uk" / "archive"
    path = tmp_path / "forces.csv"
    read_police_uk(archive, level="force").to_dataframe().to_csv(path, index=False)
    argv = ["changepoint", path, "--many", "--time", "month", "--series",
            "area,crime_type", "--value", "count", "--json"]
    code, out, _ = _run(argv, capsys)
    assert code == 2
    assert "'Merseyside | Anti-social behaviour' at '2019-07'" in json.loads(out)["error"][
        "message"]
    code, out, _ = _run([*argv, "--missing", "skip"], capsys)
    doc = json.loads(out)
    assert code == 0 and validate(doc, JSON_SCHEMAS["changepoint-many"]) == []
    assert doc["model"]["n_series"] == 3 * 14 and doc["model"]["n_times"] == 24
    assert {r["area"] for r in doc["estimates"]} == {"Greater Manchester", "Merseyside",
                                                     "West Yorkshire"}


@pytest.mark.parametrize("argv, message", [
    (["--many"], "--many needs --series"),
    (["--series", "area"], "add --many"),
    (["--many", "--series", "area,crime_type", "--exposure", "count"],
     "without exposure"),
    (["--many", "--series", "area,month"], "must not repeat --time"),
])
def test_usage_mistakes(panel, tmp_path, capsys, argv, message):
    path = tmp_path / "panel.csv"
    panel.to_csv(path, index=False)
    code, _, err = _run(["changepoint", path, "--time", "month", "--value", "count", *argv],
                        capsys)
    assert code == 2 and message in err


def test_repeated_rows_are_named(panel, tmp_path, capsys):
    path = tmp_path / "dup.csv"
    pd.concat([panel, panel.iloc[[3]]]).to_csv(path, index=False)
    code, _, err = _run(_many(path), capsys)
    assert code == 2 and "more than one row for the same series and period (rows 4, 289" in err


def test_schema_command_knows_many(capsys):
    code, out, _ = _run(["schema", "changepoint-many"], capsys)
    assert code == 0 and json.loads(out) == JSON_SCHEMAS["changepoint-many"]
