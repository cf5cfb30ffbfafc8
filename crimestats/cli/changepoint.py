"""``crimestats changepoint``: change points of one series, or of many (``--many``).

The command's parser and JSON schemas. Its runner is `_cli_changepoint` (moved here as it
was, while the changepoint options change on another branch).
"""

from __future__ import annotations

import argparse
from typing import Any

from ._json import NUMBER_OR_NULL, envelope

__all__ = ["CHANGEPOINT_MANY_SCHEMA", "CHANGEPOINT_SCHEMA", "add_parser", "run"]

_EPILOG = """\
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


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``crimestats changepoint`` to the command's subparsers."""
    p = subparsers.add_parser(
        "changepoint", help="when did the level of a series change, with posterior probabilities",
        description="Find the change points of one series (recorded crimes per month, year, "
                    "...): exact Bayesian segmentation with the posterior probability of a "
                    "change at each time, or PELT.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=run)
    p.add_argument("csv", help="CSV file, one row per period in time order")
    p.add_argument("--time", required=True, metavar="COL", help="column of period labels")
    p.add_argument("--value", required=True, metavar="COL", help="column of the series")
    p.add_argument("--exposure", metavar="COL",
                   help="population or days per period (counts: the level is then a rate)")
    p.add_argument("--likelihood", default="auto",
                   choices=["auto", "poisson", "negbin", "normal", "normal_mean"],
                   help="segment model (default: negbin for counts, normal otherwise)")
    p.add_argument("--method", default="bayes", choices=["bayes", "pelt"],
                   help="exact Bayesian recursion (default) or PELT")
    p.add_argument("--seasonal", type=int, metavar="N",
                   help="period of the seasonal cycle (12 monthly, 52 weekly, 4 quarterly)")
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
    return p


def run(args: argparse.Namespace) -> int:
    """Run the command (see `_cli_changepoint`)."""
    from . import _cli_changepoint

    return _cli_changepoint.run(args)


def __getattr__(name: str) -> Any:
    """``detect`` and ``detect_many`` of `crimestats.changepoint`, for `_cli_changepoint`.

    That module was moved here unchanged and imports them relatively (``from .changepoint
    import detect``), which now names this module; they are imported on first use.
    """
    if name in ("detect", "detect_many"):
        from .. import changepoint

        return getattr(changepoint, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: JSON Schema of ``crimestats changepoint --json``.
CHANGEPOINT_SCHEMA = envelope(
    "changepoint",
    model={
        "type": "object",
        "required": ["method", "likelihood", "level", "changepoints", "n_changes_prob",
                     "segments"],
        "properties": {
            "method": {"enum": ["bayes", "pelt"]},
            "likelihood": {"type": "string"},
            "level": {"type": "number"},
            "changepoints": {"type": "array", "items": {"type": ["string", "number"]}},
            "n_changes_prob": {"type": "array", "items": {"type": "number", "minimum": 0}},
            "segments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["start", "end", "start_time", "estimate", "lower", "upper"],
                    "properties": {
                        "start": {"type": "integer", "minimum": 0},
                        "end": {"type": "integer", "minimum": 0},
                        "start_time": {"type": ["string", "number"]},
                        "estimate": NUMBER_OR_NULL,
                        "lower": NUMBER_OR_NULL,
                        "upper": NUMBER_OR_NULL,
                    },
                    "additionalProperties": NUMBER_OR_NULL,
                },
            },
        },
    },
    record={
        "type": "object",
        "required": ["time", "y", "prob_change", "estimate", "lower", "upper", "segment"],
        "properties": {
            "time": {"type": ["string", "number"]},
            "y": NUMBER_OR_NULL,
            "prob_change": {"type": "number", "minimum": 0},
            "estimate": NUMBER_OR_NULL,
            "lower": NUMBER_OR_NULL,
            "upper": NUMBER_OR_NULL,
            "segment": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": NUMBER_OR_NULL,
    },
)

#: JSON Schema of ``crimestats changepoint --many --json``.
CHANGEPOINT_MANY_SCHEMA = envelope(
    "changepoint",
    model={
        "type": "object",
        "required": ["method", "mode", "likelihood", "level", "series_columns", "n_series",
                     "n_times", "window", "prob_national_change", "national_time"],
        "properties": {
            "method": {"const": "bayes"},
            "mode": {"const": "many"},
            "likelihood": {"type": "string"},
            "level": {"type": "number"},
            "series_columns": {"type": "array", "items": {"type": "string"}},
            "n_series": {"type": "integer", "minimum": 1},
            "n_times": {"type": "integer", "minimum": 1},
            "window": {"type": "integer", "minimum": 0},
            "prob_national_change": NUMBER_OR_NULL,
            "national_time": {"type": ["string", "number", "null"]},
            "log_bayes_factor": NUMBER_OR_NULL,
        },
    },
    record={
        "type": "object",
        "required": ["series", "n_changes", "change_time", "prob_change"],
        "properties": {
            "series": {"type": "string"},
            "n_changes": {"type": "integer", "minimum": 0},
            "change_time": {"type": ["string", "number", "null"]},
            "prob_change": NUMBER_OR_NULL,
        },
        "additionalProperties": {"type": ["string", "number", "null"]},
    },
)
CHANGEPOINT_MANY_SCHEMA["title"] = "crimestats changepoint --many --json"
