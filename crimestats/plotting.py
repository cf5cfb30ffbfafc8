"""Matplotlib figures for crimestats results.

Each function takes a result object, draws on a given `matplotlib.axes.Axes` (or a new
one) and returns the axes. Matplotlib is imported inside the functions, so importing this
module is cheap and matplotlib is needed only to draw (``pip install crimestats[plot]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

__all__ = ["caterpillar_plot", "choropleth", "changepoint_plot", "decomposition_plot",
           "funnel_plot", "rank_plot"]


def caterpillar_plot(result: Any, *, ax: Any = None, sort: bool = True, show_direct: bool = True,
                     max_labels: int = 60) -> Any:
    """Caterpillar plot: direct and model-based estimates per area, with intervals.

    Each area is a row: the model estimate with its interval (``lower``–``upper`` at
    ``estimates.attrs["level"]``) and, offset slightly, the direct estimate with the normal
    interval ``direct ± z * sqrt(direct_variance)`` at the same level. Out-of-sample areas have
    only the model (synthetic) estimate, drawn with a hollow marker. The narrowing from the
    direct to the model interval shows how much each area borrows strength.

    Parameters
    ----------
    result : FayHerriotResult or another result with area-level ``estimates``
        Needs the variables ``estimate``, ``lower``, ``upper``; ``direct`` and
        ``direct_variance`` are drawn when present and ``show_direct`` is True.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure sized to the number of areas.
    sort : bool
        Order the areas by the model estimate (else keep the result's order).
    show_direct : bool
        Also draw the direct estimates and their intervals.
    max_labels : int
        Label each area on the y axis when there are at most this many areas.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from crimestats.sae import fay_herriot
    >>> from crimestats.plotting import caterpillar_plot
    >>> fit = fay_herriot([0.10, 0.31, 0.12, 0.36, 0.17, 0.29, 0.22, np.nan],
    ...                   [0.0010, 0.0030, 0.0008, 0.0040, 0.0012, 0.0020, 0.0030, np.nan],
    ...                   [[0.1], [0.5], [0.2], [0.9], [0.4], [0.3], [0.8], [0.6]],
    ...                   areas=list("abcdefgh"))
    >>> ax = caterpillar_plot(fit)
    >>> ax.get_xlabel()
    'estimate'
    """
    import matplotlib.pyplot as plt

    est = result.estimates
    level = float(est.attrs.get("level", getattr(result, "level", 0.95)))
    estimate = est["estimate"].values
    order = np.argsort(estimate, kind="stable") if sort else np.arange(estimate.size)
    rows = np.arange(order.size)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, min(2.0 + 0.18 * order.size, 14.0)))

    in_sample = (est["in_sample"].values[order] if "in_sample" in est
                 else np.ones(order.size, dtype=bool))
    offset = 0.2 if show_direct and "direct" in est else 0.0
    if offset:
        z = stats.norm.ppf(0.5 + level / 2.0)
        direct = est["direct"].values[order]
        half = z * np.sqrt(est["direct_variance"].values[order])
        ax.errorbar(direct, rows + offset, xerr=half, fmt="s", ms=3, color="0.55",
                    elinewidth=1, label=f"direct ({level:.0%} interval)")
    lower, upper = est["lower"].values[order], est["upper"].values[order]
    model = estimate[order]
    err = np.vstack([model - lower, upper - model])
    ax.errorbar(model[in_sample], rows[in_sample] - offset, xerr=err[:, in_sample], fmt="o",
                ms=4, color="C0", elinewidth=1.5, label=f"model ({level:.0%} interval)")
    if not in_sample.all():
        out = ~in_sample
        ax.errorbar(model[out], rows[out] - offset, xerr=err[:, out], fmt="o", ms=4,
                    mfc="white", color="C0", elinewidth=1.5, label="model, out of sample")
    if order.size <= max_labels:
        ax.set_yticks(rows, [str(a) for a in est["area"].values[order]])
    else:
        ax.set_yticks([])
    ax.set_ylabel("area")
    ax.set_xlabel("estimate")
    ax.set_ylim(-1, order.size)
    ax.legend(loc="best", fontsize="small")
    return ax


def choropleth(values: Any, *, geojson: Any = None, key: str = "force_code",
               variable: str = "estimate", ax: Any = None, cmap: str = "viridis",
               label: str | None = None, vmin: float | None = None, vmax: float | None = None,
               missing_color: str = "0.85") -> Any:
    """Map of area values: each area's polygon filled by its value.

    The areas come from a GeoJSON dictionary (no geopandas needed) or a geopandas
    GeoDataFrame / GeoSeries indexed by area label. Polygons are drawn with a matplotlib
    ``PolyCollection`` from their outer rings (holes are left filled: in the bundled simplified
    boundaries they are slivers between dissolved local authorities); smaller polygons are
    drawn on top, so an enclave such as the City of London shows inside the Metropolitan Police
    area. Longitude/latitude are drawn with the aspect ratio of the map's mean latitude,
    projected coordinates (a GeoDataFrame with a projected CRS, e.g. British National Grid)
    with equal axes.

    Parameters
    ----------
    values : pandas.Series, dict, result or GeoDataFrame
        Value per area, keyed by area label (a Series index or dict keys), or a result whose
        ``estimates`` have an ``area`` dimension (``variable`` is mapped), or a GeoDataFrame
        with a column ``variable`` (as [`to_geodataframe`][crimestats.results.Result.to_geodataframe]
        returns), which is then also the map.
    geojson : dict, geopandas.GeoDataFrame or geopandas.GeoSeries, optional
        The areas: a GeoJSON ``FeatureCollection`` of Polygon/MultiPolygon features in lon/lat
        (areas named by the property ``key``), or a GeoDataFrame / GeoSeries indexed by area
        label. Default: the geometry of ``values`` when it is a GeoDataFrame, else the bundled
        police force areas ([`crimestats.datasets.load_pfa_boundaries`][crimestats.datasets.load_pfa_boundaries]).
    key : str
        GeoJSON feature property that names each area (``"force_code"`` or ``"force"`` for the
        bundled boundaries); not used for a GeoDataFrame.
    variable : str
        Variable of a result's ``estimates`` (or column of a GeoDataFrame) to map.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    cmap : str
        Matplotlib colour map.
    label : str, optional
        Colour-bar label (say the units); default ``variable``.
    vmin, vmax : float, optional
        Colour scale limits; default the range of the values.
    missing_color : str
        Fill of areas with no value (also shown in the legend as "no value").

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    crimestats.InputError
        If some values name areas that are not on the map, or ``key`` is not a property of
        the features.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from crimestats.datasets import load_population
    >>> from crimestats.plotting import choropleth
    >>> pfa = load_population("pfa")
    >>> density = pfa.set_index("force_code")["residents"] / pfa.set_index("force_code")["hectares"]
    >>> ax = choropleth(density, label="residents per hectare (2011)")
    >>> len(ax.collections[0].get_paths()) > 43
    True
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    from .errors import InputError

    if geojson is None and _is_geodataframe(values):
        geojson = values
    if geojson is None:
        from .datasets import load_pfa_boundaries

        geojson = load_pfa_boundaries()
    if _is_geodataframe(values):
        if variable not in values.columns:
            raise InputError(f"The GeoDataFrame has no column {variable!r}; available: "
                             f"{[c for c in values.columns if c != values.geometry.name]}.")
        values = values[variable]
    series = _area_values(values, variable)
    if _is_geodataframe(geojson) or type(geojson).__name__ == "GeoSeries":
        names, parts, geographic = _geometry_parts(geojson)
    else:
        names, parts = _geojson_parts(geojson, key)
        geographic = True
    unknown = [a for a in series.index if a not in set(names)]
    if unknown:
        raise InputError(
            f"{len(unknown)} area(s) in the values are not on the map"
            f"{f' (matched on {key!r})' if not _is_geodataframe(geojson) else ''}: "
            f"{unknown[:8]}. Check the area codes"
            + (" or pass key='force' to match on names." if geojson is not None
               and not _is_geodataframe(geojson) else "; index the map by the same codes.")
        )

    rings, fill = [], []
    for name, outer in zip(names, parts, strict=True):
        value = series.get(name, np.nan)
        for ring in outer:
            rings.append(ring)
            fill.append(value)
    fill = np.asarray(fill, dtype=float)
    order = np.argsort([-_ring_area(r) for r in rings], kind="stable")
    rings = [rings[i] for i in order]
    fill = fill[order]

    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 7.0))
    colours = plt.get_cmap(cmap)
    norm = plt.Normalize(vmin=np.nanmin(series.values) if vmin is None else vmin,
                         vmax=np.nanmax(series.values) if vmax is None else vmax)
    face = [missing_color if np.isnan(v) else colours(norm(v)) for v in fill]
    ax.add_collection(PolyCollection(rings, facecolors=face, edgecolors="white", linewidths=0.3))
    every = np.concatenate(rings)
    ax.set_xlim(every[:, 0].min(), every[:, 0].max())
    ax.set_ylim(every[:, 1].min(), every[:, 1].max())
    ax.set_aspect(1.0 / np.cos(np.deg2rad(every[:, 1].mean())) if geographic else 1.0)
    ax.set_axis_off()
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=colours)
    ax.figure.colorbar(mappable, ax=ax, shrink=0.6, label=label or variable)
    if np.isnan(fill).any():
        ax.legend(handles=[Patch(facecolor=missing_color, label="no value")], loc="upper left",
                  fontsize="small", frameon=False)
    return ax


