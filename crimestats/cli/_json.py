"""The shape shared by the JSON documents of ``crimestats COMMAND --json``.

Every document has ``"schema": "crimestats-cli/1"``; numbers that are not finite are
``null``. Each command module holds its own schema (built with [`envelope`][envelope]); a
failed command prints the document of [`ERROR_SCHEMA`][ERROR_SCHEMA]. The schemas are
documented in the "Command line" guide; the tests validate real output against them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ERROR_SCHEMA", "NUMBER_OR_NULL", "envelope"]

#: A number, or null when it is not finite.
NUMBER_OR_NULL = {"type": ["number", "null"]}

_ENVELOPE_REQUIRED = ["schema", "crimestats_version", "command", "input", "model", "estimates",
                      "warnings"]


def envelope(command: str, model: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """The common shape of a fit command's document: ``model`` and one ``record`` per row."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"crimestats {command} --json",
        "type": "object",
        "required": _ENVELOPE_REQUIRED,
        "properties": {
            "schema": {"const": "crimestats-cli/1"},
            "crimestats_version": {"type": "string"},
            "command": {"const": command},
            "input": {
                "type": "object",
                "required": ["file", "rows"],
                "properties": {"file": {"type": ["string", "null"]},
                               "rows": {"type": ["integer", "null"], "minimum": 0}},
            },
            "model": model,
            "estimates": {"type": "array", "items": record},
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
    }


#: Schema of the document a failed command prints with ``--json``.
ERROR_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "crimestats COMMAND --json, when the command fails",
    "type": "object",
    "required": ["schema", "crimestats_version", "command", "error"],
    "properties": {
        "schema": {"const": "crimestats-cli/1"},
        "crimestats_version": {"type": "string"},
        "command": {"type": ["string", "null"]},
        "error": {
            "type": "object",
            "required": ["type", "message", "exit_code"],
            "properties": {
                "type": {"enum": ["UsageError", "InputError", "EstimationError", "OSError",
                                  "KeyboardInterrupt", "InternalError"]},
                "message": {"type": "string"},
                "exit_code": {"type": "integer", "minimum": 1},
            },
        },
    },
}
