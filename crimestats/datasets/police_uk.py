"""Read the data.police.uk street-level crime archive into a complete area × crime type × month panel.

A download from <https://data.police.uk/data/> is a folder (or a zip file) with one folder per
month, each holding one file per force: ``2019-07/2019-07-merseyside-street.csv``. Each row is
one crime or anti-social behaviour incident, with the twelve published columns ``Crime ID``,
``Month``, ``Reported by``, ``Falls within``, ``Longitude``, ``Latitude``, ``Location``,
``LSOA code``, ``LSOA name``, ``Crime type``, ``Last outcome category`` and ``Context``.
police.uk data are published under the Open Government Licence v3.0.

Two kinds of absence mean different things and are kept apart:

* an (area, crime type, month) with no row means **zero** crimes of that type recorded there
  that month: police.uk lists incidents, so a quiet month simply has none;
* a month for which a force has **no file** at all means the force did not publish it: the
  counts of every area that force's files cover are **missing** (NaN) that month, never zero.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DataWarning, InputError
from ..results import netcdf_dataset
from .geography import load_forces, load_geography_lookup

__all__ = ["read_police_uk", "PoliceUKPanel", "POLICE_UK_COLUMNS", "POLICE_UK_CRIME_TYPES"]

#: The columns of a street-level file, as data.police.uk publishes them.
POLICE_UK_COLUMNS = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude",
                     "Latitude", "Location", "LSOA code", "LSOA name", "Crime type",
                     "Last outcome category", "Context")

#: The 14 crime types of police.uk street-level data (since May 2013), in police.uk's order.
POLICE_UK_CRIME_TYPES = ("Anti-social behaviour", "Bicycle theft", "Burglary",
                         "Criminal damage and arson", "Drugs", "Other crime", "Other theft",
                         "Possession of weapons", "Public order", "Robbery", "Shoplifting",
                         "Theft from the person", "Vehicle crime",
                         "Violence and sexual offences")

_LEVELS = ("lsoa", "msoa", "csp", "force")
_FILE = re.compile(r"^(?P<month>\d{4}-\d{2})-(?P<force>[a-z0-9-]+?)-street\.csv$")
_LSOA_NAME = re.compile(r"^(?P<la>.+) (?P<msoa>\d{3})[A-Z]$")
_USED = ["Month", "Reported by", "LSOA code", "LSOA name", "Crime type"]
_UNKNOWN = "unknown area"
_SHOWN = 6


@dataclasses.dataclass(frozen=True)
class PoliceUKPanel:
    """Recorded crimes by area, crime type and month, read from a police.uk archive.

    Attributes
    ----------
    data : xarray.Dataset
        ``count`` over (``area``, ``crime_type``, ``month``): crimes recorded (float; 0 where
        police.uk has no row, NaN where a force that covers the area did not publish that
        month). ``published`` over (``force``, ``month``): whether the force's file for the
        month is in the archive. ``month`` is a pandas monthly ``PeriodIndex``; ``area`` has
        the coordinates ``area_name`` and ``area_force`` (the force with most of the area's
        rows). ``attrs`` hold ``level`` and the notes below.
    level : str
        ``"lsoa"``, ``"msoa"``, ``"csp"`` or ``"force"``.
    files : tuple of str
        The street-level files read, in month and force order.
    notes : tuple of str
        What was derived rather than read (MSOA and CSP membership) and what was counted in
        the "unknown area" buckets.
    """

    data: xr.Dataset
    level: str
    files: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def counts(self) -> xr.DataArray:
        """``count`` over (``area``, ``crime_type``, ``month``)."""
        return self.data["count"]

    @property
    def published(self) -> xr.DataArray:
        """``published`` over (``force``, ``month``)."""
        return self.data["published"]

    def to_dataframe(self) -> pd.DataFrame:
        """The panel as a tidy table: one row per area, crime type and month.

        Columns ``area``, ``crime_type``, ``month`` (pandas ``Period``), ``area_name``,
        ``area_force`` and ``count`` (NaN where a force covering the area did not publish the
        month; 0 where police.uk has no row). Every (area, crime type, month) is present.
        """
        frame = self.data["count"].to_dataframe().reset_index()
        return frame[["area", "crime_type", "month", "area_name", "area_force", "count"]]

    def to_netcdf(self, path: str | Path) -> None:
        """Write ``data`` to a netCDF file (months and labels stored as text)."""
        netcdf_dataset(self.data).to_netcdf(path, engine="h5netcdf")


@dataclasses.dataclass
class _File:
    """One street-level file: where it is, its month and force, and its counts."""

    name: str
    month: pd.Period
    slug: str
    open: Callable[[], IO[bytes]]
    force: str = ""
    counts: pd.DataFrame | None = None  # LSOA code, LSOA name, Crime type, n


def read_police_uk(path: Any, *, level: str = "lsoa", start: Any = None, end: Any = None,
                   lookup: Mapping[str, str] | pd.Series | None = None) -> PoliceUKPanel:
    """Read police.uk street-level files into a complete, zero-filled area × crime type × month panel.

    Parameters
    ----------
    path : str, Path, or list of them
        A police.uk download as it comes: its folder (every ``*-street.csv`` below it is
        read; outcomes and stop-and-search files are other data sets and are not read), the
        zip file itself, or a list of street-level CSV files named as police.uk names them
        (``YYYY-MM-<force>-street.csv``).
    level : {"lsoa", "msoa", "csp", "force"}
        Areas of the panel. ``"lsoa"``: police.uk's LSOA codes. ``"msoa"``: middle layer
        super output areas, labelled by name (``"Manchester 001"``), derived from the LSOA
        names. ``"csp"``: community safety partnerships (ONS ``CSP17CD`` codes), through the
        local authority named in each LSOA name and the bundled 2017 lookup
        ([`load_geography_lookup`][crimestats.datasets.load_geography_lookup]).
        ``"force"``: the force that reported the crime (the file's ``Reported by``), named
        as in [`load_forces`][crimestats.datasets.load_forces] where it is one of the 43
        territorial forces.
    start, end : str or pandas.Period, optional
        First and last month of the panel (``"2019-01"``). Default: the first and last month
        of the files. A file outside the range is an error, not skipped.
    lookup : mapping or pandas.Series, optional
        For ``level="msoa"`` or ``"csp"``: the area of each LSOA code, used instead of the
        derivation from LSOA names (for example an ONS LSOA → MSOA or LSOA → CSP lookup,
        needed when the names use local authorities that are not in the 2017 lookup).

    Returns
    -------
    PoliceUKPanel
        ``data["count"]`` over (``area``, ``crime_type``, ``month``) and
        ``data["published"]`` over (``force``, ``month``); ``to_dataframe()`` gives the
        tidy long table.

    Raises
    ------
    crimestats.InputError
        No street-level file found; a file that is not named as police.uk names them, lacks
        or adds columns, holds rows of another month or of more than one force, or has no
        crime type; two files for the same force and month; a force reported under two names;
        a file outside ``start``–``end``; LSOA names from which the MSOA or local authority
        cannot be read, or local authorities the bundled lookup does not know (``level`` msoa
        or csp without ``lookup``).

    Warns
    -----
    crimestats.DataWarning
        A crime type that is not one of the 14 current police.uk categories (police.uk used
        other categories before May 2013): it gets its own rows, zero in months when the
        category was not in use.

    Notes
    -----
    **Zero and missing.** Every area found in the files gets every crime type and every month
    from ``start`` to ``end``. An (area, crime type, month) with no row is **zero**: police.uk
    lists crimes, and a month with none has no row. A force that has no file for a month did
    not publish it: ``published`` is False there and the count of every area that force's
    files cover anywhere in the archive is **NaN** that month (not zero). An area covered by
    two forces' files (police.uk places some crimes just across a force boundary) is NaN when
    either is missing.

    **No location.** Rows with no LSOA (police.uk publishes crimes it cannot place on its
    map) are never dropped: at the LSOA, MSOA and CSP levels they are counted in an area
    ``"unknown area (<force>)"`` for each force, with ``area_name`` ``"unknown area"``; at the
    force level they count for their force.

    **What is derived.** The archive has no MSOA or CSP columns. The MSOA is read from the
    LSOA name, which ONS forms as the MSOA name plus a letter ("Manchester 001A" is in MSOA
    "Manchester 001"); MSOAs are labelled by that name, not by an ONS code. The local
    authority is the MSOA name without its number ("Manchester"), and the CSP is that local
    authority's in the bundled 2017 ONS lookup. LSOA names of later geographies may name
    local authorities created after 2017 (e.g. "Buckinghamshire", 2020): pass ``lookup``
    then. ``notes`` repeats what was derived.

    **Areas never mentioned.** An LSOA with no crime at all in the archive has no row and is
    not in the panel (police.uk publishes no list of areas); reindex with an ONS list of LSOAs
    if you need it, keeping NaN in unpublished months.

    Examples
    --------
    The synthetic archive of the test suite (three forces, 24 months, Merseyside's July 2019
    file missing):

    >>> from crimestats.datasets import read_police_uk
    >>> panel = read_police_uk("tests/data/police_uk/archive")
    >>> dict(panel.counts.sizes)
    {'area': 14, 'crime_type': 14, 'month': 24}
    >>> panel.published.sel(month="2019-07").to_series().to_dict()
    {'Greater Manchester': True, 'Merseyside': False, 'West Yorkshire': True}
    >>> panel.counts.sel(area="E01900011", month="2019-07").isnull().all().item()
    True
    >>> tidy = panel.to_dataframe()
    >>> print(tidy.loc[:1, ["area", "crime_type", "month", "count"]].to_string(index=False))
         area            crime_type   month  count
    E01900001 Anti-social behaviour 2018-01    1.0
    E01900001 Anti-social behaviour 2018-02    0.0
    """
    if level not in _LEVELS:
        raise InputError(f"`level` must be one of {list(_LEVELS)}; received {level!r}.")
    if lookup is not None and level not in ("msoa", "csp"):
        raise InputError("`lookup` applies to level='msoa' or 'csp' (the area of each LSOA "
                         f"code); received level={level!r}.")
    files = _find_files(path)
    first, last = _month(start, "start"), _month(end, "end")
    _check_range(files, first, last)
    for item in files:
        _read_counts(item)
    forces = _force_names(files)
    months = pd.period_range(first or min(f.month for f in files),
                             last or max(f.month for f in files), freq="M", name="month")
    long = _long_counts(files, forces)
    areas, names, notes = _areas(long, level, lookup)
    long["area"] = areas
    crime_types = _crime_types(long["crime_type"])
    force_labels = sorted(set(forces.values()))
    published = np.zeros((len(force_labels), len(months)), dtype=bool)
    for item in files:
        published[force_labels.index(forces[item.slug]), months.get_loc(item.month)] = True
    data = _panel(long, names, crime_types, months, force_labels, published)
    data.attrs.update(level=level, source="data.police.uk street-level crime (OGL v3.0)",
                      notes=list(notes))
    return PoliceUKPanel(data=data, level=level, files=tuple(f.name for f in files),
                         notes=tuple(notes))


# --------------------------------------------------------------------------------------------
# Finding and reading the files
# --------------------------------------------------------------------------------------------


def _find_files(path: Any) -> list[_File]:
    """The street-level files of a folder, a zip file or a list, sorted by month and force."""
    if isinstance(path, (str, Path)):
        root = Path(path)
        if root.is_dir():
            found = [_file(p.name, p, str(p)) for p in root.rglob("*-street.csv")]
            where = f"folder {root}"
        elif root.suffix.lower() == ".zip" and root.is_file():
            found = _zip_members(root)
            where = f"zip file {root}"
        elif root.is_file():
            found = [_file(root.name, root, str(root), strict=True)]
            where = str(root)
        else:
            raise InputError(f"No such file or folder: {root}.")
    elif isinstance(path, Iterable):
        found = []
        for p in path:
            p = Path(p)
            if not p.is_file():
                raise InputError(f"No such file: {p}.")
            found.append(_file(p.name, p, str(p), strict=True))
        where = "the list of files"
    else:
        raise InputError("`path` must be a folder, a zip file, a CSV file or a list of CSV "
                         f"files; received {type(path).__name__}.")
    found = [f for f in found if f is not None]
    if not found:
        raise InputError(f"No police.uk street-level files (YYYY-MM-<force>-street.csv) in "
                         f"{where}; download 'crime data' from https://data.police.uk/data/.")
    found.sort(key=lambda f: (f.month, f.slug))
    seen: dict[tuple[pd.Period, str], str] = {}
    for item in found:
        key = (item.month, item.slug)
        if key in seen:
            raise InputError(f"Two files for {item.slug} in {item.month}: {seen[key]} and "
                             f"{item.name}. Keep one copy of each month's download.")
        seen[key] = item.name
    return found


def _file(name: str, path: Path, shown: str, *, strict: bool = False) -> _File | None:
    match = _FILE.match(name)
    if match is None:
        if strict:
            raise InputError(f"{shown} is not named as a police.uk street-level file "
                             "(YYYY-MM-<force>-street.csv, e.g. 2019-07-merseyside-street.csv); "
                             "the month and force are read from the name. Keep the names of "
                             "the download.")
        return None
    return _File(shown, pd.Period(match["month"], freq="M"), match["force"],
                 lambda: path.open("rb"))


def _zip_members(root: Path) -> list[_File]:
    out = []
    with zipfile.ZipFile(root) as archive:
        members = [m for m in archive.namelist() if m.endswith("-street.csv")]
    for member in members:
        match = _FILE.match(member.rsplit("/", 1)[-1])
        if match is None:
            continue

        def opener(member: str = member) -> IO[bytes]:
            return _ZipMember(root, member)

        out.append(_File(f"{root.name}:{member}", pd.Period(match["month"], freq="M"),
                         match["force"], opener))
    return out


class _ZipMember:
    """A member of a zip file opened for reading, closing the archive with it."""

    def __init__(self, root: Path, member: str) -> None:
        self._archive = zipfile.ZipFile(root)
        self._handle = self._archive.open(member)

    def __enter__(self) -> IO[bytes]:
        return self._handle

    def __exit__(self, *exc: Any) -> None:
        self._handle.close()
        self._archive.close()


def _month(value: Any, name: str) -> pd.Period | None:
    if value is None:
        return None
    if isinstance(value, pd.Period) and value.freqstr == "M":
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}", value.strip()):
        return pd.Period(value.strip(), freq="M")
    raise InputError(f"`{name}` must be a month such as '2019-07' (or a monthly pandas "
                     f"Period); received {value!r}.")


def _check_range(files: list[_File], first: pd.Period | None, last: pd.Period | None) -> None:
    if first is not None and last is not None and first > last:
        raise InputError(f"`start` ({first}) is after `end` ({last}).")
    outside = [f for f in files if (first is not None and f.month < first)
               or (last is not None and f.month > last)]
    if outside:
        shown = ", ".join(f.name for f in outside[:_SHOWN])
        more = f" and {len(outside) - _SHOWN} more" if len(outside) > _SHOWN else ""
        raise InputError(
            f"{len(outside)} file(s) are outside the months asked for ({first or '...'} to "
            f"{last or '...'}): {shown}{more}. Remove them from the list or folder, or widen "
            "`start`/`end`.")


def _rows(mask: np.ndarray) -> str:
    pos = np.flatnonzero(mask) + 1
    more = f" and {pos.size - _SHOWN} more" if pos.size > _SHOWN else ""
    return f"row{'s' if pos.size > 1 else ''} {', '.join(map(str, pos[:_SHOWN]))}{more}"


def _read_counts(item: _File) -> None:
    """Check one file and count its rows by LSOA and crime type (sets ``force``, ``counts``)."""
    with item.open() as fh:
        header = fh.readline().decode("utf-8-sig", errors="replace")
        columns = [c.strip() for c in next(csv.reader([header]), [])]
        _check_columns(item, columns)
        try:
            frame = pd.read_csv(fh, header=None, names=columns, usecols=_USED, dtype=str,
                                keep_default_na=False, na_values=[""])
        except pd.errors.EmptyDataError:  # published, with no crime at all
            frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in _USED})
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            detail = " ".join(str(exc).split())
            raise InputError(f"{item.name} is not a readable CSV file ({detail}); download it "
                             "again from data.police.uk.") from None
    month = frame["Month"]
    wrong = (month != str(item.month)).to_numpy()
    if wrong.any():
        values = sorted(set(month[wrong].fillna("(empty)")))[:3]
        raise InputError(
            f"{item.name} is named for {item.month} but {_rows(wrong)} have Month {values} "
            "(rows counted from 1 after the header). A police.uk file holds one month: keep "
            "the file names of the download, or move the rows to their month's file.")
    forces = frame["Reported by"].dropna().unique()
    if len(forces) > 1 or frame["Reported by"].isna().any():
        what = (f"rows of {len(forces)} forces ({sorted(forces)[:4]})" if len(forces) > 1
                else f"no force in {_rows(frame['Reported by'].isna().to_numpy())}")
        raise InputError(
            f"{item.name} has {what} in 'Reported by'; a police.uk street-level file holds one "
            "force's crimes. Split the rows into one file per force "
            "(YYYY-MM-<force>-street.csv).")
    no_type = frame["Crime type"].isna().to_numpy()
    if no_type.any():
        raise InputError(f"{item.name} has no 'Crime type' in {_rows(no_type)} (rows counted "
                         "from 1 after the header); every police.uk row has one.")
    item.force = str(forces[0]) if len(forces) else ""
    item.counts = (frame.groupby(["LSOA code", "LSOA name", "Crime type"], dropna=False,
                                 sort=False).size().rename("n").reset_index())


def _check_columns(item: _File, columns: list[str]) -> None:
    missing = [c for c in POLICE_UK_COLUMNS if c not in columns]
    extra = [c for c in columns if c not in POLICE_UK_COLUMNS]
    if missing or extra:
        parts = ([f"lacks {missing}"] if missing else []) + ([f"has {extra}"] if extra else [])
        raise InputError(
            f"{item.name} {' and '.join(parts)}: a police.uk street-level file has exactly the "
            f"columns {list(POLICE_UK_COLUMNS)}. Give the '-street.csv' files of the download "
            "as they are (outcomes and stop-and-search files are other data sets).")


def _force_names(files: list[_File]) -> dict[str, str]:
    """File slug → force label (Home Office name where known); one name per force."""
    by_slug: dict[str, set[str]] = {}
    for item in files:
        if item.force:
            by_slug.setdefault(item.slug, set()).add(item.force)
    for slug, names in by_slug.items():
        if len(names) > 1:
            raise InputError(f"The files of '{slug}' name {len(names)} forces in 'Reported by' "
                             f"({sorted(names)}); each force's files must name the same force.")
    home_office = set(load_forces()["force"])
    labels = {}
    for item in files:
        name = next(iter(by_slug.get(item.slug, {item.slug})))
        labels[item.slug] = _home_office_name(name, home_office)
    if len(set(labels.values())) < len(labels):
        clash = pd.Series(labels).groupby(pd.Series(labels)).groups
        both = {k: list(v) for k, v in clash.items() if len(v) > 1}
        raise InputError(f"Files with different force names in their file names report the "
                         f"same force: {both}. Keep one name per force.")
    return labels


def _home_office_name(name: str, home_office: set[str]) -> str:
    """'Greater Manchester Police' → 'Greater Manchester'; unknown forces keep their name."""
    plain = name.replace("&", "and").strip()
    candidates = [plain]
    for suffix in (" Police Service", " Constabulary", " Police", " Service"):
        if plain.endswith(suffix):
            candidates.append(plain[: -len(suffix)])
    return next((c for c in candidates if c in home_office), name)


# --------------------------------------------------------------------------------------------
# Areas at the requested level
# --------------------------------------------------------------------------------------------


def _long_counts(files: list[_File], forces: dict[str, str]) -> pd.DataFrame:
    parts = []
    for item in files:
        counts = item.counts
        assert counts is not None
        parts.append(pd.DataFrame({
            "force": forces[item.slug],
            "month": item.month,
            "lsoa": counts["LSOA code"].to_numpy(object),
            "lsoa_name": counts["LSOA name"].to_numpy(object),
            "crime_type": counts["Crime type"].to_numpy(object),
            "n": counts["n"].to_numpy(np.int64),
        }))
    return pd.concat(parts, ignore_index=True)


def _areas(long: pd.DataFrame, level: str, lookup: Any
           ) -> tuple[np.ndarray, dict[str, str], list[str]]:
    """Area label of each row, the name of each area, and notes on what was derived."""
    known = long["lsoa"].notna().to_numpy()
    unknown_label = np.array([f"{_UNKNOWN} ({f})" for f in long["force"]], dtype=object)
    notes: list[str] = []
    n_unknown = int(long.loc[~known, "n"].sum())
    if level == "force":
        areas = long["force"].to_numpy(object)
        names = {a: a for a in pd.unique(areas)}
        if n_unknown:
            notes.append(f"{n_unknown} crimes with no location are counted in their force.")
        return areas, names, notes
    codes = long["lsoa"].to_numpy(object)
    lsoa_names = long["lsoa_name"].to_numpy(object)
    if level == "lsoa":
        labels, names = codes, dict(zip(codes[known], lsoa_names[known], strict=True))
    elif lookup is not None:
        table = pd.Series(lookup) if not isinstance(lookup, pd.Series) else lookup
        absent = sorted(set(codes[known]) - set(table.index))
        if absent:
            raise InputError(f"`lookup` has no {level.upper()} for {len(absent)} LSOA code(s) "
                             f"in the files: {absent[:_SHOWN]}. Give every LSOA an area.")
        labels = np.array(table.reindex(codes).to_numpy(object), dtype=object)
        names = {a: str(a) for a in pd.unique(labels[known])}
        notes.append(f"{level.upper()} of each LSOA taken from `lookup`.")
    else:
        labels, names, derived = _derive(codes, lsoa_names, known, level)
        notes.append(derived)
    areas = np.where(known, labels, unknown_label)
    for label in pd.unique(unknown_label[~known]):
        names[label] = _UNKNOWN
    if n_unknown:
        notes.append(f"{n_unknown} crimes with no location (no LSOA) are counted in the areas "
                     f"'{_UNKNOWN} (<force>)'.")
    return areas, names, notes


def _derive(codes: np.ndarray, lsoa_names: np.ndarray, known: np.ndarray, level: str
            ) -> tuple[np.ndarray, dict[str, str], str]:
    """MSOA or CSP of each row from its LSOA name (see `read_police_uk`, Notes)."""
    unique = pd.Series(lsoa_names[known]).drop_duplicates()
    parsed = unique.str.extract(_LSOA_NAME.pattern)
    bad = unique[parsed["la"].isna()].tolist()
    if bad:
        raise InputError(
            f"{len(bad)} LSOA name(s) do not read as '<local authority> <MSOA number><letter>' "
            f"(e.g. 'Manchester 001A'): {bad[:_SHOWN]}; the {level.upper()} cannot be derived. "
            "Pass `lookup` (LSOA code → area).")
    msoa = dict(zip(unique, parsed["la"] + " " + parsed["msoa"], strict=True))
    authority = dict(zip(unique, parsed["la"], strict=True))
    labels = np.full(codes.shape, None, dtype=object)
    if level == "msoa":
        labels[known] = [msoa[n] for n in lsoa_names[known]]
        names = {a: a for a in pd.unique(labels[known])}
        return labels, names, ("MSOA of each LSOA derived from its name (ONS names an LSOA "
                               "after its MSOA plus a letter); MSOAs are labelled by name.")
    geo = load_geography_lookup()
    csp_of = dict(zip(geo["lad"], geo["csp_code"], strict=True))
    # ONS LSOA names drop the suffix of "Bristol, City of" and "Herefordshire, County of"
    csp_of.update({lad.split(",")[0]: code for lad, code in csp_of.items() if "," in lad})
    csp_name = dict(zip(geo["csp_code"], geo["csp"], strict=True))
    absent = sorted({authority[n] for n in unique if authority[n] not in csp_of})
    if absent:
        raise InputError(
            f"The local authorities {absent[:_SHOWN]} (read from the LSOA names) are not in "
            "the bundled 2017 local authority → CSP lookup (authorities created or renamed "
            "since 2017 are not). Pass `lookup` (LSOA code → CSP code) from an ONS lookup of "
            "the same year as the LSOA names.")
    labels[known] = [csp_of[authority[n]] for n in lsoa_names[known]]
    names = {a: csp_name[a] for a in pd.unique(labels[known])}
    return labels, names, ("CSP of each LSOA derived from the local authority in its name "
                           "(the MSOA name without its number) and the bundled 2017 ONS local "
                           "authority → CSP lookup.")


def _crime_types(values: pd.Series) -> list[str]:
    found = set(values)
    other = sorted(found - set(POLICE_UK_CRIME_TYPES))
    if other:
        warnings.warn(
            f"The files have crime types that are not police.uk's 14 current categories: "
            f"{other}. They get their own rows, zero in the months they were not used "
            "(police.uk changed its categories in May 2013).", DataWarning, stacklevel=3)
    return [*POLICE_UK_CRIME_TYPES, *other]


def _panel(long: pd.DataFrame, names: dict[str, str], crime_types: list[str],
           months: pd.PeriodIndex, force_labels: list[str], published: np.ndarray
           ) -> xr.Dataset:
    """The zero-filled count array, NaN where a covering force did not publish."""
    known = sorted(a for a in names if names[a] != _UNKNOWN)
    areas = known + sorted(a for a in names if names[a] == _UNKNOWN)
    a_idx = pd.Index(areas).get_indexer(long["area"])
    c_idx = pd.Index(crime_types).get_indexer(long["crime_type"])
    m_idx = months.get_indexer(pd.PeriodIndex(long["month"], freq="M"))
    f_idx = pd.Index(force_labels).get_indexer(long["force"])
    counts = np.zeros((len(areas), len(crime_types), len(months)))
    np.add.at(counts, (a_idx, c_idx, m_idx), long["n"].to_numpy(float))
    # forces covering each area: an area is incomplete in a month any of them did not publish
    covers = np.zeros((len(areas), len(force_labels)), dtype=bool)
    covers[a_idx, f_idx] = True
    incomplete = (covers[:, :, None] & ~published[None, :, :]).any(axis=1)
    counts[np.broadcast_to(incomplete[:, None, :], counts.shape)] = np.nan
    rows = np.zeros((len(areas), len(force_labels)))
    np.add.at(rows, (a_idx, f_idx), long["n"].to_numpy(float))
    main_force = np.asarray(force_labels, dtype=object)[rows.argmax(axis=1)]
    return xr.Dataset(
        {"count": (("area", "crime_type", "month"), counts,
                   {"long_name": "crimes recorded", "units": "crimes",
                    "description": "0 where police.uk has no row; NaN where a force whose files "
                                   "cover the area did not publish the month"}),
         "published": (("force", "month"), published,
                       {"description": "the force's street-level file for the month is in the "
                                       "archive"})},
        coords={"area": np.asarray(areas, dtype=object),
                "crime_type": np.asarray(crime_types, dtype=object),
                "month": months, "force": np.asarray(force_labels, dtype=object),
                "area_name": ("area", np.asarray([names[a] for a in areas], dtype=object)),
                "area_force": ("area", main_force)})
