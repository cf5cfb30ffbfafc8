"""JSON Schemas (draft 2020-12) of what ``crimestats COMMAND --json`` prints.

Documented in the "Command line" guide; the tests validate real output against them. Every
document has ``"schema": "crimestats-cli/1"``; numbers that are not finite are ``null``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

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


@functools.lru_cache(maxsize=1)
def mse_schema() -> dict[str, Any]:
    """Schema of ``crimestats mse --json``; its method names come from the method registry."""
    from .hidden.methods import method_names

    return _envelope(
        "mse",
        model={
            "type": "object",
            "required": ["method", "interval", "level", "lists", "terms", "observed", "total",
                         "lower", "upper", "hidden"],
            "properties": {
                "method": {"enum": list(method_names())},
                "interval": {"enum": ["wald", "bootstrap", "posterior"]},
                "level": {"type": "number"},
                "lists": {"type": "array", "items": {"type": "string"}},
                "terms": {"type": "array", "items": {"type": "string"}},
                "observed": {"type": "number", "minimum": 0},
                "total": _NUMBER_OR_NULL,
                "lower": _NUMBER_OR_NULL,
                "upper": _NUMBER_OR_NULL,
                "hidden": _NUMBER_OR_NULL,
            },
        },
        record={
            "type": "object",
            "required": ["stratum", "estimate", "lower", "upper", "observed", "hidden"],
            "properties": {
                "stratum": {"type": ["string", "number"]},
                "estimate": _NUMBER_OR_NULL,
                "lower": _NUMBER_OR_NULL,
                "upper": _NUMBER_OR_NULL,
                "observed": {"type": "number", "minimum": 0},
                "hidden": _NUMBER_OR_NULL,
            },
            "additionalProperties": _NUMBER_OR_NULL,
        },
    )

CHANGEPOINT_SCHEMA = _envelope(
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
            "prob_any_change": {"type": "number", "minimum": 0},
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
                        "estimate": _NUMBER_OR_NULL,
                        "lower": _NUMBER_OR_NULL,
                        "upper": _NUMBER_OR_NULL,
                    },
                    "additionalProperties": _NUMBER_OR_NULL,
                },
            },
        },
    },
    record={
        "type": "object",
        "required": ["time", "y", "prob_change", "estimate", "lower", "upper", "segment"],
        "properties": {
            "time": {"type": ["string", "number"]},
            "y": _NUMBER_OR_NULL,
            "prob_change": {"type": "number", "minimum": 0},
            "estimate": _NUMBER_OR_NULL,
            "lower": _NUMBER_OR_NULL,
            "upper": _NUMBER_OR_NULL,
            "segment": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": _NUMBER_OR_NULL,
    },
)

CHANGEPOINT_MANY_SCHEMA = _envelope(
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
            "prob_national_change": _NUMBER_OR_NULL,
            "national_time": {"type": ["string", "number", "null"]},
            "log_bayes_factor": _NUMBER_OR_NULL,
        },
    },
    record={
        "type": "object",
        "required": ["series", "n_changes", "change_time", "prob_change"],
        "properties": {
            "series": {"type": "string"},
            "n_changes": {"type": "integer", "minimum": 0},
            "change_time": {"type": ["string", "number", "null"]},
            "prob_change": _NUMBER_OR_NULL,
        },
        "additionalProperties": {"type": ["string", "number", "null"]},
    },
)
CHANGEPOINT_MANY_SCHEMA["title"] = "crimestats changepoint --many --json"

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

#: Schema of each command's ``--json`` output, by command name (``error``: any failed command).
class _Schemas(Mapping[str, dict[str, Any]]):
    """The schemas by command; the ``mse`` one is built on first use (it reads the registry)."""

    _fixed: ClassVar[dict[str, dict[str, Any]]] = {
        "sae": SAE_SCHEMA, "changepoint": CHANGEPOINT_SCHEMA,
        "changepoint-many": CHANGEPOINT_MANY_SCHEMA, "demo": DEMO_SCHEMA,
        "error": ERROR_SCHEMA}

    def __getitem__(self, name: str) -> dict[str, Any]:
        return mse_schema() if name == "mse" else self._fixed[name]

    def __iter__(self) -> Iterator[str]:
        return iter(("sae", "mse", "changepoint", "changepoint-many", "demo", "error"))

    def __len__(self) -> int:
        return 6


JSON_SCHEMAS: Mapping[str, dict[str, Any]] = _Schemas()
