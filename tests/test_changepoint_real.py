"""Default settings on real series with known shocks (COVID-19 lockdowns, the 2014 recording drive)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crimestats.changepoint import detect, detect_many


@pytest.fixture(scope="module")
def ni(data_dir):
    return pd.read_csv(data_dir / "changepoint" / "ni_monthly_recorded_crime_2015_2021.csv",
                       index_col="month")


def test_merseyside_shoplifting_covid_drop(data_dir):
    y = pd.read_csv(data_dir / "changepoint" / "merseyside_shoplifting_monthly_2019_2020.csv",
                    index_col="month")["shoplifting"]
    for likelihood in ("negbin", "normal"):
        for method in ("bayes", "pelt"):
            res = detect(y, likelihood, method=method, random_seed=0)
            assert res.changepoint_times == ["2020-04"], (likelihood, method)


@pytest.mark.parametrize(("column", "months"), [
    ("Theft - shoplifting", {"Mar-20", "Apr-20"}),
    ("Theft from the person", {"Mar-20", "Apr-20"}),
])
def test_northern_ireland_lockdown(ni, column, months):
    res = detect(ni[column], random_seed=0)          # defaults: negbin, MAP segmentation
    assert months & set(res.changepoint_times)
    drop = res.segments.set_index("start_time")["estimate"]
    hit = next(m for m in res.changepoint_times if m in months)
    before = drop.iloc[list(drop.index).index(hit) - 1]
    assert drop[hit] < 0.8 * before                  # a fall of more than 20%


def test_seasonal_total_recorded_crime(ni):
    res = detect(ni["Total police recorded crime"], seasonal=12, random_seed=0)
    assert "Mar-20" in res.changepoint_times
    assert len(res.changepoints) <= 5


def test_recording_drive_shared_by_forces():
    from crimestats.datasets import load_recorded_crime

    forces = load_recorded_crime("force", offence="Violence without injury")
    scan = detect_many(forces, "negbin", time="financial_year_ending", series="force",
                       value="offences", window=1, random_seed=0)
    assert scan.prob_national_change > 0.99
    assert 2014 <= scan.national_time <= 2017
    years = np.array([forces["financial_year_ending"].min() + c
                      for cps in scan.changepoints.values() for c in cps])
    assert np.mean((years >= 2014) & (years <= 2017)) > 0.6
