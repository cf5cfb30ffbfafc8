"""Intrinsic CAR (Besag) structure of an adjacency: scaled precision, constraints, islands.

For a connected component $c$ with at least two areas, the ICAR precision is the graph
Laplacian $Q_c = \\operatorname{diag}(W 1) - W$ (binary or weighted neighbours). It is
singular along the constant vector, so the field carries a sum-to-zero constraint per component.
Following Freni-Sterrantino, Ventrucci & Rue (2018), each component is *scaled separately*:
$s_c$ is the geometric mean of the marginal variances of the sum-to-zero field with
precision $Q_c$, and the scaled field $\\tilde u_c$ has precision $s_c Q_c$,
whose marginal variances then have geometric mean 1. An island (an area with no neighbour)
has no ICAR part; its scaled field is an independent standard normal, so in both the ICAR and
the BYM2 model its effect is $N(0, \\sigma^2)$ (the iid part carries its whole variance).

The marginal variances are computed exactly without a dense inverse: grounding one area
$r$ (fixing $u_r = 0$) makes $Q_c$ minus row and column $r$ positive
definite; its inverse $\\Sigma_g$ is the covariance of $u - u_r 1$, and the
sum-to-zero field is its centred version, with variances
$\\Sigma_{g,ii} - 2 (\\Sigma_g 1)_i / n + 1^\\top \\Sigma_g 1 / n^2$.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from .._engine.sparse_cholesky import SparseCholesky
from .adjacency import Adjacency

__all__ = ["IcarStructure", "icar_structure"]


@dataclasses.dataclass(frozen=True, eq=False)
class IcarStructure:
    """Scaled ICAR prior of a set of areas (in the order of the data).

    Attributes
    ----------
    precision : scipy.sparse.csr_array
        ``(m, m)`` precision of the scaled field $\\tilde u$: $s_c Q_c$ on each
        component, 1 on the diagonal for islands.
    component : numpy.ndarray
        Connected-component number of each area (0 = largest; islands included).
    constrained : numpy.ndarray
        Component numbers with a sum-to-zero constraint (those of two or more areas).
    scaling_factors : numpy.ndarray
        $s_c$ of each constrained component (same order as ``constrained``).
    prior_variance : numpy.ndarray
        Marginal prior variance of $\\tilde u_i$ (1 for islands).
    island : numpy.ndarray
        True for areas with no neighbour.
    """

    precision: sp.csr_array
    component: np.ndarray
    constrained: np.ndarray
    scaling_factors: np.ndarray
    prior_variance: np.ndarray
    island: np.ndarray

    def constraint_basis(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Orthonormal constraint vectors $1_c / \\sqrt{n_c}$ restricted to ``rows``.

        Returns ``(basis, kept)``: a dense ``(len(rows), k)`` array for the constrained
        components that lie entirely within ``rows``, and their component numbers.
        """
        comp = self.component[rows]
        kept = np.array([c for c in self.constrained if np.any(comp == c)], dtype=np.int64)
        basis = np.zeros((rows.size, kept.size))
        for j, c in enumerate(kept):
            members = comp == c
            basis[members, j] = 1.0 / np.sqrt(members.sum())
        return basis, kept

    def sample_prior(self, rows: np.ndarray, size: int, rng: np.random.Generator
                     ) -> np.ndarray:
        """Draws ``(size, len(rows))`` of the scaled field on ``rows`` (whole components).

        Each constrained component is drawn with one area grounded (a proper sparse
        Gaussian) and then centred, which gives the sum-to-zero field exactly.
        """
        out = np.empty((size, rows.size))
        comp = self.component[rows]
        for c in np.unique(comp):
            local = np.flatnonzero(comp == c)
            members = rows[local]
            if local.size == 1:
                out[:, local] = rng.standard_normal((size, 1))
                continue
            block = sp.csc_array(self.precision[members[1:]][:, members[1:]])
            field = np.zeros((size, local.size))
            field[:, 1:] = SparseCholesky(block).sample(rng, size)
            out[:, local] = field - field.mean(axis=1, keepdims=True)
        return out


def _laplacian(weights: sp.csr_array) -> sp.csr_array:
    degree = np.asarray(weights.sum(axis=1)).ravel()
    return sp.csr_array(sp.diags_array(degree) - weights)


def _component_variances(laplacian: sp.csr_array) -> np.ndarray:
    """Marginal variances of the sum-to-zero field with precision ``laplacian`` (connected)."""
    n = laplacian.shape[0]
    keep = np.arange(1, n)
    grounded = sp.csc_array(laplacian[keep][:, keep])
    chol = SparseCholesky(grounded)
    diag_g = np.concatenate([[0.0], chol.inverse_diagonal()])
    row_sums = np.concatenate([[0.0], chol.solve(np.ones(n - 1))])
    total = row_sums.sum()
    return diag_g - 2.0 * row_sums / n + total / n**2


def icar_structure(adjacency: Adjacency) -> IcarStructure:
    """The scaled ICAR prior of an adjacency (components scaled separately, islands iid).

    Parameters
    ----------
    adjacency : Adjacency
        Neighbour structure, areas in the order of the data.

    Returns
    -------
    IcarStructure

    Examples
    --------
    A path of three areas and an island: the path is scaled so that the geometric mean of its
    marginal variances is 1; the island gets variance 1.

    >>> from crimestats.sae import adjacency_from_pairs
    >>> from crimestats.sae.spatial.icar import icar_structure
    >>> adj = adjacency_from_pairs([("a", "b"), ("b", "c")], areas=["a", "b", "c", "d"])
    >>> icar = icar_structure(adj)
    >>> icar.scaling_factors.round(4).tolist(), icar.island.tolist()
    ([0.4093], [False, False, False, True])
    >>> round(float(np.exp(np.log(icar.prior_variance[:3]).mean())), 6)
    1.0
    """
    weights = sp.csr_array(adjacency.weights, dtype=float)
    component = adjacency.components.to_numpy()
    m = weights.shape[0]
    island = np.diff(weights.indptr) == 0
    laplacian = _laplacian(weights)
    scale = np.ones(m)
    prior_variance = np.ones(m)
    constrained, factors = [], []
    for c in np.unique(component):
        members = np.flatnonzero(component == c)
        if members.size < 2:
            continue
        variances = _component_variances(sp.csr_array(laplacian[members][:, members]))
        s = float(np.exp(np.mean(np.log(variances))))
        scale[members] = s
        prior_variance[members] = variances / s
        constrained.append(int(c))
        factors.append(s)
    root = np.sqrt(scale)
    precision = sp.csr_array(sp.diags_array(root) @ laplacian @ sp.diags_array(root))
    precision = sp.csr_array(precision + sp.diags_array(island.astype(float)))
    precision.eliminate_zeros()
    return IcarStructure(precision=precision, component=component,
                         constrained=np.asarray(constrained, dtype=np.int64),
                         scaling_factors=np.asarray(factors), prior_variance=prior_variance,
                         island=island)
