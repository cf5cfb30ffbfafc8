"""Options declared once: validation, command-line choices and JSON-schema enums agree."""

from __future__ import annotations

import argparse

import pytest

from crimestats import InputError, _options
from crimestats.cli import JSON_SCHEMAS, build_parser
from crimestats.hidden.methods import method_names
from crimestats.sae.area_level.mse import MSE_ESTIMATORS
from crimestats.sae.area_level.variance import VARIANCE_METHODS

TABLES = {name: getattr(_options, name) for name in _options.__all__ if name != "Choice"}


def _choices(command: str, option: str) -> list[str]:
    """The ``choices`` argparse holds for ``option`` of ``command``."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices[command]._actions if option in a.option_strings)
    return list(action.choices)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_declared_option_validates_its_own_values(table):
    for name, choice in TABLES[table].items():
        assert choice.name == name and choice.canonical()
        for value in choice.choices():
            assert choice.check(value.upper()) in choice.canonical()
        with pytest.raises(InputError, match=f"`{name}` must be one of"):
            choice.check("not-an-option")
        assert choice.enum() == {"enum": list(choice.canonical())}


def test_registries_are_the_values():
    assert _options.FAY_HERRIOT["method"].canonical() == (*VARIANCE_METHODS, "hb")
    assert _options.FAY_HERRIOT["mse"].canonical() == tuple(MSE_ESTIMATORS)
    assert _options.MULTIPLE_SYSTEMS["method"].canonical() == method_names()
    assert _options.MULTIPLE_SYSTEMS["method"].check("bayes") == "lcmcr"


def test_command_line_and_schemas_read_the_same_table():
    sae, mse = _options.FAY_HERRIOT, _options.MULTIPLE_SYSTEMS
    assert _choices("sae", "--method") == list(sae["method"].choices())
    assert _choices("sae", "--mse") == list(sae["mse"].choices())
    assert _choices("mse", "--method") == list(mse["method"].choices())
    assert _choices("mse", "--interval") == list(mse["interval"].choices())
    assert _choices("compare", "--kind") == list(_options.FUNNEL["kind"].choices())
    assert _choices("compare", "--method") == list(_options.FUNNEL["method"].choices())
    model = JSON_SCHEMAS["sae"]["properties"]["model"]["properties"]
    assert model["method"] == sae["method"].enum()
    model = JSON_SCHEMAS["mse"]["properties"]["model"]["properties"]
    assert model["method"] == mse["method"].enum() and model["interval"] == mse["interval"].enum()
