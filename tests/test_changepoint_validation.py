"""Validation on simulated series with known change points (slow; figures in the docs).

F1 with a margin of 5 periods (a true change counts as found when a reported change lies
within 5 periods of it, each reported change matched at most once) and the calibration of
``prob_change`` (of the times given probability about p, the fraction that are true changes).
Run with ``pytest -m slow tests/test_changepoint_validation.py -s`` to print the tables.
"""

from __future__ import annotations

import numpy as np
import pytest

from crimestats.changepoint import detect
from crimestats.datasets import simulate_changepoint_series

pytestmark = pytest.mark.slow

LENGTHS = {50: 40, 200: 30, 1000: 10, 10000: 2}   # length: replicates per number of changes


def f1_margin(true: list[int], found: list[int], margin: int = 5) -> tuple[int, int, int]:
    """True positives, number found, number true (greedy one-to-one matching)."""
    used = set()
    tp = 0
    for t in true:
        close = [f for f in found if abs(f - t) <= margin and f not in used]
        if close:
            used.add(min(close, key=lambda f: abs(f - t)))
            tp += 1
    return tp, len(found), len(true)


def _run(likelihood, method):
    rows = []
    probs, truth = [], []
    for n, reps in LENGTHS.items():
        tp = nf = nt = 0
        for k in range(6):
            if n < (k + 1) * 10:
                continue
            for r in range(reps):
                sim = simulate_changepoint_series(n, k, likelihood=likelihood,
                                                  random_seed=n * 1000 + k * 100 + r)
                lik = "negbin" if likelihood == "negbin" else likelihood
                res = detect(sim.y, lik, method=method, draws=0)
                a, b, c = f1_margin(sim.changepoints, res.changepoints)
                tp, nf, nt = tp + a, nf + b, nt + c
                if method == "bayes":
                    probs.append(res.estimates["prob_change"].values[1:])
                    is_cp = np.zeros(n, bool)
                    is_cp[sim.changepoints] = True
                    truth.append(is_cp[1:])
        precision = tp / nf if nf else 1.0
        recall = tp / nt if nt else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append((n, precision, recall, f1))
    return rows, probs, truth


@pytest.mark.parametrize("likelihood", ["poisson", "negbin", "normal"])
@pytest.mark.parametrize("method", ["bayes", "pelt"])
def test_f1_margin_5(likelihood, method):
    rows, probs, truth = _run(likelihood, method)
    print(f"\n{likelihood} {method}: n, precision, recall, F1")
    for n, p, r, f in rows:
        print(f"  {n:6d} {p:.3f} {r:.3f} {f:.3f}")
    assert all(f >= 0.8 for n, _, _, f in rows if n >= 200)
    if method == "bayes":
        p = np.concatenate(probs)
        t = np.concatenate(truth)
        edges = np.array([0, 0.01, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0 + 1e-9])
        print("  calibration: bin, times, mean prob, fraction true changes")
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            sel = (p >= lo) & (p < hi)
            if sel.sum():
                print(f"  [{lo:.2f},{hi:.2f}) {sel.sum():8d} {p[sel].mean():.3f} "
                      f"{t[sel].mean():.3f}")
        high = p >= 0.8
        assert t[high].mean() >= 0.6
