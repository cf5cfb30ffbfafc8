"""Conjugate segment models: the likelihood of one segment with its parameter integrated out.

A segment model turns a series into cumulative sufficient statistics and gives, for any
segment, the log marginal likelihood (for the Bayesian recursion), the maximised
log-likelihood cost (for PELT) and the posterior of the segment's level. The priors are tied
to the scale of the data, so that the same defaults suit a series of 3 burglaries a month and
one of 30,000 thefts a year:

* ``"poisson"`` — $y_t \\sim \\mathrm{Poisson}(e_t\\lambda)$ with exposure
  $e_t$ (population, days in the month; 1 when not given) and
  $\\lambda \\sim \\mathrm{Gamma}(1, 1/\\bar\\lambda)$, where
  $\\bar\\lambda = \\sum y / \\sum e$ is the rate of the whole series (prior mean),
  so the segment rate has a prior coefficient of variation of 1.
* ``"negbin"`` — $y_t \\sim \\mathrm{NegBin}(r e_t, p)$ (mean
  $e_t\\lambda$ with $\\lambda = r(1-p)/p$, variance
  $e_t\\lambda(1 + \\lambda/r)$), $p \\sim \\mathrm{Beta}(1 + r/\\bar\\lambda, 1)$,
  which gives $\\lambda$ prior mean $\\bar\\lambda$ and tends to the
  Poisson model's gamma prior as $r \\to \\infty$. The size $r$ is fixed: given, or
  estimated robustly from first differences ([`estimate_size`][estimate_size]).
* ``"normal"`` — $y_t \\sim N(\\mu, \\sigma^2)$ with both changing between segments,
  normal–inverse-gamma prior $\\mu \\mid \\sigma^2 \\sim N(m_0, \\sigma^2/\\kappa_0)$,
  $\\sigma^2 \\sim \\mathrm{IG}(\\alpha_0, \\beta_0)$ on the standardised scale
  $z = (y - \\mathrm{median}(y)) / \\hat\\sigma$, where $\\hat\\sigma$ is the
  robust noise scale from first differences; $m_0 = 0$,
  $\\kappa_0 = 1/\\max(1, \\mathrm{var}(z))$ (prior spread of segment means equal to
  the spread of the data), $\\alpha_0 = \\beta_0 = 1$.
* ``"normal_mean"`` — as ``"normal"`` but only the mean changes; the noise variance is fixed
  at $\\hat\\sigma^2$ and $\\mu \\sim N(0, \\max(1, \\mathrm{var}(z)))$ on the
  standardised scale.

References
----------
Fearnhead, P. (2006). Exact and efficient Bayesian inference for multiple changepoint
problems. *Statistics and Computing* 16, 203–213.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import special

from ..errors import InputError

__all__ = ["SegmentModel", "make_segment_model", "estimate_size", "robust_noise_sd",
           "LIKELIHOODS"]

#: Likelihood names accepted by [`crimestats.changepoint.detect`][crimestats.changepoint.detect].
LIKELIHOODS = ("poisson", "negbin", "normal", "normal_mean")
_CODES = {"poisson": 0, "negbin": 1, "normal": 2, "normal_mean": 3}
# number of parameters that change at a change point (BIC/MBIC "diffparam" of R changepoint)
_DIFFPARAM = {"poisson": 1, "negbin": 1, "normal": 2, "normal_mean": 1}


def robust_noise_sd(y: np.ndarray) -> float:
    """Noise standard deviation from first differences, robust to level shifts.

    $\\hat\\sigma = \\mathrm{MAD}(\\Delta y) / (0.6745\\sqrt 2)$; differences across a
    change are a few outliers among many. Falls back to the MAD of ``y``, then its standard
    deviation, then 1 when the series has (nearly) no variation. NaN are ignored.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.r_[np.zeros(500), np.full(500, 10.0)] + np.random.default_rng(1).normal(0, 2, 1000)
    >>> round(robust_noise_sd(y), 1)
    2.0
    """
    y = np.asarray(y, dtype=float)
    y = y[np.isfinite(y)]
    if y.size >= 3:
        d = np.diff(y)
        mad = np.median(np.abs(d - np.median(d)))
        if mad > 0:
            return float(mad / (0.6744897501960817 * np.sqrt(2.0)))
    if y.size >= 2:
        mad = np.median(np.abs(y - np.median(y)))
        if mad > 0:
            return float(mad / 0.6744897501960817)
        sd = float(np.std(y))
        if sd > 0:
            return sd
    return 1.0


def estimate_size(y: np.ndarray, exposure: np.ndarray | None = None) -> float:
    """Negative binomial size $r$ from first differences, robust to level shifts.

    For neighbouring periods in the same segment, $u_t = (y_t - y_{t-1}) /
    \\sqrt{m_t}$ with $m_t = (y_t + y_{t-1})/2$ has variance
    $2(1 + m_t/r)$; a robust (MAD) variance of $u$ gives
    $1/r = (\\widehat{\\mathrm{var}}(u)/2 - 1) / \\mathrm{median}(m)$. Returns
    ``inf`` (no overdispersion: the Poisson model) when the estimate is not positive.
    With exposure, counts are first divided by exposure relative to its mean.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> y = rng.negative_binomial(20, 20 / (20 + 100), size=2000)   # size 20, mean 100
    >>> 15 < estimate_size(y) < 25
    True
    """
    y = np.asarray(y, dtype=float)
    if exposure is not None:
        e = np.asarray(exposure, dtype=float)
        y = y * np.nanmean(e) / e
    y = y[np.isfinite(y)]
    if y.size < 3:
        return float("inf")
    m = 0.5 * (y[1:] + y[:-1])
    ok = m > 0
    if ok.sum() < 2:
        return float("inf")
    u = np.diff(y)[ok] / np.sqrt(m[ok])
    var_u = (np.median(np.abs(u - np.median(u))) / 0.6744897501960817) ** 2
    excess = var_u / 2.0 - 1.0
    if not excess > 0:
        return float("inf")
    return float(np.median(m[ok]) / excess)


@dataclasses.dataclass(frozen=True)
class SegmentModel:
    """A conjugate segment model fitted to the scale of one series.

    Attributes
    ----------
    likelihood : str
        One of `LIKELIHOODS`.
    params : numpy.ndarray
        Prior hyperparameters on the working scale (see the module notes).
    loc, scale : float
        Working scale of the normal models: ``z = (y - loc) / scale`` (0 and 1 for counts).
    size : float
        Negative binomial size $r$ (NaN for other likelihoods).
    """

    likelihood: str
    params: np.ndarray
    loc: float = 0.0
    scale: float = 1.0
    size: float = float("nan")

    @property
    def code(self) -> int:
        """Model code of the compiled kernels."""
        return _CODES[self.likelihood]

    @property
    def diffparam(self) -> int:
        """Number of parameters that change at a change point (for BIC/MBIC)."""
        return _DIFFPARAM[self.likelihood]

    def cumulative(self, y: np.ndarray, exposure: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cumulative sufficient statistics ``c0, c1, c2`` (length n + 1) of a series.

        Missing values (NaN in ``y``) contribute nothing: the period belongs to a segment but
        adds no information about it.
        """
        obs = np.isfinite(y)
        yy = np.where(obs, y, 0.0)
        if self.likelihood in ("normal", "normal_mean"):
            z = np.where(obs, (yy - self.loc) / self.scale, 0.0)
            w = obs.astype(float)
            return _cum(w), _cum(z), _cum(z * z)
        e = np.where(obs, exposure, 0.0)
        if self.likelihood == "negbin":
            e = e * self.size
        return _cum(e), _cum(yy), _cum(yy * yy)

    def segment_posterior(self, c0: np.ndarray, c1: np.ndarray, c2: np.ndarray,
                          starts: np.ndarray, ends: np.ndarray, level: float
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Posterior mean, SD and equal-tailed interval of each segment's level.

        The level is the rate per unit of exposure for the count models and the mean (on the
        data's scale) for the normal models. Segments are ``(starts, ends]`` in the
        cumulative statistics.
        """
        e = c0[ends] - c0[starts]
        y = c1[ends] - c1[starts]
        lo_q, hi_q = 0.5 - level / 2.0, 0.5 + level / 2.0
        p = self.params
        if self.likelihood == "poisson":
            shape, rate = p[0] + y, p[1] + e
            return (shape / rate, np.sqrt(shape) / rate, special.gammaincinv(shape, lo_q) / rate,
                    special.gammaincinv(shape, hi_q) / rate)
        if self.likelihood == "negbin":
            r = self.size
            a, b = p[0] + e, p[1] + y
            # lambda = r (1 - p) / p with p ~ Beta(a, b): lambda / r ~ BetaPrime(b, a)
            mean = r * np.where(a > 1, b / np.maximum(a - 1, 1e-300), np.inf)
            sd = r * np.where(a > 2, np.sqrt(b * (a + b - 1)
                                            / np.maximum((a - 2) * (a - 1) ** 2, 1e-300)),
                              np.inf)
            u_lo, u_hi = special.betaincinv(b, a, lo_q), special.betaincinv(b, a, hi_q)
            return mean, sd, r * u_lo / (1 - u_lo), r * u_hi / (1 - u_hi)
        if self.likelihood == "normal":
            m0, k0, a0, b0 = p
            ybar = y / np.maximum(e, 1e-300)
            ss = np.maximum((c2[ends] - c2[starts]) - y * ybar, 0.0)
            kn, an = k0 + e, a0 + 0.5 * e
            mn = (k0 * m0 + y) / kn
            bn = b0 + 0.5 * ss + 0.5 * k0 * e * (ybar - m0) ** 2 / kn
            t_scale = np.sqrt(bn / (an * kn))
            lo, hi = (mn + t_scale * special.stdtrit(2 * an, lo_q),
                      mn + t_scale * special.stdtrit(2 * an, hi_q))
            sd = np.where(an > 1, t_scale * np.sqrt(an / np.maximum(an - 1, 1e-300)), np.inf)
        else:
            prec = 1.0 / p[0] + e
            mn = y / prec
            sd = np.sqrt(1.0 / prec)
            lo, hi = mn + sd * special.ndtri(lo_q), mn + sd * special.ndtri(hi_q)
        return (self.loc + self.scale * mn, self.scale * sd,
                self.loc + self.scale * lo, self.loc + self.scale * hi)

    def segment_mean(self, c0: np.ndarray, c1: np.ndarray, c2: np.ndarray,
                     starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Posterior mean of each segment's level (cheap version of [`segment_posterior`][segment_posterior])."""
        e = c0[ends] - c0[starts]
        y = c1[ends] - c1[starts]
        p = self.params
        if self.likelihood == "poisson":
            return (p[0] + y) / (p[1] + e)
        if self.likelihood == "negbin":
            a = p[0] + e
            return self.size * (p[1] + y) / np.maximum(a - 1.0, 1e-300)
        if self.likelihood == "normal":
            return self.loc + self.scale * (p[1] * p[0] + y) / (p[1] + e)
        return self.loc + self.scale * y / (1.0 / p[0] + e)


def _cum(x: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape[0] + 1)
    out[0] = 0.0
    np.cumsum(x, out=out[1:])
    return out


def make_segment_model(likelihood: str, y: np.ndarray, exposure: np.ndarray,
                       size: float | str | None = "estimate",
                       prior: dict[str, float] | None = None) -> SegmentModel:
    """Build the segment model of ``likelihood`` with priors tied to the scale of ``y``.

    Parameters
    ----------
    likelihood : str
        One of `LIKELIHOODS`.
    y, exposure : numpy.ndarray
        The series (NaN where missing) and its exposure (ones when there is none).
    size : float or "estimate"
        Negative binomial size $r$ (ignored by the other likelihoods).
    prior : dict, optional
        Override hyperparameters: ``shape`` (of the gamma/beta-prime prior of a count rate,
        default 1), ``rate_mean`` (prior mean rate, default the series' rate), and for the
        normal models ``kappa0``, ``alpha0``, ``beta0``, ``tau2`` on the standardised scale.

    Examples
    --------
    >>> import numpy as np
    >>> m = make_segment_model("poisson", np.array([3.0, 5, 4]), np.ones(3))
    >>> m.params.round(3).tolist()
    [1.0, 0.24]
    """
    prior = dict(prior or {})
    unknown = set(prior) - {"shape", "rate_mean", "kappa0", "alpha0", "beta0", "tau2"}
    if unknown:
        raise InputError(f"unknown prior settings {sorted(unknown)}; allowed: shape, rate_mean, "
                         "kappa0, alpha0, beta0, tau2.")
    obs = np.isfinite(y)
    if likelihood in ("poisson", "negbin"):
        total_e = float(np.sum(exposure[obs]))
        rate = prior.get("rate_mean", (float(np.sum(y[obs])) + 0.5) / total_e)
        shape = prior.get("shape", 1.0)
        if not (rate > 0 and shape > 0):
            raise InputError("prior `rate_mean` and `shape` must be positive.")
        if likelihood == "poisson":
            return SegmentModel("poisson", np.array([shape, shape / rate]))
        r = estimate_size(y, exposure) if size in (None, "estimate") else float(size)
        if not r > 0:
            raise InputError(f"negative binomial `size` must be positive; received {size!r}.")
        if not np.isfinite(r):
            r = 1e8   # no overdispersion detected: numerically Poisson
        # lambda / r ~ BetaPrime(shape, a): mean shape / (a - 1) = rate / r
        return SegmentModel("negbin", np.array([1.0 + shape * r / rate, shape]), size=r)
    loc = float(np.median(y[obs]))
    scale = robust_noise_sd(y[obs])
    z = (y[obs] - loc) / scale
    spread = max(1.0, float(np.var(z)))
    if likelihood == "normal":
        params = np.array([0.0, prior.get("kappa0", 1.0 / spread), prior.get("alpha0", 1.0),
                           prior.get("beta0", 1.0)])
        if np.any(params[1:] <= 0):
            raise InputError("normal prior `kappa0`, `alpha0`, `beta0` must be positive.")
        return SegmentModel("normal", params, loc=loc, scale=scale)
    tau2 = prior.get("tau2", spread)
    if not tau2 > 0:
        raise InputError("normal_mean prior `tau2` must be positive.")
    return SegmentModel("normal_mean", np.array([tau2]), loc=loc, scale=scale)
