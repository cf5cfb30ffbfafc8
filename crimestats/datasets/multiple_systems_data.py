"""Capture-recapture list data: the UK 2013 modern-slavery lists.

Source: Silverman, B. W. (2014), *Modern slavery: an application of multiple systems
estimation*, Home Office (the data as distributed with the R package SparseMSE as ``UKdat``
and ``UKdat_5``). Open Government Licence v3.0: "Contains public sector information licensed
under the Open Government Licence v3.0."
"""

from __future__ import annotations

import pandas as pd

from .._validate import check_choice
from ._paths import read_csv

__all__ = ["load_modern_slavery"]

_FILES = {"6": "uk_modern_slavery_2013_6lists.csv", "5": "uk_modern_slavery_2013_5lists.csv"}


def load_modern_slavery(lists: int = 6) -> pd.DataFrame:
    """Potential victims of modern slavery known to UK agencies in 2013, by list overlap.

    Parameters
    ----------
    lists : {6, 5}
        6: local authorities (``LA``), non-governmental organisations (``NG``), police forces
        (``PF``), government organisations (``GO``), the general public (``GP``) and the
        National Crime Agency (``NCA``). 5: police forces and the NCA merged (``PFNCA``), the
        version behind the Home Office estimate of 10,000–13,000 victims.

    Returns
    -------
    pandas.DataFrame
        One 0/1 column per list and ``count`` (number of distinct people with that capture
        history; histories not shown have count 0). 2,744 people in all.

    Examples
    --------
    >>> from crimestats.datasets import load_modern_slavery
    >>> uk = load_modern_slavery(lists=5)
    >>> list(uk.columns), int(uk["count"].sum())
    (['LA', 'NG', 'PFNCA', 'GO', 'GP', 'count'], 2744)
    """
    key = check_choice(str(lists), "lists", list(_FILES))
    return read_csv(_FILES[key])
