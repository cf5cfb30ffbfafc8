"""``crimestats sae``: Fay–Herriot small-area estimates from a CSV of direct estimates."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from ._cli_io import (
    Progress,
    capture_warnings,
    document,
    read_table,
    split_names,
    write_json,
)
from .errors import InputError


def run(args: argparse.Namespace) -> int:
    """Read the CSV, fit, and report."""
    from .sae import fay_herriot

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
                              random_seed=args.seed)
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


def _check_covariate(column: pd.Series, name: str, file: str) -> None:
    """A covariate is numeric or text (categories), not a mix: a mix is a typo in a number."""
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
