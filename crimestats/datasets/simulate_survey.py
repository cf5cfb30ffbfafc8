"""A victimisation survey with known truth: areas, strata, clusters and unequal weights.

[`simulate_survey`][simulate_survey] draws a superpopulation of areas whose victimisation prevalence and
incidence rate follow a logistic / count model of area covariates with a normal area effect,
then a stratified, clustered sample of respondents with unequal (informative) weights. It is
the test bed for direct estimates (bias, variance, interval coverage), Fay–Herriot models
(the truth is ``areas["true_prevalence"]``), hierarchical Bayes and unit-level (MRP) models.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .._validate import as_rng, check_unique
from ..errors import InputError

__all__ = ["SimulatedSurvey", "simulate_survey"]


@dataclasses.dataclass(frozen=True)
class SimulatedSurvey:
    """A simulated survey and the true area values behind it.

    Attributes
    ----------
    respondents : pandas.DataFrame
        One row per respondent: ``period`` (1, 2, ...), ``area`` and ``stratum``
        (categorical), ``psu``
        (integer, unique across strata and periods), ``weight``, ``young`` (0/1, the person-level
        covariate), ``victim`` (0/1: at least one incident) and ``incidents`` (count).
    areas : pandas.DataFrame
        One row per area: ``area``, ``stratum``, the covariates ``x1`` (deprivation score,
        standard normal) and ``x2`` (urban share, in (0, 1)), ``population`` (adults),
        ``young_share``, ``area_effect`` ($u_i$), ``true_prevalence``
        ($\\theta_i$), ``true_incidence_rate`` (incidents per adult, $\\lambda_i$),
        ``repeat_rate`` ($\\kappa_i$), ``n_psu`` and ``n_sampled`` (PSUs and respondents
        in the sample, all periods together).
    covariate_names : tuple of str
        Area covariates of the model, ``("x1", "x2")``.
    parameters : dict
        The arguments used (coefficients, variances, design settings, seeds).

    Examples
    --------
    >>> from crimestats.datasets import simulate_survey
    >>> sim = simulate_survey(n_areas=5, random_seed=7)
    >>> type(sim).__name__, len(sim.areas), sim.parameters["sigma_u"]
    ('SimulatedSurvey', 5, 0.3)
    >>> sim.true_prevalence.round(3).tolist()
    [0.204, 0.217, 0.169, 0.404, 0.259]
    """

    respondents: pd.DataFrame
    areas: pd.DataFrame
    covariate_names: tuple[str, ...]
    parameters: dict[str, Any]

    @property
    def true_prevalence(self) -> pd.Series:
        """True prevalence per area, indexed by area label."""
        return self.areas.set_index("area")["true_prevalence"]

    @property
    def true_incidence_rate(self) -> pd.Series:
        """True incidents per adult per area, indexed by area label."""
        return self.areas.set_index("area")["true_incidence_rate"]


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _mean_over_psu_effect(eta: np.ndarray, psu_sd: float) -> np.ndarray:
    """$E_v[\\mathrm{expit}(\\eta + v)]$, $v \\sim N(0, \\sigma^2)$, by 40-point
    Gauss–Hermite quadrature (exact to ~1e-12 for the spreads used here)."""
    if psu_sd == 0:
        return _expit(eta)
    nodes, weights = np.polynomial.hermite.hermgauss(40)
    vals = _expit(eta[:, None] + np.sqrt(2.0) * psu_sd * nodes[None, :])
    return vals @ weights / np.sqrt(np.pi)


def simulate_survey(n_areas: int | None = None, *, areas: Any = None,
                    n_strata: int | None = None,
                    n_periods: int = 1,
                    psus_per_area: float = 3.0, respondents_per_psu: float = 15.0,
                    beta: tuple[float, float, float] = (-1.9, 0.4, 0.5),
                    sigma_u: float = 0.3, psu_sd: float = 0.3, young_effect: float = 0.6,
                    oversample_young: float = 2.0, weight_noise_sd: float = 0.2,
                    repeat_rate: float = 0.6, repeat_slope: float = 0.2,
                    repeat_dispersion: float | None = None,
                    random_seed: Any = None, sample_seed: Any = None) -> SimulatedSurvey:
    """Simulate a stratified, clustered victimisation survey whose area truths are known.

    Areas (superpopulation). For area $i = 1..m$ with covariates
    $x_{1i} \\sim N(0, 1)$ (deprivation) and $x_{2i} \\sim \\mathrm{Beta}(2, 2)$
    (urban share), population $N_i$ (log-normal, median 20,000 adults), share of young
    adults $s_i = \\mathrm{expit}(\\mathrm{logit}(0.25) + 0.8 (x_{2i} - 0.5))$ and area
    effect $u_i \\sim N(0, \\sigma_u^2)$, a respondent $j$ in PSU $c$ is a
    victim with probability

    $$
    p_{ij} = \\mathrm{expit}(\\beta_0 + \\beta_1 x_{1i} + \\beta_2 x_{2i} + u_i
    + \\alpha\\, \\mathrm{young}_{j} + v_c), \\qquad v_c \\sim N(0, \\sigma_v^2),
    $$

    and a victim suffers $1 + K$ incidents with
    $K \\sim \\mathrm{Poisson}(\\kappa_i)$ (negative binomial with shape
    ``repeat_dispersion`` if given), $\\kappa_i = \\kappa\\, e^{\\gamma x_{1i}}$.

    **Truth.** ``true_prevalence`` is the superpopulation area parameter

    $$
    \\theta_i = (1 - s_i)\\, E_v[\\mathrm{expit}(\\eta_i + v)]
    + s_i\\, E_v[\\mathrm{expit}(\\eta_i + \\alpha + v)],
    \\quad \\eta_i = \\beta_0 + \\beta_1 x_{1i} + \\beta_2 x_{2i} + u_i,
    $$

    the expected proportion of adults victimised in area $i$ (integrated over PSU
    effects by Gauss–Hermite quadrature, not a finite-population count), and
    ``true_incidence_rate`` is $\\lambda_i = \\theta_i (1 + \\kappa_i)$ incidents per
    adult. Hájek direct estimates are design-consistent for these. The model is linear on the
    logit scale, so $\\theta_i$ is not exactly linear in $x_i$: a Fay–Herriot
    model of the prevalence is, as with real data, an approximation.

    **Design.** Areas are grouped in ``n_strata`` strata (contiguous blocks of areas). In each
    period, stratum $h$ gets
    $n_h = \\max(2, \\mathrm{round}(\\text{psus\\_per\\_area} \\cdot N_h / \\bar N))$
    PSUs ($N_h$ its population, $\\bar N$ the mean area population), drawn with
    replacement with probability proportional to area population: the number of PSUs in an
    area is random (areas are unplanned domains, as in the Crime Survey for England and
    Wales) and small areas often get none, so have no respondents. A PSU has
    $1 + \\mathrm{Poisson}(\\text{respondents\\_per\\_psu} - 1)$ respondents. Young adults
    are over-sampled by the factor ``oversample_young``. The weight of respondent $j$ in
    area $i$ of stratum $h$ in period $t$ is the inverse of its inclusion
    probability, calibrated to the stratum population,
    $w_{ij} = N_h / n_{ht} \\cdot (r s_i + 1 - s_i) / r^{\\mathrm{young}_j}$ (with
    $n_{ht}$ the respondents of the stratum in the period), times a log-normal
    non-response factor (mean 1, SD ``weight_noise_sd`` on the log scale, independent of the
    outcome). Weights sum to about $N_h$ in each stratum, and to $N_i$ in an area
    only on average over samples. The weights are
    **informative**: young adults are both over-sampled and more often victims, so the
    unweighted mean is biased upwards and the weighted mean is not. Periods are independent
    samples (new PSUs) of the same areas; the truth does not change over periods.

    Parameters
    ----------
    n_areas : int, optional
        Number of areas $m$ (default 100, or the number of ``areas``), labelled ``A01``,
        ``A02``, ... (zero-padded) unless ``areas`` names them.
    areas : {"pfa", "csp"} or sequence of str, optional
        Names for the areas instead of ``A01``...: ``"pfa"`` the 43 bundled police force area
        codes (``E23000001``...), ``"csp"`` the 314 community safety partnership codes
        (``E22000001``...), in code order, or any sequence of unique labels. They match the
        bundled boundaries, adjacency and populations (e.g.
        [`load_pfa_adjacency`][crimestats.datasets.load_pfa_adjacency]), so simulated
        surveys can feed spatial models and maps; the area populations and covariates are
        still simulated.
    n_strata : int, optional
        Number of strata (at most ``n_areas``; default ``min(10, n_areas)``).
    n_periods : int
        Number of survey periods (independent samples).
    psus_per_area : float
        Expected number of PSUs in an area of average population, per period.
    respondents_per_psu : float
        Mean respondents per PSU (at least 1).
    beta : tuple of float
        $(\\beta_0, \\beta_1, \\beta_2)$ on the logit scale (intercept, x1, x2).
    sigma_u : float
        SD of the area effect $u_i$ (logit scale).
    psu_sd : float
        SD of the PSU effect $v_c$ (logit scale): the source of the design effect.
    young_effect : float
        $\\alpha$, log odds ratio of victimisation for young adults.
    oversample_young : float
        $r$, the over-sampling factor of young adults. With 1 nobody is over-sampled and
        the weights vary only by stratum and non-response noise: they are not informative.
    weight_noise_sd : float
        SD of the log non-response adjustment of the weights.
    repeat_rate, repeat_slope : float
        $\\kappa$ and $\\gamma$ of the repeat-victimisation rate.
    repeat_dispersion : float, optional
        Shape of the negative-binomial number of repeat incidents (None: Poisson).
    random_seed : int, numpy.random.Generator or None
        Seed of the areas (covariates, populations, area effects) and, unless
        ``sample_seed`` is given, of the sample.
    sample_seed : int or None
        Seed of the sample only: the same ``random_seed`` with different ``sample_seed`` gives
        repeated samples from the same areas (for Monte Carlo checks of a design-based method).

    Returns
    -------
    SimulatedSurvey
        ``respondents``, ``areas`` (with the truth), ``covariate_names`` and ``parameters``.

    Examples
    --------
    >>> from crimestats.datasets import simulate_survey
    >>> sim = simulate_survey(n_areas=20, random_seed=1)
    >>> sim.respondents.columns.tolist()
    ['period', 'area', 'stratum', 'psu', 'weight', 'young', 'victim', 'incidents']
    >>> sim.areas[["area", "true_prevalence", "n_sampled"]].head(3).round(3)
      area  true_prevalence  n_sampled
    0  A01            0.201         14
    1  A02            0.163         36
    2  A03            0.217         49
    >>> sim.covariate_names
    ('x1', 'x2')
    """
    area_labels = _area_labels(areas, n_areas)
    if n_areas is None:
        n_areas = 100 if area_labels is None else len(area_labels)
    if n_strata is None:
        n_strata = min(10, n_areas) if isinstance(n_areas, (int, np.integer)) else 10
    _check_args(n_areas, n_strata, n_periods, psus_per_area, respondents_per_psu, sigma_u,
                psu_sd, oversample_young, weight_noise_sd, repeat_rate, repeat_dispersion, beta)
    if isinstance(random_seed, np.random.Generator):
        area_rng = random_seed
        sample_rng = as_rng(sample_seed) if sample_seed is not None else random_seed
    else:
        try:
            root = np.random.SeedSequence(random_seed)
        except (TypeError, ValueError):
            raise InputError(f"`random_seed` must be an int, a numpy Generator or None; "
                             f"received {random_seed!r}.") from None
        area_ss, sample_ss = root.spawn(2)
        area_rng = np.random.default_rng(area_ss)
        sample_rng = (as_rng(sample_seed) if sample_seed is not None
                      else np.random.default_rng(sample_ss))

    m = int(n_areas)
    if area_labels is None:
        width = len(str(m))
        area_labels = np.array([f"A{i + 1:0{width}d}" for i in range(m)])
    stratum_index = (np.arange(m) * int(n_strata)) // m
    swidth = len(str(int(n_strata)))
    stratum_labels = np.array([f"S{h + 1:0{swidth}d}" for h in range(int(n_strata))])

    x1 = area_rng.standard_normal(m)
    x2 = area_rng.beta(2.0, 2.0, m)
    population = np.round(np.exp(np.log(20_000.0) + 0.7 * area_rng.standard_normal(m)))
    young_share = _expit(np.log(0.25 / 0.75) + 0.8 * (x2 - 0.5))
    u = sigma_u * area_rng.standard_normal(m)
    eta = beta[0] + beta[1] * x1 + beta[2] * x2 + u
    kappa = repeat_rate * np.exp(repeat_slope * x1)
    theta = ((1 - young_share) * _mean_over_psu_effect(eta, psu_sd)
             + young_share * _mean_over_psu_effect(eta + young_effect, psu_sd))
    h_count = int(n_strata)
    stratum_pop = np.bincount(stratum_index, weights=population, minlength=h_count)
    psus_per_stratum = np.maximum(
        2, np.round(psus_per_area * stratum_pop / population.mean())).astype(np.int64)

    # ---- the sample -------------------------------------------------------------------
    # in each period and stratum, PSUs drawn with replacement with probability proportional
    # to area population (strata are contiguous blocks of areas, so one cumulative sum serves)
    psu_stratum = np.tile(np.repeat(np.arange(h_count), psus_per_stratum), int(n_periods))
    psu_period = np.repeat(np.arange(1, int(n_periods) + 1), psus_per_stratum.sum())
    n_psu_total = psu_stratum.size
    cumpop = np.cumsum(population)
    start = np.concatenate([[0.0], np.cumsum(stratum_pop)])[:-1]
    draw = start[psu_stratum] + sample_rng.random(n_psu_total) * stratum_pop[psu_stratum]
    psu_area = np.minimum(np.searchsorted(cumpop, draw, side="right"), m - 1)
    order = np.lexsort((psu_area, psu_period))
    psu_area, psu_period = psu_area[order], psu_period[order]
    psu_effect = psu_sd * sample_rng.standard_normal(n_psu_total)
    psu_size = 1 + sample_rng.poisson(respondents_per_psu - 1.0, n_psu_total)

    resp_psu = np.repeat(np.arange(n_psu_total), psu_size)
    resp_area = psu_area[resp_psu]
    resp_period = psu_period[resp_psu]
    n_resp = resp_psu.size
    r = float(oversample_young)
    q = r * young_share / (r * young_share + 1 - young_share)
    young = (sample_rng.random(n_resp) < q[resp_area]).astype(np.int64)
    p = _expit(eta[resp_area] + young_effect * young + psu_effect[resp_psu])
    victim = (sample_rng.random(n_resp) < p).astype(np.int64)
    if repeat_dispersion is None:
        extra = sample_rng.poisson(kappa[resp_area])
    else:
        gamma = sample_rng.gamma(repeat_dispersion, 1.0 / repeat_dispersion, n_resp)
        extra = sample_rng.poisson(kappa[resp_area] * gamma)
    incidents = victim * (1 + extra)

    resp_stratum = stratum_index[resp_area]
    cell = (resp_period - 1) * h_count + resp_stratum
    n_cell = np.bincount(cell, minlength=int(n_periods) * h_count)
    base = stratum_pop[resp_stratum] / n_cell[cell]
    composition = (r * young_share + 1 - young_share)[resp_area]
    noise = np.exp(weight_noise_sd * sample_rng.standard_normal(n_resp)
                   - 0.5 * weight_noise_sd**2)
    weight = base * composition / np.where(young == 1, r, 1.0) * noise

    respondents = pd.DataFrame({
        "period": resp_period.astype(np.int64),
        "area": pd.Categorical.from_codes(resp_area, categories=area_labels),
        "stratum": pd.Categorical.from_codes(resp_stratum, categories=stratum_labels),
        "psu": resp_psu.astype(np.int64) + 1,
        "weight": weight,
        "young": young,
        "victim": victim,
        "incidents": incidents.astype(np.int64),
    })
    areas = pd.DataFrame({
        "area": area_labels,
        "stratum": stratum_labels[stratum_index],
        "x1": x1,
        "x2": x2,
        "population": population.astype(np.int64),
        "young_share": young_share,
        "area_effect": u,
        "true_prevalence": theta,
        "true_incidence_rate": theta * (1 + kappa),
        "repeat_rate": kappa,
        "n_psu": np.bincount(psu_area, minlength=m).astype(np.int64),
        "n_sampled": np.bincount(resp_area, minlength=m).astype(np.int64),
    })
    parameters = {
        "n_areas": m, "n_strata": int(n_strata), "n_periods": int(n_periods),
        "psus_per_area": psus_per_area, "respondents_per_psu": respondents_per_psu,
        "beta": tuple(float(b) for b in beta), "sigma_u": sigma_u, "psu_sd": psu_sd,
        "young_effect": young_effect, "oversample_young": r,
        "weight_noise_sd": weight_noise_sd, "repeat_rate": repeat_rate,
        "repeat_slope": repeat_slope, "repeat_dispersion": repeat_dispersion,
        "random_seed": random_seed if not isinstance(random_seed, np.random.Generator) else None,
        "sample_seed": sample_seed,
    }
    return SimulatedSurvey(respondents=respondents, areas=areas, covariate_names=("x1", "x2"),
                           parameters=parameters)


def _area_labels(areas: Any, n_areas: int | None) -> np.ndarray | None:
    """Area labels from ``areas`` (bundled codes or given labels), checked against ``n_areas``."""
    if areas is None:
        return None
    if isinstance(areas, str):
        from .population import load_population

        level = areas.lower()
        if level not in ("pfa", "csp"):
            raise InputError(f"`areas` must be 'pfa', 'csp' or a sequence of labels; "
                             f"received {areas!r}.")
        column = "force_code" if level == "pfa" else "csp_code"
        labels = np.array(sorted(load_population(level)[column].astype(str)))
    else:
        labels = np.asarray(list(areas), dtype=object).astype(str)
        if labels.ndim != 1 or labels.size == 0:
            raise InputError("`areas` must be a non-empty sequence of area labels.")
        check_unique(labels, "areas")
    if n_areas is not None and n_areas != labels.size:
        raise InputError(f"`n_areas` ({n_areas}) differs from the number of `areas` "
                         f"({labels.size}); give one of them.")
    return labels


def _check_args(n_areas: int, n_strata: int, n_periods: int, psus_per_area: float,
                respondents_per_psu: float, sigma_u: float, psu_sd: float,
                oversample_young: float, weight_noise_sd: float, repeat_rate: float,
                repeat_dispersion: float | None, beta: tuple[float, float, float]) -> None:
    for name, value in (("n_areas", n_areas), ("n_strata", n_strata),
                        ("n_periods", n_periods)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(f"`{name}` must be a positive integer; received {value!r}.")
    if n_strata > n_areas:
        raise InputError(f"`n_strata` ({n_strata}) cannot exceed `n_areas` ({n_areas}).")
    checks = {
        "psus_per_area (> 0)": (psus_per_area, psus_per_area > 0),
        "respondents_per_psu (>= 1)": (respondents_per_psu, respondents_per_psu >= 1),
        "sigma_u (>= 0)": (sigma_u, sigma_u >= 0),
        "psu_sd (>= 0)": (psu_sd, psu_sd >= 0),
        "oversample_young (> 0)": (oversample_young, oversample_young > 0),
        "weight_noise_sd (>= 0)": (weight_noise_sd, weight_noise_sd >= 0),
        "repeat_rate (>= 0)": (repeat_rate, repeat_rate >= 0),
    }
    for name, (value, ok) in checks.items():
        if not ok:
            raise InputError(f"`{name}` is out of range; received {value!r}.")
    if repeat_dispersion is not None and not repeat_dispersion > 0:
        raise InputError(f"`repeat_dispersion` must be positive or None; "
                         f"received {repeat_dispersion!r}.")
    if len(tuple(beta)) != 3:
        raise InputError(f"`beta` must hold 3 numbers (intercept, x1, x2); received {beta!r}.")
