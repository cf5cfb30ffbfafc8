"""Default settings on real series: documented events found, trends and seasons left alone.

The series and their sources are in ``tests/data/changepoint/real/manifest.csv``
(``benchmarks/changepoint_real.py`` scores every series of it against other detectors).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crimestats.changepoint import detect, detect_many

REAL = "changepoint/real"


@pytest.fixture(scope="module")
def ni(data_dir):
    return pd.read_csv(data_dir / REAL / "ni_monthly_2015_2021.csv", index_col="month",
                       dtype={"month": str})


def _window(res, label, half_width=2):
    """Posterior probability of a change within ``half_width`` periods of ``label``."""
    times = [str(t) for t in res.estimates["time"].values]
    i = times.index(label)
    return float(res.estimates["prob_change"].values[max(i - half_width, 0):i + half_width + 1]
                 .sum())


def test_merseyside_shoplifting_covid_drop(data_dir):
    y = pd.read_csv(data_dir / REAL / "merseyside_shoplifting_monthly_2019_2020.csv",
                    index_col="month", dtype={"month": str})["shoplifting"]
    for likelihood in ("negbin", "normal"):
        for method in ("bayes", "pelt"):
            res = detect(y, likelihood, method=method, random_seed=0)
            assert [str(t) for t in res.changepoint_times] == ["2020-04"], (likelihood, method)


def test_northern_ireland_lockdown(ni):
    """The first lockdown (23 March 2020) in shoplifting, a series that ends in June 2020."""
    res = detect(ni.loc[:"2020-06", "shoplifting"], random_seed=0)
    assert res.prob_any_change > 0.5
    assert [str(t) for t in res.changepoint_times][-1] in {
        "2019-12", "2020-01", "2020-02", "2020-03", "2020-04", "2020-05"}
    last, before = res.segments["estimate"].iloc[-1], res.segments["estimate"].iloc[-2]
    assert last < 0.8 * before                       # a fall of more than 20%


def test_northern_ireland_burglary_reclassification(ni):
    """PSNI replaced domestic/non-domestic burglary by residential/business in April 2017."""
    res = detect(ni.loc[:"2020-02", "burglary_domestic"], random_seed=0)
    assert [str(t) for t in res.changepoint_times] == ["2017-04"]


@pytest.mark.parametrize("column", ["shoplifting", "violence_without_injury", "robbery",
                                    "sexual_offences", "drug_possession"])
def test_no_documented_event_no_change_before_covid(ni, column):
    """Before the pandemic: trends and seasons are not changes.

    (Some of the 17 pre-pandemic series get a change with no documented event — harassment,
    whose rise bends, among them; the validation page lists them.)
    """
    res = detect(ni.loc[:"2020-02", column], random_seed=0)
    assert res.changepoints == [], column


def test_nile_dam(data_dir):
    nile = pd.read_csv(data_dir / REAL / "nile.csv", dtype={"time": str}).set_index("time")
    res = detect(nile["value"], random_seed=0)
    assert [str(t) for t in res.changepoint_times] == ["1899"]
    assert _window(res, "1899") > 0.75      # 0.79 (P(any change) 0.90), the rest 1897-98


def test_smooth_growth_is_not_a_staircase(data_dir):
    """US census population 1790-1970: at most one change of growth rate, not a staircase."""
    pop = pd.read_csv(data_dir / REAL / "us_population.csv", dtype={"time": str})
    res = detect(pop.set_index("time")["value"], random_seed=0)
    assert len(res.changepoints) <= 1


def test_recording_drive_shared_by_forces():
    from crimestats.datasets import load_recorded_crime

    forces = load_recorded_crime("force", offence="Violence without injury")
    scan = detect_many(forces, time="financial_year_ending", series="force",
                       value="offences", window=1, random_seed=0)
    assert scan.prob_national_change > 0.95
    assert 2014 <= scan.national_time <= 2017
    years = np.array([forces["financial_year_ending"].min() + c
                      for cps in scan.changepoints.values() for c in cps])
    assert np.mean((years >= 2014) & (years <= 2017)) > 0.4     # 2014-17: 4 of 16 years


def test_cli_descending_file_is_refused(tmp_path):
    """A file newest first was read as a rise from 1989; now it is an error naming the fix."""
    from crimestats.cli import main

    frame = pd.DataFrame({"year": range(2000, 1988, -1),
                          "offences": [100] * 10 + [150, 150]})
    path = tmp_path / "annual.csv"
    frame.to_csv(path, index=False)
    assert main(["changepoint", str(path), "--time", "year", "--value", "offences"]) == 2
