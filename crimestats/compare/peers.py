"""Peer groups: which areas are like ours, and is our rate different from theirs?

* [`most_similar`][crimestats.compare.most_similar] — each area's $k$ nearest areas on
  standardised characteristics (by default Census 2011 density, urban density, household size
  and ethnic composition of the 43 police force areas). These are *not* the Home Office's
  official Most Similar Groups, which are built from other variables by another method; pass
  the official groups to [`compare_to_peers`][crimestats.compare.compare_to_peers] as a dict.
* [`compare_to_peers`][crimestats.compare.compare_to_peers] — each focal area's rate against
  its group's: the rate ratio with an interval, the posterior probability that the area's
  rate is above the group's typical rate, and above that of a similar area.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import optimize, special, stats

from .. import _validate as v
from ..errors import InputError
from ._inputs import area_counts, positive_number
from .results import PeerComparisonResult, PeerGroups

__all__ = ["most_similar", "compare_to_peers", "DEFAULT_FEATURES"]

#: Characteristics of the bundled police-force table used by default, and those taken on a
#: log scale (densities span three orders of magnitude).
DEFAULT_FEATURES = ("density", "urban_density", "household_size", "non_white")
_DEFAULT_LOG = ("density", "urban_density")
#: Points of the grid over the between-area standard deviation tau.
_TAU_GRID = 200


def most_similar(data: pd.DataFrame | None = None, *, features: Sequence[str] | None = None,
                 k: int = 7, areas: str | None = None, log: Sequence[str] | None = None,
                 weights: Sequence[float] | None = None) -> PeerGroups:
    """Each area's ``k`` most similar areas on standardised characteristics.

    Each characteristic $x_j$ (after a log where asked) is standardised to mean 0 and
    standard deviation 1 over the areas, multiplied by $\\sqrt{w_j}$, and areas are compared
    by Euclidean distance

    $$
    d(a, b) = \\Big\\{\\sum_j w_j\\, (z_{aj} - z_{bj})^2\\Big\\}^{1/2};
    $$

    each area's peers are the ``k`` others nearest to it (so the relation need not be
    symmetric: A can be among B's peers without B among A's).

    Parameters
    ----------
    data : pandas.DataFrame, optional
        One row per area with numeric characteristics. Default: the bundled police force
        areas, [`load_area_characteristics("pfa")`][crimestats.datasets.load_area_characteristics],
        compared on `DEFAULT_FEATURES` (density and urban density on the log scale, household
        size, percentage of residents not White; Census 2011) and labelled by ``force``.
    features : sequence of str
        Columns to compare on (required with your own ``data``).
    k : int
        Peers per area (7 gives groups of 8 areas, as the Home Office's).
    areas : str, optional
        Column of area labels; default the index of ``data``.
    log : sequence of str, optional
        Features taken on the log scale first (must be positive).
    weights : sequence of float, optional
        Weight of each feature (default equal).

    Returns
    -------
    PeerGroups

    Raises
    ------
    crimestats.InputError
        Missing columns, non-numeric or missing values, a constant feature, a log of a
        non-positive value, duplicated labels or ``k`` outside 1 to (areas − 1).

    Notes
    -----
    These groups show which forces are alike on the bundled Census characteristics; they are
    **not** the Home Office's Most Similar Groups, which use other socio-demographic and
    geographic variables and are published by the Home Office. To compare against the official
    groups, pass them to `compare_to_peers` as ``{force: [peer, ...]}``.

    Examples
    --------
    >>> from crimestats.compare import most_similar
    >>> groups = most_similar()
    >>> groups.groups["West Midlands"][:3]
    ['Metropolitan Police', 'Greater Manchester', 'Bedfordshire']
    """
    if data is None:
        from ..datasets import load_area_characteristics

        data = load_area_characteristics("pfa")
        features = DEFAULT_FEATURES if features is None else features
        log = _DEFAULT_LOG if log is None else log
        areas = "force" if areas is None else areas
    if features is None:
        raise InputError("Name the characteristics to compare on as `features=` (columns of "
                         "`data`).")
    log = () if log is None else ([log] if isinstance(log, str) else list(log))
    if isinstance(features, str):
        features = [features]
    features = list(features)
    if not features:
        raise InputError("`features` is empty; name at least one characteristic.")
    v.require_columns(data, [*features, areas], "data")
    labels = data[areas].to_numpy() if areas is not None else data.index.to_numpy()
    m = len(labels)
    v.check_unique(labels, "areas")
    k = _check_k(k, m)
    unknown_log = [c for c in log if c not in features]
    if unknown_log:
        raise InputError(f"`log` names {unknown_log}, which are not among `features` {features}.")
    w = np.ones(len(features)) if weights is None else v.as_float_array(weights, "weights")
    if w.shape != (len(features),):
        raise InputError(f"`weights` must have one value per feature ({len(features)}); "
                         f"received {w.shape[0]}.")
    v.check_positive(w, "weights", features, strict=False)
    if not w.sum() > 0:
        raise InputError("`weights` are all zero; give at least one feature a positive weight.")

    x = np.empty((m, len(features)))
    for j, name in enumerate(features):
        col = v.as_float_array(data[name], name, labels=list(labels))
        if name in log:
            v.check_positive(col, name, list(labels))
            col = np.log(col)
        sd = col.std(ddof=1) if m > 1 else 0.0
        if not sd > 0:
            raise InputError(f"Feature {name!r} is the same for every area, so it cannot tell "
                             "areas apart; drop it from `features`.")
        x[:, j] = (col - col.mean()) / sd * np.sqrt(w[j])
    dist = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    ds = xr.Dataset(
        {"peer": (("area", "neighbour"), labels[order]),
         "distance": (("area", "neighbour"), np.take_along_axis(dist, order, axis=1))},
        coords={"area": labels, "neighbour": np.arange(1, k + 1)},
        attrs={"features": list(features), "log": list(log), "weights": w.tolist(), "k": k,
               "method": "Euclidean distance between standardised characteristics"})
    standardised = pd.DataFrame(x, index=pd.Index(labels, name="area"), columns=features)
    return PeerGroups(ds, features=tuple(features), weights=tuple(w.tolist()),
                      standardised=standardised)


def _check_k(k: Any, m: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= m - 1:
        raise InputError(f"`k` must be a whole number from 1 to {m - 1} (the number of other "
                         f"areas); received {k!r}.")
    return int(k)


def compare_to_peers(observed: Any, exposure: Any, peers: Any, *, areas: Any = None,
                     data: pd.DataFrame | None = None, focus: Any = None, level: float = 0.95,
                     per: float = 1.0, prior: Any = None) -> PeerComparisonResult:
    """Each area's rate against its peer group: rate ratio, interval and probability above.

    Model. The peers' rates $\\lambda_j$ vary around the group's typical rate $e^\\mu$,
    $\\log\\lambda_j \\sim N(\\mu, \\tau^2)$, and each area's count is
    $y_j \\sim \\text{Poisson}(\\lambda_j n_j)$. With Jeffreys' prior on each rate, the log
    rate has posterior mean $m_j = \\psi(y_j + \\tfrac12) - \\log n_j$ and variance
    $v_j = \\psi'(y_j + \\tfrac12)$ (digamma, trigamma); treating this as normal,

    $$
    m_j \\mid \\mu, \\tau \\sim N(\\mu, v_j + \\tau^2), \\qquad p(\\mu) \\propto 1, \\qquad
    \\tau \\sim \\text{prior},
    $$

    and $\\tau$ is integrated exactly on a grid. For the focal area $f$ (not part of its own
    group), $\\Delta = \\log\\lambda_f - \\mu$ is then a normal mixture, giving

    $$
    \\begin{aligned}
    \\text{rate ratio} &= e^\\Delta, &
    P(\\text{above group}) &= P(\\Delta > 0 \\mid y), \\\\
    & & P(\\text{above a peer}) &= P(\\log\\lambda_f > \\mu + \\tau\\varepsilon \\mid y),
    \\ \\varepsilon \\sim N(0, 1).
    \\end{aligned}
    $$

    The first probability asks whether the area's rate is above the group's typical level;
    the second whether it is above that of a comparable area — it stays near 0.5 when the
    group itself is spread out, however large the counts.

    Parameters
    ----------
    observed, exposure : array-like, pandas.Series or str
        Count and exposure (residents, households) of every area, focal areas and peers
        alike; column names when ``data`` is given. A Series of exposures is matched by label.
    peers : PeerGroups, dict or pandas.Series
        The groups: a [`most_similar`][crimestats.compare.most_similar] result; a dict
        ``{area: [peer, ...]}`` (e.g. the Home Office's Most Similar Groups); or a Series of
        group names indexed by area (a partition: each area's peers are the other members of
        its group).
    areas : array-like or str, optional
        Area labels (default the index of ``data`` or ``observed``); ``peers`` refer to these.
    data : pandas.DataFrame, optional
        Table holding the named columns.
    focus : label or list of labels, optional
        Areas to compare (default every area that has a group).
    level : float
        Level of the rate-ratio interval.
    per : float
        Multiplier of the rates in the result (1000: per 1,000 residents).
    prior : crimestats.sae.VariancePrior, optional
        Prior on $\\tau$, the standard deviation of log rates within a group; default
        `HalfCauchy(scale=0.5)` (rates of similar areas typically within a factor of
        $e^{0.5} \\approx 1.6$ of each other, with a heavy tail).

    Returns
    -------
    PeerComparisonResult

    Raises
    ------
    crimestats.InputError
        Bad counts or exposures, peers that are not among the areas, an area listed as its
        own peer, a group with fewer than 2 peers, or an unknown focal area.

    Examples
    --------
    >>> from crimestats.compare import compare_to_peers
    >>> res = compare_to_peers([120, 100, 95, 105, 98], [1e4] * 5,
    ...                        {"A": ["B", "C", "D", "E"]}, areas=list("ABCDE"), per=1000)
    >>> row = res.to_dataframe().loc["A"]
    >>> round(float(row["rate_ratio"]), 2), bool(row["prob_above"] > 0.9)
    (1.2, True)
    """
    from ..sae.priors import HalfCauchy, VariancePrior

    prior = HalfCauchy(scale=0.5) if prior is None else prior
    if not isinstance(prior, VariancePrior):
        raise InputError(f"`prior` must be a crimestats.sae prior object such as "
                         f"HalfCauchy(scale=0.5); received {prior!r}.")
    level = v.check_level(level)
    per = positive_number(per, "per")
    counts = area_counts(observed, exposure, areas, data)
    labels = list(counts.labels)
    groups = _peer_lists(peers, labels)
    if focus is not None:
        wanted = [focus] if isinstance(focus, Hashable) and not isinstance(focus, tuple) \
            and np.ndim(focus) == 0 else list(focus)
        missing = [f for f in wanted if f not in groups]
        if missing:
            raise InputError(f"`focus` names {missing[:8]}, which "
                             f"{'is' if len(missing) == 1 else 'are'} not an area with a peer "
                             "group; check the labels against `areas` and `peers`.")
        groups = {f: groups[f] for f in wanted}
    _check_sizes(groups)
    index = {label: i for i, label in enumerate(labels)}
    mean = special.digamma(counts.observed + 0.5) - np.log(counts.exposure)
    var = special.polygamma(1, counts.observed + 0.5)

    rows = []
    for focal, members in groups.items():
        pos = np.array([index[p] for p in members])
        rows.append(_compare_one(mean[index[focal]], var[index[focal]], mean[pos], var[pos],
                                 prior, level))
    focal_pos = np.array([index[f] for f in groups])
    table = np.array(rows, dtype=float).reshape(len(groups), 7)
    y, n = counts.observed[focal_pos], counts.exposure[focal_pos]
    ds = xr.Dataset(
        {"observed": ("area", y), "exposure": ("area", n), "rate": ("area", per * y / n),
         "group_rate": ("area", per * table[:, 0]), "rate_ratio": ("area", table[:, 1]),
         "lower": ("area", table[:, 2]), "upper": ("area", table[:, 3]),
         "prob_above": ("area", table[:, 4]), "prob_above_peer": ("area", table[:, 5]),
         "between_sd": ("area", table[:, 6]),
         "n_peers": ("area", np.array([len(groups[f]) for f in groups]))},
        coords={"area": np.array(list(groups), dtype=counts.labels.dtype)},
        attrs={"level": level, "per": per, "prior": prior.describe(),
               "model": "log rates of peers ~ N(mu, tau^2); Jeffreys Poisson rates"})
    return PeerComparisonResult(ds, level=level, per=per, prior=prior.describe())


def _peer_lists(peers: Any, labels: list[Any]) -> dict[Any, list[Any]]:
    """Area → list of peers, checked against the labels."""
    if isinstance(peers, PeerGroups):
        groups = peers.groups
    elif isinstance(peers, pd.Series):
        if peers.index.has_duplicates:
            v.check_unique(peers.index, "peers index")
        by_group: dict[Any, list[Any]] = {}
        for area, group in peers.items():
            by_group.setdefault(group, []).append(area)
        groups = {area: [a for a in by_group[group] if a != area] for area, group in peers.items()}
    elif isinstance(peers, Mapping):
        groups = {}
        for area, members in peers.items():
            if isinstance(members, (str, bytes)) or np.ndim(members) == 0:
                raise InputError(f"The peers of {area!r} must be a list of areas; received "
                                 f"{members!r}.")
            groups[area] = list(members)
    else:
        raise InputError("`peers` must be a PeerGroups result (most_similar), a dict "
                         "{area: [peers]} or a pandas Series of group names indexed by area; "
                         f"received {type(peers).__name__}.")
    if not groups:
        raise InputError("`peers` holds no peer group; give {area: [peers]} for at least one "
                         "area.")
    known = set(labels)
    for area, members in groups.items():
        unknown = [a for a in [area, *members] if a not in known]
        if unknown:
            raise InputError(f"The peer group of {area!r} names {unknown[:8]}, not among the "
                             f"areas of `observed`; check the labels (e.g. force names against "
                             f"codes).")
        if area in members:
            raise InputError(f"{area!r} is listed as its own peer; a group holds the other "
                             "areas it is compared with.")
        if len(set(members)) != len(members):
            raise InputError(f"The peer group of {area!r} lists an area more than once.")
    return groups


def _check_sizes(groups: dict[Any, list[Any]]) -> None:
    """Each compared area needs at least two peers."""
    small = [area for area, members in groups.items() if len(members) < 2]
    if small:
        raise InputError(f"{small[:8]} ha{'s' if len(small) == 1 else 've'} fewer than 2 peers; "
                         "at least 2 are needed to tell the group's level from its spread. "
                         "Give them larger groups, or leave them out with `focus=`.")


def _compare_one(m_f: float, v_f: float, m: np.ndarray, v: np.ndarray, prior: Any,
                 level: float) -> tuple[float, ...]:
    """Group rate, rate ratio (median, lower, upper), P(above), P(above a peer), E(tau)."""
    spread = float(np.std(m) + np.sqrt(v.max()))
    tau = np.linspace(0.0, 6.0 * spread + 1e-6, _TAU_GRID)
    w = 1.0 / (v[None, :] + tau[:, None] ** 2)
    sw = w.sum(axis=1)
    mu_hat = (w * m).sum(axis=1) / sw
    quad = (w * (m - mu_hat[:, None]) ** 2).sum(axis=1)
    log_post = (prior.log_density(tau) - 0.5 * np.log(sw) + 0.5 * np.log(w).sum(axis=1)
                - 0.5 * quad)
    log_post = np.where(np.isfinite(log_post), log_post, -np.inf)
    weight = np.exp(log_post - log_post.max())
    weight /= weight.sum()
    v_mu = 1.0 / sw
    centre, sd = m_f - mu_hat, np.sqrt(v_f + v_mu)

    def quantile(q: float, mean: np.ndarray, scale: np.ndarray) -> float:
        def cdf(x: float) -> float:
            return float(weight @ stats.norm.cdf((x - mean) / scale)) - q

        lo, hi = float((mean - 10 * scale).min()), float((mean + 10 * scale).max())
        return float(optimize.brentq(cdf, lo, hi, xtol=1e-9))

    alpha = (1.0 - level) / 2.0
    group = np.exp(quantile(0.5, mu_hat, np.sqrt(v_mu)))
    ratio = [np.exp(quantile(q, centre, sd)) for q in (0.5, alpha, 1.0 - alpha)]
    above = float(weight @ stats.norm.cdf(centre / sd))
    above_peer = float(weight @ stats.norm.cdf(centre / np.sqrt(v_f + v_mu + tau**2)))
    return (group, *ratio, above, above_peer, float(weight @ tau))
