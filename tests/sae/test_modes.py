"""Mode objects carry their options; the older flat keywords give the same fits."""

from __future__ import annotations

import numpy as np
import pytest

from crimestats import InputError
from crimestats.sae import (
    BYM2Effects,
    HalfCauchy,
    HierarchicalBayes,
    ICAREffects,
    SAREffects,
    fay_herriot,
    logit_binomial,
)

PAIRS = [(r * 4 + c, r * 4 + c + 1) for r in range(4) for c in range(3)]
PAIRS += [(r * 4 + c, (r + 1) * 4 + c) for r in range(3) for c in range(4)]
DIRECT = 5 + np.random.default_rng(0).normal(size=16)
VARIANCE = np.full(16, 0.5)


def _same(a, b):
    for var in a.estimates.data_vars:
        np.testing.assert_array_equal(a.estimates[var].values, b.estimates[var].values)


def test_hierarchical_bayes_object_equals_the_flat_keywords():
    flat = fay_herriot(DIRECT, VARIANCE, method="hb", prior=HalfCauchy(scale=1.0), draws=20,
                       random_seed=4)
    mode = fay_herriot(DIRECT, VARIANCE, random_seed=4,
                       method=HierarchicalBayes(prior=HalfCauchy(scale=1.0), draws=20))
    _same(flat, mode)
    assert mode.method == "hb"
    with pytest.raises(InputError, match="give `prior`, `draws`"):
        fay_herriot(DIRECT, VARIANCE, method=HierarchicalBayes(), draws=10)
    with pytest.raises(InputError, match="`prior` applies only to method='hb'"):
        fay_herriot(DIRECT, VARIANCE, prior=HalfCauchy(scale=1.0))


def test_sar_effects_object_equals_the_flat_keywords():
    flat = fay_herriot(DIRECT, VARIANCE, proximity=PAIRS, algorithm="sparse", traces="exact")
    mode = fay_herriot(DIRECT, VARIANCE,
                       spatial=SAREffects(PAIRS, algorithm="sparse", traces="exact"))
    _same(flat, mode)
    assert mode.diagnostics["algorithm"] == "sparse"
    with pytest.raises(InputError, match="give `proximity`, `algorithm`"):
        fay_herriot(DIRECT, VARIANCE, spatial=SAREffects(PAIRS), algorithm="dense")
    with pytest.raises(InputError, match="apply only to the spatial model"):
        fay_herriot(DIRECT, VARIANCE, traces="exact")
    with pytest.raises(InputError, match="`algorithm` must be one of"):
        SAREffects(PAIRS, algorithm="fast")


def test_bym2_and_icar_effects_equal_the_flat_keywords():
    p = np.array([0.02, 0.03, 0.05, np.nan, 0.06, 0.08, 0.07, 0.10])
    n = np.array([200, 150, 300, 0, 250, 100, 200, 150])
    line = [(i, i + 1) for i in range(7)]
    _same(logit_binomial(p, n, adjacency=line, spatial="icar"),
          logit_binomial(p, n, spatial=ICAREffects(line)))
    _same(logit_binomial(p, n, adjacency=line, phi_prior=(2.0, 2.0)),
          logit_binomial(p, n, spatial=BYM2Effects(line, phi_prior=(2.0, 2.0))))
    with pytest.raises(InputError, match="applies only to model='bym2'"):
        ICAREffects(line, phi_prior=(2.0, 2.0))
    with pytest.raises(InputError, match="give `adjacency`"):
        logit_binomial(p, n, adjacency=line, spatial=ICAREffects(line))
