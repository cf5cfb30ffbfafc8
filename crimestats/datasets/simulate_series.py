"""Simulated crime series with known change points and known causes of change.

Used by the change-point tests and validation pages: every simulator returns the truth
alongside the data, so accuracy (F1 of the change points, coverage of intervals, how often
the right explanation is picked) can be measured.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .._validate import as_rng, check_choice
from ..errors import InputError

__all__ = ["SimulatedSeries", "SimulatedAttribution", "simulate_changepoint_series",
           "simulate_attribution", "ATTRIBUTION_SCENARIOS"]

#: Scenarios of [`simulate_attribution`][simulate_attribution].
ATTRIBUTION_SCENARIOS = ("none", "incidence", "reporting", "recording", "incidence+reporting")


@dataclasses.dataclass(frozen=True)
class SimulatedSeries:
    """A series with known change points.

    Attributes
    ----------
    y : numpy.ndarray
        The series.
    changepoints : list of int
        True 0-based starts of new segments.
    mean : numpy.ndarray
        True mean of each observation.

    Examples
    --------
    >>> from crimestats.datasets import simulate_changepoint_series
    >>> sim = simulate_changepoint_series(100, 1, random_seed=0)
    >>> sim.y.shape, len(sim.changepoints), sim.mean.shape
    ((100,), 1, (100,))
    """

    y: np.ndarray
    changepoints: list[int]
    mean: np.ndarray


def simulate_changepoint_series(n: int, n_changes: int, *, likelihood: str = "poisson",
                                base: float = 20.0, min_gap: int = 10, size: float = 30.0,
                                random_seed: Any = None) -> SimulatedSeries:
    """Piecewise-constant counts or normal values with ``n_changes`` changes at random times.

    Segment levels multiply the previous level by $e^{\\pm u}$ with
    $u \\sim U(0.2, 0.7)$ (counts; 20–100% changes) or shift it by $\\pm U(1, 3)$
    noise SDs (normal). Change points are at least ``min_gap`` apart and from the ends.

    Parameters
    ----------
    n, n_changes : int
        Length and number of changes.
    likelihood : {"poisson", "negbin", "normal"}
        Noise model.
    base : float
        Level of the first segment (counts) — normal series start at 0 with SD 1.
    min_gap : int
        Minimum distance between changes and from the ends.
    size : float
        Negative binomial size (variance $\\mu + \\mu^2/\\text{size}$).
    random_seed : int, numpy.random.Generator or None
        Seed.

    Examples
    --------
    >>> from crimestats.datasets import simulate_changepoint_series
    >>> sim = simulate_changepoint_series(200, 2, random_seed=1)
    >>> len(sim.y), len(sim.changepoints)
    (200, 2)
    """
    likelihood = check_choice(likelihood, "likelihood", ("poisson", "negbin", "normal"))
    if n_changes < 0 or n < (n_changes + 1) * min_gap:
        raise InputError(f"cannot place {n_changes} changes at least {min_gap} apart in a "
                         f"series of length {n}.")
    rng = as_rng(random_seed)
    # rejection-free placement: spread the slack over the gaps
    slack = n - (n_changes + 1) * min_gap
    cuts = np.sort(rng.integers(0, slack + 1, size=n_changes))
    cps = [int(c + (i + 1) * min_gap) for i, c in enumerate(cuts)]
    lengths = np.diff(np.array([0, *cps, n], dtype=np.int64))
    signs = rng.choice([-1.0, 1.0], size=n_changes)
    if likelihood == "normal":
        levels = np.r_[0.0, np.cumsum(signs * rng.uniform(1.0, 3.0, n_changes))]
        mean = np.repeat(levels, lengths)
        return SimulatedSeries(mean + rng.standard_normal(n), cps, mean)
    levels = base * np.exp(np.r_[0.0, np.cumsum(signs * rng.uniform(0.2, 0.7, n_changes))])
    mean = np.repeat(levels, lengths)
    if likelihood == "poisson":
        y = rng.poisson(mean)
    else:
        y = rng.negative_binomial(size, size / (size + mean))
    return SimulatedSeries(y.astype(float), cps, mean)


@dataclasses.dataclass(frozen=True)
class SimulatedAttribution:
    """Inputs of [`crimestats.changepoint.attribute`][crimestats.changepoint.attribute] with the true component changes.

    Attributes
    ----------
    recorded : pandas.Series
        Recorded offences per year.
    survey, reported_share : pandas.DataFrame
        Survey incidence and share reported (``period``, ``estimate``, ``se``).
    population : numpy.ndarray
        Population per year.
    controls : dict
        ``{"vehicle theft": (recorded, survey)}``.
    truth : dict
        True relative change over the window of ``incidence``, ``reporting`` and
        ``recording`` (0 = unchanged), and the scenario name.

    Examples
    --------
    >>> from crimestats.datasets import simulate_attribution
    >>> sim = simulate_attribution("recording", random_seed=0)
    >>> len(sim.recorded), list(sim.survey.columns), list(sim.controls)
    (16, ['period', 'estimate', 'se'], ['vehicle theft'])
    """

    recorded: pd.Series
    survey: pd.DataFrame
    reported_share: pd.DataFrame
    population: np.ndarray
    controls: dict[str, tuple[pd.Series, pd.DataFrame]]
    truth: dict[str, Any]


def simulate_attribution(scenario: str, *, n_periods: int = 16, change_at: int = 10,
                         effect: float = 0.4, survey_cv: float = 0.04, noise: float = 0.02,
                         population: float = 5e6, random_seed: Any = None
                         ) -> SimulatedAttribution:
    """Recorded crime, survey incidence and a control offence with a known cause of change.

    Target offence: incidence 2% of residents a year, falling 1% a year; 40% of incidents
    reported, 70% of those recorded. Control offence (vehicle theft): incidence 1%, 90%
    reported, 95% recorded. In year ``change_at`` (0-based):

    * ``"incidence"``: target incidence rises by ``effect`` (a real rise);
    * ``"reporting"``: the target's reporting rises by ``effect``;
    * ``"recording"``: recording of every offence (target and control) rises by ``effect``;
    * ``"incidence+reporting"``: both incidence and reporting rise by ``effect``;
    * ``"none"``: nothing changes.

    Recorded counts are Poisson around their mean times log-normal year noise (SD
    ``noise``); survey estimates are the truth times log-normal error with CV ``survey_cv``.

    Examples
    --------
    >>> from crimestats.datasets import simulate_attribution
    >>> sim = simulate_attribution("reporting", random_seed=0)
    >>> sim.truth["reporting"], sim.truth["incidence"]
    (0.4, 0.0)
    """
    scenario = check_choice(scenario, "scenario", ATTRIBUTION_SCENARIOS)
    if not 1 <= change_at < n_periods:
        raise InputError(f"`change_at` must be between 1 and n_periods - 1; got {change_at}.")
    rng = as_rng(random_seed)
    years = np.arange(2003, 2003 + n_periods)
    after = np.arange(n_periods) >= change_at
    step = 1.0 + effect * after
    inc_step = step if "incidence" in scenario else np.ones(n_periods)
    rep_step = step if "reporting" in scenario else np.ones(n_periods)
    rec_step = step if scenario == "recording" else np.ones(n_periods)
    pop = np.full(n_periods, population)
    inc = 0.02 * 0.99 ** np.arange(n_periods) * inc_step
    rep = 0.4 * rep_step
    mean_rec = pop * inc * rep * 0.7 * rec_step
    inc_c = 0.01 * np.ones(n_periods)
    mean_c = pop * inc_c * 0.9 * 0.95 * rec_step

    def counts(mean: np.ndarray) -> np.ndarray:
        return rng.poisson(mean * np.exp(rng.normal(0, noise, n_periods))).astype(float)

    def survey(truth: np.ndarray) -> pd.DataFrame:
        est = truth * np.exp(rng.normal(0, survey_cv, n_periods))
        return pd.DataFrame({"period": years, "estimate": est, "se": survey_cv * est})

    truth = {"scenario": scenario,
             "incidence": float(inc_step[-1] - 1.0) if "incidence" in scenario else 0.0,
             "reporting": float(rep_step[-1] - 1.0),
             "recording": float(rec_step[-1] - 1.0)}
    # incidence also trends down 1% a year: its total change over the window
    truth["incidence_total"] = float(inc[-1] / inc[0] - 1.0)
    return SimulatedAttribution(
        recorded=pd.Series(counts(mean_rec), index=years), survey=survey(inc),
        reported_share=survey(rep), population=pop,
        controls={"vehicle theft": (pd.Series(counts(mean_c), index=years), survey(inc_c))},
        truth=truth)
