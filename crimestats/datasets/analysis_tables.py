"""Ready-to-model tables built from the bundled data: violence by region × age, and by force.

They join the Crime Survey for England and Wales (survey victimisation, year to December 2018)
with police recorded crime (financial year 2017/18) and Census 2011 populations, as in the
tutorial "How much violence is there in each force area?" and ``crimestats demo``. Sources and
licences are those of the underlying loaders (all Open Government Licence v3.0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._validate import check_choice
from .population import load_population
from .recorded_crime import VIOLENCE_OFFENCES, load_recorded_crime
from .survey_tables import load_csew_2018_by_region

__all__ = ["load_force_violence", "load_violence_domains"]


def load_force_violence(year: int = 2018) -> pd.DataFrame:
    """Recorded violence per 1,000 residents in each of the 43 police force areas.

    Parameters
    ----------
    year : int, default 2018
        Financial year, named by the year in which it ends (2018 = April 2017 – March 2018).

    Returns
    -------
    pandas.DataFrame
        One row per force: ``force_code``, ``force``, ``region``, ``recorded_violence``
        (offences of violence with or without injury recorded in the year), ``residents``
        (Census 2011 usual residents) and ``recorded_per_1000`` (offences per 1,000 residents).

    Notes
    -----
    The denominator is the 2011 population for every year, and residents include children; the
    City of London's rate is inflated by its tiny resident population (about 7,400) against a
    large daytime one. Sources: Home Office police recorded crime; ONS Census 2011 (OGL v3.0).

    Examples
    --------
    >>> from crimestats.datasets import load_force_violence
    >>> forces = load_force_violence()
    >>> round(float(forces.set_index("force").loc["Kent", "recorded_per_1000"]), 1)
    30.5
    """
    recorded = load_recorded_crime(offence=VIOLENCE_OFFENCES, years=year)
    counts = recorded.groupby("force_code", as_index=False)["offences"].sum()
    out = load_population("pfa")[["force_code", "force", "region", "residents"]].merge(
        counts.rename(columns={"offences": "recorded_violence"}), on="force_code",
        how="left", validate="1:1")
    out["recorded_per_1000"] = 1000.0 * out["recorded_violence"] / out["residents"]
    return out[["force_code", "force", "region", "recorded_violence", "residents",
                "recorded_per_1000"]]


def load_violence_domains(sex: Any = "All adults", recorded_year: int = 2018) -> pd.DataFrame:
    """CSEW violence by region × age group, with direct estimates, variances and a covariate.

    The input of the small-area demo: 70 domains (9 English regions and Wales × 7 age groups)
    with the survey's direct estimate of violence prevalence and its sampling variance, plus the
    region's recorded violence rate as an area-level covariate.

    Parameters
    ----------
    sex : {"All adults", "Female", "Male", "both"}, default "All adults"
        Domains for all adults, for one sex, or ``"both"`` (region × sex × age, 140 domains).
    recorded_year : int, default 2018
        Financial year of the recorded-crime covariate (see [`load_force_violence`][load_force_violence]).

    Returns
    -------
    pandas.DataFrame
        One row per domain: ``area`` (e.g. ``"London, 16-24"``), ``region``, ``sex``, ``age``,
        ``direct`` (percentage of adults victimised by violence once or more in the 12 months
        to December 2018), ``variance`` (sampling variance of ``direct``, squared percentage
        points), ``standard_error`` (percentage points), ``unweighted_count`` (respondents),
        ``zero_cell`` (True where no respondent reported violence) and ``recorded_per_1000``
        (violence with or without injury recorded by the police forces of the region per 1,000
        residents).

    Notes
    -----
    The survey publishes a zero estimate with a zero standard error for a cell in which no
    respondent was a victim. A zero standard error would make the domain's direct estimate
    look exact, so ``direct`` and ``variance`` are set to NaN there (flagged in ``zero_cell``):
    a Fay–Herriot model then treats the domain as out of sample and gives it the synthetic
    (regression) estimate. Survey year: year ending December 2018; recorded crime: financial
    year; both cover England and Wales. Sources: ONS Crime Survey for England and Wales open
    data table; Home Office police recorded crime; ONS Census 2011; all Open Government
    Licence v3.0 ("Contains public sector information licensed under the Open Government
    Licence v3.0").

    Examples
    --------
    >>> from crimestats.datasets import load_violence_domains
    >>> domains = load_violence_domains()
    >>> domains.shape, int(domains["zero_cell"].sum())
    ((70, 10), 6)
    >>> first = domains.iloc[0]
    >>> first["area"], round(float(first["direct"]), 2), round(float(first["standard_error"]), 2)
    ('East Midlands, 16-24', 4.0, 1.53)
    """
    sex_choice = check_choice(sex, "sex", ["all adults", "female", "male", "both"])
    wanted = {"all adults": "All adults", "female": "Female", "male": "Male",
              "both": ["Female", "Male"]}[sex_choice]
    cells = load_csew_2018_by_region("violnr_p", sex=wanted)
    cells = cells[cells["age"] != "16+"].reset_index(drop=True)
    zero = cells["standard_error"].to_numpy() == 0
    by_region = load_force_violence(recorded_year).groupby("region")[
        ["recorded_violence", "residents"]].sum()
    rate = 1000.0 * by_region["recorded_violence"] / by_region["residents"]
    label = cells["region"] + ", " + (cells["sex"] + ", " if sex_choice == "both" else "")
    out = pd.DataFrame({
        "area": label + cells["age"],
        "region": cells["region"],
        "sex": cells["sex"],
        "age": cells["age"],
        "direct": np.where(zero, np.nan, 100.0 * cells["estimate"]),
        "variance": np.where(zero, np.nan, (100.0 * cells["standard_error"]) ** 2),
        "standard_error": np.where(zero, np.nan, 100.0 * cells["standard_error"]),
        "unweighted_count": cells["unweighted_count"],
        "zero_cell": zero,
        "recorded_per_1000": cells["region"].map(rate).to_numpy(),
    })
    return out
