"""Year-to-year variability of count series: extra-Poisson variance and its autocorrelation.

Model, for series $s$ and period $t$: $E y_{st} = \\mu_{st}$ (a smooth trend in time, with
the exposure as offset) and relative errors
$\\varepsilon_{st} = (y_{st} - \\mu_{st})/\\mu_{st}$ with

$$
\\operatorname{Var}(\\varepsilon_{st}) = 1/\\mu_{st} + \\kappa, \\qquad
\\operatorname{Cov}(\\varepsilon_{st}, \\varepsilon_{s,t+h}) = \\kappa\\rho^{|h|}
$$

(Poisson noise plus a lognormal-like extra variation of squared coefficient of variation
$\\kappa$ that may persist from one period to the next, AR(1) with $\\rho$). With
$\\rho = 0$ this is the negative binomial (NB2) variance $\\mu + \\kappa\\mu^2$.

Estimation by moments, accounting exactly (to first order) for the detrending: the detrended
errors are $e = M\\varepsilon$ with $M = \\Delta^2$ (second differences of the log rates,
which remove any locally linear trend; the default) or
$M = I - X(X^\\top W X)^{-1}X^\\top W$, $W = \\operatorname{diag}(\\hat\\mu)$ (relative
residuals of a Poisson log-linear polynomial trend), so

$$
E\\, e^\\top e = \\operatorname{tr}(M D M^\\top) + \\kappa \\operatorname{tr}(M \\Sigma_\\rho M^\\top),
\\qquad
E\\, e^\\top L e = \\operatorname{tr}(L M D M^\\top) + \\kappa \\operatorname{tr}(L M \\Sigma_\\rho M^\\top),
$$

with $D = \\operatorname{diag}(1/\\hat\\mu)$, $\\Sigma_\\rho = (\\rho^{|i-j|})$ and $L$ the
lag-one matrix. Summed over the series of a group, the two equations give $\\rho$ (a root
on $[-0.5, 0.95]$) and $\\kappa \\ge 0$; the trace terms remove the bias that fitting the
trend puts into naive residual variances and autocorrelations. Private module.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Variability", "estimate_variability", "ar1_correlation"]

_IRLS_STEPS = 50
_RHO_GRID = np.linspace(-0.5, 0.95, 146)


@dataclasses.dataclass(frozen=True)
class Variability:
    """Per-series extra-Poisson variance and degrees of freedom, under the estimated lag-one
    autocorrelation ``rho`` (``kappa``, ``df``) and under independence (``kappa0``, ``df0``)."""

    kappa: np.ndarray
    rho: np.ndarray
    df: np.ndarray
    kappa0: np.ndarray
    df0: np.ndarray


def ar1_correlation(size: int, rho: float) -> np.ndarray:
    """The AR(1) correlation matrix $(\\rho^{|i-j|})$."""
    lag = np.abs(np.subtract.outer(np.arange(size), np.arange(size)))
    with np.errstate(invalid="ignore"):
        return np.where(lag == 0, 1.0, float(rho) ** lag)


def _trend(y: np.ndarray, n: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Fitted means of a Poisson log-linear polynomial trend per row, and the design."""
    s, t = y.shape
    design = np.vander(np.linspace(-1.0, 1.0, t), degree + 1, increasing=True)
    offset = np.log(n)
    rate = (y.sum(axis=1) + 0.5) / n.sum(axis=1)
    beta = np.zeros((s, degree + 1))
    beta[:, 0] = np.log(rate)
    for _ in range(_IRLS_STEPS):
        eta = np.clip(beta @ design.T + offset, -700, 700)
        mu = np.exp(eta)
        z = eta - offset + (y - mu) / mu
        xtwx = np.einsum("tp,st,tq->spq", design, mu, design)
        xtwz = np.einsum("tp,st->sp", design, mu * z)
        new = np.linalg.solve(xtwx + 1e-12 * np.eye(degree + 1), xtwz[..., None])[..., 0]
        done = np.max(np.abs(new - beta)) < 1e-10
        beta = new
        if done:
            break
    return np.exp(np.clip(beta @ design.T + offset, -700, 700)), design


