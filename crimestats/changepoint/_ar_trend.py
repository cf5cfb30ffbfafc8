"""Engine of the trend segment models: piecewise linear means, AR(1) errors.

Private engine below [`segments.trend`][crimestats.changepoint.segments.trend] (real values),
[`segments.log_trend`][crimestats.changepoint.segments.log_trend] (positive values) and
[`segments.count_trend`][crimestats.changepoint.segments.count_trend] (counts on the log
scale). On a working scale $z_t$ with relative precisions $w_t$ (1 for real values),
observation $t$ of a segment is

$$
z_t = \\mu(\\tau_t) + \\varepsilon_t / \\sqrt{w_t}, \\qquad
\\varepsilon_t = \\phi\\,\\varepsilon_{t-1} + \\eta_t, \\quad \\eta_t \\sim N(0, \\sigma^2),
$$

with $\\tau_t = (t + \\tfrac12)/n - \\tfrac12$ (time as a fraction of the series, centred) and
the AR(1) process starting afresh, stationary, at the first observation of each segment (so
segments are independent given the hyperparameters, as the product-partition recursion
needs).

**The mean of a segment.** The series has a *common trend* $b\\tau$ (a hyperparameter, see
below). Each segment follows it with a level of its own ($\\mu = a + b\\tau$, prior probability
½) or changes its slope ($\\mu = a + b\\tau + \\delta(\\tau - \\tau_m)$, ½), and its marginal
likelihood is the average of the two — still a product partition, so the recursion stays
exact. A change point is therefore a jump in level, a change of trend, or both, and a series
that rises steadily is one segment on its trend, not a staircase.

**Exact given the hyperparameters.** Given $\\phi$ and $b$ the errors are whitened exactly
(Prais–Winsten: the first observation of a segment is scaled by $\\sqrt{1-\\phi^2}$, later
ones are $\\varepsilon_t - \\phi^{g}\\varepsilon_{t-g}$ over a gap of $g$ periods, scaled to
unit variance), which makes each component a conjugate Bayesian regression with a
normal–inverse-gamma prior:

* $\\sigma^2 \\sim \\mathrm{IG}(\\alpha_0, (\\alpha_0 - 1)s^2_\\phi)$ per segment, centred on the
  innovation variance $s^2_\\phi = 1 + \\phi$ implied by the robust scale of first differences
  (the working scale is standardised so that it is 1 at $\\phi = 0$), $\\alpha_0 = 2$;
* the level at the segment's midpoint $\\tau_m$, $a \\sim N(0, v)$, and the change of slope
  $\\delta \\sim N(0, 12v)$ (a change spanning the spread over the whole series is one prior
  SD), times $\\sigma^2/s^2_\\phi$, with $v = \\max(v_{\\min}, \\mathrm{var}(z - b\\tau))$ the
  spread of the series about its trend, floored at $v_{\\min} = 9$ (``LEVEL_FLOOR``, in units
  of the noise variance: a new segment's level has a prior SD of at least three noise SDs).

Each segment's statistics are sums of whitened rows (the first row of the segment plus a
cumulative sum of the others), so its marginal likelihood costs $O(1)$.

**Hyperparameters.** $\\phi$ is integrated over a grid
([`AR_GRID`][crimestats.changepoint._ar_trend.AR_GRID]) and the common trend over its
reference values ([`reference_trends`][crimestats.changepoint._ar_trend.reference_trends]):
none, three least-squares lines and, in series of 40 periods or more, a least-squares bent
trend ([`curved_trend`][crimestats.changepoint._ar_trend.curved_trend]; its bend is taken off
the series before the statistics are built) — the recursion runs at each node and weighs the
nodes by their evidence.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import special

__all__ = ["AR_GRID", "LEVEL_FLOOR", "build_stats", "trend_logml", "trend_cost",
           "segment_fits", "SegmentFits", "hyperparameters", "reference_trends",
           "curved_trend", "curvature_basis"]

#: Autocorrelations integrated over.
AR_GRID = np.array([0.0, 0.2, 0.4, 0.6, 0.75, 0.9])
#: Floor of the prior variance of a segment's level, in units of the noise variance.
LEVEL_FLOOR = 9.0

# statistics of a set of whitened rows: count, yy, y·x0, y·x1, x0·x0, x0·x1, x1·x1, log Jacobian
_NCOL = 8
_FIRST = _NCOL            # columns of the first row of a segment starting at each index
_NEXT = 2 * _NCOL         # column of the first observed index at or after each row


def _row_stats(u: np.ndarray, x: np.ndarray, logjac: np.ndarray) -> np.ndarray:
    """Per-row statistics ``(1, u², u·x0, u·x1, x0x0, x0x1, x1x1, lj)``."""
    x0, x1 = x
    return np.column_stack([np.ones(u.size), u * u, u * x0, u * x1, x0 * x0, x0 * x1, x1 * x1,
                            logjac])


def reference_trends(z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The series' own trend, fitted three ways: with no change, a step, or a change of trend.

    Returns the slopes $b$ (of $b\\tau$) of three weighted least-squares fits of the whole
    series — a straight line alone, with the one step, and with the one change of slope (a
    hinge $(\\tau - \\tau_k)_+$), that most reduce the residual sum of squares — and their
    sampling variances (inflated by $(1 + r_1)/(1 - r_1)$ for the lag-1 autocorrelation $r_1$
    of the residuals). A change biases the first fit (a rise after a step looks like a
    steeper trend); the others do not, so between them they cover each explanation of a rise.
    The step and the hinge are not part of the returned trend: the recursion must find them.
    Fits that agree are kept once.
    """
    n = z.shape[0]
    obs = np.isfinite(z)
    tau = ((np.arange(n) + 0.5) / n - 0.5)[obs]
    zz, sw = z[obs], np.sqrt(w[obs])
    m = zz.size
    if m < 7:
        return np.zeros(1), np.zeros(1)
    base = np.column_stack([np.ones(m), tau])

    def fit(design: np.ndarray) -> tuple[float, float]:
        xw, yw = design * sw[:, None], zz * sw
        coef, *_ = np.linalg.lstsq(xw, yw, rcond=None)
        resid = yw - xw @ coef
        rss = float(resid @ resid)
        r1 = float(np.clip(np.sum(resid[1:] * resid[:-1]) / max(rss, 1e-300), 0.0, 0.9))
        s2 = rss / max(m - design.shape[1], 1) * (1 + r1) / (1 - r1)
        return float(coef[1]), float(s2 * np.linalg.pinv(xw.T @ xw)[1, 1])

    xw, yw = base * sw[:, None], zz * sw
    q, _ = np.linalg.qr(xw)
    resid = yw - q @ (q.T @ yw)
    fits = [fit(base)]
    index = np.arange(m)
    for kind, change in (("step", lambda k: (index >= k).astype(float)),
                         ("hinge", lambda k: np.maximum(tau - tau[k], 0.0))):
        arg = _best_change(kind, tau, sw, q, resid)
        if arg >= 0:
            candidate = fit(np.column_stack([base, change(arg)]))
            if not any(math.isclose(candidate[0], f[0], rel_tol=1e-6, abs_tol=1e-9)
                       for f in fits):
                fits.append(candidate)
    return np.array([f[0] for f in fits]), np.array([f[1] for f in fits])


