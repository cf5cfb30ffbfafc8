"""Sparse Cholesky with selected inversion, checked against dense linear algebra."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from crimestats.sae._engine.sparse_cholesky import SparseCholesky


def grid_precision(side: int, rho: float, rng: np.random.Generator, dense_rows: int = 0
                   ) -> sp.csc_array:
    """SAR precision on a rook grid plus a diagonal, optionally bordered by dense rows."""
    m = side * side
    idx = np.arange(m).reshape(side, side)
    pairs = np.r_[np.c_[idx[:, :-1].ravel(), idx[:, 1:].ravel()],
                  np.c_[idx[:-1].ravel(), idx[1:].ravel()]]
    c = sp.coo_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
    c = (c + c.T).tocsr()
    w = sp.diags_array(1 / c.sum(axis=1)) @ c
    a = sp.eye_array(m) - rho * w
    h = a.T @ a + sp.diags_array(rng.uniform(0.5, 2.0, m))
    if dense_rows:
        x = rng.normal(size=(m, dense_rows))
        h = sp.block_array([[h, sp.csc_array(x)],
                            [sp.csc_array(x.T), sp.csc_array(x.T @ x + np.eye(dense_rows))]])
    return sp.csc_array(h)


@pytest.mark.parametrize("dense_rows", [0, 3])
def test_matches_dense_inverse(dense_rows: int) -> None:
    h = grid_precision(12, 0.7, np.random.default_rng(1), dense_rows)
    dense = h.toarray()
    inverse = np.linalg.inv(dense)
    chol = SparseCholesky(h)
    np.testing.assert_allclose(chol.logdet, np.linalg.slogdet(dense)[1], rtol=1e-12)
    np.testing.assert_allclose(chol.inverse_diagonal(), np.diag(inverse), rtol=1e-11)
    selected = chol.selected_inverse()
    rows, cols = selected.nonzero()
    np.testing.assert_allclose(selected.toarray()[rows, cols], inverse[rows, cols], rtol=1e-9,
                               atol=1e-13)
    # the pattern of A is covered, so traces against A's pattern are exact
    assert np.all(selected.toarray()[h.nonzero()] != 0)
    np.testing.assert_allclose(chol.trace_inverse_product(h), h.shape[0], rtol=1e-12)
    rhs = np.random.default_rng(2).normal(size=(h.shape[0], 2))
    np.testing.assert_allclose(chol.solve(rhs), inverse @ rhs, rtol=1e-10, atol=1e-12)


def test_draws_have_the_inverse_as_covariance() -> None:
    h = grid_precision(4, 0.5, np.random.default_rng(3))
    target = np.linalg.inv(h.toarray())
    draws = SparseCholesky(h).sample(np.random.default_rng(4), size=40_000)
    assert draws.shape == (40_000, 16)
    # Monte Carlo SE of a variance estimate is sqrt(2 / n) relative: 0.7% here; allow 4 SEs
    np.testing.assert_allclose(draws.var(axis=0), np.diag(target), rtol=0.03)
    np.testing.assert_allclose(np.cov(draws.T)[0, 1], target[0, 1], atol=0.03 * target[0, 0])
    again = SparseCholesky(h).sample(np.random.default_rng(4), size=40_000)
    np.testing.assert_array_equal(again, draws)


def test_rejects_indefinite_matrix() -> None:
    with pytest.raises(np.linalg.LinAlgError):
        SparseCholesky(sp.csc_array(np.array([[1.0, 2.0], [2.0, 1.0]])))


def test_reused_ordering_gives_the_same_factorisation() -> None:
    rng = np.random.default_rng(5)
    h = grid_precision(10, 0.6, rng, dense_rows=2)
    first = SparseCholesky(h)
    other = sp.csc_array(h + sp.diags_array(rng.uniform(0.1, 1.0, h.shape[0])))
    reused = SparseCholesky(other, ordering=first.ordering)
    fresh = SparseCholesky(other)
    np.testing.assert_allclose(reused.logdet, fresh.logdet, rtol=1e-13)
    np.testing.assert_allclose(reused.inverse_diagonal(), fresh.inverse_diagonal(), rtol=1e-11)
    rows, cols = other.nonzero()
    np.testing.assert_allclose(reused.inverse_on(rows, cols),
                               np.linalg.inv(other.toarray())[rows, cols], rtol=1e-9, atol=1e-13)
    # an arbitrary (poor) ordering is still exact, only slower
    shuffled = rng.permutation(h.shape[0])
    np.testing.assert_allclose(SparseCholesky(other, ordering=shuffled).inverse_diagonal(),
                               fresh.inverse_diagonal(), rtol=1e-10)


def test_entries_off_the_pattern_are_refused() -> None:
    h = grid_precision(6, 0.5, np.random.default_rng(6))
    with pytest.raises(np.linalg.LinAlgError, match="off the factor"):
        SparseCholesky(h).inverse_on(np.array([0]), np.array([35]))


def test_refactor_reuses_the_analysis_and_stays_exact() -> None:
    rng = np.random.default_rng(7)
    h = grid_precision(9, 0.6, rng, dense_rows=2)
    first = SparseCholesky(h)
    same_pattern = sp.csc_array(h + sp.diags_array(rng.uniform(0.1, 1.0, h.shape[0])))
    again = first.refactor(same_pattern)
    assert again._layout is first._layout                 # no new symbolic analysis
    dense = same_pattern.toarray()
    np.testing.assert_allclose(again.logdet, np.linalg.slogdet(dense)[1], rtol=1e-12)
    np.testing.assert_allclose(again.inverse_diagonal(), np.diag(np.linalg.inv(dense)),
                               rtol=1e-11)
    # another pattern (an extra pair of entries) is laid out afresh, in the same ordering
    extra = sp.lil_array(same_pattern)
    extra[0, 40] = extra[40, 0] = 0.05
    other = first.refactor(sp.csc_array(extra))
    assert other._layout is not first._layout
    np.testing.assert_array_equal(other.ordering, first.ordering)
    np.testing.assert_allclose(other.inverse_diagonal(),
                               np.diag(np.linalg.inv(extra.toarray())), rtol=1e-11)
