"""Published Crime Survey for England and Wales (CSEW) tables: prevalence series and 2018 domains.

Sources (Office for National Statistics, Open Government Licence v3.0: "Contains public sector
information licensed under the Open Government Licence v3.0."):

- "Crime in England and Wales: Appendix tables", year ending December 2018, Table A3
  (prevalence by offence, 1981 to the year ending March 2018).
- "Crime Survey for England and Wales: personal crime prevalence by region and personal
  characteristics", open data table, year ending December 2018 (2018 quarter 4).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ._paths import read_csv
from ._select import select

__all__ = [
    "CSEW_MEASURES",
    "load_csew_prevalence",
    "load_csew_2018_table",
    "load_csew_2018_by_region",
]

#: Plain-English names of the measure codes (ONS variable names) in the 2018 domain table.
#: Each is a prevalence: the proportion of adults aged 16+ victimised once or more.
CSEW_MEASURES: dict[str, str] = {
    "violnr_p": "Violence",
    "viwinr_p": "Violence with injury",
    "vininr_p": "Violence without injury",
    "wound_p": "Wounding",
    "cominj_p": "Assault with minor injury",
    "comnij_p": "Assault without injury",
    "common_p": "Common assault",
    "domest_p": "Domestic violence",
    "acquai_p": "Acquaintance violence",
    "strang_p": "Stranger violence",
    "mugg1_p": "Mugging (robbery and snatch theft)",
    "robber_p": "Robbery",
    "theftp_p": "Theft from the person",
    "snatch_p": "Snatch theft from the person",
    "stlhea_p": "Stealth theft from the person",
    "snstla_p": "Attempted snatch or stealth theft from the person",
    "othpth_p": "Other theft of personal property",
    "thftpl_p": "Personal theft (theft from the person or other theft of personal property)",
    "althft_p": "Theft offences (personal or household)",
    "totper_p": "All personal crime excluding fraud and computer misuse",
    "totalb_p": "All CSEW crime excluding fraud and computer misuse",
    "pcfc_p": "All personal crime including fraud and computer misuse",
    "tocrfc_p": "All CSEW crime including fraud and computer misuse",
    "frdcom_p": "Fraud and computer misuse",
    "frd_p": "Fraud",
    "bank_p": "Bank and credit account fraud",
    "ninv_p": "Consumer and retail fraud",
    "afee_p": "Advance fee fraud",
    "ofrd_p": "Other fraud",
    "com_p": "Computer misuse",
    "virs_p": "Computer virus",
    "hackua_p": "Unauthorised access to personal information (including hacking)",
}

#: Adults interviewed in the CSEW core sample per survey year (keyed by the year in which the
#: survey year ends in March), rounded: about 35,000 from 2001/02 to 2003/04; about 46,000 from
#: 2004/05 to 2011/12, the sample boosted for police-force-area estimates ("over 46,000
#: adults" in 2008/09: Home Office, *Crime in England and Wales 2008/09*); about 35,000 from
#: 2012/13 (34,906 adults in the year ending March 2014, ONS; 34,073 in the year ending
#: December 2018, the bundled 2018 table). Used only to approximate standard errors.
_CSEW_ADULTS: dict[int, int] = {
    **dict.fromkeys(range(2002, 2005), 35_000),
    **dict.fromkeys(range(2005, 2013), 46_000),
    **dict.fromkeys(range(2013, 2019), 35_000),
}

#: Offences of Table A3 that have a measure in the 2018 table (for their design effect).
_MEASURE_OF_OFFENCE: dict[str, str] = {
    "Violence": "violnr_p", "Violence with injury": "viwinr_p",
    "Violence without injury": "vininr_p", "Wounding": "wound_p",
    "Assault with minor injury": "cominj_p", "Robbery": "robber_p",
    "Theft from the person": "theftp_p", "Snatch theft from person": "snatch_p",
    "Stealth theft from person": "stlhea_p",
    "Attempted snatch or stealth theft from person": "snstla_p",
    "Other theft of personal property": "othpth_p", "Theft offences": "althft_p",
    "All CSEW crime excluding fraud and computer misuse": "totalb_p",
}

_BREAKDOWNS = {
    "Total": "total", "sex": "sex", "agegrp7": "age", "gor": "region",
    "oa_sup11": "area_classification", "rural3": "rurality",
}


def load_csew_prevalence(offence: Any = None, *, standard_errors: bool = False
                         ) -> pd.DataFrame:
    """CSEW prevalence of victimisation by offence, survey years 1981 to 2017/18.

    Parameters
    ----------
    offence : str or list of str, optional
        Keep only these offences (e.g. ``"Violence"``); all 33 by default.
    standard_errors : bool, default False
        Add the column ``standard_error``: an **approximation**, because Table A3 publishes
        no standard errors or confidence intervals (see Notes).

    Returns
    -------
    pandas.DataFrame
        Columns ``offence``, ``survey_year`` (``"1981"`` for calendar-year surveys up to 1999,
        ``"2001/02"`` for the financial-year surveys since), ``year_ending`` (int: the year in
        which the 12-month survey period ends), ``prevalence`` (proportion, 0–1, victimised once
        or more in the 12 months before interview: adults for personal crimes, households for
        household crimes) and ``main_type`` (bool: one of the five headline offence groups);
        with ``standard_errors=True`` also ``standard_error`` (same units; NaN for the
        calendar-year surveys 1981–1999).

    Raises
    ------
    crimestats.InputError
        For an unknown offence (the message lists the valid ones).

    Notes
    -----
    Survey years are irregular before 2001/02 (1981, 1983, 1987, 1991, 1993, 1995, 1997, 1999).
    Source: ONS, Crime in England and Wales, appendix tables year ending December 2018, Table
    A3; Open Government Licence v3.0.

    The table publishes no standard errors, and neither does any file bundled with crimestats
    except the year to December 2018 (`load_csew_2018_table`). The approximation keeps
    that year's design effect and lets the prevalence and the sample size vary by year:

    $$
    \\mathrm{se}_t = \\sqrt{d\\, p_t (1 - p_t) / n_t}, \\qquad
    d = \\frac{\\mathrm{se}_{2018}^2\\, n_{2018}}{p_{2018}(1 - p_{2018})},
    $$

    $d$ the 2018 design effect of the same measure (1.71 for violence) or, for offences
    without a 2018 measure (household crimes), the median over the 32 measures of the 2018
    table (1.60); $n_t$ the number of adults interviewed, rounded by design era (about
    35,000 in 2001/02–2003/04 and since 2012/13, 46,000 in 2004/05–2011/12). Household
    crimes are counted per household, and one adult is interviewed per household. For
    violence this gives a relative standard error of 5.2% in 2017/18 (5.3% published for the
    year to December 2018) and 3.4–3.9% in 2001/02–2011/12, when the sample was larger and
    prevalence higher, against the 5.3% that a constant relative error would assume.

    Examples
    --------
    >>> from crimestats.datasets import load_csew_prevalence
    >>> violence = load_csew_prevalence("Violence")
    >>> violence[["survey_year", "prevalence"]].tail(2).round(4).values.tolist()
    [['2016/17', 0.0168], ['2017/18', 0.0175]]
    >>> with_se = load_csew_prevalence("Violence", standard_errors=True)
    >>> (with_se["standard_error"] / with_se["prevalence"]).tail(2).round(3).tolist()
    [0.054, 0.052]
    """
    raw = read_csv("csew_prevalence_by_offence_1981_2018.csv.gz")
    start = pd.to_datetime(raw["year"]).dt.year.astype("int64")
    financial = raw["period"].str.startswith("Apr")
    out = pd.DataFrame({
        "offence": raw["offence"],
        "survey_year": np.where(
            financial, start.astype(str) + "/" + ((start + 1) % 100).map("{:02d}".format),
            start.astype(str)),
        "year_ending": (start + financial.astype("int64")).astype("int64"),
        "prevalence": raw["prevalence"].astype("float64"),
        "main_type": raw["main_type"].astype(bool),
    })
    out = select(out, "offence", offence, "offence").reset_index(drop=True)
    if standard_errors:
        out["standard_error"] = _approximate_standard_errors(out)
    return out


def _approximate_standard_errors(prevalence: pd.DataFrame) -> np.ndarray:
    """Binomial variance × the 2018 design effect, with each year's sample size (see above)."""
    table = load_csew_2018_table()
    total = table[(table["breakdown"] == "total") & (table["sex"] == "All adults")
                  & (table["age"] == "16+")].set_index("measure")
    p18 = total["estimate"]
    deff = total["standard_error"] ** 2 * total["unweighted_count"] / (p18 * (1 - p18))
    design = prevalence["offence"].map(_MEASURE_OF_OFFENCE).map(deff)
    design = design.fillna(float(deff.median())).to_numpy(dtype=float)
    n = prevalence["year_ending"].map(_CSEW_ADULTS).to_numpy(dtype=float)
    p = prevalence["prevalence"].to_numpy(dtype=float)
    financial = prevalence["survey_year"].str.contains("/").to_numpy()
    return np.where(financial, np.sqrt(design * p * (1 - p) / n), np.nan)


