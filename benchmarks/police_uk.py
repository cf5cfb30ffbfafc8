"""Time to read a police.uk street-level archive into a panel (`read_police_uk`).

Run by hand (not part of the tests):

    python benchmarks/police_uk.py [--months 36] [--rows 100000] [--lsoas 1700] [--repeats 3]

Writes a synthetic archive in the exact police.uk layout to a temporary folder — one force
(Greater Manchester Police), ``--months`` monthly files of ``--rows`` rows each, crimes spread
over ``--lsoas`` LSOAs named after Greater Manchester's ten local authorities, 1% of rows with
no location — then prints a Markdown table: median wall and CPU time over ``--repeats`` reads
at each level, and rows per second. The load average is printed with it: on a shared machine,
compare CPU seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from crimestats.datasets import POLICE_UK_COLUMNS, POLICE_UK_CRIME_TYPES, read_police_uk

AUTHORITIES = ["Bolton", "Bury", "Manchester", "Oldham", "Rochdale", "Salford", "Stockport",
               "Tameside", "Trafford", "Wigan"]


def write_archive(root: Path, months: int, rows: int, lsoas: int, seed: int = 1) -> None:
    """A police.uk-format archive of one force: ``months`` files of ``rows`` rows."""
    rng = np.random.default_rng(seed)
    codes = np.array([f"E0198{i:04d}" for i in range(lsoas)])
    # ten local authorities, MSOAs of five LSOAs each ("Bolton 003A" ... "Bolton 003E")
    names = np.array([f"{AUTHORITIES[i % 10]} {i // 50:03d}{'ABCDE'[i // 10 % 5]}"
                      for i in range(lsoas)])
    weight = rng.gamma(2.0, size=lsoas)
    weight /= weight.sum()
    types = np.array(POLICE_UK_CRIME_TYPES)
    type_weight = rng.dirichlet(np.ones(len(types)) * 3)
    for month in pd.period_range("2021-01", periods=months, freq="M"):
        where = rng.choice(lsoas, size=rows, p=weight)
        located = rng.uniform(size=rows) > 0.01
        kind = types[rng.choice(len(types), size=rows, p=type_weight)]
        ids = rng.integers(0, 2**63, size=(rows, 4))
        frame = pd.DataFrame({
            "Crime ID": [f"{a:016x}{b:016x}{c:016x}{d:016x}" for a, b, c, d in ids],
            "Month": str(month),
            "Reported by": "Greater Manchester Police",
            "Falls within": "Greater Manchester Police",
            "Longitude": np.where(located, np.round(-2.24 + rng.normal(0, 0.1, rows), 6), np.nan),
            "Latitude": np.where(located, np.round(53.48 + rng.normal(0, 0.05, rows), 6), np.nan),
            "Location": np.where(located, "On or near High Street", "No Location"),
            "LSOA code": np.where(located, codes[where], ""),
            "LSOA name": np.where(located, names[where], ""),
            "Crime type": kind,
            "Last outcome category": "Investigation complete; no suspect identified",
            "Context": "",
        }, columns=list(POLICE_UK_COLUMNS))
        folder = root / str(month)
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_csv(folder / f"{month}-greater-manchester-street.csv", index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--lsoas", type=int, default=1_700)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "archive"
        start = time.perf_counter()
        write_archive(root, args.months, args.rows, args.lsoas)
        size = sum(f.stat().st_size for f in root.rglob("*.csv")) / 1e6
        print(f"Python {platform.python_version()}, pandas {pd.__version__}, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        print(f"archive: 1 force x {args.months} months x {args.rows:,} rows "
              f"({args.months * args.rows:,} rows, {size:.0f} MB), written in "
              f"{time.perf_counter() - start:.0f} s")
        print()
        print("| level | areas | median wall s | median CPU s | rows per second (wall) |")
        print("|---|---:|---:|---:|---:|")
        total = args.months * args.rows
        read_police_uk(root, level="csp")  # warm-up: imports and the bundled lookup
        for level in ("lsoa", "msoa", "csp", "force"):
            walls, cpus = [], []
            for _ in range(args.repeats):
                wall, cpu = time.perf_counter(), time.process_time()
                panel = read_police_uk(root, level=level)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
            wall = statistics.median(walls)
            print(f"| {level} | {panel.counts.sizes['area']:,} | {wall:.2f} | "
                  f"{statistics.median(cpus):.2f} | {total / wall:,.0f} |")
        print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
