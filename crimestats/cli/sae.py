"""``crimestats sae``: Fay–Herriot small-area estimates from a CSV of direct estimates.

The command's parser, runner and JSON schema. Its ``--method`` and ``--mse`` choices, the
library's validation and the schema's enums read one table (`crimestats._options`).
"""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any

from .._options import FAY_HERRIOT
from ..errors import InputError
from ._json import NUMBER_OR_NULL, envelope

__all__ = ["add_parser", "run", "schema"]

_EPILOG = """\
The CSV has one row per area: the direct (survey) estimate, its sampling variance or
standard error, and any area-level covariates. Text covariates are treated as categories.
Areas with an empty direct estimate and variance get the synthetic (regression) estimate.

examples:
  crimestats sae crimestats-demo/tables/violence_by_region_and_age.csv \\
      --area area --direct direct --variance variance --covariates age
  crimestats sae forces.csv --area force --direct prevalence --se se \\
      --covariates deprivation,urban --method hb --output estimates.csv
  crimestats sae forces.csv --area force --direct prevalence --se se --json > fit.json
  crimestats sae forces.csv --area force --direct prevalence --se se --mse bootstrap --seed 1

The estimates are in the units of --direct (e.g. percent of adults). Intervals are normal
(EBLUP) or posterior credible intervals (hb) at --level.
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``crimestats sae`` to the command's subparsers."""
    p = subparsers.add_parser(
        "sae", help="Fay–Herriot small-area estimates from a CSV of direct estimates",
        description="Fit the Fay–Herriot area-level model (EBLUP by REML, ML or the "
                    "Fay–Herriot moment method, or hierarchical Bayes) to direct estimates "
                    "with known sampling variances, and print or save each area's estimate, "
                    "RMSE and interval.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=run)
    p.add_argument("csv", help="CSV file, one row per area")
    p.add_argument("--area", required=True, metavar="COL", help="column of unique area labels")
    p.add_argument("--direct", required=True, metavar="COL", help="column of direct estimates")
    spread = p.add_mutually_exclusive_group(required=True)
    spread.add_argument("--variance", metavar="COL", help="column of sampling variances")
    spread.add_argument("--se", metavar="COL",
                        help="column of standard errors (squared to give the variances)")
    p.add_argument("--covariates", metavar="A,B", default="",
                   help="comma-separated covariate columns (default: intercept only)")
    # the choices come from registries, read when needed: a metavar keeps argparse from
    # listing them while the parser is built
    p.add_argument("--method", default="reml", choices=FAY_HERRIOT["method"].cli_choices(),
                   metavar="METHOD", help="variance estimator, or hierarchical Bayes: "
                                          "%(choices)s (default: reml)")
    p.add_argument("--mse", default="analytic", choices=FAY_HERRIOT["mse"].cli_choices(),
                   metavar="MSE", help="MSE estimator of the EBLUP: %(choices)s (default: "
                                       "analytic; bootstrap is seeded by --seed)")
    p.add_argument("--level", type=float, default=0.95, help="interval level (default: 0.95)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed of the posterior draws (hb) or of the bootstrap MSE")
    p.add_argument("--output", metavar="FILE.csv", help="write the estimates to this CSV file")
    p.add_argument("--netcdf", metavar="FILE.nc", help="write the estimates to this netCDF file")
    p.add_argument("--json", action="store_true",
                   help="print a JSON document (schema crimestats-cli/1) instead of text")
    return p


def run(args: argparse.Namespace) -> int:
    """Read the CSV, fit, and report."""
    from ..sae import fay_herriot
    from ._cli_io import Progress, capture_warnings, document, read_table, split_names, write_json

    spread = args.variance or args.se
    covariates = split_names(args.covariates)
    table = read_table(args.csv, required=[args.area, args.direct, spread, *covariates],
                       numeric=[args.direct, spread], unique=args.area)
    for name in covariates:
        _check_covariate(table[name], name, args.csv)
    variance = table[spread] ** 2 if args.se else table[spread]
    data = table.assign(_variance=variance)
    with capture_warnings() as caught:
        with Progress().step(f"Fitting the Fay–Herriot model ({args.method})"):
            fit = fay_herriot(args.direct, "_variance", covariates or None, data=data,
                              areas=args.area, method=args.method, level=args.level,
                              random_seed=args.seed, mse=args.mse)
    estimates = fit.to_dataframe()
    estimates.index.name = "area"
    if args.output:
        estimates.to_csv(args.output)
    if args.netcdf:
        fit.to_netcdf(args.netcdf)
    if args.json:
        model = {"method": fit.method, "level": fit.level, "sigma2_u": fit.sigma2_u,
                 "converged": fit.converged, "iterations": fit.iterations,
                 "coefficients": [{"term": t, "coef": b, "se": s} for t, b, s in
                                  zip(fit.covariate_names, fit.beta, fit.beta_se, strict=True)]}
        write_json(document("sae", file=str(args.csv), rows=len(table), model=model,
                            estimates=estimates, captured=caught), sys.stdout)
        return 0
    for message in caught:
        print(f"crimestats: warning: {message}", file=sys.stderr)
    columns = [c for c in ("direct", "estimate", "rmse", "lower", "upper", "cv", "shrinkage")
               if c in estimates]
    print(fit.summary())
    print()
    print(estimates[columns].to_string(float_format=lambda v: f"{v:.4g}"))
    return 0


def _check_covariate(column: Any, name: str, file: str) -> None:
    """A covariate is numeric or text (categories), not a mix: a mix is a typo in a number."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return
    as_number = pd.to_numeric(column, errors="coerce")
    numbers, text = as_number.notna(), as_number.isna() & column.notna()
    if numbers.any() and text.any():
        rows = np.flatnonzero(text.to_numpy()) + 1
        shown = ", ".join(repr(v) for v in column[text].iloc[:3])
        raise InputError(
            f"Column {name!r} in {file} mixes numbers and text (text in rows "
            f"{', '.join(map(str, rows[:6]))}: {shown}); fix the text, or make every value a "
            "category name (rows counted from 1 after the header)."
        )


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """JSON Schema of ``crimestats sae --json`` (its method names read from the registry)."""
    return envelope(
        "sae",
        model={
            "type": "object",
            "required": ["method", "level", "sigma2_u", "converged", "iterations",
                         "coefficients"],
            "properties": {
                "method": FAY_HERRIOT["method"].enum(),
                "level": {"type": "number"},
                "sigma2_u": NUMBER_OR_NULL,
                "converged": {"type": "boolean"},
                "iterations": {"type": "integer", "minimum": 0},
                "coefficients": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["term", "coef", "se"],
                        "properties": {"term": {"type": "string"}, "coef": NUMBER_OR_NULL,
                                       "se": NUMBER_OR_NULL},
                    },
                },
            },
        },
        record={
            "type": "object",
            "required": ["area", "estimate", "rmse", "lower", "upper", "direct",
                         "direct_variance", "in_sample"],
            "properties": {
                "area": {"type": ["string", "number"]},
                "estimate": NUMBER_OR_NULL,
                "rmse": NUMBER_OR_NULL,
                "lower": NUMBER_OR_NULL,
                "upper": NUMBER_OR_NULL,
                "direct": NUMBER_OR_NULL,
                "direct_variance": NUMBER_OR_NULL,
                "in_sample": {"type": "boolean"},
            },
            "additionalProperties": {"type": ["number", "boolean", "null"]},
        },
    )
