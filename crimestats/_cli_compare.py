"""``crimestats compare``: funnel-plot flags for the areas of a CSV (counts and exposures)."""

from __future__ import annotations

import argparse

from ._cli_io import Progress, capture_warnings, read_table


def run(args: argparse.Namespace) -> int:
    """Read the CSV, draw the funnel limits, and report the flagged areas."""
    import sys

    from .compare import funnel

    table = read_table(args.csv, required=[args.area, args.observed, args.exposure],
                       numeric=[args.observed, args.exposure], unique=args.area)
    with capture_warnings() as caught:
        with Progress().step(f"Funnel limits ({args.method})"):
            res = funnel(args.observed, args.exposure, data=table, areas=args.area,
                         kind=args.kind, method=args.method, per=args.per)
    estimates = res.to_dataframe()
    estimates.index.name = "area"
    if args.output:
        estimates.to_csv(args.output)
    for message in caught:
        print(f"crimestats: warning: {message}", file=sys.stderr)
    print(res.summary())
    flagged = res.flagged(min(res.levels))
    if not flagged.empty:
        print()
        print(flagged.to_string(float_format=lambda v: f"{v:.4g}"))
    return 0
