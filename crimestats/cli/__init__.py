"""The ``crimestats`` command: the demo on bundled data, and each method on a user's CSV file.

Exit codes: 0 success; 1 the model could not be fitted to valid data; 2 the command line or
the input file is wrong (the one-line message says which column or rows, and how to fix it).

One module per command (`sae`, `mse`, `changepoint`, `compare`, `demo`, `schema`) holds its
parser, runner and JSON schema; this module assembles the parser and runs a command. Building
the parser imports no numpy or pandas, so ``crimestats --help`` answers at once: each runner
imports what it needs when the command runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from typing import NoReturn

from .. import __version__
from ..errors import EstimationError, InputError
from . import changepoint, compare, demo, mse, sae, schema
from .schema import JSON_SCHEMAS

__all__ = ["COMMANDS", "JSON_SCHEMAS", "build_parser", "main"]

#: The command modules, in the order ``crimestats --help`` lists them.
COMMANDS = (demo, sae, mse, changepoint, compare, schema)

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
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


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
    if not hasattr(args, "run"):
        if as_json:
            return _fail("no command given; see `crimestats --help`.", 2, "UsageError", None,
                         True)
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args))
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
