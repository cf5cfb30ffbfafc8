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
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import InputError
from ._sparse import SparseCholesky
from .adjacency import Adjacency, adjacency_from_matrix, adjacency_from_pairs

__all__ = ["IcarStructure", "icar_structure", "resolve_adjacency"]

_SHOWN = 8


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
    >>> from crimestats.sae._icar import icar_structure
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


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _looks_like_pairs(adjacency: Any, m: int) -> bool:
    """A table of neighbour pairs rather than an (m, m) matrix."""
    if sp.issparse(adjacency):
        return False
    if isinstance(adjacency, pd.DataFrame):
        numeric = all(pd.api.types.is_numeric_dtype(t) for t in adjacency.dtypes)
        labelled = adjacency.shape[0] == adjacency.shape[1] and pd.Index(
            adjacency.index).equals(pd.Index(adjacency.columns))
        return not (numeric and (adjacency.shape == (m, m) or labelled))
    if isinstance(adjacency, np.ndarray):
        return adjacency.dtype.kind not in "biuf"
    if isinstance(adjacency, (list, tuple)) and len(adjacency) > 0:
        first = adjacency[0]
        return isinstance(first, tuple) or (np.ndim(first) == 1 and len(first) == 2
                                            and len(adjacency) != m)
    return False


def _check_same_areas(adjacency_areas: Sequence[Hashable], labels: np.ndarray) -> None:
    """InputError naming areas of the adjacency not in the data, and data areas not in it."""
    given, wanted = pd.Index(list(adjacency_areas)), pd.Index(labels)
    unknown = given.difference(wanted, sort=False)
    missing = wanted.difference(given, sort=False)
    if len(unknown) or len(missing):
        parts = []
        if len(unknown):
            parts.append(f"{len(unknown)} area(s) not in the data: "
                         f"{[_plain(a) for a in unknown[:_SHOWN]]}"
                         f"{' ...' if len(unknown) > _SHOWN else ''}")
        if len(missing):
            parts.append(f"{len(missing)} area(s) of the data missing from it: "
                         f"{[_plain(a) for a in missing[:_SHOWN]]}"
                         f"{' ...' if len(missing) > _SHOWN else ''}")
        raise InputError(
            "`adjacency` does not cover the same areas as the data: " + "; ".join(parts)
            + ". Use the same area codes (coding and vintage) on both sides; give areas with "
            "no sample a NaN direct estimate and variance, and `adjacency.subset(areas)` drops "
            "areas you do not model."
        )


def resolve_adjacency(adjacency: Any, labels: np.ndarray) -> Adjacency:
    """An [`Adjacency`][Adjacency] over exactly the data's areas, in the data's order.

    ``adjacency`` may be an [`Adjacency`][Adjacency] or a labelled ``DataFrame`` matrix (both must
    name exactly the data's areas), a table of neighbour pairs (areas in no pair are islands;
    a pair naming an unknown area is an error), or an unlabelled dense/sparse ``(m, m)``
    symmetric matrix in the order of the data.
    """
    m = labels.shape[0]
    if adjacency is None:
        raise InputError("`adjacency` is required: an Adjacency, a table of neighbour pairs or "
                         "a symmetric (m, m) 0/1 matrix.")
    if isinstance(adjacency, Adjacency):
        _check_same_areas(adjacency.areas, labels)
        return adjacency.subset(labels)
    if _looks_like_pairs(adjacency, m):
        frame = adjacency if isinstance(adjacency, pd.DataFrame) else pd.DataFrame(
            list(adjacency))
        if frame.shape[1] < 2:
            raise InputError("A neighbour-pair table needs two columns of area labels.")
        try:
            return adjacency_from_pairs(frame, areas=labels, columns=list(frame.columns[:2]))
        except InputError as exc:
            raise InputError(f"`adjacency`: {exc}") from None
    if isinstance(adjacency, pd.DataFrame) and not isinstance(adjacency.index, pd.RangeIndex):
        if not pd.Index(adjacency.index).equals(pd.Index(adjacency.columns)):
            raise InputError("`adjacency` has different row and column labels; an adjacency "
                             "matrix lists the same areas in its rows and columns.")
        _check_same_areas(adjacency.index, labels)
        return adjacency_from_matrix(adjacency.loc[labels, labels].to_numpy(), areas=labels)
    adj = adjacency_from_matrix(adjacency, areas=None)
    if adj.n_areas != m:
        raise InputError(
            f"`adjacency` must be {m} × {m} (one row and column per area, in the order of the "
            f"data); received {adj.n_areas} × {adj.n_areas}."
        )
    return Adjacency(labels, adj.weights)
