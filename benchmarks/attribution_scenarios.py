"""Simulated crime series from processes that are *not* the attribution model's own.

Used by ``benchmarks/attribution_calibration.py`` (the calibration study) and by the slow test
``tests/test_attribution_calibration.py``. Every series is simulated month by month and then
aggregated, so the model's assumptions fail in the ways real data fail:

* incidence follows a curve of its own family (quadratic, logistic, a slow wave, a kink),
  never an integrated random walk, with a winter peak;
* changes in reporting, recording or incidence start in any month (a change in mid-year is a
  two-year ramp in annual data) and ramp over 0–5 years; they start between the third and the
  eleventh financial year, so that at least three years show their effect (a change in the
  last year or two is seen in one or two noisy observations, and no method can tell it from
  a one-off — the model considers changes up to two periods from the end);
* recorded counts are negative binomial: Poisson around the monthly means times one gamma
  factor per year with coefficient of variation 5% or 13% (the extra year-to-year noise);
* the survey has relative standard errors of 4–6% (normal on the natural scale, its published
  SE proportional to its estimate), some survey years missing, and runs on a calendar other
  than the recorded one: the same financial years, survey years ending in December, or the
  CSEW design (interviews over the financial year, each about the 12 months before interview);
* 14 financial years (2004/05–2017/18), one million people.

The truth of each series is summarised on the model's annual scale: the change of each
component from the first to the last financial year.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from crimestats import calendar

YEARS = np.arange(2005, 2019)           # financial years ending March 2005 .. 2018
POPULATION = 1e6
#: Two true changes (capture, incidence) closer than this in absolute size on the log scale
#: are a near tie; the right call is reported apart for them.
NEAR_TIE = 0.1
_FIRST_MONTH = pd.Period("2002-04", "M")          # three years of months before the window
_MONTHS = pd.period_range(_FIRST_MONTH, "2018-03", freq="M")
_M0 = _MONTHS.get_loc(pd.Period("2004-04", "M"))  # first month of the window


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One simulated process.

    Attributes
    ----------
    name : str
        Short name.
    description : str
        What changes.
    incidence : str
        ``"curve"`` (a gentle curve only), ``"rise"`` (a real rise of 30–60% over 0–4 years on
        top of the curve), ``"fall"`` (a real fall of 20–30% over 4–8 years).
    reporting : str
        ``"none"``, ``"step"`` (25–50%, starting in any month), ``"ramp"`` (30–60% over 2–5
        years), ``"fall"`` (−25% to −40% over 1–4 years), ``"two"`` (a rise of 25–45% and,
        3–5 years later, a second change of ±20–35%).
    recording : str
        ``"none"`` or ``"ramp"`` (all offences, 25–50% over 0–3 years; a control offence is
        simulated and given to the model).
    """

    name: str
    description: str
    incidence: str = "curve"
    reporting: str = "none"
    recording: str = "none"


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("null_curve", "incidence on a gentle curve; nothing else changes"),
    Scenario("incidence_rise", "a real rise of incidence (30-60% over 0-4 years)", "rise"),
    Scenario("reporting_step", "reporting steps up 25-50% in any month", reporting="step"),
    Scenario("reporting_ramp", "reporting rises 30-60% over 2-5 years", reporting="ramp"),
    Scenario("reporting_fall", "reporting falls 25-40% over 1-4 years", reporting="fall"),
    Scenario("two_changes", "reporting rises, then changes again 3-5 years later",
             reporting="two"),
    Scenario("both", "incidence falls 20-30% while reporting rises 40-60%", "fall",
             reporting="ramp"),
    Scenario("null_control", "a control offence, nothing changes but incidence curves",
             recording="none_with_control"),
    Scenario("recording_ramp", "recording of every offence rises 25-50% (with a control)",
             recording="ramp"),
)


