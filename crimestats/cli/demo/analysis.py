"""The analyses of ``crimestats demo``: fits on the bundled data and the numbers they give.

Each analysis returns a typed object holding its fitted results and the figures the report
quotes; `crimestats.cli.demo.report` writes the tables, files, figures and prose from it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .._cli_io import Progress

__all__ = ["AGE_OF_INTEREST", "HiddenVictims", "RiseInViolence", "ViolenceDomains",
           "hidden_victims", "rise_in_violence", "violence_domains"]

#: The age group shown by region (the most victimised one).
AGE_OF_INTEREST = "16-24"


@dataclasses.dataclass(frozen=True)
class ViolenceDomains:
    """Section 1: Fay–Herriot estimates of violence prevalence by region × age group."""

    fit: Any                    # REML Fay–Herriot fit
    with_recorded: Any          # the same with recorded violence per 1,000 as a covariate
    hb: Any                     # hierarchical Bayes fit
    arcsine: Any                # arcsine-scale fit
    design_effect: float        # median design effect used by the arcsine fit
    table: pd.DataFrame         # inputs joined to the REML estimates, one row per domain
    forces: pd.DataFrame        # recorded violence by force

    @property
    def sampled(self) -> pd.DataFrame:
        return self.table[self.table["in_sample"]]

    @property
    def young(self) -> pd.DataFrame:
        """The domains of the age group of interest, by region."""
        return self.table[self.table["age"] == AGE_OF_INTEREST].sort_values("region")

    @property
    def median_cv_direct(self) -> float:
        return float(np.median(self.sampled["standard_error"] / self.sampled["direct"]))

    @property
    def median_cv_model(self) -> float:
        return float(np.median(self.sampled["cv"]))

    @property
    def recorded_coefficient(self) -> pd.Series:
        """Coefficient of recorded violence per 1,000 residents (coef, se, z, p_value)."""
        return self.with_recorded.coefficients().loc["recorded_per_1000"]

    @property
    def hb_max_difference(self) -> float:
        est = self.fit.to_dataframe()
        return float((self.hb.to_dataframe()["estimate"] - est["estimate"]).abs().max())

    @property
    def arcsine_percent(self) -> pd.DataFrame:
        return 100.0 * self.arcsine.to_dataframe()[["estimate", "lower", "upper"]]

    @property
    def arcsine_max_difference(self) -> float:
        gap = self.arcsine_percent["estimate"] - self.fit.to_dataframe()["estimate"]
        return float(gap[self.table["in_sample"]].abs().max())

    def headline(self) -> dict[str, Any]:
        """The numbers of the JSON manifest."""
        coef = self.recorded_coefficient
        return {
            "domains": int(len(self.table)),
            "out_of_sample": int((~self.table["in_sample"]).sum()),
            "sigma2_u": float(self.fit.sigma2_u), "median_cv_direct": self.median_cv_direct,
            "median_cv_model": self.median_cv_model,
            "recorded_rate_coefficient": float(coef["coef"]),
            "recorded_rate_p_value": float(coef["p_value"]),
            "hb_sigma2_u": float(self.hb.sigma2_u),
            "hb_max_abs_difference": self.hb_max_difference,
            "arcsine_max_abs_difference": self.arcsine_max_difference,
        }


def violence_domains(progress: Progress) -> ViolenceDomains:
    """Fit the section-1 models on the bundled survey and recorded-crime tables."""
    from ...datasets import load_force_violence, load_violence_domains
    from ...sae import fay_herriot

    with progress.step("Loading the Crime Survey and recorded-crime tables"):
        domains = load_violence_domains()
        forces = load_force_violence()
    with progress.step("Fitting the Fay–Herriot model (REML)"):
        fit = fay_herriot("direct", "variance", ["age"], data=domains, areas="area",
                          method="reml", level=0.95)
        with_recorded = fay_herriot("direct", "variance", ["age", "recorded_per_1000"],
                                    data=domains, areas="area", method="reml", level=0.95)
    with progress.step("Fitting the arcsine-scale Fay–Herriot model"):
        arcsine, design_effect = _arcsine_fit(domains)
    with progress.step("Fitting the hierarchical Bayes Fay–Herriot model"):
        hb = fay_herriot("direct", "variance", ["age"], data=domains, areas="area",
                         method="hb", level=0.95, random_seed=2018)
    est = fit.to_dataframe()
    table = domains.set_index("area").join(
        est[["estimate", "rmse", "lower", "upper", "cv", "shrinkage", "in_sample"]])
    return ViolenceDomains(fit, with_recorded, hb, arcsine, design_effect, table, forces)


def _arcsine_fit(domains: pd.DataFrame) -> tuple[Any, float]:
    """Arcsine-scale Fay–Herriot on the domain proportions (zero cells kept, with n and deff)."""
    from ...sae import arcsin_fay_herriot

    proportion = np.where(domains["zero_cell"], 0.0, domains["direct"] / 100.0)
    n = domains["unweighted_count"].to_numpy(dtype=float)
    sampled = ~domains["zero_cell"].to_numpy()
    srs_variance = proportion * (1.0 - proportion) / n
    design_effect = float(np.median((domains["variance"] / 1e4)[sampled] / srs_variance[sampled]))
    ages = pd.get_dummies(domains["age"], prefix="age", drop_first=True, dtype=float)
    fit = arcsin_fay_herriot(proportion, n, ages, design_effect=design_effect,
                             areas=domains["area"])
    return fit, design_effect


@dataclasses.dataclass(frozen=True)
class RiseInViolence:
    """Section 2: change points in recorded violence and their attribution."""

    recorded: pd.Series         # violence recorded in England and Wales, by financial year
    csew: pd.DataFrame          # the survey's prevalence by year (period, estimate, se)
    changes: Any                # change-point result
    parts: Any                  # attribution result

    @property
    def effects(self) -> pd.DataFrame:
        return self.parts.effects.set_index("component")

    @property
    def recorded_change(self) -> float:
        return float(self.recorded.iloc[-1] / self.recorded.iloc[0] - 1.0)

    @property
    def survey_change(self) -> float:
        by_year = self.csew.set_index("period")["estimate"]
        return float(by_year.iloc[-1] / by_year.loc[int(self.recorded.index[0])] - 1.0)

    @property
    def likely_start_years(self) -> list[int]:
        """Years where a change in reporting starts with probability 0.15 or more."""
        starts = self.parts.estimates["prob_step_reporting"].to_series()
        return [int(t) for t in starts.index[starts >= 0.15]]

    def headline(self) -> dict[str, Any]:
        incidence, reporting = self.effects.loc["incidence"], self.effects.loc["reporting"]
        return {
            "recorded_violence_change": self.recorded_change,
            "survey_violence_change": self.survey_change,
            "reporting_step": float(reporting["step"]),
            "reporting_step_year": int(reporting["time"]),
            "reporting_total": float(reporting["total"]),
            "incidence_total": float(incidence["total"]),
            "prob_not_incidence": float(self.parts.prob_not_incidence),
        }


def rise_in_violence(progress: Progress) -> RiseInViolence:
    """Detect change points in recorded violence and attribute them (section 2)."""
    from ... import calendar
    from ...changepoint import attribute, detect
    from ...datasets import (
        VIOLENCE_OFFENCES,
        load_csew_prevalence,
        load_population,
        load_recorded_crime,
    )

    recorded = (load_recorded_crime("england_wales", offence=VIOLENCE_OFFENCES)
                .groupby("financial_year_ending")["offences"].sum())
    prevalence = load_csew_prevalence("Violence", standard_errors=True)
    prevalence = prevalence[prevalence["year_ending"].between(2002, int(recorded.index[-1]))]
    csew = pd.DataFrame({"period": prevalence["year_ending"].to_numpy(),
                         "estimate": prevalence["prevalence"].to_numpy(),
                         "se": prevalence["standard_error"].to_numpy()})
    # CSEW years end in March, and respondents report the 12 months before interview
    survey = calendar.align_survey(csew, recorded, survey_calendar=calendar.survey_year(3),
                                   calendar="financial_year", recall_months=12,
                                   partial="drop")
    residents = float(load_population("pfa")["residents"].sum())
    with progress.step("Detecting change points in recorded violence"):
        changes = detect(recorded, method="bayes", random_seed=2018)
    with progress.step("Attributing the change to incidence or reporting"):
        parts = attribute(recorded, survey, population=residents, random_seed=2018)
    return RiseInViolence(recorded, csew, changes, parts)


@dataclasses.dataclass(frozen=True)
class HiddenVictims:
    """Section 3: the multiple-systems estimate of the victims of modern slavery (UK, 2013)."""

    fit: Any

    def headline(self) -> dict[str, Any]:
        return {"modern_slavery_total": float(self.fit.total),
                "modern_slavery_lower": float(self.fit.lower),
                "modern_slavery_upper": float(self.fit.upper)}


def hidden_victims(progress: Progress) -> HiddenVictims:
    """Estimate the hidden victims of modern slavery from the five bundled lists."""
    from ...datasets import load_modern_slavery
    from ...hidden import multiple_systems

    lists = load_modern_slavery(lists=5)
    with progress.step("Estimating hidden victims of modern slavery"):
        fit = multiple_systems(lists, method="loglinear", random_seed=2013)
    return HiddenVictims(fit)
