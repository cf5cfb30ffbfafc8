"""``crimestats changepoint``: change points of one series, or of many (``--many``).

The command's parser, runner and JSON schemas. Its ``--likelihood`` choices come from the
segment-model registry (`crimestats.changepoint.segments`) through `crimestats._options`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .._options import CHANGEPOINT
from ..errors import InputError
from ._json import NUMBER_OR_NULL, envelope

__all__ = ["CHANGEPOINT_MANY_SCHEMA", "CHANGEPOINT_SCHEMA", "add_parser", "run"]

#: Joins the labels of several --series columns into one series name.
_JOIN = " | "
#: Rows or pairs named in an error message.
_SHOWN = 6

_EPILOG = """\
The CSV has one row per period, in time order: a label and the value (a count such as
offences recorded, or a rate). With --many it is a long table of many series: one row per
series and period, the series named by one or more columns (--series area,crime_type), as
written by crimestats.datasets.read_police_uk(...).to_dataframe().

examples:
  crimestats changepoint monthly.csv --time month --value offences --seasonal 12
  crimestats changepoint annual.csv --time year --value offences --exposure population
  crimestats changepoint annual.csv --time year --value rate --likelihood normal --json
  crimestats changepoint panel.csv --many --time month --series area,crime_type \\
      --value count --missing skip --output changes.csv
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``crimestats changepoint`` to the command's subparsers."""
    p = subparsers.add_parser(
        "changepoint", help="when did the level of a series change, with posterior probabilities",
        description="Find the change points of one series (recorded crimes per month, year, "
                    "...): exact Bayesian segmentation with the posterior probability of a "
                    "change at each time, or PELT.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=run)
    p.add_argument("csv", help="CSV file, one row per period, oldest first")
    p.add_argument("--time", required=True, metavar="COL",
                   help="column of period labels (checked sorted, unique and regular)")
    p.add_argument("--value", required=True, metavar="COL", help="column of the series")
    p.add_argument("--exposure", metavar="COL",
                   help="population or days per period (counts: the level is then a rate)")
    p.add_argument("--likelihood", default="auto",
                   choices=CHANGEPOINT["likelihood"].cli_choices(), metavar="MODEL",
                   help="segment model, one of: %(choices)s (default auto: count_trend for "
                        "counts averaging 10 or more, negbin for smaller counts, log_trend for "
                        "positive rates, trend for other real values)")
    p.add_argument("--method", default="bayes", choices=CHANGEPOINT["method"].cli_choices(),
                   help="exact Bayesian recursion (default) or PELT")
    p.add_argument("--seasonal", default="auto", metavar="N",
                   help="period of the seasonal cycle (12 monthly, 52 weekly, 4 quarterly), "
                        "'auto' (default: from the calendar of the labels, when significant) "
                        "or 'none'")
    p.add_argument("--fill", type=float, metavar="X",
                   help="value of a period absent from the file (0 for police.uk extracts, "
                        "which leave out months with no crime)")
    p.add_argument("--missing", default="error", choices=CHANGEPOINT["missing"].cli_choices(),
                   help="empty values and absent periods: an error (default) or unobserved")
    p.add_argument("--min-size", type=int, default=2, help="shortest segment (default: 2)")
    p.add_argument("--level", type=float, default=0.95, help="interval level (default: 0.95)")
    p.add_argument("--seed", type=int, default=None, help="random seed of the posterior draws")
    p.add_argument("--output", metavar="FILE.csv",
                   help="write the per-period table (--many: the changes of each series) to CSV")
    p.add_argument("--json", action="store_true",
                   help="print a JSON document (schema crimestats-cli/1) instead of text")
    many = p.add_argument_group("many series (--many)")
    many.add_argument("--many", action="store_true",
                      help="a long table of many series: changes in each, and the evidence of "
                           "a change shared by all (crimestats schema changepoint-many)")
    many.add_argument("--series", metavar="A,B",
                      help="column(s) naming each series, e.g. area,crime_type")
    many.add_argument("--window", type=int, default=0, metavar="W",
                      help="a shared change counts for a series changing within W periods "
                           "(default: 0)")
    many.add_argument("--jobs", type=int, default=1, metavar="N",
                      help="series fitted in parallel (default: 1)")
    return p


def run(args: argparse.Namespace) -> int:
    """Read the series, find its change points, and report."""
    if args.many:
        return _run_many(args)
    if args.series:
        raise InputError("--series names the series of a long table of many series; add "
                         "--many (or leave --series out for one series).")
    from .._time import json_time
    from ..changepoint import detect
    from ._cli_io import Progress, capture_warnings, document, read_table, write_json

    numeric = [args.value, *([args.exposure] if args.exposure else [])]
    table = read_table(args.csv, required=[args.time, *numeric], numeric=numeric,
                       unique=args.time)
    series = table.set_index(args.time)[args.value]
    exposure = table.set_index(args.time)[args.exposure] if args.exposure else None
    seasonal = _seasonal(args.seasonal)
    with capture_warnings() as caught:
        with Progress().step(f"Finding change points ({args.method})"):
            result = detect(series, args.likelihood, method=args.method, exposure=exposure,
                            min_size=args.min_size, seasonal=seasonal, level=args.level,
                            fill=args.fill, missing=args.missing, random_seed=args.seed)
    estimates = result.estimates.drop_dims("n_changes", errors="ignore").to_dataframe()
    if args.output:
        estimates.to_csv(args.output)
    if args.json:
        model = {
            "method": result.method, "likelihood": result.likelihood, "level": result.level,
            "changepoints": [json_time(t) for t in result.changepoint_times],
            "prob_any_change": result.prob_any_change,
            "n_changes_prob": list(result.n_changes_prob),
            "segments": result.segments.assign(
                start_time=[json_time(t) for t in result.segments["start_time"]]
            ).to_dict(orient="records"),
        }
        write_json(document("changepoint", file=str(args.csv), rows=len(table), model=model,
                            estimates=estimates, captured=caught), sys.stdout)
        return 0
    for message in caught:
        print(f"crimestats: warning: {message}", file=sys.stderr)
    print(result.summary())
    return 0


# --------------------------------------------------------------------------------------------
# --many: a long table of series
# --------------------------------------------------------------------------------------------


def _run_many(args: argparse.Namespace) -> int:
    """Change points of every series of a long table, and the shared-change evidence."""
    from .._time import json_time
    from ..changepoint import detect_many
    from ._cli_io import Progress, capture_warnings, document, read_table, split_names, write_json

    columns = split_names(args.series)
    if not columns:
        raise InputError("--many needs --series: the column(s) naming each series, e.g. "
                         "--series area,crime_type.")
    if args.exposure or args.method != "bayes":
        raise InputError("--many uses the Bayesian method without exposure; drop --exposure "
                         "and --method pelt (or run one series at a time).")
    overlap = {args.time, args.value} & set(columns)
    if overlap:
        raise InputError(f"--series must not repeat --time or --value ({sorted(overlap)}).")
    table = read_table(args.csv, required=[args.time, *columns, args.value],
                       numeric=[args.value])
    long, labels = _complete(table, columns, args)
    with capture_warnings() as caught:
        with Progress().step(f"Finding change points in {len(labels)} series"):
            # draws=0: the change points and their probabilities need no posterior draws
            result = detect_many(long, args.likelihood, time=args.time, series="series",
                                 value=args.value, window=args.window, n_jobs=args.jobs,
                                 draws=0, min_size=args.min_size,
                                 seasonal=_seasonal(args.seasonal),
                                 level=args.level, random_seed=args.seed,
                                 missing=args.missing)
    changes = _changes(result, labels, columns)
    if args.output:
        changes.to_csv(args.output, index=False)
    if args.json:
        model = {
            "method": "bayes", "mode": "many", "likelihood": _likelihood(result, args),
            "level": args.level, "series_columns": columns, "n_series": len(labels),
            "n_times": int(result.estimates.sizes["time"]), "window": args.window,
            "prob_national_change": result.prob_national_change,
            "national_time": json_time(result.national_time),
            "log_bayes_factor": getattr(result, "log_bayes_factor", None),
        }
        doc = document("changepoint", file=str(args.csv), rows=len(table), model=model,
                       estimates=changes.set_index("series"), captured=caught)
        write_json(doc, sys.stdout)
        return 0
    for message in caught:
        print(f"crimestats: warning: {message}", file=sys.stderr)
    print(result.summary())
    found = changes.dropna(subset=["change_time"])
    print(f"{found['series'].nunique()} of {len(labels)} series changed; "
          f"{len(found)} change points in all.")
    if len(found):
        top = found.sort_values("prob_change", ascending=False).head(10)
        print("most probable changes:")
        print(top.drop(columns="series").to_string(index=False))
    if args.output:
        print(f"wrote {args.output}")
    return 0


def _complete(table: Any, columns: list[str], args: argparse.Namespace
              ) -> tuple[Any, dict[str, tuple[Any, ...]]]:
    """Every series over every period; absent rows get ``--fill`` or, with ``--missing skip``,
    NaN (unobserved); otherwise they are an error.

    Returns the long table (series label, time, value) and the label of each series → the
    values of its ``--series`` columns.
    """
    import numpy as np
    import pandas as pd

    from .._time import check_time_axis, json_time

    name = Path(args.csv).name
    for column in [*columns, args.time]:
        empty = table[column].isna().to_numpy()
        if empty.any():
            rows = ", ".join(str(i + 1) for i in np.flatnonzero(empty)[:_SHOWN])
            raise InputError(f"Column {column!r} in {name} is empty in rows {rows} (counted "
                             "from 1 after the header); every row needs its series and period.")
    keys = table[columns].astype(str)
    series = keys.iloc[:, 0].str.cat([keys[c] for c in columns[1:]], sep=_JOIN) \
        if len(columns) > 1 else keys.iloc[:, 0]
    frame = pd.DataFrame({"series": series.to_numpy(), args.time: table[args.time].to_numpy(),
                          args.value: table[args.value].to_numpy()})
    repeated = frame.duplicated(["series", args.time], keep=False).to_numpy()
    if repeated.any():
        first = frame[repeated].iloc[0]
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(repeated)[:_SHOWN])
        raise InputError(f"{name} has more than one row for the same series and period (rows "
                         f"{rows}, e.g. {first['series']!r} at {first[args.time]!r}); "
                         "aggregate them first.")
    labels = dict(zip(series, map(tuple, table[columns].to_numpy(object)), strict=True))
    uniques = pd.unique(frame[args.time])
    try:
        ordered = sorted(uniques)
    except TypeError:
        ordered = list(uniques)
    fixes = ("--fill 0 (absence means none, as in police.uk extracts) or --missing skip "
             "(unobserved)")
    fill = args.fill is not None or args.missing == "skip"
    axis = check_time_axis(ordered, name=args.time, fill=fill, fixes=fixes)
    times = axis.labels if axis.kind != "label" else pd.Index(uniques)
    grid = pd.MultiIndex.from_product([list(labels), times], names=["series", args.time])
    full = frame.set_index(["series", args.time]).reindex(grid)
    absent = ~grid.isin(frame.set_index(["series", args.time]).index)
    if absent.any():
        if not fill:
            shown = ", ".join(f"{s!r} at {json_time(t)!r}" for s, t in grid[absent][:_SHOWN])
            raise InputError(
                f"{name} has no row for {int(absent.sum())} (series, period) pair(s): {shown}. "
                f"Say what absence means: {fixes}.")
        full.loc[absent, args.value] = np.nan if args.fill is None else args.fill
    empty = full[args.value].isna().to_numpy()  # empty cells (never filled: NaN stays NaN)
    if empty.any() and args.missing == "error":
        shown = ", ".join(f"{s!r} at {json_time(t)!r}" for s, t in grid[empty][:_SHOWN])
        raise InputError(
            f"Column {args.value!r} in {name} has no value for {int(empty.sum())} (series, "
            f"period) pair(s): {shown}. Pass --missing skip to treat them as unobserved "
            "periods (for a police.uk panel: months a force did not publish), or supply the "
            "values.")
    return full.reset_index(), labels