def load_csew_2018_table(measure: Any = None) -> pd.DataFrame:
    """CSEW personal-crime prevalence by sex × age and one further characteristic, year to Dec 2018.

    Parameters
    ----------
    measure : str or list of str, optional
        Keep only these measure codes (keys of `CSEW_MEASURES`, e.g. ``"violnr_p"``);
        all 32 by default.

    Returns
    -------
    pandas.DataFrame
        One row per published cell, columns ``measure`` (ONS code), ``measure_label``,
        ``sex`` (``"All adults"``, ``"Female"``, ``"Male"``), ``age`` (``"16+"`` or one of seven
        age groups), ``breakdown`` (``"total"``, ``"sex"``, ``"age"``, ``"region"``,
        ``"area_classification"`` (2011 output-area supergroup), ``"rurality"``), ``group``
        (the category within the breakdown), ``estimate`` (proportion of adults victimised once
        or more in the 12 months before interview, 0–1), ``standard_error`` (of ``estimate``,
        same units) and ``unweighted_count`` (respondents in the cell).

    Raises
    ------
    crimestats.InputError
        For an unknown measure code.

    Notes
    -----
    Direct (design-based) estimates from ONS. Cells with no victims among the respondents
    are published as an estimate of 0 with a standard error of 0: their sampling variance is
    not estimable, so small-area models must not treat them as exact. Source: ONS, CSEW open
    data table, personal crime prevalence, year ending December 2018; Open Government Licence
    v3.0.

    Examples
    --------
    >>> from crimestats.datasets import load_csew_2018_table
    >>> table = load_csew_2018_table("violnr_p")
    >>> len(table), table["breakdown"].unique().tolist()
    (602, ['age', 'region', 'area_classification', 'rurality', 'sex', 'total'])
    >>> total = table.query("breakdown == 'total' and sex == 'All adults' and age == '16+'")
    >>> total[["estimate", "standard_error"]].round(4).values.tolist()
    [[0.0175, 0.0009]]
    """
    raw = read_csv("csew_personal_prevalence_2018q4.csv.gz")
    out = pd.DataFrame({
        "measure": raw["measurement_var"],
        "measure_label": raw["measurement_var"].map(CSEW_MEASURES),
        "sex": raw["sex"],
        "age": raw["age"],
        "breakdown": raw["characteristic_var"].map(_BREAKDOWNS),
        "group": raw["characteristic"],
        "estimate": raw["estimate"].astype("float64"),
        "standard_error": raw["standard_error"].astype("float64"),
        "unweighted_count": raw["unweighted_count"].astype("int64"),
    })
    return select(out, "measure", measure, "measure", list(CSEW_MEASURES)).reset_index(drop=True)


