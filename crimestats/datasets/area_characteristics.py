"""Census 2011 characteristics of police force areas and community safety partnerships.

For choosing comparable areas (`crimestats.compare.most_similar`): population density, how
urban the population is, household size and ethnic composition. Sources: Office for National
Statistics, 2011 Census (usual residents, households, land area; ethnic group, table KS201,
aggregated to police force areas). Open Government Licence v3.0: "Contains public sector
information licensed under the Open Government Licence v3.0."
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validate import check_choice
from ._paths import read_csv
from .population import load_population

__all__ = ["load_area_characteristics"]


def load_area_characteristics(level: str = "pfa") -> pd.DataFrame:
    """Census 2011 characteristics of each police force area or community safety partnership.

    Parameters
    ----------
    level : {"pfa", "csp"}, default "pfa"
        ``"pfa"``: the 43 police force areas; ``"csp"``: the 314 community safety
        partnerships (2017 boundaries).

    Returns
    -------
    pandas.DataFrame
        One row per area with its codes and names (``force_code``, ``force``, ``region``; or
        ``csp_code``, ``csp``, ``force_code``) and

        - ``residents``, ``households``, ``hectares`` (land area);
        - ``density``: residents per hectare;
        - ``urban_density``: population-weighted density, the mean over residents of the
          density of their local authority district (residents per hectare): high when most
          people live in dense districts, even if the area also has empty moorland;
        - ``household_size``: residents per household;
        - for forces, ``non_white``: percentage of residents not in a White ethnic group, and
          ``white_british``: percentage White English/Welsh/Scottish/Northern Irish/British.

    Raises
    ------
    crimestats.InputError
        If ``level`` is not ``"pfa"`` or ``"csp"``.

    Notes
    -----
    Source: Office for National Statistics, 2011 Census (KS101, KS105, KS201), aggregated from
    local authority districts to 2017 police force areas and community safety partnerships;
    Open Government Licence v3.0 ("Contains public sector information licensed under the Open
    Government Licence v3.0"). The ethnic group counts by force are those compiled by
    Resistance Lab from KS201.

    Examples
    --------
    >>> from crimestats.datasets import load_area_characteristics
    >>> pfa = load_area_characteristics("pfa").set_index("force")
    >>> round(float(pfa.loc["West Midlands", "urban_density"]), 1)
    33.8
    >>> round(float(pfa.loc["Dyfed-Powys", "density"]), 2)
    0.47
    >>> load_area_characteristics("csp").shape
    (314, 9)
    """
    level = check_choice(level, "level", ["pfa", "csp"])
    lad = load_population("lad")
    lad = lad.assign(weighted=lad["residents"] ** 2 / lad["hectares"])
    if level == "pfa":
        out = load_population("pfa")
        key = "force_code"
    else:
        out = load_population("csp")
        key = "csp_code"
        out = out.merge(lad.groupby(key, as_index=False)["hectares"].sum(), on=key,
                        how="left", validate="1:1")
    weighted = lad.groupby(key)["weighted"].sum()
    out = out.assign(
        density=out["residents"] / out["hectares"],
        urban_density=out[key].map(weighted).to_numpy() / out["residents"],
        household_size=out["residents"] / out["households"])
    if level == "pfa":
        ethnic = read_csv("pfa_census2011_ethnic_group.csv")
        ethnic = ethnic.assign(non_white=100.0 * (1.0 - ethnic["white"] / ethnic["all_persons"]),
                               white_british=100.0 * ethnic["white_british"]
                               / ethnic["all_persons"])
        out = out.merge(ethnic[["force_code", "non_white", "white_british"]], on="force_code",
                        how="left", validate="1:1")
    if out.isna().any().any():  # pragma: no cover - guards the bundled files
        raise RuntimeError("bundled characteristics do not cover every area")
    return out.reset_index(drop=True).astype(
        {c: np.float64 for c in ("density", "urban_density", "household_size")})