def _best_change(kind: str, tau: np.ndarray, sw: np.ndarray, q: np.ndarray,
                 resid: np.ndarray) -> int:
    """The step (``kind="step"``) or hinge that most reduces the residual sum of squares of the
    weighted line, over the starts ``2 .. m - 3``; -1 when none does.

    Adding column $c$ to the line reduces the residual sum of squares by
    $(c^\\top r)^2 / \\lVert c - QQ^\\top c \\rVert^2$ ($Q$ the orthonormal basis of the line,
    $r$ its residuals, orthogonal to $Q$). For a step or a hinge starting at $k$ every inner
    product is a sum over $i \\ge k$, so all starts cost one reversed cumulative sum each: $O(m)$.
    """
    m = tau.size
    starts = np.arange(2, m - 2)
    if starts.size == 0:
        return -1

    def tail(v: np.ndarray) -> np.ndarray:            # sum over i >= k, at each start k
        return np.cumsum(v[::-1])[::-1][starts]

    w2 = sw * sw
    if kind == "step":
        def dot(v: np.ndarray) -> np.ndarray:
            return tail(sw * v)
        norm2 = tail(w2)
    else:
        tk = tau[starts]

        def dot(v: np.ndarray) -> np.ndarray:
            return tail(sw * tau * v) - tk * tail(sw * v)
        norm2 = tail(w2 * tau * tau) - 2.0 * tk * tail(w2 * tau) + tk * tk * tail(w2)
    denom = norm2 - sum(dot(q[:, j]) ** 2 for j in range(q.shape[1]))
    usable = denom > 1e-12 * norm2
    gain = np.where(usable, dot(resid) ** 2 / np.where(usable, denom, 1.0), 0.0)
    best = int(np.argmax(gain))
    return int(starts[best]) if gain[best] > 0.0 else -1


