"""``crimestats changepoint``: change points of one series from a CSV (one row per period)."""

from __future__ import annotations

import argparse
import sys

from ._cli_io import Progress, capture_warnings, document, read_table, write_json


def run(args: argparse.Namespace) -> int:
    """Read the series, find its change points, and report."""
    from ._time import json_time
    from .changepoint import detect

    numeric = [args.value, *([args.exposure] if args.exposure else [])]
    table = read_table(args.csv, required=[args.time, *numeric], numeric=numeric,
                       unique=args.time)
    series = table.set_index(args.time)[args.value]
    exposure = table.set_index(args.time)[args.exposure] if args.exposure else None
    seasonal = {"auto": "auto", "none": None}.get(str(args.seasonal).lower(), args.seasonal)
    if isinstance(seasonal, str) and seasonal != "auto":
        seasonal = int(seasonal) if seasonal.isdigit() else seasonal
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
