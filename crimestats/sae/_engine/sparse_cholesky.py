"""Sparse Cholesky factorisation with log-determinant, solves and selected inversion.

The spatial models at national scale (tens of thousands of areas) work with sparse precision
matrices (a SAR or ICAR precision plus a diagonal). What they need from a factorisation is

* ``log |A|`` (for the likelihood),
* solves ``A^{-1} b``,
* entries of ``A^{-1}`` on the sparsity pattern of the factor, in particular its diagonal
  (posterior variances) and the entries on the pattern of ``A`` (traces ``tr(A^{-1} B)``),
* draws from ``N(0, A^{-1})``,

many times over on one pattern (a grid of hyperparameters). SciPy has no sparse Cholesky, and
scikit-sparse (CHOLMOD) has no wheels, so this module has its own, compiled with numba:

* **Ordering**: a fill-reducing minimum-degree ordering of ``A + A^T`` from SuperLU (SciPy's
  ``splu`` in symmetric mode), computed once per pattern and reusable (``ordering=``,
  [`refactor`][refactor]).
* **Symbolic analysis**, once per pattern: the elimination tree and the pattern of the factor
  (Liu's algorithm with path compression, then row subtrees), and its *fundamental supernodes*:
  runs of consecutive columns with nested patterns, stored as dense column-major blocks.
* **Numerical factorisation** ``P A P^T = L L^T``, supernode by supernode (right-looking): a
  dense Cholesky of the supernode's panel, then its outer-product update scattered into the
  later supernodes (a BLAS matrix product for large blocks).
* **Selected inversion** by the Takahashi recursions in block form (Takahashi, Fagan & Chin 1973;
  Rue & Martino 2007, sec. 2; Lin et al. 2011): from the last supernode to the first, with
  $\\hat L = L_{Rs} L_{ss}^{-1}$,

$$
\\Sigma_{Rs} = -\\Sigma_{RR} \\hat L, \\qquad
\\Sigma_{ss} = L_{ss}^{-\\top} L_{ss}^{-1} - \\hat L^\\top \\Sigma_{Rs},
$$

  where $s$ are the supernode's columns and $R$ the rows of its pattern below them. The rows
  of a column of a Cholesky factor form a clique in the filled graph, so $\\Sigma_{RR}$ lies on
  the pattern of ``L`` already computed, and the cost is that of the factorisation, not of a
  dense inverse.

Every compiled kernel releases the GIL, so factorisations at different hyperparameters can run
in parallel threads.

References
----------
Takahashi, K., Fagan, J. and Chin, M.-S. (1973). Formation of a sparse bus impedance matrix and
its application to short circuit study. *8th PICA Conference Proceedings*, 63–69.

Rue, H. and Martino, S. (2007). Approximate Bayesian inference for hierarchical Gaussian Markov
random field models. *J. Statist. Plann. Inference* 137, 3177–3192.

Lin, L., Yang, C., Meza, J. C., Lu, J., Ying, L. and E, W. (2011). SelInv: an algorithm for
selected inversion of a sparse symmetric matrix. *ACM Trans. Math. Software* 37, 40.
"""

from __future__ import annotations

import dataclasses
import math

import numba
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

__all__ = ["SparseCholesky"]

@numba.njit(cache=True, nogil=True)
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


