"""Sparse Cholesky factorisation with log-determinant, solves and selected inversion.

The spatial models at MSOA scale (thousands of areas) work with sparse precision matrices
(a SAR or ICAR precision plus a diagonal). What they need from a factorisation is

* ``log |A|`` (for the likelihood),
* solves ``A^{-1} b``,
* entries of ``A^{-1}`` on the sparsity pattern of the factor, in particular its diagonal
  (posterior variances) and the entries on the pattern of ``A`` (traces ``tr(A^{-1} B)``),
* draws from ``N(0, A^{-1})``.

SciPy has no sparse Cholesky, but SuperLU in symmetric mode (a fill-reducing minimum-degree
ordering of ``A + A^T`` applied to rows and columns alike, no pivoting) factors a symmetric
positive-definite matrix as ``P A P^T = L D L^T`` with ``L`` unit lower triangular. The selected
inverse follows from the Takahashi recursions (Takahashi, Fagan & Chin 1973; Rue & Martino 2007,
sec. 2): for columns ``j`` from last to first,

$$
\\Sigma_{ij} = -\\sum_{k > j} L_{kj} \\Sigma_{ik} \\quad (i > j), \\qquad
\\Sigma_{jj} = 1 / D_j - \\sum_{k > j} L_{kj} \\Sigma_{kj},
$$

where the sums run over the non-zeros of column ``j`` of ``L``. Because the non-zero rows of a
column of a Cholesky factor form a clique in the filled graph, every ``\\Sigma_{ik}`` needed lies
on the pattern of ``L`` itself, so the cost is that of the factorisation, not of a dense inverse.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

__all__ = ["SparseCholesky"]


@numba.njit(cache=True)
def _takahashi(indptr: np.ndarray, indices: np.ndarray, lower: np.ndarray,
               pivots: np.ndarray) -> tuple[np.ndarray, bool]:
    """Selected inverse on the pattern of a unit lower-triangular CSC factor ``L`` (LDL^T).

    Row indices must be sorted within columns with the diagonal first. Returns the inverse's
    entries aligned with ``indices`` and ``False`` if the pattern was not closed (an entry the
    recursion needs is missing), which would make the result wrong.
    """
    n = indptr.shape[0] - 1
    z = np.zeros(lower.shape[0])
    widest = 0
    for j in range(n):
        widest = max(widest, indptr[j + 1] - indptr[j] - 1)
    block = np.empty((widest, widest))
    for j in range(n - 1, -1, -1):
        start = indptr[j] + 1
        stop = indptr[j + 1]
        width = stop - start
        # block[a, b] = Sigma[rows[a], rows[b]] for the rows below the diagonal of column j
        for a in range(width):
            column = indices[start + a]
            q = indptr[column]
            end = indptr[column + 1]
            for b in range(a, width):
                row = indices[start + b]
                while q < end and indices[q] < row:
                    q += 1
                if q == end or indices[q] != row:
                    return z, False
                block[a, b] = z[q]
                block[b, a] = z[q]
        diagonal = 1.0 / pivots[j]
        for a in range(width):
            total = 0.0
            for b in range(width):
                total += block[a, b] * lower[start + b]
            z[start + a] = -total
            diagonal += total * lower[start + a]
        z[indptr[j]] = diagonal
    return z, True


@numba.njit(cache=True)
def _ldl_solve(indptr: np.ndarray, indices: np.ndarray, lower: np.ndarray, pivots: np.ndarray,
               rhs: np.ndarray) -> np.ndarray:
    """Solve ``L D L^T x = rhs`` in place order for unit lower-triangular CSC ``L``; (n, k)."""
    n = indptr.shape[0] - 1
    x = rhs.copy()
    k = x.shape[1]
    for j in range(n):
        for p in range(indptr[j] + 1, indptr[j + 1]):
            i = indices[p]
            v = lower[p]
            for c in range(k):
                x[i, c] -= v * x[j, c]
    for j in range(n):
        inv = 1.0 / pivots[j]
        for c in range(k):
            x[j, c] *= inv
    for j in range(n - 1, -1, -1):
        for p in range(indptr[j] + 1, indptr[j + 1]):
            i = indices[p]
            v = lower[p]
            for c in range(k):
                x[j, c] -= v * x[i, c]
    return x


@numba.njit(cache=True)
def _symbolic_cholesky(indptr: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pattern of the Cholesky factor of a symmetric pattern (CSC, both triangles).

    Elimination tree by Liu's algorithm with path compression, then the row subtrees: row
    ``i`` of ``L`` holds every node on the tree paths from the columns ``k < i`` of row ``i``
    of ``A`` up to ``i``. Returns CSC ``indptr``/``indices`` of ``L`` with the diagonal first
    and rows sorted within columns.
    """
    n = indptr.shape[0] - 1
    parent = -np.ones(n, dtype=np.int64)
    ancestor = -np.ones(n, dtype=np.int64)
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            k = indices[p]
            while k != -1 and k < i:
                nxt = ancestor[k]
                ancestor[k] = i
                if nxt == -1:
                    parent[k] = i
                k = nxt
    mark = -np.ones(n, dtype=np.int64)
    counts = np.ones(n, dtype=np.int64)            # the diagonal
    for i in range(n):
        mark[i] = i
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            while j != -1 and j < i and mark[j] != i:
                counts[j] += 1
                mark[j] = i
                j = parent[j]
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    out_ptr[1:] = np.cumsum(counts)
    out_idx = np.empty(out_ptr[n], dtype=np.int64)
    fill = out_ptr[:-1].copy()
    for j in range(n):
        out_idx[fill[j]] = j
        fill[j] += 1
    mark[:] = -1
    for i in range(n):
        mark[i] = i
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            while j != -1 and j < i and mark[j] != i:
                out_idx[fill[j]] = i
                fill[j] += 1
                mark[j] = i
                j = parent[j]
    return out_ptr, out_idx


