"""The ``crimestats`` command: the demo on bundled data, and each method on a user's CSV file.

Exit codes: 0 success; 1 the model could not be fitted to valid data; 2 the command line or
the input file is wrong (the one-line message says which column or rows, and how to fix it).

This module holds only the argument parsers, so ``crimestats --help`` answers at once; each
command's work is in a private module imported when the command runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
from typing import Any, NoReturn

from . import __version__
from ._cli_schema import JSON_SCHEMAS
from .errors import EstimationError, InputError

__all__ = ["JSON_SCHEMAS", "build_parser", "main"]

_EPILOG = """\
examples:
  crimestats demo --output crimestats-demo        # the whole job on bundled real data
  crimestats sae crimestats-demo/tables/violence_by_region_and_age.csv \\
      --area area --direct direct --variance variance --covariates age --json
  crimestats mse lists.csv --count count          # how many are on no list
  crimestats changepoint annual.csv --time year --value offences
  crimestats schema sae                           # the JSON Schema of --json output

Run `crimestats COMMAND --help` for each command's options and examples.
Documentation: https://crimestats.readthedocs.io
"""

_DEMO_EPILOG = """\
The demo runs the main job on real data shipped with the package: Fay–Herriot estimates of
the percentage of adults who were victims of violence in each region × age group (Crime
Survey for England and Wales, year ending December 2018) compared with police recorded
violence by force; change points in recorded violence and how much of its rise is
reporting or recording; and the number of victims of modern slavery on no agency's list.
It takes well under a minute and writes report.md, tables/, results/ and figures/
(figures need matplotlib: pip install "crimestats[plot]").

examples:
  crimestats demo                         # writes ./crimestats-demo (or -2, -3, ... if taken)
  crimestats demo --output results/demo   # writes into results/demo
  crimestats demo --json                  # also print a JSON list of the files written
"""

_SAE_EPILOG = """\
The CSV has one row per area: the direct (survey) estimate, its sampling variance or
standard error, and any area-level covariates. Text covariates are treated as categories.
Areas with an empty direct estimate and variance get the synthetic (regression) estimate.

examples:
  crimestats sae crimestats-demo/tables/violence_by_region_and_age.csv \\
      --area area --direct direct --variance variance --covariates age
  crimestats sae forces.csv --area force --direct prevalence --se se \\
      --covariates deprivation,urban --method hb --output estimates.csv
  crimestats sae forces.csv --area force --direct prevalence --se se --json > fit.json

The estimates are in the units of --direct (e.g. percent of adults). Intervals are normal
(EBLUP) or posterior credible intervals (hb) at --level.
"""


_MSE_EPILOG = """\
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