def _changes(result: Any, labels: dict[str, tuple[Any, ...]], columns: list[str]
             ) -> Any:
    """One row per change point of each series (a row with no change for a series without)."""
    import numpy as np
    import pandas as pd

    from .._time import json_time

    prob = result.estimates["prob_change"]
    times = result.estimates["time"].values
    rows = []
    for label, values in labels.items():
        found = list(result.changepoints.get(label, []))
        base = {"series": label, **dict(zip(columns, values, strict=True)),
                "n_changes": len(found)}
        if not found:
            rows.append({**base, "change_time": None, "prob_change": np.nan})
        p = prob.sel(series=label).values
        rows += [{**base, "change_time": json_time(times[i]), "prob_change": float(p[i])}
                 for i in found]
    return pd.DataFrame(rows, columns=["series", *columns, "n_changes", "change_time",
                                       "prob_change"])


def _seasonal(value: Any) -> Any:
    """``--seasonal`` as the library takes it: a period (int), ``"auto"`` or None (``"none"``)."""
    if isinstance(value, str):
        text = value.strip().lower()
        return None if text == "none" else int(text) if text.isdigit() else text
    return value


def _likelihood(result: Any, args: argparse.Namespace) -> str:
    """The segment model used (from the fitted series when ``auto`` picked it)."""
    fits = getattr(result, "results", None) or {}
    first = next(iter(fits.values()), None)
    return str(getattr(first, "likelihood", args.likelihood))


