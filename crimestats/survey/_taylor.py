"""Hájek domain means and their Taylor-linearised variances, for all domains at once.

Private module: [`crimestats.survey.direct_estimates`][crimestats.survey.direct_estimates] validates the data and calls
[`domain_means`][domain_means] with integer codes. The work is O(n) in the number of respondents
(grouping by hashing), whatever the number of domains.

For domain $d$ with indicator $I_{di}$, the Hájek (ratio) mean is

$$
\\hat R_d = \\sum_i w_i I_{di} y_i \\Big/ \\hat N_d, \\qquad \\hat N_d = \\sum_i w_i I_{di},
$$

and its linearised (influence) values are $z_{di} = w_i I_{di} (y_i - \\hat R_d) / \\hat N_d$,
zero outside the domain. With $Z_{dhc}$ the total of $z_{di}$ over PSU $c$ of
stratum $h$ (which has $n_h$ PSUs in the whole sample),

$$
\\hat V(\\hat R_d) = \\sum_h f_h \\frac{n_h}{n_h - 1} \\sum_{c=1}^{n_h}
(Z_{dhc} - \\bar Z_{dh})^2,
$$

the with-replacement (ultimate cluster) approximation, with $f_h = 1 - n_h / N_h$ when a
finite population correction is given and 1 otherwise. This is R ``survey``'s
``svyby(~y, ~domain, design, svymean)`` for a ``svydesign(ids=~psu, strata=~stratum,
weights=~w, nest=TRUE)`` design.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LONELY_PSU_RULES = ("adjust", "remove", "average", "fail")


@dataclass(frozen=True)
class DomainMoments:
    """Per-domain sums and the linearised variance (arrays of length ``n_domains``)."""

    estimate: np.ndarray
    variance: np.ndarray
    n: np.ndarray
    n_psu: np.ndarray
    sum_weights: np.ndarray
    sum_weights_sq: np.ndarray
    unit_variance: np.ndarray
    constant: np.ndarray
    in_lonely_stratum: np.ndarray
    n_strata: np.ndarray


def _group_sums(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum ``values`` over equal ``keys``; return (sums, first position of each group)."""
    codes, uniques = pd.factorize(keys, sort=False)
    sums = np.bincount(codes, weights=values, minlength=len(uniques))
    first = np.full(len(uniques), -1, dtype=np.int64)
    # positions of each group's first occurrence (reverse assignment keeps the first)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return sums, first


