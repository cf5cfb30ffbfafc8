"""`crimestats compare`: funnel flags from a CSV file, and its one-line errors."""

from __future__ import annotations

import pandas as pd
from test_cli import validate

from crimestats.cli import main
from crimestats.datasets import load_force_violence


def test_compare_command_lists_flagged_areas(tmp_path, capsys):
    path = tmp_path / "forces.csv"
    load_force_violence().to_csv(path, index=False)
    out_csv = tmp_path / "funnel.csv"
    code = main(["compare", str(path), "--area", "force", "--observed", "recorded_violence",
                 "--exposure", "residents", "--per", "1000", "--output", str(out_csv)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Funnel plot of rates" in out and "City of London" in out and "Kent" in out
    table = pd.read_csv(out_csv, index_col="area")
    assert table.loc["Kent", "flag_95"] == 1 and table.loc["Kent", "flag_99.8"] == 0


def test_compare_command_bad_column(tmp_path, capsys):
    path = tmp_path / "forces.csv"
    load_force_violence().to_csv(path, index=False)
    code = main(["compare", str(path), "--area", "force", "--observed", "nope",
                 "--exposure", "residents"])
    assert code == 2
    assert "no column 'nope'" in capsys.readouterr().err


def test_compare_json_matches_library_and_schema(tmp_path, capsys):
    import json

    import numpy as np

    from crimestats.cli import JSON_SCHEMAS
    from crimestats.compare import funnel

    frame = load_force_violence()
    path = tmp_path / "forces.csv"
    frame.to_csv(path, index=False)
    code = main(["compare", str(path), "--area", "force", "--observed", "recorded_violence",
                 "--exposure", "residents", "--per", "1000", "--json"])
    captured = capsys.readouterr()
    assert code == 0 and captured.err == ""
    doc = json.loads(captured.out)
    assert validate(doc, JSON_SCHEMAS["compare"]) == []
    res = funnel("recorded_violence", "residents", data=frame, areas="force", per=1000)
    assert doc["model"]["target"] == res.target and doc["model"]["phi"] == res.phi
    got = pd.DataFrame(doc["estimates"]).set_index("area")
    np.testing.assert_allclose(got["indicator"], res.to_dataframe()["indicator"], rtol=1e-12)
    assert got.loc["Kent", "flag_95"] == 1


def test_compare_json_error_is_a_json_document(tmp_path, capsys):
    import json

    from crimestats.cli import JSON_SCHEMAS

    path = tmp_path / "forces.csv"
    load_force_violence().to_csv(path, index=False)
    code = main(["compare", str(path), "--area", "force", "--observed", "nope",
                 "--exposure", "residents", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 2 and validate(doc, JSON_SCHEMAS["error"]) == []
    assert "nope" in doc["error"]["message"]
