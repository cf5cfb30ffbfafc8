"""Hate crimes recorded by the police in England and Wales (excluding the Metropolitan Police).

Source: Home Office, "Hate crime, England and Wales, year ending March 2025", appendix tables
2a and 5a, England and Wales excluding the Metropolitan Police Service in every year. Open
Government Licence v3.0: "Contains public sector information licensed under the Open
Government Licence v3.0."
"""

from __future__ import annotations

import pandas as pd

from .._validate import check_choice
from ._paths import read_csv

__all__ = ["load_hate_crime"]

_STRANDS = {
    "race": "race", "religion": "religion", "sexualOrientation": "sexual_orientation",
    "disability": "disability", "transgender": "transgender", "totalOffences": "total",
}


def load_hate_crime(by: str = "strand") -> pd.DataFrame:
    """Police-recorded hate crime offences by financial year and monitored strand or religion.

    Parameters
    ----------
    by : {"strand", "religion"}, default "strand"
        ``"strand"``: the five centrally monitored strands and the total of offences,
        2011/12 – 2024/25. ``"religion"``: religious hate crime by the perceived religion of
        the victim, 2021/22 – 2024/25.

    Returns
    -------
    pandas.DataFrame
        Long format, columns ``financial_year`` (e.g. ``"2017/18"``), ``financial_year_ending``
        (int, e.g. 2018), ``strand`` (``race``, ``religion``, ``sexual_orientation``,
        ``disability``, ``transgender`` or ``total``) or ``religion``, and ``offences``
        (float: number of offences).

    Raises
    ------
    crimestats.InputError
        If ``by`` is not ``"strand"`` or ``"religion"``.

    Notes
    -----
    - An offence can involve more than one strand, so strands add up to more than ``total``.
    - 2019/20 is **missing** (NaN) in the source table for every strand: the loader keeps the
      row and does not fill it. ``total`` is also missing for 2011/12.
    - England and Wales excluding the Metropolitan Police; counts are offences, not victims.
    - Rises after 2013/14 mix real change with better identification and recording of hate
      crime; see the tutorial "Is the rise in recorded hate crime real?".

    Source: Home Office, *Hate crime, England and Wales, year ending March 2025*, appendix
    tables; Open Government Licence v3.0 ("Contains public sector information licensed under
    the Open Government Licence v3.0").

    Examples
    --------
    >>> from crimestats.datasets import load_hate_crime
    >>> hate = load_hate_crime()
    >>> hate.pivot(index="financial_year", columns="strand", values="offences").loc[
    ...     "2017/18", ["race", "total"]].tolist()
    [55793.0, 74674.0]
    >>> int(hate["offences"].isna().sum())
    7
    """
    by = check_choice(by, "by", ["strand", "religion"])
    if by == "strand":
        raw = read_csv("hate_crime_by_strand_ew_excl_met_2011_2025.csv")
        tidy = raw.rename(columns={"year": "financial_year"}).melt(
            id_vars="financial_year", var_name="strand", value_name="offences")
        tidy["strand"] = tidy["strand"].map(_STRANDS)
        key = "strand"
    else:
        raw = read_csv("hate_crime_religion_ew_excl_met_2021_2025.csv")
        tidy = raw.melt(id_vars="religion", var_name="financial_year", value_name="offences")
        key = "religion"
    tidy["financial_year_ending"] = tidy["financial_year"].map(_year_ending).astype("int64")
    tidy["offences"] = tidy["offences"].astype("float64")
    tidy = tidy[["financial_year", "financial_year_ending", key, "offences"]]
    return tidy.sort_values(["financial_year_ending", key], kind="stable").reset_index(drop=True)


def _year_ending(label: str) -> int:
    """``"2017/18"`` → 2018."""
    start = int(label[:4])
    return start + 1
