"""``crimestats mse``: multiple-systems (capture-recapture) estimate from a CSV of list overlaps.

The command's parser, runner and JSON schema; the method names come from the registry of
multiple-systems methods (through `crimestats._options`), read when first needed.
"""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any

from .._options import MULTIPLE_SYSTEMS
from ._json import NUMBER_OR_NULL, envelope

__all__ = ["add_parser", "run", "schema"]

_EPILOG = """\
The CSV has one 0/1 column per list (1 = the person is on that list) and a count of the
people with each combination; combinations not given count as 0. Or one row per person
and no count column (then pass --count '').

examples:
  crimestats mse lists.csv                                  # all columns but 'count' are lists
  crimestats mse lists.csv --lists LA,NG,PF,GO,GP --method bayes --seed 1
  crimestats mse lists.csv --interval bootstrap --seed 1 --json > estimate.json
  crimestats mse lists.csv --method bayes --burn 20000 --draws 2000 --thin 10 --seed 1
  crimestats mse lists.csv --method mth_chao                # Chao's lower bound
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``crimestats mse`` to the command's subparsers."""
    p = subparsers.add_parser(
        "mse", help="how many are on no list: multiple-systems (capture-recapture) estimate",
        description="Estimate the size of a hidden population (victims of modern slavery, "
                    "people who inject drugs, ...) from how several agencies' lists of known "
                    "cases overlap.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=run)
    p.add_argument("csv", help="CSV file: one 0/1 column per list and a count column")
    p.add_argument("--count", metavar="COL", default="count",
                   help="column of the number of people with each capture history "
                        "(default: count)")
    p.add_argument("--lists", metavar="A,B", default="",
                   help="list columns (default: every column except --count and --strata)")
    p.add_argument("--strata", metavar="COL", help="column of strata fitted separately, summed")
    p.add_argument("--method", default="loglinear",
                   choices=MULTIPLE_SYSTEMS["method"].cli_choices(), metavar="METHOD",
                   help="model, one of: %(choices)s (default: loglinear, stepwise as R "
                        "SparseMSE; bayes = lcmcr, latent classes; mh_*/mth_*: Rcapture's "
                        "heterogeneity models)")
    p.add_argument("--interval", choices=MULTIPLE_SYSTEMS["interval"].cli_choices(),
                   help="interval type (default: wald for log-linear, posterior for Bayesian)")
    p.add_argument("--level", type=float, default=0.95, help="interval level (default: 0.95)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed (bootstrap and Bayesian methods)")
    for option, default, text in (("--chains", 4, "Markov chains"),
                                  ("--burn", 5000, "burn-in iterations per chain"),
                                  ("--draws", 1000, "kept draws per chain"),
                                  ("--thin", 5, "keep every THIN-th iteration")):
        p.add_argument(option, type=int, default=default, metavar=option[2:].upper(),
                       help=f"LCMCR (bayes): {text} (default: {default})")
    p.add_argument("--output", metavar="FILE.csv", help="write the estimates to this CSV file")
    p.add_argument("--json", action="store_true",
                   help="print a JSON document (schema crimestats-cli/1) instead of text")
    return p


def run(args: argparse.Namespace) -> int:
    """Read the list table, estimate the population size, and report."""
    from ..hidden import multiple_systems
    from ._cli_io import Progress, capture_warnings, document, read_table, split_names, write_json

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


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """JSON Schema of ``crimestats mse --json``; its method names come from the registry."""
    return envelope(
        "mse",
        model={
            "type": "object",
            "required": ["method", "interval", "level", "lists", "terms", "observed", "total",
                         "lower", "upper", "hidden"],
            "properties": {
                "method": MULTIPLE_SYSTEMS["method"].enum(),
                "interval": MULTIPLE_SYSTEMS["interval"].enum(),
                "level": {"type": "number"},
                "lists": {"type": "array", "items": {"type": "string"}},
                "terms": {"type": "array", "items": {"type": "string"}},
                "observed": {"type": "number", "minimum": 0},
                "total": NUMBER_OR_NULL,
                "lower": NUMBER_OR_NULL,
                "upper": NUMBER_OR_NULL,
                "hidden": NUMBER_OR_NULL,
            },
        },
        record={
            "type": "object",
            "required": ["stratum", "estimate", "lower", "upper", "observed", "hidden"],
            "properties": {
                "stratum": {"type": ["string", "number"]},
                "estimate": NUMBER_OR_NULL,
                "lower": NUMBER_OR_NULL,
                "upper": NUMBER_OR_NULL,
                "observed": {"type": "number", "minimum": 0},
                "hidden": NUMBER_OR_NULL,
            },
            "additionalProperties": NUMBER_OR_NULL,
        },
    )
