"""``crimestats mse``: multiple-systems (capture-recapture) estimate from a CSV of list overlaps."""

from __future__ import annotations

import argparse
import sys

from ._cli_io import Progress, capture_warnings, document, read_table, split_names, write_json


def run(args: argparse.Namespace) -> int:
    """Read the list table, estimate the population size, and report."""
    from .hidden import multiple_systems

    header = read_table(args.csv, required=[], numeric=[]).columns
    extra = {c for c in (args.count, args.strata) if c}
    lists = split_names(args.lists) or [c for c in header if c not in extra]
    table = read_table(args.csv, required=[*lists, *sorted(extra)],
                       numeric=[*lists, *([args.count] if args.count else [])])
    with capture_warnings() as caught:
        with Progress().step(f"Estimating the population size ({args.method})"):
            fit = multiple_systems(table, args.method, lists=lists, count=args.count or None,
                                   strata=args.strata, level=args.level,
                                   interval=args.interval, chains=args.chains,
                                   burn=args.burn, draws=args.draws, thin=args.thin,
                                   random_seed=args.seed)
    estimates = fit.to_dataframe()
    if args.output:
        estimates.to_csv(args.output)
    if args.json:
        model = {"method": fit.method, "interval": fit.interval, "level": fit.level,
                 "lists": list(fit.lists), "terms": list(fit.terms), "observed": fit.observed,
                 "total": fit.total, "lower": fit.lower, "upper": fit.upper,
                 "hidden": fit.hidden}
        write_json(document("mse", file=str(args.csv), rows=len(table), model=model,
                            estimates=estimates, captured=caught), sys.stdout)
        return 0
    for message in caught:
        print(f"crimestats: warning: {message}", file=sys.stderr)
    print(fit.summary())
    return 0