#: JSON Schema of ``crimestats changepoint --json``.
CHANGEPOINT_SCHEMA = envelope(
    "changepoint",
    model={
        "type": "object",
        "required": ["method", "likelihood", "level", "changepoints", "n_changes_prob",
                     "segments"],
        "properties": {
            "method": CHANGEPOINT["method"].enum(),
            "likelihood": {"type": "string"},
            "level": {"type": "number"},
            "changepoints": {"type": "array", "items": {"type": ["string", "number"]}},
            "prob_any_change": {"type": "number", "minimum": 0},
            "n_changes_prob": {"type": "array", "items": {"type": "number", "minimum": 0}},
            "segments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["start", "end", "start_time", "estimate", "lower", "upper"],
                    "properties": {
                        "start": {"type": "integer", "minimum": 0},
                        "end": {"type": "integer", "minimum": 0},
                        "start_time": {"type": ["string", "number"]},
                        "estimate": NUMBER_OR_NULL,
                        "lower": NUMBER_OR_NULL,
                        "upper": NUMBER_OR_NULL,
                    },
                    "additionalProperties": NUMBER_OR_NULL,
                },
            },
        },
    },
    record={
        "type": "object",
        "required": ["time", "y", "prob_change", "estimate", "lower", "upper", "segment"],
        "properties": {
            "time": {"type": ["string", "number"]},
            "y": NUMBER_OR_NULL,
            "prob_change": {"type": "number", "minimum": 0},
            "estimate": NUMBER_OR_NULL,
            "lower": NUMBER_OR_NULL,
            "upper": NUMBER_OR_NULL,
            "segment": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": NUMBER_OR_NULL,
    },
)

