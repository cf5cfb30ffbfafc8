"""The command line with ``--json`` writes every error as a JSON document on stdout (issue 13),
for every command, with the exit code of the one-line message (2 input, 1 estimation)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_cli import validate

from crimestats.cli import JSON_SCHEMAS, main


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path):
    good = pd.DataFrame({"area": list("abcdef"), "y": [0.1, 0.3, 0.2, 0.4, 0.25, 0.15],
                         "v": [0.01] * 6})
    paths = {}
    for name, frame in {"good": good, "text": good.assign(y=["0.1", "x", "1", "2", "3", "4"]),
                        "huge": good.assign(y=[1, 2, 3, 1e300, 2, 3], v=[1.0] * 6)}.items():
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


@pytest.mark.parametrize(("argv", "code", "kind"), [
    (["sae", "{text}", "--area", "area", "--direct", "y", "--variance", "v"], 2, "InputError"),
    (["sae", "{huge}", "--area", "area", "--direct", "y", "--variance", "v"], 1,
     "EstimationError"),
    (["sae", "{good}", "--area", "area"], 2, "UsageError"),
    (["sae", "{good}", "--area", "area", "--direct", "y", "--variance", "v", "--method", "x"],
     2, "UsageError"),
    (["mse", "{good}", "--count", "nope"], 2, "InputError"),
    (["changepoint", "{good}", "--time", "area", "--value", "nope"], 2, "InputError"),
    (["changepoint", "{good}", "--time", "area", "--value", "y", "--likelihood", "x"], 2,
     "UsageError"),
    (["sae", "{missing}", "--area", "a", "--direct", "y", "--variance", "v"], 2, "InputError"),
    (["unknown-command"], 2, "UsageError"),
])
def test_json_errors(argv, code, kind, files, tmp_path, capsys):
    paths = {**files, "missing": tmp_path / "missing.csv"}
    argv = [a.format(**{k: str(v) for k, v in paths.items()}) for a in argv] + ["--json"]
    got, out, err = _run(argv, capsys)
    assert got == code
    doc = json.loads(out)
    assert validate(doc, JSON_SCHEMAS["error"]) == []
    assert doc["error"]["type"] == kind and doc["error"]["exit_code"] == code
    assert err == ""


def test_without_json_errors_stay_one_line_on_stderr(files, capsys):
    code, out, err = _run(["sae", files["text"], "--area", "area", "--direct", "y",
                           "--variance", "v"], capsys)
    assert code == 2 and out == "" and err.startswith("crimestats: error: ")
    assert err.count("\n") == 1
