"""Engine of the trend segment models: a polynomial mean per segment, AR(1) errors.

Private engine below [`segments.trend`][crimestats.changepoint.segments.trend] (real values)
and [`segments.count_trend`][crimestats.changepoint.segments.count_trend] (counts on the log
scale). On a working scale $z_t$ with relative precisions $w_t$ (1 for real values),
observation $t$ of a segment is

$$
z_t = \\mu(\\tau_t) + \\varepsilon_t / \\sqrt{w_t}, \\qquad
\\varepsilon_t = \\phi\\,\\varepsilon_{t-1} + \\eta_t, \\quad \\eta_t \\sim N(0, \\sigma^2),
$$

with $\\tau_t = (t + \\tfrac12)/n - \\tfrac12$ (time as a fraction of the series, centred) and
the AR(1) process starting afresh, stationary, at the first observation of each segment (so
segments are independent given $\\phi$, as the product-partition recursion needs). The mean
$\\mu$ of a segment is, with prior probability ⅓ each, *flat* (a level), *linear* (a level
and a trend) or *curved* (a quadratic: a trend that speeds up or slows down), and the
segment's marginal likelihood is the average of the three — still a product partition, so the
recursion stays exact. A smooth curve is therefore one curved segment, not a staircase of
changes; a change point is a jump in level or a change of trend that no single polynomial
explains.

Given $\\phi$ the errors are whitened exactly (Prais–Winsten: the first observation of a
segment is scaled by $\\sqrt{1-\\phi^2}$, later ones are $\\varepsilon_t -
\\phi^{g}\\varepsilon_{t-g}$ over a gap of $g$ periods, scaled to unit variance), which makes
each component a conjugate Bayesian regression with a normal–inverse-gamma prior:

* $\\sigma^2 \\sim \\mathrm{IG}(\\alpha_0, (\\alpha_0 - 1)s^2_\\phi)$ per segment, centred on the
  innovation variance $s^2_\\phi = 1 + \\phi$ implied by the robust scale of first differences
  (the working scale is standardised so that it is 1 at $\\phi = 0$);
* in the basis $(1,\\ \\tau - \\tau_m,\\ (\\tau - \\tau_m)^2 - h^2/12)$ around the segment's
  midpoint $\\tau_m$ ($h$ its length as a fraction of the series), independent normal priors
  with variances $v$, $12v$ and $180v$ times $\\sigma^2/s^2_\\phi$: the level, and a trend or
  a curvature spanning the data's spread over the whole series, are each one prior SD.
  $v = \\max(v_{\\min}, \\mathrm{var}(z))$ is the spread of the data with a floor
  $v_{\\min}$ (``LEVEL_FLOOR``, in units of the noise variance), so that a change must be
  several noise SDs to be worth a new segment.

Each segment's statistics are sums of whitened rows (the first row of the segment plus a
cumulative sum of the others), so its marginal likelihood costs $O(1)$; $\\phi$ is integrated
over a grid by running the recursion at each node ([`AR_GRID`][crimestats.changepoint._ar_trend.AR_GRID]).
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
from scipy import special

__all__ = ["AR_GRID", "LEVEL_FLOOR", "build_stats", "trend_logml", "trend_cost",
           "segment_fits", "SegmentFits", "hyperparameters", "reference_trends"]

#: Autocorrelations integrated over (equal prior weight).
AR_GRID = np.array([0.0, 0.2, 0.4, 0.6, 0.75, 0.9])
#: Floor of the prior variance of a segment's level, in units of the noise variance.
LEVEL_FLOOR = float(os.environ.get("CS_FLOOR", "25"))

# statistics of a set of whitened rows: count, yy, y·x (3), x·x (6 of the 3x3), log Jacobian
_NCOL = 12
_FIRST = _NCOL            # columns of the first row of a segment starting at each index
_NEXT = 2 * _NCOL         # column of the first observed index at or after each row


def _row_stats(u: np.ndarray, x: np.ndarray, logjac: np.ndarray) -> np.ndarray:
    """Per-row statistics ``(1, u², u·x0, u·x1, u·x2, x0x0, x0x1, x0x2, x1x1, x1x2, x2x2, lj)``."""
    x0, x1, x2 = x
    return np.column_stack([np.ones(u.size), u * u, u * x0, u * x1, u * x2, x0 * x0, x0 * x1,
                            x0 * x2, x1 * x1, x1 * x2, x2 * x2, logjac])


def reference_trends(z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The series' own trend, three times: fitted with no change, a step, or a change of trend.

    Returns the coefficients $(b, c)$ of $b\\tau + c\\tau^2$ of three weighted
    least-squares fits of the whole series — a quadratic trend alone, with the one step, and
    with the one change of slope (a hinge $(\\tau - \\tau_k)_+$), that reduces the residual
    sum of squares most — and their sampling covariances (inflated by $(1 + r_1)/(1 - r_1)$
    for the lag-1 autocorrelation $r_1$ of the residuals). A change biases the first fit (a
    rise after a step, or a bend, looks like trend or curvature); the others do not, so between
    them they cover each explanation of a rise, and the recursion at each weighs them by their
    evidence (equal prior weight). The step and the hinge are not part of the returned trend:
    the recursion must find them. Fits that agree are kept once.
    """
    n = z.shape[0]
    obs = np.isfinite(z)
    tau = ((np.arange(n) + 0.5) / n - 0.5)[obs]
    zz, sw = z[obs], np.sqrt(w[obs])
    m = zz.size
    if m < 7:
        return np.zeros((1, 2)), np.zeros((1, 2, 2))
    base = np.column_stack([np.ones(m), tau, tau * tau])
    if os.environ.get("CS_CURV", "1") == "0":
        base = base[:, :2]

    def fit(design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xw, yw = design * sw[:, None], zz * sw
        coef, *_ = np.linalg.lstsq(xw, yw, rcond=None)
        resid = yw - xw @ coef
        rss = float(resid @ resid)
        r1 = float(np.clip(np.sum(resid[1:] * resid[:-1]) / max(rss, 1e-300), 0.0, 0.9))
        s2 = rss / max(m - design.shape[1], 1) * (1 + r1) / (1 - r1)
        cov = s2 * np.linalg.pinv(xw.T @ xw)
        if base.shape[1] == 2:
            return np.r_[coef[1], 0.0], np.diag([cov[1, 1], 0.0])
        return coef[1:3], cov[1:3, 1:3]

    xw, yw = base * sw[:, None], zz * sw
    q, _ = np.linalg.qr(xw)
    resid = yw - q @ (q.T @ yw)
    fits = [fit(base)]
    index = np.arange(m)
    for change in (lambda k: (index >= k).astype(float),                 # a step
                   lambda k: np.maximum(tau - tau[k], 0.0)):             # a change of trend
        best, arg = 0.0, -1
        for k in range(2, m - 2):    # the one that most reduces the residual sum of squares
            col = change(k) * sw
            col_r = col - q @ (q.T @ col)
            denom = float(col_r @ col_r)
            if denom > 1e-12 * float(col @ col):
                gain = float(col_r @ resid) ** 2 / denom
                if gain > best:
                    best, arg = gain, k
        if arg >= 0:
            candidate = fit(np.column_stack([base, change(arg)]))
            if not any(np.allclose(candidate[0], f[0], rtol=1e-6, atol=1e-9) for f in fits):
                fits.append(candidate)
    return np.array([f[0] for f in fits]), np.array([f[1] for f in fits])


def build_stats(z: np.ndarray, w: np.ndarray, phi: float) -> np.ndarray:
    """Statistics table ``(n + 1, 25)`` of the whitened rows at autocorrelation ``phi``.

    Columns 0–11: cumulative sums of the *regular* rows (observation minus ``phi^g`` times the
    previous observation, over a gap of ``g``); columns 12–23: the *first* row of a segment
    starting at each observation (row ``n`` zero); column 24: the first observed index at or
    after each row (``n`` when none). ``z`` is NaN where unobserved. Regressors: 1, τ, τ².
    """
    n = z.shape[0]
    obs = np.isfinite(z)
    idx = np.flatnonzero(obs)
    tau = (np.arange(n) + 0.5) / n - 0.5
    sw = np.where(obs, np.sqrt(w), 0.0)
    u = sw * np.where(obs, z, 0.0)
    x = np.vstack([sw, sw * tau, sw * tau * tau])
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


def hyperparameters(phi: float, spread: float, detrended: float, alpha0: float, n: int,
                    slope: float = 0.0, curvature: float = 0.0) -> np.ndarray:
    """Kernel parameters of one node.

    ``(alpha0, beta0, v, 12 v, 180 V, log w_common, log w_slope_change, log w_curved, n,
    common slope, common curvature, V, 12 V)``: $v$ (prior variance of a level or a slope
    change relative to the common trend) from the spread of the detrended series, $V$ (of a
    free curve) from the spread of the series itself, both floored at ``LEVEL_FLOOR`` and given
    per unit innovation variance.
    """
    s2 = 1.0 + phi
    v = max(detrended, LEVEL_FLOOR) / s2
    big = max(spread, LEVEL_FLOOR) / s2
    return np.array([alpha0, (alpha0 - 1.0) * s2, v, 12.0 * v, 180.0 * big, math.log(0.5),
                     math.log(0.25), math.log(0.25), float(n), slope, curvature, big,
                     12.0 * big])


def trend_logml(prm, st, s, t):
    """Log marginal likelihood of (s, t]: flat, linear and curved segments averaged."""
    f = int(st[s, 24])
    if f >= t:
        return 0.0
    k = st[f, 12] + st[t, 0] - st[f + 1, 0]
    yy = st[f, 13] + st[t, 1] - st[f + 1, 1]
    r0 = st[f, 14] + st[t, 2] - st[f + 1, 2]
    r1 = st[f, 15] + st[t, 3] - st[f + 1, 3]
    r2 = st[f, 16] + st[t, 4] - st[f + 1, 4]
    a00 = st[f, 17] + st[t, 5] - st[f + 1, 5]
    a01 = st[f, 18] + st[t, 6] - st[f + 1, 6]
    a02 = st[f, 19] + st[t, 7] - st[f + 1, 7]
    a11 = st[f, 20] + st[t, 8] - st[f + 1, 8]
    a12 = st[f, 21] + st[t, 9] - st[f + 1, 9]
    a22 = st[f, 22] + st[t, 10] - st[f + 1, 10]
    lj = st[f, 23] + st[t, 11] - st[f + 1, 11]
    a0 = prm[0]
    b0 = prm[1]
    va = prm[2]
    vb = prm[3]
    vc = prm[4]
    n = prm[8]
    an = a0 + 0.5 * k
    common = (-0.5 * k * math.log(2.0 * math.pi) + a0 * math.log(b0) - math.lgamma(a0)
              + math.lgamma(an) + lj)
    # level on the series' common trend and curvature: a flat model of z - b tau - c tau^2
    p00 = 1.0 / va + a00
    b = prm[9]
    c = prm[10]
    yyc = (yy - 2.0 * b * r1 - 2.0 * c * r2 + b * b * a11 + 2.0 * b * c * a12
           + c * c * a22)
    r0c = r0 - b * a01 - c * a02
    bn = b0 + 0.5 * (yyc - r0c * r0c / p00)
    if bn < 1e-300:
        bn = 1e-300
    terms0 = common - 0.5 * math.log(va * p00) - an * math.log(bn) + prm[5]
    terms1 = -math.inf
    terms2 = -math.inf
    tm = (s + t) / (2.0 * n) - 0.5
    if k >= 3.0:
        # the common trend with its slope changed: (level, slope change) of z - b tau - c tau^2
        r1c = r1 - b * a11 - c * a12
        q00 = 1.0 / va + a00
        q01 = tm / va + a01
        q11 = tm * tm / va + 1.0 / vb + a11
        det = q00 * q11 - q01 * q01
        quad = (q11 * r0c * r0c - 2.0 * q01 * r0c * r1c + q00 * r1c * r1c) / det
        bn = b0 + 0.5 * (yyc - quad)
        if bn < 1e-300:
            bn = 1e-300
        terms1 = common - 0.5 * math.log(va * vb * det) - an * math.log(bn) + prm[6]
    if k >= 6.0:
        # curved: basis (1, tau - tm, (tau - tm)^2 - h^2/12) moved to (1, tau, tau^2)
        h = (t - s) / n
        x = tm * tm + h * h / 12.0
        wa = prm[11]
        wb = prm[12]
        m00 = 1.0 / wa + a00
        m01 = tm / wa + a01
        m02 = x / wa + a02
        m11 = tm * tm / wa + 1.0 / wb + a11
        m12 = tm * x / wa + 2.0 * tm / wb + a12
        m22 = x * x / wa + 4.0 * tm * tm / wb + 1.0 / vc + a22
        # Cholesky of the 3x3 posterior precision
        l00 = math.sqrt(m00)
        l10 = m01 / l00
        l20 = m02 / l00
        d11 = m11 - l10 * l10
        d22p = m22 - l20 * l20
        if d11 > 0.0:
            l11 = math.sqrt(d11)
            l21 = (m12 - l20 * l10) / l11
            d22 = d22p - l21 * l21
            if d22 > 0.0:
                l22 = math.sqrt(d22)
                w0 = r0 / l00
                w1 = (r1 - l10 * w0) / l11
                w2 = (r2 - l20 * w0 - l21 * w1) / l22
                bn = b0 + 0.5 * (yy - (w0 * w0 + w1 * w1 + w2 * w2))
                if bn < 1e-300:
                    bn = 1e-300
                logdet = 2.0 * (math.log(l00) + math.log(l11) + math.log(l22))
                terms2 = (common - 0.5 * (math.log(wa * wb * vc) + logdet) - an * math.log(bn)
                          + prm[7])
    top = terms0
    if terms1 > top:
        top = terms1
    if terms2 > top:
        top = terms2
    return top + math.log(math.exp(terms0 - top) + math.exp(terms1 - top)
                          + math.exp(terms2 - top))


def trend_cost(prm, st, s, t):
    """Twice the negative maximised log-likelihood of (s, t]: least-squares line, own variance.

    The whitened regression's residual variance is floored at 0.01 (1% of the robust noise
    variance), as for the normal model.
    """
    f = int(st[s, 24])
    if f >= t:
        return 0.0
    k = st[f, 12] + st[t, 0] - st[f + 1, 0]
    yy = st[f, 13] + st[t, 1] - st[f + 1, 1]
    r0 = st[f, 14] + st[t, 2] - st[f + 1, 2]
    r1 = st[f, 15] + st[t, 3] - st[f + 1, 3]
    a00 = st[f, 17] + st[t, 5] - st[f + 1, 5]
    a01 = st[f, 18] + st[t, 6] - st[f + 1, 6]
    a11 = st[f, 20] + st[t, 8] - st[f + 1, 8]
    lj = st[f, 23] + st[t, 11] - st[f + 1, 11]
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
    """Posterior of each segment's polynomial on the working scale (most probable component).

    ``order`` (0 flat, 1 linear, 2 curved), ``mean`` ``(m, 3)`` coefficients of
    $(1, \\tau, \\tau^2)$ (zero beyond the order), ``cov`` ``(m, 3, 3)`` their posterior
    covariance divided by the noise variance, ``an``/``bn`` the inverse-gamma posterior of the
    noise variance, ``prob`` ``(m, 3)`` the posterior probability of each component.
    """

    order: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    an: np.ndarray
    bn: np.ndarray
    prob: np.ndarray


def segment_fits(prm: np.ndarray, st: np.ndarray, starts: np.ndarray, ends: np.ndarray
                 ) -> SegmentFits:
    """Posterior of the polynomial of each segment ``(starts[j], ends[j]]``."""
    a0, b0, va, vb, vc = prm[:5]
    logw = prm[5:8]
    n = prm[8]
    m = starts.size
    order = np.zeros(m, dtype=np.int64)
    mean = np.zeros((m, 3))
    cov = np.zeros((m, 3, 3))
    an = np.zeros(m)
    bn = np.zeros(m)
    prob = np.zeros((m, 3))
    common = prm[9:11]
    for j, (s, t) in enumerate(zip(starts, ends, strict=True)):
        f = int(st[s, _NEXT])
        if f >= t:
            order[j], an[j], bn[j] = 0, a0, b0
            mean[j, 1:] = common
            cov[j, 0, 0] = va
            prob[j] = [1.0, 0.0, 0.0]
            continue
        row = st[f, _FIRST:_FIRST + _NCOL] + st[t, :_NCOL] - st[f + 1, :_NCOL]
        k, yy = row[0], row[1]
        r = row[2:5]
        xtx = np.array([[row[5], row[6], row[7]], [row[6], row[8], row[9]],
                        [row[7], row[9], row[10]]])
        tm = (s + t) / (2.0 * n) - 0.5
        h = (t - s) / n
        binv = np.array([[1.0, 0.0, 0.0], [tm, 1.0, 0.0], [tm * tm + h * h / 12.0, 2 * tm, 1.0]])
        scores, fits = [], []
        for q, vprior in enumerate(([va], [va, vb], [prm[11], prm[12], vc])):
            if (q == 1 and k < 3) or (q == 2 and k < 6):
                scores.append(-np.inf)
                fits.append(None)
                continue
            d = q + 1
            b = binv[:d, :d]
            prec = b @ np.diag(1.0 / np.array(vprior)) @ b.T + xtx[:d, :d]
            if q < 2:       # on the common trend: regress z - b tau - c tau^2
                rq = r[:d] - xtx[:d, 1:] @ common
                yq = yy - 2.0 * common @ r[1:] + common @ xtx[1:, 1:] @ common
            else:
                rq, yq = r[:d], yy
            c = np.linalg.inv(prec)
            mu = c @ rq
            bq = max(b0 + 0.5 * (yq - rq @ mu), 1e-300)
            scores.append(-0.5 * (np.sum(np.log(vprior)) + np.linalg.slogdet(prec)[1])
                          - (a0 + 0.5 * k) * np.log(bq) + logw[q])
            fits.append((mu, c, bq))
        sc = np.array(scores)
        p = np.exp(sc - special.logsumexp(sc))
        q = int(np.argmax(sc))
        mu, c, bq = fits[q]
        order[j] = q
        mean[j, :q + 1] = mu
        if q < 2:
            mean[j, 1:] += common
        cov[j, :q + 1, :q + 1] = c
        an[j], bn[j], prob[j] = a0 + 0.5 * k, bq, p
    return SegmentFits(order, mean, cov, an, bn, prob)
