"""Bundled real data (with licences) and simulators with known truth.

Real data (see the "Bundled data" guide and the "Data licences" page): police recorded crime,
hate crime, Crime Survey for England and Wales tables, police-force-area geography and Census
2011 populations. Every loader returns a tidy pandas DataFrame (or parsed GeoJSON) read from the
package with `importlib.resources`; its docstring names the source and licence.

Files as published: `read_police_uk` reads a data.police.uk street-level download into a
complete area × crime type × month panel.
"""

from __future__ import annotations

# --- bundled real data ---
from .analysis_tables import load_force_violence, load_violence_domains
from .area_characteristics import load_area_characteristics
from .geography import (
    load_csp_adjacency,
    load_csp_boundaries,
    load_forces,
    load_geography_lookup,
    load_pfa_adjacency,
    load_pfa_boundaries,
)
from .hate_crime import load_hate_crime
from .multiple_systems_data import load_modern_slavery
from .police_uk import (
    POLICE_UK_COLUMNS,
    POLICE_UK_CRIME_TYPES,
    PoliceUKPanel,
    read_police_uk,
)
from .population import load_population
from .recorded_crime import VIOLENCE_OFFENCES, load_recorded_crime
from .simulate_compare import (
    SimulatedAreas,
    SimulatedPanel,
    simulate_area_counts,
    simulate_count_panel,
)
from .simulate_crime_series import CRIME_SERIES_KINDS, CrimeSeries, simulate_crime_series
from .simulate_hidden import (
    SimulatedCaptures,
    SimulatedDarkFigure,
    simulate_capture_histories,
    simulate_dark_figure,
)
from .simulate_series import (
    ATTRIBUTION_SCENARIOS,
    SimulatedAttribution,
    SimulatedSeries,
    simulate_attribution,
    simulate_changepoint_series,
)
from .simulate_survey import SimulatedSurvey, simulate_survey
from .survey_tables import (
    CSEW_MEASURES,
    load_csew_2018_by_region,
    load_csew_2018_table,
    load_csew_prevalence,
)

__all__ = [
    # bundled real data
    "CSEW_MEASURES",
    "load_area_characteristics",
    "VIOLENCE_OFFENCES",
    "load_csew_2018_by_region",
    "load_csew_2018_table",
    "load_csew_prevalence",
    "load_csp_adjacency",
    "load_force_violence",
    "load_forces",
    "load_geography_lookup",
    "load_hate_crime",
    "load_modern_slavery",
    "load_pfa_adjacency",
    "load_pfa_boundaries",
    "load_csp_boundaries",
    "load_population",
    "load_recorded_crime",
    "load_violence_domains",
    # files as published
    "POLICE_UK_COLUMNS",
    "POLICE_UK_CRIME_TYPES",
    "PoliceUKPanel",
    "read_police_uk",
    # simulators with known truth
    "SimulatedSurvey",
    "SimulatedAreas",
    "SimulatedPanel",
    "simulate_area_counts",
    "simulate_count_panel",
    "simulate_survey",
    "SimulatedCaptures",
    "SimulatedDarkFigure",
    "simulate_capture_histories",
    "simulate_dark_figure",
    "ATTRIBUTION_SCENARIOS",
    "SimulatedAttribution",
    "SimulatedSeries",
    "simulate_attribution",
    "simulate_changepoint_series",
    "simulate_crime_series",
    "CrimeSeries",
    "CRIME_SERIES_KINDS",
]
