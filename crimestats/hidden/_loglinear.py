"""Log-linear multiple-systems estimation: Poisson GLMs, existence checks, stepwise selection.

The expected count of capture history $\\omega$ (a 0/1 vector over ``t`` lists) is

$$
\\log \\mu_\\omega = \\theta_0 + \\sum_j \\theta_j \\omega_j
+ \\sum_{(j,k) \\in M} \\theta_{jk} \\omega_j \\omega_k ,
$$

fitted by Poisson maximum likelihood to the ``2**t - 1`` observable cells; the dark figure
(the unobserved all-zero cell) is $\\exp(\\theta_0)$. A two-list term whose lists share
no case has $\\hat\\theta_{jk} = -\\infty$; as in Chan, Silverman & Vincent (2021) it is
fitted by dropping every cell containing both lists. Model selection follows SparseMSE's
``stepwisefit``: from main effects only, repeatedly add the two-list term with the smallest
one-sided Poisson p-value of its overlap total, if below ``pthresh`` and if the enlarged model
passes the existence (Fienberg & Rinaldo 2012 linear program) and identifiability (rank)
checks.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
from scipy import optimize, special, stats

from .._progress import progress_bar

__all__: list[str] = []

Term = tuple[int, int]


@dataclasses.dataclass(frozen=True)
class LoglinearFit:
    """One fitted log-linear model."""

    terms: tuple[Term, ...]  # two-list terms in the model, in order of entry
    empty_terms: tuple[Term, ...]  # those whose lists share no case (parameter = -inf)
    keep: np.ndarray  # cells used in the fit
    beta: np.ndarray
    intercept_se: float
    fitted: np.ndarray  # fitted means of the kept cells
    deviance: float
    n_params: int

    @property
    def dark(self) -> float:
        return float(np.exp(self.beta[0]))


def _pairs(t: int) -> list[Term]:
    return [(i, j) for i in range(t) for j in range(i + 1, t)]


def design(histories: np.ndarray, counts: np.ndarray, terms: tuple[Term, ...]
           ) -> tuple[np.ndarray, np.ndarray, tuple[Term, ...]]:
    """Kept cells, design matrix (intercept, main effects, non-empty two-list terms), empty terms."""
    h = histories.astype(float)
    keep = np.ones(h.shape[0], dtype=bool)
    cols = [np.ones(h.shape[0]), *h.T]
    empty: list[Term] = []
    for i, j in terms:
        both = h[:, i] * h[:, j]
        if counts @ both == 0:
            empty.append((i, j))
            keep &= both == 0
        else:
            cols.append(both)
    x = np.column_stack(cols)[keep]
    return keep, x, tuple(empty)


def irls_poisson(x: np.ndarray, y: np.ndarray, *, start: np.ndarray | None = None,
                 tol: float = 1e-12, max_iter: int = 100
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """Poisson GLM with log link by iteratively reweighted least squares.

    ``start`` (positive fitted means, e.g. from a smaller model) warm-starts the iterations.
    Returns the coefficients, the inverse Fisher information ``(X' W X)^{-1}`` and the deviance.
    """
    mu = y + 0.5 if start is None else start
    eta = np.log(mu)
    dev_old = np.inf
    for _ in range(max_iter):
        z = eta + (y - mu) / mu
        xtw = x.T * mu
        beta = np.linalg.solve(xtw @ x, xtw @ z)
        eta = x @ beta
        mu = np.exp(eta)
        dev = _deviance(y, mu)
        if abs(dev - dev_old) <= tol * (abs(dev) + 0.1):
            break
        dev_old = dev
    cov = np.linalg.inv((x.T * mu) @ x)
    return beta, cov, dev


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(2.0 * np.sum(term - (y - mu)))


def fit_model(histories: np.ndarray, counts: np.ndarray, terms: tuple[Term, ...],
              start: LoglinearFit | None = None) -> LoglinearFit:
    """Fit the log-linear model with main effects and the given two-list ``terms``.

    ``start``: a fit of a smaller model whose fitted means warm-start the iterations.
    """
    keep, x, empty = design(histories, counts, terms)
    mu0 = None
    if start is not None:
        full = np.zeros(histories.shape[0])
        full[start.keep] = start.fitted
        mu0 = full[keep]
        if not np.all(mu0 > 0):
            mu0 = None
    beta, cov, dev = irls_poisson(x, counts[keep], start=mu0)
    return LoglinearFit(
        terms=tuple(terms), empty_terms=empty, keep=keep, beta=beta,
        intercept_se=float(np.sqrt(cov[0, 0])), fitted=np.exp(x @ beta), deviance=dev,
        n_params=x.shape[1] + len(empty),
    )


def check_model(histories: np.ndarray, counts: np.ndarray, terms: tuple[Term, ...]) -> int:
    """SparseMSE's ``checkident`` code: 0 ok, 1 the MLE does not exist, 2 not identifiable, 3 both.

    Both properties depend on the data only through which cells are non-empty, so the result
    is cached on that pattern.
    """
    support = counts > 0
    return _check_cached(histories.shape[1], tuple(terms), support.tobytes())


@lru_cache(maxsize=4096)
def _check_cached(t: int, terms: tuple[Term, ...], support_bytes: bytes) -> int:
    from ._tables import all_histories

    hist = all_histories(t)
    support = np.frombuffer(support_bytes, dtype=bool).astype(float)
    keep, x, _ = design(hist, support, terms)
    y = support[keep]
    rank_deficient = np.linalg.matrix_rank(x) < x.shape[1]
    return int(not _mle_exists(x, y)) + 2 * int(rank_deficient)


def _mle_exists(x: np.ndarray, y: np.ndarray) -> bool:
    """Fienberg–Rinaldo linear program: is ``X'y`` in the relative interior of cone(X')?

    Maximise ``s`` subject to ``X' v = X' y``, ``v >= s``, ``s >= 0``; the (extended) MLE
    exists with all fitted means positive iff the optimum is positive.
    """
    if np.all(y > 0):
        return True
    if _converges(x, y):
        return True
    n, p = x.shape
    a_eq = np.hstack([x.T, np.zeros((p, 1))])
    b_eq = x.T @ y
    a_ub = np.hstack([-np.eye(n), np.ones((n, 1))])
    c = np.zeros(n + 1)
    c[-1] = -1.0
    res = optimize.linprog(c, A_ub=a_ub, b_ub=np.zeros(n), A_eq=a_eq, b_eq=b_eq,
                           bounds=[(0, None)] * (n + 1), method="highs")
    return bool(res.status == 0 and -res.fun > 1e-9)


def _converges(x: np.ndarray, y: np.ndarray, max_iter: int = 25) -> bool:
    """Quick sufficient check of existence: Newton reaches a finite, strictly positive fit.

    A fit with score ``X'(y - mu)`` near zero and every ``mu`` well above zero is a strictly
    positive solution of ``X'v = X'y``, so the linear program need not be solved.
    """
    mu = y + 0.5
    eta = np.log(mu)
    scale = max(float(np.abs(x.T @ y).max()), 1.0)
    for _ in range(max_iter):
        xtw = x.T * mu
        try:
            beta = np.linalg.solve(xtw @ x, xtw @ (eta + (y - mu) / mu))
        except np.linalg.LinAlgError:
            return False
        eta = x @ beta
        if eta.max() > 50:
            return False
        mu = np.exp(eta)
        if np.abs(x.T @ (y - mu)).max() < 1e-10 * scale:
            return bool(mu.min() > 1e-4)
    return False


def overlap_pvalues(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """One-sided Poisson p-values of overlap totals: ``min(P(X <= n), P(X >= n))``."""
    lower = special.pdtr(observed, expected)
    upper = np.where(observed > 0, special.pdtrc(np.maximum(observed - 1, 0), expected), 1.0)
    return np.minimum(lower, upper)


def stepwise(histories: np.ndarray, counts: np.ndarray, pthresh: float = 0.02
             ) -> tuple[LoglinearFit, list[tuple[Term, float]]]:
    """SparseMSE's forward stepwise selection of two-list terms.

    At each step the candidate with the smallest p-value among those whose enlarged model
    passes [`check_model`][check_model] enters, if that p-value is below ``pthresh`` (ties: the first
    pair in list order). Returns the final fit and the entry path ``[(term, p_value), ...]``.
    """
    t = histories.shape[1]
    h = histories.astype(float)
    pairs = _pairs(t)
    both = np.column_stack([h[:, i] * h[:, j] for i, j in pairs])  # cells x pairs
    n_star = counts @ both
    terms: tuple[Term, ...] = ()
    fit = fit_model(histories, counts, terms)
    path: list[tuple[Term, float]] = []
    included = np.zeros(len(pairs), dtype=bool)
    while pthresh > 0 and not included.all():
        mu_full = np.zeros(histories.shape[0])
        mu_full[fit.keep] = fit.fitted
        pvals = np.where(included, 1.0, overlap_pvalues(n_star, mu_full @ both))
        chosen = -1
        for k in np.argsort(pvals, kind="stable"):
            if pvals[k] >= pthresh:
                break
            if check_model(histories, counts, terms + (pairs[k],)) == 0:
                chosen = int(k)
                break
        if chosen < 0:
            break
        terms = terms + (pairs[chosen],)
        included[chosen] = True
        path.append((pairs[chosen], float(pvals[chosen])))
        fit = fit_model(histories, counts, terms, start=fit)
    return fit, path


def population_estimate(histories: np.ndarray, counts: np.ndarray, model: str,
                        pthresh: float) -> float:
    """Point estimate of the total (observed + dark figure) under ``model``."""
    if model == "independence":
        fit = fit_model(histories, counts, ())
    else:
        fit, _ = stepwise(histories, counts, pthresh)
    return float(counts.sum() + fit.dark)


def bootstrap_totals(histories: np.ndarray, counts: np.ndarray, model: str, pthresh: float,
                     n_boot: int, rng: np.random.Generator, progress: bool = False
                     ) -> np.ndarray:
    """Totals re-estimated (model selection included) on multinomial resamples of the counts.

    As in SparseMSE's ``estimatepopulation``: the observed total is fixed and the cases are
    resampled over the observed histories. ``progress`` shows a bar of the resamples.
    """
    n = int(round(counts.sum()))
    samples = rng.multinomial(n, counts / counts.sum(), size=n_boot).astype(float)
    totals = np.empty(n_boot)
    with progress_bar(n_boot, desc="Bootstrap (model selection re-run)", unit="resample",
                      progress=progress) as bar:
        for b, sample in enumerate(samples):
            totals[b] = population_estimate(histories, sample, model, pthresh)
            bar.update(1)
    return totals


def bca_interval(boot: np.ndarray, estimate: float, histories: np.ndarray, counts: np.ndarray,
                 model: str, pthresh: float, level: float) -> tuple[float, float, float]:
    """BCa limits (DiCiccio & Efron 1996) with the jackknife acceleration over cases.

    The jackknife deletes one case of each observed history in turn; each deletion is
    weighted by the count of its history. Returns ``(lower, upper, acceleration)``.
    """
    jack = np.zeros(counts.size)
    for c in np.flatnonzero(counts > 0):
        reduced = counts.copy()
        reduced[c] -= 1
        jack[c] = population_estimate(histories, reduced, model, pthresh)
    w = counts / counts.sum()
    resid = w @ jack - jack
    denom = 6.0 * (counts @ resid**2) ** 1.5
    accel = float(counts @ resid**3 / denom) if denom > 0 else 0.0
    z0 = stats.norm.ppf(np.mean(boot < estimate))
    za = stats.norm.ppf([(1 - level) / 2, (1 + level) / 2])
    shifted = z0 + za
    probs = stats.norm.cdf(z0 + shifted / (1 - accel * shifted))
    lower, upper = _quantile_type8(boot, probs)
    return float(lower), float(upper), accel


def _quantile_type8(x: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Sample quantiles by Hyndman & Fan's type 8 (R's ``quantile(type = 8)``)."""
    xs = np.sort(x)
    n = xs.size
    h = (n + 1.0 / 3.0) * np.asarray(probs) + 1.0 / 3.0
    lo = np.clip(np.floor(h).astype(int), 1, n)
    hi = np.clip(lo + 1, 1, n)
    frac = np.clip(h - np.floor(h), 0.0, 1.0)
    frac = np.where(h < 1, 0.0, np.where(h >= n, 0.0, frac))
    return xs[lo - 1] + frac * (xs[hi - 1] - xs[lo - 1])
