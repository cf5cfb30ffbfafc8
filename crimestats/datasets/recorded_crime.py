"""Police recorded crime in England and Wales by force and offence group, 2002/03 to 2017/18.

Source: Home Office, "Police recorded crime by police force area" open data tables (data.gov.uk),
totals for the 12 months ending 31 March in each year, 43 territorial forces (British Transport
Police and Action Fraud excluded). Open Government Licence v3.0: "Contains public sector
information licensed under the Open Government Licence v3.0."
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .._validate import check_choice
from ._paths import read_csv
from ._select import as_list, select
from .geography import load_forces

__all__ = ["load_recorded_crime", "VIOLENCE_OFFENCES"]

#: The two recorded offence groups that correspond to "violence" in the Crime Survey for
#: England and Wales (violence against the person without homicide, death or serious injury by
#: driving, and stalking and harassment).
VIOLENCE_OFFENCES = ("Violence with injury", "Violence without injury")


def load_recorded_crime(level: str = "force", *, offence: Any = None,
                        years: Any = None) -> pd.DataFrame:
    """Offences recorded by the police, by financial year and offence group.

    Parameters
    ----------
    level : {"force", "england_wales"}, default "force"
        ``"force"``: one row per force, offence and year; ``"england_wales"``: totals over the
        43 territorial forces.
    offence : str or list of str, optional
        Keep only these offence groups (e.g. `VIOLENCE_OFFENCES`); all 22 by default.
    years : int or list of int, optional
        Keep only these financial years, named by the year in which they end (``2018`` is
        April 2017 – March 2018); 2003–2018 by default.

    Returns
    -------
    pandas.DataFrame
        Columns ``financial_year_ending`` (int), then for ``level="force"`` ``force_code``,
        ``force`` and ``region``, then ``offence`` (Home Office offence group) and ``offences``
        (number of offences recorded in the year; int).

    Raises
    ------
    crimestats.InputError
        For an unknown level, offence group or year (the message lists the valid ones).

    Notes
    -----
    Breaks in the series, as published:

    - *Fraud offences* stop after 2012/13 (``financial_year_ending`` 2013), when recording moved
      from the police to Action Fraud.
    - *Domestic / Non-domestic burglary* were replaced by *Residential / Non-residential
      burglary* in 2017/18. Both pairs appear from 2014/15 with zeros in the years a category
      did not exist: these are structural zeros, not an absence of burglary.
    - Recording practice improved sharply after the HMIC inspection of 2014, inflating rises in
      violence, sexual and public order offences (see [`crimestats.changepoint`][crimestats.changepoint]).

    Source: Home Office, police recorded crime by police force area (data.gov.uk open data
    tables); Open Government Licence v3.0 ("Contains public sector information licensed under
    the Open Government Licence v3.0").

    Examples
    --------
    >>> from crimestats.datasets import load_recorded_crime, VIOLENCE_OFFENCES
    >>> violence = load_recorded_crime(offence=VIOLENCE_OFFENCES, years=2018)
    >>> violence.shape
    (86, 6)
    >>> ew = load_recorded_crime("england_wales", offence="Homicide")
    >>> ew.set_index("financial_year_ending").loc[2018, "offences"].item()
    720
    """
    level = check_choice(level, "level", ["force", "england_wales"])
    raw = read_csv("recorded_crime_pfa_annual_fy_2003_2018.csv.gz")
    raw = raw.rename(columns={"PFA": "force", "Offence": "offence"}).drop(columns="Region")
    forces = load_forces()
    tidy = raw.merge(forces, on="force", how="left", validate="m:1")
    tidy = tidy[["financial_year_ending", "force_code", "force", "region", "offence", "offences"]]
    tidy = select(tidy, "offence", offence, "offence", sorted(pd.unique(tidy["offence"])))
    year_list = as_list(years, "years")
    if year_list is not None:
        year_list = [_as_year(y) for y in year_list]
    tidy = select(tidy, "financial_year_ending", year_list, "years", list(range(2003, 2019)))
    if level == "england_wales":
        tidy = (tidy.groupby(["financial_year_ending", "offence"], as_index=False)["offences"]
                .sum())
    return tidy.sort_values(list(tidy.columns[:-1])).reset_index(drop=True)


def _as_year(value: Any) -> Any:
    """A year given as a whole number (numpy or float) becomes an int; anything else is kept."""
    try:
        as_int = int(value)
    except (TypeError, ValueError):
        return value
    return as_int if as_int == value else value
