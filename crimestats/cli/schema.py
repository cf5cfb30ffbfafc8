"""``crimestats schema NAME``: the JSON Schema of a command's ``--json`` output.

[`JSON_SCHEMAS`][JSON_SCHEMAS] maps each name to the schema its command module holds; the
schemas whose enums read a registry are built on first use (so importing the command line
imports no numpy).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from . import changepoint, compare, demo, mse, sae
from ._json import ERROR_SCHEMA

__all__ = ["JSON_SCHEMAS", "add_parser", "run"]

_SOURCES: dict[str, Callable[[], dict[str, Any]]] = {
    "sae": sae.schema,
    "mse": mse.schema,
    "changepoint": lambda: changepoint.CHANGEPOINT_SCHEMA,
    "changepoint-many": lambda: changepoint.CHANGEPOINT_MANY_SCHEMA,
    "compare": compare.schema,
    "demo": lambda: demo.DEMO_SCHEMA,
    "error": lambda: ERROR_SCHEMA,
}


class _Schemas(Mapping[str, dict[str, Any]]):
    """The schemas by command name (``error``: any failed command), each built on first use."""

    def __getitem__(self, name: str) -> dict[str, Any]:
        return _SOURCES[name]()

    def __iter__(self) -> Iterator[str]:
        return iter(_SOURCES)

    def __len__(self) -> int:
        return len(_SOURCES)


#: Schema of each command's ``--json`` output, by command name (``error``: any failed command).
JSON_SCHEMAS: Mapping[str, dict[str, Any]] = _Schemas()


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``crimestats schema`` to the command's subparsers."""
    p = subparsers.add_parser(
        "schema", help="print the JSON Schema of a command's --json output",
        description="Print the JSON Schema (draft 2020-12) that a command's --json output "
                    "follows, for tools that consume it.")
    p.set_defaults(run=run)
    p.add_argument("name", choices=sorted(JSON_SCHEMAS), help="command name")
    return p


def run(args: argparse.Namespace) -> int:
    """Print the schema named on the command line."""
    json.dump(JSON_SCHEMAS[args.name], sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
