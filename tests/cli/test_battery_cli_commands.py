"""Bad and awkward files for the `changepoint` (one series and ``--many``) and `compare`
commands, with and without ``--json``, judged by ``input_harness.Named`` (issue 13): exit 2
with a one-line message (or a JSON error document) for bad input, never a traceback, a JSON
document without ``error`` or null estimates with exit 0. The same table feeds
``benchmarks/input_battery.py``."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from input_harness import Named, cli_outcome

pytestmark = pytest.mark.filterwarnings("ignore::crimestats.errors.CrimestatsWarning")

N = 30
_RNG = np.random.default_rng(4)
MONTHS = pd.period_range("2019-01", periods=N, freq="M").astype(str)
SERIES = pd.DataFrame({"month": MONTHS, "crimes": _RNG.poisson(np.where(
    np.arange(N) < 15, 40, 60)), "residents": np.linspace(9e4, 1.1e5, N).round()})
PANEL = pd.DataFrame({"month": np.tile(MONTHS, 3), "force": np.repeat(["a", "b", "c"], N),
                      "crimes": _RNG.poisson(30, 3 * N)})
AREAS = pd.DataFrame({"force": [f"F{i}" for i in range(10)],
                      "crimes": _RNG.poisson(2000, 10), "residents": _RNG.uniform(
                          1e5, 1e6, 10).round()})


def _with(frame, row, column, value):
    out = frame.copy()
    out[column] = out[column].astype(object)
    out.loc[out.index[row], column] = value
    return out


SERIES_FILES = {
    "valid": (SERIES, "ok"),
    "text_value": (_with(SERIES, 3, "crimes", "n/a"), "input_error"),
    "negative": (_with(SERIES, 3, "crimes", -4), "input_error"),
    "fraction": (_with(SERIES, 3, "crimes", 4.5), "ok"),       # auto: then not counts
    "empty_value": (_with(SERIES, 3, "crimes", None), "input_error"),
    "unsorted": (SERIES.iloc[::-1], "input_error"),
    "duplicated_month": (_with(SERIES, 3, "month", MONTHS[2]), "input_error"),
    "gap": (SERIES.drop(index=5), "input_error"),
    "bad_month": (_with(SERIES, 3, "month", "2019-13"), "input_error"),
    "one_row": (SERIES.head(1), "input_error"),
    "no_rows": (SERIES.head(0), "input_error"),
    "all_zero": (SERIES.assign(crimes=0), "any"),
    "huge": (SERIES.assign(crimes=SERIES["crimes"] * 10**12), "any"),
    "zero_exposure": (_with(SERIES, 3, "residents", 0), "input_error"),
}
PANEL_FILES = {
    "valid": (PANEL, "ok"),
    "text_value": (_with(PANEL, 40, "crimes", "x"), "input_error"),
    "negative": (_with(PANEL, 40, "crimes", -1), "input_error"),
    "missing_pair": (PANEL.drop(index=40), "input_error"),
    "duplicated_pair": (pd.concat([PANEL, PANEL.iloc[[40]]]), "input_error"),
    "empty_series_label": (_with(PANEL, 40, "force", None), "input_error"),
    "one_period": (PANEL[PANEL["month"] == MONTHS[0]], "input_error"),
    "rows_shuffled": (PANEL.sample(frac=1.0, random_state=2), "ok"),
    "all_zero": (PANEL.assign(crimes=0), "any"),
}
AREA_FILES = {
    "valid": (AREAS, "ok"),
    "text_observed": (_with(AREAS, 2, "crimes", "x"), "input_error"),
    "negative": (_with(AREAS, 2, "crimes", -1), "input_error"),
    "fraction": (_with(AREAS, 2, "crimes", 2.5), "input_error"),
    "zero_exposure": (_with(AREAS, 2, "residents", 0), "input_error"),
    "empty_exposure": (_with(AREAS, 2, "residents", None), "input_error"),
    "duplicated_area": (_with(AREAS, 2, "force", "F0"), "input_error"),
    "empty_area": (_with(AREAS, 2, "force", None), "input_error"),
    "one_row": (AREAS.head(1), "input_error"),
    "no_rows": (AREAS.head(0), "input_error"),
    "all_zero": (AREAS.assign(crimes=0), "any"),
    "huge": (AREAS.assign(crimes=AREAS["crimes"] * 10**9, residents=AREAS["residents"]
                          * 10**9), "any"),
}


def _path(kind: str, name: str, frame: pd.DataFrame) -> str:
    folder = Path(tempfile.mkdtemp(prefix="crimestats-cli-battery-"))
    path = folder / f"{kind}-{name}.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _case(function: str, name: str, frame: pd.DataFrame, expect: str, argv: list[str],
          as_json: bool) -> Named:
    def call():
        out = cli_outcome(["changepoint" if function != "cli.compare" else "compare",
                           _path(function, name, frame), *argv]
                          + (["--json"] if as_json else []), as_json)
        return out
    return Named(function, name + (":json" if as_json else ""), call, expect,
                 promised=(), contract=False)


def cases() -> list[Named]:
    """Every named case of the two commands (also run by the input battery)."""
    out = []
    one = ["--time", "month", "--value", "crimes", "--seasonal", "none"]
    many = ["--many", "--time", "month", "--series", "force", "--value", "crimes",
            "--seasonal", "none"]
    area = ["--area", "force", "--observed", "crimes", "--exposure", "residents"]
    for as_json in (False, True):
        for name, (frame, expect) in SERIES_FILES.items():
            argv = one + (["--exposure", "residents"] if name == "zero_exposure" else [])
            out.append(_case("cli.changepoint", name, frame, expect, argv, as_json))
        for name, (frame, expect) in PANEL_FILES.items():
            out.append(_case("cli.changepoint_many", name, frame, expect, many, as_json))
        for name, (frame, expect) in AREA_FILES.items():
            if not as_json:                 # `compare` has no --json (yet)
                out.append(_case("cli.compare", name, frame, expect, area, as_json))
    bad_options = [
        ("cli.changepoint", "likelihood_bogus", SERIES, one + ["--likelihood", "x"]),
        ("cli.changepoint", "seasonal_text", SERIES, one[:-2] + ["--seasonal", "monthly"]),
        ("cli.changepoint", "fill_text", SERIES, one + ["--fill", "zero"]),
        ("cli.changepoint", "level_2", SERIES, one + ["--level", "2"]),
        ("cli.changepoint", "min_size_0", SERIES, one + ["--min-size", "0"]),
        ("cli.changepoint", "value_missing_column", SERIES, ["--time", "month", "--value",
                                                             "offences"]),
        ("cli.changepoint_many", "jobs_0", PANEL, many + ["--jobs", "0"]),
        ("cli.changepoint_many", "window_negative", PANEL, many + ["--window", "-1"]),
        ("cli.changepoint_many", "window_too_long", PANEL, many + ["--window", "100"]),
        ("cli.changepoint_many", "series_missing_column", PANEL, [
            "--many", "--time", "month", "--series", "region", "--value", "crimes"]),
        ("cli.compare", "kind_bogus", AREAS, area + ["--kind", "rates"]),
        ("cli.compare", "method_bogus", AREAS, area + ["--method", "x"]),
        ("cli.compare", "per_zero", AREAS, area + ["--per", "0"]),
        ("cli.compare", "per_text", AREAS, area + ["--per", "many"]),
        ("cli.compare", "missing_column", AREAS, ["--area", "force", "--observed", "x",
                                                  "--exposure", "residents"]),
    ]
    for function, name, frame, argv in bad_options:
        for as_json in (False, True) if function != "cli.compare" else (False,):
            out.append(_case(function, name, frame, "input_error", argv, as_json))
    out.append(Named("cli.compare", "missing_file", lambda: cli_outcome(
        ["compare", "/nonexistent/areas.csv", *area], False), "input_error",
        "No such file", promised=(), contract=False))
    return out


CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_named_case(case):
    problem = case.problem(case.run())
    assert problem is None, problem
