"""Make the synthetic police.uk street-level archive that tests/datasets/test_police_uk.py reads.

Run from the repository root: ``python tests/data/police_uk/make_fixture.py``. It rewrites
``tests/data/police_uk/archive/`` and ``tests/data/police_uk/truth.csv`` (same seed, same files).

The archive has the layout and the twelve columns of a data.police.uk download — a folder per
month holding ``YYYY-MM-<force>-street.csv`` — for three forces over 24 months (2018-01 to
2019-12). Everything in it is made up: LSOA codes ``E0190000x`` do not exist (real ones stop
near ``E01035000``), crime IDs are hashes of a counter, coordinates are jittered around each
city. LSOA names follow the ONS convention "<local authority> <MSOA number><letter>" with real
local-authority names, so that MSOA and CSP areas can be derived from them.

Built in on purpose:

* Merseyside did not publish 2019-07 (no file): that force-month must come out missing.
* Rows with no location (empty LSOA code and name), as police.uk has them.
* Merseyside Police records a few crimes in "Wigan 030A", a Greater Manchester LSOA near the
  boundary, so that LSOA depends on both forces' files.
* Small expected counts, so most (LSOA, crime type, month) cells have no row at all (zero).

``truth.csv`` lists every non-zero count the archive holds: force, lsoa_code (empty for rows
with no location), crime_type, month, count.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
           "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
           "Context"]
CRIME_TYPES = ["Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson",
               "Drugs", "Other crime", "Other theft", "Possession of weapons", "Public order",
               "Robbery", "Shoplifting", "Theft from the person", "Vehicle crime",
               "Violence and sexual offences"]
OUTCOMES = ["Investigation complete; no suspect identified", "Unable to prosecute suspect",
            "Under investigation", "Offender given a caution", "Awaiting court outcome"]
STREETS = ["High Street", "Station Road", "Church Lane", "Park Avenue", "Mill Street"]
#: file slug -> (force name as police.uk writes it, centre (longitude, latitude))
FORCES = {
    "greater-manchester": ("Greater Manchester Police", (-2.24, 53.48)),
    "merseyside": ("Merseyside Police", (-2.98, 53.41)),
    "west-yorkshire": ("West Yorkshire Police", (-1.55, 53.80)),
}
#: force slug -> LSOAs it covers: (code, name, mean crimes per crime type and month)
LSOAS = {
    "greater-manchester": [("E01900001", "Manchester 001A", 0.30),
                           ("E01900002", "Manchester 001B", 0.15),
                           ("E01900003", "Manchester 002A", 0.20),
                           ("E01900004", "Salford 010C", 0.10),
                           ("E01900005", "Wigan 030A", 0.10)],
    "merseyside": [("E01900011", "Liverpool 001A", 0.30),
                   ("E01900012", "Liverpool 003B", 0.10),
                   ("E01900013", "Wirral 005A", 0.15)],
    "west-yorkshire": [("E01900021", "Leeds 001A", 0.25),
                       ("E01900022", "Leeds 001C", 0.10),
                       ("E01900023", "Bradford 003C", 0.15)],
}
MONTHS = pd.period_range("2018-01", "2019-12", freq="M")
NOT_PUBLISHED = {("merseyside", "2019-07")}
NO_LOCATION_MEAN = 0.6          # rows with no location per force and month
BORDER = ("E01900005", "Wigan 030A", 0.08)  # Merseyside's crimes in a GMP LSOA, per month


def main() -> None:
    rng = np.random.default_rng(20260401)
    out = HERE / "archive"
    if out.exists():
        shutil.rmtree(out)
    truth = []
    serial = 0
    for month in MONTHS:
        folder = out / str(month)
        folder.mkdir(parents=True)
        for slug, (name, (lon, lat)) in FORCES.items():
            if (slug, str(month)) in NOT_PUBLISHED:
                continue
            cells = [(code, lsoa, kind, rng.poisson(mean))
                     for code, lsoa, mean in LSOAS[slug] for kind in CRIME_TYPES]
            if slug == "merseyside":
                cells.append((BORDER[0], BORDER[1], "Vehicle crime", rng.poisson(BORDER[2])))
            cells += [("", "", kind, n) for kind, n in
                      zip(CRIME_TYPES, rng.poisson(NO_LOCATION_MEAN / len(CRIME_TYPES),
                                                   size=len(CRIME_TYPES)), strict=True)]
            rows = []
            for code, lsoa, kind, n in cells:
                if n == 0:
                    continue
                truth.append((name, code, kind, str(month), int(n)))
                for _ in range(n):
                    serial += 1
                    asb = kind == "Anti-social behaviour"
                    located = code != ""
                    rows.append({
                        "Crime ID": "" if asb else hashlib.sha256(
                            str(serial).encode()).hexdigest(),
                        "Month": str(month),
                        "Reported by": name,
                        "Falls within": name,
                        "Longitude": f"{lon + rng.normal(0, 0.02):.6f}" if located else "",
                        "Latitude": f"{lat + rng.normal(0, 0.01):.6f}" if located else "",
                        "Location": (f"On or near {rng.choice(STREETS)}" if located
                                     else "No Location"),
                        "LSOA code": code,
                        "LSOA name": lsoa,
                        "Crime type": kind,
                        "Last outcome category": "" if asb else rng.choice(OUTCOMES),
                        "Context": "",
                    })
            frame = pd.DataFrame(rows, columns=COLUMNS)
            frame = frame.iloc[rng.permutation(len(frame))]
            frame.to_csv(folder / f"{month}-{slug}-street.csv", index=False)
    pd.DataFrame(truth, columns=["force", "lsoa_code", "crime_type", "month", "count"]).to_csv(
        HERE / "truth.csv", index=False)


if __name__ == "__main__":
    main()
