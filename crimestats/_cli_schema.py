"""JSON Schemas (draft 2020-12) of what ``crimestats COMMAND --json`` prints.

Documented in the "Command line" guide; the tests validate real output against them. Every
document has ``"schema": "crimestats-cli/1"``; numbers that are not finite are ``null``.
"""

from __future__ import annotations

from typing import Any

_NUMBER_OR_NULL = {"type": ["number", "null"]}

_ENVELOPE_REQUIRED = ["schema", "crimestats_version", "command", "input", "model", "estimates",
                      "warnings"]


def _envelope(command: str, model: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """The common shape of a fit command's document."""
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


SAE_SCHEMA = _envelope(
    "sae",
    model={
        "type": "object",
        "required": ["method", "level", "sigma2_u", "converged", "iterations", "coefficients"],
        "properties": {
            "method": {"enum": ["reml", "ml", "fh", "hb"]},
            "level": {"type": "number"},
            "sigma2_u": _NUMBER_OR_NULL,
            "converged": {"type": "boolean"},
            "iterations": {"type": "integer", "minimum": 0},
            "coefficients": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["term", "coef", "se"],
                    "properties": {"term": {"type": "string"}, "coef": _NUMBER_OR_NULL,
                                   "se": _NUMBER_OR_NULL},
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
            "estimate": _NUMBER_OR_NULL,
            "rmse": _NUMBER_OR_NULL,
            "lower": _NUMBER_OR_NULL,
            "upper": _NUMBER_OR_NULL,
            "direct": _NUMBER_OR_NULL,
            "direct_variance": _NUMBER_OR_NULL,
            "in_sample": {"type": "boolean"},
        },
        "additionalProperties": {"type": ["number", "boolean", "null"]},
    },
)

DEMO_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "crimestats demo --json",
    "type": "object",
    "required": ["schema", "crimestats_version", "command", "output", "seconds", "files",
                 "headline", "warnings"],
    "properties": {
        "schema": {"const": "crimestats-cli/1"},
        "crimestats_version": {"type": "string"},
        "command": {"const": "demo"},
        "output": {"type": "string"},
        "seconds": {"type": "number", "minimum": 0},
        "files": {"type": "array", "items": {"type": "string"}},
        "headline": {"type": "object",
                     "additionalProperties": {"type": ["number", "string", "null"]}},
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
}

#: Schema of each command's ``--json`` output, by command name.
JSON_SCHEMAS: dict[str, dict[str, Any]] = {"sae": SAE_SCHEMA, "demo": DEMO_SCHEMA}