@dataclasses.dataclass(frozen=True)
class SimulatedSeries:
    """Inputs of `attribute` and the truth on the model's annual scale.

    ``paths`` holds the true annual paths (log scale, ``(years,)`` arrays): ``capture`` (the
    target's reporting and recording together), ``recording`` (shared with the control),
    ``expected`` (expected recorded counts of the target) and, with a control,
    ``control_expected``; used by ``attribution_oracle.py``.
    """

    recorded: pd.Series
    survey: Any
    controls: dict[str, tuple[pd.Series, Any]] | None
    truth: dict[str, Any]
    paths: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def _ramp(months: np.ndarray, start: float, length: float) -> np.ndarray:
    """0 before ``start``, 1 after ``start + length`` (months), linear between."""
    if length <= 0:
        return (months >= start).astype(float)
    return np.clip((months - start) / length, 0.0, 1.0)


def _curve(rng: np.random.Generator, m: np.ndarray) -> np.ndarray:
    """Log incidence of a gentle curve over months ``m`` (0 = first month of the window)."""
    x = (m - 84.0) / 84.0                       # -1 .. 1 over the window
    slope = rng.uniform(-0.3, 0.15)             # total change over the window, log scale
    kind = rng.choice(["quadratic", "logistic", "wave", "kink"])
    if kind == "quadratic":
        shape = rng.uniform(-0.2, 0.2) * (x ** 2 - 1 / 3)
    elif kind == "logistic":
        shape = rng.uniform(-0.25, 0.25) / (1 + np.exp(-(x - rng.uniform(-0.5, 0.5)) * 4))
    elif kind == "wave":
        shape = rng.uniform(0.03, 0.08) * np.sin(np.pi * x * rng.uniform(0.8, 1.6)
                                                 + rng.uniform(0, 2 * np.pi))
    else:
        knot = rng.uniform(-0.4, 0.4)
        shape = rng.uniform(-0.3, 0.3) * np.maximum(x - knot, 0) ** 1.0
    return slope * x / 2 + shape


def _months_in_window() -> np.ndarray:
    return np.arange(len(_MONTHS)) - _M0


def _annual(values: np.ndarray) -> np.ndarray:
    """Sum over each financial year of the window of a monthly series."""
    return values[_M0:].reshape(len(YEARS), 12).sum(axis=1)


def _survey(rng: np.random.Generator, monthly_rate: np.ndarray, design: str, missing: int,
            rse: float) -> Any:
    """Survey estimates of the monthly incidence rate (per person per year) on ``design``."""
    if design == "financial_year":
        labels, cal, recall = YEARS, calendar.financial_year(), 0
    elif design == "december":
        labels, cal, recall = np.arange(2004, 2018), calendar.survey_year(12), 0
    else:                                        # CSEW: 12 months before interview
        labels, cal, recall = YEARS, calendar.survey_year(3), 12
    w = calendar.overlap_weights(labels, [str(p) for p in _MONTHS], source_calendar=cal,
                                 target_calendar="month", recall_months=recall).to_numpy()
    truth = w @ monthly_rate / w.sum(axis=1)
    est = truth * (1.0 + rse * rng.standard_normal(truth.size))
    frame = pd.DataFrame({"period": labels, "estimate": est, "se": rse * est})
    if missing:
        drop = rng.choice(np.arange(1, len(labels) - 1), size=missing, replace=False)
        frame = frame.drop(index=drop).reset_index(drop=True)
    aligned = calendar.align_survey(frame, pd.Index(YEARS), survey_calendar=cal,
                                    calendar="financial_year", recall_months=recall,
                                    partial="drop")
    return aligned