def curvature_basis(n: int) -> np.ndarray:
    """$\\tau_t^2 - 1/12$: the bend of a trend, centred like $\\tau_t$ (mean 0 over the series)."""
    tau = (np.arange(n) + 0.5) / n - 0.5
    return tau * tau - 1.0 / 12.0


def curved_trend(z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The series' trend fitted with a bend: ``(b, c)`` of $b\\tau + c(\\tau^2 - 1/12)$ and
    their sampling variances (inflated for the lag-1 autocorrelation of the residuals, as in
    [`reference_trends`][crimestats.changepoint._ar_trend.reference_trends]); None when the
    series is too short to fit it."""
    n = z.shape[0]
    obs = np.isfinite(z)
    if obs.sum() < 9:
        return None
    tau = ((np.arange(n) + 0.5) / n - 0.5)[obs]
    design = np.column_stack([np.ones(tau.size), tau, curvature_basis(n)[obs]])
    sw = np.sqrt(w[obs])
    xw, yw = design * sw[:, None], z[obs] * sw
    coef, *_ = np.linalg.lstsq(xw, yw, rcond=None)
    resid = yw - xw @ coef
    rss = float(resid @ resid)
    r1 = float(np.clip(np.sum(resid[1:] * resid[:-1]) / max(rss, 1e-300), 0.0, 0.9))
    s2 = rss / max(tau.size - 3, 1) * (1 + r1) / (1 - r1)
    cov = s2 * np.linalg.pinv(xw.T @ xw)
    return coef[1:], np.diag(cov)[1:]


def build_stats(z: np.ndarray, w: np.ndarray, phi: float) -> np.ndarray:
    """Statistics table ``(n + 1, 17)`` of the whitened rows at autocorrelation ``phi``.

    Columns 0–7: cumulative sums of the *regular* rows (observation minus ``phi^g`` times the
    previous observation, over a gap of ``g``); columns 8–15: the *first* row of a segment
    starting at each observation (row ``n`` zero); column 16: the first observed index at or
    after each row (``n`` when none). ``z`` is NaN where unobserved. Regressors: 1 and τ.
    """
    n = z.shape[0]
    obs = np.isfinite(z)
    idx = np.flatnonzero(obs)
    tau = (np.arange(n) + 0.5) / n - 0.5
    sw = np.where(obs, np.sqrt(w), 0.0)
    u = sw * np.where(obs, z, 0.0)
    x = np.vstack([sw, sw * tau])
    st = np.zeros((n + 1, 2 * _NCOL + 1))

    c = math.sqrt(1.0 - phi * phi)
    st[idx, _FIRST:_FIRST + _NCOL] = _row_stats(
        c * u[idx], c * x[:, idx], np.full(idx.size, 0.5 * math.log(1.0 - phi * phi)))

    if idx.size > 1:
        cur, prev = idx[1:], idx[:-1]
        g = (cur - prev).astype(float)
        pg = phi ** g
        cg = np.ones_like(g) if phi == 0.0 else (1.0 - phi ** (2 * g)) / (1.0 - phi * phi)
        r = 1.0 / np.sqrt(cg)
        rows = np.zeros((n, _NCOL))
        rows[cur] = _row_stats((u[cur] - pg * u[prev]) * r, (x[:, cur] - pg * x[:, prev]) * r,
                               -0.5 * np.log(cg))
        np.cumsum(rows, axis=0, out=st[1:, :_NCOL])

    nxt = np.full(n + 1, n, dtype=float)
    nxt[idx] = idx
    nxt[:n] = np.minimum.accumulate(nxt[:n][::-1])[::-1]
    st[:, _NEXT] = nxt
    return np.ascontiguousarray(st)


def hyperparameters(phi: float, detrended: float, alpha0: float, n: int,
                    slope: float = 0.0) -> np.ndarray:
    """Kernel parameters ``(alpha0, beta0, v, 12 v, log w_level, log w_slope, n, b)``.

    $v$ is the prior variance of a segment's level (and, times 12, of a change of slope) per
    unit innovation variance: the spread of the series about its common trend, floored at
    ``LEVEL_FLOOR``.
    """
    s2 = 1.0 + phi
    v = max(detrended, LEVEL_FLOOR) / s2
    return np.array([alpha0, (alpha0 - 1.0) * s2, v, 12.0 * v, math.log(0.5), math.log(0.5),
                     float(n), slope])


def trend_logml(prm, st, s, t):
    """Log marginal likelihood of (s, t]: the common trend with a level, or with a new slope."""
    f = int(st[s, 16])
    if f >= t:
        return 0.0
    k = st[f, 8] + st[t, 0] - st[f + 1, 0]
    yy = st[f, 9] + st[t, 1] - st[f + 1, 1]
    r0 = st[f, 10] + st[t, 2] - st[f + 1, 2]
    r1 = st[f, 11] + st[t, 3] - st[f + 1, 3]
    a00 = st[f, 12] + st[t, 4] - st[f + 1, 4]
    a01 = st[f, 13] + st[t, 5] - st[f + 1, 5]
    a11 = st[f, 14] + st[t, 6] - st[f + 1, 6]
    lj = st[f, 15] + st[t, 7] - st[f + 1, 7]
    a0 = prm[0]
    b0 = prm[1]
    va = prm[2]
    vb = prm[3]
    b = prm[7]
    an = a0 + 0.5 * k
    common = (-0.5 * k * math.log(2.0 * math.pi) + a0 * math.log(b0) - math.lgamma(a0)
              + math.lgamma(an) + lj)
    # on the common trend: regress z - b tau on a level
    yyc = yy - 2.0 * b * r1 + b * b * a11
    r0c = r0 - b * a01
    p00 = 1.0 / va + a00
    bn = b0 + 0.5 * (yyc - r0c * r0c / p00)
    if bn < 1e-300:
        bn = 1e-300
    level = common - 0.5 * math.log(va * p00) - an * math.log(bn) + prm[4]
    if k < 3.0:
        return level
    # the common trend with its slope changed: (level, slope change) of z - b tau
    r1c = r1 - b * a11
    tm = (s + t) / (2.0 * prm[6]) - 0.5
    q00 = 1.0 / va + a00
    q01 = tm / va + a01
    q11 = tm * tm / va + 1.0 / vb + a11
    det = q00 * q11 - q01 * q01
    quad = (q11 * r0c * r0c - 2.0 * q01 * r0c * r1c + q00 * r1c * r1c) / det
    bn = b0 + 0.5 * (yyc - quad)
    if bn < 1e-300:
        bn = 1e-300
    slope = common - 0.5 * math.log(va * vb * det) - an * math.log(bn) + prm[5]
    top = level if level > slope else slope
    return top + math.log(math.exp(level - top) + math.exp(slope - top))


def trend_cost(prm, st, s, t):
    """Twice the negative maximised log-likelihood of (s, t]: least-squares line, own variance.

    The whitened regression's residual variance is floored at 0.01 (1% of the robust noise
    variance), as for the normal model.
    """
    f = int(st[s, 16])
    if f >= t:
        return 0.0
    k = st[f, 8] + st[t, 0] - st[f + 1, 0]
    yy = st[f, 9] + st[t, 1] - st[f + 1, 1]
    r0 = st[f, 10] + st[t, 2] - st[f + 1, 2]
    r1 = st[f, 11] + st[t, 3] - st[f + 1, 3]
    a00 = st[f, 12] + st[t, 4] - st[f + 1, 4]
    a01 = st[f, 13] + st[t, 5] - st[f + 1, 5]
    a11 = st[f, 14] + st[t, 6] - st[f + 1, 6]
    lj = st[f, 15] + st[t, 7] - st[f + 1, 7]
    det = a00 * a11 - a01 * a01
    if k >= 3.0 and det > 1e-12 * (a00 * a11 + 1e-300):
        rss = yy - (a11 * r0 * r0 - 2.0 * a01 * r0 * r1 + a00 * r1 * r1) / det
    else:
        rss = yy - r0 * r0 / a00
    sig = rss / k
    if sig < 1e-2:
        sig = 1e-2
    return k * (math.log(2.0 * math.pi) + math.log(sig) + 1.0) - 2.0 * lj


@dataclasses.dataclass(frozen=True)
class SegmentFits:
    """Posterior of each segment's line on the working scale (its more probable component).

    ``mean`` ``(m, 2)``: level and slope of $(1, \\tau)$ (the slope includes the common
    trend), ``cov`` ``(m, 2, 2)``: their posterior covariance divided by the noise variance
    (the common trend counted as known), ``an``/``bn``: the inverse-gamma posterior of the
    noise variance, ``prob_slope``: the posterior probability that the segment changes its
    slope, ``on_trend``: whether the more probable component is the common trend.
    """

    mean: np.ndarray
    cov: np.ndarray
    an: np.ndarray
    bn: np.ndarray
    prob_slope: np.ndarray
    on_trend: np.ndarray


def segment_fits(prm: np.ndarray, st: np.ndarray, starts: np.ndarray, ends: np.ndarray
                 ) -> SegmentFits:
    """Posterior of the line of each segment ``(starts[j], ends[j]]``."""
    a0, b0, va, vb, lw0, lw1, n, b = prm[:8]
    m = starts.size
    mean = np.zeros((m, 2))
    cov = np.zeros((m, 2, 2))
    an = np.full(m, a0)
    bn = np.full(m, b0)
    prob = np.zeros(m)
    on_trend = np.ones(m, dtype=bool)
    for j, (s, t) in enumerate(zip(starts, ends, strict=True)):
        mean[j, 1] = b
        f = int(st[s, _NEXT])
        if f >= t:
            cov[j, 0, 0] = va
            continue
        row = st[f, _FIRST:_FIRST + _NCOL] + st[t, :_NCOL] - st[f + 1, :_NCOL]
        k, yy = row[0], row[1]
        xtx = np.array([[row[4], row[5]], [row[5], row[6]]])
        rc = row[2:4] - xtx[:, 1] * b                 # statistics of z - b tau
        yc = yy - 2.0 * b * row[3] + b * b * row[6]
        tm = (s + t) / (2.0 * n) - 0.5
        binv = np.array([[1.0, 0.0], [tm, 1.0]])      # local (1, tau - tm) to (1, tau)
        scores, fits = [], []
        for d, vprior, lw in ((1, [va], lw0), (2, [va, vb], lw1)):
            if d == 2 and k < 3:
                break
            bb = binv[:d, :d]
            prec = bb @ np.diag(1.0 / np.array(vprior)) @ bb.T + xtx[:d, :d]
            c = np.linalg.inv(prec)
            mu = c @ rc[:d]
            bq = max(b0 + 0.5 * (yc - rc[:d] @ mu), 1e-300)
            scores.append(-0.5 * (np.sum(np.log(vprior)) + np.linalg.slogdet(prec)[1])
                          - (a0 + 0.5 * k) * np.log(bq) + lw)
            fits.append((mu, c, bq))
        sc = np.array(scores)
        p = np.exp(sc - special.logsumexp(sc))
        q = int(np.argmax(sc))
        mu, c, bq = fits[q]
        mean[j, :q + 1] += mu
        cov[j, :q + 1, :q + 1] = c
        an[j], bn[j] = a0 + 0.5 * k, bq
        prob[j] = p[1] if p.size > 1 else 0.0
        on_trend[j] = q == 0
    return SegmentFits(mean, cov, an, bn, prob, on_trend)
