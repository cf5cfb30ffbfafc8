"""Speed of the analyst's workflow: import, loaders, `crimestats demo`, `crimestats sae` on a CSV.

Run by hand (``python benchmarks/workflow.py``); prints a table of median wall-clock and CPU
times over a few repeats (CPU time is the fairer figure on a loaded machine). Each command runs in a fresh interpreter, as a user or a backend would run it,
so the times include Python start-up and imports. Figures go in docs/benchmarks/index.md.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPEATS = 3


def _time(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Median wall-clock and CPU (user + system) seconds of a command over REPEATS runs."""
    wall, cpu = [], []
    for _ in range(REPEATS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(wall), statistics.median(cpu)


def _synthetic_csv(path: Path, m: int, seed: int = 1) -> None:
    """A CSV of m areas with a Fay–Herriot structure (two covariates, one categorical)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=m)
    group = rng.choice(["a", "b", "c"], size=m)
    variance = rng.uniform(0.5, 2.0, size=m)
    theta = 1.0 + 0.5 * x + (group == "b") + rng.normal(scale=1.0, size=m)
    pd.DataFrame({
        "area": [f"area{i}" for i in range(m)],
        "direct": theta + rng.normal(scale=np.sqrt(variance)),
        "variance": variance, "x": x, "group": group,
    }).to_csv(path, index=False)


def main() -> None:
    python = sys.executable
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows.append(("python -c 'pass' (interpreter start-up)",
                     _time([python, "-c", "pass"], work)))
        rows.append(("python -c 'import crimestats'",
                     _time([python, "-c", "import crimestats"], work)))
        rows.append(("crimestats --help",
                     _time([python, "-m", "crimestats.cli", "--help"], work)))
        rows.append(("load every bundled data set",
                     _time([python, "-c", "import crimestats.datasets as d; "
                            "[getattr(d, n)() for n in d.__all__ if n.startswith('load_')]"],
                           work)))
        rows.append(("crimestats demo --no-figures",
                     _time([python, "-m", "crimestats.cli", "demo", "--no-figures",
                            "--output", str(work / "demo-nofig")], work)))
        rows.append(("crimestats demo (with figures)",
                     _time([python, "-m", "crimestats.cli", "demo",
                            "--output", str(work / "demo")], work)))
        for m in (70, 10_000, 100_000):
            path = work / f"areas_{m}.csv"
            _synthetic_csv(path, m)
            rows.append((f"crimestats sae, {m:,} areas, REML, --json",
                         _time([python, "-m", "crimestats.cli", "sae", str(path), "--area",
                                "area", "--direct", "direct", "--variance", "variance",
                                "--covariates", "x,group", "--json"], work)))
    width = max(len(name) for name, _ in rows)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"medians over {REPEATS} runs")
    print(f"{'command':<{width}}  wall s   CPU s")
    for name, (wall, cpu) in rows:
        print(f"{name:<{width}}  {wall:6.2f}  {cpu:6.2f}")


if __name__ == "__main__":
    main()
