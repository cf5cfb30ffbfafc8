"""The dark figure: survey-estimated incidents set against police recorded crime."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._validate import (
    aligned,
    as_float_array,
    as_rng,
    check_level,
    check_positive,
    describe_rows,
    require_columns,
)
from ..errors import DataWarning, InputError
from .results import DarkFigureResult

__all__ = ["dark_figure"]

_QUANTITIES = ("incidents", "reported", "recorded", "hidden", "reporting_rate",
               "recording_completeness")


def dark_figure(survey: pd.DataFrame, recorded: pd.DataFrame, mapping: Mapping[str, str | None],
                *, area: str = "area", survey_offence: str = "survey_offence",
                crime_type: str = "crime_type", incidents: str = "incidents",
                incidents_se: str | None = "incidents_se",
                reporting_rate: str = "reporting_rate",
                reporting_rate_se: str | None = "reporting_rate_se",
                recorded_count: str = "recorded", population: pd.DataFrame | None = None,
                population_column: str = "population", n_draws: int = 4000,
                incidents_draws: Any = None, reporting_rate_draws: Any = None,
                level: float = 0.95, random_seed: Any = None) -> DarkFigureResult:
    """Incidents, reported incidents, recorded crimes and the hidden remainder, with intervals.

    Parameters
    ----------
    survey : pandas.DataFrame
        One row per area and survey offence: estimated ``incidents`` (count) with standard
        error ``incidents_se``, and the estimated share reported to the police
        ``reporting_rate`` (proportion) with standard error ``reporting_rate_se`` (direct
        or small-area estimates; SE columns may be None for known values).
    recorded : pandas.DataFrame
        One row per area and recorded offence group: ``recorded`` crimes (count).
    mapping : dict
        Survey offence → recorded offence group on which the two sources are comparable.
        Every survey offence must appear; map it to None to leave it out on purpose.
        Several survey offences may map to one group (their incidents are added).
    area : str
        Area column (both tables).
    survey_offence : str
        Survey offence column of ``survey``.
    crime_type : str
        Recorded offence group column of ``recorded``.
    incidents : str
        Survey estimate of incidents (count).
    incidents_se : str or None
        Its standard error.
    reporting_rate : str
        Survey estimate of the share reported to the police (proportion).
    reporting_rate_se : str or None
        Its standard error.
    recorded_count : str
        Recorded crimes column of ``recorded``.
    population : pandas.DataFrame or pandas.Series, optional
        Residents per area (positive): a frame with columns ``area`` and
        ``population_column``, or a Series indexed by area. Matched to the areas by label
        (areas not compared are ignored; a compared area without a population is an error);
        adds rates per 1,000 residents.
    population_column : str
        Residents column of ``population``.
    n_draws : int
        Monte Carlo draws (taken from the draws arrays when those are given).
    incidents_draws, reporting_rate_draws : array-like, optional
        Draws of shape ``(n_draws, len(survey))`` (e.g. posterior draws of a small-area
        model), used instead of the log-normal / Beta draws built from the standard errors;
        their columns follow the rows of ``survey`` (a DataFrame's columns are matched to
        ``survey``'s index by label).
    level : float
        Interval level.
    random_seed : int, numpy.random.Generator or None
        Seed of the Monte Carlo propagation.

    Returns
    -------
    DarkFigureResult
        Over ``area`` × ``crime_type``: ``incidents`` (survey), ``reported`` (incidents the
        police came to know of, survey), ``recorded`` (police records), ``hidden``
        (incidents not recorded = incidents − recorded), ``reporting_rate`` (reported /
        incidents), ``recording_completeness`` (recorded / reported), each with
        ``_lower``/``_upper``; flags where records exceed survey reports.

    Notes
    -----
    recorded = incidents × P(reported) × P(recorded | reported). Draw $s$ takes
    incidents from a log-normal with the survey mean and SE and the reporting rate from a
    Beta with the survey mean and SE (independently by area and offence), sums survey
    offences within each recorded group, and computes every quantity from the draws; the
    recorded count is a census and is held fixed. Where recorded crime exceeds the survey's
    estimate of reported incidents (completeness above 1: survey coverage gaps, offences
    outside the survey's scope, or recording of crimes the survey misses), the numbers are
    kept as they are, flagged in ``records_exceed_reports`` with the Monte Carlo probability
    ``prob_records_exceed``, and a [`DataWarning`][crimestats.DataWarning] names the cells.

    Examples
    --------
    >>> import pandas as pd
    >>> from crimestats.hidden import dark_figure
    >>> survey = pd.DataFrame({"area": ["A"], "survey_offence": ["assault"],
    ...                        "incidents": [1000.0], "incidents_se": [100.0],
    ...                        "reporting_rate": [0.4], "reporting_rate_se": [0.03]})
    >>> recorded = pd.DataFrame({"area": ["A"], "crime_type": ["violence"], "recorded": [300]})
    >>> res = dark_figure(survey, recorded, {"assault": "violence"}, random_seed=1)
    >>> round(float(res.estimates["recording_completeness"].item()), 2)
    0.76
    """
    level = check_level(level)
    if int(n_draws) != n_draws or n_draws < 100:
        raise InputError(f"`n_draws` must be a whole number of at least 100; received {n_draws!r}.")
    rng = as_rng(random_seed)
    require_columns(survey, [area, survey_offence, incidents, incidents_se, reporting_rate,
                             reporting_rate_se], "survey")
    require_columns(recorded, [area, crime_type, recorded_count], "recorded")
    offences = pd.Index(survey[survey_offence].astype("object").unique())
    unmapped = [o for o in offences if o not in mapping]
    if unmapped:
        raise InputError(
            f"Survey offences {unmapped} are not in `mapping`. Map each survey offence to a "
            "recorded offence group, or to None to leave it out of the comparison.")
    sv = survey.copy()
    sv["_group"] = sv[survey_offence].map(lambda o: mapping[o])
    excluded = sorted({str(o) for o in offences if mapping[o] is None})
    sv = sv[sv["_group"].notna()]
    groups = sorted({str(g) for g in mapping.values() if g is not None})
    rec = recorded[recorded[crime_type].astype("object").isin(groups)]
    not_compared = sorted(set(map(str, recorded[crime_type].unique())) - set(groups))

    mean_i = _numeric(sv, incidents, "survey")
    se_i = _numeric(sv, incidents_se, "survey") if incidents_se else np.zeros(len(sv))
    mean_r = _numeric(sv, reporting_rate, "survey")
    se_r = _numeric(sv, reporting_rate_se, "survey") if reporting_rate_se else np.zeros(len(sv))
    _check_range(mean_i, se_i, mean_r, se_r, sv)
    rec_counts = _numeric(rec, recorded_count, "recorded")
    bad = (rec_counts < 0) | (rec_counts != np.round(rec_counts))
    if bad.any():
        raise InputError(
            f"`{recorded_count}` holds recorded crimes, which are whole non-negative counts; "
            f"{describe_rows(np.flatnonzero(bad), list(rec.index), 'row')} have "
            f"{rec_counts[bad][:8].tolist()}. Give the counts as recorded (not rates or "
            "averages).")
    dup_survey = survey.duplicated([area, survey_offence], keep=False).to_numpy()
    if dup_survey.any():
        raise InputError(
            f"`survey` has more than one row for the same area and survey offence in "
            f"{describe_rows(np.flatnonzero(dup_survey), list(survey.index), 'row')}; "
            "each survey estimate must appear once (remove the repeated rows, or combine "
            "them into one estimate with its standard error).")

    areas = sorted(set(map(str, sv[area])) | set(map(str, rec[area])))
    a_idx = {a: i for i, a in enumerate(areas)}
    g_idx = {g: j for j, g in enumerate(groups)}
    n_a, n_g = len(areas), len(groups)
    have_survey = np.zeros((n_a, n_g), dtype=bool)
    keep_rows = np.flatnonzero(survey[survey_offence].map(lambda o: mapping[o]).notna().to_numpy())
    inc_draws = _given_draws(incidents_draws, "incidents_draws", survey.index, keep_rows)
    rate_draws = _given_draws(reporting_rate_draws, "reporting_rate_draws", survey.index,
                              keep_rows)
    if inc_draws is not None:
        n_draws = inc_draws.shape[0]
    elif rate_draws is not None:
        n_draws = rate_draws.shape[0]
    if inc_draws is None:
        inc_draws = _lognormal(rng, mean_i, se_i, n_draws)
    if rate_draws is None:
        rate_draws = _beta(rng, mean_r, se_r, n_draws)
    if inc_draws.shape[0] != rate_draws.shape[0]:
        raise InputError("`incidents_draws` and `reporting_rate_draws` must have the same number "
                         "of draws (rows).")
    if (inc_draws < 0).any() or (rate_draws < 0).any() or (rate_draws > 1).any():
        raise InputError("Draws of incidents must be non-negative and draws of reporting rates "
                         "within [0, 1].")
    inc = np.zeros((n_draws, n_a, n_g))
    rep = np.zeros((n_draws, n_a, n_g))
    for k, (a, g) in enumerate(zip(sv[area].astype(str), sv["_group"].astype(str), strict=True)):
        i, j = a_idx[a], g_idx[g]
        have_survey[i, j] = True
        inc[:, i, j] += inc_draws[:, k]
        rep[:, i, j] += inc_draws[:, k] * rate_draws[:, k]
    recd = np.full((n_a, n_g), np.nan)
    dup = rec.duplicated([area, crime_type], keep=False).to_numpy()
    if dup.any():
        raise InputError(
            f"`recorded` has more than one row for the same area and crime type in "
            f"{describe_rows(np.flatnonzero(dup), list(rec.index), 'row')}; sum them first.")
    for a, g, c in zip(rec[area].astype(str), rec[crime_type].astype(str), rec_counts,
                       strict=True):
        recd[a_idx[a], g_idx[g]] = c
    missing_rec = have_survey & np.isnan(recd)
    missing_svy = ~have_survey & ~np.isnan(recd)
    if missing_rec.any() or missing_svy.any():
        cells = [f"{areas[i]} / {groups[j]}" for i, j in zip(*np.nonzero(missing_rec | missing_svy),
                                                             strict=True)]
        raise InputError(
            f"Survey and recorded data must cover the same area × crime-type cells; "
            f"{cells[:8]} appear in only one of them.")
    hidden = inc - recd[None]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = rep / inc
        complete = recd[None] / rep
    draws = {"incidents": inc, "reported": rep, "recorded": np.broadcast_to(recd, inc.shape),
             "hidden": hidden, "reporting_rate": rate, "recording_completeness": complete}
    alpha = (1.0 - level) / 2.0
    data: dict[str, Any] = {}
    for name, d in draws.items():
        data[name] = (("area", "crime_type"), d.mean(axis=0))
        lo, hi = np.quantile(d, [alpha, 1 - alpha], axis=0)
        data[f"{name}_lower"] = (("area", "crime_type"), lo)
        data[f"{name}_upper"] = (("area", "crime_type"), hi)
    exceed_prob = (recd[None] > rep).mean(axis=0)
    exceed = recd > rep.mean(axis=0)
    data["records_exceed_reports"] = (("area", "crime_type"), exceed)
    data["prob_records_exceed"] = (("area", "crime_type"), exceed_prob)
    if population is not None:
        p = _population(population, areas, area, population_column)[:, None]
        for name in ("incidents", "hidden"):
            data[f"{name}_per_1000"] = (("area", "crime_type"), 1000 * data[name][1] / p)
    ds = xr.Dataset(data, coords={"area": areas, "crime_type": groups},
                    attrs={"level": level, "n_draws": int(n_draws),
                           "units": "incidents (counts); rates and completeness as proportions"})
    flagged = [f"{areas[i]} / {groups[j]}" for i, j in zip(*np.nonzero(exceed), strict=True)]
    if flagged:
        warnings.warn(
            f"Recorded crime exceeds the survey estimate of incidents reported to the police in "
            f"{len(flagged)} cell(s): {flagged[:8]}. Recording completeness is above 1 there; "
            "the values are kept (not clipped). Check that the offence mapping compares like "
            "with like and that the survey covers the population and offences recorded.",
            DataWarning, stacklevel=2)
    diagnostics = {"mapping": {str(k): v for k, v in mapping.items()},
                   "survey_offences_excluded": excluded,
                   "recorded_groups_not_compared": not_compared,
                   "records_exceed_reports": flagged}
    return DarkFigureResult(estimates=ds, level=level, n_draws=int(n_draws),
                            diagnostics=diagnostics)


def _population(population: pd.DataFrame | pd.Series, areas: list[str], area: str,
                column: str) -> np.ndarray:
    """Residents per area in the order of ``areas``: matched by area label, positive."""
    if isinstance(population, pd.Series):
        series = population.copy()
        series.index = series.index.astype(str)
    else:
        require_columns(population, [area, column], "population")
        series = population.set_index(population[area].astype(str))[column]
    extra = [a for a in series.index if a not in set(areas)]
    if extra:
        series = series.drop(index=extra)  # areas outside the comparison are not needed
    values = aligned(series, areas, "population", "survey and recorded areas", noun="area")
    p = as_float_array(values, "population", labels=areas)
    check_positive(p, "population", areas)
    return p


def _given_draws(values: Any, name: str, rows: pd.Index, keep_rows: np.ndarray
                 ) -> np.ndarray | None:
    """Validate user draws ``(n_draws, n_rows)`` and keep the columns of compared rows.

    A DataFrame's columns are matched to the rows of ``survey`` by label.
    """
    if values is None:
        return None
    n_rows = len(rows)
    if isinstance(values, pd.DataFrame):
        values = aligned(values.T, list(rows), name, "survey", noun="row").T
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"`{name}` must hold numbers (draws); some entries are not.") from None
    if arr.ndim != 2 or arr.shape[1] != n_rows:
        raise InputError(f"`{name}` must have shape (n_draws, {n_rows}) — one column per row "
                         f"of `survey`; received {arr.shape}.")
    if not np.isfinite(arr).all():
        raise InputError(f"`{name}` has missing or infinite values.")
    return arr[:, keep_rows]


def _numeric(df: pd.DataFrame, col: str, what: str) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputError(f"`{what}` column `{col}` is missing or not numeric in "
                         f"{describe_rows(np.flatnonzero(bad), list(df.index), 'row')}.")
    return values


def _check_range(mean_i: np.ndarray, se_i: np.ndarray, mean_r: np.ndarray, se_r: np.ndarray,
                 sv: pd.DataFrame) -> None:
    labels = list(sv.index)
    for bad, msg in (
        (mean_i < 0, "incidents must be non-negative"),
        (se_i < 0, "standard errors must be non-negative"),
        (se_r < 0, "standard errors must be non-negative"),
        ((mean_r <= 0) | (mean_r >= 1), "reporting rates must be proportions strictly between 0 and 1"),
        ((se_r > 0) & (se_r**2 >= mean_r * (1 - mean_r)),
         "a reporting-rate SE must be below sqrt(rate * (1 - rate))"),
    ):
        if bad.any():
            raise InputError(f"In `survey`, {msg}; see {describe_rows(np.flatnonzero(bad), labels, 'row')}.")


def _lognormal(rng: np.random.Generator, mean: np.ndarray, se: np.ndarray, n: int) -> np.ndarray:
    """Log-normal draws with the given means and standard errors (exact where se = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = np.where(mean > 0, np.log1p((se / np.where(mean > 0, mean, 1.0)) ** 2), 0.0)
    mu = np.log(np.where(mean > 0, mean, 1.0)) - s2 / 2
    out = np.exp(mu + np.sqrt(s2) * rng.standard_normal((n, mean.size)))
    return np.where(mean > 0, out, 0.0)


def _beta(rng: np.random.Generator, mean: np.ndarray, se: np.ndarray, n: int) -> np.ndarray:
    """Beta draws matching mean and SE by moments (the mean itself where se = 0)."""
    fixed = se <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        size = np.where(fixed, 1.0, mean * (1 - mean) / np.where(fixed, 1.0, se**2) - 1)
    a, b = mean * size, (1 - mean) * size
    out = rng.beta(np.where(fixed, 1.0, a), np.where(fixed, 1.0, b), size=(n, mean.size))
    return np.where(fixed, mean, out)
