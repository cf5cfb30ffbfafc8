"""Result objects of `crimestats.compare`: funnel plots, peer groups and comparisons, ranks, changes."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..results import Result

__all__ = ["FunnelResult", "PeerGroups", "PeerComparisonResult", "RankResult",
           "ChangeResult", "level_label"]


def level_label(level: float) -> str:
    """``0.95`` → ``"95"``, ``0.998`` → ``"99.8"`` (column suffixes of wide tables)."""
    return f"{100 * level:.10g}"


def _wide(ds: xr.Dataset, index: str) -> pd.DataFrame:
    """One row per ``index`` label; variables with a ``level`` dimension become one column per level."""
    plain = [k for k, var in ds.data_vars.items() if var.dims == (index,)]
    frame = ds[plain].to_dataframe() if plain else pd.DataFrame(index=ds[index].to_index())
    frame = frame.drop(columns=[c for c in frame.columns if c not in plain])
    for name, var in ds.data_vars.items():
        if "level" in var.dims:
            for lvl in ds["level"].values:
                frame[f"{name}_{level_label(float(lvl))}"] = var.sel(level=lvl).values
    return frame


@dataclasses.dataclass(frozen=True)
class FunnelResult(Result):
    """A funnel plot: each area's rate against its exposure, with control limits and flags.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over ``area``: ``observed`` (count), ``exposure``, ``indicator`` (rate or proportion
        per ``per`` units of exposure), ``z`` (standardised score on the method's scale; for
        ``exact`` and ``chisq`` the unadjusted score), ``p_value`` (two-sided, against the
        target under the method's model). Over ``area`` × ``level``: ``lower`` and ``upper``
        (limits at the area's exposure, per ``per``) and ``flag`` (+1 above the upper limit,
        −1 below the lower, 0 within).
    curve : xarray.Dataset
        The funnel on a grid of exposures (dimension ``exposure``): ``lower``, ``upper`` of
        the method and ``exact_lower``, ``exact_upper`` (exact Poisson or binomial limits,
        for comparison), each × ``level``.
    kind : str
        ``"rate"``, ``"ratio"`` (standardised ratio, observed/expected) or ``"proportion"``.
    method, scale, estimator : str
        Limit method, scale and dispersion estimator (see `FUNNEL_LIMITS`, `SCALES`,
        `DISPERSION_ESTIMATORS`).
    target : float
        Centre line, per ``per`` units of exposure.
    per : float
        Multiplier of the indicator (e.g. 1000 for rates per 1,000 residents).
    phi, tau2 : float
        Estimated multiplicative factor and additive variance (on the scale); reported for
        every method, used by ``multiplicative`` and ``additive``.
    levels : tuple of float
        Two-sided levels of the limits.
    dispersion_p_value : float
        P-value of the test of no over-dispersion, $\\sum_i z_i^2 \\sim \\chi^2_{m-1}$.

    Examples
    --------
    >>> from crimestats.compare import funnel
    >>> res = funnel([12, 30, 45, 8, 60], [1000, 2500, 3000, 900, 4000], per=1000, method="exact")
    >>> res.to_dataframe()[["indicator", "lower_95", "upper_95", "flag_95"]].round(2).iloc[0].tolist()
    [12.0, 6.32, 20.8, 0.0]
    """

    curve: xr.Dataset = dataclasses.field(default_factory=xr.Dataset)
    kind: str = "rate"
    method: str = "additive"
    scale: str = "sqrt"
    estimator: str = "robust"
    target: float = float("nan")
    per: float = 1.0
    phi: float = float("nan")
    tau2: float = float("nan")
    levels: tuple[float, ...] = (0.95, 0.998)
    dispersion_p_value: float = float("nan")

    def to_dataframe(self) -> pd.DataFrame:
        """One row per area: the area variables and ``lower_95``, ``upper_95``, ``flag_95``, ..."""
        return _wide(self.estimates, "area")

    def flagged(self, level: float | None = None) -> pd.DataFrame:
        """Areas outside the limits at ``level`` (default the widest), with their direction."""
        level = max(self.levels) if level is None else level
        table = self.to_dataframe()
        column = f"flag_{level_label(level)}"
        if column not in table:
            raise KeyError(f"no limits at level {level}; levels are {list(self.levels)}")
        out = table[table[column] != 0]
        return out.assign(direction=np.where(out[column] > 0, "above", "below"))[
            ["observed", "exposure", "indicator", "p_value", "direction"]]

    def summary(self) -> str:
        """A short plain-text report: method, target, dispersion, areas flagged at each level."""
        est = self.estimates
        lines = [f"Funnel plot of {self.kind}s, method={self.method!r} ({self.estimator} "
                 f"dispersion, {self.scale} scale), areas={est.sizes['area']}",
                 f"target = {self.target:.6g} per {self.per:g}   phi = {self.phi:.4g}   "
                 f"tau2 = {self.tau2:.4g}   over-dispersion p = {self.dispersion_p_value:.3g}"]
        for lvl in self.levels:
            flag = est["flag"].sel(level=lvl).values
            lines.append(f"{level_label(lvl)}% limits: {int((flag > 0).sum())} above, "
                         f"{int((flag < 0).sum())} below")
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class PeerGroups(Result):
    """Each area's most similar areas on standardised characteristics.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over ``area`` × ``neighbour`` (1 = most similar): ``peer`` (label of the peer) and
        ``distance`` (Euclidean distance between standardised characteristics).
    features : tuple of str
        Characteristics used, in the order of ``weights``.
    weights : tuple of float
        Weight of each characteristic in the distance.
    standardised : pandas.DataFrame
        The standardised characteristics (z-scores, times the square root of the weight).

    Examples
    --------
    >>> import pandas as pd
    >>> from crimestats.compare import most_similar
    >>> traits = pd.DataFrame({"density": [1.0, 1.1, 5.0, 5.2, 9.0]}, index=list("abcde"))
    >>> most_similar(traits, features=["density"], k=1).groups["c"]
    ['d']
    """

    features: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    standardised: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    _skip_in_dict = ("idata", "standardised")

    @property
    def groups(self) -> dict[Any, list[Any]]:
        """Area label → list of its peers, most similar first."""
        peers = self.estimates["peer"]
        return {area: [p.item() if isinstance(p, np.generic) else p
                       for p in peers.sel(area=area).values]
                for area in self.estimates["area"].values}

    def table(self) -> pd.DataFrame:
        """One row per area, its peers joined by ", " (for display)."""
        return pd.DataFrame({"peers": [", ".join(map(str, p)) for p in self.groups.values()]},
                            index=pd.Index(self.estimates["area"].values, name="area"))


@dataclasses.dataclass(frozen=True)
class PeerComparisonResult(Result):
    """Each focal area's rate against its peer group's, with posterior probabilities.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over ``area``: ``observed``, ``exposure``, ``rate`` (per ``per``), ``group_rate``
        (posterior median of the peer group's typical rate $e^\\mu$, per ``per``),
        ``rate_ratio`` (posterior median of $\\lambda_f / e^\\mu$), ``lower`` and ``upper``
        (its equal-tailed interval at ``level``), ``prob_above`` ($P(\\lambda_f > e^\\mu)$),
        ``prob_above_peer`` (probability that the area's rate exceeds that of a similar area
        drawn from the group, $P(\\lambda_f > e^{\\mu + \\tau\\varepsilon})$), ``between_sd``
        (posterior mean of $\\tau$, the spread of log rates among the peers), ``n_peers``.
    level : float
        Level of the intervals.
    per : float
        Multiplier of the rates.
    prior : str
        Prior on $\\tau$.
    """

    level: float = 0.95
    per: float = 1.0
    prior: str = ""

    def summary(self) -> str:
        """One line per area: rate, group rate, rate ratio with interval, probability above."""
        frame = self.to_dataframe()
        lines = [f"Peer comparison, {len(frame)} areas, {self.level:.0%} intervals; "
                 f"prior {self.prior}"]
        for area, row in frame.iterrows():
            lines.append(f"{area}: rate {row['rate']:.4g} vs group {row['group_rate']:.4g}, "
                         f"ratio {row['rate_ratio']:.3f} ({row['lower']:.3f}–{row['upper']:.3f}), "
                         f"P(above group) = {row['prob_above']:.3f}")
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class RankResult(Result):
    """The posterior distribution of each area's rank, summarised.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over ``area``: ``estimate`` (posterior mean or point estimate of the quantity ranked),
        ``rank`` (rank of ``estimate``), ``rank_mean``, ``rank_median``, ``lower`` and
        ``upper`` (equal-tailed interval of the rank at ``level``), ``interval_probability``
        (posterior probability of the interval, at least ``level`` since ranks are whole
        numbers), ``prob_top`` and ``prob_bottom`` (probability of being among the ``top``
        first or last places).
    level : float
        Requested level of the rank intervals.
    descending : bool
        Rank 1 is the largest value (True) or the smallest.
    top : int
        Places counted by ``prob_top`` and ``prob_bottom``.
    source : str
        ``"posterior draws"`` or ``"normal approximation"`` (estimate and standard error).
    n_draws : int
        Draws the ranks were computed from.
    median_interval_width : float
        Median over areas of ``upper - lower + 1``, the number of places an area could hold.
    league_table_misleads : bool
        Whether the median of ``upper - lower`` exceeds a quarter of the other places,
        $(m - 1)/4$ (the criterion of the `DataWarning`).
    """

    level: float = 0.95
    descending: bool = True
    top: int = 1
    source: str = ""
    n_draws: int = 0
    median_interval_width: float = float("nan")
    league_table_misleads: bool = False

    def summary(self) -> str:
        """A short report: how uncertain the ranks are, and the areas in rank order."""
        est = self.to_dataframe().sort_values("rank")
        m = len(est)
        lines = [f"Ranks of {m} areas ({'1 = largest' if self.descending else '1 = smallest'}), "
                 f"{self.level:.0%} intervals from {self.n_draws} {self.source}",
                 f"median interval covers {self.median_interval_width:.0f} of {m} places"
                 + ("; a league table would mislead" if self.league_table_misleads else "")]
        for area, row in est.iterrows():
            lines.append(f"{int(row['rank']):>4}  {area}: {int(row['lower'])}–{int(row['upper'])}")
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class ChangeResult(Result):
    """Tests of change between two windows of periods, for one or many count series.

    Attributes
    ----------
    estimates : xarray.Dataset
        Over ``series``: ``recent`` and ``previous`` (counts summed over the two windows),
        ``rate_ratio`` (ratio of the windows' rates), ``percent_change``, ``lower`` and
        ``upper`` (interval of the rate ratio at ``level``), ``z``, ``p_value`` (two-sided),
        ``significant`` (``p_value`` below $1 -$ ``level``), ``q_value`` (Benjamini–Hochberg
        or Benjamini–Yekutiel adjusted p-value across the series), ``discovery`` (``q_value``
        at most ``fdr``), ``direction`` (+1 increase, −1 decrease, 0 none, among
        discoveries), ``kappa`` (extra-Poisson variance used: squared coefficient of variation
        of the year-to-year variation), ``kappa_df`` (its degrees of freedom) and
        ``autocorrelation`` (lag-one autocorrelation of that variation in the model used; 0
        when independent years implied the larger variance). Extra coordinates name each
        series' keys.
    compare : str
        ``"year_on_year"`` or ``"three_year"``.
    recent, previous : tuple
        Time labels of the two windows compared.
    level : float
        Level of the intervals (the per-test flag uses $\\alpha = 1 -$ ``level``).
    fdr : float
        False-discovery rate controlled across the series.
    fdr_method : str
        ``"bh"`` or ``"by"``.
    dispersion : str
        How ``kappa`` was obtained: ``"series"``, ``"pooled"`` (by group) or ``"given"``.
    """

    compare: str = "year_on_year"
    recent: tuple = ()
    previous: tuple = ()
    level: float = 0.95
    fdr: float = 0.05
    fdr_method: str = "bh"
    dispersion: str = "series"

    def discoveries(self) -> pd.DataFrame:
        """The series whose change is a discovery at the false-discovery rate ``fdr``."""
        table = self.to_dataframe()
        return table[table["discovery"]]

    def summary(self) -> str:
        """A short report: windows compared, tests significant singly and at the FDR."""
        est = self.estimates
        n = est.sizes["series"]
        sig = int(est["significant"].sum())
        disc = int(est["discovery"].sum())
        return "\n".join([
            f"Change tests ({self.compare}) of {n} series: {list(self.recent)} against "
            f"{list(self.previous)}",
            f"significant at {1 - self.level:.0%} singly: {sig}; discoveries at FDR "
            f"{self.fdr:.0%} ({self.fdr_method.upper()}): {disc} "
            f"({int((est['direction'] > 0).sum())} up, {int((est['direction'] < 0).sum())} down)"])