def _is_geodataframe(obj: Any) -> bool:
    return type(obj).__name__ == "GeoDataFrame" and hasattr(obj, "geometry")


def _geojson_parts(geojson: dict[str, Any], key: str) -> tuple[list, list]:
    """Area names and outer rings of each feature of a GeoJSON FeatureCollection."""
    from .errors import InputError

    names, parts = [], []
    for i, feature in enumerate(geojson.get("features", [])):
        props = feature.get("properties") or {}
        if key not in props:
            raise InputError(f"GeoJSON feature {i} has no property {key!r}; it has {sorted(props)}.")
        names.append(props[key])
        geometry = feature["geometry"]
        polygons = (geometry["coordinates"] if geometry["type"] == "MultiPolygon"
                    else [geometry["coordinates"]])
        parts.append([np.asarray(polygon[0], dtype=float)[:, :2] for polygon in polygons])
    return names, parts


def _geometry_parts(frame: Any) -> tuple[list, list, bool]:
    """Area names (the index), outer rings of each (Multi)Polygon, and whether the CRS is
    geographic (longitude/latitude), of a GeoDataFrame or GeoSeries."""
    import shapely

    geoms = np.asarray(frame.geometry if _is_geodataframe(frame) else frame)
    parts = []
    for geom in geoms:
        polygons = shapely.get_parts(geom)
        parts.append([shapely.get_coordinates(shapely.get_exterior_ring(p))
                      for p in polygons if shapely.get_type_id(p) == 3])
    crs = getattr(frame, "crs", None)
    geographic = bool(crs.is_geographic) if crs is not None else True
    return list(frame.index), parts, geographic


