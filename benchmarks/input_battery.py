"""Battery of bad and awkward inputs for every public estimation function.

The cases are generated from the specs of sae and survey (``tests/input_harness.py``), plus the
named tables of the test suite for changepoint, compare, calendar, the police.uk reader,
``fay_herriot_many`` and the ``changepoint``/``compare`` commands (``TABLES``).

Each case runs in its own (forked) process with a time limit, as the battery of issue 13 did,
and is classified by ``tests/input_harness.py``:

* ``input``: a clear `crimestats.InputError`;
* ``other``: another crimestats error (`EstimationError`);
* ``ok``: a result with every promised number finite (``warned``: non-finite numbers with a
  crimestats warning that says why);
* ``generic``: a numpy/scipy/pandas/Python exception (a bug);
* ``silent``: NaN/inf where a number is promised and no warning, a result that contradicts
  the case, or an invalid input accepted (a bug);
* ``label``: a result paired by position although its inputs were labelled (a bug);
* ``hang``: still running at the time limit (a bug); ``crash``: the process died.

Run from the project root::

    python benchmarks/input_battery.py                 # every case, 2 processes at a time
    python benchmarks/input_battery.py --only fay_herriot --show bad
    python benchmarks/input_battery.py --timeout 60 --jobs 1 --show all
    python benchmarks/input_battery.py --tables           # only the named tables of tests/

The table's figures are recorded in docs/validation/index.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from input_harness import (  # noqa: E402
    AWKWARD,
    INVALID,
    Outcome,
    cli_outcome,
    is_invalid,
    labelled_case,
    mutate,
    outcome,
    same_by_label,
    specs,
)

COLUMNS = ("input", "other", "ok", "warned", "generic", "silent", "label", "hang", "crash")
_KIND_TO_COLUMN = {"input_error": "input", "crimestats_error": "other", "ok": "ok",
                   "warned": "warned", "generic": "generic", "silent_nan": "silent",
                   "silent_wrong": "silent", "hang": "hang"}


class Case:
    """One named call: ``run()`` returns an Outcome; ``invalid`` cases must raise InputError."""

    def __init__(self, function: str, name: str, run: Callable[[], Outcome], *,
                 invalid: bool = False) -> None:
        self.function, self.name, self.run, self.invalid = function, name, run, invalid


def _column(out: Outcome, invalid: bool) -> str:
    if invalid and out.kind in ("ok", "warned"):
        return "silent"
    if out.kind == "silent_wrong" and "by position" in out.detail:
        return "label"          # labelled inputs paired by position
    return _KIND_TO_COLUMN[out.kind]


# --------------------------------------------------------------------------------------------
# Cases generated from the specs
# --------------------------------------------------------------------------------------------


#: Functions returning the specs to batter (add another package's here).
SPEC_SOURCES: list[Callable[[], list[Any]]] = [specs]


def _spec_cases(m: int = 8) -> list[Case]:
    return [case for source in SPEC_SOURCES for spec in source() for case in _cases_for(spec, m)]


def _cases_for(spec: Any, m: int) -> list[Case]:
    """The generated cases of one spec: every mutation of every array argument, and more."""
    cases: list[Case] = []

    def add(name: str, kwargs: dict[str, Any] | Callable[[], dict[str, Any]], *,
            invalid: bool = False, check: Callable[[Any], str | None] | None = None) -> None:
        def run() -> Outcome:
            return spec.run(kwargs() if callable(kwargs) else kwargs, check)
        cases.append(Case(spec.name, name, run, invalid=invalid))

    rng = np.random.default_rng(13)
    base = spec.make(m, rng)
    add("valid", base)
    labels = [f"area{i}" for i in range(m)]
    for arg, kind in spec.arrays.items():
        for mname, mutation in INVALID[kind].items():
            if not is_invalid(spec, mname):
                continue
            extra = {spec.areas: labels} if mname.startswith("series_") and spec.areas else {}
            add(f"{arg}:{mname}", lambda arg=arg, mutation=mutation, extra=extra: {
                **mutate(spec, base, arg, mutation, rng), **extra}, invalid=True)
        for mname, mutation in AWKWARD[kind].items():
            add(f"{arg}:{mname}", lambda arg=arg, mutation=mutation:
                mutate(spec, base, arg, mutation, rng))
    for small in (1, 2, 3):
        add(f"only_{small}_units", lambda small=small: spec.make(
            small, np.random.default_rng(small)))
    add("level_0", {**base, "level": 0.0}, invalid=True)
    add("level_text", {**base, "level": "high"}, invalid=True)
    add("level_nan", {**base, "level": float("nan")}, invalid=True)
    if spec.areas is not None:
        plain, shuffled, labs = labelled_case(spec, m, np.random.default_rng(5))

        def by_label(kwargs: dict[str, Any]) -> Outcome:
            ref = spec.run(plain)
            if ref.result is None:
                return Outcome("crimestats_error", f"reference fit failed: {ref.detail}")
            return spec.run(kwargs, same_by_label(ref.result, labs))

        first = next(iter(spec.arrays))
        relabel = {**plain, first: shuffled[first], spec.areas: labs[::-1]}
        for name in [*spec.arrays, *spec.columns][1:]:   # plain arrays follow `areas`
            if plain.get(name) is not None and np.ndim(plain[name]) >= 1:
                relabel[name] = np.asarray(plain[name])[::-1] if name not in spec.columns \
                    else np.asarray(plain[name])[:, ::-1]
        cases.append(Case(spec.name, "labelled_shuffled", lambda: by_label(shuffled)))
        cases.append(Case(spec.name, "areas_reorders_series", lambda: by_label(relabel)))
        add("areas_duplicated", {**base, spec.areas: ["a"] * m}, invalid=True)
        add("areas_too_short", {**base, spec.areas: labels[:-1]}, invalid=True)
    return cases


# --------------------------------------------------------------------------------------------
# Named cases of issue 13 and functions without a generic spec
# --------------------------------------------------------------------------------------------


def _named_cases() -> list[Case]:
    from crimestats import sae, survey
    from crimestats.datasets import simulate_survey

    cases: list[Case] = []

    def add(function: str, name: str, call: Callable[[], Any], *, invalid: bool = False,
            promised: tuple[str, ...] = ("estimate", "rmse", "sd", "lower", "upper"),
            scalars: tuple[str, ...] = (), check: Callable[[Any], str | None] | None = None
            ) -> None:
        cases.append(Case(function, name, lambda: outcome(call, promised=promised,
                                                          scalars=scalars, check=check),
                          invalid=invalid))

    counts = [12, 30, 0, np.nan, 8, 20]
    expo = [2000, 5000, 800, 6000, 2500, 3000]

    def no_data_area(res: Any) -> str | None:
        area = res.estimates.isel(area=3)
        est, low, high = (float(area[k]) for k in ("estimate", "lower", "upper"))
        if bool(area["in_sample"]) or float(area["effective_exposure"]) != 6000.0 \
                or not (low < est < high < 1e4):
            return f"no-data area estimated {est:.4g} per 1,000 ({low:.3g}-{high:.3g})"
        return None

    add("sae.poisson_lognormal", "issue:nan_count_area", lambda: sae.poisson_lognormal(
        counts, expo, per=1000), check=no_data_area)
    add("sae.poisson_lognormal", "issue:all_zero_counts", lambda: sae.poisson_lognormal(
        [0, 0, 0, 0, 0], [100, 200, 300, 400, 500]))
    add("sae.poisson_lognormal", "issue:exposure_1e-300", lambda: sae.poisson_lognormal(
        [1, 2, 3, 4, 5], [1e-300] * 5))
    for method in ("reml", "ml", "fh", "hb"):
        add(f"sae.fay_herriot[{method}]", "issue:direct_1e300", lambda method=method:
            sae.fay_herriot([1, 2, 3, 1e300, 2, 3], [1] * 6, method=method),
            scalars=("sigma2_u", "beta"))
    add("sae.fay_herriot[hb]", "issue:variance_1e-300", lambda: sae.fay_herriot(
        [1.0, 2, 3, 4, 2, 3], [1e-300] * 6, method="hb"))
    add("sae.fay_herriot[spatial]", "issue:direct_1e300_proximity", lambda: sae.fay_herriot(
        [1, 2, 3, 1e300, 2, 3], [1] * 6, proximity=[(i, (i + 1) % 6) for i in range(6)]))
    add("sae.fay_herriot[reml]", "issue:areas_relabels_series", lambda: sae.fay_herriot(
        pd.Series([1.0, 2, 3, 4, 5], index=list("abcde")), [1.0] * 5, areas=list("edcba")),
        check=lambda r: None if float(r.estimates["direct"].sel(area="a")) == 1.0
        else "area 'a' published with another area's direct estimate")
    add("sae.unit_level", "issue:nan_population_size", lambda: sae.unit_level(
        np.arange(12.0) + np.random.default_rng(1).normal(size=12),
        pd.DataFrame({"x": np.arange(12.0) % 5}), np.repeat([0, 1, 2, 3], 3),
        pd.DataFrame({"x": [1.0, 2, 3, 4]}), pd.Series([10.0, np.nan, 10, 10])),
        invalid=True)
    rng = np.random.default_rng(3)
    dom = np.repeat(np.arange(6), 5)
    x = rng.normal(size=30)
    yy = 1 + 2 * x + rng.normal(0, 0.5, 6)[dom] + rng.normal(size=30)
    means = pd.DataFrame({"x": rng.normal(0, 0.3, 6)})
    sizes = pd.Series(rng.integers(50, 100, 6))
    perm = rng.permutation(30)
    reference = sae.unit_level(yy, pd.DataFrame({"x": x}), dom, means, sizes)
    add("sae.unit_level", "issue:y_series_vs_covariate_frame", lambda: sae.unit_level(
        pd.Series(yy), pd.DataFrame({"x": x}).iloc[perm], pd.Series(dom), means, sizes),
        check=lambda r: None if np.allclose(r.sigma2_e, reference.sigma2_e)
        else "y and covariates paired by position")
    add("sae.logit_binomial", "issue:fractional_sample_size", lambda: sae.logit_binomial(
        [0.1, 0.2, 0.15, 0.3, 0.25], [100.5, 80, 90, 70, 60]), invalid=True)
    add("sae.arcsin_fay_herriot", "issue:fractional_sample_size",
        lambda: sae.arcsin_fay_herriot([0.1, 0.2, 0.15, 0.3, 0.25], [100.5, 80, 90, 70, 60]),
        invalid=True)
    for name, p, n in (("all_zero", [0.0] * 6, [50] * 6), ("all_one", [1.0] * 6, [50] * 6),
                       ("huge_n", [0.1, 0.2, 0.1, 0.3, 0.2, 0.1], [1e15] * 6),
                       ("tiny_n", [0.1, 0.2, 0.1, 0.3, 0.2, 0.1], [1e-9] * 6)):
        add("sae.logit_binomial", f"extreme:{name}", lambda p=p, n=n: sae.logit_binomial(p, n))
        add("sae.arcsin_fay_herriot", f"extreme:{name}",
            lambda p=p, n=n: sae.arcsin_fay_herriot(p, n))
    add("sae.mrp", "issue:no_respondents", lambda: sae.mrp(
        pd.DataFrame({"victim": [], "area": [], "age": []}),
        pd.DataFrame({"area": ["a", "a", "b", "b"], "age": ["y", "o"] * 2,
                      "adults": [10, 20, 30, 40]}),
        outcome="victim", area="area", covariates=["age"], population="adults"),
        invalid=True)
    people, cells = _mrp_tables()
    mrp_kw = {"outcome": "victim", "area": "area", "covariates": ["age"],
              "population": "adults"}
    add("sae.mrp", "valid", lambda: sae.mrp(people, cells, **mrp_kw))
    for name, frame in _bad_frames(people, "victim", ["area", "age"]):
        add("sae.mrp", f"respondents:{name}", lambda frame=frame: sae.mrp(frame, cells,
                                                                         **mrp_kw), invalid=True)
    for name, frame in _bad_frames(cells, "adults", ["area", "age"]):
        add("sae.mrp", f"cells:{name}", lambda frame=frame: sae.mrp(people, frame, **mrp_kw),
            invalid=True)
    add("sae.mrp", "all_victims", lambda: sae.mrp(people.assign(victim=1), cells, **mrp_kw))
    add("sae.mrp", "no_victims", lambda: sae.mrp(people.assign(victim=0), cells, **mrp_kw))
    add("sae.mrp", "huge_population", lambda: sae.mrp(people, cells.assign(adults=1e300),
                                                      **mrp_kw))

    sim = simulate_survey(n_areas=12, random_seed=3)
    direct_kw = {"y": "victim", "area": "area", "weight": "weight", "strata": "stratum",
                 "psu": "psu"}
    direct = survey.direct_estimates(sim.respondents, **direct_kw)
    add("survey.smooth_variances", "valid", lambda: survey.smooth_variances(direct),
        promised=())
    add("survey.smooth_variances", "issue:dataframe", lambda: survey.smooth_variances(
        pd.DataFrame({"estimate": [1.0], "variance": [1.0], "n": [1], "flag": ["ok"]})),
        invalid=True)
    add("survey.smooth_variances", "none", lambda: survey.smooth_variances(None),
        invalid=True)
    add("survey.smooth_variances", "loglinear_too_few", lambda: survey.smooth_variances(
        survey.direct_estimates(sim.respondents.head(40), **direct_kw), method="loglinear"))
    add("survey.smooth_variances", "min_n_text", lambda: survey.smooth_variances(
        direct, min_n="5"), invalid=True)
    for name, frame in _bad_frames(sim.respondents, "victim", ["area", "stratum", "psu"],
                                   negative=False):
        add("survey.direct_estimates", f"data:{name}", lambda frame=frame:
            survey.direct_estimates(frame, **direct_kw), invalid=True, promised=())
    for name, frame in _bad_frames(sim.respondents, "weight", []):
        add("survey.direct_estimates", f"weight:{name}", lambda frame=frame:
            survey.direct_estimates(frame, **direct_kw), invalid=True, promised=())
    add("survey.direct_estimates", "huge_outcome", lambda: survey.direct_estimates(
        sim.respondents.assign(victim=sim.respondents["victim"] * 1e300), **direct_kw),
        promised=())
    add("survey.direct_estimates", "huge_weights", lambda: survey.direct_estimates(
        sim.respondents.assign(weight=1e300), **direct_kw), promised=())
    add("survey.direct_estimates", "netcdf_round_trip", lambda: _netcdf_round_trip(
        survey.direct_estimates(sim.respondents, **direct_kw)), promised=())

    y6 = np.array([0.1, 0.3, 0.2, 0.4, 0.25, 0.15, 0.3, 0.2])
    fit = sae.fay_herriot(y6, np.full(8, 0.01))
    add("sae.diagnostics", "valid", lambda: sae.diagnostics(fit), promised=("estimate",))
    add("sae.diagnostics", "dataframe", lambda: sae.diagnostics(fit.to_dataframe()),
        invalid=True)
    add("sae.diagnostics", "none", lambda: sae.diagnostics(None), invalid=True)
    add("sae.loo", "no_draws", lambda: sae.loo(fit), invalid=True)
    add("sae.posterior_predictive_check", "no_draws",
        lambda: sae.posterior_predictive_check(fit), invalid=True)
    add("sae.diagnostics", "n_draws_zero", lambda: sae.diagnostics(
        sae.fay_herriot(y6, np.full(8, 0.01), method="hb", draws=50, random_seed=0),
        n_draws=0), invalid=True)

    draws = np.random.default_rng(1).normal([0.1, 0.2, 0.3], 0.02, size=(100, 3))
    add("sae.benchmark_draws", "issue:nan_in_draw_names_draw", lambda: sae.benchmark_draws(
        np.where(np.arange(300).reshape(100, 3) == 151, np.nan, draws), 0.2),
        invalid=True, check=None)
    add("sae.benchmark_draws", "dataframe_columns_are_areas", lambda: sae.benchmark_draws(
        pd.DataFrame(draws, columns=["x", "y", "z"]), 0.2,
        weights=pd.Series([0.2, 0.3, 0.5], index=["z", "y", "x"])),
        check=lambda r: None if list(r.estimates["area"].values) == ["x", "y", "z"]
        and np.isclose(float(r.estimates["weight"].sel(area="z")), 0.2)
        else "draw columns or weights paired by position")
    add("sae.benchmark_draws", "one_draw", lambda: sae.benchmark_draws(draws[:1], 0.2),
        invalid=True)
    add("sae.benchmark_draws", "1d", lambda: sae.benchmark_draws(draws[0], 0.2),
        invalid=True)
    add("sae.benchmark_draws", "target_nan", lambda: sae.benchmark_draws(draws, np.nan),
        invalid=True)
    add("sae.benchmark_draws", "target_sd_negative", lambda: sae.benchmark_draws(
        draws, 0.2, target_sd=-1), invalid=True)
    add("sae.benchmark", "target_inf", lambda: sae.benchmark([0.1, 0.2], np.inf),
        invalid=True)
    add("sae.benchmark", "huge_target", lambda: sae.benchmark([0.1, 0.2], 1e308,
                                                             weights=[1e10, 1e10]))
    add("sae.simulate_bym2_effects", "sigma_text", lambda: sae.simulate_bym2_effects(
        sae.adjacency_from_pairs([(0, 1)], areas=[0, 1]), sigma="big"), invalid=True)
    add("sae.simulate_bym2_effects", "phi_none", lambda: sae.simulate_bym2_effects(
        sae.adjacency_from_pairs([(0, 1)], areas=[0, 1]), phi=None), invalid=True)
    add("sae.simulate_bym2_effects", "not_adjacency", lambda: sae.simulate_bym2_effects(
        [(0, 1)]), invalid=True)
    add("sae.multivariate_fay_herriot", "crime_types_from_frame", lambda:
        sae.multivariate_fay_herriot(
            pd.DataFrame(_multi()[0], columns=["burglary", "vehicle"]), _multi()[1]),
        check=lambda r: None if list(r.estimates["crime_type"].values)
        == ["burglary", "vehicle"] else "crime types not taken from the columns")
    cases += _cli_cases()
    return cases


def _multi() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(5, 1, (12, 2)), rng.uniform(0.3, 0.7, (12, 2))


def _mrp_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    areas = [f"a{i}" for i in range(8)]
    people = pd.DataFrame({"area": rng.choice(areas[:7], 400),
                           "age": rng.choice(["young", "old"], 400)})
    people["victim"] = (rng.uniform(size=400) < np.where(people["age"] == "young", 0.2, 0.1)
                        ).astype(int)
    cells = pd.DataFrame({"area": np.repeat(areas, 2), "age": ["young", "old"] * 8,
                          "adults": rng.integers(200, 900, 16)})
    return people, cells


def _bad_frames(frame: pd.DataFrame, numeric: str, labels: list[str], *,
                negative: bool = True) -> list[tuple[str, pd.DataFrame]]:
    """Invalid versions of a data frame: bad numbers in ``numeric``, missing labels, etc."""
    out = []
    bad_values = [("nan", np.nan), ("inf", np.inf), ("text", "n/a")]
    for name, value in bad_values + ([("negative", -1.0)] if negative else []):
        bad = frame.copy()
        bad[numeric] = bad[numeric].astype(object)
        bad.loc[bad.index[1], numeric] = value
        out.append((f"{numeric}_{name}", bad))
    out.append((f"{numeric}_missing_column", frame.drop(columns=[numeric])))
    out.append(("no_rows", frame.iloc[:0]))
    for label in labels:
        bad = frame.copy()
        bad[label] = bad[label].astype(object)
        bad.loc[bad.index[2], label] = None
        out.append((f"{label}_missing_label", bad))
    return out


def _netcdf_round_trip(result: Any) -> Any:
    import xarray as xr

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.nc"
        result.to_netcdf(path)
        back = xr.open_dataset(path, engine="h5netcdf").load()
    ds = result.estimates
    for name in ds.coords:
        if back[name].dtype.kind != ds[name].dtype.kind and not (
                ds[name].dtype == object and back[name].dtype.kind in "OU"):
            raise AssertionError(f"coordinate {name} came back as {back[name].dtype}")
    return result


def _cli_cases() -> list[Case]:
    """The `crimestats sae` command on bad files, with and without --json."""
    folder = Path(tempfile.mkdtemp(prefix="crimestats-battery-"))
    good = pd.DataFrame({"area": list("abcdef"), "y": [0.1, 0.3, 0.2, 0.4, 0.25, 0.15],
                         "v": [0.01] * 6})
    files = {
        "good": good,
        "text_in_direct": good.assign(y=["0.1", "x", "0.2", "0.4", "0.25", "0.15"]),
        "duplicated_area": good.assign(area=list("abcdea")),
        "negative_variance": good.assign(v=[0.01, -1, 0.01, 0.01, 0.01, 0.01]),
        "huge_direct": good.assign(y=[1, 2, 3, 1e300, 2, 3], v=[1.0] * 6),
        "one_row": good.head(1),
    }
    cases = []
    for name, frame in files.items():
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False)
        for as_json in (False, True):
            argv = ["sae", str(path), "--area", "area", "--direct", "y", "--variance", "v"]
            argv += ["--json"] if as_json else []
            cases.append(Case("cli.sae", f"{name}{':json' if as_json else ''}",
                              lambda argv=argv, as_json=as_json: cli_outcome(argv, as_json),
                              invalid=name not in ("good", "huge_direct")))
    cases.append(Case("cli.sae", "missing_option:json", lambda: cli_outcome(
        ["sae", str(folder / "good.csv"), "--json"], True), invalid=True))
    return cases


# --------------------------------------------------------------------------------------------
# Named tables of the test suite (changepoint, compare, calendar, datasets, CLI commands)
# --------------------------------------------------------------------------------------------

#: ``tests/<module>.py`` files whose ``cases()`` return ``input_harness.Named`` rows.
TABLES = ["test_battery_changepoint", "compare/test_battery_compare", "test_battery_calendar",
          "datasets/test_battery_police_uk", "sae/test_battery_sae_many",
          "cli/test_battery_cli_commands"]


def _table_cases() -> list[Case]:
    import importlib

    tests = Path(__file__).resolve().parents[1] / "tests"
    cases = []
    for table in TABLES:
        folder, _, module = table.rpartition("/")
        sys.path.insert(0, str(tests / folder))
        for named in importlib.import_module(module).cases():
            # no alarm in the child: the runner's time limit catches hangs
            cases.append(Case(named.function, named.name,
                              lambda named=named: named.run(seconds=0),
                              invalid=named.expect == "input_error"))
    return cases


# --------------------------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------------------------


def _child(case: Case, conn: Any) -> None:
    start = time.perf_counter()
    try:
        out = case.run()
        conn.send((_column(out, case.invalid), out.detail, time.perf_counter() - start))
    except BaseException as exc:  # noqa: BLE001 - the harness itself failed
        conn.send(("generic", f"harness: {type(exc).__name__}: {exc}",
                   time.perf_counter() - start))
    finally:
        conn.close()


def run_cases(cases: list[Case], *, timeout: float, jobs: int) -> list[tuple[Case, str, str,
                                                                              float]]:
    """Run every case in its own forked process, at most ``jobs`` at a time."""
    ctx = mp.get_context("fork")
    pending = list(enumerate(cases))
    running: dict[int, tuple[Any, Any, float]] = {}
    results: dict[int, tuple[Case, str, str, float]] = {}
    while pending or running:
        while pending and len(running) < jobs:
            i, case = pending.pop(0)
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(case, child), daemon=True)
            proc.start()
            child.close()
            running[i] = (proc, parent, time.perf_counter())
        for i, (proc, conn, started) in list(running.items()):
            if conn.poll():
                try:
                    column, detail, seconds = conn.recv()
                except EOFError:
                    column, detail, seconds = "crash", "no answer", 0.0
                proc.join()
                results[i] = (cases[i], column, detail, seconds)
                del running[i]
            elif not proc.is_alive():
                results[i] = (cases[i], "crash", f"exit code {proc.exitcode}",
                              time.perf_counter() - started)
                del running[i]
            elif time.perf_counter() - started > timeout:
                proc.kill()
                proc.join()
                results[i] = (cases[i], "hang", f"> {timeout:g} s", timeout)
                del running[i]
        time.sleep(0.005)
    return [results[i] for i in range(len(cases))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once")
    parser.add_argument("--only", default="", help="run functions whose name contains this")
    parser.add_argument("--show", choices=["none", "bad", "all"], default="bad",
                        help="list the cases behind the counts")
    parser.add_argument("--tables", action="store_true",
                        help="only the named tables of tests/ (changepoint, compare, calendar, "
                             "datasets, fay_herriot_many, the changepoint and compare commands)")
    args = parser.parse_args()
    every = _table_cases() if args.tables else _spec_cases() + _named_cases() + _table_cases()
    cases = [c for c in every if args.only in c.function]
    start = time.perf_counter()
    rows = run_cases(cases, timeout=args.timeout, jobs=args.jobs)
    table: dict[str, Counter[str]] = defaultdict(Counter)
    slowest: dict[str, float] = defaultdict(float)
    for case, column, _detail, seconds in rows:
        table[case.function][column] += 1
        slowest[case.function] = max(slowest[case.function], seconds)
    width = max(len(f) for f in table) + 2
    print(f"{'function':<{width}}{'cases':>6}" + "".join(f"{c:>8}" for c in COLUMNS)
          + f"{'slowest s':>11}")
    total: Counter[str] = Counter()
    for function in sorted(table):
        counts = table[function]
        total.update(counts)
        print(f"{function:<{width}}{sum(counts.values()):>6}"
              + "".join(f"{counts[c]:>8}" for c in COLUMNS) + f"{slowest[function]:>11.1f}")
    print(f"{'total':<{width}}{sum(total.values()):>6}"
          + "".join(f"{total[c]:>8}" for c in COLUMNS))
    print(f"\n{len(cases)} cases in {time.perf_counter() - start:.0f} s "
          f"(time limit {args.timeout:g} s per case, {args.jobs} at a time)")
    if args.show != "none":
        bad = ("generic", "silent", "label", "hang", "crash")
        for case, column, detail, seconds in rows:
            if args.show == "all" or column in bad:
                print(f"  [{column}] {case.function} {case.name} ({seconds:.1f} s): {detail}")


if __name__ == "__main__":
    main()
