"""Simulators with known truth for hidden demand: capture histories and survey-vs-recorded worlds.

* [`simulate_capture_histories`][simulate_capture_histories] — a population of known size ``N`` whose members are
  caught by each list with probabilities that differ between people (latent classes, or
  individual logit-normal random effects); returns the observed capture-history table.
* [`simulate_dark_figure`][simulate_dark_figure] — areas × crime types with known incidence, reporting rate and
  recording rate; returns survey estimates (with standard errors) of incidents and of the
  share reported, police recorded counts, and the truth.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np
import pandas as pd

from .._validate import as_rng
from ..errors import InputError

__all__ = ["SimulatedCaptures", "SimulatedDarkFigure", "simulate_capture_histories",
           "simulate_dark_figure"]


@dataclasses.dataclass(frozen=True)
class SimulatedCaptures:
    """A simulated capture-recapture study.

    Attributes
    ----------
    table : pandas.DataFrame
        One 0/1 column per list (``L1``, ``L2``, ...) and ``count``; every non-empty history.
    total : int
        True population size ``N`` (observed + hidden).
    observed : int
        People on at least one list.
    capture_probs : numpy.ndarray
        Per-class (classes × lists) or, for random effects, mean per-list capture probabilities.

    Examples
    --------
    >>> from crimestats.datasets import simulate_capture_histories
    >>> sim = simulate_capture_histories(total=500, n_lists=3, random_seed=0)
    >>> sim.total, int(sim.table["count"].sum()) == sim.observed, sim.capture_probs.shape
    (500, True, (2, 3))
    """

    table: pd.DataFrame
    total: int
    observed: int
    capture_probs: np.ndarray


def simulate_capture_histories(total: int = 2000, n_lists: int = 4, *,
                               heterogeneity: str = "classes",
                               class_weights: Any = (0.8, 0.2),
                               capture_probs: Any = None, sd: float = 1.0,
                               referral: tuple[int, int, float] | None = None,
                               random_seed: Any = None) -> SimulatedCaptures:
    """Simulate list captures of a population of known size with heterogeneous catchability.

    Parameters
    ----------
    total : int
        True population size ``N``.
    n_lists : int
        Number of lists (2–10).
    heterogeneity : {"classes", "random_effects"}
        ``"classes"``: each person belongs to latent class ``k`` with probability
        ``class_weights[k]`` and is on list ``j`` independently with probability
        ``capture_probs[k, j]`` (the LCMCR data model; default: a hard-to-reach class with
        probabilities 0.05–0.15 and an easier class with 0.3–0.5). ``"random_effects"``:
        $\\operatorname{logit} p_{ij} = \\operatorname{logit} q_j + \\epsilon_i$,
        $\\epsilon_i \\sim N(0, \\mathrm{sd}^2)$, with ``q = capture_probs`` (default
        0.2 for every list).
    class_weights, capture_probs, sd
        As above (``capture_probs`` may be one row with ``class_weights=(1.0,)`` for a
        homogeneous population).
    referral : (int, int, float), optional
        ``(a, b, p)``: everyone on list ``a`` (0-based) is also put on list ``b`` with
        probability ``p`` (one agency referring to another), which makes the two lists
        dependent whatever the heterogeneity.
    random_seed : int, numpy.random.Generator or None
        Seed.

    Returns
    -------
    SimulatedCaptures

    Examples
    --------
    >>> from crimestats.datasets import simulate_capture_histories
    >>> sim = simulate_capture_histories(total=1000, n_lists=3, random_seed=1)
    >>> sim.total, sim.observed < sim.total, list(sim.table.columns)
    (1000, True, ['L1', 'L2', 'L3', 'count'])
    """
    if int(total) != total or total < 1:
        raise InputError(f"`total` must be a positive whole number; received {total!r}.")
    if not 2 <= n_lists <= 10:
        raise InputError(f"`n_lists` must be between 2 and 10; received {n_lists!r}.")
    rng = as_rng(random_seed)
    total = int(total)
    if heterogeneity == "classes":
        weights = np.asarray(class_weights, dtype=float)
        if capture_probs is None:
            low = np.linspace(0.05, 0.15, n_lists)
            high = np.linspace(0.5, 0.3, n_lists)
            probs = np.vstack([low, high])[: weights.size]
        else:
            probs = np.asarray(capture_probs, dtype=float).reshape(weights.size, n_lists)
        if weights.min() < 0 or not np.isclose(weights.sum(), 1.0):
            raise InputError("`class_weights` must be non-negative and sum to 1.")
        cls = rng.choice(weights.size, size=total, p=weights)
        p = probs[cls]
    elif heterogeneity == "random_effects":
        q = np.full(n_lists, 0.2) if capture_probs is None else np.asarray(capture_probs, float)
        probs = q
        eps = rng.normal(0.0, sd, size=(total, 1))
        p = 1.0 / (1.0 + np.exp(-(np.log(q / (1 - q)) + eps)))
    else:
        raise InputError(
            f"`heterogeneity` must be 'classes' or 'random_effects'; received {heterogeneity!r}.")
    caught = (rng.random((total, n_lists)) < p).astype(np.int64)
    if referral is not None:
        a, b, prob = referral
        if not (0 <= a < n_lists and 0 <= b < n_lists and a != b and 0.0 <= prob <= 1.0):
            raise InputError(f"`referral` must be (from list, to list, probability) with two "
                             f"different lists below {n_lists} and a probability in [0, 1]; "
                             f"received {referral!r}.")
        referred = (caught[:, a] == 1) & (rng.random(total) < prob)
        caught[referred, b] = 1
    codes = caught @ (1 << np.arange(n_lists))
    tally = np.bincount(codes, minlength=2**n_lists)
    rows = [h for h in itertools.product((0, 1), repeat=n_lists) if any(h)]
    names = [f"L{j + 1}" for j in range(n_lists)]
    table = pd.DataFrame(rows, columns=names)
    table["count"] = [int(tally[sum(b << j for j, b in enumerate(h))]) for h in rows]
    return SimulatedCaptures(table=table, total=total, observed=int((codes > 0).sum()),
                             capture_probs=probs)


@dataclasses.dataclass(frozen=True)
class SimulatedDarkFigure:
    """A simulated survey-versus-recorded world with known reporting and recording.

    Attributes
    ----------
    survey : pandas.DataFrame
        Columns ``area``, ``survey_offence``, ``incidents``, ``incidents_se`` (survey
        estimate of incidents and its standard error), ``reporting_rate``,
        ``reporting_rate_se`` (survey estimate of the share the police came to know).
    recorded : pandas.DataFrame
        Columns ``area``, ``crime_type`` (recorded offence group) and ``recorded``.
    population : pandas.DataFrame
        Columns ``area`` and ``population``.
    mapping : dict
        Survey offence → recorded offence group.
    truth : pandas.DataFrame
        Per area and crime type: true ``incidents``, ``reported`` (expected),
        ``reporting_rate``, ``recording_rate`` (recorded / reported) and ``hidden``.

    Examples
    --------
    >>> from crimestats.datasets import simulate_dark_figure
    >>> sim = simulate_dark_figure(n_areas=3, random_seed=0)
    >>> sim.population.shape, list(sim.recorded.columns)
    ((3, 2), ['area', 'crime_type', 'recorded'])
    >>> bool((sim.truth["hidden"] >= 0).all())
    True
    """

    survey: pd.DataFrame
    recorded: pd.DataFrame
    population: pd.DataFrame
    mapping: dict[str, str]
    truth: pd.DataFrame


def simulate_dark_figure(n_areas: int = 10, *, rate_per_1000: Any = (60.0, 20.0),
                         reporting_rate: Any = (0.4, 0.2), recording_rate: Any = (0.8, 0.7),
                         survey_cv: float = 0.15, reporting_se: float = 0.04,
                         random_seed: Any = None) -> SimulatedDarkFigure:
    """Simulate areas with known incidents, reporting and recording, and what is observed.

    Two survey offences (``"assault"``, ``"sexual offence"``) map to recorded groups
    ``"violence"`` and ``"sexual offences"``. In area ``i`` and offence ``c``: true incidents
    $T_{ic} = \\text{population}_i \\times \\text{rate}_c / 1000$ (area effects
    log-normal, sd 0.2), reported $T_{ic} r_{ic}$ and recorded
    $\\sim \\text{Poisson}(T_{ic} r_{ic} q_c)$. The survey estimates
    incidents with coefficient of variation ``survey_cv`` and reporting rates with standard
    error ``reporting_se`` (normal errors, truncated to the valid range).

    Examples
    --------
    >>> from crimestats.datasets import simulate_dark_figure
    >>> sim = simulate_dark_figure(n_areas=3, random_seed=2)
    >>> sorted(sim.recorded["crime_type"].unique())
    ['sexual offences', 'violence']
    """
    rng = as_rng(random_seed)
    if int(n_areas) != n_areas or n_areas < 1:
        raise InputError(f"`n_areas` must be a positive whole number; received {n_areas!r}.")
    for name, value, low, high in (("rate_per_1000", rate_per_1000, 0.0, 1000.0),
                                   ("reporting_rate", reporting_rate, 0.0, 1.0),
                                   ("recording_rate", recording_rate, 0.0, 1.0)):
        arr = np.asarray(value, dtype=float)
        if arr.shape != (2,) or not np.all(np.isfinite(arr)) or np.any(arr <= low) \
                or np.any(arr > high):
            raise InputError(
                f"`{name}` must be two numbers (assault, sexual offence) in ({low:g}, "
                f"{high:g}]; received {value!r}. Shares are proportions, not percentages.")
    for name, value in (("survey_cv", survey_cv), ("reporting_se", reporting_se)):
        if not np.isfinite(value) or value < 0:
            raise InputError(f"`{name}` must be a non-negative number; received {value!r}.")
    offences = ["assault", "sexual offence"]
    groups = ["violence", "sexual offences"]
    rate = np.asarray(rate_per_1000, float)
    rep = np.asarray(reporting_rate, float)
    rec = np.asarray(recording_rate, float)
    areas = [f"area {i + 1:02d}" for i in range(n_areas)]
    pop = rng.integers(100_000, 1_000_000, size=n_areas)
    survey_rows, recorded_rows, truth_rows = [], [], []
    for i, area in enumerate(areas):
        for c, (off, grp) in enumerate(zip(offences, groups, strict=True)):
            incidents = pop[i] * rate[c] / 1000 * np.exp(rng.normal(0, 0.2))
            r = float(np.clip(rep[c] + rng.normal(0, 0.05), 0.02, 0.98))
            reported = incidents * r
            recorded = rng.poisson(reported * rec[c])
            se = survey_cv * incidents
            survey_rows.append({
                "area": area, "survey_offence": off,
                "incidents": max(incidents + rng.normal(0, se), 0.0), "incidents_se": se,
                "reporting_rate": float(np.clip(r + rng.normal(0, reporting_se), 0.01, 0.99)),
                "reporting_rate_se": reporting_se,
            })
            recorded_rows.append({"area": area, "crime_type": grp, "recorded": int(recorded)})
            truth_rows.append({"area": area, "crime_type": grp, "incidents": incidents,
                               "reported": reported, "reporting_rate": r,
                               "recording_rate": rec[c], "hidden": incidents - rec[c] * reported})
    return SimulatedDarkFigure(
        survey=pd.DataFrame(survey_rows), recorded=pd.DataFrame(recorded_rows),
        population=pd.DataFrame({"area": areas, "population": pop}),
        mapping=dict(zip(offences, groups, strict=True)), truth=pd.DataFrame(truth_rows),
    )