def _area_values(values: Any, variable: str) -> Any:
    """A float Series of values per area from a Series, a dict or a result's ``estimates``."""
    import pandas as pd

    from .errors import InputError

    if hasattr(values, "estimates"):
        est = values.estimates
        if "area" not in est.dims or variable not in est:
            raise InputError(
                f"The result has no area-level variable {variable!r}; available: "
                f"{list(est.data_vars)}."
            )
        values = pd.Series(est[variable].values, index=est["area"].values)
    series = pd.Series(values)
    try:
        series = series.astype("float64")
    except (TypeError, ValueError):
        raise InputError("Map values must be numbers (one per area).") from None
    dup = series.index[series.index.duplicated()].unique().tolist()
    if dup:
        raise InputError(f"Map values name these areas more than once: {dup[:8]}.")
    return series


def _ring_area(ring: np.ndarray) -> float:
    """Absolute area of a closed ring by the shoelace formula (in squared degrees)."""
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def changepoint_plot(result: Any, *, axes: Any = None, ylabel: str = "value") -> Any:
    """Change points of a series: the data with the fitted segments, and the probability of change.

    Top panel: the observed series (``y``), the fitted path of the most probable segmentation
    (each segment's level, trend or curve; rate per unit exposure for counts, times the
    seasonal factor so it sits on the data) with its interval, and dashed lines at the change
    points. Bottom panel: the posterior probability that a new segment starts at each period
    (``prob_change``; 1 at the change points for PELT). The time axis is labelled with the
    series' own periods (months as ``2020-03``, years as ``2019``).

    Parameters
    ----------
    result : ChangepointResult
        From `detect`.
    axes : pair of matplotlib.axes.Axes, optional
        Two axes (series, probability); default a new figure with two stacked panels.
    ylabel : str
        Label of the series axis (say the units).

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        The two axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pandas as pd
    >>> from crimestats.changepoint import detect
    >>> from crimestats.plotting import changepoint_plot
    >>> y = pd.Series(np.r_[np.full(10, 20), np.full(10, 35)] + np.tile([1, -1], 10),
    ...               index=pd.period_range("2019-01", periods=20, freq="M"))
    >>> axes = changepoint_plot(detect(y, likelihood="poisson", random_seed=0))
    >>> axes[1].get_ylabel(), axes[1].get_xlabel()
    ('P(change)', 'month')
    """
    import matplotlib.pyplot as plt

    est = result.estimates
    index = est.indexes["time"]
    x = np.arange(index.size)
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(7.0, 5.0), sharex=True,
                               gridspec_kw={"height_ratios": [3, 1]})
    top, bottom = axes
    level = float(est.attrs.get("level", getattr(result, "level", 0.95)))
    counts = result.likelihood in ("poisson", "negbin", "count_trend", "log_trend")
    season = est["seasonal_factor"].values
    scale = season if counts else 1.0
    shift = 0.0 if counts else season
    flat = bool(np.allclose(result.segments.get("slope", 0.0), 0.0))
    style = {"drawstyle": "steps-mid"} if flat else {}
    top.plot(x, est["y"].values, "o-", color="0.35", ms=3, lw=1, label="data")
    top.plot(x, est["estimate"].values * scale + shift, color="C3", lw=2,
             label="fitted segments", **style)
    top.fill_between(x, est["lower"].values * scale + shift,
                     est["upper"].values * scale + shift, color="C3", alpha=0.2,
                     step="mid" if flat else None, label=f"{level:.0%} interval")
    for cp in result.changepoints:
        top.axvline(cp - 0.5, color="C3", ls="--", lw=1)
    top.set_ylabel(ylabel)
    top.legend(loc="best", fontsize="small")
    bottom.bar(x, est["prob_change"].values, color="C0", width=0.8)
    bottom.set_ylim(0, 1)
    bottom.set_ylabel("P(change)")
    step = max(1, x.size // 12)
    labels = [str(t) for t in index[::step]]
    bottom.set_xticks(x[::step], labels, rotation=45 if max(map(len, labels)) > 4 else 0,
                      ha="right" if max(map(len, labels)) > 4 else "center")
    bottom.set_xlabel(_time_axis_name(index))
    return np.asarray(axes)


def _time_axis_name(index: Any) -> str:
    """``"month"``, ``"quarter"``, ``"year"``, ``"week"`` or ``"time"`` for a time index."""
    import pandas as pd

    freq = getattr(index, "freqstr", None) if isinstance(index, (pd.PeriodIndex,
                                                                 pd.DatetimeIndex)) else None
    if freq is None and isinstance(index, pd.DatetimeIndex):
        freq = pd.infer_freq(index) if index.size >= 3 else None
    if freq:
        head = freq.split("-")[0].rstrip("SE") or freq[0]
        return {"M": "month", "Q": "quarter", "Y": "year", "A": "year", "W": "week",
                "D": "day"}.get(head[0], "time")
    if pd.api.types.is_integer_dtype(index) and index.size and 1000 <= index.min() <= 3000:
        return "year"
    return "time"


def decomposition_plot(result: Any, *, ax: Any = None) -> Any:
    """Recorded crime decomposed into incidence × reporting × recording, as indices over time.

    Each component of an attribution (incidence from the survey; reporting, or "reporting or
    recording" without control offences; recording) is drawn as an index relative to the first
    period (1 = unchanged) with its interval, together with the recorded rate's own index.

    Parameters
    ----------
    result : AttributionResult
        From [`crimestats.changepoint.attribute`][crimestats.changepoint.attribute].
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pandas as pd
    >>> from crimestats.changepoint import attribute
    >>> from crimestats.plotting import decomposition_plot
    >>> years = np.arange(2005, 2019)
    >>> inc = 0.05 * 0.98 ** np.arange(14)
    >>> recorded = pd.Series(np.round(1e6 * inc * np.where(years >= 2014, 0.6, 0.4)), index=years)
    >>> survey = pd.DataFrame({"period": years, "estimate": inc, "se": 0.03 * inc})
    >>> res = attribute(recorded, survey, population=np.full(14, 1e6), random_seed=0)
    >>> ax = decomposition_plot(res)
    >>> [t.get_text() for t in ax.get_legend().get_texts()][:2]
    ['recorded rate', 'incidence']
    """
    import matplotlib.pyplot as plt

    est = result.estimates
    time = est["time"].values
    x = np.arange(time.size)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 4.2))
    recorded = est["recorded_rate"].values
    ax.plot(x, recorded / recorded[0], "k-o", ms=3, lw=1.5, label="recorded rate")
    for i, name in enumerate(result.components):
        colour = f"C{i}"
        ax.plot(x, est[name].values, color=colour, lw=2, label=name)
        ax.fill_between(x, est[f"{name}_lower"].values, est[f"{name}_upper"].values,
                        color=colour, alpha=0.2)
    ax.axhline(1.0, color="0.6", lw=0.8)
    step = max(1, x.size // 12)
    ax.set_xticks(x[::step], [str(t) for t in time[::step]])
    level = float(est.attrs.get("level", getattr(result, "level", 0.95)))
    ax.set_ylabel(f"index, first period = 1 ({level:.0%} intervals)")
    ax.set_xlabel("time")
    ax.legend(loc="best", fontsize="small")
    return ax


def funnel_plot(result: Any, *, ax: Any = None, label: Any = "flagged", highlight: Any = None,
                show_exact: bool = True, xlabel: str = "exposure",
                ylabel: str | None = None) -> Any:
    """Funnel plot: each area's indicator against its exposure, with the control limits.

    The method's limits at each level are drawn as solid (widest level) and dashed lines around
    the target; the exact Poisson or binomial limits (no over-dispersion) are drawn thin and
    grey for comparison, so the plot shows how much of the apparent outlying is ordinary
    between-area variation. Areas outside the widest limits are red (above) or blue (below),
    those outside only the narrowest limits light red or light blue.

    Parameters
    ----------
    result : FunnelResult
        From `crimestats.compare.funnel`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    label : "flagged", list of labels or None
        Areas to name on the plot: those outside the narrowest limits (default), the given
        ones, or none.
    highlight : label or list of labels, optional
        Areas drawn as larger black-edged points (e.g. your own force).
    show_exact : bool
        Also draw the exact limits.
    xlabel, ylabel : str
        Axis labels (say the units); ``ylabel`` defaults to the kind of indicator and ``per``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from crimestats.compare import funnel
    >>> from crimestats.datasets import load_force_violence
    >>> from crimestats.plotting import funnel_plot
    >>> res = funnel("recorded_violence", "residents", data=load_force_violence(),
    ...              areas="force", per=1000)
    >>> ax = funnel_plot(res, highlight="Kent")
    >>> ax.get_xscale()
    'log'
    """
    import matplotlib.pyplot as plt

    est, curve = result.estimates, result.curve
    levels = sorted(float(lvl) for lvl in est["level"].values)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 4.8))
    grid = curve["exposure"].values
    for lvl in levels:
        style = "-" if lvl == levels[-1] else "--"
        lower, upper = (curve[k].sel(level=lvl).values for k in ("lower", "upper"))
        ax.plot(grid, lower, style, color="C2", lw=1.4,
                label=f"{lvl:.1%} limits ({result.method})".replace(".0%", "%"))
        ax.plot(grid, upper, style, color="C2", lw=1.4)
        if show_exact and result.method != "exact":
            ax.plot(grid, curve["exact_lower"].sel(level=lvl).values, ":", color="0.6", lw=1,
                    label=f"{lvl:.1%} exact".replace(".0%", "%") if lvl == levels[-1] else None)
            ax.plot(grid, curve["exact_upper"].sel(level=lvl).values, ":", color="0.6", lw=1)
    ax.axhline(result.target, color="0.3", lw=1, label="target")
    x, y = est["exposure"].values, est["indicator"].values
    flag = est["flag"].sel(level=levels[-1]).values
    inner = est["flag"].sel(level=levels[0]).values
    colours = np.where(flag > 0, "C3", np.where(flag < 0, "C0", np.where(
        inner > 0, "lightsalmon", np.where(inner < 0, "lightskyblue", "0.45"))))
    ax.scatter(x, y, c=colours, s=18, zorder=3)
    names = [a.item() if isinstance(a, np.generic) else a for a in est["area"].values]
    marked = [] if highlight is None else (
        [highlight] if np.ndim(highlight) == 0 else list(highlight))
    for area in marked:
        i = names.index(area)
        ax.scatter(x[i], y[i], s=60, facecolor=colours[i], edgecolor="black", lw=1.2, zorder=4)
    if isinstance(label, str) and label == "flagged":
        shown = [n for n, f in zip(names, inner, strict=True) if f != 0] + marked
    else:
        shown = [] if label is None else list(label)
    for area in dict.fromkeys(shown):
        i = names.index(area)
        ax.annotate(str(area), (x[i], y[i]), xytext=(4, 3), textcoords="offset points",
                    fontsize="x-small")
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel or f"{result.kind} per {result.per:g}")
    ax.legend(loc="best", fontsize="small")
    return ax