def domain_means(y: np.ndarray, w: np.ndarray, domain: np.ndarray, n_domains: int,
                 stratum: np.ndarray, psu: np.ndarray, fpc_factor: np.ndarray,
                 lonely_psu: str = "adjust") -> DomainMoments:
    """Hájek means and linearised variances of ``y`` for every domain.

    Parameters
    ----------
    y, w : numpy.ndarray
        Outcome and weights of the n respondents (finite; weights positive).
    domain : numpy.ndarray of int
        Domain code ``0 .. n_domains - 1`` of each respondent.
    n_domains : int
        Number of domains (domains with no respondent get NaN estimates).
    stratum : numpy.ndarray of int
        Stratum code ``0 .. H - 1`` of each respondent.
    psu : numpy.ndarray of int
        PSU code of each respondent, unique across strata (PSUs nested in strata).
    fpc_factor : numpy.ndarray
        $f_h = 1 - n_h/N_h$ per stratum code (ones without a finite population correction).
    lonely_psu : {"adjust", "remove", "average"}
        Rule for strata with a single PSU (``"fail"`` is enforced by the caller).
    """
    n_strata = int(stratum.max()) + 1 if stratum.size else 0
    n = np.bincount(domain, minlength=n_domains).astype(np.int64)
    sw = np.bincount(domain, weights=w, minlength=n_domains)
    sww = np.bincount(domain, weights=w * w, minlength=n_domains)
    swy = np.bincount(domain, weights=w * y, minlength=n_domains)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = swy / sw
    est[n == 0] = np.nan

    resid = y - est[domain]
    z = w * resid / sw[domain]

    # weighted unit variance within each domain (the S^2 of an SRS of the same size)
    ss = np.bincount(domain, weights=w * resid * resid, minlength=n_domains)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit_var = ss / sw * n / (n - 1)
    unit_var[n < 2] = np.nan

    y_min = np.full(n_domains, np.inf)
    y_max = np.full(n_domains, -np.inf)
    np.minimum.at(y_min, domain, y)
    np.maximum.at(y_max, domain, y)
    constant = (n > 0) & (y_min == y_max)

    # number of PSUs per stratum in the whole sample
    psu_stratum = np.zeros(int(psu.max()) + 1, dtype=np.int64)
    psu_stratum[psu] = stratum  # PSUs are nested in strata: one stratum per PSU code
    n_h = np.bincount(psu_stratum, minlength=n_strata).astype(np.int64)
    # a single PSU in a census (self-representing) stratum, f_h = 0, has no variance to estimate
    lonely_h = (n_h == 1) & (fpc_factor > 1e-7)

    # PSU totals of z within each domain (only pairs that occur)
    n_psu_codes = int(psu.max()) + 1
    pair_key = domain.astype(np.int64) * n_psu_codes + psu
    z_pair, first_pair = _group_sums(pair_key, z)
    pair_domain = domain[first_pair]
    pair_stratum = stratum[first_pair]
    n_psu_domain = np.bincount(pair_domain, minlength=n_domains).astype(np.int64)

    # stratum-within-domain: mean of the n_h PSU totals (absent PSUs count as zeros)
    dh_key = pair_domain.astype(np.int64) * n_strata + pair_stratum
    dh_codes, dh_uniques = pd.factorize(dh_key, sort=False)
    dh_domain = (dh_uniques // n_strata).astype(np.int64)
    dh_stratum = (dh_uniques % n_strata).astype(np.int64)
    dh_sum = np.bincount(dh_codes, weights=z_pair, minlength=len(dh_uniques))
    dh_present = np.bincount(dh_codes, minlength=len(dh_uniques))
    nh = n_h[dh_stratum]
    zbar = dh_sum / nh
    dev = z_pair - zbar[dh_codes]
    dh_ss = np.bincount(dh_codes, weights=dev * dev, minlength=len(dh_uniques))
    dh_ss += (nh - dh_present) * zbar * zbar
    lonely = lonely_h[dh_stratum]
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(nh > 1, nh / (nh - 1.0), 1.0) * fpc_factor[dh_stratum]
    contrib = scale * dh_ss
    if lonely.any():
        if lonely_psu == "adjust":
            # centre the lonely PSU at the grand mean of the PSU totals, which is zero because
            # the linearised values of a domain sum to zero over the whole sample
            raw = np.bincount(dh_codes, weights=z_pair * z_pair, minlength=len(dh_uniques))
            contrib[lonely] = fpc_factor[dh_stratum[lonely]] * raw[lonely]
        else:  # "remove" and "average": no contribution from the lonely stratum
            contrib[lonely] = 0.0
    var = np.bincount(dh_domain, weights=contrib, minlength=n_domains)
    if lonely_psu == "average" and lonely_h.any():
        n_ok = int((~lonely_h).sum())
        var = var * (n_strata / n_ok) if n_ok else np.full(n_domains, np.nan)
    # a constant outcome, or a domain inside one PSU, has a linearised variance of exactly zero
    var[constant | (n_psu_domain == 1)] = 0.0
    var[n == 0] = np.nan

    in_lonely = np.zeros(n_domains, dtype=bool)
    in_lonely[dh_domain[lonely]] = True
    return DomainMoments(estimate=est, variance=var, n=n, n_psu=n_psu_domain, sum_weights=sw,
                         sum_weights_sq=sww, unit_variance=unit_var, constant=constant,
                         in_lonely_stratum=in_lonely,
                         n_strata=np.bincount(dh_domain, minlength=n_domains).astype(np.int64))
