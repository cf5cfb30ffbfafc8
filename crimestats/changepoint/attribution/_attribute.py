"""The public front-end: `attribute`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..._validate import as_rng, check_level
from ...errors import InputError
from ._configurations import INCIDENCE, RECORDING, REPORTING, enumerate_configurations
from ._engine import draw_paths, fit_configurations
from ._grid import hyper_grid
from ._inputs import read_inputs
from ._model import build_design
from ._results import AttributionResult, summarise

__all__ = ["attribute", "CHANGE_SD", "SECOND_CHANGE"]

#: Prior standard deviation of the size of a change (log scale) of each component.
CHANGE_SD = {INCIDENCE: 0.5, REPORTING: 0.5, RECORDING: 0.5}
#: Lengths of the changes of incidence (steps; its gradual movements are the smooth curve).
INCIDENCE_LENGTHS = (1,)
#: Prior odds factor of each further change of a capture component (see `_configurations`).
SECOND_CHANGE = 0.3


def _ramps(ramp_lengths: Any) -> tuple[int, ...]:
    try:
        out = tuple(sorted({int(v) for v in np.atleast_1d(ramp_lengths)}))
    except (TypeError, ValueError):
        out = ()
    if not out or out[0] < 1 or out[-1] > 6:
        raise InputError(f"`ramp_lengths` must be whole numbers of periods from 1 (a step) to "
                         f"6; received {ramp_lengths!r}.")
    return out


def attribute(recorded: Any, survey: Any, *, population: Any = None,
              reported_share: Any = None, controls: Mapping[str, tuple[Any, Any]] | None = None,
              shocks: Any = None, calendar: Any = None, prior_change: float = 0.25,
              max_changes: int | None = None, ramp_lengths: Any = (1, 2, 3),
              level: float = 0.95, draws: int = 4000, random_seed: Any = None
              ) -> AttributionResult:
    """Attribute changes in recorded crime to incidence, reporting and recording.

    The model (see `crimestats.changepoint.attribution` and the user guide page
    "Attribution"): on the log scale, recorded crime per person is incidence plus capture;
    incidence is a smooth curve (integrated random walk) with at most one step and is measured
    by the survey; capture (reporting, and recording with control offences) changes by steps
    or ramps. The posterior over every configuration of changes is exact; the extra
    year-to-year noise and the smoothness are integrated over a grid.

    Parameters
    ----------
    recorded : pandas.Series or array-like
        Police recorded offences per period, oldest first, indexed by period label (years,
        ``"2016/17"``, pandas Periods, dates). Periods must be consecutive, sorted and unique.
    survey : pandas.DataFrame or crimestats.calendar.AlignedSurvey
        Survey estimates of incidence for the same offence: columns ``period`` (labels of
        ``recorded``), ``estimate`` (incidents or victims per person — a rate or a prevalence;
        a constant victims-to-incidents ratio is absorbed) and ``se`` (standard error, same
        units). Missing survey periods are allowed. A survey on another calendar is given
        after `crimestats.calendar.align_survey`.
    population : scalar, pandas.Series or array-like, optional
        Population per period (a Series is matched by label). Default 1: then
        ``survey['estimate']`` must be on the scale of ``recorded``.
    reported_share : pandas.DataFrame or AlignedSurvey, optional
        Survey share of incidents reported to the police (``period``, ``estimate`` in (0, 1),
        ``se``); it measures reporting directly.
    controls : dict, optional
        ``{name: (recorded_counts, survey_frame)}`` for control offences whose reporting is
        stable (e.g. vehicle theft); they identify recording changes shared by all offences.
    shocks : list, optional
        Known events: period labels, or dates such as ``"2016-06-23"`` (mapped to the period
        containing the date). Half of the prior weight of a change's start is put on these
        periods, half spread over all periods, so the data can still place a change elsewhere.
    calendar : crimestats.calendar.Calendar or str, optional
        Calendar of the recorded periods, needed to read dates in ``shocks`` when the periods
        are plain years (e.g. ``"financial_year"`` for years ending in March labelled by the
        year in which they end). Inferred from pandas Periods and ``"2016/17"`` labels.
    prior_change : float
        Prior probability that incidence has a step in the window, and that the police
        capture changes (reporting or recording). The default 0.25 (prior odds 1 : 3) means
        that a change is reported as more likely than not (probability above 0.5) only when
        the data favour it by a Bayes factor of 3 or more ("substantial" evidence on
        Jeffreys' scale), not when they are silent. With controls, reporting and recording each
        change with probability $1 - \\sqrt{1 - p}$, independently, so that adding controls
        leaves the prior probability of a capture change at ``prior_change``.
    max_changes : int, optional
        Most changes of reporting and recording together (default 2, or 1 for fewer than 10
        periods). The number of configurations grows quickly with it.
    ramp_lengths : sequence of int
        Lengths (periods) of the changes considered: 1 is a step, 3 a ramp over three periods.
    level : float
        Level of the intervals.
    draws : int
        Draws from the exact posterior (a mixture of Gaussians) used for intervals and
        ``prob_not_incidence`` (at least 1).
    random_seed : int, numpy.random.Generator or None
        Seed of those draws.

    Returns
    -------
    AttributionResult

    Raises
    ------
    crimestats.InputError
        Periods out of order, repeated or with gaps; survey periods that are not recorded
        periods; a share outside (0, 1); labelled inputs whose labels differ; ``draws < 1``;
        shocks outside the window or at its first period.

    References
    ----------
    Kitagawa, G. & Gersch, W. (1996). *Smoothness Priors Analysis of Time Series*. Springer.
    Fearnhead, P. (2006). Exact and efficient Bayesian inference for multiple changepoint
    problems. *Statistics and Computing* 16, 203–213.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from crimestats.changepoint import attribute
    >>> years = np.arange(2005, 2019)
    >>> inc = 0.05 * 0.98 ** np.arange(14)                    # survey: incidence falling
    >>> capture = np.where(years >= 2014, 0.6, 0.4)           # police capture up 50% in 2014
    >>> recorded = pd.Series(np.round(1e6 * inc * capture), index=years)
    >>> survey = pd.DataFrame({"period": years, "estimate": inc, "se": 0.03 * inc})
    >>> res = attribute(recorded, survey, population=1e6, random_seed=0)
    >>> res.explanation, round(res.prob_not_incidence, 2)
    ('reporting', 1.0)
    >>> row = res.effects.set_index("component").loc["reporting"]
    >>> int(row["time"]), round(float(row["step"]), 1)
    (2014, 0.5)
    """
    level = check_level(level)
    if not 0.0 < prior_change < 1.0:
        raise InputError(f"`prior_change` must be in (0, 1); received {prior_change!r}.")
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise InputError(f"`draws` must be a whole number of at least 1; received {draws!r}.")
    rng = as_rng(random_seed)
    ramps = _ramps(ramp_lengths)
    inputs = read_inputs(recorded, survey, population, reported_share, controls, shocks,
                         calendar)
    T = inputs.times.size
    if max_changes is None:
        max_changes = 2 if T >= 10 else 1
    if isinstance(max_changes, bool) or not isinstance(max_changes, (int, np.integer)) \
            or not 1 <= max_changes <= 3:
        raise InputError(f"`max_changes` must be 1, 2 or 3; received {max_changes!r}.")
    design = build_design(T, inputs.recorded, inputs.survey, inputs.share, inputs.controls)
    has_recording = bool(inputs.controls)
    configs = enumerate_configurations(T, has_recording=has_recording, ramp_lengths=ramps,
                                       max_changes=int(max_changes), prior_change=prior_change,
                                       second_change=SECOND_CHANGE, shocks=inputs.shocks,
                                       incidence_lengths=INCIDENCE_LENGTHS)
    grid = hyper_grid()
    post = fit_configurations(design, configs, grid, CHANGE_SD)
    components = (INCIDENCE, REPORTING, RECORDING) if has_recording else (INCIDENCE, REPORTING)
    paths = draw_paths(post, int(draws), rng, components)
    diagnostics = {"n_configurations": configs.size, "n_grid": grid.size,
                   "max_changes": int(max_changes), "ramp_lengths": list(ramps),
                   "log_evidence": post.log_evidence}
    return summarise(post, paths, inputs.times, inputs.rate, inputs.survey_on_time, components,
                     level, diagnostics)
