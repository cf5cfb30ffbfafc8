"""``crimestats changepoint``: change points of one series, or of many (``--many``), from a CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._cli_io import Progress, capture_warnings, document, read_table, split_names, write_json
from ._time import check_time_axis, json_time
from .errors import InputError

#: Joins the labels of several --series columns into one series name.
_JOIN = " | "
_SHOWN = 6


def run(args: argparse.Namespace) -> int:
    """Read the series, find its change points, and report."""
    if args.many:
        return _run_many(args)
    if args.series:
        raise InputError("--series names the series of a long table of many series; add "
                         "--many (or leave --series out for one series).")
    if args.fill is not None:
        raise InputError("--fill (the value of periods absent from the file) works with --many "
                         "here; for one series, add the absent periods to the file.")
    from .changepoint import detect

    numeric = [args.value, *([args.exposure] if args.exposure else [])]
    table = read_table(args.csv, required=[args.time, *numeric], numeric=numeric,
                       unique=args.time)
    series = table.set_index(args.time)[args.value]
    exposure = table[args.exposure].to_numpy() if args.exposure else None
    with capture_warnings() as caught:
        with Progress().step(f"Finding change points ({args.method})"):
            result = detect(series, args.likelihood, method=args.method, exposure=exposure,
                            min_size=args.min_size, seasonal=args.seasonal, level=args.level,
                            random_seed=args.seed, missing=args.missing)
    estimates = result.estimates.drop_dims("n_changes", errors="ignore").to_dataframe()
    if args.output:
        estimates.to_csv(args.output)
    if args.json:
        model = {
            "method": result.method, "likelihood": result.likelihood, "level": result.level,
            "changepoints": list(result.changepoint_times),
            "n_changes_prob": list(result.n_changes_prob),
            "segments": result.segments.to_dict(orient="records"),
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
    from .changepoint import detect_many

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


def _complete(table: pd.DataFrame, columns: list[str], args: argparse.Namespace
              ) -> tuple[pd.DataFrame, dict[str, tuple[Any, ...]]]:
    """Every series over every period; absent rows get ``--fill`` or, with ``--missing skip``,
    NaN (unobserved); otherwise they are an error.

    Returns the long table (series label, time, value) and the label of each series → the
    values of its ``--series`` columns.
    """
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
             ) -> pd.DataFrame:
    """One row per change point of each series (a row with no change for a series without)."""
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