_CHANGEPOINT_EPILOG = """\
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


class _RegistryChoices:
    """Option choices read from a registry when first needed (the parser imports no numpy).

    ``source`` names a function ``"module:function"`` returning the choices.
    """

    def __init__(self, source: str, *first: str) -> None:
        self.source = source
        self.first = first

    def _names(self) -> tuple[str, ...]:
        import importlib

        module, function = self.source.split(":")
        return (*self.first, *getattr(importlib.import_module(module), function)())

    def __contains__(self, value: object) -> bool:
        return value in self._names()

    def __iter__(self) -> Any:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def _command(subparsers: Any, name: str, runner: str, *, help: str, description: str,
             epilog: str | None = None) -> argparse.ArgumentParser:
    """Add a subcommand whose work is ``runner`` (``"module:function"``, imported on use)."""
    parser = subparsers.add_parser(name, help=help, description=description, epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(runner=runner)
    return parser


class _UsageError(Exception):
    """A command-line mistake found by the argument parser (``--json`` mode)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors can become JSON documents (``--json``)."""

    json_errors = False

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        if self.json_errors:
            raise _UsageError(f"{self.prog}: {message}")
        super().error(message)


def build_parser(*, json_errors: bool = False) -> argparse.ArgumentParser:
    """The argument parser of the ``crimestats`` command.

    With ``json_errors`` a command-line mistake raises instead of printing usage, so that
    ``main`` can report it as a JSON document.
    """
    parser_class = type("_Parser", (_Parser,), {"json_errors": json_errors})
    parser = parser_class(
        prog="crimestats",
        description="Crime statistics done properly: small-area estimates of victimisation, "
                    "hidden demand and change points, from the command line.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"crimestats {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = _command(subparsers, "demo", "crimestats._cli_demo:run",
                 help="run the main job end to end on the bundled real data",
                 description="Run the main job end to end on the bundled real data "
                             "(small-area estimates of violence, change points and attribution "
                             "of recorded violence, hidden victims of modern slavery) and "
                             "write tables, results, figures and a report.",
                 epilog=_DEMO_EPILOG)
    p.add_argument("--output", metavar="DIR", default=None,
                   help="folder to write into (created if needed; default: a new "
                        "crimestats-demo folder in the current directory)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--json", action="store_true",
                   help="print a JSON document listing the files written")

    p = _command(subparsers, "sae", "crimestats._cli_sae:run",
                 help="Fay–Herriot small-area estimates from a CSV of direct estimates",
                 description="Fit the Fay–Herriot area-level model (EBLUP by REML, ML or the "
                             "Fay–Herriot moment method, or hierarchical Bayes) to direct "
                             "estimates with known sampling variances, and print or save each "
                             "area's estimate, RMSE and interval.",
                 epilog=_SAE_EPILOG)
    p.add_argument("csv", help="CSV file, one row per area")
    p.add_argument("--area", required=True, metavar="COL", help="column of unique area labels")
    p.add_argument("--direct", required=True, metavar="COL", help="column of direct estimates")
    spread = p.add_mutually_exclusive_group(required=True)
    spread.add_argument("--variance", metavar="COL", help="column of sampling variances")
    spread.add_argument("--se", metavar="COL",
                        help="column of standard errors (squared to give the variances)")
    p.add_argument("--covariates", metavar="A,B", default="",
                   help="comma-separated covariate columns (default: intercept only)")
    p.add_argument("--method", default="reml", choices=["reml", "ml", "fh", "hb"],
                   help="variance estimator, or hierarchical Bayes (default: reml)")
    p.add_argument("--level", type=float, default=0.95, help="interval level (default: 0.95)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed of the posterior draws (hb only)")
    p.add_argument("--output", metavar="FILE.csv", help="write the estimates to this CSV file")
    p.add_argument("--netcdf", metavar="FILE.nc", help="write the estimates to this netCDF file")
    p.add_argument("--json", action="store_true",
                   help="print a JSON document (schema crimestats-cli/1) instead of text")

    p = _command(subparsers, "mse", "crimestats._cli_mse:run",
                 help="how many are on no list: multiple-systems (capture-recapture) estimate",
                 description="Estimate the size of a hidden population (victims of modern "
                             "slavery, people who inject drugs, ...) from how several "
                             "agencies' lists of known cases overlap.",
                 epilog=_MSE_EPILOG)
    p.add_argument("csv", help="CSV file: one 0/1 column per list and a count column")
    p.add_argument("--count", metavar="COL", default="count",
                   help="column of the number of people with each capture history "
                        "(default: count)")
    p.add_argument("--lists", metavar="A,B", default="",
                   help="list columns (default: every column except --count and --strata)")
    p.add_argument("--strata", metavar="COL", help="column of strata fitted separately, summed")
    p.add_argument("--method", default="loglinear", choices=_RegistryChoices("crimestats.hidden.methods:method_choices"),
                   metavar="METHOD",
                   help="model, one of: %(choices)s (default: loglinear, stepwise as R "
                        "SparseMSE; bayes = lcmcr, latent classes; mh_*/mth_*: Rcapture's "
                        "heterogeneity models)")
    p.add_argument("--interval", choices=["wald", "bootstrap", "posterior"],
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

    p = _command(subparsers, "changepoint", "crimestats._cli_changepoint:run",
                 help="when did the level of a series change, with posterior probabilities",
                 description="Find the change points of one series (recorded crimes per "
                             "month, year, ...): exact Bayesian segmentation with the posterior "
                             "probability of a change at each time, or PELT.",
                 epilog=_CHANGEPOINT_EPILOG)
    p.add_argument("csv", help="CSV file, one row per period, oldest first")
    p.add_argument("--time", required=True, metavar="COL",
                   help="column of period labels (checked sorted, unique and regular)")
    p.add_argument("--value", required=True, metavar="COL", help="column of the series")
    p.add_argument("--exposure", metavar="COL",
                   help="population or days per period (counts: the level is then a rate)")
    p.add_argument("--likelihood", default="auto",
                   choices=_RegistryChoices("crimestats.changepoint.segments:model_names",
                                            "auto"),
                   help="segment model (default auto: count_trend for counts averaging 10 or "
                        "more, negbin for smaller counts, log_trend for positive rates, trend "
                        "for other real values)")
    p.add_argument("--method", default="bayes", choices=["bayes", "pelt"],
                   help="exact Bayesian recursion (default) or PELT")
    p.add_argument("--seasonal", default="auto", metavar="N",
                   help="period of the seasonal cycle (12 monthly, 52 weekly, 4 quarterly), "
                        "'auto' (default: from the calendar of the labels, when significant) "
                        "or 'none'")
    p.add_argument("--fill", type=float, metavar="X",
                   help="value of a period absent from the file (0 for police.uk extracts, "
                        "which leave out months with no crime)")
    p.add_argument("--missing", default="error", choices=["error", "skip"],
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

    p = _command(subparsers, "compare", "crimestats._cli_compare:run",
                 help="funnel plot: which areas' rates are unusual for their size",
                 description="Draw funnel-plot control limits (over-dispersed by default) for "
                             "the areas of a CSV and list those outside them.",
                 epilog="examples:\n  crimestats compare forces.csv --area force "
                        "--observed offences --exposure residents --per 1000\n")
    p.add_argument("csv", help="CSV file, one row per area")
    p.add_argument("--area", required=True, metavar="COL", help="column of area labels")
    p.add_argument("--observed", required=True, metavar="COL", help="column of counts")
    p.add_argument("--exposure", required=True, metavar="COL",
                   help="column of exposures (residents; expected counts for --kind ratio)")
    p.add_argument("--kind", default="rate", choices=["rate", "ratio", "proportion"])
    p.add_argument("--method", default="additive",
                   choices=["additive", "multiplicative", "exact", "chisq", "normal"])
    p.add_argument("--per", type=float, default=1.0, help="rates per this many (e.g. 1000)")
    p.add_argument("--output", metavar="FILE.csv", help="write the per-area table to CSV")

    p = _command(subparsers, "schema", "crimestats.cli:_print_schema",
                 help="print the JSON Schema of a command's --json output",
                 description="Print the JSON Schema (draft 2020-12) that a command's --json "
                             "output follows, for tools that consume it.")
    p.add_argument("name", choices=sorted(JSON_SCHEMAS), help="command name")
    return parser


def _print_schema(args: argparse.Namespace) -> int:
    """``crimestats schema NAME``."""
    json.dump(JSON_SCHEMAS[args.name], sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``crimestats`` command; returns the exit code.

    With ``--json`` every error (a wrong command line, a bad input file, a model that cannot
    be fitted) is written to stdout as a JSON document (``crimestats schema error``) with the
    same exit code as the one-line message on stderr otherwise.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    as_json = "--json" in argv
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(json_errors=as_json)
    try:
        args = parser.parse_args(argv)
    except _UsageError as err:
        return _fail(str(err), 2, "UsageError", command, as_json)
    if not hasattr(args, "runner"):
        if as_json:
            return _fail("no command given; see `crimestats --help`.", 2, "UsageError", None,
                         True)
        parser.print_help(sys.stderr)
        return 2
    module, function = args.runner.split(":")
    try:
        return int(getattr(importlib.import_module(module), function)(args))
    except InputError as err:
        return _fail(str(err), 2, "InputError", command, as_json)
    except EstimationError as err:
        return _fail(f"the model could not be fitted: {err}", 1, "EstimationError", command,
                     as_json)
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep Python's exit flush quiet
        return 1
    except OSError as err:
        message = f"{err.strerror or err}: {err.filename}" if err.filename else str(err)
        return _fail(message, 2, "OSError", command, as_json)
    except KeyboardInterrupt:
        return _fail("interrupted", 130, "KeyboardInterrupt", command, as_json)
    except Exception as err:
        if not as_json:
            raise
        traceback.print_exc(file=sys.stderr)
        return _fail(f"internal error ({type(err).__name__}: {err}); please report it.", 1,
                     "InternalError", command, True)


def _fail(message: str, code: int, kind: str, command: str | None, as_json: bool) -> int:
    """Report an error: a one-line message on stderr, or a JSON document on stdout."""
    text = " ".join(message.split())
    if as_json:
        doc = {"schema": "crimestats-cli/1", "crimestats_version": __version__,
               "command": command, "error": {"type": kind, "message": text,
                                             "exit_code": code}}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        print(f"crimestats: error: {text}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
