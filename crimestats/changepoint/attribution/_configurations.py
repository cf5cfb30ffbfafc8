"""Change shapes (steps and ramps) and the prior over configurations of changes.

A *change* of a component (reporting, recording, incidence) moves its log level by $\\delta$
linearly over ``length`` periods starting at period ``start``:

$$
g_t = \\min\\{1, \\max\\{0, (t - \\text{start} + 1)/\\text{length}\\}\\},
$$

so ``length = 1`` is a step at ``start`` and ``length = 3`` a ramp that is complete at
``start + 2``. Every change starts at least ``MIN_SEGMENT`` (2) periods after the start of the
window and before its end, so that it is seen in two periods at least (a change in the first
or last period rests on one observation and cannot be told from a one-off year); a ramp may
still be under way at the end of the window. A *configuration* is the set of changes of every component. Capture components
(reporting, recording) have up to ``max_changes`` changes between them; incidence has at most
one step (its gradual movements are the smooth curve of the model).

Prior (the configurations are enumerated, so any prior can be written down exactly):

* incidence has a step with probability ``prior_change``; the police capture changes (reporting
  or recording) with probability ``prior_change``: with control offences, reporting and
  recording each change independently with probability $1 - \\sqrt{1 - p}$, so that giving
  the model controls does not raise the prior probability of a capture change;
* a capture component that changes has $n$ changes with probability proportional to
  ``second_change``$^{\\,n-1}$, $n \\le$ ``max_changes`` minus the changes of the other
  capture component (when both change, each has at least one);
* given $n$, the changes are in order and do not overlap (the next starts after the previous
  is complete); their shapes have prior weight proportional to the product of the shapes'
  weights: lengths equally likely, start periods equally likely — or, with ``shocks``, half
  the weight on the shock periods and half spread over every period.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
from scipy import special

__all__ = ["ChangeShapes", "Configurations", "change_pattern", "enumerate_configurations"]

#: Periods a change needs before its start and after its end.
MIN_SEGMENT = 2
#: Codes of the components in the arrays below.
INCIDENCE, REPORTING, RECORDING = 0, 1, 2
COMPONENT_NAMES = ("incidence", "reporting", "recording")


def change_pattern(start: np.ndarray, length: np.ndarray, T: int) -> np.ndarray:
    """Patterns $g_t$ of changes (rows) over periods $0..T-1$ (columns).

    Examples
    --------
    >>> change_pattern(np.array([2, 1]), np.array([1, 3]), 5).round(2).tolist()
    [[0.0, 0.0, 1.0, 1.0, 1.0], [0.0, 0.33, 0.67, 1.0, 1.0]]
    """
    t = np.arange(T)[None, :]
    start = np.asarray(start)[:, None]
    length = np.asarray(length)[:, None]
    return np.clip((t - start + 1) / length, 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class ChangeShapes:
    """Every candidate change of every component: one column of the model each.

    Attributes
    ----------
    component, start, length : numpy.ndarray
        Component code, first period affected (0-based) and ramp length of each candidate.
    log_weight : numpy.ndarray
        Log prior weight of the shape within its component (normalised per component and
        length).
    """

    component: np.ndarray
    start: np.ndarray
    length: np.ndarray
    log_weight: np.ndarray

    def patterns(self, T: int) -> np.ndarray:
        """$g_t$ of every shape, ``(n_shapes, T)``."""
        return change_pattern(self.start, self.length, T)

    def of(self, component: int) -> np.ndarray:
        """Indices of the shapes of one component."""
        return np.flatnonzero(self.component == component)


def _start_weights(T: int, shocks: np.ndarray | None, shock_weight: float) -> np.ndarray:
    """Prior weight of each start period (sums to 1): uniform, or half on the shocks."""
    w = np.zeros(T)
    w[MIN_SEGMENT:T - MIN_SEGMENT + 1] = 1.0
    w /= w.sum()
    if shocks is not None and shocks.size:
        on = np.zeros(T)
        on[shocks] = 1.0 / shocks.size
        w = (1.0 - shock_weight) * w + shock_weight * on
    return w


def change_shapes(T: int, components: tuple[int, ...], ramp_lengths: tuple[int, ...],
                  shocks: np.ndarray | None, shock_weight: float,
                  incidence_lengths: tuple[int, ...] = (1,)) -> ChangeShapes:
    """Candidate changes: steps of incidence, steps and ramps of the capture components.

    A change starts in ``MIN_SEGMENT .. T - MIN_SEGMENT``; a ramp may run past the end.
    Starts are weighted as in ``_start_weights`` for every length.
    """
    w_start = _start_weights(T, shocks, shock_weight)
    comp, start, length, logw = [], [], [], []
    for c in components:
        lengths = incidence_lengths if c == INCIDENCE else ramp_lengths
        for L in lengths:
            starts = np.arange(MIN_SEGMENT, T - MIN_SEGMENT + 1)
            w = w_start[starts]
            keep = w > 0
            starts, w = starts[keep], w[keep]
            if not starts.size:
                continue
            comp += [c] * starts.size
            start += starts.tolist()
            length += [L] * starts.size
            logw += (np.log(w / w.sum()) - np.log(len(lengths))).tolist()
    return ChangeShapes(np.array(comp, dtype=np.int64), np.array(start, dtype=np.int64),
                        np.array(length, dtype=np.int64), np.array(logw))


@dataclasses.dataclass(frozen=True)
class Configurations:
    """The enumerated configurations: capture sets × incidence options.

    Attributes
    ----------
    shapes : ChangeShapes
        The columns the configurations pick from.
    capture : numpy.ndarray
        ``(n_capture, max_changes)`` shape indices of the capture changes (``-1`` = unused).
    capture_log_prior : numpy.ndarray
        Log prior of each capture set.
    incidence : numpy.ndarray
        ``(n_incidence,)`` shape index of the incidence step (``-1`` = no step).
    incidence_log_prior : numpy.ndarray
        Log prior of each incidence option.
    """

    shapes: ChangeShapes
    capture: np.ndarray
    capture_log_prior: np.ndarray
    incidence: np.ndarray
    incidence_log_prior: np.ndarray

    @property
    def size(self) -> int:
        """Number of configurations (capture sets × incidence options)."""
        return self.capture.shape[0] * self.incidence.size


def _sequences(shapes: ChangeShapes, idx: np.ndarray, n: int) -> list[tuple[int, ...]]:
    """Ordered, non-overlapping n-tuples of the shapes ``idx`` (each starts after the last ends)."""
    if n == 0:
        return [()]
    order = idx[np.argsort(shapes.start[idx], kind="stable")]
    out = []
    for combo in itertools.combinations(order.tolist(), n):
        ends = shapes.start[list(combo)] + shapes.length[list(combo)] - 1
        starts = shapes.start[list(combo)]
        if np.all(starts[1:] > ends[:-1]):
            out.append(combo)
    return out


def _count_prior(n_max: int, second_change: float) -> np.ndarray:
    """P(n changes | the component changes), n = 1..n_max, proportional to r^(n-1)."""
    p = second_change ** np.arange(n_max)
    return p / p.sum()


def enumerate_configurations(T: int, *, has_recording: bool, ramp_lengths: tuple[int, ...],
                             max_changes: int, prior_change: float, second_change: float,
                             shocks: np.ndarray | None = None, shock_weight: float = 0.5,
                             incidence_lengths: tuple[int, ...] = (1,)) -> Configurations:
    """Every configuration of changes with its exact log prior.

    Examples
    --------
    >>> cfg = enumerate_configurations(6, has_recording=False, ramp_lengths=(1,),
    ...                                max_changes=1, prior_change=0.5, second_change=0.3)
    >>> cfg.capture.shape, cfg.incidence.size   # none + steps at 2, 3, 4 for each component
    ((4, 1), 4)
    >>> round(float(np.exp(cfg.capture_log_prior).sum()), 12)
    1.0
    """
    comps = (INCIDENCE, REPORTING, RECORDING) if has_recording else (INCIDENCE, REPORTING)
    shapes = change_shapes(T, comps, ramp_lengths, shocks, shock_weight, incidence_lengths)
    p = 1.0 - np.sqrt(1.0 - prior_change) if has_recording else prior_change
    # capture components: sequences of each length, with their log weights (normalised per n)
    capture_comps = comps[1:]
    seqs: dict[tuple[int, int], tuple[list[tuple[int, ...]], np.ndarray]] = {}
    for c in capture_comps:
        idx = shapes.of(c)
        for n in range(0, max_changes + 1):
            s = _sequences(shapes, idx, n)
            lw = np.array([shapes.log_weight[list(t)].sum() for t in s]) if n else np.zeros(1)
            if s:
                lw = lw - special.logsumexp(lw)
            seqs[(c, n)] = (s, lw)
    rows: list[tuple[int, ...]] = []
    logp: list[float] = []
    if len(capture_comps) == 1:
        c = capture_comps[0]
        count = _count_prior(max_changes, second_change)
        for n in range(0, max_changes + 1):
            s, lw = seqs[(c, n)]
            if not s:
                continue
            base = np.log(1 - p) if n == 0 else np.log(p) + np.log(count[n - 1])
            rows += s
            logp += (base + lw).tolist()
    else:
        c1, c2 = capture_comps
        for n1, n2 in itertools.product(range(max_changes + 1), repeat=2):
            if n1 + n2 > max_changes:
                continue
            if n1 and n2:
                both = [(a, b) for a in range(1, max_changes) for b in range(1, max_changes)
                        if a + b <= max_changes]
                w = np.array([second_change ** (a + b - 2) for a, b in both])
                base = 2 * np.log(p) + np.log(second_change ** (n1 + n2 - 2) / w.sum())
            elif n1 or n2:
                n = n1 or n2
                base = (np.log(p) + np.log(1 - p)
                        + np.log(_count_prior(max_changes, second_change)[n - 1]))
            else:
                base = 2 * np.log(1 - p)
            s1, lw1 = seqs[(c1, n1)]
            s2, lw2 = seqs[(c2, n2)]
            for (a, la), (b, lb) in itertools.product(zip(s1, lw1, strict=True),
                                                      zip(s2, lw2, strict=True)):
                rows.append(a + b)
                logp.append(base + la + lb)
    capture = np.full((len(rows), max(max_changes, 1)), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        capture[i, :len(r)] = r
    capture_log_prior = np.array(logp)
    capture_log_prior -= special.logsumexp(capture_log_prior)   # exact up to rounding
    inc_idx = shapes.of(INCIDENCE)
    incidence = np.r_[-1, inc_idx].astype(np.int64)
    inc_lp = np.r_[np.log(1 - prior_change), np.log(prior_change) + shapes.log_weight[inc_idx]]
    return Configurations(shapes, capture, capture_log_prior, incidence, inc_lp)
