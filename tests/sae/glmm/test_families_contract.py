"""Every registered GLMM family keeps the contract the binomial and Poisson models rely on.

Derivatives against finite differences, the link against its inverse, the compiled scalar
functions against the NumPy ones, the compiled Laplace-correction term against quadrature in
NumPy, and a fit of simulated data with known coefficients. A family registered in
`crimestats.sae.glmm.families.FAMILIES` is tested here without further code.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from crimestats import EstimationError
from crimestats.sae._engine.laplace_kernels import link_moments, own_terms
from crimestats.sae.glmm.families import FAMILIES
from crimestats.sae.glmm.independent import fit_hyperparameters

NAMES = sorted(FAMILIES)
ETA = np.linspace(-6.0, 3.0, 19)
Y = np.array([0.0, 1.0, 2.5, 4.0, 7.0, 9.0, 11.0, 12.0, 15.0, 3.0, 0.5, 6.0, 2.0, 8.0,
              10.0, 1.5, 5.0, 14.0, 13.0])
N = np.full(ETA.shape, 20.0)
#: Reference log-probabilities of whole counts, for the families scipy knows.
SCIPY = {"binomial": lambda y, n, mu: stats.binom.logpmf(y, n, mu),
         "poisson": lambda y, n, mu: stats.poisson.logpmf(y, n * mu)}


@pytest.mark.parametrize("name", NAMES)
def test_derivatives_match_finite_differences(name):
    family = FAMILIES[name]
    h = 1e-5
    d1, d2 = family.derivatives(ETA, Y, N)
    fd1 = (family.loglik(ETA + h, Y, N) - family.loglik(ETA - h, Y, N)) / (2 * h)
    fd2 = (family.derivatives(ETA + h, Y, N)[0] - family.derivatives(ETA - h, Y, N)[0]) / (2 * h)
    fd3 = (family.derivatives(ETA + h, Y, N)[1] - family.derivatives(ETA - h, Y, N)[1]) / (2 * h)
    np.testing.assert_allclose(d1, fd1, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(d2, fd2, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(family.third_derivative(ETA, Y, N), fd3, rtol=1e-6, atol=1e-7)
    assert np.all(d2 < 0)          # log-concave: Newton on the area effects is safe


@pytest.mark.parametrize("name", NAMES)
def test_log_likelihood_is_the_distributions(name):
    if name not in SCIPY:
        pytest.skip(f"no scipy reference for the {name} family")
    family = FAMILIES[name]
    y, n = np.array([0.0, 3.0, 7.0, 20.0]), np.full(4, 20.0)
    eta = np.array([-2.0, -1.0, 0.3, 0.5])
    ours = family.loglik(eta, y, n) + np.array([family.loglik_constant(y[i:i + 1], n[i:i + 1])
                                                for i in range(4)])
    np.testing.assert_allclose(ours, SCIPY[name](y, n, family.inverse_link(eta)), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_link_inverts_the_inverse_link_without_clipping(name):
    """The inverse link is exact: a value beyond what a capped exponent gives is kept (the
    Poisson mean at 705 is exp(705), not exp(700)), so an overflow cannot hide as a number."""
    family = FAMILIES[name]
    eta = np.linspace(-15.0, 15.0, 61)
    mu = family.inverse_link(eta)
    slope = (family.inverse_link(eta + 1e-6) - family.inverse_link(eta - 1e-6)) / 2e-6
    with np.errstate(divide="ignore", invalid="ignore"):
        # a double holds the mean to a relative 1e-16: the link gets eta back to about
        # 1e-16 |mu / slope| (where the mean saturates, not at all)
        conditioned = np.abs(slope) > 1e-12 * np.maximum(np.abs(mu), 1e-300)
        error = np.abs(family.link(mu[conditioned]) - eta[conditioned])
    bound = 1e-9 + 1e-14 * np.abs(mu[conditioned] / slope[conditioned])
    assert conditioned.sum() >= 10 and np.all(error <= bound), error
    if name == "poisson":
        assert family.inverse_link(np.array([705.0]))[0] == np.exp(705.0) > np.exp(700.0)
        assert family.compiled.inverse_link(705.0) == np.exp(705.0)


@pytest.mark.parametrize("name", NAMES)
def test_compiled_functions_are_the_numpy_ones(name):
    family = FAMILIES[name]
    compiled = family.compiled
    scalar = np.array([compiled.loglik(e, y, n) for e, y, n in zip(ETA, Y, N, strict=True)])
    np.testing.assert_allclose(scalar, family.loglik(ETA, Y, N), rtol=1e-13, atol=1e-12)
    links = np.array([compiled.inverse_link(e) for e in ETA])
    np.testing.assert_allclose(links, family.inverse_link(ETA), rtol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_compiled_laplace_terms_match_quadrature_in_numpy(name):
    family = FAMILIES[name]
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    eta, var, y, n = ETA[:6], np.linspace(0.05, 0.8, 6), Y[:6], N[:6]
    grad, curv = family.derivatives(eta, y, n)
    d = -curv
    z = np.sqrt(var)[:, None] * nodes[None, :]
    remainder = (family.loglik(eta[:, None] + z, y[:, None], n[:, None])
                 - family.loglik(eta, y, n)[:, None] - grad[:, None] * z
                 + 0.5 * d[:, None] * z * z)
    expected = np.log(np.exp(remainder) @ weights)
    np.testing.assert_allclose(own_terms(family.compiled, eta, var, y, n, grad, d, nodes,
                                         weights), expected, rtol=1e-10, atol=1e-12)
    first, second = link_moments(family.compiled, np.ones(1), eta[None, :],
                                 np.sqrt(var)[None, :], nodes, weights)
    g = family.inverse_link(eta[:, None] + z)
    np.testing.assert_allclose(first, g @ weights, rtol=1e-12)
    np.testing.assert_allclose(second, (g * g) @ weights, rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_fit_recovers_known_coefficients(name):
    """Simulated areas (known beta, sigma_u): the posterior of beta covers the truth."""
    family = FAMILIES[name]
    rng = np.random.default_rng(11)
    m = 150
    x = np.column_stack([np.ones(m), rng.normal(size=m)])
    beta, sigma = np.array([-2.0, 0.5]), 0.4
    n = rng.integers(50, 400, m).astype(float)
    y = family.sample(x @ beta + rng.normal(scale=sigma, size=m), n, rng)
    hyper = fit_hyperparameters(family, x, y, n)
    mean = hyper.weights @ hyper.betas
    cov = (np.einsum("k,kij->ij", hyper.weights, hyper.covs)
           + np.einsum("k,ki,kj->ij", hyper.weights, hyper.betas - mean, hyper.betas - mean))
    z = (mean - beta) / np.sqrt(np.diag(cov))
    assert hyper.converged and np.all(np.abs(z) < 3.5), z
    sigma_mode = float(np.exp(hyper.mode))
    assert 0.5 * sigma < sigma_mode < 1.6 * sigma


@pytest.mark.parametrize("name", NAMES)
def test_uninformative_data_are_refused(name):
    family = FAMILIES[name]
    with pytest.raises(EstimationError, match="no finite estimate"):
        family.check_informative(np.zeros(5), np.full(5, 10.0), "test model")
