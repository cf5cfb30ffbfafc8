"""``crimestats compare``: funnel-plot flags for the areas of a CSV (counts and exposures).

The command's parser, runner and JSON schema; its ``--kind`` and ``--method`` choices read the
options table (`crimestats._options`), the method names from the registry of funnel limits.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .._options import FUNNEL
from ._json import NUMBER_OR_NULL, envelope

__all__ = ["add_parser", "run", "schema"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``crimestats compare`` to the command's subparsers."""
    p = subparsers.add_parser(
        "compare", help="funnel plot: which areas' rates are unusual for their size",
        description="Draw funnel-plot control limits (over-dispersed by default) for the areas "
                    "of a CSV and list those outside them.",
        epilog="examples:\n  crimestats compare forces.csv --area force "
               "--observed offences --exposure residents --per 1000\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=run)
    p.add_argument("csv", help="CSV file, one row per area")
    p.add_argument("--area", required=True, metavar="COL", help="column of area labels")
    p.add_argument("--observed", required=True, metavar="COL", help="column of counts")
    p.add_argument("--exposure", required=True, metavar="COL",
                   help="column of exposures (residents; expected counts for --kind ratio)")
    p.add_argument("--kind", default="rate", choices=FUNNEL["kind"].cli_choices())
    p.add_argument("--method", default="additive", choices=FUNNEL["method"].cli_choices(),
                   metavar="METHOD", help="funnel limits: %(choices)s (default: additive)")
    p.add_argument("--per", type=float, default=1.0, help="rates per this many (e.g. 1000)")
    p.add_argument("--output", metavar="FILE.csv", help="write the per-area table to CSV")
    p.add_argument("--json", action="store_true",
                   help="print a JSON document (schema crimestats-cli/1) instead of text")
    return p


def run(args: argparse.Namespace) -> int:
    """Read the CSV, draw the funnel limits, and report the flagged areas."""
    from ..compare import funnel
    from ._cli_io import Progress, capture_warnings, document, read_table, write_json

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
    if args.json:
        model = {"kind": res.kind, "method": res.method, "scale": res.scale,
                 "estimator": res.estimator, "target": res.target, "per": res.per,
                 "phi": res.phi, "tau2": res.tau2, "levels": list(res.levels),
                 "dispersion_p_value": res.dispersion_p_value}
        write_json(document("compare", file=str(args.csv), rows=len(table), model=model,
                            estimates=estimates, captured=caught), sys.stdout)
        return 0
    for message in caught:
        print(f"crimestats: warning: {message}", file=sys.stderr)
    print(res.summary())
    flagged = res.flagged(min(res.levels))
    if not flagged.empty:
        print()
        print(flagged.to_string(float_format=lambda v: f"{v:.4g}"))
    return 0


def schema() -> dict[str, Any]:
    """JSON Schema of ``crimestats compare --json`` (its method enum read from the registry)."""
    return envelope(
        "compare",
        model={
            "type": "object",
            "required": ["kind", "method", "target", "per", "levels"],
            "properties": {
                "kind": FUNNEL["kind"].enum(),
                "method": FUNNEL["method"].enum(),
                "scale": {"type": "string"},
                "estimator": {"type": "string"},
                "target": NUMBER_OR_NULL,
                "per": {"type": "number"},
                "phi": NUMBER_OR_NULL,
                "tau2": NUMBER_OR_NULL,
                "levels": {"type": "array", "items": {"type": "number"}},
                "dispersion_p_value": NUMBER_OR_NULL,
            },
        },
        record={
            "type": "object",
            "required": ["area", "observed", "exposure", "indicator", "z", "p_value"],
            "properties": {
                "area": {"type": ["string", "number"]},
                "observed": {"type": "number"},
                "exposure": {"type": "number"},
                "indicator": NUMBER_OR_NULL,
                "z": NUMBER_OR_NULL,
                "p_value": NUMBER_OR_NULL,
            },
            "additionalProperties": {"type": ["number", "boolean", "null"]},
        },
    )
