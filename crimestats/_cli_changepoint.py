"""``crimestats changepoint``: change points of one series from a CSV (one row per period)."""

from __future__ import annotations

import argparse
import sys

from ._cli_io import Progress, capture_warnings, document, read_table, write_json


def run(args: argparse.Namespace) -> int:
    """Read the series, find its change points, and report."""
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
                            random_seed=args.seed)
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
