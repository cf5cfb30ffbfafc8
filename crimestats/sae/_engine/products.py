"""Dense products over the areas that stay off BLAS's threads.

OpenBLAS spreads a long dot product (and a matrix product that reduces to one: a single row
or column) over its threads. With two threads of the hyperparameter grid already busy, or on a
shared machine, those BLAS threads wait for a core, and a dot product over 35,000 areas took
20 ms instead of 10 µs (measured at a load of 10 on 2 cores). The products below contract or
expand the long area axis with NumPy's own loops in those cases, and use BLAS otherwise (its
matrix-matrix kernels with several columns on each side were not affected).
"""

from __future__ import annotations

import numpy as np

__all__ = ["diag_of_product", "mdot", "tdot"]


def tdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a.T @ b`` for arrays whose first axis runs over the areas.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.arange(6.0).reshape(3, 2), np.ones(3)
    >>> tdot(a, b).tolist(), float(tdot(b, b))
    ([6.0, 9.0], 3.0)
    """
    if a.ndim == 2 and b.ndim == 2 and a.shape[1] > 1 and b.shape[1] > 1:
        return a.T @ b
    left = "ij" if a.ndim == 2 else "i"
    right = "ik" if b.ndim == 2 else "i"
    return np.einsum(f"{left},{right}->{left[1:]}{right[1:]}", a, b)


def mdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for ``a`` of shape (areas, p) and a small ``b`` of shape (p,) or (p, q).

    Examples
    --------
    >>> import numpy as np
    >>> mdot(np.ones((3, 1)), np.array([2.0])).tolist()
    [2.0, 2.0, 2.0]
    """
    if a.shape[1] == 1:
        return a[:, 0, None] * b[0] if b.ndim == 2 else a[:, 0] * b[0]
    return a @ b


def diag_of_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Diagonal of ``a @ b.T`` without forming it."""
    return np.sum(a * b, axis=1)