def simulate(scenario: Scenario, noise: float, rng: np.random.Generator,
             survey_scale: float = 1.0) -> SimulatedSeries:
    """One series of ``scenario`` with extra year-to-year noise ``noise`` (CV of the counts).

    ``survey_scale`` multiplies the survey's relative standard errors (4-6%) without changing
    the random numbers drawn: 0.1 gives the same series with a nearly exact survey.
    """
    m = _months_in_window().astype(float)
    season = 0.1 * np.cos(2 * np.pi * (m - 9) / 12)          # winter peak
    log_inc = np.log(rng.uniform(0.02, 0.06)) + _curve(rng, m) + season
    if scenario.incidence == "rise":
        log_inc += np.log1p(rng.uniform(0.3, 0.6)) * _ramp(m, rng.uniform(24, 120),
                                                            rng.uniform(0, 48))
    elif scenario.incidence == "fall":
        log_inc += np.log1p(-rng.uniform(0.2, 0.3)) * _ramp(m, rng.uniform(24, 70),
                                                             rng.uniform(48, 96))
    log_rep = np.full(m.size, np.log(rng.uniform(0.3, 0.5)))
    if scenario.reporting == "step":
        log_rep += np.log1p(rng.uniform(0.25, 0.5)) * _ramp(m, rng.uniform(24, 120), 0)
    elif scenario.reporting == "ramp":
        log_rep += np.log1p(rng.uniform(0.3, 0.6)) * _ramp(m, rng.uniform(24, 110),
                                                            rng.uniform(24, 60))
    elif scenario.reporting == "fall":
        log_rep += np.log1p(-rng.uniform(0.25, 0.4)) * _ramp(m, rng.uniform(24, 110),
                                                              rng.uniform(12, 48))
    elif scenario.reporting == "two":
        first = rng.uniform(24, 60)
        second = first + rng.uniform(36, 60)
        log_rep += np.log1p(rng.uniform(0.25, 0.45)) * _ramp(m, first, rng.uniform(0, 24))
        log_rep += (rng.choice([-1, 1]) * np.log1p(rng.uniform(0.2, 0.35))
                    * _ramp(m, second, rng.uniform(0, 24)))
    log_rec = np.full(m.size, np.log(rng.uniform(0.7, 0.9)))
    if scenario.recording == "ramp":
        log_rec += np.log1p(rng.uniform(0.25, 0.5)) * _ramp(m, rng.uniform(24, 110),
                                                             rng.uniform(0, 36))
    design = rng.choice(["financial_year", "december", "csew"])
    missing = int(rng.choice([0, 1, 3]))
    rse = rng.uniform(0.04, 0.06) * survey_scale

    def counts(monthly_mean: np.ndarray) -> np.ndarray:
        annual = _annual(monthly_mean)
        gamma = rng.gamma(1.0 / noise ** 2, noise ** 2, size=annual.size)
        return rng.poisson(annual * gamma).astype(float)

    inc = np.exp(log_inc)
    mean = POPULATION * inc / 12 * np.exp(log_rep + log_rec)
    recorded = pd.Series(counts(mean), index=YEARS)
    survey = _survey(rng, inc, design, missing, rse)
    annual_inc = _annual(inc)
    capture_p = _annual(inc * np.exp(log_rep)) / annual_inc
    capture_w = _annual(inc * np.exp(log_rep + log_rec)) / _annual(inc * np.exp(log_rep))
    controls = None
    paths = {"capture": np.log(capture_p * capture_w), "recording": np.log(capture_w),
             "expected": _annual(mean)}
    with_control = scenario.recording != "none"
    if with_control:
        c_inc = np.exp(np.log(rng.uniform(0.01, 0.03)) + _curve(rng, m) + season)
        c_mean = POPULATION * c_inc / 12 * 0.9 * np.exp(log_rec)
        paths["control_expected"] = _annual(c_mean)
        controls = {"vehicle theft": (pd.Series(counts(c_mean), index=YEARS),
                                      _survey(rng, c_inc, design, missing,
                                              rng.uniform(0.04, 0.06) * survey_scale))}
    d_inc = float(np.log(annual_inc[-1] / annual_inc[0]))
    d_p = float(np.log(capture_p[-1] / capture_p[0]))
    d_w = float(np.log(capture_w[-1] / capture_w[0]))
    truth = {
        "incidence_total": float(np.expm1(d_inc)),
        # without a control the model's "reporting" is reporting and recording together
        "reporting_total": float(np.expm1(d_p if with_control else d_p + d_w)),
        "recording_total": float(np.expm1(d_w)),
        "reporting_changed": scenario.reporting != "none"
        or (scenario.recording == "ramp" and not with_control),
        "recording_changed": scenario.recording == "ramp",
        "capture_changed": scenario.reporting != "none" or scenario.recording == "ramp",
        "incidence_changed": scenario.incidence != "curve",
        "mostly_capture": abs(d_p + d_w) > abs(d_inc),
        "survey_design": str(design), "missing_survey_years": missing,
    }
    return SimulatedSeries(recorded, survey, controls, truth, paths)