def rank_plot(result: Any, *, ax: Any = None, max_labels: int = 60) -> Any:
    """Caterpillar plot of ranks: each area's rank with its interval, in league-table order.

    Each row is an area, ordered by the rank of its estimate; the dot is the posterior median
    rank and the bar the interval at ``result.level``. Long, overlapping bars mean the league
    table order is mostly noise.

    Parameters
    ----------
    result : RankResult
        From `crimestats.compare.rank_uncertainty`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure sized to the number of areas.
    max_labels : int
        Label each area on the y axis when there are at most this many.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from crimestats.compare import rank_uncertainty
    >>> from crimestats.plotting import rank_plot
    >>> res = rank_uncertainty([1.0, 1.2, 0.9, 1.5], se=[0.02, 0.02, 0.02, 0.02],
    ...                        areas=list("abcd"), random_seed=0)
    >>> rank_plot(res).get_xlabel()
    'rank (1 = largest)'
    """
    import matplotlib.pyplot as plt

    est = result.estimates
    order = np.argsort(est["rank"].values, kind="stable")
    m = order.size
    rows = np.arange(m)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, min(2.0 + 0.18 * m, 14.0)))
    median = est["rank_median"].values[order]
    err = np.vstack([median - est["lower"].values[order], est["upper"].values[order] - median])
    ax.errorbar(median, rows, xerr=err, fmt="o", ms=3.5, color="C0", elinewidth=1.4,
                label=f"median rank, {result.level:.0%} interval")
    ax.plot(est["rank"].values[order], rows, "|", color="C3", ms=8, label="rank of the estimate")
    if m <= max_labels:
        ax.set_yticks(rows, [str(a) for a in est["area"].values[order]])
    else:
        ax.set_yticks([])
    ax.set_ylim(m, -1)
    ax.set_xlim(0.5, m + 0.5)
    ax.set_xlabel(f"rank (1 = {'largest' if result.descending else 'smallest'})")
    ax.set_ylabel("area")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize="small",
              frameon=False)
    return ax