def _detrended(y: np.ndarray, n: np.ndarray, trend: int | str
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detrended relative errors $e = M\\varepsilon$, the operators $M$ and the means.

    ``trend`` an integer $d$: relative residuals of a Poisson log-linear polynomial trend of
    degree $d$, $M = I - X(X^\\top W X)^{-1}X^\\top W$; ``"local"``: second differences of
    the log rates, $M = \\Delta^2$, which remove any locally linear trend.
    """
    s, t = y.shape
    if trend == "local":
        mu, _ = _trend(y, n, min(2, t - 2))
        diff = np.diff(np.eye(t), n=2, axis=0)
        m = np.broadcast_to(diff, (s, t - 2, t))
        return np.log((y + 0.5) / n) @ diff.T, m, mu
    mu, x = _trend(y, n, int(trend))
    xtwx = np.einsum("tp,st,tq->spq", x, mu, x)
    hat = np.einsum("tp,spq,uq,su->stu", x, np.linalg.inv(xtwx), x, mu)
    return (y - mu) / mu, np.eye(t)[None] - hat, mu


def estimate_variability(y: np.ndarray, n: np.ndarray, trend: int | str,
                         groups: np.ndarray | None, pooled: bool,
                         rho: float | None = None) -> Variability:
    """Moment estimates of $\\kappa$ (per series, or pooled within groups) and $\\rho$.

    ``groups`` labels the series pooled together (None: all one group); $\\rho$ is always
    estimated from a whole group (around a quadratic trend when ``trend="local"``: second
    differences leave too little of the autocorrelation to estimate it well). With ``pooled`` every series gets its group's $\\kappa$;
    otherwise its own estimate, but never less than its group's (a series is not assumed
    steadier than the series it is pooled with). ``rho`` fixes the autocorrelation. The
    degrees of freedom are Satterthwaite's for the quadratic form,
    $\\operatorname{tr}(A)^2/\\operatorname{tr}(A^2)$ with $A = M\\Sigma_\\rho M^\\top$ (summed
    over the series when pooled): $T - d - 1$ for independent periods around a polynomial,
    fewer when they are autocorrelated or differenced.
    """
    s, t = y.shape
    groups = np.zeros(s, dtype=int) if groups is None else np.asarray(groups)
    e, m, mu = _detrended(y, n, trend)
    q0, q1, p0, p1, gram, lagged = _moments(e, m, mu)
    # the autocorrelation is better estimated around a polynomial trend (differencing leaves
    # little of it to see); the variance is estimated from the detrending asked for
    rho_moments = (_moments(*_detrended(y, n, 2)) if trend == "local" and t >= 6
                   else (q0, q1, p0, p1, gram, lagged))
    out = {name: np.zeros(s) for name in ("kappa", "df", "kappa0", "df0", "rho")}
    for g in np.unique(groups):
        sel = groups == g
        rq0, rq1, rp0, rp1, rgram, rlagged = (x[sel] for x in rho_moments)
        r_hat = _solve_rho(rq0.sum() - rp0.sum(), rq1.sum() - rp1.sum(), rgram.sum(axis=0),
                           rlagged.sum(axis=0)) if rho is None else float(rho)
        out["rho"][sel] = r_hat
        for suffix, r in (("", r_hat), ("0", 0.0)):
            corr = ar1_correlation(t, r)
            a = np.einsum("sij,jk,slk->sil", m[sel], corr, m[sel], optimize=True)  # M S M'
            trace = np.einsum("sii->s", a)
            trace2 = np.einsum("sij,sji->s", a, a)
            group_kappa = max(0.0, (q0[sel].sum() - p0[sel].sum()) / trace.sum())
            if pooled:
                out["kappa" + suffix][sel] = group_kappa
                out["df" + suffix][sel] = trace.sum() ** 2 / trace2.sum()
            else:
                out["kappa" + suffix][sel] = np.maximum(group_kappa, (q0[sel] - p0[sel]) / trace)
                out["df" + suffix][sel] = trace**2 / trace2
    return Variability(out["kappa"], out["rho"], out["df"], out["kappa0"], out["df0"])


def _moments(e: np.ndarray, m: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per series: $e^\\top e$, $e^\\top L e$, their Poisson parts
    $\\operatorname{tr}(MDM^\\top)$, $\\operatorname{tr}(LMDM^\\top)$, and $M^\\top M$, $M^\\top L M$."""
    lag = np.eye(e.shape[1], k=-1)
    md = m / mu[:, None, :]
    return ((e**2).sum(axis=1), (e[:, 1:] * e[:, :-1]).sum(axis=1),
            np.einsum("stu,stu->s", md, m), np.einsum("tu,suv,stv->s", lag, md, m),
            np.einsum("sti,stj->sij", m, m), np.einsum("sti,tu,suj->sij", m, lag, m))


def _diagonal_sums(matrix: np.ndarray) -> np.ndarray:
    """$g_h = \\sum_{|i-j| = h} A_{ij}$, so that $\\sum_{ij} A_{ij}\\rho^{|i-j|} = \\sum_h g_h \\rho^h$."""
    t = matrix.shape[0]
    return np.array([np.trace(matrix) if h == 0 else
                     np.trace(matrix, offset=h) + np.trace(matrix, offset=-h)
                     for h in range(t)])


def _solve_rho(extra0: float, extra1: float, gram: np.ndarray, lagged: np.ndarray) -> float:
    """$\\rho$ matching the lag-one to lag-zero ratio of the extra variation (0 if none)."""
    if extra0 <= 0:
        return 0.0
    powers = _RHO_GRID[:, None] ** np.arange(gram.shape[0])[None, :]
    r0 = powers @ _diagonal_sums(gram)
    r1 = powers @ _diagonal_sums(lagged)
    f = extra1 * r0 - extra0 * r1
    sign = np.flatnonzero(np.diff(np.sign(f)) != 0)
    if sign.size == 0:
        return float(_RHO_GRID[np.argmin(np.abs(f))])
    i = sign[0]
    w = f[i] / (f[i] - f[i + 1])
    return float(_RHO_GRID[i] + w * (_RHO_GRID[i + 1] - _RHO_GRID[i]))