@numba.njit(cache=True)
def _upper_unit_solve(indptr: np.ndarray, indices: np.ndarray, lower: np.ndarray,
                      rhs: np.ndarray) -> np.ndarray:
    """Solve ``L^T x = rhs`` for unit lower-triangular CSC ``L``; ``rhs`` is (n, k)."""
    n = indptr.shape[0] - 1
    x = rhs.copy()
    for j in range(n - 1, -1, -1):
        for p in range(indptr[j] + 1, indptr[j + 1]):
            i = indices[p]
            for c in range(x.shape[1]):
                x[j, c] -= lower[p] * x[i, c]
    return x


def _canonical_csc(matrix: sp.sparray | sp.spmatrix) -> sp.csc_array:
    """CSC copy with sorted indices and no duplicates (explicitly stored zeros are kept)."""
    a = sp.csc_array(matrix, dtype=float, copy=True)
    a.sum_duplicates()
    return a


@dataclasses.dataclass(frozen=True)
class _Layout:
    """A CSC pattern in a symmetric ordering: where its entries go and the factor's pattern.

    ``perm[i]`` is the position of original index ``i``; the permuted matrix has data
    ``a.data[gather]`` on ``(p_indptr, p_indices)``; ``(l_indptr, l_indices)`` is the symbolic
    Cholesky factor of that pattern (diagonal first, rows sorted).
    """

    perm: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    gather: np.ndarray
    p_indptr: np.ndarray
    p_indices: np.ndarray
    l_indptr: np.ndarray
    l_indices: np.ndarray

    @classmethod
    def build(cls, a: sp.csc_array, perm: np.ndarray) -> _Layout:
        n = a.shape[0]
        cols = np.repeat(np.arange(n, dtype=np.int64), np.diff(a.indptr))
        rows_p, cols_p = perm[a.indices], perm[cols]
        gather = np.argsort(cols_p * n + rows_p)          # CSC order: column, then row
        p_indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols_p, minlength=n), out=p_indptr[1:])
        p_indices = rows_p[gather]
        l_indptr, l_indices = _symbolic_cholesky(p_indptr, p_indices)
        return cls(perm, a.indptr.copy(), a.indices.copy(), gather, p_indptr, p_indices,
                   l_indptr, l_indices)

    def matches(self, a: sp.csc_array) -> bool:
        return (np.array_equal(a.indptr, self.indptr)
                and np.array_equal(a.indices, self.indices))

    def permuted(self, a: sp.csc_array) -> sp.csc_array:
        out = sp.csc_array((a.data[self.gather], self.p_indices, self.p_indptr),
                           shape=a.shape)
        out.has_sorted_indices = True
        return out