def load_csew_2018_by_region(measure: str = "violnr_p", *, sex: Any = "All adults",
                             age: Any = None, include_totals: bool = False) -> pd.DataFrame:
    """CSEW direct estimates for one measure by region, sex and age group, year to Dec 2018.

    The domains of the small-area demo: each row is a region × sex × age cell with its direct
    estimate and standard error.

    Parameters
    ----------
    measure : str, default "violnr_p"
        Measure code (see `CSEW_MEASURES`); the default is violence.
    sex : str or list of str, default "All adults"
        ``"All adults"``, ``"Female"``, ``"Male"`` or a list of them.
    age : str or list of str, optional
        Age groups to keep (``"16+"``, ``"16-24"``, ..., ``"75+"``); all eight by default.
    include_totals : bool, default False
        Also return the ``"England"`` row (England without Wales) of each sex × age cell.

    Returns
    -------
    pandas.DataFrame
        Columns ``region`` (nine English regions and Wales), ``sex``, ``age``, ``estimate``
        (proportion of adults victimised once or more, 0–1), ``standard_error`` (same units),
        ``unweighted_count`` and ``measure``.

    Raises
    ------
    crimestats.InputError
        For an unknown measure, sex or age group.

    Notes
    -----
    Source and licence as [`load_csew_2018_table`][load_csew_2018_table] (ONS, Open Government Licence v3.0).
    Zero estimates carry a zero standard error (no victim in the sample); see that function.

    Examples
    --------
    >>> from crimestats.datasets import load_csew_2018_by_region
    >>> cells = load_csew_2018_by_region("violnr_p", age=["16-24", "25-34"])
    >>> cells.shape
    (20, 7)
    >>> row = cells.query("region == 'London' and age == '16-24'")
    >>> row[["estimate", "standard_error"]].round(4).values.tolist()
    [[0.024, 0.0098]]
    """
    if not isinstance(measure, str):
        raise InputError(f"`measure` must be one measure code such as 'violnr_p'; got {measure!r}.")
    table = load_csew_2018_table(measure)
    table = table[table["breakdown"] == "region"]
    if not include_totals:
        table = table[table["group"] != "England"]
    table = select(table, "sex", sex, "sex", ["All adults", "Female", "Male"])
    table = select(table, "age", age, "age", sorted(pd.unique(table["age"])))
    out = table.rename(columns={"group": "region"})[
        ["region", "sex", "age", "estimate", "standard_error", "unweighted_count", "measure"]]
    return out.sort_values(["region", "sex", "age"]).reset_index(drop=True)
