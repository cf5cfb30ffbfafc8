"""Change points on real series with documented events (and real series with none).

Run by hand::

    python benchmarks/changepoint_real.py            # table of every series, then the means
    python benchmarks/changepoint_real.py --brief    # means only

The series and their annotations are in ``tests/data/changepoint/real/manifest.csv`` (each with
its source): documented breaks (the Aswan dam in the Nile's flow, the 1983 seat-belt law, the
1990 German monetary union, COVID-19 lockdowns in police recorded crime, a change of burglary
classification, the 2014 recording drive) and series with no documented event (classic
trend-and-season series such as AirPassengers and CO2, and Northern Ireland's monthly offence
series before the pandemic). Metrics as in the Turing change-point benchmark (van den Burg &
Williams 2020): F1 with a margin of 5 periods and segmentation covering, the start of the
series counting as a change point in both truth and prediction.

Methods: crimestats defaults; a detector that never reports a change; PELT with the normal
mean-and-variance cost and the MBIC penalty (R ``cpt.meanvar`` defaults); binary segmentation
with the normal mean cost, MBIC penalty and at most 5 changes (R ``cpt.mean(method="BinSeg")``
defaults, on the series scaled by its robust noise SD); and the level-only models that were the
defaults before ("negbin"/"normal" with one change expected a priori, no seasonality).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from crimestats.changepoint import detect, robust_noise_sd

ROOT = Path(__file__).resolve().parents[1] / "tests" / "data" / "changepoint" / "real"
MARGIN = 5


def load(row: pd.Series) -> tuple[pd.Series, list[int]]:
    """The series of a manifest row (labels kept as text) and the positions of its changes."""
    frame = pd.read_csv(ROOT / row["file"], dtype={0: str})
    frame = frame.set_index(frame.columns[0])
    y = frame[row["column"]].astype(float)
    if isinstance(row["start"], str):
        y = y.loc[row["start"]:row["end"]]
    labels = [str(v) for v in y.index]
    y.index = pd.Index(labels)
    changes = [] if not isinstance(row["changes"], str) else [
        labels.index(t) for t in row["changes"].split(";")]
    return y, changes


def f1_score(truth: list[int], pred: list[int], margin: int = MARGIN) -> float:
    """F1 with one-to-one matching within ``margin``; 0 is a change point of both sets."""
    t = sorted({0, *truth})
    p = sorted({0, *pred})
    used: set[int] = set()
    tp = 0
    for x in t:
        close = [q for q in p if abs(q - x) <= margin and q not in used]
        if close:
            used.add(min(close, key=lambda q: abs(q - x)))
            tp += 1
    precision, recall = tp / len(p), tp / len(t)
    return 2 * precision * recall / (precision + recall)


def covering(truth: list[int], pred: list[int], n: int) -> float:
    """Segmentation covering of the true partition by the predicted one."""
    def parts(cps: list[int]) -> list[set[int]]:
        b = [0, *sorted(c for c in cps if 0 < c < n), n]
        return [set(range(s, e)) for s, e in zip(b[:-1], b[1:], strict=True) if e > s]
    g, h = parts(truth), parts(pred)
    return sum(len(a) * max(len(a & b) / len(a | b) for b in h) for a in g) / n


def binseg_mean(y: np.ndarray, q: int = 5, min_size: int = 2) -> list[int]:
    """Binary segmentation, normal mean cost on the robustly scaled series, MBIC penalty."""
    z = (y - np.median(y)) / robust_noise_sd(y)
    n = z.size
    pen = 3.0 * np.log(n)
    cs = np.r_[0.0, np.cumsum(z)]
    cs2 = np.r_[0.0, np.cumsum(z * z)]

    def cost(s: int, e: int) -> float:
        return (cs2[e] - cs2[s]) - (cs[e] - cs[s]) ** 2 / (e - s)

    cps: list[int] = []
    segments = [(0, n)]
    for _ in range(q):
        best = (0.0, None, None)
        for s, e in segments:
            for k in range(s + min_size, e - min_size + 1):
                gain = cost(s, e) - cost(s, k) - cost(k, e)
                if gain > best[0]:
                    best = (gain, k, (s, e))
        if best[1] is None or best[0] < pen:
            break
        k, (s, e) = best[1], best[2]
        cps.append(k)
        segments.remove((s, e))
        segments += [(s, k), (k, e)]
    return sorted(cps)


OPTIONS: dict[str, float] = {}


def methods(y: pd.Series) -> dict[str, list[int]]:
    values = y.to_numpy(dtype=float)
    counts = bool(np.all(values >= 0) and np.all(values == np.round(values)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "crimestats": detect(y, draws=0, **OPTIONS).changepoints,
            "zero": [],
            "pelt_meanvar": detect(values, "normal", method="pelt").changepoints,
            "binseg_mean": binseg_mean(values),
            "previous_default": detect(values, "negbin" if counts else "normal",
                                       prior_change=1.0 / values.size, seasonal=None,
                                       draws=0).changepoints,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brief", action="store_true", help="print the means only")
    parser.add_argument("--prior-any-change", type=float,
                        help="detect's prior_any_change (default: detect's default)")
    args = parser.parse_args(argv)
    if args.prior_any_change is not None:
        OPTIONS["prior_any_change"] = args.prior_any_change
    manifest = pd.read_csv(ROOT / "manifest.csv", keep_default_na=False, na_values=[""])
    rows = []
    for _, row in manifest.iterrows():
        y, truth = load(row)
        for method, pred in methods(y).items():
            rows.append({"series": row["name"], "kind": row["kind"], "n": y.size,
                         "method": method, "truth": truth, "found": pred,
                         "f1": f1_score(truth, pred), "cover": covering(truth, pred, y.size)})
    table = pd.DataFrame(rows)
    if not args.brief:
        wide = table.pivot(index="series", columns="method", values="f1").round(2)
        found = table[table["method"] == "crimestats"].set_index("series")[["truth", "found"]]
        print(wide.join(found).to_string())
        print()
    def mean(kind: str | None, metric: str) -> pd.Series:
        rows = table if kind is None else table[table["kind"] == kind]
        return rows.groupby("method")[metric].mean()

    summary = pd.DataFrame({
        "F1 documented changes": mean("change", "f1"),
        "covering documented changes": mean("change", "cover"),
        "F1 no documented change": mean("null", "f1"),
        "F1 all": mean(None, "f1"), "covering all": mean(None, "cover")}).round(3)
    print(summary.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