@numba.njit(cache=True, nogil=True)
def _supernodes(indptr: np.ndarray, indices: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fundamental supernodes of a factor pattern (CSC, diagonal first, rows sorted).

    Column ``j`` joins the supernode of ``j - 1`` when it is the parent of ``j - 1`` in the
    elimination tree and its pattern is that of ``j - 1`` without ``j - 1``; a supernode's rows
    are then those of its first column. Returns the first column of each supernode (``n``
    appended), the supernode of each column, and the offset of each supernode's dense
    column-major block (rows of its first column × its columns) in the value array.
    """
    n = indptr.shape[0] - 1
    first = np.ones(n, dtype=np.bool_)
    for j in range(1, n):
        before = indptr[j] - indptr[j - 1]
        if (before > 1 and indices[indptr[j - 1] + 1] == j
                and before == indptr[j + 1] - indptr[j] + 1):
            first[j] = False
    count = 0
    for j in range(n):
        count += first[j]
    super_ptr = np.empty(count + 1, dtype=np.int64)
    col_super = np.empty(n, dtype=np.int64)
    s = -1
    for j in range(n):
        if first[j]:
            s += 1
            super_ptr[s] = j
        col_super[j] = s
    super_ptr[count] = n
    block_ptr = np.zeros(count + 1, dtype=np.int64)
    for s in range(count):
        f = super_ptr[s]
        block_ptr[s + 1] = block_ptr[s] + (indptr[f + 1] - indptr[f]) * (super_ptr[s + 1] - f)
    return super_ptr, col_super, block_ptr


@numba.njit(cache=True, nogil=True)
def _relative_rows(indptr: np.ndarray, indices: np.ndarray, super_ptr: np.ndarray,
                   col_super: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                   np.ndarray, np.ndarray]:
    """Where each supernode's update lands in the later supernodes (symbolic, once).

    The rows ``R`` below a supernode's diagonal block are split in *groups* of consecutive
    rows whose columns belong to one later supernode ``t``; the update of columns ``R[c]``
    of a group goes to the rows ``R[a]``, ``a >= c``, of ``t``. Returns ``group_ptr`` (the
    groups of each supernode), each group's first ``c`` (with one past the last appended per
    supernode: ``group_first[g + 1]`` ends group ``g`` within its supernode) and target
    ``t``, and ``rel``: for group ``g`` starting at ``c0``, ``rel[rel_ptr[g] + a - c0]`` is
    the position of ``R[a]`` among the rows of ``t``.
    """
    n = col_super.shape[0]
    ns = super_ptr.shape[0] - 1
    group_ptr = np.zeros(ns + 1, dtype=np.int64)
    total_groups = 0
    total_rel = 0
    for s in range(ns):
        f = super_ptr[s]
        w = super_ptr[s + 1] - f
        r0 = indptr[f]
        nb = indptr[f + 1] - r0 - w
        previous = -1
        for c in range(nb):
            t = col_super[indices[r0 + w + c]]
            if t != previous:
                total_groups += 1
                total_rel += nb - c
                previous = t
        group_ptr[s + 1] = total_groups
    group_first = np.empty(total_groups + ns, dtype=np.int64)   # room for the end markers
    group_target = np.empty(total_groups, dtype=np.int64)
    rel_ptr = np.empty(total_groups + 1, dtype=np.int64)
    rel = np.empty(total_rel, dtype=np.int64)
    relpos = np.zeros(n, dtype=np.int64)
    g = 0
    at = 0
    for s in range(ns):
        f = super_ptr[s]
        w = super_ptr[s + 1] - f
        r0 = indptr[f]
        nb = indptr[f + 1] - r0 - w
        previous = -1
        for c in range(nb):
            t = col_super[indices[r0 + w + c]]
            if t != previous:
                previous = t
                t0 = indptr[super_ptr[t]]
                for k in range(indptr[super_ptr[t] + 1] - t0):
                    relpos[indices[t0 + k]] = k
                group_first[g + s] = c
                group_target[g] = t
                rel_ptr[g] = at
                for a in range(c, nb):
                    rel[at] = relpos[indices[r0 + w + a]]
                    at += 1
                g += 1
        group_first[g + s] = nb
    rel_ptr[total_groups] = at
    return group_ptr, group_first, group_target, rel, rel_ptr


@numba.njit(cache=True, nogil=True)
def _block_places(indptr: np.ndarray, indices: np.ndarray, super_ptr: np.ndarray,
                  col_super: np.ndarray, block_ptr: np.ndarray, rows: np.ndarray,
                  cols: np.ndarray) -> np.ndarray:
    """Position in the supernodal value array of each entry ``(rows[k] >= cols[k])``."""
    out = np.empty(rows.shape[0], dtype=np.int64)
    for k in range(rows.shape[0]):
        i, j = rows[k], cols[k]
        s = col_super[j]
        f = super_ptr[s]
        nr = indptr[f + 1] - indptr[f]
        lo, hi = indptr[j], indptr[j + 1]
        while lo < hi:                                  # binary search for row i in column j
            mid = (lo + hi) // 2
            if indices[mid] < i:
                lo = mid + 1
            else:
                hi = mid
        out[k] = block_ptr[s] + (j - f) * nr + (j - f) + lo - indptr[j]
    return out


@numba.njit(cache=True, nogil=True)
def _widest(indptr: np.ndarray, super_ptr: np.ndarray) -> tuple[int, int]:
    """Largest number of columns and of rows below the diagonal block among the supernodes."""
    columns = rows = 0
    for s in range(super_ptr.shape[0] - 1):
        f = super_ptr[s]
        w = super_ptr[s + 1] - f
        columns = max(columns, w)
        rows = max(rows, indptr[f + 1] - indptr[f] - w)
    return columns, rows


@numba.njit(cache=True, nogil=True)
def _add_products(target: np.ndarray, row: int, start: int, stop: int, weights: np.ndarray,
                  column: int, first: int, last: int, rows: np.ndarray, offset: int,
                  scale: float) -> None:
    """``target[row, a] += scale * sum_k weights[k, column] * rows[k, a + offset]``.

    For ``a`` in ``[start, stop)`` and ``k`` in ``[first, last)``, four ``k`` at a time so that
    ``target`` is read and written once per four products (these loops are otherwise limited
    by memory traffic, not arithmetic). Plain 2-D indexing: no array views are made, which
    would cost more than the arithmetic for the many small supernodes.
    """
    k = first
    while k + 4 <= last:
        v0, v1 = scale * weights[k, column], scale * weights[k + 1, column]
        v2, v3 = scale * weights[k + 2, column], scale * weights[k + 3, column]
        for a in range(start, stop):
            b = a + offset
            target[row, a] += (v0 * rows[k, b] + v1 * rows[k + 1, b] + v2 * rows[k + 2, b]
                               + v3 * rows[k + 3, b])
        k += 4
    while k < last:
        v = scale * weights[k, column]
        if v != 0.0:
            for a in range(start, stop):
                target[row, a] += v * rows[k, a + offset]
        k += 1


@numba.njit(cache=True, nogil=True)
def _supernodal_factor(indptr: np.ndarray, indices: np.ndarray, super_ptr: np.ndarray,
                       block_ptr: np.ndarray, group_ptr: np.ndarray, group_first: np.ndarray,
                       group_target: np.ndarray, rel: np.ndarray, rel_ptr: np.ndarray,
                       blocks: np.ndarray) -> bool:
    """Cholesky factor ``L`` in place of the lower triangle of ``A`` in supernodal blocks.

    Right-looking over supernodes: each supernode's panel is factorised densely (left-looking
    within it), then its outer product ``B B^T`` (``B`` the rows below the diagonal block) is
    subtracted from the supernodes that own those rows' columns. Returns ``False`` at a
    non-positive pivot (not positive definite).
    """
    ns = super_ptr.shape[0] - 1
    _, deepest = _widest(indptr, super_ptr)
    update = np.empty((deepest, deepest))         # update[c, a] = (B B^T)[a, c], a >= c
    for s in range(ns):
        f = super_ptr[s]
        w = super_ptr[s + 1] - f
        r0 = indptr[f]
        nr = indptr[f + 1] - r0
        base = block_ptr[s]
        panel = blocks[base:base + nr * w].reshape((w, nr))      # row c = column c of L
        for c in range(w):                        # left-looking Cholesky of the panel
            _add_products(panel, c, c, nr, panel, c, 0, c, panel, 0, -1.0)
            d = panel[c, c]
            if not d > 0.0:
                return False
            d = math.sqrt(d)
            panel[c, c] = d
            inv = 1.0 / d
            for i in range(c + 1, nr):
                panel[c, i] *= inv
        nb = nr - w
        if nb == 0:
            continue
        for c in range(nb):                       # B B^T, upper triangle of update
            for a in range(c, nb):
                update[c, a] = 0.0
            _add_products(update, c, c, nb, panel, w + c, 0, w, panel, w, 1.0)
        for g in range(group_ptr[s], group_ptr[s + 1]):     # scatter into later supernodes
            t = group_target[g]
            tf = super_ptr[t]
            tnr = indptr[tf + 1] - indptr[tf]
            c0, c1 = group_first[g + s], group_first[g + s + 1]
            at = rel_ptr[g] - c0
            for c in range(c0, c1):
                column = block_ptr[t] + (indices[r0 + w + c] - tf) * tnr
                for a in range(c, nb):
                    blocks[column + rel[at + a]] -= update[c, a]
    return True


@numba.njit(cache=True, nogil=True)
def _supernodal_selinv(indptr: np.ndarray, indices: np.ndarray, super_ptr: np.ndarray,
                       block_ptr: np.ndarray, group_ptr: np.ndarray, group_first: np.ndarray,
                       group_target: np.ndarray, rel: np.ndarray, rel_ptr: np.ndarray,
                       blocks: np.ndarray) -> np.ndarray:
    """Entries of ``A^{-1}`` on the factor's pattern, in the layout of the factor's blocks.

    For each supernode from the last: ``inv`` the inverse of its diagonal block ``L_ss``,
    ``hat = L_Rs inv``, ``known = Sigma_RR`` gathered from the later supernodes,
    ``cross = known hat``; then ``Sigma_Rs = -cross`` and
    ``Sigma_ss = inv^T inv + hat^T cross``. ``hat`` and ``cross`` are held transposed (one
    row per column of the supernode) so that the products run along contiguous rows.
    """
    ns = super_ptr.shape[0] - 1
    sigma = np.zeros_like(blocks)
    widest, deepest = _widest(indptr, super_ptr)
    inv = np.zeros((widest, widest))
    hat_t = np.empty((widest, deepest))
    cross_t = np.empty((widest, deepest))
    known = np.empty((deepest, deepest))
    for s in range(ns - 1, -1, -1):
        f = super_ptr[s]
        w = super_ptr[s + 1] - f
        r0 = indptr[f]
        nr = indptr[f + 1] - r0
        nb = nr - w
        base = block_ptr[s]
        panel = blocks[base:base + nr * w].reshape((w, nr))
        for c in range(w):                        # inverse of the lower-triangular L_ss
            inv[c, c] = 1.0 / panel[c, c]
            for i in range(c + 1, w):
                total = 0.0
                for k in range(c, i):
                    total += panel[k, i] * inv[k, c]
                inv[i, c] = -total / panel[i, i]
        for c in range(w):                        # hat^T = inv^T L_Rs^T
            for a in range(nb):
                hat_t[c, a] = 0.0
            _add_products(hat_t, c, 0, nb, inv, c, c, w, panel, w, 1.0)
        for g in range(group_ptr[s], group_ptr[s + 1]):     # Sigma_RR from later supernodes
            t = group_target[g]
            tf = super_ptr[t]
            tnr = indptr[tf + 1] - indptr[tf]
            c0, c1 = group_first[g + s], group_first[g + s + 1]
            at = rel_ptr[g] - c0
            for c in range(c0, c1):
                column = block_ptr[t] + (indices[r0 + w + c] - tf) * tnr
                for a in range(c, nb):
                    value = sigma[column + rel[at + a]]
                    known[a, c] = value
                    known[c, a] = value
        for q in range(w):                        # cross^T = hat^T Sigma_RR
            for a in range(nb):
                cross_t[q, a] = 0.0
            _add_products(cross_t, q, 0, nb, hat_t.T, q, 0, nb, known, 0, 1.0)
        out = sigma[base:base + nr * w].reshape((w, nr))
        for c in range(w):
            for i in range(c, w):
                total = 0.0
                for k in range(i, w):
                    total += inv[k, i] * inv[k, c]
                hi, cc = hat_t[i], cross_t[c]
                for a in range(nb):
                    total += hi[a] * cc[a]
                out[c, i] = total
            for a in range(nb):
                out[c, w + a] = -cross_t[c, a]
    return sigma


@numba.njit(cache=True, nogil=True)
def _columns(indptr: np.ndarray, super_ptr: np.ndarray, block_ptr: np.ndarray,
             blocks: np.ndarray) -> np.ndarray:
    """Supernodal blocks as values on the CSC pattern (``indptr``) of the factor."""
    n = indptr.shape[0] - 1
    values = np.empty(indptr[n])
    for s in range(super_ptr.shape[0] - 1):
        f = super_ptr[s]
        nr = indptr[f + 1] - indptr[f]
        for c in range(super_ptr[s + 1] - f):
            col = block_ptr[s] + c * nr
            p = indptr[f + c] - c
            for i in range(c, nr):
                values[p + i] = blocks[col + i]
    return values


@numba.njit(cache=True, nogil=True)
def _diagonal(indptr: np.ndarray, super_ptr: np.ndarray, block_ptr: np.ndarray,
              blocks: np.ndarray) -> np.ndarray:
    """The diagonal of the factor ``L``, from its supernodal blocks."""
    out = np.empty(indptr.shape[0] - 1)
    for s in range(super_ptr.shape[0] - 1):
        f = super_ptr[s]
        nr = indptr[f + 1] - indptr[f]
        for c in range(super_ptr[s + 1] - f):
            out[f + c] = blocks[block_ptr[s] + c * (nr + 1)]
    return out


@numba.njit(cache=True, nogil=True)
def _solve(indptr: np.ndarray, indices: np.ndarray, super_ptr: np.ndarray,
           block_ptr: np.ndarray, blocks: np.ndarray, x: np.ndarray, forward: bool) -> None:
    """``x <- L^{-T} L^{-1} x`` (``forward``), or ``x <- L^{-T} x``, in place; ``x`` is (n, q).

    By supernodes: the rows below a supernode's diagonal block are gathered (backward) or
    scattered (forward) once per supernode, and the products run along the contiguous panel
    (column ``k`` of a supernode starts at ``block_ptr[s] + k * nr``).
    """
    ns = super_ptr.shape[0] - 1
    q = x.shape[1]
    _, deepest = _widest(indptr, super_ptr)
    temp = np.empty((q, deepest))                 # temp[c, a]: right-hand side c, row R[a]
    if forward:
        for s in range(ns):
            f = super_ptr[s]
            w = super_ptr[s + 1] - f
            r0 = indptr[f]
            nr = indptr[f + 1] - r0
            nb = nr - w
            base = block_ptr[s]
            for k in range(w):
                col = base + k * nr
                d = 1.0 / blocks[col + k]
                for c in range(q):
                    x[f + k, c] *= d
                for i in range(k + 1, w):
                    v = blocks[col + i]
                    for c in range(q):
                        x[f + i, c] -= v * x[f + k, c]
            if nb == 0:
                continue
            for c in range(q):
                for a in range(nb):
                    temp[c, a] = 0.0
            for k in range(w):
                col = base + k * nr + w
                for c in range(q):
                    v = x[f + k, c]
                    if v != 0.0:
                        for a in range(nb):
                            temp[c, a] += v * blocks[col + a]
            for a in range(nb):
                row = indices[r0 + w + a]
                for c in range(q):
                    x[row, c] -= temp[c, a]
    for s in range(ns - 1, -1, -1):
        f = super_ptr[s]
        w = super_ptr[s + 1] - f
        r0 = indptr[f]
        nr = indptr[f + 1] - r0
        nb = nr - w
        base = block_ptr[s]
        for a in range(nb):
            row = indices[r0 + w + a]
            for c in range(q):
                temp[c, a] = x[row, c]
        for k in range(w - 1, -1, -1):
            col = base + k * nr
            for c in range(q):
                total = x[f + k, c]
                for a in range(nb):
                    total -= blocks[col + w + a] * temp[c, a]
                for i in range(k + 1, w):
                    total -= blocks[col + i] * x[f + i, c]
                x[f + k, c] = total / blocks[col + k]


def _canonical_csc(matrix: sp.sparray | sp.spmatrix) -> sp.csc_array:
    """CSC copy with sorted indices and no duplicates (explicitly stored zeros are kept)."""
    a = sp.csc_array(matrix, dtype=float, copy=True)
    a.sum_duplicates()
    return a


@dataclasses.dataclass(frozen=True)
class _Layout:
    """A CSC pattern in a symmetric ordering: the factor's pattern, supernodes, and where the
    matrix's entries and the supernodes' updates go.

    ``perm[i]`` is the position of original index ``i``; ``(l_indptr, l_indices)`` is the
    symbolic Cholesky factor of the permuted pattern (diagonal first, rows sorted);
    ``super_ptr`` and ``block_ptr`` its supernodes (see `_supernodes`), ``groups`` where their
    updates land (see `_relative_rows`); the entries ``a.data[pick]`` (those in the lower
    triangle once permuted) go to positions ``place`` of the supernodal value array.
    """

    perm: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    l_indptr: np.ndarray
    l_indices: np.ndarray
    super_ptr: np.ndarray
    block_ptr: np.ndarray
    groups: tuple[np.ndarray, ...]
    pick: np.ndarray
    place: np.ndarray

    @classmethod
    def build(cls, a: sp.csc_array, perm: np.ndarray) -> _Layout:
        n = a.shape[0]
        cols = np.repeat(np.arange(n, dtype=np.int64), np.diff(a.indptr))
        rows_p, cols_p = perm[a.indices], perm[cols]
        gather = np.argsort(cols_p * n + rows_p)          # CSC order: column, then row
        p_indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols_p, minlength=n), out=p_indptr[1:])
        l_indptr, l_indices = _symbolic_cholesky(p_indptr, rows_p[gather])
        super_ptr, col_super, block_ptr = _supernodes(l_indptr, l_indices)
        pick = np.flatnonzero(rows_p >= cols_p)
        place = _block_places(l_indptr, l_indices, super_ptr, col_super, block_ptr,
                              rows_p[pick], cols_p[pick])
        groups = _relative_rows(l_indptr, l_indices, super_ptr, col_super)
        return cls(perm, a.indptr.copy(), a.indices.copy(), l_indptr, l_indices, super_ptr,
                   block_ptr, groups, pick, place)

    def matches(self, a: sp.csc_array) -> bool:
        return (np.array_equal(a.indptr, self.indptr)
                and np.array_equal(a.indices, self.indices))

    def blocks(self, a: sp.csc_array) -> np.ndarray:
        """The supernodal value array holding the lower triangle of the permuted ``a``."""
        out = np.zeros(self.block_ptr[-1])
        out[self.place] = a.data[self.pick]      # one place per entry: ``a`` has no duplicates
        return out


class SparseCholesky:
    """Cholesky factorisation ``P A P^T = L L^T`` of a sparse symmetric positive-definite matrix.

    Parameters
    ----------
    matrix : sparse array or matrix, shape (n, n)
        Symmetric positive definite. Only its lower triangle in the fill-reducing ordering is
        read (symmetry is the caller's responsibility). Explicitly stored zeros count as part
        of the pattern.
    ordering : ndarray of int, shape (n,), optional
        A fill-reducing ordering to reuse (the [`ordering`][ordering] of an earlier factorisation
        of a matrix with the same pattern): original index ``i`` goes to position
        ``ordering[i]``. By default a minimum-degree ordering of ``A + A^T`` is computed.
        A loop over values on one pattern should rather use [`refactor`][refactor], which also
        keeps the symbolic analysis.

    Raises
    ------
    numpy.linalg.LinAlgError
        If the matrix is not positive definite (a non-positive pivot).

    Notes
    -----
    The factor is stored on its full symbolic pattern (computed from the elimination tree), so
    an entry that cancels to exactly zero on a very regular graph (a square grid at some values
    of a SAR parameter) stays in the pattern and the selected inversion never misses an entry
    it needs.

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
        perm = (_minimum_degree(a) if ordering is None
                else np.asarray(ordering, dtype=np.int64))
        self._factorise(a, _Layout.build(a, perm))

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

    def _factorise(self, a: sp.csc_array, layout: _Layout) -> None:
        """Factor ``a`` (canonical CSC) in ``layout``'s ordering."""
        blocks = layout.blocks(a)
        if not _supernodal_factor(layout.l_indptr, layout.l_indices, layout.super_ptr,
                                  layout.block_ptr, *layout.groups, blocks):
            raise np.linalg.LinAlgError("matrix is not symmetric positive definite")
        self._layout = layout
        # original index i sits at position perm[i] of the factorised ordering
        self._perm = layout.perm
        self._indptr, self._indices = layout.l_indptr, layout.l_indices
        self._blocks = blocks
        self._diagonal = _diagonal(self._indptr, layout.super_ptr, layout.block_ptr, blocks)
        self._selected: np.ndarray | None = None

    @property
    def ordering(self) -> np.ndarray:
        """The ordering used: original index ``i`` sits at position ``ordering[i]``."""
        return self._perm.copy()

    @property
    def logdet(self) -> float:
        """``log |A|``."""
        return 2.0 * float(np.sum(np.log(self._diagonal)))

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
        layout = self._layout
        _solve(self._indptr, self._indices, layout.super_ptr, layout.block_ptr, self._blocks,
               permuted, True)
        x = permuted[self._perm]
        return x[:, 0] if flat else x

    def _selected_values(self) -> np.ndarray:
        """Entries of ``A^{-1}`` on the factor's pattern, aligned with its CSC indices."""
        if self._selected is None:
            layout = self._layout
            sigma = _supernodal_selinv(self._indptr, self._indices, layout.super_ptr,
                                       layout.block_ptr, *layout.groups, self._blocks)
            self._selected = _columns(self._indptr, layout.super_ptr, layout.block_ptr, sigma)
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
        x = rng.standard_normal((self.n, size))
        layout = self._layout
        _solve(self._indptr, self._indices, layout.super_ptr, layout.block_ptr, self._blocks,
               x, False)
        return x[self._perm].T


def _minimum_degree(a: sp.csc_array) -> np.ndarray:
    """SuperLU's minimum-degree ordering of ``A + A^T`` (post-ordered), as ``perm[i]``.

    SuperLU offers the ordering only with a factorisation; in symmetric mode without pivoting
    that is one LU factorisation, once per pattern.
    """
    try:
        lu = splu(a, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                  options={"SymmetricMode": True})
    except RuntimeError as exc:                      # exactly singular
        raise np.linalg.LinAlgError(f"matrix is not positive definite ({exc})") from None
    return np.asarray(lu.perm_c, dtype=np.int64)