class SparseCholesky:
    """Factorisation ``P A P^T = L D L^T`` of a sparse symmetric positive-definite matrix.

    Parameters
    ----------
    matrix : sparse array or matrix, shape (n, n)
        Symmetric positive definite. Only its values are used as given (symmetry is the
        caller's responsibility; the factorisation uses both triangles). Explicitly stored
        zeros count as part of the pattern.
    ordering : ndarray of int, shape (n,), optional
        A fill-reducing ordering to reuse (the [`ordering`][ordering] of an earlier factorisation
        of a matrix with the same pattern): original index ``i`` goes to position
        ``ordering[i]``. By default a minimum-degree ordering of ``A + A^T`` is computed.
        A loop over values on one pattern should rather use [`refactor`][refactor], which also
        keeps the symbolic analysis (together about half the cost of a factorisation).

    Raises
    ------
    numpy.linalg.LinAlgError
        If the matrix is not positive definite (a non-positive pivot).

    Notes
    -----
    SciPy drops entries of SuperLU's factor that are exactly zero. On very regular graphs (a
    square grid at some values of a SAR parameter) a structural fill entry cancels exactly,
    and the selected inversion would then miss an entry it needs. The factor is therefore
    put back on its full symbolic pattern, computed from the elimination tree, with the
    dropped entries restored as explicit zeros.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> a = sp.csc_array(np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]]))
    >>> chol = SparseCholesky(a)
    >>> bool(np.isclose(chol.logdet, np.log(np.linalg.det(a.toarray()))))
    True
    >>> bool(np.allclose(chol.inverse_diagonal(), np.diag(np.linalg.inv(a.toarray()))))
    True
    >>> again = chol.refactor(2 * a)
    >>> bool(np.isclose(again.logdet, chol.logdet + 3 * np.log(2)))
    True
    """

    def __init__(self, matrix: sp.sparray | sp.spmatrix,
                 ordering: np.ndarray | None = None) -> None:
        a = _canonical_csc(matrix)
        self.n = a.shape[0]
        self._factorise(a, None if ordering is None
                        else _Layout.build(a, np.asarray(ordering, dtype=np.int64)))

    def refactor(self, matrix: sp.sparray | sp.spmatrix) -> SparseCholesky:
        """Factorisation of another matrix with the same pattern, reusing this one's analysis.

        The ordering, the placement of the entries in it and the symbolic factor are kept, so
        only the numerical factorisation is repeated: for a loop over values on one pattern
        (a grid of hyperparameters). A matrix with a different pattern is still factorised
        correctly, with this ordering.
        """
        a = _canonical_csc(matrix)
        layout = self._layout if self._layout.matches(a) else _Layout.build(a, self._perm)
        new = SparseCholesky.__new__(SparseCholesky)
        new.n = self.n
        new._factorise(a, layout)
        return new

    def _factorise(self, a: sp.csc_array, layout: _Layout | None) -> None:
        """Factor ``a`` (canonical CSC) in ``layout``'s ordering, or a minimum-degree one."""
        options = {"diag_pivot_thresh": 0.0, "options": {"SymmetricMode": True}}
        if layout is None:
            lu = splu(a, permc_spec="MMD_AT_PLUS_A", **options)
            given = np.arange(self.n, dtype=np.int64)
        else:
            lu = splu(layout.permuted(a), permc_spec="NATURAL", **options)
            given = layout.perm
        pivots = lu.U.diagonal()
        if not np.array_equal(lu.perm_r, lu.perm_c) or not np.all(pivots > 0):
            raise np.linalg.LinAlgError("matrix is not symmetric positive definite")
        step = np.asarray(lu.perm_c, dtype=np.int64)
        if layout is None or not np.array_equal(step, np.arange(self.n)):
            # SuperLU chose or post-ordered the ordering: lay the pattern out in its final one
            layout = _Layout.build(a, step[given])
        self._layout = layout
        # original index i sits at position perm[i] of the factorised ordering
        self._perm = layout.perm
        self._indptr, self._indices = layout.l_indptr, layout.l_indices
        lower = sp.csc_array(lu.L)
        lower.sort_indices()
        self._lower = _on_pattern(self._indptr, self._indices, lower)
        self._pivots = pivots
        self._selected: np.ndarray | None = None

    @property
    def ordering(self) -> np.ndarray:
        """The ordering used: original index ``i`` sits at position ``ordering[i]``."""
        return self._perm.copy()

    @property
    def logdet(self) -> float:
        """``log |A|``."""
        return float(np.sum(np.log(self._pivots)))

    @property
    def nnz(self) -> int:
        """Number of entries of the factor's symbolic pattern (fill included)."""
        return int(self._indices.shape[0])

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """``A^{-1} rhs`` for a vector (n,) or a matrix (n, k)."""
        b = np.asarray(rhs, dtype=float)
        flat = b.ndim == 1
        b2 = b[:, None] if flat else b
        permuted = np.empty_like(b2)
        permuted[self._perm] = b2
        x = _ldl_solve(self._indptr, self._indices, self._lower, self._pivots,
                       np.ascontiguousarray(permuted))[self._perm]
        return x[:, 0] if flat else x

    def _selected_values(self) -> np.ndarray:
        if self._selected is None:
            values, closed = _takahashi(self._indptr, self._indices, self._lower, self._pivots)
            if not closed:  # pragma: no cover - the symbolic pattern is closed by construction
                raise np.linalg.LinAlgError("factor pattern is not closed under elimination")
            self._selected = values
        return self._selected

    def inverse_diagonal(self) -> np.ndarray:
        """``diag(A^{-1})``, exact, in the original ordering."""
        values = self._selected_values()
        return values[self._indptr[:-1]][self._perm]

    def inverse_on(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Entries of ``A^{-1}`` at ``(rows, cols)``, which must lie on the pattern of ``A``.

        Raises
        ------
        numpy.linalg.LinAlgError
            If an entry is off the factor's pattern (its value is not computed).
        """
        pr, pc = self._perm[np.asarray(rows)], self._perm[np.asarray(cols)]
        lo, hi = np.minimum(pr, pc), np.maximum(pr, pc)
        keys = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self._indptr)) * self.n
        keys += self._indices
        wanted = lo.astype(np.int64) * self.n + hi
        pos = np.searchsorted(keys, wanted)
        if np.any(pos >= keys.size) or np.any(keys[np.minimum(pos, keys.size - 1)] != wanted):
            raise np.linalg.LinAlgError("requested entries are off the factor's pattern")
        return self._selected_values()[pos]

    def selected_inverse(self) -> sp.csr_array:
        """Entries of ``A^{-1}`` on the pattern of ``L + L^T`` (which contains that of ``A``).

        Returned in the original ordering as a symmetric sparse array; entries off the pattern
        are *not* zero in ``A^{-1}``, they are simply not computed.
        """
        values = self._selected_values()
        counts = np.diff(self._indptr)
        cols = np.repeat(np.arange(self.n), counts)
        rows = self._indices
        inverse_perm = np.empty(self.n, dtype=np.int64)
        inverse_perm[self._perm] = np.arange(self.n)
        r, c = inverse_perm[rows], inverse_perm[cols]
        off = rows != cols
        out = sp.coo_array((np.r_[values, values[off]], (np.r_[r, c[off]], np.r_[c, r[off]])),
                           shape=(self.n, self.n))
        return out.tocsr()

    def trace_inverse_product(self, other: sp.sparray | sp.spmatrix) -> float:
        """``tr(A^{-1} B)`` for a symmetric sparse ``B`` whose pattern lies within ``A``'s."""
        b = sp.coo_array(other)
        return float(np.sum(b.data * self.inverse_on(b.row, b.col)))

    def sample(self, rng: np.random.Generator, size: int = 1) -> np.ndarray:
        """Draws from ``N(0, A^{-1})``, shape (size, n)."""
        z = rng.standard_normal((self.n, size)) / np.sqrt(self._pivots)[:, None]
        x = _upper_unit_solve(self._indptr, self._indices, self._lower, z)
        return x[self._perm].T


def _on_pattern(indptr: np.ndarray, indices: np.ndarray, lower: sp.csc_array) -> np.ndarray:
    """The values of ``lower`` placed on the (larger) symbolic pattern ``indptr, indices``."""
    if lower.nnz == indices.shape[0]:        # nothing dropped: the patterns coincide
        return lower.data
    n = indptr.shape[0] - 1
    full_keys = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr)) * n + indices
    keys = (np.repeat(np.arange(n, dtype=np.int64), np.diff(lower.indptr)) * n
            + lower.indices.astype(np.int64))
    pos = np.searchsorted(full_keys, keys)
    if np.any(pos >= full_keys.size) or np.any(full_keys[np.minimum(pos, full_keys.size - 1)]
                                               != keys):
        raise np.linalg.LinAlgError("factor entries outside the symbolic pattern")
    values = np.zeros(full_keys.shape[0])
    values[pos] = lower.data
    return values
