"""Bayesian change points of many series of one panel, fitted chunk by chunk.

The engine behind [`detect_many`][crimestats.changepoint.detect_many]: it takes a validated
(time × series) float array and returns plain arrays over the series, with the same
results as [`detect`][crimestats.changepoint.detect] on each series (to rounding): the same
segment model prepares each series (its hyperparameter nodes), the same seasonal test and
factors (two rounds for a seasonal series), the same recursions — run for the whole chunk
in one compiled call (`crimestats.changepoint._batch_kernels`) — and the same posterior of
the path in the MAP segmentation. What it does not build per series is what `detect` adds
for one series: the checks of the labels (done once for the panel), the result object, the
segment table and the posterior draws.

A chunk is a pure function of its values and the settings, so chunks can run in any order,
in other processes or on dask workers, and give bit-for-bit the same arrays.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .bayes import EXACT_SCREEN_LIMIT, NODE_SCREEN, bayes_fit, log_q_for_any_change
from .seasonal import seasonal_factors
from .segments import Prepared, SegmentModel, get_model
from .segments.poisson import pearson_dispersion

__all__ = ["PanelSettings", "PanelFit", "fit_panel", "seasonality_p_values", "OUTPUTS",
           "MEMO_LIMIT"]

#: Longest series fitted by the compiled batch kernel, whose table of segment likelihoods
#: takes $(n + 1)^2$ numbers per node; longer series run through `bayes.bayes_fit`. (The
#: kernel screens the nodes with the exact forward passes, as `bayes_fit` does up to
#: ``EXACT_SCREEN_LIMIT``.)
MEMO_LIMIT = EXACT_SCREEN_LIMIT
#: p-value below which ``seasonal="auto"`` applies seasonal factors (as `detect`).
SEASONAL_ALPHA = 0.01
#: The per-series arrays of a `PanelFit` over (series, time), in order.
OUTPUTS = ("prob_change", "estimate", "lower", "upper", "changepoint")


@dataclasses.dataclass(frozen=True)
class PanelSettings:
    """Options of `detect`, checked once for the panel.

    ``period`` is the seasonal period to use (None: no seasonality); ``test_season`` whether
    each series must first pass the seasonal test (``seasonal="auto"``); ``log_q`` the log
    prior weight of a change; ``options`` the model's own options (``ar``, ``size``).
    """

    likelihood: str
    min_size: int
    log_q: float
    prune: float
    level: float
    period: int | None
    test_season: bool
    prior_any_change: float
    prior: dict[str, float] | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    method: str = "bayes"
    penalty: float = float("nan")
    seg_len_term: bool = False


@dataclasses.dataclass(frozen=True)
class PanelFit:
    """Results of a chunk of series (``k`` series of ``n`` periods).

    ``prob_change``, ``estimate``, ``lower``, ``upper`` ``(k, n)``: as in `detect`'s
    estimates; ``changepoint`` ``(k, n)`` bool: the MAP change points; ``prob_any_change``,
    ``log_evidence`` ``(k,)``; ``seasonal`` ``(k,)`` bool: seasonal factors applied;
    ``overdispersion`` ``(k,)``: Pearson dispersion within the segments found (Poisson only,
    NaN otherwise).
    """

    prob_change: np.ndarray
    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    changepoint: np.ndarray
    prob_any_change: np.ndarray
    log_evidence: np.ndarray
    seasonal: np.ndarray
    overdispersion: np.ndarray


def fit_panel(y: np.ndarray, settings: PanelSettings) -> PanelFit:
    """Fit every column of ``y`` (``(n, k)``, NaN where unobserved) as `detect` would."""
    model = get_model(settings.likelihood)
    n, k = y.shape
    counts = model.data == "counts"
    ratio = model.data != "real"
    ones = np.ones(n)
    period = settings.period
    seasonal = np.zeros(k, dtype=bool)
    if period:
        seasonal[:] = (not settings.test_season) or seasonality_p_values(
            y, period, multiplicative=ratio, exposure=ones if counts else None) < SEASONAL_ALPHA
    out = {name: np.zeros((k, n)) for name in ("prob_change", "estimate", "lower", "upper")}
    changepoint = np.zeros((k, n), dtype=bool)
    prob_any = np.zeros(k)
    log_evidence = np.zeros(k)
    dispersion = np.full(k, np.nan)
    reference: list[np.ndarray | None] = [None] * k
    for round_ in range(2):
        active = np.arange(k) if round_ == 0 else np.flatnonzero(seasonal)
        if active.size == 0:
            break
        work, nodes = [], []
        for i in active:
            if seasonal[i]:
                season = seasonal_factors(y[:, i], period, multiplicative=ratio,
                                          exposure=ones if counts else None,
                                          reference=reference[i])
            else:
                season = ones if ratio else np.zeros(n)
            y_work = y[:, i] if counts else (y[:, i] / season if ratio else y[:, i] - season)
            e_work = ones * season if counts else ones
            work.append((y_work, e_work))
            nodes.append(model.prepare(y_work, e_work, prior=settings.prior,
                                       prior_any_change=settings.prior_any_change,
                                       **settings.options))
        fits = (_recursions if settings.method == "bayes" else _pelt)(model, nodes, settings)
        for pos, i in enumerate(active):
            prob, p_any, evidence, cps, node = fits[pos]
            y_work, e_work = work[pos]
            starts = np.array([0, *cps], dtype=np.int64)
            ends = np.array([*cps, n], dtype=np.int64)
            summary = model.describe(node, y_work, e_work, starts, ends, settings.level)
            reference[i] = summary.path
            out["prob_change"][i] = prob
            out["estimate"][i] = summary.path
            out["lower"][i] = summary.path_lower
            out["upper"][i] = summary.path_upper
            changepoint[i] = False
            changepoint[i, cps] = True
            prob_any[i] = p_any
            log_evidence[i] = evidence
            if settings.likelihood == "poisson":
                dispersion[i] = pearson_dispersion(y_work, e_work, cps)
    return PanelFit(changepoint=changepoint, prob_any_change=prob_any,
                    log_evidence=log_evidence, seasonal=seasonal, overdispersion=dispersion,
                    **out)


def seasonality_p_values(y: np.ndarray, period: int, *, multiplicative: bool = True,
                         exposure: np.ndarray | None = None) -> np.ndarray:
    """[`seasonality_p_value`][crimestats.changepoint.seasonal.seasonality_p_value] of every
    column of ``y`` (``(n, k)``) at once: the same one-way analysis of variance of the
    period-to-period changes by season, its sums of squares computed for all series together.
    """
    from scipy import stats

    n, k = y.shape
    e = np.ones((n, 1)) if exposure is None else np.asarray(exposure, dtype=float)[:, None]
    x = y / e if exposure is not None else y.astype(float)
    if multiplicative:
        x = np.log(np.maximum(x, 0) + 0.5 / e)
    d = np.diff(x, axis=0)
    ok = np.isfinite(d)
    d = np.where(ok, d, 0.0)
    season = (np.arange(1, n) % period)[:, None] == np.arange(period)[None, :]   # (n-1, p)
    count = season.T.astype(float) @ ok                                          # (p, k)
    total = season.T.astype(float) @ d
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        grand = d.sum(axis=0) / ok.sum(axis=0)
        groups = (count > 0).sum(axis=0)
        m = ok.sum(axis=0)
        between = np.nansum(count * (mean - grand) ** 2, axis=0)
        within = np.sum(np.where(ok, d - np.nan_to_num(mean)[np.arange(1, n) % period], 0.0)
                        ** 2, axis=0)
        f = (between / (groups - 1)) / (within / (m - groups))
        p = stats.f.sf(f, groups - 1, m - groups)
    return np.where((groups < 2) | (m - groups < 2), 1.0, p)


def _recursions(model: SegmentModel, nodes: list[list[Prepared]], settings: PanelSettings
                ) -> list[tuple[np.ndarray, float, float, list[int], Prepared]]:
    """Posterior change probabilities, P(any change), evidence, MAP change points and MAP
    node of each series (from its prepared nodes)."""
    n = nodes[0][0].stats.shape[0] - 1
    if n > MEMO_LIMIT:          # the table of segment likelihoods would be too large
        rng = np.random.default_rng(0)         # no draws are made
        out = []
        for series_nodes in nodes:
            fit = bayes_fit(model, series_nodes, log_q=settings.log_q,
                            min_size=settings.min_size, prune=settings.prune, draws=0,
                            rng=rng)
            out.append((fit.prob_change, fit.prob_any_change, fit.log_evidence,
                        fit.map_changepoints, fit.nodes[fit.map_node]))
        return out
    from . import _batch_kernels

    log_eps = float(np.log(settings.prune)) if settings.prune > 0 else -np.inf
    prob, p_any, evidence, back, map_node, *_ = _batch_kernels.fit_chunk(
        model.logml, *_pack(nodes), float(settings.log_q), int(settings.min_size), log_eps,
        float(np.log(NODE_SCREEN)))
    return [(prob[i], float(p_any[i]), float(evidence[i]), map_path(back[i]),
             series_nodes[int(map_node[i])]) for i, series_nodes in enumerate(nodes)]


def _pelt(model: SegmentModel, nodes: list[list[Prepared]], settings: PanelSettings
          ) -> list[tuple[np.ndarray, float, float, list[int], Prepared]]:
    """PELT change points of each series (probability 1 at them), as `detect(method="pelt")`."""
    from . import _batch_kernels

    n = nodes[0][0].stats.shape[0] - 1
    back, node = _batch_kernels.pelt_chunk(
        model.logml, model.cost, *_pack(nodes),
        log_q_for_any_change(n, settings.min_size, 0.5), int(settings.min_size),
        float(settings.penalty), bool(settings.seg_len_term), float(np.log(1e-6)))
    out = []
    for i, series_nodes in enumerate(nodes):
        cps = map_path(back[i])
        prob = np.zeros(n)
        prob[cps] = 1.0
        out.append((prob, float(bool(cps)), float("nan"), cps, series_nodes[int(node[i])]))
    return out


def _pack(nodes: list[list[Prepared]]) -> tuple[np.ndarray, ...]:
    """The nodes of many series as the kernels' arrays: tables (a table shared by several
    nodes of a series stored once), table of each node, parameters, log weights, and where
    each series' nodes start."""
    tables, table_of, params, log_weight, node_start = [], [], [], [], [0]
    for series_nodes in nodes:
        seen: dict[int, int] = {}
        for node in series_nodes:
            key = id(node.stats)
            if key not in seen:
                seen[key] = len(tables)
                tables.append(node.stats)
            table_of.append(seen[key])
            params.append(node.params)
            log_weight.append(node.log_weight)
        node_start.append(len(table_of))
    width = max(p.size for p in params)          # (a model's parameters may vary in length)
    packed = np.zeros((len(params), width))
    for j, p in enumerate(params):
        packed[j, :p.size] = p
    return (np.ascontiguousarray(np.stack(tables)), np.array(table_of, dtype=np.int64),
            packed, np.array(log_weight, dtype=float),
            np.array(node_start, dtype=np.int64))


def map_path(back: np.ndarray) -> list[int]:
    """Change points of the Viterbi path from its back-pointers (``back[t]``: start of the
    segment ending at ``t``)."""
    cps = []
    t = back.shape[0] - 1
    while t > 0:
        t = int(back[t])
        if t > 0:
            cps.append(t)
    return sorted(cps)

