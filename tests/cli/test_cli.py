"""The `crimestats` command: demo, `sae` on a user's CSV, JSON output against its schema, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from crimestats.cli import JSON_SCHEMAS, main
from crimestats.datasets import load_violence_domains
from crimestats.sae import fay_herriot

# ---------------------------------------------------------------------------------------------
# A small validator for the subset of JSON Schema the documented schemas use
# ---------------------------------------------------------------------------------------------

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_KEYWORDS = {"$schema", "title", "type", "const", "enum", "required", "properties",
             "additionalProperties", "items", "minimum"}


def validate(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Return the list of violations of ``schema`` by ``value`` (empty when valid)."""
    unknown = set(schema) - _KEYWORDS
    assert not unknown, f"validator does not implement {unknown}"
    errors: list[str] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            return [f"{path}: {value!r} is not of type {types}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: {value!r} != {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if "minimum" in schema and _TYPES["number"](value) and value < schema["minimum"]:
        errors.append(f"{path}: {value} < {schema['minimum']}")
    if isinstance(value, dict):
        errors += [f"{path}: missing {key!r}" for key in schema.get("required", [])
                   if key not in value]
        props = schema.get("properties", {})
        for key, item in value.items():
            if key in props:
                errors += validate(item, props[key], f"{path}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += validate(item, schema["additionalProperties"], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected {key!r}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += validate(item, schema["items"], f"{path}[{i}]")
    return errors


def test_validator_catches_violations():
    schema = JSON_SCHEMAS["sae"]
    assert validate({"schema": "crimestats-cli/1"}, schema)  # missing keys
    good = {"schema": "crimestats-cli/1", "crimestats_version": "0", "command": "sae",
            "input": {"file": None, "rows": 1}, "warnings": [],
            "model": {"method": "reml", "level": 0.95, "sigma2_u": 0.1, "converged": True,
                      "iterations": 3, "coefficients": []},
            "estimates": [{"area": "a", "estimate": 1.0, "rmse": None, "lower": 0.0,
                           "upper": 2.0, "direct": 1.0, "direct_variance": 1.0,
                           "in_sample": True, "cv": 0.1}]}
    assert validate(good, schema) == []
    bad = json.loads(json.dumps(good))
    bad["estimates"][0]["in_sample"] = "yes"
    bad["model"]["iterations"] = 2.5
    bad["estimates"][0]["cv"] = "high"
    assert len(validate(bad, schema)) == 3


# ---------------------------------------------------------------------------------------------
# crimestats sae
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def domains_csv(tmp_path: Path) -> Path:
    path = tmp_path / "domains.csv"
    load_violence_domains().to_csv(path, index=False)
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_sae_json_matches_library_and_schema(domains_csv, capsys):
    code, out, err = _run(["sae", domains_csv, "--area", "area", "--direct", "direct",
                           "--variance", "variance", "--covariates", "age", "--json"], capsys)
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert validate(doc, JSON_SCHEMAS["sae"]) == []
    fit = fay_herriot("direct", "variance", ["age"], data=load_violence_domains(), areas="area")
    got = pd.DataFrame(doc["estimates"]).set_index("area")
    np.testing.assert_allclose(got["estimate"], fit.estimates["estimate"].values, rtol=1e-12)
    np.testing.assert_allclose(got["rmse"], fit.estimates["rmse"].values, rtol=1e-12)
    assert got["direct"].isna().sum() == 6  # zero cells: out of sample, null in JSON
    assert doc["model"]["sigma2_u"] == pytest.approx(fit.sigma2_u, rel=1e-12)
    assert [c["term"] for c in doc["model"]["coefficients"]] == list(fit.covariate_names)
    assert doc["input"] == {"file": str(domains_csv), "rows": 70}


def test_sae_standard_errors_equal_variances(domains_csv, tmp_path, capsys):
    base = ["sae", domains_csv, "--area", "area", "--direct", "direct", "--json"]
    _, by_var, _ = _run(base + ["--variance", "variance"], capsys)
    _, by_se, _ = _run(base + ["--se", "standard_error"], capsys)
    a = pd.DataFrame(json.loads(by_var)["estimates"])["estimate"]
    b = pd.DataFrame(json.loads(by_se)["estimates"])["estimate"]
    np.testing.assert_allclose(a, b, rtol=1e-9)


def test_sae_text_output_and_files(domains_csv, tmp_path, capsys):
    csv_out, nc_out = tmp_path / "est.csv", tmp_path / "est.nc"
    code, out, err = _run(["sae", domains_csv, "--area", "area", "--direct", "direct",
                           "--variance", "variance", "--covariates", "age,recorded_per_1000",
                           "--output", csv_out, "--netcdf", nc_out], capsys)
    assert code == 0 and err == ""  # no progress text: stderr is not a terminal
    assert "Fay–Herriot model, method='reml', areas=70" in out and "recorded_per_1000" in out
    table = pd.read_csv(csv_out)
    assert len(table) == 70 and {"area", "estimate", "rmse", "lower", "upper"} <= set(table)
    with xr.open_dataset(nc_out) as back:
        np.testing.assert_allclose(back["estimate"].values, table["estimate"].values)
        assert list(back["area"].values) == list(table["area"])


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


GOOD_ROWS = "a,1.0,0.1,3\nb,2.0,0.2,4\nc,1.5,0.1,5\nd,1.7,0.3,2\n"


@pytest.mark.parametrize("text, flags, fragments", [
    ("area,y,v,x\n" + GOOD_ROWS, ["--direct", "rate"], ["no column 'rate'", "'area', 'y'"]),
    ("area,y,v,x\n" + GOOD_ROWS.replace("2.0", "n.a.").replace("1.7", '"1,7"'), [],
     ["Column 'y'", "rows 2, 4", "'n.a.', '1,7'"]),
    ("area,y,v,x\n" + GOOD_ROWS + "b,1.1,0.2,3\n", [], ["Column 'area'", "'b' (rows 2, 5)"]),
    ("area,y,v,x\n" + GOOD_ROWS.replace(",5\n", ",five\n"), ["--covariates", "x"],
     ["Column 'x'", "mixes numbers and text", "rows 3"]),
    ("area,y,v,x\n" + GOOD_ROWS.replace("0.2", "-0.2"), [], ["variance", "positive", "'b'"]),
    ("area,y,v,x\n" + GOOD_ROWS.replace("0.3,", ","), [], ["missing together", "'d'"]),
    ("area;y;v;x\na;1,0;0,1;3\n", [], ["no columns 'area', 'y', 'v'", "seems to use ';'"]),
    ("", [], ["is empty"]),
    ("area,y,v,x\n", [], ["no data rows"]),
    ('area,y,v,x\na,"1.0\n', [], ["not a well-formed CSV"]),
])
def test_malformed_csv_gives_one_line_message(tmp_path, capsys, text, flags, fragments):
    path = _write(tmp_path, text)
    argv = ["sae", path, "--area", "area", "--direct", "y", "--variance", "v"] + flags
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("crimestats: error: ")
    for fragment in fragments:
        assert fragment in err, err


def test_missing_file_and_usage_errors(tmp_path, capsys):
    code, _, err = _run(["sae", tmp_path / "nope.csv", "--area", "a", "--direct", "y",
                         "--variance", "v"], capsys)
    assert code == 2 and "No such file" in err and err.count("\n") == 1
    code, _, err = _run(["sae", tmp_path, "--area", "a", "--direct", "y", "--variance", "v"],
                        capsys)
    assert code == 2 and "is a folder" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["sae", "x.csv", "--area", "a", "--direct", "y"])  # neither --variance nor --se
    assert exit_info.value.code == 2
    assert main([]) == 2


def test_help_teaches_with_examples(capsys):
    for argv in (["--help"], ["sae", "--help"], ["demo", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
        assert "examples:" in capsys.readouterr().out


def test_schema_command_prints_the_documented_schema(capsys):
    code, out, _ = _run(["schema", "sae"], capsys)
    assert code == 0 and json.loads(out) == JSON_SCHEMAS["sae"]


def test_documented_schemas_equal_the_code():
    """docs/user-guide/cli.md shows each schema in a ```json block after `<!-- schema: NAME -->`.

    The method names of ``mse`` are read from the registry of methods: the page lists those
    registered when it was written, and a method registered since extends the list.
    """
    text = (Path(__file__).parents[2] / "docs" / "user-guide" / "cli.md").read_text()
    for name, schema in JSON_SCHEMAS.items():
        marker = f"<!-- schema: {name} -->"
        assert marker in text, marker
        documented = json.loads(text.split(marker, 1)[1].split("```json", 1)[1].split("```", 1)[0])
        if name == "mse":
            written = documented["properties"]["model"]["properties"]["method"]
            current = schema["properties"]["model"]["properties"]["method"]
            assert set(written["enum"]) <= set(current["enum"])
            written["enum"] = current["enum"]
        assert documented == schema, name


# ---------------------------------------------------------------------------------------------
# crimestats demo
# ---------------------------------------------------------------------------------------------


def test_demo_writes_results_figures_report_and_json_manifest(tmp_path, capsys):
    out_dir = tmp_path / "demo"
    code, out, err = _run(["demo", "--output", out_dir, "--json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert validate(doc, JSON_SCHEMAS["demo"]) == []
    files = set(doc["files"])
    assert {"report.md", "tables/violence_by_region_and_age.csv",
            "results/fay_herriot_reml.nc", "results/fay_herriot_reml.json"} <= files
    assert files == {str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file()}
    report = (out_dir / "report.md").read_text()
    assert "Units: percent of adults" in report and "model-based" in report
    # The report's numbers are the table's numbers.
    table = pd.read_csv(out_dir / "tables" / "violence_by_region_and_age.csv")
    london = table[table["area"] == "London, 16-24"].iloc[0]
    assert f"| London | {london['direct']:.2f} ± {london['standard_error']:.2f} | " \
           f"{london['estimate']:.2f} ± {london['rmse']:.2f} |" in report
    assert doc["headline"]["domains"] == 70 and doc["headline"]["out_of_sample"] == 6
    # Sections 2 and 3: attribution of the rise in recorded violence, hidden victims.
    assert {"tables/violence_attribution_effects.csv", "results/violence_attribution.nc",
            "tables/modern_slavery_estimate.csv"} <= files
    effects = pd.read_csv(out_dir / "tables" / "violence_attribution_effects.csv")
    reporting = effects.set_index("component").loc["reporting"]
    assert f"stepped up by {reporting['step']:.0%}" in report
    assert doc["headline"]["reporting_step_year"] == int(reporting["time"])
    slavery = pd.read_csv(out_dir / "tables" / "modern_slavery_estimate.csv").iloc[0]
    assert f"**{slavery['estimate']:,.0f}**" in report
    # The same data gave the Home Office estimate of 11,313 (Silverman 2014).
    assert round(doc["headline"]["modern_slavery_total"]) == 11_313
    # The results files round-trip.
    with xr.open_dataset(out_dir / "results" / "fay_herriot_reml.nc") as back:
        np.testing.assert_allclose(back["estimate"].values, table["estimate"].values)
    saved = json.loads((out_dir / "results" / "fay_herriot_reml.json").read_text())
    assert saved["type"] == "FayHerriotResult"
    assert saved["estimates"]["coords"]["area"] == table["area"].tolist()
    # Figures, when matplotlib is installed (otherwise the report says they were skipped).
    pngs = sorted(p.name for p in (out_dir / "figures").glob("*.png"))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert pngs == [] and "Figures were skipped" in report
        return
    assert pngs == ["caterpillar.png", "map_recorded_violence.png", "map_violence_16_24.png",
                    "recorded_violence_changepoints.png", "recorded_vs_survey.png",
                    "violence_decomposition.png"]
    for png in pngs:
        assert f"(figures/{png})" in report
        assert (out_dir / "figures" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_default_folder_is_new(tmp_path, monkeypatch, capsys):
    from crimestats.cli import demo

    def fake_run_demo(out: Path, **kwargs: Any) -> dict[str, Any]:
        out.mkdir(parents=True)
        (out / "report.md").write_text("report")
        return {"files": ["report.md"], "headline": {}, "warnings": []}

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "crimestats-demo").mkdir()
    assert main(["demo"]) == 0
    line = capsys.readouterr().out
    assert line.startswith("crimestats demo: wrote 1 file to ") and "crimestats-demo-2" in line
    assert (tmp_path / "crimestats-demo-2" / "report.md").exists()
    assert not any((tmp_path / "crimestats-demo").iterdir())


def test_console_entry_point_runs_without_traceback(tmp_path):
    bad = _write(tmp_path, "area,y,v\na,1,0.1\na,2,0.2\n")
    proc = subprocess.run(
        [sys.executable, "-m", "crimestats.cli", "sae", str(bad), "--area", "area",
         "--direct", "y", "--variance", "v"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        "crimestats: error: Column 'area' in bad.csv must name each area once; duplicated: "
        "'a' (rows 1, 2). Aggregate or remove the repeated rows.")


# ---------------------------------------------------------------------------------------------
# crimestats mse and crimestats changepoint
# ---------------------------------------------------------------------------------------------


def test_mse_json_reproduces_home_office_estimate(tmp_path, capsys):
    from crimestats.datasets import load_modern_slavery
    from crimestats.hidden import multiple_systems

    path = tmp_path / "lists.csv"
    load_modern_slavery(lists=5).to_csv(path, index=False)
    code, out, err = _run(["mse", path, "--json"], capsys)
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert validate(doc, JSON_SCHEMAS["mse"]) == []
    fit = multiple_systems(load_modern_slavery(lists=5))
    assert doc["model"]["total"] == pytest.approx(fit.total, rel=1e-12)
    assert round(doc["model"]["total"]) == 11_313  # Silverman (2014), Home Office
    assert doc["model"]["lists"] == ["LA", "NG", "PFNCA", "GO", "GP"]
    assert doc["estimates"][0]["stratum"] == "all"
    code, out, _ = _run(["mse", path, "--lists", "LA,NG,PFNCA,GO,GP"], capsys)
    assert code == 0 and "total 11,313" in out


def test_mse_bad_list_column(tmp_path, capsys):
    path = _write(tmp_path, "A,B,count\n1,0,60\n0,yes,40\n1,1,20\n")
    code, out, err = _run(["mse", path], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "Column 'B'" in err and "row 2" in err and "'yes'" in err
    code, _, err = _run(["mse", path, "--lists", "A,C"], capsys)
    assert code == 2 and "no column 'C'" in err


def test_changepoint_json_matches_library_and_schema(tmp_path, capsys):
    from crimestats.changepoint import detect
    from crimestats.datasets import VIOLENCE_OFFENCES, load_recorded_crime

    series = (load_recorded_crime("england_wales", offence=VIOLENCE_OFFENCES)
              .groupby("financial_year_ending", as_index=False)["offences"].sum())
    path = tmp_path / "violence.csv"
    series.to_csv(path, index=False)
    code, out, err = _run(["changepoint", path, "--time", "financial_year_ending", "--value",
                           "offences", "--seed", "1", "--json"], capsys)
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert validate(doc, JSON_SCHEMAS["changepoint"]) == []
    result = detect(series.set_index("financial_year_ending")["offences"], random_seed=1)
    assert doc["model"]["changepoints"] == [int(t) for t in result.changepoint_times]
    got = pd.DataFrame(doc["estimates"])
    np.testing.assert_allclose(got["prob_change"], result.estimates["prob_change"].values)
    assert got["time"].tolist() == series["financial_year_ending"].tolist()


def test_changepoint_duplicate_periods(tmp_path, capsys):
    path = _write(tmp_path, "month,n\n2020-01,5\n2020-02,6\n2020-02,7\n2020-03,4\n")
    code, _, err = _run(["changepoint", path, "--time", "month", "--value", "n"], capsys)
    assert code == 2 and "'2020-02' (rows 2, 3)" in err and err.count("\n") == 1


# ---------------------------------------------------------------------------------------------
# Results the workflow uses: JSON and netCDF round trips
# ---------------------------------------------------------------------------------------------


def _workflow_results() -> dict[str, Any]:
    from crimestats.changepoint import attribute, detect
    from crimestats.datasets import (
        VIOLENCE_OFFENCES,
        load_csew_prevalence,
        load_modern_slavery,
        load_recorded_crime,
    )
    from crimestats.hidden import multiple_systems

    domains = load_violence_domains()
    recorded = (load_recorded_crime("england_wales", offence=VIOLENCE_OFFENCES)
                .groupby("financial_year_ending")["offences"].sum())
    prev = load_csew_prevalence("Violence")
    prev = prev[prev["year_ending"] >= 2003]
    survey = pd.DataFrame({"period": prev["year_ending"].to_numpy(),
                           "estimate": prev["prevalence"].to_numpy(),
                           "se": 0.05 * prev["prevalence"].to_numpy()})
    return {
        "reml": fay_herriot("direct", "variance", ["age"], data=domains, areas="area"),
        "hb": fay_herriot("direct", "variance", ["age"], data=domains, areas="area",
                          method="hb", random_seed=1, draws=200),
        "changepoint": detect(recorded, random_seed=1, draws=100),
        "attribution": attribute(recorded, survey, population=np.full(16, 5.6e7),
                                 random_seed=1, draws=200),
        "mse": multiple_systems(load_modern_slavery(lists=5)),
    }


def test_results_round_trip_through_json_and_netcdf(tmp_path):
    for name, result in _workflow_results().items():
        doc = result.to_dict()
        assert json.loads(json.dumps(doc, allow_nan=False)) == doc, name
        est = doc["estimates"]
        for var, payload in est["data_vars"].items():
            values = np.asarray(payload["data"], dtype=float)
            original = result.estimates[var].values.astype(float)
            np.testing.assert_allclose(values, np.where(np.isfinite(original), original, np.nan),
                                       rtol=0, atol=0, err_msg=f"{name}.{var}")
        path = tmp_path / f"{name}.nc"
        result.to_netcdf(path)
        with xr.open_dataset(path) as back:
            back = back.load()
        for var in result.estimates.data_vars:
            np.testing.assert_array_equal(back[var].values, result.estimates[var].values,
                                          err_msg=f"{name}.{var}")
        for dim in result.estimates.dims:
            assert list(back[dim].values) == list(result.estimates[dim].values), (name, dim)


def test_progress_is_shown_only_on_a_terminal():
    import io

    from crimestats.cli._cli_io import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        with Progress(stream).step("Fitting"):
            pass
        text = stream.getvalue()
        assert (text.startswith("Fitting …") and text.endswith(" s\n")) if shown else text == ""


def test_demo_without_matplotlib_says_figures_were_skipped(tmp_path, monkeypatch):
    import warnings

    from crimestats.cli import demo
    from crimestats.cli.demo import analysis, report

    class Part:
        def __init__(self, k: int) -> None:
            self.k = k

        def headline(self) -> dict[str, Any]:
            return {f"part{self.k}": self.k}

    def analyse(k: int) -> Any:
        def run(progress: Any) -> Part:
            warnings.warn("something to note", stacklevel=1)
            return Part(k)
        return run

    def write(out: Path, part: Part, *, draw: Any, progress: Any) -> list[str]:
        assert draw is None
        return ["", f"## part {part.k}"]

    for k in range(3):
        monkeypatch.setattr(analysis, f"fake{k}", analyse(k), raising=False)
    monkeypatch.setattr(report, "fake_write", write, raising=False)
    monkeypatch.setattr(demo, "SECTIONS", tuple((f"fake{k}", "fake_write") for k in range(3)))
    monkeypatch.setattr(report, "plotter", lambda: None)  # as when matplotlib is missing
    manifest = demo.run_demo(tmp_path / "out", figures=True)
    text = (tmp_path / "out" / "report.md").read_text()
    assert "Figures were skipped: matplotlib is not installed" in text
    assert manifest["headline"] == {"part0": 0, "part1": 1, "part2": 2}
    assert manifest["files"] == ["report.md"]
    assert text.count("UserWarning: something to note") == 3 and "## part 2" in text


def test_sae_hierarchical_bayes_json(tmp_path, capsys):
    rows = "\n".join(f"a{i},{1 + 0.3 * i + (-1) ** i * 0.2},{0.05 + 0.01 * i},{0.1 * i}"
                     for i in range(12))
    path = _write(tmp_path, "area,y,v,x\n" + rows + "\n")
    argv = ["sae", path, "--area", "area", "--direct", "y", "--variance", "v",
            "--covariates", "x", "--method", "hb", "--seed", "3", "--level", "0.9", "--json"]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert validate(doc, JSON_SCHEMAS["sae"]) == []
    assert doc["model"]["method"] == "hb" and doc["model"]["level"] == 0.9
    assert all("sd" in record for record in doc["estimates"])
    _, again, _ = _run(argv, capsys)
    assert json.loads(again)["estimates"] == doc["estimates"]  # same seed, same numbers
    code, _, err = _run(argv[:-3] + ["--level", "1.5"], capsys)
    assert code == 2 and "`level` must be in (0, 1)" in err
