"""Named bad and awkward inputs of `crimestats.datasets.read_police_uk` (damaged copies of the
synthetic archive in tests/data/police_uk), judged by ``input_harness.Named`` (issue 13). The
same table feeds ``benchmarks/input_battery.py``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from input_harness import Named

from crimestats.datasets import read_police_uk

pytestmark = pytest.mark.filterwarnings("ignore::crimestats.errors.CrimestatsWarning")

ARCHIVE = Path(__file__).resolve().parents[1] / "data" / "police_uk" / "archive"
ONE = "2018-03/2018-03-merseyside-street.csv"


def _damaged(change) -> Path:
    """A copy of the archive with ``change(folder)`` applied (in a fresh temporary folder)."""
    folder = Path(tempfile.mkdtemp(prefix="crimestats-police-uk-")) / "archive"
    shutil.copytree(ARCHIVE, folder)
    change(folder)
    return folder


def _edit(relative: str, edit):
    def change(folder: Path) -> None:
        path = folder / relative
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        edit(frame).to_csv(path, index=False)
    return change


def _read(change=None, **kw):
    return read_police_uk(ARCHIVE if change is None else _damaged(change), **kw)


def _set(column, value, row=0):
    def edit(frame):
        frame.loc[frame.index[row], column] = value
        return frame
    return edit


def _no_rows_lost(result):
    """Every row of the files is counted in its force's total (level="force": no area is
    NaN for another force's missing month)."""
    rows = sum(len(pd.read_csv(p)) for p in ARCHIVE.rglob("*-street.csv"))
    counted = float(result.counts.sum())
    return None if counted == rows else f"{rows} rows in the files, {counted:g} counted"


def cases() -> list[Named]:
    """Every named case of read_police_uk (also run by the input battery)."""
    fn = "datasets.read_police_uk"
    rows = [
        ("valid", lambda: _read(), "ok", ""),
        ("level_force", lambda: _read(level="force"), "ok", "", _no_rows_lost),
        ("level_msoa", lambda: _read(level="msoa"), "ok", ""),
        ("level_csp", lambda: _read(level="csp"), "any", ""),
        ("level_bogus", lambda: _read(level="ward"), "input_error", "level"),
        ("level_upper_case", lambda: _read(level="LSOA"), "any", ""),
        ("lookup_with_lsoa", lambda: _read(lookup={"a": "b"}), "input_error", "lookup"),
        ("lookup_text", lambda: _read(level="csp", lookup="bogus"), "input_error", "lookup"),
        ("start_end", lambda: _read(start="2018-06", end="2019-03"), "any", ""),
        ("start_after_end", lambda: _read(start="2019-06", end="2018-03"), "input_error",
         "start"),
        ("start_text", lambda: _read(start="June"), "input_error", "start"),
        ("start_period", lambda: _read(start=pd.Period("2018-01", "M")), "any", ""),
        ("start_after_archive", lambda: _read(start="2030-01"), "input_error", ""),
        ("path_missing", lambda: read_police_uk(ARCHIVE / "nowhere"), "input_error",
         "nowhere"),
        ("path_none", lambda: read_police_uk(None), "input_error", "path"),
        ("path_number", lambda: read_police_uk(3), "input_error", "path"),
        ("path_empty_folder", lambda: read_police_uk(Path(tempfile.mkdtemp())),
         "input_error", ""),
        ("one_file", lambda: read_police_uk(ARCHIVE / ONE), "any", ""),
        ("missing_column", lambda: _read(_edit(ONE, lambda f: f.drop(columns="Crime type"))),
         "input_error", "Crime type"),
        ("extra_column", lambda: _read(_edit(ONE, lambda f: f.assign(extra="x"))),
         "input_error", "extra"),
        ("row_of_other_month", lambda: _read(_edit(ONE, _set("Month", "2018-04"))),
         "input_error", "2018-04"),
        ("month_text", lambda: _read(_edit(ONE, _set("Month", "March"))), "input_error",
         "March"),
        ("empty_crime_type", lambda: _read(_edit(ONE, _set("Crime type", ""))),
         "input_error", "Crime type"),
        ("unknown_crime_type", lambda: _read(_edit(ONE, _set("Crime type", "Piracy")),
                                             level="force"), "ok", "", _no_rows_lost),
        ("empty_lsoa", lambda: _read(_edit(ONE, _set("LSOA code", "")), level="force"), "ok",
         "", _no_rows_lost),
        ("empty_lsoa_lsoa_level", lambda: _read(_edit(ONE, _set("LSOA code", ""))), "ok", "",
         lambda r: None if any("unknown area" in str(a) for a in r.counts["area"].values)
         else "the row without an LSOA is not counted in an 'unknown area'"),
        ("falls_within_other_force", lambda: _read(_edit(ONE, _set(
            "Falls within", "Cumbria Constabulary")), level="force"), "ok", "", _no_rows_lost),
        ("reported_by_other_force", lambda: _read(_edit(ONE, _set(
            "Reported by", "Cumbria Constabulary"))), "input_error", "Cumbria"),
        ("header_only", lambda: _read(_edit(ONE, lambda f: f.iloc[:0])), "ok", ""),
        ("zero_bytes", lambda: _read(lambda d: (d / ONE).write_bytes(b"")), "input_error",
         ONE.split("/")[1]),
        ("not_utf8", lambda: _read(lambda d: (d / ONE).write_bytes(b"\xff\xfe\x00garbage")),
         "input_error", ONE.split("/")[1]),
        ("badly_named_file", lambda: _read(lambda d: (d / ONE).rename(
            d / "2018-03" / "merseyside.csv")), "any", ""),
        ("duplicate_file", lambda: _read(lambda d: shutil.copy(
            d / ONE, d / "2018-04" / "2018-03-merseyside-street.csv")), "input_error",
         "merseyside"),
        ("unparseable_lsoa_name_msoa", lambda: _read(_edit(ONE, _set("LSOA name", "???")),
                                                     level="msoa"),
         "input_error", "???"),
        ("missing_month_folder", lambda: _read(lambda d: shutil.rmtree(d / "2018-05")), "ok",
         ""),
    ]
    return [Named(fn, row[0], row[1], row[2], row[3], promised=(), contract=False,
                  check=row[4] if len(row) > 4 else None, seconds=60.0) for row in rows]


CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_named_case(case):
    problem = case.problem(case.run())
    assert problem is None, problem
