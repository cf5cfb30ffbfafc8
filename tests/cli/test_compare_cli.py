"""`crimestats compare`: funnel flags from a CSV file, and its one-line errors."""

from __future__ import annotations

import pandas as pd

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