#: JSON Schema of ``crimestats changepoint --many --json``.
CHANGEPOINT_MANY_SCHEMA = envelope(
    "changepoint",
    model={
        "type": "object",
        "required": ["method", "mode", "likelihood", "level", "series_columns", "n_series",
                     "n_times", "window", "prob_national_change", "national_time"],
        "properties": {
            "method": {"const": "bayes"},
            "mode": {"const": "many"},
            "likelihood": {"type": "string"},
            "level": {"type": "number"},
            "series_columns": {"type": "array", "items": {"type": "string"}},
            "n_series": {"type": "integer", "minimum": 1},
            "n_times": {"type": "integer", "minimum": 1},
            "window": {"type": "integer", "minimum": 0},
            "prob_national_change": NUMBER_OR_NULL,
            "national_time": {"type": ["string", "number", "null"]},
            "log_bayes_factor": NUMBER_OR_NULL,
        },
    },
    record={
        "type": "object",
        "required": ["series", "n_changes", "change_time", "prob_change"],
        "properties": {
            "series": {"type": "string"},
            "n_changes": {"type": "integer", "minimum": 0},
            "change_time": {"type": ["string", "number", "null"]},
            "prob_change": NUMBER_OR_NULL,
        },
        "additionalProperties": {"type": ["string", "number", "null"]},
    },
)
CHANGEPOINT_MANY_SCHEMA["title"] = "crimestats changepoint --many --json"
