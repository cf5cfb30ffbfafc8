"""`crimestats mse`: method choices from the registry, LCMCR run length, heterogeneity models."""

from __future__ import annotations

import json
import warnings

import pytest

from crimestats import ConvergenceWarning, DataWarning
from crimestats.cli import JSON_SCHEMAS, main
from crimestats.datasets import load_modern_slavery
from crimestats.hidden import multiple_systems
from crimestats.hidden.methods import method_choices, method_names


@pytest.fixture()
def uk5_csv(tmp_path):
    path = tmp_path / "uk5.csv"
    load_modern_slavery(lists=5).to_csv(path, index=False)
    return path


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_method_choices_and_schema_come_from_the_registry():
    assert set(JSON_SCHEMAS["mse"]["properties"]["model"]["properties"]["method"]["enum"]) \
        == set(method_names())
    assert {"mh_chao", "mth_darroch", "bayes"} <= set(method_choices())


def test_run_length_options_reach_the_sampler(uk5_csv, capsys):
    argv = ["mse", uk5_csv, "--method", "bayes", "--chains", "2", "--burn", "200",
            "--draws", "40", "--thin", "2", "--seed", "3", "--json"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        code, out, _ = _run(argv, capsys)
        fit = multiple_systems(load_modern_slavery(lists=5), "bayes", chains=2, burn=200,
                               draws=40, thin=2, random_seed=3)
    assert code == 0
    doc = json.loads(out)
    assert doc["model"]["method"] == "lcmcr"
    assert doc["model"]["total"] == fit.total and doc["model"]["upper"] == fit.upper


def test_heterogeneity_model_from_the_command_line(uk5_csv, capsys):
    code, out, _ = _run(["mse", uk5_csv, "--method", "mth_chao", "--json"], capsys)
    assert code == 0
    doc = json.loads(out)
    enum = JSON_SCHEMAS["mse"]["properties"]["model"]["properties"]["method"]["enum"]
    assert doc["model"]["method"] == "mth_chao" and "mth_chao" in enum
    fit = multiple_systems(load_modern_slavery(lists=5), "mth_chao")
    assert doc["model"]["total"] == pytest.approx(fit.total, rel=1e-12)


@pytest.mark.parametrize("option,value", [("--burn", "-1"), ("--thin", "0"), ("--draws", "0")])
def test_bad_run_length_is_a_one_line_error(uk5_csv, capsys, option, value):
    code, out, err = _run(["mse", uk5_csv, "--method", "bayes", option, value], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and option[2:] in err


def test_unknown_method_is_refused_by_the_parser(uk5_csv, capsys):
    with pytest.raises(SystemExit):
        main(["mse", str(uk5_csv), "--method", "magic"])
    assert "magic" in capsys.readouterr().err


def test_heterogeneity_warning_reaches_the_command_line(tmp_path, capsys):
    from crimestats.datasets import simulate_capture_histories

    sim = simulate_capture_histories(4000, 4, class_weights=(0.6, 0.4), random_seed=2)
    path = tmp_path / "sim.csv"
    sim.table.to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        code, out, err = _run(["mse", path, "--method", "independence"], capsys)
    assert code == 0 and "heterogeneity" in err
