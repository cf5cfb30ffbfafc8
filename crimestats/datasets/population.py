"""Census 2011 usual residents and households by police force area, CSP and local authority.

Source: Office for National Statistics, 2011 Census (usual residents and households), aggregated
to 2017 geographies through the ONS lookup. Open Government Licence v3.0: "Contains public
sector information licensed under the Open Government Licence v3.0."
"""

from __future__ import annotations

import pandas as pd

from .._validate import check_choice
from ._paths import read_csv
from .geography import ONS_FORCE_NAMES, load_forces

__all__ = ["load_population"]


def load_population(level: str = "pfa") -> pd.DataFrame:
    """Census 2011 population of each police force area, CSP or local authority district.

    Parameters
    ----------
    level : {"pfa", "csp", "lad"}, default "pfa"
        ``"pfa"``: the 43 police force areas; ``"csp"``: the 314 community safety partnerships;
        ``"lad"``: the 348 local authority districts (2017 boundaries).

    Returns
    -------
    pandas.DataFrame
        One row per area with its codes and names (``force_code``, ``force``, ``region`` for
        forces; ``csp_code``, ``csp``, ``force_code`` for CSPs; ``lad_code``, ``lad``,
        ``csp_code``, ``csp``, ``force_code``, ``force`` for districts) and the counts
        ``residents`` (usual residents, persons, 27 March 2011), ``households`` (households with
        at least one usual resident) and, for forces and districts, ``hectares`` (land area).
        England and Wales total: 56,075,912 residents at every level.

    Raises
    ------
    crimestats.InputError
        If ``level`` is not one of the three names.

    Notes
    -----
    Use these as denominators for rates (e.g. recorded offences per 1,000 residents). Residents
    include children, whereas Crime Survey prevalence refers to adults aged 16 and over.
    Source: Office for National Statistics, 2011 Census; Open Government Licence v3.0
    ("Contains public sector information licensed under the Open Government Licence v3.0").

    Examples
    --------
    >>> from crimestats.datasets import load_population
    >>> pfa = load_population("pfa")
    >>> int(pfa["residents"].sum())
    56075912
    >>> pfa.set_index("force").loc["Metropolitan Police", "residents"].item()
    8166566
    >>> load_population("csp").shape
    (314, 5)
    """
    level = check_choice(level, "level", ["pfa", "csp", "lad"])
    if level == "pfa":
        raw = read_csv("pfa_census2011_population.csv", dtype={"PFA17CD": str, "PFA17NM": str})
        out = load_forces().merge(
            raw.rename(columns={"PFA17CD": "force_code", "usual_residents_2011": "residents",
                                "households_2011": "households"})
            [["force_code", "residents", "households", "hectares"]],
            on="force_code", how="left", validate="1:1")
        return out
    if level == "csp":
        raw = read_csv("csp_census2011_population.csv")
        return raw.rename(columns={"CSP17CD": "csp_code", "CSP17NM": "csp", "PFA17CD": "force_code",
                                   "persons_all": "residents"})
    raw = read_csv("lad_census2011_population_with_csp_pfa.csv")
    out = raw.rename(columns={
        "LAD17CD": "lad_code", "LAD17NM": "lad", "CSP17CD": "csp_code", "CSP17NM": "csp",
        "PFA17CD": "force_code", "PFA17NM": "force", "persons_all": "residents"})
    out["force"] = out["force"].replace(ONS_FORCE_NAMES)
    return out[["lad_code", "lad", "csp_code", "csp", "force_code", "force",
                "residents", "households", "hectares"]]
