r"""Evidence for a change shared by every series of a panel (a national change).

Each series $i$ has been fitted on its own with a prior that gives probability $\pi_0$ to at
least one change; its posterior gives the probability of no change, $P_i(0 \mid y_i)$, and of a
change near each time, $P_i(\tau \mid y_i)$. Two models of the panel are compared.

* $M_0$, *local changes only*: each series changes with probability $\pi$, the share of
  series that change, and where it changes follows the series' own prior given at least one
  change. $\pi$ is not fixed at $\pi_0$ but learned from the panel, with a uniform prior:
  $p(y \mid M_0) = \int_0^1 \prod_i p(y_i \mid 0)\,[(1 - \pi) + \pi L_i]\, d\pi$, where
  $L_i = p(y_i \mid \ge 1)/p(y_i \mid 0)$ is the series' Bayes factor for a change,
  $\mathrm{logit}\,P_i(\ge 1 \mid y_i) - \mathrm{logit}\,\pi_0$.
* $M_1(\tau)$, *a national change at $\tau$*: every series changes near $\tau$ (within
  ``window`` periods), besides its own changes; $\tau$ uniform over the times where a change
  is possible. Conditioning each series' prior on a change near $\tau$ gives
  $p(y_i \mid M_1, \tau) = p(y_i \mid 0)\, L_i\, P_i(\tau \mid y_i, \ge 1) / P(\tau \mid \ge 1)$,
  with $P_i(\tau \mid y_i, \ge 1) = P_i(\tau \mid y_i)/P_i(\ge 1 \mid y_i)$ and the prior
  $P(\tau \mid \ge 1) = P(\tau)/\pi_0$ from
  [`prior_change_probability`][crimestats.changepoint.bayes.prior_change_probability].

With prior odds 1, $P(M_1 \mid y) = \mathrm{expit}(\log BF)$ and
$\log BF = \log \mathrm{mean}_\tau \exp \sum_i [\log L_i + \log P_i(\tau \mid y_i, \ge 1)
- \log P(\tau \mid \ge 1)] - \log \int_0^1 \prod_i [(1 - \pi) + \pi L_i]\, d\pi$.

Learning $\pi$ matters: with $\pi$ fixed at a small $\pi_0$, a panel in which every series
changes, at different times, is better explained by "all change together" than by "each
changes, against a prior that says few do", and local changes were read as national.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import integrate, optimize, special

__all__ = ["NationalEvidence", "national_change"]

#: Floor of probabilities before their logarithm (a probability of 0 is read as this).
_TINY = 1e-300


@dataclasses.dataclass(frozen=True)
class NationalEvidence:
    """Evidence for a national change.

    Attributes
    ----------
    log_bayes_factor : float
        $\\log BF$ of a national change against local changes only.
    prob_national_change : float
        Posterior probability of a national change (prior odds 1).
    prob_time : numpy.ndarray
        Posterior probability that the national change is at each time, given there is one.
    share_changing : float
        Posterior mean of $\\pi$, the share of series with a change of their own, under
        local changes only.
    """

    log_bayes_factor: float
    prob_national_change: float
    prob_time: np.ndarray
    share_changing: float


def national_change(prob_change: np.ndarray, prob_any: np.ndarray, prior_change: np.ndarray,
                    prior_any: np.ndarray, window: int = 0) -> NationalEvidence:
    """Evidence for a change shared by every series against local changes only.

    Parameters
    ----------
    prob_change : numpy.ndarray, shape (series, time)
        Posterior probability of a change at each time, per series.
    prob_any : numpy.ndarray, shape (series,)
        Posterior probability of at least one change, per series.
    prior_change : numpy.ndarray, shape (series, time)
        Prior probability of a change at each time, per series.
    prior_any : numpy.ndarray, shape (series,)
        Prior probability of at least one change, per series ($\\pi_0$).
    window : int
        A series changes "near" $\\tau$ when it changes within ``window`` periods of it.

    Returns
    -------
    NationalEvidence

    Examples
    --------
    Three series that change at the same time, with near certainty:

    >>> import numpy as np
    >>> post = np.zeros((3, 20)); post[:, 10] = 1.0
    >>> prior = np.full((3, 20), 0.15 / 18); prior[:, [0, 19]] = 0.0
    >>> ev = national_change(post, np.ones(3) - 1e-12, prior, np.full(3, 0.15))
    >>> round(ev.prob_national_change, 3), int(np.argmax(ev.prob_time))
    (1.0, 10)
    """
    w = int(window)

    def near(p: np.ndarray) -> np.ndarray:
        padded = np.pad(p, ((0, 0), (w, w)))
        n = p.shape[1]
        return sum(padded[:, d:d + n] for d in range(2 * w + 1)).clip(0.0, 1.0)

    p_any = np.clip(prob_any, _TINY, 1.0)
    p_none = np.clip(1.0 - prob_any, _TINY, 1.0)
    log_l = (np.log(p_any) - np.log(p_none)) - special.logit(prior_any)
    post_near = np.minimum(near(prob_change) / p_any[:, None], 1.0)
    prior_near = np.minimum(near(prior_change) / prior_any[:, None], 1.0)
    valid = prior_near.min(axis=0) > 0.0
    terms = np.log(np.clip(post_near, _TINY, None)) - np.log(np.clip(prior_near, _TINY, None))
    log_m1 = log_l.sum() + terms.sum(axis=0)
    log_m1[~valid] = -np.inf
    log_m0, share = _local_evidence(log_l)
    if not valid.any():
        return NationalEvidence(-np.inf, 0.0, np.zeros(prob_change.shape[1]), share)
    log_bf = float(special.logsumexp(log_m1[valid]) - np.log(valid.sum()) - log_m0)
    prob_time = np.exp(log_m1 - special.logsumexp(log_m1[valid]))
    return NationalEvidence(log_bf, float(special.expit(log_bf)), prob_time, share)


def _local_evidence(log_l: np.ndarray) -> tuple[float, float]:
    """$\\log\\int_0^1 \\prod_i [(1-\\pi) + \\pi L_i] d\\pi$ and the posterior mean of $\\pi$.

    The log integrand is concave in $\\pi$; it is integrated adaptively around its mode.
    """
    def log_f(pi: float) -> float:
        if pi <= 0.0:
            return 0.0
        if pi >= 1.0:
            return float(log_l.sum())
        return float(np.logaddexp(np.log1p(-pi), np.log(pi) + log_l).sum())

    mode = optimize.minimize_scalar(lambda pi: -log_f(pi), bounds=(0.0, 1.0),
                                    method="bounded", options={"xatol": 1e-10}).x
    top = max(log_f(mode), log_f(0.0), log_f(1.0))
    points = [mode] if 0.0 < mode < 1.0 else None
    mass = integrate.quad(lambda pi: np.exp(log_f(pi) - top), 0.0, 1.0, points=points,
                          limit=200, epsabs=0.0, epsrel=1e-8)[0]
    first = integrate.quad(lambda pi: pi * np.exp(log_f(pi) - top), 0.0, 1.0, points=points,
                           limit=200, epsabs=0.0, epsrel=1e-8)[0]
    return top + float(np.log(mass)), float(first / mass)
